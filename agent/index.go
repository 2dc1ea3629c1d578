package agent

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// MaxSorted is the largest outcome space that NewIndex sorts whole, and the
// most combinations of classes of values it sorts for a larger
// hyper-rectangle space. At 12 bytes an outcome, the largest sorted index
// takes about 100 MB.
const MaxSorted = 1 << 23

// maxHalf bounds each half of a meet-in-the-middle index.
const maxHalf = 1 << 24

// Errors returned by this package.
var (
	ErrTooLarge = errors.New("agent: outcome space too large to index")
	ErrInvalid  = errors.New("agent: invalid negotiator")
	ErrUnknown  = errors.New("agent: unknown negotiator")
)

// Index answers "which outcome has the smallest utility at or above x"
// for one utility function without scanning the outcome space. It is
// built once per utility function and is safe for concurrent use.
//
// Spaces of at most MaxSorted outcomes are sorted whole. The utilities of
// an additive function are computed issue by issue in index order, each
// level adding one issue's terms to the sums of the level before it, so
// that every outcome costs one addition; other functions are evaluated
// outcome by outcome. A least-significant-digit radix sort on the IEEE
// bits of the utilities (six passes of 11 bits, skipping passes where all
// keys share the digit) then orders the outcomes in O(n) time; outcomes of
// equal utility keep their index order. A table of n/8 buckets, equally
// spaced in utility, narrows each search to one bucket, which a binary
// search finishes: O(1) expected and O(log n) worst-case time.
//
// Larger spaces of a *utility.HyperRectangle, the non-linear functions of
// ANAC 2014, are sorted by classes of values instead (see
// utility.HyperRectangle.Classes): values of an issue that no rectangle
// tells apart always give the same utility, so the index sorts every
// combination of classes, represented by the outcome of the first value of
// each class, as long as there are at most MaxSorted combinations.
// Utilities are computed in index order with one bitset of rectangles per
// class, each issue narrowing the set of rectangles left by the issues
// before it, and the sum over each final set adds the rectangles' utilities
// in order, as the function does: the results are identical. Above, Max and
// Min are exact, with the same tie rule as a whole sort (the first outcome
// of a utility in index order is a representative); Band yields one
// representative per combination of classes.
//
// Larger additive spaces use meet-in-the-middle (Horowitz and Sahni,
// 1974): the issues are cut into two halves with about √n partial
// outcomes each, each half's partial sums are sorted, and a query walks
// one half up and the other down with two pointers, in O(√n) time.
// Sums of two partial sums may differ from the function's own utilities
// by rounding, by at most ε (about 1e-15 for utilities in [0, 1]); and
// partial outcomes with equal partial sums are searched as one, which
// makes spaces with many ties fast. So on this path the answers are exact
// only to within 2ε: Above returns an outcome of utility at least x − 2ε
// and at most 2ε above the smallest utility at least x. The utility it
// reports is always the function's own.
//
// An index holds ids of outcomes, their mixed-radix indexes in the space
// (in the space of classes when sorted by classes), and decodes them on
// demand.
type Index struct {
	f     utility.Func
	space *outcome.Space
	radix []int  // the values, or classes, of each issue
	n     uint64 // the number of ids
	size  uint64 // the number of outcomes

	// The class path: the first value of each class, and each value's class.
	class   [][]int
	classOf [][]int

	// The sorted path.
	keys  []uint64 // order keys of the utilities, ascending
	ids   []uint32 // the outcomes' ids, in the same order
	start []uint32 // the first rank of each bucket, and n
	bmin  float64
	scale float64

	// The meet-in-the-middle path.
	terms [][]float64
	a, b  half // a holds the first issues, the most significant digits
	nb    uint64
	eps   float64 // bound on the rounding of sums

	maxID, minID uint64
	maxU, minU   float64
	max, min     outcome.Outcome
}

// half is one half of a meet-in-the-middle index: the partial utilities
// of its issues, ascending, with the partial ids; and the same for only
// the first partial outcome of each distinct partial utility, which is
// all that searches need and far fewer in spaces with many ties.
type half struct {
	u, du     []float64
	ids, dids []uint32
}

