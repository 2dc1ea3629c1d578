package utility_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

func laptop(t testing.TB) *outcome.Space {
	s, err := outcome.NewSpace("laptop",
		outcome.NewDiscrete("brand", "Dell", "Macintosh", "HP"),
		outcome.NewInteger("warranty", 1, 5),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLinearAdditiveGeniusSemantics(t *testing.T) {
	s := laptop(t)
	f, err := utility.NewLinearAdditive(s, []float64{0.6, 0.4}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{12, 20, 30}},
		utility.Linear{Slope: 0.3, Offset: 0.1},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		brand, warranty string
		want            float64
	}{
		// discrete: w·eval/max; integer: w·clamp(offset+slope·(x−lower), 0, 1)
		{"Dell", "1", 0.6*12/30 + 0.4*0.1},
		{"Macintosh", "2", 0.6*20/30 + 0.4*0.4},
		{"HP", "4", 0.6*1 + 0.4*1.0},
		{"HP", "5", 0.6*1 + 0.4*1}, // 0.1+0.3·4 = 1.3 clamps to 1
	}
	for _, tt := range tests {
		o, err := s.Parse(map[string]string{"brand": tt.brand, "warranty": tt.warranty})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Utility(o); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Utility(%s) = %v, want %v", s.Format(o), got, tt.want)
		}
	}
	lo, hi := utility.Bounds(f)
	if math.Abs(lo-(0.6*12/30+0.4*0.1)) > 1e-12 || math.Abs(hi-1) > 1e-12 {
		t.Errorf("Bounds() = %v, %v", lo, hi)
	}
}

