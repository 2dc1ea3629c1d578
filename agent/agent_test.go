package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

func info(p *utility.Profile, party, parties int) mechanism.Info {
	return mechanism.Info{Party: party, Parties: parties, Profile: p, Rounds: 100, Seed: 42}
}

func mustInit(t *testing.T, n mechanism.Negotiator, in mechanism.Info) {
	t.Helper()
	if err := n.Init(in); err != nil {
		t.Fatalf("Init: %v", err)
	}
}

func act(t *testing.T, n mechanism.Negotiator, s mechanism.State) mechanism.Action {
	t.Helper()
	a, err := n.Act(s)
	if err != nil {
		t.Fatalf("Act(%+v): %v", s, err)
	}
	return a
}

// TestTimeBasedFollowsTarget checks that every offer has the smallest
// utility at or above rv + (max − rv)(1 − t^(1/e)), by brute force.
func TestTimeBasedFollowsTarget(t *testing.T) {
	for _, name := range []string{"Laptop", "Car", "SmartPhone", "Wholesaler"} {
		p := load(t, name).Profiles[0]
		b := bruteForce(p.Func)
		best := b.sorted[len(b.sorted)-1]
		for _, e := range []float64{0.2, 1, 2, 0.5} {
			a := &TimeBased{E: e}
			mustInit(t, a, info(p, 0, 2))
			for k := 0; k <= 100; k++ {
				tm := float64(k) / 100
				target := p.Reserved + (best-p.Reserved)*(1-math.Pow(tm, 1/e))
				if got := a.Target(tm); math.Abs(got-target) > 1e-12 {
					t.Fatalf("%s e=%g: Target(%g) = %v, want %v", name, e, tm, got, target)
				}
				act := act(t, a, mechanism.State{Time: tm, Proposer: -1})
				want, ok := b.above(a.Target(tm))
				if !ok {
					want = best
				}
				if act.Kind != mechanism.Offer || p.Func.Utility(act.Outcome) != want {
					t.Fatalf("%s e=%g t=%g: offers %v worth %v, want worth %v", name, e, tm, act.Outcome, p.Func.Utility(act.Outcome), want)
				}
			}
		}
	}
}

// TestConcessionOrder checks that at the same time Conceder asks for less
// than Linear, and Linear less than Boulware.
func TestConcessionOrder(t *testing.T) {
	p := load(t, "Car").Profiles[1]
	agents := []*TimeBased{Conceder(), Linear(), Boulware()}
	for _, a := range agents {
		mustInit(t, a, info(p, 0, 2))
	}
	for k := 1; k < 100; k++ {
		tm := float64(k) / 100
		var targets, offers []float64
		for _, a := range agents {
			targets = append(targets, a.Target(tm))
			offers = append(offers, p.Func.Utility(act(t, a, mechanism.State{Time: tm, Proposer: -1}).Outcome))
		}
		if !(targets[0] < targets[1] && targets[1] < targets[2]) {
			t.Fatalf("t=%g: targets of conceder, linear, boulware = %v, want increasing", tm, targets)
		}
		if !slices.IsSorted(offers) {
			t.Fatalf("t=%g: offers worth %v, want non-decreasing", tm, offers)
		}
	}
}

// TestTimeBasedAccepts checks the acceptance rule: an offer at least as
// good as the next offer, and no worse than the reserved value.
func TestTimeBasedAccepts(t *testing.T) {
	p := load(t, "Car").Profiles[0]
	b := bruteForce(p.Func)
	a := Linear()
	mustInit(t, a, info(p, 1, 2))
	for _, tm := range []float64{0, 0.3, 0.5, 0.9, 1} {
		next := act(t, a, mechanism.State{Time: tm, Proposer: -1}).Outcome
		nu := p.Func.Utility(next)
		for k, u := range b.utils {
			if k%37 != 0 {
				continue
			}
			got := act(t, a, mechanism.State{Time: tm, Offer: b.outcomes[k], Proposer: 0}).Kind
			if want := u >= nu && u >= p.Reserved; (got == mechanism.Accept) != want {
				t.Fatalf("t=%g: offer worth %v against next %v: kind %v, want accept %v", tm, u, nu, got, want)
			}
		}
	}
}