// NewIndex builds the index of f. It returns ErrTooLarge for a space of
// more than MaxSorted outcomes whose function is neither additive nor a
// *utility.HyperRectangle, whose rectangles cut it into more than
// MaxSorted combinations of classes, or whose halves would still hold more
// than 2^24 partial outcomes each, and an error if some utility is not a
// number.
func NewIndex(f utility.Func) (*Index, error) {
	return newIndex(f, MaxSorted)
}

func newIndex(f utility.Func, maxSorted uint64) (*Index, error) {
	sp := f.Space()
	ix := &Index{f: f, space: sp, radix: make([]int, len(sp.Issues))}
	for i, is := range sp.Issues {
		ix.radix[i] = is.Len()
		if ix.radix[i] == 0 {
			return nil, fmt.Errorf("%w: issue %q has no values", ErrInvalid, is.Name)
		}
	}
	n, ok := sp.Size()
	if !ok {
		return nil, fmt.Errorf("%w: %s outcomes", ErrTooLarge, sp.Cardinality())
	}
	ix.n, ix.size = n, n
	var err error
	h, rect := f.(*utility.HyperRectangle)
	a, additive := f.(utility.Additive)
	switch {
	case n <= maxSorted:
		err = ix.buildSorted(nil)
	case rect:
		err = ix.buildClasses(h)
	case additive:
		err = ix.buildHalves(a.Terms())
	default:
		err = fmt.Errorf("%w: %d outcomes and a function that is not additive", ErrTooLarge, n)
	}
	if err != nil {
		return nil, err
	}
	ix.max = ix.Outcome(ix.maxID)
	ix.min = ix.Outcome(ix.minID)
	return ix, nil
}

