// Package outcome describes what a negotiation is about: its issues, the
// values each issue can take, and the outcome space they span.
//
// An outcome assigns one value to every issue. Internally an outcome is a
// vector of value indexes, one per issue, so that utility functions and the
// analysis can work with table lookups. Values have names: a discrete issue
// names its values, an integer issue names them in decimal, and a real issue
// names the points of its discretisation grid.
//
// A Space maps every outcome to a unique index in mixed radix (the first issue
// is the most significant digit), enumerates outcomes in that order, and
// computes its cardinality without overflow.
package outcome

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Errors returned by this package. Wrapped errors carry the details.
var (
	ErrUnknownValue = errors.New("outcome: unknown value")
	ErrUnknownIssue = errors.New("outcome: unknown issue")
	ErrMissingIssue = errors.New("outcome: missing issue")
	ErrInvalidIssue = errors.New("outcome: invalid issue")
	ErrTooLarge     = errors.New("outcome: space too large to index")
	ErrOutOfRange   = errors.New("outcome: index out of range")
)

// Kind is the kind of an issue.
type Kind int

// The kinds of issue.
const (
	Discrete Kind = iota // named values
	Integer              // the integers Lower..Upper
	Real                 // Low..High, enumerated in steps of Step
)

// String returns the kind's name as GENIUS writes it.
func (k Kind) String() string {
	switch k {
	case Discrete:
		return "discrete"
	case Integer:
		return "integer"
	case Real:
		return "real"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Issue is one dimension of the outcome space.
type Issue struct {
	Name string
	Kind Kind

	// Values names the values of a discrete issue, in order.
	Values []string

	// Lower and Upper bound an integer issue, both inclusive.
	Lower, Upper int64

	// Low and High bound a real issue. Step is the distance between the
	// points used to enumerate it: Low, Low+Step, ..., up to High.
	Low, High, Step float64
}

// NewDiscrete returns a discrete issue with the given values.
func NewDiscrete(name string, values ...string) Issue {
	return Issue{Name: name, Kind: Discrete, Values: values}
}

// NewInteger returns an integer issue over lower..upper.
func NewInteger(name string, lower, upper int64) Issue {
	return Issue{Name: name, Kind: Integer, Lower: lower, Upper: upper}
}

// NewReal returns a real issue over low..high enumerated in steps of step.
func NewReal(name string, low, high, step float64) Issue {
	return Issue{Name: name, Kind: Real, Low: low, High: high, Step: step}
}

// Validate reports whether the issue is well formed: it has a name, at
// least one value, no duplicate discrete values, and sane bounds.
func (is Issue) Validate() error {
	if strings.TrimSpace(is.Name) == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidIssue)
	}
	switch is.Kind {
	case Discrete:
		if len(is.Values) == 0 {
			return fmt.Errorf("%w: %q has no values", ErrInvalidIssue, is.Name)
		}
		seen := make(map[string]bool, len(is.Values))
		for _, v := range is.Values {
			if seen[v] {
				return fmt.Errorf("%w: %q has value %q twice", ErrInvalidIssue, is.Name, v)
			}
			seen[v] = true
		}
	case Integer:
		if is.Upper < is.Lower {
			return fmt.Errorf("%w: %q has upper bound %d below lower bound %d", ErrInvalidIssue, is.Name, is.Upper, is.Lower)
		}
		if uint64(is.Upper-is.Lower) >= math.MaxInt32 {
			return fmt.Errorf("%w: %q has more than %d values", ErrInvalidIssue, is.Name, math.MaxInt32)
		}
	case Real:
		if math.IsNaN(is.Low) || math.IsNaN(is.High) || math.IsInf(is.Low, 0) || math.IsInf(is.High, 0) || is.High < is.Low {
			return fmt.Errorf("%w: %q has bounds %g..%g", ErrInvalidIssue, is.Name, is.Low, is.High)
		}
		if !(is.Step > 0) || math.IsInf(is.Step, 0) {
			return fmt.Errorf("%w: %q needs a positive discretisation step, has %g", ErrInvalidIssue, is.Name, is.Step)
		}
		if (is.High-is.Low)/is.Step >= math.MaxInt32 {
			return fmt.Errorf("%w: %q has more than %d grid points", ErrInvalidIssue, is.Name, math.MaxInt32)
		}
	default:
		return fmt.Errorf("%w: %q has unknown kind %d", ErrInvalidIssue, is.Name, is.Kind)
	}
	return nil
}

