package agent

import (
	"fmt"
	"math"

	"github.com/backchannel/backchannel/mechanism"
)

// TimeBased concedes on a clock (Faratin, Sierra and Jennings, 1998). At
// relative time t its target utility is
//
//	target(t) = rv + (max − rv)·(1 − t^(1/e))
//
// where max is the best utility it can get and rv its reserved value. It
// offers the outcome with the smallest utility at or above the target, and
// accepts the offer on the table when that offer is worth at least as much
// to it as the offer it would make instead, and at least its reserved
// value. With e < 1 it holds out and concedes late (Boulware), with e = 1
// linearly, with e > 1 early (Conceder).
//
// Utilities are undiscounted. Each turn costs one index search: O(1)
// expected on a sorted index.
type TimeBased struct {
	// E is the concession exponent e > 0.
	E float64

	base
}

var _ mechanism.Negotiator = (*TimeBased)(nil)

// Boulware returns a TimeBased negotiator with e = 0.2.
func Boulware() *TimeBased { return &TimeBased{E: 0.2} }

// Linear returns a TimeBased negotiator with e = 1.
func Linear() *TimeBased { return &TimeBased{E: 1} }

// Conceder returns a TimeBased negotiator with e = 2.
func Conceder() *TimeBased { return &TimeBased{E: 2} }

// Init implements mechanism.Negotiator. It returns an error wrapping
// ErrInvalid if E is not positive, and the errors of IndexOf.
func (a *TimeBased) Init(info mechanism.Info) error {
	if !(a.E > 0) || math.IsInf(a.E, 0) {
		return fmt.Errorf("%w: time-based exponent %g, want e > 0", ErrInvalid, a.E)
	}
	return a.base.init(info)
}

// Target returns the target utility at relative time t.
func (a *TimeBased) Target(t float64) float64 { return concede(t, a.E, a.rv, a.best) }

// Act implements mechanism.Negotiator.
func (a *TimeBased) Act(s mechanism.State) (mechanism.Action, error) {
	id, u := a.ix.above(a.Target(s.Time))
	if a.opponent(s) {
		if v := a.f.Utility(s.Offer); v >= u && v >= a.rv {
			return accept, nil
		}
	}
	return a.offer(id), nil
}

// Hardliner never concedes: it always offers its best outcome and accepts
// only offers of the best utility.
type Hardliner struct {
	base
}

var _ mechanism.Negotiator = (*Hardliner)(nil)

// Init implements mechanism.Negotiator. It returns the errors of IndexOf.
func (a *Hardliner) Init(info mechanism.Info) error { return a.base.init(info) }

// Act implements mechanism.Negotiator.
func (a *Hardliner) Act(s mechanism.State) (mechanism.Action, error) {
	if a.opponent(s) && a.f.Utility(s.Offer) >= a.best {
		return accept, nil
	}
	return a.offer(a.ix.maxID), nil
}