// key maps a utility to a uint64 with the same order. Negative zero is
// folded into zero.
func key(u float64) uint64 {
	b := math.Float64bits(u + 0)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// unkey inverts key.
func unkey(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// buildSorted sorts every id. fill, if not nil, writes the key of each
// id's utility; otherwise the utilities are those of the outcomes.
func (ix *Index) buildSorted(fill func(keys []uint64)) error {
	n := int(ix.n)
	keys := make([]uint64, n)
	if fill != nil {
		fill(keys)
	} else if a, ok := ix.f.(utility.Additive); ok {
		sums(a.Terms(), func(k int, u float64) { keys[k] = key(u) })
	} else {
		k := 0
		for o := range ix.space.All() {
			keys[k] = key(ix.f.Utility(o))
			k++
		}
	}
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(i)
	}
	ix.keys, ix.ids = radixSort(keys, ids)
	ix.minU, ix.maxU = unkey(ix.keys[0]), unkey(ix.keys[n-1])
	if math.IsNaN(ix.minU) || math.IsNaN(ix.maxU) {
		return fmt.Errorf("%w: a utility is not a number", ErrInvalid)
	}
	nb := max(1, n/8)
	ix.bmin = ix.minU
	if span := ix.maxU - ix.minU; span > 0 && !math.IsInf(span, 0) {
		ix.scale = float64(nb) / span
	} else {
		nb = 1
	}
	ix.start = make([]uint32, nb+1)
	next := 0
	for r, k := range ix.keys {
		for b := ix.bucket(unkey(k)); next <= b; next++ {
			ix.start[next] = uint32(r)
		}
	}
	for ; next <= nb; next++ {
		ix.start[next] = uint32(n)
	}
	// The best outcome is the first of those with the largest utility,
	// so that Max and Above(Max) agree.
	ix.maxID, ix.minID = uint64(ix.ids[ix.rank(ix.maxU)]), uint64(ix.ids[0])
	return nil
}

// buildClasses sorts the combinations of classes of h.
func (ix *Index) buildClasses(h *utility.HyperRectangle) error {
	ix.class = h.Classes()
	ix.classOf = make([][]int, len(ix.class))
	for i, starts := range ix.class {
		ix.radix[i] = len(starts)
		ix.classOf[i] = make([]int, ix.space.Issues[i].Len())
		c := 0
		for v := range ix.classOf[i] {
			if c+1 < len(starts) && v == starts[c+1] {
				c++
			}
			ix.classOf[i][v] = c
		}
	}
	ix.n = product(ix.radix)
	if ix.n > MaxSorted {
		return fmt.Errorf("%w: %d outcomes in %d combinations of classes", ErrTooLarge, ix.size, ix.n)
	}
	return ix.buildSorted(func(keys []uint64) {
		rectangleSums(h, ix.class, func(k int, u float64) { keys[k] = key(u) })
	})
}

// rectangleSums calls fn with the index and the utility of every
// combination of classes of h, in index order. Each class of each issue
// has a bitset of the rectangles whose ranges on that issue contain it;
// walking the combinations like an odometer, level d holds the rectangles
// that contain the classes of the first d issues, and only the levels
// after the issue that changed are recomputed. The utility adds the
// utilities of the final set in rectangle order and divides by h.Max, as
// h.Utility does.
func rectangleSums(h *utility.HyperRectangle, class [][]int, fn func(k int, u float64)) {
	rects := h.Rectangles
	m, w := len(class), (len(rects)+63)/64
	// in[i][c] is the bitset of class c of issue i.
	in := make([][][]uint64, m)
	for i, starts := range class {
		in[i] = make([][]uint64, len(starts))
		for c := range starts {
			in[i][c] = make([]uint64, w)
			for r := range rects {
				in[i][c][r/64] |= 1 << (r % 64)
			}
		}
	}
	for r, rc := range rects {
		for _, g := range rc.Ranges {
			for c, v := range class[g.Issue] {
				if v < g.Min || v > g.Max {
					in[g.Issue][c][r/64] &^= 1 << (r % 64)
				}
			}
		}
	}
	level := make([]uint64, (m+1)*w)
	for r := range rects {
		level[r/64] |= 1 << (r % 64)
	}
	digit := make([]int, m)
	set := func(d int) { // recompute the levels after issue d
		for ; d < m; d++ {
			prev, next, mask := level[d*w:(d+1)*w], level[(d+1)*w:(d+2)*w], in[d][digit[d]]
			for j := range next {
				next[j] = prev[j] & mask[j]
			}
		}
	}
	set(0)
	last := level[m*w:]
	for k := 0; ; k++ {
		u := 0.0
		for j, x := range last {
			for ; x != 0; x &= x - 1 {
				u += rects[j*64+bits.TrailingZeros64(x)].Utility
			}
		}
		fn(k, u/h.Max)
		d := m - 1
		for ; d >= 0; d-- {
			if digit[d]++; digit[d] < len(class[d]) {
				break
			}
			digit[d] = 0
		}
		if d < 0 {
			return
		}
		set(d)
	}
}

// sums calls fn with the mixed-radix index and the utility of every
// outcome of an additive function, in index order. The utility is
// 0 + terms[0][o[0]] + terms[1][o[1]] + ..., added in that order, which
// is how utility.LinearAdditive adds them: the results are identical.
func sums(terms [][]float64, fn func(k int, u float64)) {
	cur := []float64{0}
	for _, t := range terms[:len(terms)-1] {
		next := make([]float64, 0, len(cur)*len(t))
		for _, u := range cur {
			for _, x := range t {
				next = append(next, u+x)
			}
		}
		cur = next
	}
	t := terms[len(terms)-1]
	k := 0
	for _, u := range cur {
		for _, x := range t {
			fn(k, u+x)
			k++
		}
	}
}

// radixSort sorts keys ascending and permutes ids alike. It is stable.
// It may return the scratch slices it allocates instead of its arguments.
func radixSort(keys []uint64, ids []uint32) ([]uint64, []uint32) {
	n := len(keys)
	if n <= 64 {
		for i := 1; i < n; i++ {
			for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
				ids[j], ids[j-1] = ids[j-1], ids[j]
			}
		}
		return keys, ids
	}
	const (
		width  = 11
		passes = (64 + width - 1) / width
		size   = 1 << width
	)
	count := new([passes][size]uint32)
	for _, k := range keys {
		for p := range passes {
			count[p][(k>>(p*width))&(size-1)]++
		}
	}
	var k2 []uint64
	var i2 []uint32
	for p := range passes {
		c := &count[p]
		shift := uint(p * width)
		if c[(keys[0]>>shift)&(size-1)] == uint32(n) {
			continue // every key has this digit
		}
		if k2 == nil {
			k2, i2 = make([]uint64, n), make([]uint32, n)
		}
		sum := uint32(0)
		for d := range c {
			c[d], sum = sum, sum+c[d]
		}
		for i, k := range keys {
			d := (k >> shift) & (size - 1)
			j := c[d]
			c[d]++
			k2[j], i2[j] = k, ids[i]
		}
		keys, k2 = k2, keys
		ids, i2 = i2, ids
	}
	return keys, ids
}

