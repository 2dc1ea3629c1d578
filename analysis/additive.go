package analysis

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sort"

	"github.com/backchannel/backchannel/outcome"
)

// node is a set of non-dominated partial sums over some of the issues. A
// leaf covers one issue and refers to its values; an inner node refers to
// one point of each parent, packed as left<<32 | right.
type node struct {
	*set
	issue       int // of a leaf; -1 for an inner node
	left, right *node
	best        []float64 // per party, the sum of its best terms on the covered issues
	order       int       // creation order, for deterministic merging
}

// additiveFrontier builds the frontier of additive functions by merging
// per-issue frontiers; terms[i][j][v] is party i's term for value v of
// issue j. The points' utilities are the merged sums.
func additiveFrontier(ctx context.Context, terms [][][]float64, reserved []float64) ([]Point, float64, error) {
	n, d := len(terms), len(terms[0])

	// total[i] is party i's best utility; scale its largest |utility|.
	total := make([]float64, n)
	scale := 0.0
	for i := range n {
		lo, hi := 0.0, 0.0
		for j := range d {
			lo += slices.Min(terms[i][j])
			hi += slices.Max(terms[i][j])
		}
		total[i] = hi
		scale = math.Max(scale, math.Max(math.Abs(lo), math.Abs(hi)))
	}
	tol := tolerance(scale)

	nodes := make([]*node, 0, d)
	p := make([]float64, n)
	for j := range d {
		vals := newSet(n, len(terms[0][j]))
		for v := range terms[0][j] {
			for i := range n {
				p[i] = terms[i][j][v]
			}
			vals.add(p, uint64(v))
		}
		nd := &node{set: skyline(vals, tol), issue: j, best: make([]float64, n), order: j}
		for i := range n {
			nd.best[i] = slices.Max(terms[i][j])
		}
		nd.prune(total, reserved, tol)
		nodes = append(nodes, nd)
	}

	for len(nodes) > 1 {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		// Merge the two smallest sets: the cost of a merge grows with the
		// product of the sizes.
		slices.SortFunc(nodes, func(a, b *node) int {
			if c := cmp.Compare(a.len(), b.len()); c != 0 {
				return c
			}
			return cmp.Compare(a.order, b.order)
		})
		a, b := nodes[0], nodes[1]
		nd := &node{issue: -1, left: a, right: b, best: make([]float64, n), order: d + len(nodes)}
		for i := range n {
			nd.best[i] = a.best[i] + b.best[i]
		}
		if n == 2 {
			nd.set = merge2(a.set, b.set, tol)
		} else {
			nd.set = mergeN(a.set, b.set, tol)
		}
		nd.prune(total, reserved, tol)
		// The parents' utilities are no longer needed, only their references.
		a.pts, b.pts = nil, nil
		nodes = append(nodes[2:], nd)
	}

	root := nodes[0]
	front := make([]Point, root.len())
	for k := range front {
		o := make(outcome.Outcome, d)
		root.fill(k, o)
		front[k] = Point{Outcome: o, Utilities: slices.Clone(root.at(k))}
	}
	return front, tol, nil
}

// prune drops the partial sums that cannot give some party its reserved
// value even with that party's best term on every issue not yet covered.
func (nd *node) prune(total, reserved []float64, tol float64) {
	n := nd.n
	w := 0
	for k := range nd.len() {
		p := nd.at(k)
		ok := true
		for i := range n {
			if p[i]+(total[i]-nd.best[i]) < reserved[i]-tol {
				ok = false
				break
			}
		}
		if ok {
			copy(nd.pts[w*n:], p)
			nd.ref[w] = nd.ref[k]
			w++
		}
	}
	nd.pts, nd.ref = nd.pts[:w*n], nd.ref[:w]
}

// fill writes into o the values of point k of nd.
func (nd *node) fill(k int, o outcome.Outcome) {
	for nd.issue < 0 {
		r := nd.ref[k]
		nd.right.fill(int(r&math.MaxUint32), o)
		nd, k = nd.left, int(r>>32)
	}
	o[nd.issue] = int(nd.ref[k])
}

// cursor walks the sums a[i] + b[k], k = 0, 1, ..., in order of the first
// utility descending.
type cursor struct {
	x, y float64
	i, k int32
}

func (c cursor) before(d cursor) bool {
	if c.x != d.x {
		return c.x > d.x
	}
	if c.y != d.y {
		return c.y > d.y
	}
	return c.i < d.i
}

