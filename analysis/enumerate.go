package analysis

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// enumerable returns the size of sp if it can be enumerated.
func enumerable(sp *outcome.Space) (uint64, error) {
	size, ok := sp.Size()
	if !ok || size > MaxEnumeration {
		return 0, fmt.Errorf("%w: %s outcomes, at most %d", ErrTooLarge, sp.Cardinality(), uint64(MaxEnumeration))
	}
	return size, nil
}

// parallel calls body for chunks [lo, hi) of the outcome indexes of sp,
// from opt.workers() goroutines; w identifies the goroutine, and o is the
// outcome with index lo, in a buffer the body may advance. It returns the
// context's error if ctx is done before every chunk is.
func parallel(ctx context.Context, sp *outcome.Space, total uint64, opt Options, body func(w int, lo, hi uint64, o outcome.Outcome)) error {
	workers := opt.workers()
	chunk := max(total/uint64(workers*16), 1<<10)
	chunk = min(chunk, 1<<16)
	if uint64(workers) > (total+chunk-1)/chunk {
		workers = int((total + chunk - 1) / chunk)
	}
	var (
		mu   sync.Mutex
		done uint64
		wg   sync.WaitGroup
	)
	chunks := (total + chunk - 1) / chunk
	for w := range workers {
		// Worker w takes chunks w, w+workers, ...: a fixed assignment keeps
		// the result independent of scheduling.
		wg.Go(func() {
			o := make(outcome.Outcome, len(sp.Issues))
			for c := uint64(w); c < chunks && ctx.Err() == nil; c += uint64(workers) {
				lo := c * chunk
				hi := min(lo+chunk, total)
				at(sp, lo, o)
				body(w, lo, hi, o)
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

// at writes into o the outcome with index idx.
func at(sp *outcome.Space, idx uint64, o outcome.Outcome) {
	for j := len(o) - 1; j >= 0; j-- {
		l := uint64(sp.Issues[j].Len())
		o[j] = int(idx % l)
		idx /= l
	}
}

// advance moves o to the next outcome in index order.
func advance(sp *outcome.Space, o outcome.Outcome) {
	for j := len(o) - 1; j >= 0; j-- {
		o[j]++
		if o[j] < sp.Issues[j].Len() {
			return
		}
		o[j] = 0
	}
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
	total, err := enumerable(sp)
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
	err = parallel(ctx, sp, total, opt, func(w int, lo, hi uint64, o outcome.Outcome) {
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
				u[i] = f.Utility(o)
				scale = math.Max(scale, math.Abs(u[i]))
				keep = keep && u[i] >= floor[i]
			}
			if keep {
				acc.add(u, idx)
			}
			advance(sp, o)
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
		o, err := sp.At(sky.ref[k])
		if err != nil {
			return nil, 0, err
		}
		front[k] = Point{Outcome: o, Utilities: append([]float64(nil), sky.at(k)...)}
	}
	return front, tol, nil
}
