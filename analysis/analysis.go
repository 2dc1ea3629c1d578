// Package analysis computes, exactly, the shape of a negotiation's deal
// space for any number of parties: the Pareto frontier of the rational
// outcomes, the bargaining solutions on it (Nash, Kalai-Smorodinsky,
// egalitarian, maximum welfare), the distance of an agreement from the
// frontier, and the outcomes that would leave every party at least as well
// off as a given one.
//
// # Definitions
//
// The disagreement point is the vector of reserved values rv. An outcome is
// rational when every party i gets u_i ≥ rv_i. There is a zone of possible
// agreement (ZOPA) when some outcome is rational for all.
//
// Utilities are compared with an absolute tolerance tol = 1e-9·s, where s
// is the largest absolute utility any party attains in the outcome space.
// Two utility vectors a and b are equal when max_i |a_i − b_i| ≤ tol; a
// dominates b when a_i ≥ b_i − tol for every i and they are not equal. The
// tolerance absorbs the rounding of summing the same terms in different
// orders, so that mathematically equal utilities are never told apart.
// Rationality is tested with the same tolerance: u_i ≥ rv_i − tol.
//
// The Pareto frontier is the set of rational outcomes that no rational
// outcome dominates. Outcomes with equal utility vectors are one point,
// reported once with one representative outcome. Points closer together
// than the tolerance are resolved greedily in the order the algorithms scan
// them; this can only matter for points within a few tol of each other.
//
// # The frontier of additive utility functions
//
// When every function is additive (utility.Additive), the utility vector of
// an outcome is the sum over issues of one vector per issue value. If
// x = Σ_j x_j and some issue's part x_j is dominated by another value's part
// y_j, replacing x_j by y_j gives an outcome that dominates x. So every
// Pareto-optimal outcome is Pareto-optimal issue by issue, and the Pareto
// set of a sum is contained in the sum of the Pareto sets:
//
//	P(A ⊕ B) ⊆ P(P(A) ⊕ P(B)) = P(A ⊕ B)
//
// where ⊕ is the Minkowski sum. This is the classical decomposition behind
// dynamic programming for multi-objective knapsack and other separable
// multi-objective problems (Klamroth and Wiecek, "Dynamic programming
// approaches to the multiple criteria knapsack problem", Naval Research
// Logistics 47(1), 2000; Bazgan, Hugot and Vanderpooten, "Solving efficiently
// the 0-1 multi-objective knapsack problem", Computers & Operations Research
// 36(1), 2009). The frontier is built by taking each issue's non-dominated
// value vectors and repeatedly merging the two smallest sets (as in Huffman
// coding) into the non-dominated part of their Minkowski sum. Each merged
// point records the indexes of its two parents, so that a representative
// outcome can be read back down the merge tree at the end.
//
// A partial sum that cannot reach some party's reserved value even with
// that party's best value on every issue not yet merged is dropped after
// each merge; the bound is exact, so the result is unchanged. The reserved
// values are applied exactly at the end.
//
// For two parties a non-dominated set is a staircase: sorted by the first
// utility descending, the second one ascends. The Minkowski sum of two
// staircases A and B is swept in order of the first utility with a heap of
// |A| cursors, one per point of A walking along B. A cursor whose next sum
// is dominated by the best point found so far jumps, by binary search, past
// every sum that would be dominated too. A merge costs O((|A| + J) log |A|
// + J log |B|) where J ≤ |A|·|B| is the number of jumps, and in practice is
// close to linear in |A| + |B| + the size of the result.
//
// For n ≥ 3 parties each translate a_i + B is non-dominated already, so
// the |A| translates are merged pairwise in a balanced tree. Merging two
// non-dominated sets X and Y keeps the points of each that the other does
// not dominate; to find them, each set is sorted once per coordinate, and
// a point p is only compared with the shortest of the n prefixes of points
// that are at least p_d − tol on coordinate d. This is a divide-and-conquer
// skyline (Kung, Luccio and Preparata, "On finding the maxima of a set of
// vectors", JACM 22(4), 1975) with a per-coordinate index in place of their
// recursive merge. A merge of the translates costs O(|A||B|·log|A|·n·(log
// |B| + p)), where p, the length of the prefixes scanned, is at most the
// size of the sets merged and in practice much smaller. Small sets are
// filtered by sort-filter skyline instead (Chomicki, Godfrey, Gryz and
// Liang, "Skyline with presorting", ICDE 2003).
//
// With d issues and at most F points in any intermediate frontier, the
// construction makes d − 1 merges of at most F² sums each, and uses memory
// O(d·F) (O(F²) during a merge for n ≥ 3). It never depends on the number
// of outcomes: a bilateral space of 10^12 outcomes takes microseconds, and
// the frontier itself is the only thing that can be large.
//
// # Other utility functions
//
// When any function is not additive (utility.Table, utility.HyperRectangle,
// or a Func of the caller's) the space is enumerated, exactly and in
// parallel: the outcome indexes are cut into chunks dealt round-robin to
// Options.Workers goroutines, each keeping the non-dominated points of
// what it has seen in a buffer that is merged into its frontier when it
// outgrows it. The work is O(N·n·c) for N outcomes and functions that
// cost c, plus the skyline work, and memory is O(workers·h) for frontiers
// of h points. Nothing is ever sampled.
//
// Values of an issue that no function can tell apart are enumerated once:
// a hyper-rectangle function only distinguishes values at the bounds of
// its ranges, and an additive one where its terms differ, so each issue is
// cut into runs of values at those bounds and only the first value of
// each run is tried. Outcomes that differ only within runs have the same
// utilities, so this is exact. It turns the 10^10 outcomes of ANAC 2014's
// hyper-rectangle domain into 2.5·10^7 combinations of runs. Spaces with
// more than MaxEnumeration combinations are refused with ErrTooLarge.
//
// Equal points are represented by the outcome with the largest utilities
// (for two parties) or, among exactly equal vectors, the smallest index.
// The choice is deterministic for a given number of workers; for three or
// more parties, among points that differ by less than the tolerance without
// being exactly equal, it may depend on that number.
//
// # Bargaining solutions
//
// Each solution maximises an objective that no Pareto improvement can
// lower: the Nash product Π(u_i − rv_i), the Kalai-Smorodinsky ratio
// min_i (u_i − rv_i)/(ideal_i − rv_i), the egalitarian gain min_i (u_i −
// rv_i) and the welfare Σ u_i. If a rational outcome x maximises one of them
// and is dominated, it is dominated by a point of the frontier (the space is
// finite and dominance is a strict order), which is rational and scores at
// least as well. So the maximum over the frontier is the maximum over all
// rational outcomes, and computing the solutions from the frontier is
// exact. See Nash for the tie-breaking rule.
//
// NegMAS (negmas.preferences.ops.nash_points) uses a different disagreement
// point: for each party the larger of its reserved value and its lowest
// utility over the whole outcome space, and that lowest utility when the
// reserved value is unset (None). Without utility functions it takes 0. It
// searches whatever frontier it is given, which NegMAS computes over all
// outcomes, not only the rational ones, and returns every point within 1e-12
// of the best product (the whole frontier if some party's utility range is
// within 1e-12). This package always uses the reserved values, only rational
// outcomes, and returns a single point.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"runtime"
	"slices"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Errors returned by this package. Wrapped errors carry the details.