func TestHardliner(t *testing.T) {
	p := load(t, "Car").Profiles[0]
	b := bruteForce(p.Func)
	best := b.sorted[len(b.sorted)-1]
	a := &Hardliner{}
	mustInit(t, a, info(p, 0, 2))
	for k, o := range b.outcomes {
		if k%13 != 0 && b.utils[k] < best {
			continue
		}
		tm := float64(k) / float64(len(b.outcomes))
		got := act(t, a, mechanism.State{Time: tm, Offer: o, Proposer: 1})
		if b.utils[k] == best {
			if got.Kind != mechanism.Accept {
				t.Fatalf("rejects a best offer %v", o)
			}
			continue
		}
		if got.Kind != mechanism.Offer || p.Func.Utility(got.Outcome) != best {
			t.Fatalf("t=%g: answers %v with %+v, want an offer worth %v", tm, o, got, best)
		}
	}
}

// TestTitForTat feeds offers whose utility to the negotiator rises by
// known steps and checks that its target falls by the same steps.
func TestTitForTat(t *testing.T) {
	p := load(t, "Car").Profiles[0]
	b := bruteForce(p.Func)
	best := b.sorted[len(b.sorted)-1]
	a := &TitForTat{}
	mustInit(t, a, info(p, 0, 2))
	first := act(t, a, mechanism.State{Proposer: -1})
	if p.Func.Utility(first.Outcome) != best {
		t.Fatalf("first offer worth %v, want the best %v", p.Func.Utility(first.Outcome), best)
	}
	// The opponent's offers, worth to a: low, then higher, then lower.
	pick := func(u float64) outcome.Outcome {
		i, _ := slices.BinarySearch(b.sorted, u)
		return b.outcomes[b.first(b.sorted[i])]
	}
	levels := []float64{0.1, 0.2, 0.35, 0.3, 0.5}
	target := best
	var prev float64
	for k, l := range levels {
		o := pick(l)
		u := p.Func.Utility(o)
		if k > 0 {
			target = math.Min(math.Max(target-(u-prev), p.Reserved), best)
		}
		prev = u
		got := act(t, a, mechanism.State{Time: float64(k+1) / 10, Offer: o, Proposer: 1})
		if math.Abs(a.Target()-target) > 1e-12 {
			t.Fatalf("after an offer worth %v: target %v, want %v", u, a.Target(), target)
		}
		want, _ := b.above(target)
		if got.Kind != mechanism.Offer || p.Func.Utility(got.Outcome) != want {
			t.Fatalf("after an offer worth %v: %+v, want an offer worth %v", u, got, want)
		}
	}
	// An offer of its best outcome is accepted.
	if got := act(t, a, mechanism.State{Time: 0.9, Offer: pick(best), Proposer: 1}); got.Kind != mechanism.Accept {
		t.Errorf("offered its best outcome: %+v, want accept", got)
	}
}

