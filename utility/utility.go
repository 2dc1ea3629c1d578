// Package utility holds utility functions over an outcome space: how much a
// party values each outcome, on a scale where 0 is worst and 1 is best.
//
// The semantics are those of GENIUS, the standard the ANAC domain files were
// written for:
//
//   - A linear additive function is a weighted sum of one evaluation per issue.
//   - A discrete issue contributes weight · eval(v) / max over values of eval.
//   - An integer issue with a linear evaluator contributes
//     weight · clamp(offset + slope·(x − lower), 0, 1).
//   - GeniusWeb's discrete utilities are used as they are, without that
//     normalisation (Scores), and GENIUS's triangular evaluator of a real
//     issue is Triangular.
//   - Discounting multiplies a utility by d^t, with t ∈ [0, 1] the elapsed
//     fraction of the deadline, and it applies to the reserved value too.
//
// NegMAS reads the same files without the per-issue normalisation of
// discrete evaluations, so its utilities differ from these whenever the best
// value of an issue does not evaluate to 1. Utilities are not clamped to
// [0, 1]: a profile whose weights add up to a little over 1 (Laptop) can
// score a little over 1, as the reference values in the domain README do.
package utility

import (
	"errors"
	"fmt"
	"math"

	"github.com/backchannel/backchannel/outcome"
)

// Errors returned by this package.
var (
	ErrInvalid  = errors.New("utility: invalid utility function")
	ErrMismatch = errors.New("utility: evaluator does not fit its issue")
)

// Func is a utility function over an outcome space. Implementations are
// safe for concurrent use once built.
type Func interface {
	// Space returns the outcome space the function is defined on.
	Space() *outcome.Space
	// Utility returns the utility of o, which must be an outcome of Space.
	Utility(o outcome.Outcome) float64
}

// Additive is a Func that is a sum of one term per issue. The analysis
// uses the terms to build the Pareto frontier issue by issue.
type Additive interface {
	Func
	// Terms returns, for each issue, the contribution of each of its values
	// (weight included). Utility(o) is the sum of Terms()[i][o[i]]. The
	// caller must not modify the result.
	Terms() [][]float64
}

// Profile is one party's preferences: a utility function, the reserved
// value it gets if there is no agreement, and a discount factor.
type Profile struct {
	Name     string
	Func     Func
	Reserved float64
	// Discount is the discount factor d in (0, 1]. 1 means no discounting.
	Discount float64
}

// Space returns the profile's outcome space.
func (p *Profile) Space() *outcome.Space { return p.Func.Space() }

// Utility returns the undiscounted utility of o.
func (p *Profile) Utility(o outcome.Outcome) float64 { return p.Func.Utility(o) }

// UtilityAt returns the utility of o discounted at relative time t ∈ [0, 1].
func (p *Profile) UtilityAt(o outcome.Outcome, t float64) float64 {
	return Discount(p.Func.Utility(o), p.Discount, t)
}

// ReservedAt returns the reserved value discounted at relative time t.
func (p *Profile) ReservedAt(t float64) float64 { return Discount(p.Reserved, p.Discount, t) }

// Discount returns u·d^t, the GENIUS discounted utility. A factor outside
// (0, 1) means no discounting, and t is clamped to [0, 1] (NaN counts as 0).
func Discount(u, d, t float64) float64 {
	if !(d > 0 && d < 1) {
		return u
	}
	if math.IsNaN(t) {
		t = 0
	}
	t = math.Min(math.Max(t, 0), 1)
	return u * math.Pow(d, t)
}

// Evaluator maps the values of one issue to evaluations, before weighting.
type Evaluator interface {
	// Evaluate returns the evaluation of each value of is, in index order.
	// It returns an error wrapping ErrMismatch if the evaluator cannot
	// evaluate an issue of that kind or size.
	Evaluate(is outcome.Issue) ([]float64, error)
}

// Discrete evaluates a discrete issue by table, normalised by its largest
// entry as GENIUS does: value i evaluates to Evals[i] / max(Evals).
type Discrete struct {
	Evals []float64
}

// Evaluate implements Evaluator.
func (d Discrete) Evaluate(is outcome.Issue) ([]float64, error) {
	if len(d.Evals) != is.Len() {
		return nil, fmt.Errorf("%w: issue %q has %d values, evaluator has %d", ErrMismatch, is.Name, is.Len(), len(d.Evals))
	}
	maxEval := 0.0
	for i, e := range d.Evals {
		if e < 0 || math.IsNaN(e) || math.IsInf(e, 0) {
			return nil, fmt.Errorf("%w: issue %q value %q has evaluation %g", ErrInvalid, is.Name, is.Value(i), e)
		}
		maxEval = math.Max(maxEval, e)
	}
	out := make([]float64, len(d.Evals))
	if maxEval == 0 {
		return out, nil
	}
	for i, e := range d.Evals {
		out[i] = e / maxEval
	}
	return out, nil
}

// Linear evaluates an integer or real issue as
// clamp(Offset + Slope·(x − lower bound), 0, 1), the GENIUS linear form.
type Linear struct {
	Slope, Offset float64
}