// bucket returns the bucket of utility u. It is monotone in u.
func (ix *Index) bucket(u float64) int {
	nb := len(ix.start) - 1
	v := (u - ix.bmin) * ix.scale
	switch {
	case !(v > 0):
		return 0
	case v >= float64(nb):
		return nb - 1
	}
	return int(v)
}

// rank returns the first rank whose utility is at least x, or n. Ranks
// before the bucket of x hold utilities below x and ranks after it
// utilities above x, because bucket is monotone, so the search stays
// within the bucket.
func (ix *Index) rank(x float64) int {
	kx := key(x)
	b := ix.bucket(x)
	lo, hi := int(ix.start[b]), int(ix.start[b+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ix.keys[m] < kx {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (ix *Index) buildHalves(terms [][]float64) error {
	ix.terms = terms
	// Cut where the larger half is smallest.
	cut, best := 0, uint64(math.MaxUint64)
	for c := 1; c <= len(ix.radix); c++ {
		a, b := product(ix.radix[:c]), product(ix.radix[c:])
		if m := max(a, b); m < best {
			cut, best = c, m
		}
	}
	if best > maxHalf {
		return fmt.Errorf("%w: %d outcomes, and half of the issues still span %d", ErrTooLarge, ix.n, best)
	}
	ix.a = newHalf(terms[:cut])
	ix.b = newHalf(terms[cut:])
	ix.nb = product(ix.radix[cut:])
	scale := 0.0
	for _, t := range terms {
		m := 0.0
		for _, x := range t {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%w: a utility is not a number", ErrInvalid)
			}
			m = math.Max(m, math.Abs(x))
		}
		scale += m
	}
	ix.eps = scale * float64(len(terms)) * 0x1p-50
	var ok bool
	if ix.minID, ix.minU, ok = ix.aboveHalves(math.Inf(-1)); !ok {
		return fmt.Errorf("%w: no smallest utility", ErrInvalid)
	}
	// As on the sorted path, the best is the first outcome Above finds.
	ix.maxID, ix.maxU, _ = ix.belowHalves(math.Inf(1))
	ix.maxID, ix.maxU, _ = ix.aboveHalves(ix.maxU)
	return nil
}

func product(radix []int) uint64 {
	p := uint64(1)
	for _, r := range radix {
		hi, lo := bits.Mul64(p, uint64(r))
		if hi != 0 {
			return math.MaxUint64
		}
		p = lo
	}
	return p
}

func newHalf(terms [][]float64) half {
	if len(terms) == 0 {
		return half{u: []float64{0}, ids: []uint32{0}, du: []float64{0}, dids: []uint32{0}}
	}
	n := 1
	for _, t := range terms {
		n *= len(t)
	}
	keys := make([]uint64, n)
	sums(terms, func(k int, u float64) { keys[k] = key(u) })
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(i)
	}
	keys, ids = radixSort(keys, ids)
	h := half{u: make([]float64, n), ids: ids}
	for i, k := range keys {
		h.u[i] = unkey(k)
		if i == 0 || k != keys[i-1] {
			h.du = append(h.du, h.u[i])
			h.dids = append(h.dids, ids[i])
		}
	}
	if len(h.du) == n {
		h.du, h.dids = h.u, h.ids
	}
	return h
}

// exact returns the utility of outcome id, adding the terms in issue
// order as the function does.
func (ix *Index) exact(id uint64) float64 {
	var buf [32]int
	var d []int
	if len(ix.radix) <= len(buf) {
		d = buf[:len(ix.radix)]
	} else {
		d = make([]int, len(ix.radix))
	}
	ix.decode(d, id)
	u := 0.0
	for i, v := range d {
		u += ix.terms[i][v]
	}
	return u
}

// The sums of two partial utilities can differ from the function's own
// utility, which adds the terms one by one, by rounding. The searches
// below therefore look at every pair whose sum lies within eps of the
// bounds, and decide by the exact utility. eps bounds the rounding error
// of either way of adding k terms.

// aboveHalves returns an outcome with the smallest utility at least x,
// by two pointers: a up, b down. It is
// O(|a| + |b|) plus the pairs within eps of the answer.
func (ix *Index) aboveHalves(x float64) (uint64, float64, bool) {
	a, b, eps := ix.a.du, ix.b.du, ix.eps
	var bestID uint64
	bestU, bestS := math.Inf(1), math.Inf(1)
	j := len(b) - 1
	for i := range a {
		if a[i]+b[0] > bestS+2*eps {
			break // later pairs only grow
		}
		if !(a[i]+b[j] >= x-3*eps) {
			continue
		}
		for j > 0 && a[i]+b[j-1] >= x-3*eps {
			j--
		}
		for k := j; k < len(b); k++ {
			s := a[i] + b[k]
			if s > bestS+2*eps {
				break
			}
			id := uint64(ix.a.dids[i])*ix.nb + uint64(ix.b.dids[k])
			if u := ix.exact(id); u >= x-2*eps && (u < bestU || u == bestU && id < bestID) {
				bestID, bestU, bestS = id, u, min(bestS, s)
			}
		}
	}
	return bestID, bestU, !math.IsInf(bestS, 1)
}

// belowHalves returns an outcome with the largest utility below x: a
// down, b up.
func (ix *Index) belowHalves(x float64) (uint64, float64, bool) {
	a, b, eps := ix.a.du, ix.b.du, ix.eps
	var bestID uint64
	bestU, bestS := math.Inf(-1), math.Inf(-1)
	j := 0
	for i := len(a) - 1; i >= 0; i-- {
		if a[i]+b[len(b)-1] < bestS-2*eps {
			break
		}
		if !(a[i]+b[j] < x+eps) {
			continue
		}
		for j < len(b)-1 && a[i]+b[j+1] < x+eps {
			j++
		}
		for k := j; k >= 0; k-- {
			s := a[i] + b[k]
			if s < bestS-2*eps {
				break
			}
			id := uint64(ix.a.dids[i])*ix.nb + uint64(ix.b.dids[k])
			if u := ix.exact(id); u < x && (u > bestU || u == bestU && id < bestID) {
				bestID, bestU, bestS = id, u, max(bestS, s)
			}
		}
	}
	return bestID, bestU, !math.IsInf(bestS, -1)
}

// Func returns the indexed utility function.
func (ix *Index) Func() utility.Func { return ix.f }

// Len returns the number of outcomes of the space.
func (ix *Index) Len() uint64 { return ix.size }

// Max returns the best outcome and its utility. Of several best outcomes
// it returns the one Above(utility) returns. The outcome belongs to the
// index: do not modify it.
func (ix *Index) Max() (outcome.Outcome, float64) { return ix.max, ix.maxU }

// Min returns a worst outcome and its utility. The outcome belongs to the
// index: do not modify it.
func (ix *Index) Min() (outcome.Outcome, float64) { return ix.min, ix.minU }

// Above returns the outcome with the smallest utility at least x, and that
// utility; if no outcome reaches x, it returns the best outcome. Of
// outcomes with equal utility it returns the one with the smallest index
// in the space on the sorted paths (whole or by classes), and one of them
// on the meet-in-the-middle path. The outcome is newly allocated.
func (ix *Index) Above(x float64) (outcome.Outcome, float64) {
	id, u := ix.above(x)
	return ix.Outcome(id), u
}

// above is Above without the allocation: it returns the outcome's id.
func (ix *Index) above(x float64) (uint64, float64) {
	if ix.keys != nil {
		r := ix.rank(x)
		if r == len(ix.keys) {
			return ix.maxID, ix.maxU
		}
		return uint64(ix.ids[r]), unkey(ix.keys[r])
	}
	if x <= ix.minU {
		return ix.minID, ix.minU
	}
	if id, u, ok := ix.aboveHalves(x); ok {
		return id, u
	}
	return ix.maxID, ix.maxU
}

// below returns the outcome with the largest utility below x, false if
// there is none.
func (ix *Index) below(x float64) (uint64, float64, bool) {
	if ix.keys != nil {
		r := ix.rank(x)
		if r == 0 {
			return 0, 0, false
		}
		return uint64(ix.ids[r-1]), unkey(ix.keys[r-1]), true
	}
	return ix.belowHalves(x)
}

// Band yields the outcomes whose utility lies in [lo, hi] with their
// utilities: in ascending utility on the sorted path, and in no
// particular order on the meet-in-the-middle path. An index sorted by
// classes yields only the representative of each combination of classes,
// the outcome of the first value of each class. The yielded outcome is reused:
// Clone it to keep it. A band can hold most of the space, so callers
// should stop early.
func (ix *Index) Band(lo, hi float64) iter.Seq2[outcome.Outcome, float64] {
	return func(yield func(outcome.Outcome, float64) bool) {
		o := make(outcome.Outcome, len(ix.radix))
		for id, u := range ix.band(lo, hi) {
			ix.decode(o, id)
			if !yield(o, u) {
				return
			}
		}
	}
}

// band is Band with ids.
func (ix *Index) band(lo, hi float64) iter.Seq2[uint64, float64] {
	return func(yield func(uint64, float64) bool) {
		if ix.keys != nil {
			kh := key(hi)
			for r := ix.rank(lo); r < len(ix.keys) && ix.keys[r] <= kh; r++ {
				if !yield(uint64(ix.ids[r]), unkey(ix.keys[r])) {
					return
				}
			}
			return
		}
		a, b, eps := ix.a.u, ix.b.u, ix.eps
		j := len(b) // the first j with a[i]+b[j] >= lo-eps, moving down
		for i := range a {
			for j > 0 && a[i]+b[j-1] >= lo-eps {
				j--
			}
			for k := j; k < len(b) && a[i]+b[k] <= hi+eps; k++ {
				id := uint64(ix.a.ids[i])*ix.nb + uint64(ix.b.ids[k])
				if u := ix.exact(id); u >= lo && u <= hi && !yield(id, u) {
					return
				}
			}
		}
	}
}

// Outcome returns the outcome with mixed-radix index id, newly allocated.
func (ix *Index) Outcome(id uint64) outcome.Outcome {
	o := make(outcome.Outcome, len(ix.radix))
	ix.decode(o, id)
	return o
}

// decode writes the outcome with mixed-radix index id into o: on the
// class path, the representative of the combination of classes id.
func (ix *Index) decode(o outcome.Outcome, id uint64) {
	if id <= math.MaxUint32 {
		x := uint32(id)
		for i := len(o) - 1; i >= 0; i-- {
			l := uint32(ix.radix[i])
			o[i] = int(x % l)
			x /= l
		}
		if ix.class != nil {
			for i, c := range o {
				o[i] = ix.class[i][c]
			}
		}
		return
	}
	for i := len(o) - 1; i >= 0; i-- {
		l := uint64(ix.radix[i])
		o[i] = int(id % l)
		id /= l
	}
}

// encode returns the mixed-radix index of o: on the class path, that of
// the combination of classes o falls in.
func (ix *Index) encode(o outcome.Outcome) uint64 {
	var id uint64
	for i, v := range o {
		if ix.class != nil {
			v = ix.classOf[i][v]
		}
		id = id*uint64(ix.radix[i]) + uint64(v)
	}
	return id
}

// sorted reports whether the index is sorted whole, so that ranks exist.
func (ix *Index) sorted() bool { return ix.keys != nil }
