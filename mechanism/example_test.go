package mechanism_test

import (
	"context"
	"fmt"
	"os"

	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// linear concedes linearly in time from utility 1 down to its reserved
// value. It accepts an offer worth its current target, and otherwise
// offers the outcome closest above the target. It scans the space on every
// turn, which only suits small spaces.
type linear struct {
	profile *utility.Profile
}

func (n *linear) Init(info mechanism.Info) error {
	n.profile = info.Profile
	return nil
}

func (n *linear) Act(s mechanism.State) (mechanism.Action, error) {
	target := 1 - (1-n.profile.Reserved)*s.Time
	if s.Offer != nil && n.profile.Utility(s.Offer) >= target {
		return mechanism.Action{Kind: mechanism.Accept}, nil
	}
	var next outcome.Outcome
	for o := range n.profile.Space().All() {
		u := n.profile.Utility(o)
		if u >= target && (next == nil || u < n.profile.Utility(next)) {
			next = o.Clone()
		}
	}
	return mechanism.Action{Kind: mechanism.Offer, Outcome: next}, nil
}

func Example() {
	space, _ := outcome.NewSpace("holiday",
		outcome.NewDiscrete("place", "beach", "city", "mountains"),
		outcome.NewInteger("days", 3, 5),
	)
	buyer, _ := utility.NewLinearAdditive(space, []float64{0.7, 0.3}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{10, 6, 2}},
		utility.Increasing(space.Issues[1]),
	})
	seller, _ := utility.NewLinearAdditive(space, []float64{0.5, 0.5}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{8, 3, 10}},
		utility.Decreasing(space.Issues[1]),
	})
	profiles := []*utility.Profile{
		{Name: "buyer", Func: buyer, Reserved: 0.2, Discount: 0.9},
		{Name: "seller", Func: seller, Reserved: 0.2, Discount: 0.9},
	}
	negotiators := []mechanism.Negotiator{&linear{}, &linear{}}

	res, err := mechanism.Run(context.Background(), profiles, negotiators,
		mechanism.Config{Rounds: 10, Seed: 1, Trace: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Reason, space.Format(res.Agreement), "after", res.Steps, "steps")
	fmt.Printf("utilities %.3f\n", res.Utilities)
	res.WriteCSV(os.Stdout, space, []string{"buyer", "seller"})
	// Output:
	// agreement place=beach, days=3 after 10 steps
	// utilities [0.668 0.858]
	// round,step,time,party,action,place,days,utility_buyer,utility_seller
	// 0,0,0,buyer,offer,beach,5,1,0.4
	// 0,1,0.05,seller,offer,mountains,3,0.13999999999999999,1
	// 1,2,0.1,buyer,offer,beach,5,1,0.4
	// 1,3,0.15,seller,offer,beach,3,0.7,0.9
	// 2,4,0.2,buyer,offer,beach,4,0.85,0.65
	// 2,5,0.25,seller,offer,beach,3,0.7,0.9
	// 3,6,0.3,buyer,offer,beach,4,0.85,0.65
	// 3,7,0.35,seller,offer,mountains,4,0.29,0.75
	// 4,8,0.4,buyer,offer,beach,3,0.7,0.9
	// 4,9,0.45,seller,accept,beach,3,0.7,0.9
}
