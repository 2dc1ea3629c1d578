package analysis

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// tiny is a hand-checked domain. Issue A is x, y or z and issue B is p or
// q. The buyer's utility is 0.6·A + 0.4·B with A = (1, 0.5, 0) and
// B = (1, 0); the seller's is 0.5·A + 0.5·B with A = (0, 0.6, 1) and
// B = (0.2, 1). The six outcomes, all Pareto-optimal, score
//
//	(x,p) 1.0 0.1   (x,q) 0.6 0.5   (y,p) 0.7 0.4
//	(y,q) 0.3 0.8   (z,p) 0.4 0.6   (z,q) 0.0 1.0
func tiny(t *testing.T) []utility.Func {
	t.Helper()
	sp, err := outcome.NewSpace("tiny", outcome.NewDiscrete("A", "x", "y", "z"), outcome.NewDiscrete("B", "p", "q"))
	if err != nil {
		t.Fatal(err)
	}
	buyer, err := utility.NewLinearAdditive(sp, []float64{0.6, 0.4}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{1, 0.5, 0}}, utility.Discrete{Evals: []float64{1, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	seller, err := utility.NewLinearAdditive(sp, []float64{0.5, 0.5}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{0, 0.6, 1}}, utility.Discrete{Evals: []float64{0.2, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	return []utility.Func{buyer, seller}
}

func near(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

func utils(p *Point) []float64 {
	if p == nil {
		return nil
	}
	return p.Utilities
}

func TestAnalyzeTiny(t *testing.T) {
	funcs := tiny(t)
	all := [][]float64{{1, 0.1}, {0.7, 0.4}, {0.6, 0.5}, {0.4, 0.6}, {0.3, 0.8}, {0, 1}}
	tests := []struct {
		name                    string
		reserved                []float64
		frontier                [][]float64
		nash, ks, egal, welfare []float64
	}{
		// Four points tie on welfare 1.1: the largest Nash product wins.
		{"no reservation", []float64{0, 0}, all, []float64{0.6, 0.5}, []float64{0.6, 0.5}, []float64{0.6, 0.5}, []float64{0.6, 0.5}},
		// Ideal (0.7, 0.6); KS ratios 0.2, 0.6, 0.143; Nash products
		// 0.0175, 0.0375, 0.0125; welfare ties between the first two.
		{"reserved 0.35", []float64{0.35, 0.35}, all[1:4], []float64{0.6, 0.5}, []float64{0.6, 0.5}, []float64{0.6, 0.5}, []float64{0.6, 0.5}},
		// A reserved value equal to a utility keeps that outcome.
		{"reserved equal to a utility", []float64{0.6, 0.5}, all[2:3], []float64{0.6, 0.5}, []float64{0.6, 0.5}, []float64{0.6, 0.5}, []float64{0.6, 0.5}},
		// Gains (0.35, 0.1) against (0.05, 0.4): products 0.035 and 0.02,
		// KS ratios 0.25 and 0.143 with ideal (1, 0.4).
		{"lopsided", []float64{0.65, 0}, all[:2], []float64{1, 0.1}, []float64{1, 0.1}, []float64{1, 0.1}, []float64{1, 0.1}},
		{"no ZOPA", []float64{0.9, 0.9}, nil, nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Analyze(context.Background(), funcs, tt.reserved, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := utilsOf(res.Frontier); !slices.EqualFunc(got, tt.frontier, near) {
				t.Errorf("Frontier(%v) = %v, want %v", tt.reserved, got, tt.frontier)
			}
			if res.ZOPA != (tt.frontier != nil) {
				t.Errorf("ZOPA(%v) = %v, want %v", tt.reserved, res.ZOPA, tt.frontier != nil)
			}
			if res.Outcomes.Int64() != 6 {
				t.Errorf("Outcomes = %v, want 6", res.Outcomes)
			}
			for _, c := range []struct {
				name      string
				got, want []float64
			}{
				{"Nash", utils(res.Nash), tt.nash},
				{"KalaiSmorodinsky", utils(res.KalaiSmorodinsky), tt.ks},
				{"Egalitarian", utils(res.Egalitarian), tt.egal},
				{"MaxWelfare", utils(res.MaxWelfare), tt.welfare},
			} {
				if !near(c.got, c.want) {
					t.Errorf("%s(%v) = %v, want %v", c.name, tt.reserved, c.got, c.want)
				}
			}
		})
	}
}

func TestTies(t *testing.T) {
	// Symmetric points tie on every objective: the first one wins.
	front := []Point{{Utilities: []float64{0.6, 0.4}}, {Utilities: []float64{0.4, 0.6}}}
	rv := []float64{0, 0}
	for name, f := range map[string]func([]Point, []float64) *Point{
		"Nash": Nash, "KalaiSmorodinsky": KalaiSmorodinsky, "Egalitarian": Egalitarian, "MaxWelfare": MaxWelfare,
	} {
		if got := f(front, rv); !near(utils(got), front[0].Utilities) {
			t.Errorf("%s(%v) = %v, want %v", name, utilsOf(front), utils(got), front[0].Utilities)
		}
	}
	// A welfare tie goes to the larger Nash product.
	front = []Point{{Utilities: []float64{0.9, 0.1}}, {Utilities: []float64{0.5, 0.5}}}
	if got := MaxWelfare(front, rv); !near(utils(got), []float64{0.5, 0.5}) {
		t.Errorf("MaxWelfare(%v) = %v, want [0.5 0.5]", utilsOf(front), utils(got))
	}
}

func TestAnalyzeOutcomes(t *testing.T) {
	res, err := Analyze(context.Background(), tiny(t), []float64{0, 0}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []outcome.Outcome{{0, 0}, {1, 0}, {0, 1}, {2, 0}, {1, 1}, {2, 1}}
	for k, p := range res.Frontier {
		if !slices.Equal(p.Outcome, want[k]) {
			t.Errorf("Frontier[%d].Outcome = %v, want %v", k, p.Outcome, want[k])
		}
	}
	if !slices.Equal(res.Nash.Outcome, outcome.Outcome{0, 1}) {
		t.Errorf("Nash outcome = %v, want [0 1]", res.Nash.Outcome)
	}
	if !near(res.Ideal, []float64{1, 1}) {
		t.Errorf("Ideal = %v, want [1 1]", res.Ideal)
	}
}

func TestDistance(t *testing.T) {
	res, err := Analyze(context.Background(), tiny(t), []float64{0, 0}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		u    []float64
		want float64
	}{
		{[]float64{0.6, 0.5}, 0},
		{[]float64{0.5, 0.5}, 0.1},
		{[]float64{0, 0}, math.Sqrt(0.52)}, // to (0.4, 0.6)
		{[]float64{1, 1, 1}, math.Inf(1)},
	}
	for _, tt := range tests {
		if got := Distance(res.Frontier, tt.u); math.Abs(got-tt.want) > 1e-9 && got != tt.want {
			t.Errorf("Distance(%v) = %v, want %v", tt.u, got, tt.want)
		}
	}
	if got := Distance(nil, []float64{0, 0}); !math.IsInf(got, 1) {
		t.Errorf("Distance(nil) = %v, want +Inf", got)
	}
}

func TestDominatingAgreement(t *testing.T) {
	// One issue both parties rank the same way, one they split.
	sp, err := outcome.NewSpace("agree", outcome.NewDiscrete("quality", "low", "mid", "high"), outcome.NewDiscrete("price", "cheap", "dear"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := utility.NewLinearAdditive(sp, []float64{0.5, 0.5}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{0, 0.5, 1}}, utility.Discrete{Evals: []float64{1, 0}}})
	b, _ := utility.NewLinearAdditive(sp, []float64{0.5, 0.5}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{0, 0.5, 1}}, utility.Discrete{Evals: []float64{0, 1}}})
	funcs := []utility.Func{a, b}
	tests := []struct {
		o     outcome.Outcome
		limit int
		want  []outcome.Outcome
	}{
		// (low, cheap) scores (0.5, 0): (high, cheap) gains (0.5, 0.5),
		// (mid, cheap) (0.25, 0.25) and (high, dear) (0, 1), a product of
		// 0; the others leave the first party worse off.
		{outcome.Outcome{0, 0}, 0, []outcome.Outcome{{2, 0}, {1, 0}, {2, 1}}},
		{outcome.Outcome{0, 0}, 1, []outcome.Outcome{{2, 0}}},
		{outcome.Outcome{2, 1}, 5, nil},
	}
	for _, tt := range tests {
		got, err := Dominating(context.Background(), funcs, tt.o, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var outs []outcome.Outcome
		for _, p := range got {
			outs = append(outs, p.Outcome)
		}
		if !slices.EqualFunc(outs, tt.want, slices.Equal) {
			t.Errorf("Dominating(%v, %d) = %v, want %v", tt.o, tt.limit, outs, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	funcs := tiny(t)
	other, _ := outcome.NewSpace("other", outcome.NewDiscrete("A", "x", "y"))
	otherFunc, _ := utility.NewLinearAdditive(other, []float64{1}, []utility.Evaluator{utility.Discrete{Evals: []float64{1, 0}}})
	big, _ := outcome.NewSpace("big", outcome.NewInteger("a", 0, 99999), outcome.NewInteger("b", 0, 99999))
	linear, _ := utility.NewLinearAdditive(big, []float64{1, 1}, []utility.Evaluator{utility.Increasing(big.Issues[0]), utility.Increasing(big.Issues[1])})
	table := opaque{linear} // not known to be additive: must be enumerated
	ctx := context.Background()
	tests := []struct {
		name     string
		funcs    []utility.Func
		reserved []float64
		want     error
	}{
		{"no parties", nil, nil, ErrNoParties},
		{"reserved count", funcs, []float64{0}, ErrReserved},
		{"reserved NaN", funcs, []float64{0, math.NaN()}, ErrReserved},
		{"nil func", []utility.Func{funcs[0], nil}, []float64{0, 0}, ErrNilFunc},
		{"spaces", []utility.Func{funcs[0], otherFunc}, []float64{0, 0}, ErrSpaceMismatch},
		{"too large", []utility.Func{table, table}, []float64{0, 0}, ErrTooLarge},
	}
	for _, tt := range tests {
		if _, err := Analyze(ctx, tt.funcs, tt.reserved, Options{}); !errors.Is(err, tt.want) {
			t.Errorf("%s: Analyze error = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := Dominating(ctx, funcs, outcome.Outcome{7, 0}, 1); !errors.Is(err, ErrOutcome) {
		t.Errorf("Dominating(bad outcome) error = %v, want %v", err, ErrOutcome)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Analyze(cancelled, funcs, []float64{0, 0}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Analyze(cancelled) error = %v, want %v", err, context.Canceled)
	}
	if p := Nash(nil, []float64{0, 0}); p != nil {
		t.Errorf("Nash(nil) = %v, want nil", p)
	}
	if p := Nash([]Point{{Utilities: []float64{1}}}, []float64{0, 0}); p != nil {
		t.Errorf("Nash(short point) = %v, want nil", p)
	}
}

func TestEnumerationCancel(t *testing.T) {
	sp, _ := outcome.NewSpace("mid", outcome.NewInteger("a", 0, 999), outcome.NewInteger("b", 0, 999))
	h := modTable(t, sp)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	opt := Options{Workers: 2, Progress: func(done, total uint64) {
		if calls++; calls == 2 {
			cancel()
		}
	}}
	if _, err := Frontier(ctx, []utility.Func{h, h}, []float64{0, 0}, opt); !errors.Is(err, context.Canceled) {
		t.Errorf("Frontier(cancelled midway) error = %v, want %v", err, context.Canceled)
	}
}

func TestProgress(t *testing.T) {
	sp, _ := outcome.NewSpace("mid", outcome.NewInteger("a", 0, 299), outcome.NewInteger("b", 0, 299))
	h := modTable(t, sp)
	var last, total uint64
	opt := Options{Progress: func(done, n uint64) {
		if done < last {
			t.Errorf("Progress went back from %d to %d", last, done)
		}
		last, total = done, n
	}}
	front, err := Frontier(context.Background(), []utility.Func{h, h}, []float64{0, 0}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if last != 90000 || total != 90000 {
		t.Errorf("Progress ended at %d of %d, want 90000 of 90000", last, total)
	}
	if len(front) != 1 || !near(front[0].Utilities, []float64{1, 1}) || !slices.Equal(front[0].Outcome, outcome.Outcome{0, 6}) {
		t.Errorf("Frontier = %v, want one point (1, 1) at the first outcome [0 6]", front)
	}
}

// modTable scores outcome k as (k mod 7)/6.
func modTable(t *testing.T, sp *outcome.Space) *utility.Table {
	n, _ := sp.Size()
	vals := make([]float64, n)
	for k := range vals {
		vals[k] = float64(k%7) / 6
	}
	f, err := utility.NewTable(sp, vals)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestClassCompression(t *testing.T) {
	// 10^8 outcomes, but the rectangles only cut each issue in three.
	var issues []outcome.Issue
	for _, name := range []string{"a", "b", "c", "d"} {
		issues = append(issues, outcome.NewInteger(name, 0, 99))
	}
	sp, _ := outcome.NewSpace("rects", issues...)
	h1, _ := utility.NewHyperRectangle(sp, 2, []utility.Rectangle{
		{Utility: 1, Ranges: []utility.Range{{Issue: 0, Min: 10, Max: 19}}},
		{Utility: 1, Ranges: []utility.Range{{Issue: 1, Min: 50, Max: 99}, {Issue: 3, Min: 0, Max: 4}}},
	})
	h2, _ := utility.NewHyperRectangle(sp, 2, []utility.Rectangle{
		{Utility: 2, Ranges: []utility.Range{{Issue: 0, Min: 90, Max: 99}}},
		{Utility: 1, Ranges: []utility.Range{{Issue: 2, Min: 0, Max: 0}}},
	})
	res, err := Analyze(context.Background(), []utility.Func{h1, h2}, []float64{0, 0}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// (1, 0.5) at a=10..19, b≥50, c=0, d≤4; (0.5, 1.5) at a≥90, b≥50,
	// c=0, d≤4; nothing beats both.
	want := [][]float64{{1, 0.5}, {0.5, 1.5}}
	if got := utilsOf(res.Frontier); !slices.EqualFunc(got, want, near) {
		t.Errorf("Frontier = %v, want %v", got, want)
	}
	if o := res.Frontier[0].Outcome; !slices.Equal(o, outcome.Outcome{10, 50, 0, 0}) {
		t.Errorf("Frontier[0].Outcome = %v, want the smallest, [10 50 0 0]", o)
	}
}
