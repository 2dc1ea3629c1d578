package analysis

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// brute holds every outcome of a small space with its utilities.
type brute struct {
	outcomes []outcome.Outcome
	utils    [][]float64
	tol      float64
}

func enumerateAll(funcs []utility.Func) *brute {
	b := &brute{}
	scale := 0.0
	for o := range funcs[0].Space().All() {
		u := make([]float64, len(funcs))
		for i, f := range funcs {
			u[i] = f.Utility(o)
			scale = math.Max(scale, math.Abs(u[i]))
		}
		b.outcomes = append(b.outcomes, o.Clone())
		b.utils = append(b.utils, u)
	}
	b.tol = 1e-9 * scale
	return b
}

// frontier is the definition, checked pairwise: the rational points no
// rational point dominates, one per class of equal points.
func (b *brute) frontier(reserved []float64) [][]float64 {
	var rat [][]float64
	for _, u := range b.utils {
		if rational(u, reserved, b.tol) {
			rat = append(rat, u)
		}
	}
	var front [][]float64
	for _, p := range rat {
		dominated := false
		for _, q := range rat {
			if dominates(q, p, b.tol) {
				dominated = true
				break
			}
		}
		if dominated {
			continue
		}
		dup := false
		for _, f := range front {
			if equal(f, p, b.tol) {
				dup = true
				break
			}
		}
		if !dup {
			front = append(front, p)
		}
	}
	return front
}

// best returns the largest objective over the rational outcomes.
func (b *brute) best(reserved []float64, objective func(u []float64) float64) (float64, bool) {
	top, ok := math.Inf(-1), false
	for _, u := range b.utils {
		if rational(u, reserved, b.tol) {
			top, ok = math.Max(top, objective(u)), true
		}
	}
	return top, ok
}

