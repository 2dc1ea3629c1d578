package analysis

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// grid is what is enumerated: for each issue, the values to try. The
// full space tries every value; a compressed one tries one value per class
// of values that no function tells apart.
type grid struct {
	sp   *outcome.Space
	vals [][]int
}

// fullGrid returns the grid of every outcome of sp.
func fullGrid(sp *outcome.Space) *grid {
	g := &grid{sp: sp, vals: make([][]int, len(sp.Issues))}
	for j, is := range sp.Issues {
		g.vals[j] = make([]int, is.Len())
		for v := range g.vals[j] {
			g.vals[j][v] = v
		}
	}
	return g
}

// classGrid returns a grid with one value per class of values that every
// function gives the same utility whatever the other issues' values: the
// values of an issue are cut into runs at each value some function can
// tell from the one before it. A hyper-rectangle tells values apart only
// at the bounds of its ranges, an additive function where its terms
// differ, and any other function everywhere. The first value of each run
// represents it, so the outcome reported for a point is its smallest.
//
// This is exact: two outcomes that differ only in values of the same runs
// have the same utility vector. It turns ANAC 2014's 10^10 outcomes into
// 2.5·10^7 combinations of classes.
func classGrid(funcs []utility.Func, sp *outcome.Space) *grid {
	cuts := make([][]bool, len(sp.Issues))
	for j, is := range sp.Issues {
		cuts[j] = make([]bool, is.Len())
		if is.Len() > 0 {
			cuts[j][0] = true
		}
	}
	for _, f := range funcs {
		switch f := f.(type) {
		case *utility.HyperRectangle:
			for _, r := range f.Rectangles {
				for _, g := range r.Ranges {
					cuts[g.Issue][g.Min] = true
					if g.Max+1 < len(cuts[g.Issue]) {
						cuts[g.Issue][g.Max+1] = true
					}
				}
			}
		case utility.Additive:
			for j, t := range f.Terms() {
				for v := 1; v < len(t) && v < len(cuts[j]); v++ {
					if t[v] != t[v-1] {
						cuts[j][v] = true
					}
				}
			}
		default:
			for j := range cuts {
				for v := range cuts[j] {
					cuts[j][v] = true
				}
			}
		}
	}
	g := &grid{sp: sp, vals: make([][]int, len(sp.Issues))}
	for j := range cuts {
		for v, cut := range cuts[j] {
			if cut {
				g.vals[j] = append(g.vals[j], v)
			}
		}
	}
	return g
}

// size returns the number of points of the grid if it can be enumerated.
func (g *grid) size() (uint64, error) {
	n := uint64(1)
	for _, vs := range g.vals {
		l := uint64(len(vs))
		if l == 0 {
			return 0, nil
		}
		if n > MaxEnumeration/l {
			return 0, fmt.Errorf("%w: %s outcomes, at most %d", ErrTooLarge, g.sp.Cardinality(), uint64(MaxEnumeration))
		}
		n *= l
	}
	return n, nil
}

// walker steps through the grid in index order.
type walker struct {
	g *grid
	c []int           // position in each issue's values
	o outcome.Outcome // the outcome at c
}

func (g *grid) walker() *walker {
	return &walker{g: g, c: make([]int, len(g.vals)), o: make(outcome.Outcome, len(g.vals))}
}

// seek moves to the grid point with index idx.
func (wk *walker) seek(idx uint64) {
	for j := len(wk.c) - 1; j >= 0; j-- {
		l := uint64(len(wk.g.vals[j]))
		wk.c[j] = int(idx % l)
		wk.o[j] = wk.g.vals[j][wk.c[j]]
		idx /= l
	}
}

// next moves to the following grid point.
func (wk *walker) next() {
	for j := len(wk.c) - 1; j >= 0; j-- {
		wk.c[j]++
		if wk.c[j] < len(wk.g.vals[j]) {
			wk.o[j] = wk.g.vals[j][wk.c[j]]
			return
		}
		wk.c[j] = 0
		wk.o[j] = wk.g.vals[j][0]
	}
}

// outcome returns the outcome at grid index idx.
func (g *grid) outcome(idx uint64) outcome.Outcome {
	wk := g.walker()
	wk.seek(idx)
	return wk.o
}