// Len returns the number of values of the issue: its discrete values, its
// integers, or the points of its real grid.
func (is Issue) Len() int {
	switch is.Kind {
	case Discrete:
		return len(is.Values)
	case Integer:
		if is.Upper < is.Lower {
			return 0
		}
		return int(is.Upper-is.Lower) + 1
	case Real:
		if !(is.Step > 0) || is.High < is.Low {
			return 0
		}
		// The small slack keeps High on the grid when rounding puts
		// (High-Low)/Step a hair below an integer.
		return int(math.Floor((is.High-is.Low)/is.Step+1e-9)) + 1
	}
	return 0
}

// Int returns the integer at index i of an integer issue.
func (is Issue) Int(i int) int64 { return is.Lower + int64(i) }

// Float returns the number at index i: the integer of an integer issue or
// the grid point of a real issue. It returns the index itself for a
// discrete issue.
func (is Issue) Float(i int) float64 {
	switch is.Kind {
	case Integer:
		return float64(is.Int(i))
	case Real:
		return is.Low + float64(i)*is.Step
	}
	return float64(i)
}

// Value returns the name of the value at index i.
func (is Issue) Value(i int) string {
	switch is.Kind {
	case Discrete:
		return is.Values[i]
	case Integer:
		return strconv.FormatInt(is.Int(i), 10)
	default:
		return strconv.FormatFloat(is.Float(i), 'g', -1, 64)
	}
}

// Index returns the index of the named value. An unknown value is an error
// that wraps ErrUnknownValue and names the issue and the value.
func (is Issue) Index(value string) (int, error) {
	switch is.Kind {
	case Discrete:
		for i, v := range is.Values {
			if v == value {
				return i, nil
			}
		}
	case Integer:
		x, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err == nil && x >= is.Lower && x <= is.Upper {
			return int(x - is.Lower), nil
		}
	case Real:
		x, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err == nil && !math.IsNaN(x) {
			k := math.Round((x - is.Low) / is.Step)
			if k >= 0 && int(k) < is.Len() && math.Abs(is.Float(int(k))-x) <= 1e-9*math.Max(1, math.Abs(x)) {
				return int(k), nil
			}
		}
	}
	return 0, &ValueError{Issue: is.Name, Value: value}
}

// ValueError reports a value that an issue does not have.
type ValueError struct {
	Issue string
	Value string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("outcome: issue %q has no value %q", e.Issue, e.Value)
}

// Unwrap returns ErrUnknownValue.
func (e *ValueError) Unwrap() error { return ErrUnknownValue }

// Outcome holds one value index per issue of its space.
type Outcome []int

// Clone returns a copy of o.
func (o Outcome) Clone() Outcome { return append(Outcome(nil), o...) }

// Space is an outcome space: the cartesian product of its issues.
type Space struct {
	Name   string
	Issues []Issue
}

