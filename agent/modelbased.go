package agent

import (
	"fmt"
	"math"

	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
)

// ModelBased concedes on the clock of TimeBased and uses a Frequency model
// of each opponent to choose what to offer, in the manner of the BOA
// agents of Baarslag et al. (2014): among the outcomes whose utility lies
// in [target(t), target(t) + Window], it offers the one the models rate
// best for its opponents (the sum of their estimated utilities), breaking
// ties by its own utility, higher first. It accepts like TimeBased: an
// offer worth at least its reserved value and at least the least valuable
// outcome it would offer now, the one just at or above target(t).
//
// A band can hold most of the space, so at most Scan outcomes are rated
// per turn: on a sorted index, Scan outcomes spread evenly over the band;
// on a meet-in-the-middle index, the first Scan the band yields. On an
// index sorted by classes of values (a large utility.HyperRectangle space)
// it rates and offers only the representatives of the combinations of
// classes, the outcomes of the first value of each class. Each turn costs
// O(Scan·k) for k issues.
type ModelBased struct {
	E      float64 // concession exponent, e > 0
	Window float64 // width of the band above the target, ≥ 0
	Scan   int     // outcomes rated per turn, ≥ 1

	base
	models  []*Frequency // per party, nil for itself
	scratch outcome.Outcome
}

var _ mechanism.Negotiator = (*ModelBased)(nil)

// NewModelBased returns a ModelBased negotiator that concedes like
// Boulware (e = 0.2) and rates up to 256 outcomes within 0.1 of its
// target.
func NewModelBased() *ModelBased { return &ModelBased{E: 0.2, Window: 0.1, Scan: 256} }

// Init implements mechanism.Negotiator. It returns an error wrapping
// ErrInvalid for a bad parameter, and the errors of IndexOf.
func (a *ModelBased) Init(info mechanism.Info) error {
	switch {
	case !(a.E > 0) || math.IsInf(a.E, 0):
		return fmt.Errorf("%w: time-based exponent %g, want e > 0", ErrInvalid, a.E)
	case !(a.Window >= 0):
		return fmt.Errorf("%w: window %g, want ≥ 0", ErrInvalid, a.Window)
	case a.Scan < 1:
		return fmt.Errorf("%w: scan %d, want ≥ 1", ErrInvalid, a.Scan)
	}
	if err := a.base.init(info); err != nil {
		return err
	}
	sp := info.Profile.Space()
	a.models = make([]*Frequency, max(info.Parties, info.Party+1))
	for i := range a.models {
		if i != info.Party {
			a.models[i] = NewFrequency(sp)
		}
	}
	a.scratch = make(outcome.Outcome, len(sp.Issues))
	return nil
}

// Model returns the model of party p, nil for the negotiator itself or an
// unknown party.
func (a *ModelBased) Model(p int) *Frequency {
	if p < 0 || p >= len(a.models) {
		return nil
	}
	return a.models[p]
}

// Target returns the target utility at relative time t.
func (a *ModelBased) Target(t float64) float64 { return concede(t, a.E, a.rv, a.best) }

// rate returns the summed estimate of the opponents for outcome id.
func (a *ModelBased) rate(id uint64) float64 {
	a.ix.decode(a.scratch, id)
	s := 0.0
	for _, m := range a.models {
		if m != nil {
			s += m.Utility(a.scratch)
		}
	}
	return s
}

// Act implements mechanism.Negotiator.
func (a *ModelBased) Act(s mechanism.State) (mechanism.Action, error) {
	if a.opponent(s) {
		if m := a.Model(s.Proposer); m != nil {
			m.Update(s.Offer)
		}
	}
	target := a.Target(s.Time)
	low, lowU := a.ix.above(target)
	if a.opponent(s) {
		if v := a.f.Utility(s.Offer); v >= lowU && v >= a.rv {
			return accept, nil
		}
	}
	best, bestR, bestU := low, math.Inf(-1), lowU
	consider := func(id uint64, u float64) {
		if r := a.rate(id); r > bestR || r == bestR && u > bestU {
			best, bestR, bestU = id, r, u
		}
	}
	hi := target + a.Window
	if ix := a.ix; ix.sorted() {
		r0 := ix.rank(lowU)
		r1 := ix.rank(math.Nextafter(hi, math.Inf(1)))
		if r1 <= r0 {
			return a.offer(low), nil
		}
		step := max(1, (r1-r0+a.Scan-1)/a.Scan)
		for r := r0; r < r1; r += step {
			consider(uint64(ix.ids[r]), unkey(ix.keys[r]))
		}
		// The top of the band is the best for this negotiator; rate it too.
		consider(uint64(ix.ids[r1-1]), unkey(ix.keys[r1-1]))
	} else {
		n := 0
		for id, u := range a.ix.band(lowU, hi) {
			consider(id, u)
			if n++; n >= a.Scan {
				break
			}
		}
	}
	return a.offer(best), nil
}