// TestMiCRO checks MiCRO's rule: it concedes to the next outcome in its
// order only when it has proposed no more distinct outcomes than it has
// received, otherwise it repeats an earlier proposal, and it accepts when
// an offer is worth its lowest acceptable proposal.
func TestMiCRO(t *testing.T) {
	for _, name := range []string{"Car", "Laptop"} {
		t.Run(name, func(t *testing.T) {
			sc := load(t, name)
			p := sc.Profiles[0]
			b := bruteForce(p.Func)
			desc := slices.Clone(b.sorted)
			slices.Reverse(desc)
			// The opponent offers its own best outcomes, which a never likes
			// much, repeating each twice: a concedes on every other turn.
			opp := bruteForce(sc.Profiles[1].Func)
			order := make([]int, len(opp.outcomes))
			for i := range order {
				order[i] = i
			}
			slices.SortStableFunc(order, func(x, y int) int {
				return -cmpFloat(opp.utils[x], opp.utils[y])
			})
			a := &MiCRO{}
			mustInit(t, a, info(p, 1, 2))
			var proposed []float64
			distinct := map[uint64]bool{}
			for k := 0; k < 40; k++ {
				o := opp.outcomes[order[k/2]]
				distinct[a.ix.encode(o)] = true
				got := act(t, a, mechanism.State{Time: float64(k) / 40, Offer: o, Proposer: 0})
				m, n := len(proposed), len(distinct)
				concede := m <= n && m < len(desc) && desc[m] >= p.Reserved
				low := 0.0
				if concede {
					low = desc[m]
				} else if m > 0 {
					low = proposed[m-1]
				}
				if u := p.Func.Utility(o); u >= low && u >= p.Reserved {
					if got.Kind != mechanism.Accept {
						t.Fatalf("turn %d: rejects an offer worth %v ≥ %v", k, u, low)
					}
					return
				}
				if got.Kind != mechanism.Offer {
					t.Fatalf("turn %d: %+v, want an offer", k, got)
				}
				u := p.Func.Utility(got.Outcome)
				if concede {
					if u != desc[m] {
						t.Fatalf("turn %d: concedes to %v, want the next in order, %v", k, u, desc[m])
					}
					proposed = append(proposed, u)
				} else if !slices.Contains(proposed, u) {
					t.Fatalf("turn %d: offers %v, want a repeat of %v", k, u, proposed)
				}
			}
			if len(proposed) < 15 {
				t.Errorf("conceded %d times in 40 turns of 20 distinct offers", len(proposed))
			}
		})
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestRandom checks that Random is reproducible by seed, differs across
// seeds, offers only outcomes worth its reserved value, and accepts by its
// rule.
func TestRandom(t *testing.T) {
	p := load(t, "SmartPhone").Profiles[0] // reserved value 0.6
	if p.Reserved <= 0 {
		t.Fatalf("reserved value %v, want a positive one", p.Reserved)
	}
	run := func(seed uint64) []outcome.Outcome {
		a := &Random{}
		in := info(p, 0, 2)
		in.Seed = seed
		mustInit(t, a, in)
		var offers []outcome.Outcome
		for k := range 50 {
			got := act(t, a, mechanism.State{Time: float64(k) / 50, Proposer: -1})
			if u := p.Func.Utility(got.Outcome); got.Kind != mechanism.Offer || u < p.Reserved {
				t.Fatalf("offer %v worth %v below the reserved value %v", got.Outcome, u, p.Reserved)
			}
			offers = append(offers, got.Outcome)
		}
		return offers
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.EqualFunc(a, b, sameOutcome) {
		t.Error("same seed, different offers")
	}
	if slices.EqualFunc(a, c, sameOutcome) {
		t.Error("different seeds, same offers")
	}
	r := &Random{}
	mustInit(t, r, info(p, 0, 2))
	worst, _ := r.ix.Min()
	best, _ := r.ix.Max()
	for range 20 {
		if got := act(t, r, mechanism.State{Offer: worst, Proposer: 1}); got.Kind == mechanism.Accept {
			t.Fatal("accepts an offer below its reserved value")
		}
		if got := act(t, r, mechanism.State{Offer: best, Proposer: 1}); got.Kind != mechanism.Accept {
			t.Fatal("rejects its best outcome")
		}
	}
}

// TestFrequencyLearns trains the model on the offers of a Boulware
// opponent over a negotiation of 200 turns and checks that it orders
// outcomes more like the opponent the more offers it sees. (Against an
// opponent that concedes all the way to its worst outcome, as Linear does
// with a reserved value of 0, value frequencies carry no information, and
// no frequency model learns.)
func TestFrequencyLearns(t *testing.T) {
	for _, name := range []string{"Car", "Energy", "Travel"} {
		t.Run(name, func(t *testing.T) {
			truth := load(t, name).Profiles[1]
			opp := Boulware()
			mustInit(t, opp, info(truth, 1, 2))
			m := NewFrequency(truth.Space())
			acc0, err := m.Accuracy(truth.Func)
			if err != nil {
				t.Fatal(err)
			}
			if acc0.Spearman != 0 || acc0.Kendall != 0 {
				t.Errorf("untrained: %+v, want no correlation", acc0)
			}
			var accs []Accuracy
			for k := range 200 {
				o := act(t, opp, mechanism.State{Time: float64(k) / 200, Proposer: -1}).Outcome
				m.Update(o)
				if k == 9 || k == 199 {
					acc, _ := m.Accuracy(truth.Func)
					accs = append(accs, acc)
				}
			}
			t.Logf("%s: 10 offers %+v, 200 offers %+v", name, accs[0], accs[1])
			if accs[1].Spearman <= 0.3 || accs[1].Kendall <= 0.2 {
				t.Errorf("after 200 offers: %+v, want clear positive correlation", accs[1])
			}
			if accs[1].Spearman <= accs[0].Spearman || accs[1].RMSE >= accs[0].RMSE {
				t.Errorf("200 offers %+v not better than 10 %+v", accs[1], accs[0])
			}
			if w := m.Weights(); math.Abs(sum(w)-1) > 1e-9 {
				t.Errorf("weights %v add up to %v", w, sum(w))
			}
		})
	}
}

func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// TestAccuracyPerfect checks the measures on a model equal to the truth
// up to scale, and on a reversed one.
func TestAccuracyPerfect(t *testing.T) {
	p := load(t, "Car").Profiles[0]
	acc, err := accuracy(p.Func, p.Func)
	if err != nil {
		t.Fatal(err)
	}
	if acc.RMSE > 1e-12 || math.Abs(acc.Spearman-1) > 1e-12 || math.Abs(acc.Kendall-1) > 1e-12 || acc.Outcomes != AccuracySample {
		t.Errorf("accuracy of the truth = %+v, want perfect over %d outcomes", acc, AccuracySample)
	}
	acc, _ = accuracy(negated{p.Func}, p.Func)
	if math.Abs(acc.Spearman+1) > 1e-12 || math.Abs(acc.Kendall+1) > 1e-12 || acc.RMSE < 0.3 {
		t.Errorf("accuracy of the reversed truth = %+v, want −1 correlations", acc)
	}
	// 10^10 outcomes and a non-additive truth: a sample.
	p = load(t, "ANAC2014_10issues").Profiles[0]
	acc, err = NewFrequency(p.Space()).Accuracy(p.Func)
	if err != nil || acc.Outcomes != AccuracySample || acc.Spearman != 0 {
		t.Errorf("accuracy of an untrained model on ANAC 2014 = %+v, %v, want no correlation over %d outcomes", acc, err, AccuracySample)
	}
}

type negated struct{ utility.Func }

func (n negated) Utility(o outcome.Outcome) float64 { return -n.Func.Utility(o) }

// TestModelBased checks that the offer lies in [target, target + window]
// and is, among those outcomes, the best for the opponent model, by brute
// force on a domain whose bands fit in Scan.
func TestModelBased(t *testing.T) {
	sc := load(t, "Grocery")
	p := sc.Profiles[0]
	b := bruteForce(p.Func)
	opp := Linear()
	mustInit(t, opp, info(sc.Profiles[1], 1, 2))
	a := &ModelBased{E: 1, Window: 0.05, Scan: 1 << 20}
	mustInit(t, a, info(p, 0, 2))
	for k := range 60 {
		tm := float64(k) / 60
		o := act(t, opp, mechanism.State{Time: tm, Proposer: -1}).Outcome
		got := act(t, a, mechanism.State{Time: tm, Offer: o, Proposer: 1})
		if got.Kind != mechanism.Offer {
			continue
		}
		m := a.Model(1)
		target := a.Target(tm)
		lo, _ := b.above(target)
		u := p.Func.Utility(got.Outcome)
		if u < lo || u > target+0.05 && u != lo {
			t.Fatalf("t=%g: offer worth %v outside [%v, %v]", tm, u, target, target+0.05)
		}
		bestEst := math.Inf(-1)
		for i, v := range b.utils {
			if v >= lo && v <= target+0.05 {
				bestEst = math.Max(bestEst, m.Utility(b.outcomes[i]))
			}
		}
		if est := m.Utility(got.Outcome); est != bestEst {
			t.Fatalf("t=%g: offer rated %v by the model, the band's best is %v", tm, est, bestEst)
		}
	}
	if a.Model(1).Offers() != 60 || a.Model(0) != nil {
		t.Errorf("model of the opponent saw %d offers, want 60", a.Model(1).Offers())
	}
}

func TestRegistry(t *testing.T) {
	names := Names()
	want := []string{"boulware", "conceder", "frequency", "hardliner", "linear", "micro", "random", "titfortat"}
	if !slices.Equal(names, want) {
		t.Errorf("Names() = %v, want %v", names, want)
	}
	for _, n := range names {
		a, err := New(n)
		if err != nil {
			t.Fatalf("New(%q): %v", n, err)
		}
		b, _ := New(strings.ToUpper(n))
		if a == b || fmt.Sprintf("%p", a) == fmt.Sprintf("%p", b) {
			t.Errorf("New(%q) returned the same negotiator twice", n)
		}
	}
	_, err := New("nash")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), strings.Join(want, ", ")) {
		t.Errorf("New(nash) = %v, want ErrUnknown listing %v", err, want)
	}
}

func TestInitErrors(t *testing.T) {
	p := load(t, "Laptop").Profiles[0]
	for _, n := range []mechanism.Negotiator{&TimeBased{}, &TimeBased{E: math.NaN()}, &ModelBased{E: 1, Window: 0.1}, &ModelBased{E: 1, Window: -1, Scan: 1}} {
		if err := n.Init(info(p, 0, 2)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%T%+v.Init = %v, want ErrInvalid", n, n, err)
		}
	}
	if err := Boulware().Init(mechanism.Info{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Init without a profile = %v, want ErrInvalid", err)
	}
}

// TestNegotiations runs every pair of negotiators on real domains with
// mechanism.Run, bilaterally and with three and five parties, and checks
// that they finish without error and never accept below their reserved
// value.
func TestNegotiations(t *testing.T) {
	cases := []struct {
		domain  string
		parties int
	}{{"Laptop", 2}, {"FlightBookingA", 2}, {"Lunch", 2}, {"Car", 2}, {"ParsCat", 3}, {"KillerRobot", 5}, {"ANAC2014_10issues", 2}}
	for _, c := range cases {
		sc := load(t, c.domain)
		profiles := sc.Profiles[:c.parties]
		for _, first := range Names() {
			for _, second := range Names() {
				if c.parties > 2 && first > second {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s-%s", c.domain, first, second), func(t *testing.T) {
					negs := make([]mechanism.Negotiator, c.parties)
					for i := range negs {
						name := second
						if i == 0 {
							name = first
						}
						negs[i], _ = New(name)
					}
					res, err := mechanism.Run(context.Background(), profiles, negs, mechanism.Config{Rounds: 200, Seed: 3})
					if err != nil {
						t.Fatal(err)
					}
					if res.Err != nil {
						t.Fatalf("%v: %v", res.Reason, res.Err)
					}
					if res.Agreement != nil {
						for i, p := range profiles {
							if u := p.Utility(res.Agreement); u < p.Reserved {
								t.Errorf("party %d agreed to %v worth %v below its reserved value %v", i, res.Agreement, u, p.Reserved)
							}
						}
					}
				})
			}
		}
	}
}

// TestNegotiationANAC2014 runs two Boulware negotiators for 1000 rounds on
// ANAC 2014's 10^10 outcomes, indexed by classes of values, and checks
// that every offer keeps to the negotiator's target.
func TestNegotiationANAC2014(t *testing.T) {
	sc := load(t, "ANAC2014_10issues")
	a, b := Boulware(), Boulware()
	res, err := mechanism.Run(context.Background(), sc.Profiles[:2], []mechanism.Negotiator{a, b}, mechanism.Config{Rounds: 1000, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("%v: %v", res.Reason, res.Err)
	}
	offers := 0
	for _, e := range res.Trace {
		if e.Kind != mechanism.Offer {
			continue
		}
		offers++
		n := []*TimeBased{a, b}[e.Party]
		want, _ := n.ix.above(n.Target(e.Time))
		if got := n.ix.encode(e.Outcome); got != want {
			t.Fatalf("party %d at t=%v offers class %d, want %d", e.Party, e.Time, got, want)
		}
	}
	t.Logf("%s after %d steps, %d offers, agreement %v", res.Reason, res.Steps, offers, res.Agreement)
	if offers < 1000 {
		t.Errorf("%d offers, want a long negotiation", offers)
	}
}

// TestReproducible checks that the same seed gives the same negotiation.
func TestReproducible(t *testing.T) {
	sc := load(t, "Car")
	for _, name := range Names() {
		var results []*mechanism.Result
		for range 2 {
			a, _ := New(name)
			b, _ := New("random")
			res, err := mechanism.Run(context.Background(), sc.Profiles[:2], []mechanism.Negotiator{a, b}, mechanism.Config{Rounds: 100, Seed: 9, Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, res)
		}
		if len(results[0].Trace) != len(results[1].Trace) {
			t.Fatalf("%s: traces of %d and %d events", name, len(results[0].Trace), len(results[1].Trace))
		}
		for k := range results[0].Trace {
			if !sameOutcome(results[0].Trace[k].Outcome, results[1].Trace[k].Outcome) {
				t.Fatalf("%s: event %d differs", name, k)
			}
		}
	}
}

// TestSteadyStateAllocs checks that Boulware allocates nothing per turn
// once its offers repeat, as they do early in a negotiation.
func TestSteadyStateAllocs(t *testing.T) {
	p := load(t, "Energy").Profiles[0]
	a := Boulware()
	mustInit(t, a, info(p, 0, 2))
	worst, _ := a.ix.Min()
	allocs := testing.AllocsPerRun(1000, func() {
		a.Act(mechanism.State{Time: 0.01, Offer: worst, Proposer: 1})
	})
	if allocs != 0 {
		t.Errorf("Boulware allocates %v times per turn", allocs)
	}
}