// NewSpace returns a validated space.
func NewSpace(name string, issues ...Issue) (*Space, error) {
	s := &Space{Name: name, Issues: issues}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks every issue and that issue names are unique.
func (s *Space) Validate() error {
	if len(s.Issues) == 0 {
		return fmt.Errorf("%w: space %q has no issues", ErrInvalidIssue, s.Name)
	}
	seen := make(map[string]bool, len(s.Issues))
	for _, is := range s.Issues {
		if err := is.Validate(); err != nil {
			return err
		}
		if seen[is.Name] {
			return fmt.Errorf("%w: two issues are named %q", ErrInvalidIssue, is.Name)
		}
		seen[is.Name] = true
	}
	return nil
}

// IssueIndex returns the position of the named issue, or -1.
func (s *Space) IssueIndex(name string) int {
	for i, is := range s.Issues {
		if is.Name == name {
			return i
		}
	}
	return -1
}

// Cardinality returns the number of outcomes. It never overflows.
func (s *Space) Cardinality() *big.Int {
	n := big.NewInt(1)
	var f big.Int
	for _, is := range s.Issues {
		n.Mul(n, f.SetInt64(int64(is.Len())))
	}
	return n
}

// Size returns the number of outcomes and true if it fits in a uint64.
func (s *Space) Size() (uint64, bool) {
	n := uint64(1)
	for _, is := range s.Issues {
		l := uint64(is.Len())
		if l == 0 {
			return 0, true
		}
		if n > math.MaxUint64/l {
			return 0, false
		}
		n *= l
	}
	return n, true
}

// Check reports whether o is an outcome of s.
func (s *Space) Check(o Outcome) error {
	if len(o) != len(s.Issues) {
		return fmt.Errorf("%w: outcome has %d values, space %q has %d issues", ErrOutOfRange, len(o), s.Name, len(s.Issues))
	}
	for i, v := range o {
		if v < 0 || v >= s.Issues[i].Len() {
			return fmt.Errorf("%w: issue %q has no value index %d", ErrOutOfRange, s.Issues[i].Name, v)
		}
	}
	return nil
}

// Index returns the mixed-radix index of o. It returns ErrTooLarge if the
// space has more than 2^64 outcomes.
func (s *Space) Index(o Outcome) (uint64, error) {
	if _, ok := s.Size(); !ok {
		return 0, ErrTooLarge
	}
	if err := s.Check(o); err != nil {
		return 0, err
	}
	var idx uint64
	for i, v := range o {
		idx = idx*uint64(s.Issues[i].Len()) + uint64(v)
	}
	return idx, nil
}

// At returns the outcome with mixed-radix index idx.
func (s *Space) At(idx uint64) (Outcome, error) {
	n, ok := s.Size()
	if !ok {
		return nil, ErrTooLarge
	}
	if idx >= n {
		return nil, fmt.Errorf("%w: index %d of %d outcomes", ErrOutOfRange, idx, n)
	}
	o := make(Outcome, len(s.Issues))
	for i := len(o) - 1; i >= 0; i-- {
		l := uint64(s.Issues[i].Len())
		o[i] = int(idx % l)
		idx /= l
	}
	return o, nil
}

// All yields every outcome in index order. The yielded slice is reused
// between iterations: Clone it to keep it.
func (s *Space) All() iter.Seq[Outcome] {
	return func(yield func(Outcome) bool) {
		o := make(Outcome, len(s.Issues))
		for _, is := range s.Issues {
			if is.Len() == 0 {
				return
			}
		}
		for {
			if !yield(o) {
				return
			}
			i := len(o) - 1
			for ; i >= 0; i-- {
				o[i]++
				if o[i] < s.Issues[i].Len() {
					break
				}
				o[i] = 0
			}
			if i < 0 {
				return
			}
		}
	}
}

// Parse converts issue names to value names into an outcome. Every issue
// must have a value; an unknown issue or value is an error naming it.
func (s *Space) Parse(values map[string]string) (Outcome, error) {
	o := make(Outcome, len(s.Issues))
	for i, is := range s.Issues {
		v, ok := values[is.Name]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrMissingIssue, is.Name)
		}
		k, err := is.Index(v)
		if err != nil {
			return nil, err
		}
		o[i] = k
	}
	if len(values) > len(s.Issues) {
		for name := range values {
			if s.IssueIndex(name) < 0 {
				return nil, fmt.Errorf("%w: %q", ErrUnknownIssue, name)
			}
		}
	}
	return o, nil
}

// Values returns the outcome as issue names to value names. It returns
// nil if o is not an outcome of s (see Check).
func (s *Space) Values(o Outcome) map[string]string {
	if s.Check(o) != nil {
		return nil
	}
	m := make(map[string]string, len(o))
	for i, v := range o {
		m[s.Issues[i].Name] = s.Issues[i].Value(v)
	}
	return m
}

// Format returns the outcome as "issue=value, issue=value", or, if o is
// not an outcome of s (see Check), "invalid outcome" and its indexes.
func (s *Space) Format(o Outcome) string {
	if s.Check(o) != nil {
		return fmt.Sprintf("invalid outcome %v", []int(o))
	}
	var b strings.Builder
	for i, v := range o {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.Issues[i].Name)
		b.WriteByte('=')
		b.WriteString(s.Issues[i].Value(v))
	}
	return b.String()
}
