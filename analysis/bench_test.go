package analysis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// synthetic returns parties random linear additive functions over issues
// issues of values values each, from a fixed seed.
func synthetic(tb testing.TB, parties, issues, values int) []utility.Func {
	return syntheticOpposed(tb, parties, issues, values, false)
}

// syntheticOpposed, if opposed, makes the parties' evaluations nearly
// opposite, which makes the frontier large.
func syntheticOpposed(tb testing.TB, parties, issues, values int, opposed bool) []utility.Func {
	tb.Helper()
	r := rand.New(rand.NewPCG(42, uint64(issues)))
	is := make([]outcome.Issue, issues)
	for j := range is {
		vals := make([]string, values)
		for v := range vals {
			vals[v] = fmt.Sprintf("v%d", v)
		}
		is[j] = outcome.NewDiscrete(fmt.Sprintf("issue%d", j), vals...)
	}
	sp, err := outcome.NewSpace("synthetic", is...)
	if err != nil {
		tb.Fatal(err)
	}
	funcs := make([]utility.Func, parties)
	for i := range funcs {
		weights := make([]float64, issues)
		evals := make([]utility.Evaluator, issues)
		for j := range weights {
			weights[j] = r.Float64()
			e := make([]float64, values)
			for v := range e {
				e[v] = r.Float64()
				if opposed {
					// The first party likes high values, the others low.
					x := float64(v) / float64(values)
					if i > 0 {
						x = 1 - x
					}
					e[v] = x + 0.1*r.Float64()
				}
			}
			evals[j] = utility.Discrete{Evals: e}
		}
		f, err := utility.NewLinearAdditive(sp, weights, evals)
		if err != nil {
			tb.Fatal(err)
		}
		funcs[i] = f
	}
	return funcs
}

func benchFrontier(b *testing.B, funcs []utility.Func, reserved []float64) {
	b.Helper()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		front, err := Frontier(context.Background(), funcs, reserved, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n = len(front)
	}
	b.ReportMetric(float64(n), "points")
}

func BenchmarkFrontierEnergy(b *testing.B) {
	funcs, reserved := load(b, "Energy", 2)
	benchFrontier(b, funcs, reserved)
}

func BenchmarkFrontierEnergyGrid(b *testing.B) {
	funcs, reserved := load(b, "EnergyGrid", 2)
	benchFrontier(b, funcs, reserved)
}

func BenchmarkFrontierEnergyGrid3(b *testing.B) {
	funcs, reserved := load(b, "EnergyGrid", 0)
	benchFrontier(b, funcs, reserved)
}

// BenchmarkFrontierSynthetic12x10 is a bilateral space of 10^12 outcomes.
func BenchmarkFrontierSynthetic12x10(b *testing.B) {
	benchFrontier(b, synthetic(b, 2, 12, 10), []float64{0, 0})
}

// BenchmarkFrontierSynthetic12x10Opposed has nearly opposed parties,
// whose frontier holds many thousand points.
func BenchmarkFrontierSynthetic12x10Opposed(b *testing.B) {
	benchFrontier(b, syntheticOpposed(b, 2, 12, 10, true), []float64{0, 0})
}

// BenchmarkFrontierGrowth shows the cost against the number of outcomes,
// 10 values per issue, for two and three parties.
func BenchmarkFrontierGrowth(b *testing.B) {
	for _, parties := range []int{2, 3} {
		for issues := 3; issues <= 12; issues += 3 {
			if parties == 3 && issues > 9 {
				continue
			}
			b.Run(fmt.Sprintf("parties=%d/outcomes=1e%d", parties, issues), func(b *testing.B) {
				benchFrontier(b, synthetic(b, parties, issues, 10), make([]float64, parties))
			})
		}
	}
}

// BenchmarkFrontierEnumeration is the parallel enumeration of 10^6
// outcomes, a table and a hyper-rectangle function.
func BenchmarkFrontierEnumeration(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	is := make([]outcome.Issue, 6)
	for j := range is {
		is[j] = outcome.NewInteger(fmt.Sprintf("i%d", j), 0, 9)
	}
	sp, _ := outcome.NewSpace("rect", is...)
	// Tables are not compressed: this enumerates every outcome.
	funcs := []utility.Func{table(r, sp), randomRects(r, sp, 40)}
	benchFrontier(b, funcs, []float64{0, 0})
}

func table(r *rand.Rand, sp *outcome.Space) *utility.Table {
	n, _ := sp.Size()
	vals := make([]float64, n)
	for k := range vals {
		vals[k] = r.Float64()
	}
	f, _ := utility.NewTable(sp, vals)
	return f
}

func randomRects(r *rand.Rand, sp *outcome.Space, k int) *utility.HyperRectangle {
	rects := make([]utility.Rectangle, k)
	for n := range rects {
		rects[n].Utility = float64(1 + r.IntN(100))
		for j, is := range sp.Issues {
			if r.IntN(2) == 0 {
				lo := r.IntN(is.Len())
				rects[n].Ranges = append(rects[n].Ranges, utility.Range{Issue: j, Min: lo, Max: lo + r.IntN(is.Len()-lo)})
			}
		}
	}
	f, _ := utility.NewHyperRectangle(sp, 100*float64(k), rects)
	return f
}

func BenchmarkDominating(b *testing.B) {
	funcs := synthetic(b, 2, 12, 10)
	o := make(outcome.Outcome, 12)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Dominating(context.Background(), funcs, o, 10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrontierANAC2014 enumerates ANAC 2014's hyper-rectangle
// domain: 10^10 outcomes, 2.5·10^7 classes.
func BenchmarkFrontierANAC2014(b *testing.B) {
	funcs, _ := load(b, "ANAC2014_10issues", 2)
	benchFrontier(b, funcs, []float64{0, 0})
}
