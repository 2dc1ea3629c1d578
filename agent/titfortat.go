package agent

import (
	"math"

	"github.com/backchannel/backchannel/mechanism"
)

// TitForTat is naive tit-for-tat in absolute terms (Faratin, Sierra and
// Jennings, 1998; Baarslag et al., 2013): it mirrors the opponent's
// concessions as measured in its own utility. It starts with a target of
// its best utility. Whenever an opponent's new offer is worth δ more to it
// than that opponent's previous offer, it lowers its target by δ; an
// opponent that takes back a concession (δ < 0) sees the target rise
// again. The target stays between the reserved value and the best
// utility. It offers the outcome with the smallest utility at or above the
// target, and accepts an offer worth at least that outcome and at least
// its reserved value.
//
// With several opponents it applies each opponent's δ as it arrives.
type TitForTat struct {
	base
	target float64
	last   []float64 // utility of each party's previous offer, NaN before one
}

var _ mechanism.Negotiator = (*TitForTat)(nil)

// Init implements mechanism.Negotiator. It returns the errors of IndexOf.
func (a *TitForTat) Init(info mechanism.Info) error {
	if err := a.base.init(info); err != nil {
		return err
	}
	a.target = a.best
	a.last = make([]float64, max(info.Parties, info.Party+1))
	for i := range a.last {
		a.last[i] = math.NaN()
	}
	return nil
}

// Target returns the current target utility.
func (a *TitForTat) Target() float64 { return a.target }

// Act implements mechanism.Negotiator.
func (a *TitForTat) Act(s mechanism.State) (mechanism.Action, error) {
	v := math.NaN()
	if a.opponent(s) {
		v = a.f.Utility(s.Offer)
		if p := s.Proposer; p >= 0 && p < len(a.last) {
			if !math.IsNaN(a.last[p]) {
				a.target -= v - a.last[p]
				a.target = math.Min(math.Max(a.target, a.rv), a.best)
			}
			a.last[p] = v
		}
	}
	id, u := a.ix.above(a.target)
	if v >= u && v >= a.rv {
		return accept, nil
	}
	return a.offer(id), nil
}