// merge2 returns the staircase of the Minkowski sum of staircases a and b,
// sweeping the sums in order of the first utility with a heap of one
// cursor per point of a. References are packed as index in a << 32 | index
// in b.
func merge2(a, b *set, tol float64) *set {
	out := newSet(2, 0)
	nb := b.len()
	if a.len() == 0 || nb == 0 {
		return out
	}
	at := func(i, k int32) cursor {
		return cursor{x: a.pts[2*i] + b.pts[2*k], y: a.pts[2*i+1] + b.pts[2*k+1], i: i, k: k}
	}
	h := make([]cursor, a.len())
	for i := range h {
		h[i] = at(int32(i), 0)
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(h, i)
	}
	for len(h) > 0 {
		c := h[0]
		next := c.k + 1
		if !out.push2(c.x, c.y, uint64(c.i)<<32|uint64(c.k), tol) {
			// Along a cursor the second utility grows: skip every sum the
			// staircase would cover too.
			ay, limit := a.pts[2*c.i+1], out.pts[len(out.pts)-1]+tol
			next += int32(sort.Search(nb-int(next), func(j int) bool {
				return ay+b.pts[2*(int(next)+j)+1] > limit
			}))
		}
		if int(next) >= nb {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		} else {
			h[0] = at(c.i, next)
		}
		down(h, 0)
	}
	return out
}

func down(h []cursor, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// mergeN returns the non-dominated part of the Minkowski sum of a and b
// for any number of parties. Each translate a_i + B is non-dominated
// already, so the translates are merged pairwise, in a balanced tree, by
// mergeSets. References are packed as in merge2.
func mergeN(a, b *set, tol float64) *set {
	n := a.n
	parts := make([]*set, 0, a.len())
	for i := range a.len() {
		pa := a.at(i)
		part := newSet(n, b.len())
		for k := range b.len() {
			pb := b.at(k)
			for t := range n {
				part.pts = append(part.pts, pa[t]+pb[t])
			}
			part.ref = append(part.ref, uint64(i)<<32|uint64(k))
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return newSet(n, 0)
	}
	for len(parts) > 1 {
		next := parts[:0]
		for k := 0; k+1 < len(parts); k += 2 {
			next = append(next, mergeSets(parts[k], parts[k+1], tol))
		}
		if len(parts)%2 == 1 {
			next = append(next, parts[len(parts)-1])
		}
		parts = next
	}
	return parts[0]
}

// mergeSets returns the non-dominated points of x ∪ y, two sets that are
// each non-dominated: the points of x that no point of y dominates, and
// the points of y that no point of x covers (so that of two equal points
// the one in x stays). It costs O((|x| + |y|)·n·(log + p)) where p is the
// length of the prefixes that index.find scans.
func mergeSets(x, y *set, tol float64) *set {
	out := newSet(x.n, x.len()+y.len())
	iy := newIndex(y)
	for k := range x.len() {
		if p := x.at(k); !iy.find(p, tol, true) {
			out.add(p, x.ref[k])
		}
	}
	ix := newIndex(x)
	for k := range y.len() {
		if p := y.at(k); !ix.find(p, tol, false) {
			out.add(p, y.ref[k])
		}
	}
	return out
}

// index answers "which points of a set cover p" by sorting the points on
// each coordinate: the points that cover p are among the prefix of those
// at least p_d − tol on coordinate d, for every d, so it suffices to
// check the shortest of those prefixes. Points on a frontier are each
// strong on some coordinate, where few others beat them.
type index struct {
	s      *set
	order  [][]int32   // order[d] sorts the points by coordinate d descending
	sorted [][]float64 // sorted[d][k] is coordinate d of point order[d][k]
}

func newIndex(s *set) *index {
	ix := &index{s: s, order: make([][]int32, s.n), sorted: make([][]float64, s.n)}
	for d := range s.n {
		ord := make([]int32, s.len())
		for k := range ord {
			ord[k] = int32(k)
		}
		slices.SortFunc(ord, func(a, b int32) int { return cmpDesc(s.pts[int(a)*s.n+d], s.pts[int(b)*s.n+d]) })
		col := make([]float64, len(ord))
		for k, q := range ord {
			col[k] = s.pts[int(q)*s.n+d]
		}
		ix.order[d], ix.sorted[d] = ord, col
	}
	return ix
}

// find reports whether a point of the set covers p, or with strict
// whether one dominates it: covers it without being equal to it.
func (ix *index) find(p []float64, tol float64, strict bool) bool {
	best, bestLen := 0, ix.s.len()+1
	for d, col := range ix.sorted {
		l := sort.Search(len(col), func(k int) bool { return col[k] < p[d]-tol })
		if l < bestLen {
			best, bestLen = d, l
		}
		if l == 0 {
			return false
		}
	}
	for _, q := range ix.order[best][:bestLen] {
		u := ix.s.at(int(q))
		if covers(u, p, tol) && (!strict || !covers(p, u, tol)) {
			return true
		}
	}
	return false
}