func TestRamp(t *testing.T) {
	is := outcome.NewInteger("x", 0, 4)
	tests := []struct {
		name string
		r    utility.Ramp
		want []float64
	}{
		{"increasing", utility.Increasing(is), []float64{0, 0.25, 0.5, 0.75, 1}},
		{"decreasing", utility.Decreasing(is), []float64{1, 0.75, 0.5, 0.25, 0}},
		{"partial", utility.Ramp{LowValue: 1, LowUtility: 0.2, HighValue: 3, HighUtility: 0.6}, []float64{0, 0.2, 0.4, 0.6, 0}},
	}
	for _, tt := range tests {
		got, err := tt.r.Evaluate(is)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-12 {
				t.Errorf("%s: Evaluate()[%d] = %v, want %v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

func TestInvalid(t *testing.T) {
	s := laptop(t)
	tests := []struct {
		name string
		w    []float64
		e    []utility.Evaluator
		want error
	}{
		{"too few weights", []float64{1}, []utility.Evaluator{utility.Discrete{Evals: []float64{1, 2, 3}}, utility.Linear{}}, utility.ErrInvalid},
		{"negative weight", []float64{-1, 1}, []utility.Evaluator{utility.Discrete{Evals: []float64{1, 2, 3}}, utility.Linear{}}, utility.ErrInvalid},
		{"table too short", []float64{1, 1}, []utility.Evaluator{utility.Discrete{Evals: []float64{1, 2}}, utility.Linear{}}, utility.ErrMismatch},
		{"linear on discrete", []float64{1, 1}, []utility.Evaluator{utility.Linear{}, utility.Linear{}}, utility.ErrMismatch},
		{"NaN evaluation", []float64{1, 1}, []utility.Evaluator{utility.Discrete{Evals: []float64{1, math.NaN(), 3}}, utility.Linear{}}, utility.ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := utility.NewLinearAdditive(s, tt.w, tt.e); !errors.Is(err, tt.want) {
			t.Errorf("%s: NewLinearAdditive err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestHyperRectangle(t *testing.T) {
	s, _ := outcome.NewSpace("grid", outcome.NewInteger("a", 0, 9), outcome.NewInteger("b", 0, 9))
	h, err := utility.NewHyperRectangle(s, 10, []utility.Rectangle{
		{Utility: 4, Ranges: []utility.Range{{Issue: 0, Min: 2, Max: 5}}},
		{Utility: 6, Ranges: []utility.Range{{Issue: 0, Min: 4, Max: 9}, {Issue: 1, Min: 0, Max: 0}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		o    outcome.Outcome
		want float64
	}{
		{outcome.Outcome{0, 0}, 0},
		{outcome.Outcome{3, 5}, 0.4},
		{outcome.Outcome{4, 0}, 1},
		{outcome.Outcome{9, 0}, 0.6},
	}
	for _, tt := range tests {
		if got := h.Utility(tt.o); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Utility(%v) = %v, want %v", tt.o, got, tt.want)
		}
	}
	classes := h.Classes()
	if want := [][]int{{0, 2, 4, 6}, {0, 1}}; fmt.Sprint(classes) != fmt.Sprint(want) {
		t.Errorf("Classes() = %v, want %v", classes, want)
	}
	// Every outcome has the utility of its classes' first values.
	for o := range s.All() {
		rep := make(outcome.Outcome, len(o))
		for i, v := range o {
			for _, c := range classes[i] {
				if c <= v {
					rep[i] = c
				}
			}
		}
		if h.Utility(o) != h.Utility(rep) {
			t.Errorf("Utility(%v) = %v, its representative %v has %v", o, h.Utility(o), rep, h.Utility(rep))
		}
	}
	if _, err := utility.NewHyperRectangle(s, 10, []utility.Rectangle{{Ranges: []utility.Range{{Issue: 2}}}}); !errors.Is(err, utility.ErrInvalid) {
		t.Errorf("rectangle on missing issue: err = %v, want ErrInvalid", err)
	}
}

func TestTable(t *testing.T) {
	s, _ := outcome.NewSpace("t", outcome.NewDiscrete("a", "x", "y"), outcome.NewDiscrete("b", "p", "q", "r"))
	f, err := utility.NewTable(s, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Utility(outcome.Outcome{1, 1}); got != 0.4 {
		t.Errorf("Utility(y,q) = %v, want 0.4", got)
	}
	if _, err := utility.NewTable(s, []float64{1}); !errors.Is(err, utility.ErrInvalid) {
		t.Errorf("short table: err = %v, want ErrInvalid", err)
	}
}

func TestDiscount(t *testing.T) {
	tests := []struct {
		u, d, t, want float64
	}{
		{0.8, 0.5, 0, 0.8},
		{0.8, 0.5, 1, 0.4},
		{0.8, 0.25, 0.5, 0.4},
		{0.8, 1, 0.7, 0.8},
		{0.8, 0, 0.7, 0.8}, // no factor given
		{0.8, 0.5, 2, 0.4}, // t clamps to 1
		{0.8, 0.5, math.NaN(), 0.8},
	}
	for _, tt := range tests {
		if got := utility.Discount(tt.u, tt.d, tt.t); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Discount(%v, %v, %v) = %v, want %v", tt.u, tt.d, tt.t, got, tt.want)
		}
	}
	p := utility.Profile{Reserved: 0.6, Discount: 0.5}
	if got := p.ReservedAt(1); math.Abs(got-0.3) > 1e-12 {
		t.Errorf("ReservedAt(1) = %v, want 0.3 (the reserved value is discounted too)", got)
	}
}

func ExampleLinearAdditive() {
	s, _ := outcome.NewSpace("lunch",
		outcome.NewDiscrete("food", "soup", "pasta"),
		outcome.NewInteger("price", 5, 15),
	)
	f, _ := utility.NewLinearAdditive(s, []float64{0.7, 0.3}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{2, 4}},
		utility.Decreasing(s.Issues[1]),
	})
	o, _ := s.Parse(map[string]string{"food": "soup", "price": "10"})
	fmt.Printf("%.2f\n", f.Utility(o))
	// Output: 0.50
}
