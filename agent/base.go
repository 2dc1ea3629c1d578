package agent

import (
	"fmt"
	"math"

	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// base is what every negotiator of this package knows after Init.
type base struct {
	info   mechanism.Info
	f      utility.Func
	ix     *Index
	offers offers
	rv     float64 // reserved value, undiscounted
	best   float64 // utility of the best outcome
}

func (b *base) init(info mechanism.Info) error {
	if info.Profile == nil || info.Profile.Func == nil {
		return fmt.Errorf("%w: no profile", ErrInvalid)
	}
	ix, err := IndexOf(info.Profile.Func)
	if err != nil {
		return err
	}
	*b = base{info: info, f: info.Profile.Func, ix: ix, rv: info.Profile.Reserved}
	b.offers.ix = ix
	_, b.best = ix.Max()
	return nil
}

// opponent reports whether s shows an offer made by another party.
func (b *base) opponent(s mechanism.State) bool {
	return s.Offer != nil && s.Proposer != b.info.Party
}

// offer returns the action that offers outcome id.
func (b *base) offer(id uint64) mechanism.Action {
	return mechanism.Action{Kind: mechanism.Offer, Outcome: b.offers.get(id)}
}

var accept = mechanism.Action{Kind: mechanism.Accept}

// concede returns rv + (max − rv)·(1 − t^(1/e)), the target utility of a
// time-based negotiator at relative time t.
func concede(t, e, rv, best float64) float64 {
	t = math.Min(math.Max(t, 0), 1)
	return rv + (best-rv)*(1-math.Pow(t, 1/e))
}

// sameOutcome reports whether o and p are equal.
func sameOutcome(o, p outcome.Outcome) bool {
	if len(o) != len(p) {
		return false
	}
	for i := range o {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}
