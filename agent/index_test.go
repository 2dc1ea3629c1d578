package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/analysis"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// TestIndexSorted checks the sorted index of every enumerable real
// profile against brute force, exactly: the order, the utilities, Above
// with its tie rule, Max, Min and Band.
func TestIndexSorted(t *testing.T) {
	for _, name := range enumerable {
		sc := load(t, name)
		for pi, p := range sc.Profiles {
			t.Run(fmt.Sprintf("%s/%d", name, pi), func(t *testing.T) {
				if testing.Short() && p.Space().Cardinality().Int64() > 100000 {
					t.Skip("large space")
				}
				ix, err := NewIndex(p.Func)
				if err != nil {
					t.Fatal(err)
				}
				if !ix.sorted() {
					t.Fatal("index is not sorted")
				}
				b := bruteForce(p.Func)
				o := make(outcome.Outcome, len(ix.radix))
				for r, k := range ix.keys {
					ix.decode(o, uint64(ix.ids[r]))
					if u := unkey(k); u != p.Func.Utility(o) || u != b.sorted[r] {
						t.Fatalf("rank %d: utility %v, function says %v, brute force %v", r, u, p.Func.Utility(o), b.sorted[r])
					}
					if r > 0 && k == ix.keys[r-1] && ix.ids[r] < ix.ids[r-1] {
						t.Fatalf("rank %d: ties out of index order", r)
					}
				}
				for _, x := range b.queries() {
					o, u := ix.Above(x)
					want, ok := b.above(x)
					if !ok {
						want = b.sorted[len(b.sorted)-1]
					}
					if u != want || p.Func.Utility(o) != want {
						t.Fatalf("Above(%v) = %v (%v), want %v", x, u, p.Func.Utility(o), want)
					}
					if got, first := ix.encode(o), b.first(want); got != uint64(first) {
						t.Fatalf("Above(%v) = outcome %d, want the first of its utility, %d", x, got, first)
					}
				}
				if o, u := ix.Max(); u != b.sorted[len(b.sorted)-1] || ix.encode(o) != uint64(b.first(u)) {
					t.Errorf("Max() = %v %v, want %v", o, u, b.sorted[len(b.sorted)-1])
				}
				if _, u := ix.Min(); u != b.sorted[0] {
					t.Errorf("Min() = %v, want %v", u, b.sorted[0])
				}
				lo, hi := b.sorted[len(b.sorted)/3], b.sorted[len(b.sorted)/2]
				var got []float64
				for o, u := range ix.Band(lo, hi) {
					if p.Func.Utility(o) != u {
						t.Fatalf("Band yields %v with utility %v, function says %v", o, u, p.Func.Utility(o))
					}
					got = append(got, u)
				}
				var want []float64
				for _, u := range b.sorted {
					if u >= lo && u <= hi {
						want = append(want, u)
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("Band(%v, %v) yields %d utilities, want %d", lo, hi, len(got), len(want))
				}
			})
		}
	}
}

// TestIndexHalves forces meet-in-the-middle on real profiles and checks
// it against brute force, to rounding.
func TestIndexHalves(t *testing.T) {
	for _, name := range []string{"Laptop", "ItexvsCypress", "Grocery", "Car", "Travel", "Energy"} {
		sc := load(t, name)
		for pi, p := range sc.Profiles {
			t.Run(fmt.Sprintf("%s/%d", name, pi), func(t *testing.T) {
				ix, err := newIndex(p.Func, 0)
				if err != nil {
					t.Fatal(err)
				}
				if ix.sorted() {
					t.Fatal("index is sorted")
				}
				b := bruteForce(p.Func)
				// Partial outcomes with equal partial sums are searched as
				// one, so the answer may be off by the rounding of sums.
				tol := ix.eps
				for _, x := range b.queries() {
					o, u := ix.Above(x)
					want, ok := b.above(x)
					if !ok {
						want = b.sorted[len(b.sorted)-1]
					}
					if ok && u < x-2*tol || !ok && u < want-2*tol || u > want+2*tol || u != p.Func.Utility(o) {
						t.Fatalf("Above(%v) = %v (%v), want %v", x, u, p.Func.Utility(o), want)
					}
					// below finds a utility under x, and at least the largest
					// under x−2ε, to within 2ε.
					id, u, ok := ix.below(x)
					i, _ := slices.BinarySearch(b.sorted, x-2*tol)
					if ok && (u >= x || i > 0 && u < b.sorted[i-1]-2*tol || u != ix.exact(id)) || !ok && i > 0 {
						t.Fatalf("below(%v) = %v %v, want about %v", x, u, ok, b.sorted[max(i-1, 0)])
					}
				}
				if _, u := ix.Max(); math.Abs(u-b.sorted[len(b.sorted)-1]) > tol {
					t.Errorf("Max() = %v, want %v", u, b.sorted[len(b.sorted)-1])
				}
				if _, u := ix.Min(); math.Abs(u-b.sorted[0]) > tol {
					t.Errorf("Min() = %v, want %v", u, b.sorted[0])
				}
				lo, hi := b.sorted[len(b.sorted)/3], b.sorted[len(b.sorted)/2]
				var got, want []uint64
				for o, u := range ix.Band(lo, hi) {
					if math.Abs(p.Func.Utility(o)-u) > tol {
						t.Fatalf("Band yields %v with utility %v, function says %v", o, u, p.Func.Utility(o))
					}
					got = append(got, ix.encode(o))
				}
				for k, u := range b.utils {
					if u >= lo && u <= hi {
						want = append(want, uint64(k))
					}
				}
				slices.Sort(got)
				if len(got) != len(want) && !slices.Equal(got, want) {
					// Sums of halves may fall on the other side of a bound.
					t.Errorf("Band(%v, %v) yields %d outcomes, want %d", lo, hi, len(got), len(want))
				}
			})
		}
	}
}

// TestIndexHalvesLarge checks meet-in-the-middle on 12 issues of 10 values
// (10^12 outcomes), too many to sort or enumerate. Terms are multiples of
// 1/1024, so every sum is exact, and the utilities reachable are found
// independently by dynamic programming over the integer sums.
func TestIndexHalvesLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	issues := make([]outcome.Issue, 12)
	evals := make([]utility.Evaluator, 12)
	weights := make([]float64, 12)
	ints := make([][]int, 12)
	for i := range issues {
		vals := make([]string, 10)
		e := make([]float64, 10)
		ints[i] = make([]int, 10)
		for v := range vals {
			vals[v] = fmt.Sprint(v)
			ints[i][v] = r.IntN(200)
			e[v] = float64(ints[i][v]) / 1024
		}
		ints[i][r.IntN(10)] = 1024 / 8 // a best value, so no issue is rescaled away
		e = e[:0]
		for _, k := range ints[i] {
			e = append(e, float64(k)/1024)
		}
		issues[i] = outcome.NewDiscrete(fmt.Sprintf("i%d", i), vals...)
		evals[i] = scores(e)
		weights[i] = 1
	}
	sp, err := outcome.NewSpace("large", issues...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := utility.NewLinearAdditive(sp, weights, evals)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewIndex(f); err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(f)
	if err != nil || ix.sorted() {
		t.Fatalf("NewIndex: sorted %v, %v", ix != nil && ix.sorted(), err)
	}
	// reach[s] says whether some outcome sums to s/1024 times the scale
	// of the terms.
	terms := f.Terms()
	unit := terms[0][slices.Index(ints[0], 128)] / 128
	reach := []bool{true}
	for i := range ints {
		next := make([]bool, len(reach)+200)
		for s, ok := range reach {
			if ok {
				for _, k := range ints[i] {
					next[s+k] = true
				}
			}
		}
		reach = next
	}
	for k := 0; k < 500; k++ {
		x := r.Float64() * float64(len(reach)) * unit
		o, u := ix.Above(x)
		want := -1.0
		for s := int(math.Ceil(x / unit)); s < len(reach); s++ {
			if reach[s] && float64(s)*unit >= x {
				want = float64(s) * unit
				break
			}
		}
		if want < 0 {
			_, want = ix.Max()
		}
		if u != want || f.Utility(o) != want {
			t.Fatalf("Above(%v) = %v (%v), want %v", x, u, f.Utility(o), want)
		}
	}
}

// scores is a discrete evaluator used as it is.
type scores []float64

func (s scores) Evaluate(is outcome.Issue) ([]float64, error) { return s, nil }

// TestIndexTooLarge checks ErrTooLarge for a large function that is
// neither additive nor a hyper-rectangle, and for hyper-rectangles that
// cut every value of 8 issues of 10 apart (10^8 combinations of classes).
func TestIndexTooLarge(t *testing.T) {
	if _, err := NewIndex(negated{synthetic(t, 12, 10)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("NewIndex(10^12 non-additive) = %v, want ErrTooLarge", err)
	}
	sizes := make([]int, 8)
	for i := range sizes {
		sizes[i] = 10
	}
	var rects []utility.Rectangle
	for i := range sizes {
		for v := range 10 {
			rects = append(rects, utility.Rectangle{Utility: 1, Ranges: []utility.Range{{Issue: i, Min: v, Max: v}}})
		}
	}
	if _, err := NewIndex(hyperRectangle(t, sizes, rects)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("NewIndex(10^8 classes) = %v, want ErrTooLarge", err)
	}
}

// hyperRectangle returns a utility.HyperRectangle over integer issues of
// the given sizes.
func hyperRectangle(tb testing.TB, sizes []int, rects []utility.Rectangle) *utility.HyperRectangle {
	tb.Helper()
	is := make([]outcome.Issue, len(sizes))
	for i, n := range sizes {
		is[i] = outcome.NewInteger(fmt.Sprintf("i%d", i), 0, int64(n-1))
	}
	sp, err := outcome.NewSpace("rectangles", is...)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := utility.NewHyperRectangle(sp, 100, rects)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// randomRectangles returns n rectangles over issues of the given sizes,
// each with ranges on one to three issues (sometimes the same one twice)
// and a utility drawn from utils.
func randomRectangles(r *rand.Rand, sizes []int, n int, utils func() float64) []utility.Rectangle {
	rects := make([]utility.Rectangle, n)
	for k := range rects {
		rects[k].Utility = utils()
		for range r.IntN(3) + 1 {
			i := r.IntN(len(sizes))
			a, b := r.IntN(sizes[i]), r.IntN(sizes[i])
			rects[k].Ranges = append(rects[k].Ranges, utility.Range{Issue: i, Min: min(a, b), Max: max(a, b)})
		}
	}
	return rects
}

// TestIndexClasses forces the class path on small hyper-rectangle spaces
// and checks it against brute force, exactly: every rank, Above with the
// tie rule of a whole sort, Max, Min, Band (one representative per
// combination of classes) and encode.
func TestIndexClasses(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	sizes := []int{4, 7, 3, 6, 5}
	cases := []struct {
		name  string
		rects []utility.Rectangle
	}{
		{"distinct", randomRectangles(r, sizes, 14, func() float64 { return r.Float64() * 100 })},
		{"ties", randomRectangles(r, sizes, 14, func() float64 { return float64(r.IntN(5) - 1) })},
		{"many", randomRectangles(r, sizes, 150, func() float64 { return r.Float64() * 10 })},
		{"none", nil},
		{"everywhere", []utility.Rectangle{{Utility: 3}, {Utility: 4, Ranges: []utility.Range{{Issue: 1, Min: 2, Max: 4}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hyperRectangle(t, sizes, c.rects)
			ix, err := newIndex(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !ix.sorted() || ix.class == nil {
				t.Fatal("index is not sorted by classes")
			}
			if ix.Len() != uint64(4*7*3*6*5) {
				t.Errorf("Len() = %d, want the size of the space", ix.Len())
			}
			b := bruteForce(f)
			classes := f.Classes()
			// The representatives, in ascending utility and then index order.
			var reps []int
			for k, o := range b.outcomes {
				isRep := true
				for i, v := range o {
					isRep = isRep && slices.Contains(classes[i], v)
				}
				if isRep {
					reps = append(reps, k)
				}
				if rep := representative(classes, o); ix.encode(o) != ix.encode(rep) || f.Utility(rep) != b.utils[k] {
					t.Fatalf("outcome %v: class %d, its representative %v has class %d", o, ix.encode(o), rep, ix.encode(rep))
				}
			}
			slices.SortStableFunc(reps, func(x, y int) int { return cmpFloat(b.utils[x], b.utils[y]) })
			if len(reps) != len(ix.keys) {
				t.Fatalf("%d ranks, want %d representatives", len(ix.keys), len(reps))
			}
			o := make(outcome.Outcome, len(sizes))
			for rank, k := range ix.keys {
				ix.decode(o, uint64(ix.ids[rank]))
				if u := unkey(k); u != f.Utility(o) || !sameOutcome(o, b.outcomes[reps[rank]]) {
					t.Fatalf("rank %d: %v worth %v, want %v worth %v", rank, o, u, b.outcomes[reps[rank]], b.utils[reps[rank]])
				}
			}
			for _, x := range b.queries() {
				o, u := ix.Above(x)
				want, ok := b.above(x)
				if !ok {
					want = b.sorted[len(b.sorted)-1]
				}
				if u != want || f.Utility(o) != want {
					t.Fatalf("Above(%v) = %v (%v), want %v", x, u, f.Utility(o), want)
				}
				if got, _ := f.Space().Index(o); got != uint64(b.first(want)) {
					t.Fatalf("Above(%v) = outcome %d, want the first of its utility, %d", x, got, b.first(want))
				}
			}
			if o, u := ix.Max(); u != b.sorted[len(b.sorted)-1] || !sameOutcome(o, b.outcomes[b.first(u)]) {
				t.Errorf("Max() = %v %v, want %v %v", o, u, b.outcomes[b.first(u)], b.sorted[len(b.sorted)-1])
			}
			if _, u := ix.Min(); u != b.sorted[0] {
				t.Errorf("Min() = %v, want %v", u, b.sorted[0])
			}
			lo, hi := b.sorted[len(b.sorted)/3], b.sorted[2*len(b.sorted)/3]
			var got, want []outcome.Outcome
			for o, u := range ix.Band(lo, hi) {
				if f.Utility(o) != u {
					t.Fatalf("Band yields %v with utility %v, function says %v", o, u, f.Utility(o))
				}
				got = append(got, o.Clone())
			}
			for _, k := range reps {
				if u := b.utils[k]; u >= lo && u <= hi {
					want = append(want, b.outcomes[k])
				}
			}
			if !slices.EqualFunc(got, want, sameOutcome) {
				t.Errorf("Band(%v, %v) yields %d outcomes, want the %d representatives", lo, hi, len(got), len(want))
			}
		})
	}
}

// representative returns the outcome of the first values of o's classes.
func representative(classes [][]int, o outcome.Outcome) outcome.Outcome {
	rep := make(outcome.Outcome, len(o))
	for i, v := range o {
		for _, c := range classes[i] {
			if c <= v {
				rep[i] = c
			}
		}
	}
	return rep
}

// TestIndexANAC2014 checks the class index of ANAC 2014's 10^10 outcomes:
// every rank against the function, Above on random outcomes, and Max
// against the frontier shipped with the domain and the one package
// analysis computes.
func TestIndexANAC2014(t *testing.T) {
	sc := load(t, "ANAC2014_10issues")
	var maxes []float64
	for pi, p := range sc.Profiles {
		ix, err := NewIndex(p.Func)
		if err != nil {
			t.Fatal(err)
		}
		if !ix.sorted() || ix.class == nil || ix.Len() != 1e10 {
			t.Fatalf("profile %d: sorted %v, by classes %v, %d outcomes", pi, ix.sorted(), ix.class != nil, ix.Len())
		}
		t.Logf("profile %d: %d combinations of classes", pi, ix.n)
		seen := make([]bool, ix.n)
		o := make(outcome.Outcome, len(ix.radix))
		for r, k := range ix.keys {
			ix.decode(o, uint64(ix.ids[r]))
			if u := unkey(k); u != p.Func.Utility(o) || r > 0 && k < ix.keys[r-1] || seen[ix.ids[r]] {
				t.Fatalf("profile %d rank %d: utility %v, function says %v", pi, r, u, p.Func.Utility(o))
			}
			seen[ix.ids[r]] = true
		}
		rng := rand.New(rand.NewPCG(2014, uint64(pi)))
		for range 500 {
			for i, is := range p.Space().Issues {
				o[i] = rng.IntN(is.Len())
			}
			u := p.Func.Utility(o)
			if got, gu := ix.Above(u); gu != u || p.Func.Utility(got) != u {
				t.Fatalf("profile %d: Above(%v) = %v worth %v (%v), want %v", pi, u, got, gu, p.Func.Utility(got), u)
			}
			// Nothing lies strictly between u and the next utility up.
			if _, gu := ix.Above(math.Nextafter(u, 2)); gu <= u && gu != ix.maxU {
				t.Fatalf("profile %d: Above just over %v = %v", pi, u, gu)
			}
		}
		best, u := ix.Max()
		if p.Func.Utility(best) != u {
			t.Errorf("profile %d: Max() = %v worth %v, function says %v", pi, best, u, p.Func.Utility(best))
		}
		ref := 0.0
		for _, pt := range sc.Reference {
			ref = math.Max(ref, pt[pi])
		}
		if math.Abs(u-ref) > 1e-7 {
			t.Errorf("profile %d: Max() = %v, the reference frontier reaches %v", pi, u, ref)
		}
		maxes = append(maxes, u)
	}
	if testing.Short() {
		return
	}
	funcs := []utility.Func{sc.Profiles[0].Func, sc.Profiles[1].Func}
	front, err := analysis.Frontier(context.Background(), funcs, []float64{0, 0}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for pi := range funcs {
		ideal := math.Inf(-1)
		for _, pt := range front {
			ideal = math.Max(ideal, pt.Utilities[pi])
		}
		if ideal != maxes[pi] {
			t.Errorf("profile %d: Max() = %v, analysis.Frontier's ideal is %v", pi, maxes[pi], ideal)
		}
	}
}

func TestIndexOfShares(t *testing.T) {
	p := load(t, "Car").Profiles[0]
	a, err := IndexOf(p.Func)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := IndexOf(p.Func)
	if a != b {
		t.Error("IndexOf built the same function's index twice")
	}
}

// TestIndexEnergyGrid checks the 5,764,801 outcomes of EnergyGrid's three
// profiles rank by rank against the function, and Above against brute
// force.
func TestIndexEnergyGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("5.8M outcomes per profile")
	}
	for pi, p := range load(t, "EnergyGrid").Profiles {
		ix, err := NewIndex(p.Func)
		if err != nil || !ix.sorted() {
			t.Fatalf("profile %d: sorted %v, %v", pi, ix != nil && ix.sorted(), err)
		}
		var sorted []float64
		for o := range p.Space().All() {
			sorted = append(sorted, p.Func.Utility(o))
		}
		slices.Sort(sorted)
		o := make(outcome.Outcome, len(ix.radix))
		for r, k := range ix.keys {
			ix.decode(o, uint64(ix.ids[r]))
			if u := unkey(k); u != p.Func.Utility(o) || u != sorted[r] {
				t.Fatalf("profile %d rank %d: utility %v, function says %v, brute force %v", pi, r, u, p.Func.Utility(o), sorted[r])
			}
		}
		r := rand.New(rand.NewPCG(1, uint64(pi)))
		for range 1000 {
			x := sorted[r.IntN(len(sorted))] + (r.Float64()-0.5)*1e-3
			_, u := ix.Above(x)
			i, _ := slices.BinarySearch(sorted, x)
			want := sorted[len(sorted)-1]
			if i < len(sorted) {
				want = sorted[i]
			}
			if u != want {
				t.Fatalf("profile %d: Above(%v) = %v, want %v", pi, x, u, want)
			}
		}
	}
}