func equal(a, b []float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// objectives returns the four bargaining objectives, KS with the ideal
// point of the brute force.
func (b *brute) objectives(reserved []float64) map[string]func(u []float64) float64 {
	ideal := make([]float64, len(reserved))
	for i := range ideal {
		ideal[i], _ = b.best(reserved, func(u []float64) float64 { return u[i] })
	}
	return map[string]func(u []float64) float64{
		"Nash": func(u []float64) float64 {
			p := 1.0
			for i, r := range reserved {
				p *= math.Max(0, u[i]-r)
			}
			return p
		},
		"KalaiSmorodinsky": func(u []float64) float64 {
			m := math.Inf(1)
			for i, r := range reserved {
				if d := ideal[i] - r; d > b.tol {
					m = math.Min(m, (u[i]-r)/d)
				}
			}
			if math.IsInf(m, 1) {
				return 0
			}
			return m
		},
		"Egalitarian": func(u []float64) float64 {
			m := math.Inf(1)
			for i, r := range reserved {
				m = math.Min(m, u[i]-r)
			}
			return m
		},
		"MaxWelfare": func(u []float64) float64 {
			s := 0.0
			for _, x := range u {
				s += x
			}
			return s
		},
	}
}

// randomSpace returns a space of 1 to maxIssues issues, discrete or
// integer, with 1 to maxValues values each.
func randomSpace(r *rand.Rand, maxIssues, maxValues int) *outcome.Space {
	issues := make([]outcome.Issue, 1+r.IntN(maxIssues))
	for j := range issues {
		n := 1 + r.IntN(maxValues)
		name := fmt.Sprintf("i%d", j)
		if r.IntN(3) == 0 {
			lo := int64(r.IntN(10))
			issues[j] = outcome.NewInteger(name, lo, lo+int64(n-1))
			continue
		}
		vals := make([]string, n)
		for v := range vals {
			vals[v] = fmt.Sprintf("v%d", v)
		}
		issues[j] = outcome.NewDiscrete(name, vals...)
	}
	sp, err := outcome.NewSpace("random", issues...)
	if err != nil {
		panic(err)
	}
	return sp
}

// randomAdditive returns a linear additive function. Coarse evaluations
// and weights make ties and equal utility vectors common.
func randomAdditive(r *rand.Rand, sp *outcome.Space) *utility.LinearAdditive {
	coarse := r.IntN(2) == 0
	num := func() float64 {
		if coarse {
			return float64(r.IntN(4)) / 2
		}
		return r.Float64()
	}
	weights := make([]float64, len(sp.Issues))
	evals := make([]utility.Evaluator, len(sp.Issues))
	for j, is := range sp.Issues {
		weights[j] = num()
		if is.Kind == outcome.Integer {
			switch r.IntN(3) {
			case 0:
				evals[j] = utility.Increasing(is)
			case 1:
				evals[j] = utility.Decreasing(is)
			default:
				evals[j] = utility.Linear{Slope: num() - 0.5, Offset: num()}
			}
			continue
		}
		e := make([]float64, is.Len())
		for v := range e {
			e[v] = num()
		}
		evals[j] = utility.Discrete{Evals: e}
	}
	f, err := utility.NewLinearAdditive(sp, weights, evals)
	if err != nil {
		panic(err)
	}
	return f
}

func randomReserved(r *rand.Rand, n int) []float64 {
	rv := make([]float64, n)
	for i := range rv {
		switch r.IntN(4) {
		case 0:
		case 1:
			rv[i] = float64(r.IntN(5)) / 4 // often exactly a utility, sometimes no ZOPA
		default:
			rv[i] = r.Float64() * 0.8
		}
	}
	return rv
}

// checkAgainstBrute compares Analyze with the brute force on funcs.
func checkAgainstBrute(t *testing.T, name string, funcs []utility.Func, reserved []float64) {
	t.Helper()
	b := enumerateAll(funcs)
	res, err := Analyze(context.Background(), funcs, reserved, Options{Workers: 2})
	if err != nil {
		t.Fatalf("%s: Analyze: %v", name, err)
	}
	want := b.frontier(reserved)
	got := res.Frontier
	if len(got) != len(want) {
		t.Fatalf("%s: reserved %v: frontier has %d points, brute force %d\ngot  %v\nwant %v", name, reserved, len(got), len(want), utilsOf(got), want)
	}
	tol := 2 * b.tol
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p Point) bool { return equal(p.Utilities, w, tol) }) {
			t.Fatalf("%s: frontier lacks %v\ngot %v", name, w, utilsOf(got))
		}
	}
	for k, p := range got {
		// The outcome is the representative of its utilities.
		for i, f := range funcs {
			if u := f.Utility(p.Outcome); u != p.Utilities[i] {
				t.Fatalf("%s: point %d: outcome %v has utility %v for party %d, point says %v", name, k, p.Outcome, u, i, p.Utilities[i])
			}
		}
		for l, q := range got {
			if l != k && (dominates(q.Utilities, p.Utilities, b.tol) || equal(q.Utilities, p.Utilities, b.tol)) {
				t.Fatalf("%s: frontier point %v covers %v", name, q.Utilities, p.Utilities)
			}
		}
		if k > 0 && slices.Compare(got[k-1].Utilities, p.Utilities) <= 0 {
			t.Fatalf("%s: frontier not sorted: %v before %v", name, got[k-1].Utilities, p.Utilities)
		}
	}
	if res.ZOPA != (len(want) > 0) {
		t.Fatalf("%s: ZOPA = %v with %d rational frontier points", name, res.ZOPA, len(want))
	}
	points := map[string]*Point{"Nash": res.Nash, "KalaiSmorodinsky": res.KalaiSmorodinsky, "Egalitarian": res.Egalitarian, "MaxWelfare": res.MaxWelfare}
	for sol, objective := range b.objectives(reserved) {
		p := points[sol]
		top, ok := b.best(reserved, objective)
		if !ok {
			if p != nil {
				t.Fatalf("%s: %s = %v without ZOPA", name, sol, p.Utilities)
			}
			continue
		}
		if p == nil {
			t.Fatalf("%s: %s = nil, want a point with objective %v", name, sol, top)
		}
		if !slices.ContainsFunc(got, func(q Point) bool { return slices.Equal(q.Utilities, p.Utilities) }) {
			t.Fatalf("%s: %s = %v is not on the frontier", name, sol, p.Utilities)
		}
		if v := objective(p.Utilities); math.Abs(v-top) > 1e-9*math.Max(1, math.Abs(top)) {
			t.Fatalf("%s: reserved %v: %s(%v) has objective %v, brute force %v", name, reserved, sol, p.Utilities, v, top)
		}
	}
	if res.ZOPA {
		for i := range funcs {
			top, _ := b.best(reserved, func(u []float64) float64 { return u[i] })
			if math.Abs(res.Ideal[i]-top) > tol {
				t.Fatalf("%s: Ideal[%d] = %v, want %v", name, i, res.Ideal[i], top)
			}
		}
	}
}

func utilsOf(ps []Point) [][]float64 {
	var us [][]float64
	for _, p := range ps {
		us = append(us, p.Utilities)
	}
	return us
}

func TestFrontierAdditiveProperties(t *testing.T) {
	for seed := range 600 {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		parties := 2 + seed%3
		sp := randomSpace(r, 5, 5)
		funcs := make([]utility.Func, parties)
		for i := range funcs {
			funcs[i] = randomAdditive(r, sp)
		}
		checkAgainstBrute(t, fmt.Sprintf("seed %d, %d parties", seed, parties), funcs, randomReserved(r, parties))
	}
}

func TestFrontierAdditiveLarger(t *testing.T) {
	for seed := range 60 {
		r := rand.New(rand.NewPCG(uint64(seed), 5))
		parties := 2 + seed%3
		sp := randomSpace(r, 7, 6)
		for n, _ := sp.Size(); n < 200 || n > 4000; n, _ = sp.Size() {
			sp = randomSpace(r, 7, 6)
		}
		funcs := make([]utility.Func, parties)
		for i := range funcs {
			funcs[i] = randomAdditive(r, sp)
		}
		checkAgainstBrute(t, fmt.Sprintf("seed %d, %d parties", seed, parties), funcs, randomReserved(r, parties))
	}
}