// Evaluate implements Evaluator.
func (l Linear) Evaluate(is outcome.Issue) ([]float64, error) {
	if is.Kind == outcome.Discrete {
		return nil, fmt.Errorf("%w: linear evaluator on discrete issue %q", ErrMismatch, is.Name)
	}
	if !finite(l.Slope) || !finite(l.Offset) {
		return nil, fmt.Errorf("%w: issue %q has linear evaluator %g + %g·x", ErrInvalid, is.Name, l.Offset, l.Slope)
	}
	lower := is.Float(0)
	out := make([]float64, is.Len())
	for i := range out {
		out[i] = clamp01(l.Offset + l.Slope*(is.Float(i)-lower))
	}
	return out, nil
}

// Ramp evaluates an integer or real issue by linear interpolation between
// two points, (LowValue, LowUtility) and (HighValue, HighUtility), as the
// GeniusWeb NumberValueSetUtilities does; values outside the ramp evaluate
// to 0. The GENIUS "increasing" form is the ramp from (lower, 0) to
// (upper, 1), and "decreasing" is (lower, 1) to (upper, 0).
type Ramp struct {
	LowValue, LowUtility   float64
	HighValue, HighUtility float64
}

// Increasing returns the ramp from 0 at the lower bound of is to 1 at its upper bound.
func Increasing(is outcome.Issue) Ramp {
	return Ramp{LowValue: is.Float(0), HighValue: is.Float(is.Len() - 1), HighUtility: 1}
}

// Decreasing returns the ramp from 1 at the lower bound of is to 0 at its upper bound.
func Decreasing(is outcome.Issue) Ramp {
	return Ramp{LowValue: is.Float(0), LowUtility: 1, HighValue: is.Float(is.Len() - 1)}
}

// Evaluate implements Evaluator.
func (r Ramp) Evaluate(is outcome.Issue) ([]float64, error) {
	if is.Kind == outcome.Discrete {
		return nil, fmt.Errorf("%w: ramp evaluator on discrete issue %q", ErrMismatch, is.Name)
	}
	if !finite(r.LowValue) || !finite(r.HighValue) || !finite(r.LowUtility) || !finite(r.HighUtility) || r.HighValue < r.LowValue {
		return nil, fmt.Errorf("%w: issue %q has ramp %g..%g", ErrInvalid, is.Name, r.LowValue, r.HighValue)
	}
	out := make([]float64, is.Len())
	for i := range out {
		x := is.Float(i)
		switch {
		case x < r.LowValue || x > r.HighValue:
			out[i] = 0
		case r.HighValue == r.LowValue:
			out[i] = r.LowUtility
		default:
			f := (x - r.LowValue) / (r.HighValue - r.LowValue)
			out[i] = r.LowUtility + f*(r.HighUtility-r.LowUtility)
		}
	}
	return out, nil
}

// LinearAdditive is a weighted sum of one evaluation per issue. Build it
// with NewLinearAdditive and do not modify its fields afterwards.
type LinearAdditive struct {
	space      *outcome.Space
	Weights    []float64
	Evaluators []Evaluator
	terms      [][]float64
}

var _ Additive = (*LinearAdditive)(nil)

// NewLinearAdditive checks the weights and evaluators against the space
// and precomputes each value's weighted contribution.
func NewLinearAdditive(space *outcome.Space, weights []float64, evaluators []Evaluator) (*LinearAdditive, error) {
	n := len(space.Issues)
	if len(weights) != n || len(evaluators) != n {
		return nil, fmt.Errorf("%w: %d issues, %d weights, %d evaluators", ErrInvalid, n, len(weights), len(evaluators))
	}
	terms := make([][]float64, n)
	for i, is := range space.Issues {
		w := weights[i]
		if w < 0 || !finite(w) {
			return nil, fmt.Errorf("%w: issue %q has weight %g", ErrInvalid, is.Name, w)
		}
		if evaluators[i] == nil {
			return nil, fmt.Errorf("%w: issue %q has no evaluator", ErrInvalid, is.Name)
		}
		evals, err := evaluators[i].Evaluate(is)
		if err != nil {
			return nil, err
		}
		terms[i] = make([]float64, len(evals))
		for v, e := range evals {
			terms[i][v] = w * e
		}
	}
	return &LinearAdditive{space: space, Weights: weights, Evaluators: evaluators, terms: terms}, nil
}

// Space implements Func.
func (f *LinearAdditive) Space() *outcome.Space { return f.space }

// Utility implements Func. It costs one table lookup per issue.
func (f *LinearAdditive) Utility(o outcome.Outcome) float64 {
	u := 0.0
	for i, v := range o {
		u += f.terms[i][v]
	}
	return u
}

// Terms implements Additive.
func (f *LinearAdditive) Terms() [][]float64 { return f.terms }

// Table is a general utility function: one utility per outcome, stored in
// the space's index order. It suits small spaces whose preferences have no
// structure.
type Table struct {
	space  *outcome.Space
	Values []float64
}