var (
	ErrNoParties     = errors.New("analysis: no parties")
	ErrNilFunc       = errors.New("analysis: nil utility function")
	ErrReserved      = errors.New("analysis: need one finite reserved value per party")
	ErrSpaceMismatch = errors.New("analysis: utility functions are defined on different outcome spaces")
	ErrTerms         = errors.New("analysis: additive terms do not match the outcome space")
	ErrTooLarge      = errors.New("analysis: outcome space too large to enumerate")
	ErrOutcome       = errors.New("analysis: invalid outcome")
)

// MaxEnumeration is the largest number of outcomes (or classes of
// equivalent outcomes) that is enumerated when some utility function is
// not additive.
const MaxEnumeration = 1 << 32

// Point is an outcome and its utility for each party, in party order.
type Point struct {
	Outcome   outcome.Outcome
	Utilities []float64
}

// Result describes the deal space of one negotiation.
type Result struct {
	// Outcomes is the number of outcomes in the space.
	Outcomes *big.Int
	// Reserved holds the parties' reserved values: the disagreement point.
	Reserved []float64
	// Ideal holds each party's best utility among the outcomes that are
	// rational for all. It is nil without a ZOPA.
	Ideal []float64
	// Frontier is the Pareto frontier of the rational outcomes, sorted by
	// the first party's utility descending, then the second's, and so on.
	Frontier []Point
	// The bargaining solutions, all on the frontier. They are nil without
	// a ZOPA.
	Nash, KalaiSmorodinsky, Egalitarian, MaxWelfare *Point
	// ZOPA reports whether some outcome is rational for every party.
	ZOPA bool
}