func TestFrontierOneParty(t *testing.T) {
	for seed := range 50 {
		r := rand.New(rand.NewPCG(uint64(seed), 2))
		sp := randomSpace(r, 3, 4)
		checkAgainstBrute(t, fmt.Sprintf("seed %d", seed), []utility.Func{randomAdditive(r, sp)}, randomReserved(r, 1))
	}
}

// randomTable returns a table utility with coarse values.
func randomTable(r *rand.Rand, sp *outcome.Space) *utility.Table {
	n, _ := sp.Size()
	vals := make([]float64, n)
	for k := range vals {
		vals[k] = float64(r.IntN(6)) / 5
	}
	f, err := utility.NewTable(sp, vals)
	if err != nil {
		panic(err)
	}
	return f
}

func randomHyperRectangle(r *rand.Rand, sp *outcome.Space) *utility.HyperRectangle {
	rects := make([]utility.Rectangle, 1+r.IntN(6))
	for k := range rects {
		rects[k].Utility = float64(r.IntN(5)) - 1
		for j, is := range sp.Issues {
			if r.IntN(2) == 0 {
				lo := r.IntN(is.Len())
				rects[k].Ranges = append(rects[k].Ranges, utility.Range{Issue: j, Min: lo, Max: lo + r.IntN(is.Len()-lo)})
			}
		}
	}
	f, err := utility.NewHyperRectangle(sp, 4, rects)
	if err != nil {
		panic(err)
	}
	return f
}

func TestFrontierEnumerationProperties(t *testing.T) {
	for seed := range 300 {
		r := rand.New(rand.NewPCG(uint64(seed), 3))
		parties := 2 + seed%3
		sp := randomSpace(r, 5, 5)
		funcs := make([]utility.Func, parties)
		for i := range funcs {
			switch r.IntN(3) {
			case 0:
				funcs[i] = randomTable(r, sp)
			case 1:
				funcs[i] = randomHyperRectangle(r, sp)
			default:
				funcs[i] = randomAdditive(r, sp)
			}
		}
		checkAgainstBrute(t, fmt.Sprintf("seed %d, %d parties", seed, parties), funcs, randomReserved(r, parties))
	}
}

// bruteDominating returns every outcome that dominates o, best first.
func bruteDominating(b *brute, base []float64) []candidate {
	var all []candidate
	for k, u := range b.utils {
		if dominates(u, base, b.tol) {
			c := candidate{o: b.outcomes[k], u: u}
			c.score(base)
			all = append(all, c)
		}
	}
	slices.SortFunc(all, compareCandidates)
	return all
}

func TestDominatingProperties(t *testing.T) {
	for seed := range 400 {
		r := rand.New(rand.NewPCG(uint64(seed), 4))
		parties := 2 + seed%3
		sp := randomSpace(r, 5, 5)
		funcs := make([]utility.Func, parties)
		for i := range funcs {
			if seed%4 == 3 && i == 0 {
				funcs[i] = randomTable(r, sp)
			} else {
				funcs[i] = randomAdditive(r, sp)
			}
		}
		b := enumerateAll(funcs)
		o := b.outcomes[r.IntN(len(b.outcomes))]
		limit := r.IntN(8)
		base := make([]float64, parties)
		for i, f := range funcs {
			base[i] = f.Utility(o)
		}
		got, err := Dominating(context.Background(), funcs, o, limit)
		if err != nil {
			t.Fatalf("seed %d: Dominating: %v", seed, err)
		}
		want := bruteDominating(b, base)
		if limit > 0 && len(want) > limit {
			want = want[:limit]
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: Dominating(%v, %d) returned %d outcomes, want %d", seed, o, limit, len(got), len(want))
		}
		for k, p := range got {
			if !dominates(p.Utilities, base, b.tol) {
				t.Fatalf("seed %d: Dominating(%v) returned %v = %v, which does not dominate %v", seed, o, p.Outcome, p.Utilities, base)
			}
			c := candidate{o: p.Outcome, u: p.Utilities}
			c.score(base)
			w := want[k]
			if math.Abs(c.prod-w.prod) > 1e-9 || math.Abs(c.welfare-w.welfare) > 1e-9 {
				t.Fatalf("seed %d: Dominating(%v)[%d] = %v with product %v and welfare %v, want %v with %v and %v", seed, o, k, p.Utilities, c.prod, c.welfare, w.u, w.prod, w.welfare)
			}
			if k > 0 {
				prev := candidate{o: got[k-1].Outcome, u: got[k-1].Utilities}
				prev.score(base)
				if compareCandidates(prev, c) > 0 {
					t.Fatalf("seed %d: Dominating(%v) not sorted at %d", seed, o, k)
				}
			}
		}
	}
}
