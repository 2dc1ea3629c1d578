package tournament_test

import (
	"context"
	"fmt"
	"log"

	"github.com/backchannel/backchannel/agent"
	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/tournament"
)

// A tournament of the three time-based agents on two ANAC domains, every
// pair in both roles and both turn orders.
func Example() {
	var domains []tournament.Domain
	for _, dir := range []string{"../examples/domains/Car", "../examples/domains/ItexvsCypress"} {
		sc, err := genius.LoadDir(dir)
		if err != nil {
			log.Fatal(err)
		}
		domains = append(domains, tournament.Domain{Name: sc.Space.Name, Profiles: sc.Profiles})
	}
	var agents []tournament.Agent
	for _, name := range []string{"conceder", "linear", "boulware"} {
		agents = append(agents, tournament.Agent{Name: name, New: func() (mechanism.Negotiator, error) { return agent.New(name) }})
	}
	res, err := tournament.Run(context.Background(), tournament.Config{
		Agents:    agents,
		Domains:   domains,
		Mechanism: mechanism.Config{Rounds: 1000},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Negotiations, "negotiations")
	for _, s := range res.Agents {
		fmt.Printf("%-8s score %.2f, agreements %.0f%%\n", s.Agent, s.Score.Mean, 100*s.AgreementRate)
	}
	// Output:
	// 24 negotiations
	// boulware score 0.95, agreements 100%
	// linear   score 0.67, agreements 100%
	// conceder score 0.53, agreements 100%
}
