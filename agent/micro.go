package agent

import (
	"math/rand/v2"

	"github.com/backchannel/backchannel/mechanism"
)

// MiCRO is "Minimal Concession in Reply to new Offers", the strategy of
// Dave de Jonge, "An Analysis of the Linear Bilateral ANAC Domains Using
// the MiCRO Benchmark Strategy", IJCAI 2022, and an entrant of ANAC 2022.
// It takes no parameters and uses no model of its opponent.
//
// MiCRO walks the outcomes in order of decreasing utility to itself. Let m
// be the number of distinct outcomes it has proposed and n the number of
// distinct offers it has received. On its turn, if m ≤ n and the next
// outcome of the list is worth at least its reserved value, it concedes:
// it proposes that next outcome. Otherwise it repeats one of its earlier
// proposals, drawn uniformly at random. It accepts an offer ω when
// u(ω) ≥ max(u(ω_low), rv), where ω_low is the least valuable outcome it
// is willing to propose on this turn: the next outcome if it concedes now,
// else the last it conceded.
//
// With several opponents, n is the smallest number of distinct offers
// received from any one of them, the MiCRO-Min rule of Aguilera-Luzon, de
// Jonge and Larrosa, "MiCRO for Multilateral Negotiations", 2025.
//
// Outcomes of equal utility are walked in reverse index order. On an index
// sorted by classes of values (a large utility.HyperRectangle space), the
// walk goes through the representatives of the combinations of classes,
// not every outcome, and offers received count as distinct only when they
// fall in distinct combinations, which this negotiator cannot tell apart
// anyway. On a space too large to sort, the walk goes from one utility to
// the next lower one and skips outcomes of equal utility. Random repeats come from a PCG
// generator seeded with Info.Seed.
type MiCRO struct {
	base
	rng      *rand.Rand
	proposed []uint64 // distinct proposals, in order
	lowU     float64  // utility of the last proposal
	next     int      // rank of the next proposal, sorted index only
	seen     []set    // distinct offers received, per party
}

var _ mechanism.Negotiator = (*MiCRO)(nil)

// set is a set of outcome ids: a bitset for indexes that are sorted
// (at most MaxSorted/8 bytes), a map otherwise.
type set struct {
	bits []uint64
	m    map[uint64]struct{}
	n    int
}

func (s *set) add(id uint64) {
	if s.bits != nil {
		w, b := id/64, uint64(1)<<(id%64)
		if s.bits[w]&b == 0 {
			s.bits[w] |= b
			s.n++
		}
		return
	}
	if s.m == nil {
		s.m = make(map[uint64]struct{})
	}
	if _, ok := s.m[id]; !ok {
		s.m[id] = struct{}{}
		s.n++
	}
}

// Init implements mechanism.Negotiator. It returns the errors of IndexOf.
func (a *MiCRO) Init(info mechanism.Info) error {
	if err := a.base.init(info); err != nil {
		return err
	}
	a.rng = rand.New(rand.NewPCG(info.Seed, 0x4d6943524f)) // "MiCRO"
	a.proposed = a.proposed[:0]
	a.next = len(a.ix.keys) - 1
	a.seen = make([]set, max(info.Parties, info.Party+1))
	for i := range a.seen {
		if i != info.Party && a.ix.sorted() {
			a.seen[i].bits = make([]uint64, (a.ix.n+63)/64)
		}
	}
	return nil
}

// received returns n: the smallest count of distinct offers received
// from an opponent.
func (a *MiCRO) received() int {
	n := -1
	for i := range a.seen {
		if i != a.info.Party && (n < 0 || a.seen[i].n < n) {
			n = a.seen[i].n
		}
	}
	return max(n, 0)
}

// nextOutcome returns the next outcome of the walk, false at its end or
// below the reserved value.
func (a *MiCRO) nextOutcome() (uint64, float64, bool) {
	var id uint64
	var u float64
	switch {
	case a.ix.sorted():
		if a.next < 0 {
			return 0, 0, false
		}
		id, u = uint64(a.ix.ids[a.next]), unkey(a.ix.keys[a.next])
	case len(a.proposed) == 0:
		id, u = a.ix.maxID, a.ix.maxU
	default:
		var ok bool
		if id, u, ok = a.ix.below(a.lowU); !ok {
			return 0, 0, false
		}
	}
	return id, u, u >= a.rv
}

// Act implements mechanism.Negotiator.
func (a *MiCRO) Act(s mechanism.State) (mechanism.Action, error) {
	if a.opponent(s) && s.Proposer >= 0 && s.Proposer < len(a.seen) {
		a.seen[s.Proposer].add(a.ix.encode(s.Offer))
	}
	id, u, ok := a.nextOutcome()
	concede := ok && len(a.proposed) <= a.received()
	low := a.lowU
	if concede {
		low = u
	}
	if a.opponent(s) && len(a.proposed)+btoi(concede) > 0 {
		if v := a.f.Utility(s.Offer); v >= low && v >= a.rv {
			return accept, nil
		}
	}
	if concede {
		a.proposed = append(a.proposed, id)
		a.lowU = u
		a.next--
		return a.offer(id), nil
	}
	if len(a.proposed) == 0 {
		// Nothing worth the reserved value: stand on the best outcome.
		return a.offer(a.ix.maxID), nil
	}
	return a.offer(a.proposed[a.rng.IntN(len(a.proposed))]), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
