package agent_test

import (
	"context"
	"fmt"

	"github.com/backchannel/backchannel/agent"
	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// halfway is a negotiator written in a few lines: it asks for the outcome
// just above the middle of its utility range, and accepts anything at
// least as good.
type halfway struct {
	f    utility.Func
	ask  outcome.Outcome
	askU float64
}

func (h *halfway) Init(info mechanism.Info) error {
	ix, err := agent.IndexOf(info.Profile.Func)
	if err != nil {
		return err
	}
	_, lo := ix.Min()
	_, hi := ix.Max()
	h.f = info.Profile.Func
	h.ask, h.askU = ix.Above((lo + hi) / 2)
	return nil
}

func (h *halfway) Act(s mechanism.State) (mechanism.Action, error) {
	if s.Offer != nil && h.f.Utility(s.Offer) >= h.askU {
		return mechanism.Action{Kind: mechanism.Accept}, nil
	}
	return mechanism.Action{Kind: mechanism.Offer, Outcome: h.ask}, nil
}

func Example() {
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
	profiles := []*utility.Profile{{Name: "employer", Func: employer}, {Name: "candidate", Func: candidate}}

	boulware, _ := agent.New("boulware")
	res, err := mechanism.Run(context.Background(), profiles,
		[]mechanism.Negotiator{&halfway{}, boulware}, mechanism.Config{Rounds: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Reason, "after", res.Steps, "steps:", space.Format(res.Agreement))
	fmt.Printf("utilities %.2f %.2f\n", res.Utilities[0], res.Utilities[1])
	// Output:
	// agreement after 20 steps: salary=mid, remote=no
	// utilities 0.72 0.42
}

func ExampleIndex() {
	space, _ := outcome.NewSpace("job",
		outcome.NewDiscrete("salary", "low", "mid", "high"),
		outcome.NewDiscrete("remote", "no", "yes"),
	)
	f, _ := utility.NewLinearAdditive(space, []float64{0.7, 0.3}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{1, 0.6, 0}},
		utility.Discrete{Evals: []float64{1, 0.5}},
	})
	ix, _ := agent.NewIndex(f)
	o, u := ix.Above(0.5)
	fmt.Printf("at least 0.5: %s (%.2f)\n", space.Format(o), u)
	for o, u := range ix.Band(0.3, 0.8) {
		fmt.Printf("in [0.3, 0.8]: %s (%.2f)\n", space.Format(o), u)
	}
	// Output:
	// at least 0.5: salary=mid, remote=yes (0.57)
	// in [0.3, 0.8]: salary=high, remote=no (0.30)
	// in [0.3, 0.8]: salary=mid, remote=yes (0.57)
	// in [0.3, 0.8]: salary=mid, remote=no (0.72)
}