// NewTable returns a table utility. values[k] is the utility of the
// outcome with index k, so len(values) must equal the size of the space.
func NewTable(space *outcome.Space, values []float64) (*Table, error) {
	n, ok := space.Size()
	if !ok || uint64(len(values)) != n {
		return nil, fmt.Errorf("%w: table has %d utilities for %s outcomes", ErrInvalid, len(values), space.Cardinality())
	}
	for k, v := range values {
		if !finite(v) {
			return nil, fmt.Errorf("%w: outcome %d has utility %g", ErrInvalid, k, v)
		}
	}
	return &Table{space: space, Values: values}, nil
}

// Space implements Func.
func (t *Table) Space() *outcome.Space { return t.space }

// Utility implements Func.
func (t *Table) Utility(o outcome.Outcome) float64 {
	var k uint64
	for i, v := range o {
		k = k*uint64(t.space.Issues[i].Len()) + uint64(v)
	}
	return t.Values[k]
}

// Range is an inclusive range of value indexes of one issue.
type Range struct {
	Issue    int // position of the issue in the space
	Min, Max int // value indexes, inclusive
}

// Rectangle is a hyper-rectangle constraint: an outcome inside every range
// earns Utility. An outcome satisfies an empty rectangle.
type Rectangle struct {
	Utility float64
	Ranges  []Range
}

// Contains reports whether o lies inside r.
func (r *Rectangle) Contains(o outcome.Outcome) bool {
	for _, g := range r.Ranges {
		if v := o[g.Issue]; v < g.Min || v > g.Max {
			return false
		}
	}
	return true
}

// HyperRectangle is the non-linear utility of ANAC 2014: the sum of the
// utilities of the rectangles that contain an outcome, divided by Max.
type HyperRectangle struct {
	space      *outcome.Space
	Rectangles []Rectangle
	Max        float64
}

// NewHyperRectangle checks the rectangles against the space. max is the
// normaliser (GENIUS's maxutility); it must be positive.
func NewHyperRectangle(space *outcome.Space, max float64, rects []Rectangle) (*HyperRectangle, error) {
	if !(max > 0) || !finite(max) {
		return nil, fmt.Errorf("%w: hyper-rectangle maximum utility %g", ErrInvalid, max)
	}
	for k, r := range rects {
		if !finite(r.Utility) {
			return nil, fmt.Errorf("%w: rectangle %d has utility %g", ErrInvalid, k+1, r.Utility)
		}
		for _, g := range r.Ranges {
			if g.Issue < 0 || g.Issue >= len(space.Issues) {
				return nil, fmt.Errorf("%w: rectangle %d names issue %d of %d", ErrInvalid, k+1, g.Issue+1, len(space.Issues))
			}
			if g.Min < 0 || g.Max >= space.Issues[g.Issue].Len() || g.Min > g.Max {
				return nil, fmt.Errorf("%w: rectangle %d has range %d..%d on issue %q", ErrInvalid, k+1, g.Min, g.Max, space.Issues[g.Issue].Name)
			}
		}
	}
	return &HyperRectangle{space: space, Rectangles: rects, Max: max}, nil
}

// Space implements Func.
func (h *HyperRectangle) Space() *outcome.Space { return h.space }

// Utility implements Func. It costs one test per rectangle.
func (h *HyperRectangle) Utility(o outcome.Outcome) float64 {
	u := 0.0
	for k := range h.Rectangles {
		if h.Rectangles[k].Contains(o) {
			u += h.Rectangles[k].Utility
		}
	}
	return u / h.Max
}

// Classes returns, for each issue, the first values of its classes in
// ascending order. A class is a run of consecutive values that no range of
// a rectangle tells apart: the runs are cut at each range's Min and just
// after its Max. Every value of a class lies inside or outside each range
// alike, so two outcomes whose values fall in the same classes, issue by
// issue, have the same utility. The first class of an issue starts at 0.
func (h *HyperRectangle) Classes() [][]int {
	classes := make([][]int, len(h.space.Issues))
	for i, is := range h.space.Issues {
		cut := make([]bool, is.Len()+1)
		cut[0] = true
		for _, r := range h.Rectangles {
			for _, g := range r.Ranges {
				if g.Issue == i {
					cut[g.Min], cut[g.Max+1] = true, true
				}
			}
		}
		for v, c := range cut[:is.Len()] {
			if c {
				classes[i] = append(classes[i], v)
			}
		}
	}
	return classes
}

// Bounds returns the smallest and largest utility f gives. It is exact: for
// an Additive function it sums per-issue extremes, otherwise it enumerates
// the space, which must then have fewer than 2^64 outcomes.
func Bounds(f Func) (lo, hi float64) {
	if a, ok := f.(Additive); ok {
		for _, term := range a.Terms() {
			tlo, thi := math.Inf(1), math.Inf(-1)
			for _, x := range term {
				tlo, thi = math.Min(tlo, x), math.Max(thi, x)
			}
			lo, hi = lo+tlo, hi+thi
		}
		return lo, hi
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for o := range f.Space().All() {
		u := f.Utility(o)
		lo, hi = math.Min(lo, u), math.Max(hi, u)
	}
	return lo, hi
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func clamp01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }
