package outcome_test

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/outcome"
)

func tenValues(name string) outcome.Issue {
	vals := make([]string, 10)
	for i := range vals {
		vals[i] = fmt.Sprint("v", i)
	}
	return outcome.NewDiscrete(name, vals...)
}

func TestCardinalityDoesNotWrap(t *testing.T) {
	tests := []struct {
		name   string
		issues int
		want   string
		fits   bool
	}{
		{"1e12", 12, "1000000000000", true},
		{"1e19", 19, "10000000000000000000", true},
		{"1e20", 20, "100000000000000000000", false},
		{"1e40", 40, "1" + "0000000000000000000000000000000000000000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var issues []outcome.Issue
			for i := range tt.issues {
				issues = append(issues, tenValues(fmt.Sprint("i", i)))
			}
			s, err := outcome.NewSpace("s", issues...)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := new(big.Int).SetString(tt.want, 10)
			if got := s.Cardinality(); got.Cmp(want) != 0 {
				t.Errorf("Cardinality() = %v, want %v", got, want)
			}
			n, ok := s.Size()
			if ok != tt.fits {
				t.Fatalf("Size() ok = %v, want %v", ok, tt.fits)
			}
			if ok && new(big.Int).SetUint64(n).Cmp(want) != 0 {
				t.Errorf("Size() = %d, want %v", n, want)
			}
			if !ok {
				if _, err := s.Index(make(outcome.Outcome, tt.issues)); !errors.Is(err, outcome.ErrTooLarge) {
					t.Errorf("Index on huge space: err = %v, want ErrTooLarge", err)
				}
			}
		})
	}
}

func TestIndexRoundTrip(t *testing.T) {
	s, err := outcome.NewSpace("mixed",
		outcome.NewDiscrete("colour", "red", "green", "blue"),
		outcome.NewInteger("price", 8, 14),
		outcome.NewReal("share", 0, 1, 0.25),
	)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := s.Size()
	if n != 3*7*5 {
		t.Fatalf("Size() = %d, want %d", n, 3*7*5)
	}
	var k uint64
	for o := range s.All() {
		idx, err := s.Index(o)
		if err != nil {
			t.Fatal(err)
		}
		if idx != k {
			t.Errorf("Index(%v) = %d, want %d (enumeration order)", o, idx, k)
		}
		back, err := s.At(idx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back, o) {
			t.Errorf("At(%d) = %v, want %v", idx, back, o)
		}
		parsed, err := s.Parse(s.Values(o))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(parsed, o) {
			t.Errorf("Parse(Values(%v)) = %v", o, parsed)
		}
		k++
	}
	if k != n {
		t.Errorf("All() yielded %d outcomes, want %d", k, n)
	}
	if _, err := s.At(n); !errors.Is(err, outcome.ErrOutOfRange) {
		t.Errorf("At(%d): err = %v, want ErrOutOfRange", n, err)
	}
}

func TestParseErrors(t *testing.T) {
	s, _ := outcome.NewSpace("s",
		outcome.NewDiscrete("colour", "red", "green"),
		outcome.NewInteger("price", 8, 14),
		outcome.NewReal("share", 0, 1, 0.25),
	)
	tests := []struct {
		name   string
		values map[string]string
		want   error
		text   string
	}{
		{"unknown discrete", map[string]string{"colour": "pink", "price": "9", "share": "0.5"}, outcome.ErrUnknownValue, `outcome: issue "colour" has no value "pink"`},
		{"integer above range", map[string]string{"colour": "red", "price": "15", "share": "0.5"}, outcome.ErrUnknownValue, `outcome: issue "price" has no value "15"`},
		{"integer not a number", map[string]string{"colour": "red", "price": "cheap", "share": "0.5"}, outcome.ErrUnknownValue, `outcome: issue "price" has no value "cheap"`},
		{"real off grid", map[string]string{"colour": "red", "price": "9", "share": "0.3"}, outcome.ErrUnknownValue, `outcome: issue "share" has no value "0.3"`},
		{"missing issue", map[string]string{"colour": "red", "price": "9"}, outcome.ErrMissingIssue, `outcome: missing issue: "share"`},
		{"unknown issue", map[string]string{"colour": "red", "price": "9", "share": "0", "size": "L"}, outcome.ErrUnknownIssue, `outcome: unknown issue: "size"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Parse(tt.values)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%v) err = %v, want %v", tt.values, err, tt.want)
			}
			if err.Error() != tt.text {
				t.Errorf("Parse(%v) err = %q, want %q", tt.values, err, tt.text)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		issue outcome.Issue
	}{
		{"no values", outcome.NewDiscrete("x")},
		{"duplicate value", outcome.NewDiscrete("x", "a", "a")},
		{"inverted integer", outcome.NewInteger("x", 3, 1)},
		{"real without step", outcome.NewReal("x", 0, 1, 0)},
		{"empty name", outcome.NewDiscrete(" ", "a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := outcome.NewSpace("s", tt.issue); !errors.Is(err, outcome.ErrInvalidIssue) {
				t.Errorf("NewSpace(%+v) err = %v, want ErrInvalidIssue", tt.issue, err)
			}
		})
	}
}

func ExampleSpace() {
	s, _ := outcome.NewSpace("laptop",
		outcome.NewDiscrete("brand", "Dell", "Macintosh", "HP"),
		outcome.NewInteger("warranty", 1, 3),
	)
	o, _ := s.Parse(map[string]string{"brand": "HP", "warranty": "2"})
	idx, _ := s.Index(o)
	fmt.Println(s.Cardinality(), idx, s.Format(o))
	// Output: 9 7 brand=HP, warranty=2
}

// TestFormatInvalid checks that Format and Values do not panic, nor name
// values that do not exist, for an outcome outside the space.
func TestFormatInvalid(t *testing.T) {
	s, err := outcome.NewSpace("s", outcome.NewDiscrete("a", "x", "y"), outcome.NewInteger("b", 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []outcome.Outcome{{9, 0}, {0, 3}, {0}, {0, 0, 0}, {-1, 0}} {
		if got, want := s.Format(o), fmt.Sprintf("invalid outcome %v", []int(o)); got != want {
			t.Errorf("Format(%v) = %q, want %q", o, got, want)
		}
		if got := s.Values(o); got != nil {
			t.Errorf("Values(%v) = %v, want nil", o, got)
		}
	}
	if got, want := s.Format(outcome.Outcome{1, 2}), "a=y, b=3"; got != want {
		t.Errorf("Format([1 2]) = %q, want %q", got, want)
	}
}
