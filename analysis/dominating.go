package analysis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Dominating returns the outcomes that Pareto-dominate o: every party
// gets at least its utility at o and some party gets more (with the
// tolerance of the package doc). They are sorted best first by the Nash
// product of the gains over o, Π_i max(0, u_i − u_i(o)); ties go to the
// larger welfare Σ u_i, then to the outcome that comes first in the
// space's index order. At most limit points are returned; limit ≤ 0 means
// no limit, which can be a very long list.
//
// The whole outcome space is searched, not only the frontier. For additive
// functions Dominating runs a depth-first branch and bound over the issues:
// a partial outcome is abandoned when even the best remaining term of each
// issue cannot bring some party back to its utility at o, or when the best
// product and welfare it could reach cannot beat the limit-th best result
// found so far. Its cost depends on how many outcomes dominate o, not on
// the size of the space. Other functions are enumerated in parallel.
//
// It returns the errors of Frontier, except ErrReserved, and ErrOutcome
// if o is not an outcome of the space.
func Dominating(ctx context.Context, funcs []utility.Func, o outcome.Outcome, limit int) ([]Point, error) {
	sp, err := space(funcs)
	if err != nil {
		return nil, err
	}
	if err := sp.Check(o); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutcome, err)
	}
	base := make([]float64, len(funcs))
	for i, f := range funcs {
		base[i] = f.Utility(o)
	}
	terms, additive, err := additiveTerms(funcs, sp)
	if err != nil {
		return nil, err
	}
	var found []candidate
	if additive && len(sp.Issues) > 0 {
		found, err = dominatingAdditive(ctx, terms, base, limit)
	} else {
		found, err = dominatingEnumerate(ctx, funcs, sp, base, limit)
	}
	if err != nil {
		return nil, err
	}
	// Rank by the utilities the functions report.
	for k := range found {
		for i, f := range funcs {
			found[k].u[i] = f.Utility(found[k].o)
		}
		found[k].score(base)
	}
	slices.SortFunc(found, compareCandidates)
	if limit > 0 && len(found) > limit {
		found = found[:limit]
	}
	points := make([]Point, len(found))
	for k, c := range found {
		points[k] = Point{Outcome: c.o, Utilities: c.u}
	}
	return points, nil
}

// candidate is an outcome that dominates the base, with its rank.
type candidate struct {
	o             outcome.Outcome
	u             []float64
	prod, welfare float64
}

func (c *candidate) score(base []float64) {
	c.prod, c.welfare = 1, 0
	for i, b := range base {
		c.prod *= math.Max(0, c.u[i]-b)
		c.welfare += c.u[i]
	}
}

// compareCandidates orders best first.
func compareCandidates(a, b candidate) int {
	if c := cmpDesc(a.prod, b.prod); c != 0 {
		return c
	}
	if c := cmpDesc(a.welfare, b.welfare); c != 0 {
		return c
	}
	return slices.Compare(a.o, b.o)
}

// dominates reports whether u dominates base within tol.
func dominates(u, base []float64, tol float64) bool {
	better := false
	for i, b := range base {
		if u[i] < b-tol {
			return false
		}
		better = better || u[i] > b+tol
	}
	return better
}

// topK keeps the best limit candidates, in amortised O(log) per insertion:
// it sorts and truncates when it holds twice the limit.
type topK struct {
	limit int
	cands []candidate
	// worst is the limit-th best at the last truncation, a lower bound
	// on the limit-th best now.
	worst *candidate
}

func (t *topK) add(c candidate) {
	t.cands = append(t.cands, c)
	if t.limit > 0 && len(t.cands) >= 2*t.limit {
		t.truncate()
	}
}

func (t *topK) truncate() {
	slices.SortFunc(t.cands, compareCandidates)
	if t.limit > 0 && len(t.cands) >= t.limit {
		t.cands = t.cands[:t.limit]
		w := t.cands[t.limit-1]
		t.worst = &w
	}
}

// dominatingAdditive is the branch and bound over issues.
func dominatingAdditive(ctx context.Context, terms [][][]float64, base []float64, limit int) ([]candidate, error) {
	n, d := len(terms), len(terms[0])
	scale := 0.0
	// rest[j][i] is party i's best total over issues j..d-1.
	rest := make([][]float64, d+1)
	rest[d] = make([]float64, n)
	for j := d - 1; j >= 0; j-- {
		rest[j] = make([]float64, n)
		for i := range n {
			rest[j][i] = rest[j+1][i] + slices.Max(terms[i][j])
		}
	}
	for i := range n {
		lo := 0.0
		for j := range d {
			lo += slices.Min(terms[i][j])
		}
		scale = math.Max(scale, math.Max(math.Abs(lo), math.Abs(rest[0][i])))
	}
	tol := tolerance(scale)

	// Try each issue's values best first by their total, so that good
	// candidates are found early and bound the rest of the search.
	order := make([][]int, d)
	for j := range d {
		order[j] = make([]int, len(terms[0][j]))
		total := make([]float64, len(order[j]))
		for v := range order[j] {
			order[j][v] = v
			for i := range n {
				total[v] += terms[i][j][v]
			}
		}
		slices.SortStableFunc(order[j], func(a, b int) int { return cmp.Compare(total[b], total[a]) })
	}

	s := &search{ctx: ctx, terms: terms, rest: rest, base: base, tol: tol, order: order,
		top: topK{limit: limit}, o: make(outcome.Outcome, d), sums: make([][]float64, d+1)}
	for j := range s.sums {
		s.sums[j] = make([]float64, n)
	}
	s.dfs(0)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.top.cands, nil
}

