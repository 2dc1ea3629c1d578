package agent

import (
	"math/rand/v2"

	"github.com/backchannel/backchannel/mechanism"
)

// Random offers outcomes at random. Each turn it draws an outcome
// uniformly from those worth at least its reserved value (from all
// outcomes if none is), and accepts the offer on the table if that offer
// is worth at least its reserved value and at least the outcome it drew;
// otherwise it offers what it drew. Its draws come from a PCG generator
// seeded with Info.Seed, so a run is reproducible.
//
// On an index sorted by classes of values (a large utility.HyperRectangle
// space) it draws uniformly among the representatives of the combinations
// of classes, so an outcome of a large combination is as likely as one of
// a small one. On a space too large to sort it draws uniformly from the
// whole space and
// keeps the first of up to 64 draws worth its reserved value, falling back
// to the outcome just above the reserved value.
type Random struct {
	base
	rng   *rand.Rand
	first int // the first rank worth the reserved value
}

var _ mechanism.Negotiator = (*Random)(nil)

// Init implements mechanism.Negotiator. It returns the errors of IndexOf.
func (a *Random) Init(info mechanism.Info) error {
	if err := a.base.init(info); err != nil {
		return err
	}
	a.rng = rand.New(rand.NewPCG(info.Seed, 0x52414e444f4d)) // "RANDOM"
	if a.ix.sorted() {
		a.first = a.ix.rank(a.rv)
		if a.first == len(a.ix.keys) {
			a.first = 0
		}
	}
	return nil
}

func (a *Random) draw() (uint64, float64) {
	ix := a.ix
	if ix.sorted() {
		r := a.first + a.rng.IntN(len(ix.keys)-a.first)
		return uint64(ix.ids[r]), unkey(ix.keys[r])
	}
	for range 64 {
		id := a.rng.Uint64N(ix.n)
		if u := ix.exact(id); u >= a.rv {
			return id, u
		}
	}
	return ix.above(a.rv)
}

// Act implements mechanism.Negotiator.
func (a *Random) Act(s mechanism.State) (mechanism.Action, error) {
	id, u := a.draw()
	if a.opponent(s) {
		if v := a.f.Utility(s.Offer); v >= a.rv && v >= u {
			return accept, nil
		}
	}
	return a.offer(id), nil
}