// parallel calls body for chunks [lo, hi) of the indexes of grid g, from
// opt.workers() goroutines; w identifies the goroutine, and wk is at index
// lo. It returns the context's error if ctx is done before every chunk is.
func parallel(ctx context.Context, g *grid, total uint64, opt Options, body func(w int, lo, hi uint64, wk *walker)) error {
	workers := opt.workers()
	chunk := max(total/uint64(workers*16), 1<<10)
	chunk = min(chunk, 1<<16)
	chunks := (total + chunk - 1) / chunk
	workers = int(min(uint64(workers), chunks))
	var (
		mu   sync.Mutex
		done uint64
		wg   sync.WaitGroup
	)
	for w := range workers {
		// Worker w takes chunks w, w+workers, ...: a fixed assignment keeps
		// the result independent of scheduling.
		wg.Go(func() {
			wk := g.walker()
			for c := uint64(w); c < chunks && ctx.Err() == nil; c += uint64(workers) {
				lo := c * chunk
				hi := min(lo+chunk, total)
				wk.seek(lo)
				body(w, lo, hi, wk)
				if opt.Progress != nil {
					mu.Lock()
					done += hi - lo
					opt.Progress(done, total)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// scaleBound returns an upper bound on the largest |utility| of f, or +Inf
// if f is of a kind it knows nothing about.
func scaleBound(f utility.Func) float64 {
	switch f := f.(type) {
	case *utility.Table:
		s := 0.0
		for _, v := range f.Values {
			s = math.Max(s, math.Abs(v))
		}
		return s
	case *utility.HyperRectangle:
		s := 0.0
		for _, r := range f.Rectangles {
			s += math.Abs(r.Utility)
		}
		return s / f.Max
	}
	return math.Inf(1)
}

// enumerateFrontier computes the frontier by enumerating the space.
//
// Each worker keeps the points no other point covers exactly (with no
// tolerance), before testing rationality: a point that covers a rational
// one is rational too, so this keeps every candidate. Once the largest
// |utility| and so the tolerance is known, the rational points of the
// union are filtered with it.
func enumerateFrontier(ctx context.Context, funcs []utility.Func, sp *outcome.Space, reserved []float64, opt Options) ([]Point, float64, error) {
	g := classGrid(funcs, sp)
	total, err := g.size()
	if err != nil {
		return nil, 0, err
	}
	n := len(funcs)
	// Points below reserved-1e-9·bound are irrational whatever the exact
	// scale turns out to be.
	bound := 0.0
	for _, f := range funcs {
		bound = math.Max(bound, scaleBound(f))
	}
	floor := make([]float64, n)
	for i, r := range reserved {
		floor[i] = r - tolerance(bound)
		if math.IsInf(bound, 1) {
			floor[i] = math.Inf(-1)
		}
	}

	workers := opt.workers()
	accs := make([]*accumulator, workers)
	scales := make([]float64, workers)
	err = parallel(ctx, g, total, opt, func(w int, lo, hi uint64, wk *walker) {
		acc := accs[w]
		if acc == nil {
			acc = newAccumulator(n, 0)
			accs[w] = acc
		}
		u := make([]float64, n)
		scale := scales[w]
		for idx := lo; idx < hi; idx++ {
			keep := true
			for i, f := range funcs {
				u[i] = f.Utility(wk.o)
				scale = math.Max(scale, math.Abs(u[i]))
				keep = keep && u[i] >= floor[i]
			}
			if keep {
				acc.add(u, idx)
			}
			wk.next()
		}
		scales[w] = scale
	})
	if err != nil {
		return nil, 0, err
	}

	scale := 0.0
	for _, s := range scales {
		scale = math.Max(scale, s)
	}
	tol := tolerance(scale)
	all := newSet(n, 0)
	for _, acc := range accs {
		if acc == nil {
			continue
		}
		sky := acc.result()
		for k := range sky.len() {
			if p := sky.at(k); rational(p, reserved, tol) {
				all.add(p, sky.ref[k])
			}
		}
	}
	sky := skyline(all, tol)
	front := make([]Point, sky.len())
	for k := range front {
		front[k] = Point{Outcome: g.outcome(sky.ref[k]), Utilities: append([]float64(nil), sky.at(k)...)}
	}
	return front, tol, nil
}