type search struct {
	ctx   context.Context
	terms [][][]float64
	rest  [][]float64
	base  []float64
	tol   float64
	order [][]int
	top   topK
	o     outcome.Outcome
	sums  [][]float64 // sums[j] is the partial utility over issues 0..j-1
	nodes int
	stop  bool
}

func (s *search) dfs(j int) {
	if s.nodes++; s.nodes&(1<<14-1) == 0 && s.ctx.Err() != nil {
		s.stop = true
	}
	if s.stop {
		return
	}
	sum := s.sums[j]
	if j == len(s.o) {
		if dominates(sum, s.base, s.tol) {
			c := candidate{o: s.o.Clone(), u: slices.Clone(sum)}
			c.score(s.base)
			s.top.add(c)
		}
		return
	}
	next, rest := s.sums[j+1], s.rest[j+1]
	for _, v := range s.order[j] {
		feasible := true
		prod, welfare := 1.0, 0.0
		for i := range next {
			next[i] = sum[i] + s.terms[i][j][v]
			reach := next[i] + rest[i]
			if reach < s.base[i]-s.tol {
				feasible = false
				break
			}
			prod *= math.Max(0, reach-s.base[i])
			welfare += reach
		}
		if !feasible || (s.top.worst != nil && below(prod, welfare, s.top.worst)) {
			continue
		}
		s.o[j] = v
		s.dfs(j + 1)
	}
}

// below reports whether a subtree whose best product and welfare are at
// most prod and welfare cannot beat w. The slack keeps rounding in the
// bounds from cutting off a tie.
func below(prod, welfare float64, w *candidate) bool {
	eps := 1e-9 * math.Max(prod, w.prod)
	if prod < w.prod-eps {
		return true
	}
	if prod > w.prod+eps {
		return false
	}
	return welfare < w.welfare-1e-9*math.Max(1, math.Abs(w.welfare))
}

// dominatingEnumerate checks every outcome, in parallel.
func dominatingEnumerate(ctx context.Context, funcs []utility.Func, sp *outcome.Space, base []float64, limit int) ([]candidate, error) {
	g := fullGrid(sp)
	total, err := g.size()
	if err != nil {
		return nil, err
	}
	scale, err := exactScale(ctx, funcs, g)
	if err != nil {
		return nil, err
	}
	tol := tolerance(scale)
	opt := Options{}
	tops := make([]topK, opt.workers())
	err = parallel(ctx, g, total, opt, func(w int, lo, hi uint64, wk *walker) {
		u := make([]float64, len(funcs))
		for idx := lo; idx < hi; idx++ {
			for i, f := range funcs {
				u[i] = f.Utility(wk.o)
			}
			if dominates(u, base, tol) {
				c := candidate{o: wk.o.Clone(), u: slices.Clone(u)}
				c.score(base)
				tops[w].limit = limit
				tops[w].add(c)
			}
			wk.next()
		}
	})
	if err != nil {
		return nil, err
	}
	var all []candidate
	for _, t := range tops {
		all = append(all, t.cands...)
	}
	return all, nil
}

// exactScale returns the largest |utility| of funcs over sp, enumerating
// the space unless every function is a table or additive.
func exactScale(ctx context.Context, funcs []utility.Func, g *grid) (float64, error) {
	scale, known := 0.0, true
	for _, f := range funcs {
		switch f := f.(type) {
		case *utility.Table:
			scale = math.Max(scale, scaleBound(f))
		case utility.Additive:
			lo, hi := utility.Bounds(f)
			scale = math.Max(scale, math.Max(math.Abs(lo), math.Abs(hi)))
		default:
			known = false
		}
	}
	if known {
		return scale, nil
	}
	opt := Options{}
	scales := make([]float64, opt.workers())
	// The largest |utility| is reached at a point of the class grid.
	cg := classGrid(funcs, g.sp)
	total, err := cg.size()
	if err != nil {
		return 0, err
	}
	err = parallel(ctx, cg, total, opt, func(w int, lo, hi uint64, wk *walker) {
		for idx := lo; idx < hi; idx++ {
			for _, f := range funcs {
				scales[w] = math.Max(scales[w], math.Abs(f.Utility(wk.o)))
			}
			wk.next()
		}
	})
	return slices.Max(scales), err
}
