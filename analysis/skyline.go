package analysis

import (
	"cmp"
	"slices"
	"sort"
)

// set holds utility vectors of n parties, stored flat, with one reference
// each: an outcome index, a value index or the indexes of two parents.
type set struct {
	n   int
	pts []float64
	ref []uint64
}

func newSet(n, capacity int) *set {
	return &set{n: n, pts: make([]float64, 0, capacity*n), ref: make([]uint64, 0, capacity)}
}

func (s *set) len() int { return len(s.ref) }

func (s *set) at(k int) []float64 { return s.pts[k*s.n : (k+1)*s.n : (k+1)*s.n] }

func (s *set) add(p []float64, ref uint64) {
	s.pts = append(s.pts, p...)
	s.ref = append(s.ref, ref)
}

func (s *set) reset() {
	s.pts = s.pts[:0]
	s.ref = s.ref[:0]
}

// covers reports whether q is at least p, within tol, for every party: q
// dominates p or equals it.
func covers(q, p []float64, tol float64) bool {
	for i := range p {
		if q[i] < p[i]-tol {
			return false
		}
	}
	return true
}

// skyline returns the non-dominated points of s, one per class of equal
// points. Ties between equal points go to the smaller reference. For two
// parties the result is a staircase sorted by the first utility descending
// (strictly) with the second ascending (strictly, by more than tol).
//
// For more parties, large sets are divided in two halves whose skylines
// are merged by mergeSets, and small ones go to skylineN.
func skyline(s *set, tol float64) *set {
	if s.n == 2 {
		return skyline2(s, tol)
	}
	if s.len() <= 1024 {
		return skylineN(s, tol)
	}
	h := s.len() / 2
	lo := &set{n: s.n, pts: s.pts[:h*s.n], ref: s.ref[:h]}
	hi := &set{n: s.n, pts: s.pts[h*s.n:], ref: s.ref[h:]}
	return mergeSets(skyline(lo, tol), skyline(hi, tol), tol)
}

// skyline2 sorts by the first utility and sweeps, keeping the staircase
// on a stack: O(k log k).
func skyline2(s *set, tol float64) *set {
	perm := make([]int32, s.len())
	for k := range perm {
		perm[k] = int32(k)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		pa, pb := s.pts[2*a:], s.pts[2*b:]
		if c := cmpDesc(pa[0], pb[0]); c != 0 {
			return c
		}
		if c := cmpDesc(pa[1], pb[1]); c != 0 {
			return c
		}
		return cmp.Compare(s.ref[a], s.ref[b])
	})
	out := newSet(2, 0)
	for _, k := range perm {
		out.push2(s.pts[2*k], s.pts[2*k+1], s.ref[k], tol)
	}
	return out
}

// push2 adds a point to a staircase being swept in order of the first
// utility descending. It drops the point if the staircase covers it, and
// otherwise drops the steps the point dominates.
func (out *set) push2(x, y float64, ref uint64, tol float64) bool {
	m := len(out.pts)
	if m > 0 && out.pts[m-1] >= y-tol {
		return false
	}
	// Every step has a second utility below y-tol, so p dominates the
	// last steps whose first utility is within tol of its own.
	for m > 0 && out.pts[m-2] <= x+tol {
		m -= 2
		out.ref = out.ref[:m/2]
	}
	out.pts = append(out.pts[:m], x, y)
	out.ref = append(out.ref, ref)
	return true
}

// coveredBy2 reports whether the staircase st covers p, in O(log |st|).
func coveredBy2(st *set, x, y, tol float64) bool {
	// The steps with a first utility of at least x-tol form a prefix,
	// and the last of them has the largest second utility.
	j := sort.Search(st.len(), func(k int) bool { return st.pts[2*k] < x-tol })
	return j > 0 && st.pts[2*j-1] >= y-tol
}

// skylineN is the sort-filter skyline: sorted by the sum of utilities
// descending, a point can only be dominated by one kept before it, except
// for points within n·tol of its sum, which are checked when it is kept.
// O(k log k + k·h) for h kept points.
func skylineN(s *set, tol float64) *set {
	n, k := s.n, s.len()
	sums := make([]float64, k)
	for j := range k {
		sum := 0.0
		for _, u := range s.at(j) {
			sum += u
		}
		sums[j] = sum
	}
	perm := make([]int32, k)
	for j := range perm {
		perm[j] = int32(j)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		if c := cmpDesc(sums[a], sums[b]); c != 0 {
			return c
		}
		for i, u := range s.at(int(a)) {
			if c := cmpDesc(u, s.pts[int(b)*n+i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(s.ref[a], s.ref[b])
	})
	out := newSet(n, 0)
	var outSums []float64
	slack := float64(n) * tol
	for _, j := range perm {
		p := s.at(int(j))
		if coveredByN(out, p, tol) {
			continue
		}
		// With a tolerance a dominating point may have a slightly smaller
		// sum: remove the kept points that p dominates.
		var dead []int
		for q := out.len() - 1; q >= 0 && outSums[q] <= sums[j]+slack; q-- {
			if covers(p, out.at(q), tol) {
				dead = append(dead, q)
			}
		}
		for _, q := range dead { // descending, so later indexes stay valid
			out.pts = slices.Delete(out.pts, q*n, (q+1)*n)
			out.ref = slices.Delete(out.ref, q, q+1)
			outSums = slices.Delete(outSums, q, q+1)
		}
		out.add(p, s.ref[j])
		outSums = append(outSums, sums[j])
	}
	return out
}

func coveredByN(st *set, p []float64, tol float64) bool {
	n := st.n
	for q := 0; q < len(st.pts); q += n {
		if covers(st.pts[q:q+n], p, tol) {
			return true
		}
	}
	return false
}

// accumulator keeps the non-dominated points of a stream of points with
// memory proportional to their number: points are buffered and merged
// into the skyline when the buffer outgrows it.
type accumulator struct {
	tol float64
	sky *set
	buf *set
}

func newAccumulator(n int, tol float64) *accumulator {
	return &accumulator{tol: tol, sky: newSet(n, 0), buf: newSet(n, 1024)}
}

func (a *accumulator) add(p []float64, ref uint64) {
	if a.sky.n == 2 && coveredBy2(a.sky, p[0], p[1], a.tol) {
		return
	}
	a.buf.add(p, ref)
	if a.buf.len() >= max(4096, 2*a.sky.len()) {
		a.flush()
	}
}

func (a *accumulator) flush() {
	if a.buf.len() == 0 {
		return
	}
	// The skyline first: its references are the older, smaller ones.
	a.sky.pts = append(a.sky.pts, a.buf.pts...)
	a.sky.ref = append(a.sky.ref, a.buf.ref...)
	a.sky = skyline(a.sky, a.tol)
	a.buf.reset()
}

func (a *accumulator) result() *set {
	a.flush()
	return a.sky
}
