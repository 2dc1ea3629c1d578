package utility_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

func TestScores(t *testing.T) {
	is := outcome.NewDiscrete("fruit", "apple", "pear", "plum")
	got, err := utility.Scores{Utilities: []float64{0.2, 0.5, 0}}.Evaluate(is)
	if err != nil {
		t.Fatal(err)
	}
	// Used as is: no division by the largest entry, unlike Discrete.
	if want := []float64{0.2, 0.5, 0}; !slices.Equal(got, want) {
		t.Errorf("Evaluate() = %v, want %v", got, want)
	}

	tests := []struct {
		name string
		s    utility.Scores
		want error
	}{
		{"too few", utility.Scores{Utilities: []float64{0.2, 0.5}}, utility.ErrMismatch},
		{"above one", utility.Scores{Utilities: []float64{0.2, 1.5, 0}}, utility.ErrInvalid},
		{"negative", utility.Scores{Utilities: []float64{0.2, -0.1, 0}}, utility.ErrInvalid},
		{"NaN", utility.Scores{Utilities: []float64{math.NaN(), 0, 0}}, utility.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Evaluate(is); !errors.Is(err, tt.want) {
				t.Errorf("Evaluate() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTriangular(t *testing.T) {
	is := outcome.NewReal("temperature", 0, 10, 2.5) // 0, 2.5, 5, 7.5, 10
	tr := utility.Triangular{Low: 0, Top: 5, High: 10, TopUtility: 0.8}
	got, err := tr.Evaluate(is)
	if err != nil {
		t.Fatal(err)
	}
	// GENIUS: 0 below Low, rising to the top, falling, and 0 from High on.
	want := []float64{0, 0.4, 0.8, 0.4, 0}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("Evaluate()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := tr.Evaluate(outcome.NewDiscrete("d", "a")); !errors.Is(err, utility.ErrMismatch) {
		t.Errorf("Evaluate(discrete) error = %v, want ErrMismatch", err)
	}
	bad := utility.Triangular{Low: 5, Top: 1, High: 10, TopUtility: 1}
	if _, err := bad.Evaluate(is); !errors.Is(err, utility.ErrInvalid) {
		t.Errorf("Evaluate() with top below low: error = %v, want ErrInvalid", err)
	}
}
