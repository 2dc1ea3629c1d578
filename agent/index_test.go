package agent

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

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

func TestIndexTooLarge(t *testing.T) {
	sc := load(t, "ANAC2014_10issues")
	_, err := NewIndex(sc.Profiles[0].Func)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("NewIndex(ANAC2014) = %v, want ErrTooLarge", err)
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