// Options tunes the computation. The zero value is ready to use.
type Options struct {
	// Workers is the number of goroutines that enumerate a space when some
	// utility function is not additive. 0 means GOMAXPROCS.
	Workers int
	// Progress, if not nil, is called during enumeration with the number
	// of outcomes (or classes of equivalent outcomes) done so far and the
	// total. Calls never overlap and done never decreases. It is not
	// called for additive functions, which are not enumerated.
	Progress func(done, total uint64)
}

func (opt Options) workers() int {
	if opt.Workers > 0 {
		return opt.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Analyze computes the frontier and the bargaining solutions of the
// negotiation between parties with utility functions funcs and reserved
// values reserved. See Frontier for the errors it returns.
func Analyze(ctx context.Context, funcs []utility.Func, reserved []float64, opt Options) (*Result, error) {
	sp, err := check(funcs, reserved)
	if err != nil {
		return nil, err
	}
	front, tol, err := frontier(ctx, funcs, reserved, opt)
	if err != nil {
		return nil, err
	}
	r := &Result{
		Outcomes: sp.Cardinality(),
		Reserved: slices.Clone(reserved),
		Frontier: front,
		ZOPA:     len(front) > 0,
	}
	if !r.ZOPA {
		return r, nil
	}
	r.Ideal = ideal(front, len(funcs))
	r.Nash = nash(front, reserved, tol)
	r.KalaiSmorodinsky = kalaiSmorodinsky(front, reserved, tol)
	r.Egalitarian = egalitarian(front, reserved, tol)
	r.MaxWelfare = maxWelfare(front, reserved, tol)
	return r, nil
}

// Frontier returns the Pareto frontier of the outcomes that are rational
// for every party, sorted by the first party's utility descending, then
// the second's, and so on. It is empty when there is no ZOPA.
//
// It returns ErrNoParties, ErrNilFunc, ErrReserved (len(reserved) !=
// len(funcs) or a reserved value that is NaN or infinite),
// ErrSpaceMismatch, ErrTerms, ErrTooLarge for a non-additive space of more
// than MaxEnumeration outcomes, or the context's error if ctx is done first.
func Frontier(ctx context.Context, funcs []utility.Func, reserved []float64, opt Options) ([]Point, error) {
	front, _, err := frontier(ctx, funcs, reserved, opt)
	return front, err
}

// frontier returns the frontier and the tolerance it was computed with.
func frontier(ctx context.Context, funcs []utility.Func, reserved []float64, opt Options) ([]Point, float64, error) {
	sp, err := check(funcs, reserved)
	if err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if size, ok := sp.Size(); ok && size == 0 {
		return []Point{}, 0, nil
	}
	var (
		front []Point
		tol   float64
	)
	if terms, ok, err := additiveTerms(funcs, sp); err != nil {
		return nil, 0, err
	} else if ok && len(sp.Issues) > 0 {
		front, tol, err = additiveFrontier(ctx, terms, reserved)
		if err != nil {
			return nil, 0, err
		}
		// Report the utilities the functions themselves compute, which may
		// differ from the merged sums in the last bit.
		for k := range front {
			for i, f := range funcs {
				front[k].Utilities[i] = f.Utility(front[k].Outcome)
			}
		}
	} else {
		front, tol, err = enumerateFrontier(ctx, funcs, sp, reserved, opt)
		if err != nil {
			return nil, 0, err
		}
	}
	sortPoints(front)
	return front, tol, nil
}

// check validates the parties and returns their common outcome space.
func check(funcs []utility.Func, reserved []float64) (*outcome.Space, error) {
	if len(funcs) == 0 {
		return nil, ErrNoParties
	}
	if len(reserved) != len(funcs) {
		return nil, fmt.Errorf("%w: %d parties, %d reserved values", ErrReserved, len(funcs), len(reserved))
	}
	for i, r := range reserved {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("%w: party %d has reserved value %g", ErrReserved, i+1, r)
		}
	}
	return space(funcs)
}

func space(funcs []utility.Func) (*outcome.Space, error) {
	if len(funcs) == 0 {
		return nil, ErrNoParties
	}
	var sp *outcome.Space
	for i, f := range funcs {
		if f == nil || f.Space() == nil {
			return nil, fmt.Errorf("%w: party %d", ErrNilFunc, i+1)
		}
		if sp == nil {
			sp = f.Space()
			continue
		}
		if !sameSpace(sp, f.Space()) {
			return nil, fmt.Errorf("%w: party 1 has %q, party %d has %q", ErrSpaceMismatch, sp.Name, i+1, f.Space().Name)
		}
	}
	return sp, nil
}

// sameSpace reports whether a and b have the same issues and values, so
// that an outcome of one is the same outcome of the other.
func sameSpace(a, b *outcome.Space) bool {
	if a == b {
		return true
	}
	if len(a.Issues) != len(b.Issues) {
		return false
	}
	for k := range a.Issues {
		x, y := a.Issues[k], b.Issues[k]
		if x.Name != y.Name || x.Kind != y.Kind || x.Len() != y.Len() {
			return false
		}
		for v := range x.Len() {
			if x.Value(v) != y.Value(v) {
				return false
			}
		}
	}
	return true
}

// additiveTerms returns terms[i][j][v], party i's contribution of value v
// of issue j, if every function is additive.
func additiveTerms(funcs []utility.Func, sp *outcome.Space) ([][][]float64, bool, error) {
	terms := make([][][]float64, len(funcs))
	for i, f := range funcs {
		a, ok := f.(utility.Additive)
		if !ok {
			return nil, false, nil
		}
		t := a.Terms()
		if len(t) != len(sp.Issues) {
			return nil, false, fmt.Errorf("%w: party %d has %d terms for %d issues", ErrTerms, i+1, len(t), len(sp.Issues))
		}
		for j, is := range sp.Issues {
			if len(t[j]) != is.Len() {
				return nil, false, fmt.Errorf("%w: party %d has %d terms for the %d values of issue %q", ErrTerms, i+1, len(t[j]), is.Len(), is.Name)
			}
		}
		terms[i] = t
	}
	return terms, true, nil
}

// tolerance returns the comparison tolerance for utilities whose largest
// absolute value is scale.
func tolerance(scale float64) float64 {
	if math.IsNaN(scale) || math.IsInf(scale, 0) {
		return 0
	}
	return 1e-9 * scale
}

// rational reports whether u gives every party at least its reserved value.
func rational(u, reserved []float64, tol float64) bool {
	for i, r := range reserved {
		if u[i] < r-tol {
			return false
		}
	}
	return true
}

// sortPoints sorts by the first utility descending, then the next.
func sortPoints(ps []Point) {
	slices.SortFunc(ps, func(a, b Point) int {
		for i := range a.Utilities {
			if c := cmpDesc(a.Utilities[i], b.Utilities[i]); c != 0 {
				return c
			}
		}
		return slices.Compare(a.Outcome, b.Outcome)
	})
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// ideal returns each party's best utility on the frontier.
func ideal(front []Point, n int) []float64 {
	best := make([]float64, n)
	for i := range best {
		best[i] = math.Inf(-1)
	}
	for _, p := range front {
		for i := range best {
			best[i] = math.Max(best[i], p.Utilities[i])
		}
	}
	return best
}
