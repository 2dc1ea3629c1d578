package mechanism_test

import (
	"context"
	"testing"
	"time"

	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
)

// stubborn offers the same outcome on every turn and never accepts: the
// cheapest negotiator, so that a benchmark measures the mechanism.
type stubborn struct{ o outcome.Outcome }

func (s *stubborn) Init(mechanism.Info) error { return nil }

func (s *stubborn) Act(mechanism.State) (mechanism.Action, error) {
	return mechanism.Action{Kind: mechanism.Offer, Outcome: s.o}, nil
}

// BenchmarkRun runs 1000 rounds between two stubborn negotiators, which
// never agree, and reports the mechanism's steps per second.
func BenchmarkRun(b *testing.B) {
	s := fruit(b)
	ps := profiles(b, s, 2, 0, 1)
	const rounds = 1000
	cancelable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, bb := range []struct {
		name string
		ctx  context.Context
		cfg  mechanism.Config
	}{
		{"rounds", context.Background(), mechanism.Config{Rounds: rounds}},
		{"cancelable", cancelable, mechanism.Config{Rounds: rounds}},
		{"time", context.Background(), mechanism.Config{Rounds: rounds, Time: time.Hour}},
		{"turnlimit", context.Background(), mechanism.Config{Rounds: rounds, TurnLimit: time.Hour}},
		{"trace", context.Background(), mechanism.Config{Rounds: rounds, Trace: true}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			negs := []mechanism.Negotiator{&stubborn{o0}, &stubborn{o5}}
			ctx := bb.ctx
			b.ReportAllocs()
			steps := 0
			for b.Loop() {
				res, err := mechanism.Run(ctx, ps, negs, bb.cfg)
				if err != nil || res.Reason != mechanism.ReasonDeadline {
					b.Fatalf("Run() = %+v, %v", res, err)
				}
				steps += res.Steps
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(steps), "ns/step")
		})
	}
}
