package agent

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

var benchDomains = []string{"Laptop", "Car", "Energy", "EnergyGrid", "ANAC2014_10issues"}

// BenchmarkIndexSetup measures building the index of each domain's first
// profile, as a negotiator's first Init does, on domains from 27 to
// 5,764,801 outcomes, the class index of ANAC 2014's 10^10 outcomes
// (1,440,000 combinations of classes), and the meet-in-the-middle index
// of 10^12. ns/outcome is per outcome sorted: per combination of classes
// on ANAC 2014.
func BenchmarkIndexSetup(b *testing.B) {
	for _, name := range allDomains(b) {
		f := load(b, name).Profiles[0].Func
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var n uint64
			for b.Loop() {
				ix, err := NewIndex(f)
				if err != nil {
					b.Fatal(err)
				}
				n = ix.n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/outcome")
		})
	}
	f := synthetic(b, 12, 10)
	b.Run("Synthetic12x10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewIndex(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// allDomains names every domain folder of the examples, smallest first.
func allDomains(tb testing.TB) []string {
	entries, err := os.ReadDir(domains)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	size := func(name string) float64 {
		n, _ := new(big.Float).SetInt(load(tb, name).Space.Cardinality()).Float64()
		return n
	}
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(size(a), size(b)) })
	return names
}

// synthetic returns a random linear additive function over issues issues
// of values values each.
func synthetic(tb testing.TB, issues, values int) utility.Func {
	r := rand.New(rand.NewPCG(5, 5))
	is := make([]outcome.Issue, issues)
	weights := make([]float64, issues)
	evals := make([]utility.Evaluator, issues)
	for i := range is {
		vals := make([]string, values)
		e := make([]float64, values)
		for v := range vals {
			vals[v] = fmt.Sprint(v)
			e[v] = r.Float64()
		}
		is[i] = outcome.NewDiscrete(fmt.Sprintf("i%d", i), vals...)
		weights[i] = r.Float64()
		evals[i] = utility.Discrete{Evals: e}
	}
	sp, err := outcome.NewSpace("synthetic", is...)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := utility.NewLinearAdditive(sp, weights, evals)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// BenchmarkAbove measures one search, sweeping the utility range; the
// synthetic domain of 10^12 outcomes is searched by meet-in-the-middle.
func BenchmarkAbove(b *testing.B) {
	for _, name := range append(benchDomains, "Synthetic12x10") {
		var f utility.Func
		if name == "Synthetic12x10" {
			f = synthetic(b, 12, 10)
		} else {
			f = load(b, name).Profiles[0].Func
		}
		ix, err := IndexOf(f)
		if err != nil {
			b.Fatal(err)
		}
		_, lo := ix.Min()
		_, hi := ix.Max()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			x, step := lo, (hi-lo)/1e5
			for b.Loop() {
				if x += step; x > hi {
					x = lo
				}
				ix.above(x)
			}
		})
	}
}

// BenchmarkBoulwareAct measures one turn of Boulware over a negotiation of
// 1000 rounds against offers of the worst outcome.
func BenchmarkBoulwareAct(b *testing.B) {
	for _, name := range benchDomains {
		p := load(b, name).Profiles[0]
		a := Boulware()
		if err := a.Init(mechanism.Info{Party: 0, Parties: 2, Profile: p, Rounds: 1000}); err != nil {
			b.Fatal(err)
		}
		worst, _ := a.ix.Min()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := mechanism.State{Round: i / 2, Step: i, Time: float64(i) / 2000, Offer: worst, Proposer: 1}
				if _, err := a.Act(s); err != nil {
					b.Fatal(err)
				}
				if i++; i == 2000 {
					i = 0
				}
			}
		})
	}
}

// BenchmarkNegotiation runs two Boulware negotiators for 1000 rounds with
// mechanism.Run, indexes built beforehand, and reports steps per second.
func BenchmarkNegotiation(b *testing.B) {
	for _, name := range allDomains(b) {
		sc := load(b, name)
		profiles := []*utility.Profile{sc.Profiles[0], sc.Profiles[1]}
		for _, p := range profiles {
			if _, err := IndexOf(p.Func); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			steps := 0
			for b.Loop() {
				res, err := mechanism.Run(context.Background(), profiles, []mechanism.Negotiator{Boulware(), Boulware()}, mechanism.Config{Rounds: 1000})
				if err != nil {
					b.Fatal(err)
				}
				steps += res.Steps
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
			b.ReportMetric(float64(steps)/float64(b.N), "steps/op")
		})
	}
}

// BenchmarkModelBasedAct measures one turn of the model-based negotiator,
// which rates up to 256 outcomes of its band.
func BenchmarkModelBasedAct(b *testing.B) {
	for _, name := range benchDomains {
		sc := load(b, name)
		a := NewModelBased()
		if err := a.Init(mechanism.Info{Party: 0, Parties: 2, Profile: sc.Profiles[0], Rounds: 1000}); err != nil {
			b.Fatal(err)
		}
		opp, _ := IndexOf(sc.Profiles[1].Func)
		offer, _ := opp.Max()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := mechanism.State{Round: i / 2, Step: i, Time: float64(i) / 2000, Offer: offer, Proposer: 1}
				if _, err := a.Act(s); err != nil {
					b.Fatal(err)
				}
				if i++; i == 2000 {
					i = 0
				}
			}
		})
	}
}
