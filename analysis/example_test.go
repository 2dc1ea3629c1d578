package analysis_test

import (
	"context"
	"fmt"

	"github.com/backchannel/backchannel/analysis"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

func ExampleAnalyze() {
	space, _ := outcome.NewSpace("job",
		outcome.NewDiscrete("salary", "low", "mid", "high"),
		outcome.NewDiscrete("remote", "no", "yes"),
	)
	employer, _ := utility.NewLinearAdditive(space, []float64{0.7, 0.3}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{1, 0.6, 0}},
		utility.Discrete{Evals: []float64{1, 0.5}},
	})
	candidate, _ := utility.NewLinearAdditive(space, []float64{0.6, 0.4}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{0, 0.7, 1}},
		utility.Discrete{Evals: []float64{0, 1}},
	})
	res, err := analysis.Analyze(context.Background(), []utility.Func{employer, candidate}, []float64{0.3, 0.3}, analysis.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("outcomes:", res.Outcomes, "ZOPA:", res.ZOPA)
	for _, p := range res.Frontier {
		fmt.Printf("%-26s %.2f %.2f\n", space.Format(p.Outcome), p.Utilities[0], p.Utilities[1])
	}
	fmt.Println("Nash:", space.Format(res.Nash.Outcome))
	fmt.Println("Kalai-Smorodinsky:", space.Format(res.KalaiSmorodinsky.Outcome))
	fmt.Printf("distance of (0.5, 0.5): %.3f\n", analysis.Distance(res.Frontier, []float64{0.5, 0.5}))
	// Output:
	// outcomes: 6 ZOPA: true
	// salary=low, remote=yes     0.85 0.40
	// salary=mid, remote=no      0.72 0.42
	// salary=mid, remote=yes     0.57 0.82
	// Nash: salary=mid, remote=yes
	// Kalai-Smorodinsky: salary=mid, remote=yes
	// distance of (0.5, 0.5): 0.234
}
