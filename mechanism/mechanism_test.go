package mechanism_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fruit returns a space of 6 outcomes, indexed fruit-major.
func fruit(t testing.TB) *outcome.Space {
	t.Helper()
	s, err := outcome.NewSpace("fruit",
		outcome.NewDiscrete("fruit", "apple", "pear", "plum"),
		outcome.NewInteger("crates", 1, 2),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tables holds each party's utility of the outcomes of fruit, in index
// order. Party 0 prefers low indexes, party 1 high ones.
var tables = [][]float64{
	{1, 0.8, 0.6, 0.4, 0.2, 0},
	{0, 0.2, 0.4, 0.6, 0.8, 1},
	{0.5, 1, 0.5, 1, 0.5, 1},
}

// profiles returns n profiles on s with reserved value rv and discount d.
func profiles(t testing.TB, s *outcome.Space, n int, rv, d float64) []*utility.Profile {
	t.Helper()
	ps := make([]*utility.Profile, n)
	for i := range ps {
		f, err := utility.NewTable(s, tables[i])
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = &utility.Profile{Name: string(rune('a' + i)), Func: f, Reserved: rv, Discount: d}
	}
	return ps
}

// The outcomes of fruit, by index.
var (
	o0 = outcome.Outcome{0, 0}
	o1 = outcome.Outcome{0, 1}
	o2 = outcome.Outcome{1, 0}
	o5 = outcome.Outcome{2, 1}
)

func offer(o outcome.Outcome) mechanism.Action {
	return mechanism.Action{Kind: mechanism.Offer, Outcome: o}
}

var (
	accept = mechanism.Action{Kind: mechanism.Accept}
	end    = mechanism.Action{Kind: mechanism.End}
)

// script plays its actions in order, then repeats the last one forever.
// It records what it was told.
type script struct {
	acts   []mechanism.Action
	info   mechanism.Info
	states []mechanism.State
}

func play(acts ...mechanism.Action) *script { return &script{acts: acts} }

func (s *script) Init(info mechanism.Info) error { s.info = info; return nil }

func (s *script) Act(st mechanism.State) (mechanism.Action, error) {
	s.states = append(s.states, st)
	k := min(len(s.states), len(s.acts)) - 1
	return s.acts[k], nil
}

// faulty fails on its turn number turn (0-based) by calling fail, and
// offers o0 on its other turns. With init set it fails in Init instead.
type faulty struct {
	turn int
	init bool
	fail func() (mechanism.Action, error)
	n    int
}

func (f *faulty) Init(mechanism.Info) error {
	if f.init {
		_, err := f.fail()
		return err
	}
	return nil
}

func (f *faulty) Act(mechanism.State) (mechanism.Action, error) {
	f.n++
	if f.n-1 == f.turn {
		return f.fail()
	}
	return offer(o0), nil
}

var errBoom = errors.New("boom")

func returnErr() (mechanism.Action, error) { return mechanism.Action{}, errBoom }
func doPanic() (mechanism.Action, error)   { panic("oops") }

// block returns a fail func that blocks until the test ends.
func block(t *testing.T) func() (mechanism.Action, error) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	return func() (mechanism.Action, error) {
		<-stop
		return accept, nil
	}
}

func act(a mechanism.Action) func() (mechanism.Action, error) {
	return func() (mechanism.Action, error) { return a, nil }
}

func TestProtocol(t *testing.T) {
	s := fruit(t)
	tests := []struct {
		name      string
		parties   []mechanism.Negotiator
		cfg       mechanism.Config
		reason    mechanism.Reason
		agreement outcome.Outcome
		steps     int
		rounds    int
		failed    int   // the failing party, with ReasonError
		err       error // the error it failed with
	}{
		{
			name:    "bilateral agreement",
			parties: []mechanism.Negotiator{play(offer(o1)), play(accept)},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonAgreement, agreement: o1, steps: 2, rounds: 1,
		},
		{
			name:    "bilateral counter-offer accepted",
			parties: []mechanism.Negotiator{play(offer(o0), accept), play(offer(o5))},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonAgreement, agreement: o5, steps: 3, rounds: 2,
		},
		{
			name:    "three parties all accept",
			parties: []mechanism.Negotiator{play(offer(o2)), play(accept), play(accept)},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonAgreement, agreement: o2, steps: 3, rounds: 1,
		},
		{
			// One acceptance is not enough with three parties: party 2's
			// counter-offer replaces o1, which party 1 alone accepted.
			name:    "three parties, one acceptance",
			parties: []mechanism.Negotiator{play(offer(o1), accept), play(accept), play(offer(o2))},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonAgreement, agreement: o2, steps: 5, rounds: 2,
		},
		{
			// Party 2 offers o1 again: party 1's acceptance is cleared, so
			// party 0's acceptance alone does not agree; party 1's second does.
			name:    "new offer resets acceptances",
			parties: []mechanism.Negotiator{play(offer(o1), accept), play(accept), play(offer(o1))},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonAgreement, agreement: o1, steps: 5, rounds: 2,
		},
		{
			name:    "deadline in rounds",
			parties: []mechanism.Negotiator{play(offer(o0)), play(offer(o5))},
			cfg:     mechanism.Config{Rounds: 3},
			reason:  mechanism.ReasonDeadline, steps: 6, rounds: 3,
		},
		{
			name:    "deadline in rounds, three parties",
			parties: []mechanism.Negotiator{play(offer(o0)), play(accept), play(offer(o5))},
			cfg:     mechanism.Config{Rounds: 2},
			reason:  mechanism.ReasonDeadline, steps: 6, rounds: 2,
		},
		{
			name:    "deadline in one round",
			parties: []mechanism.Negotiator{play(offer(o0)), play(offer(o5))},
			cfg:     mechanism.Config{Rounds: 1},
			reason:  mechanism.ReasonDeadline, steps: 2, rounds: 1,
		},
		{
			name:    "agreement on the last step",
			parties: []mechanism.Negotiator{play(offer(o0)), play(offer(o5), offer(o5), accept)},
			cfg:     mechanism.Config{Rounds: 3},
			reason:  mechanism.ReasonAgreement, agreement: o0, steps: 6, rounds: 3,
		},
		{
			name:    "end",
			parties: []mechanism.Negotiator{play(offer(o0)), play(end)},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonEnded, steps: 2, rounds: 1,
		},
		{
			name:    "end on the first turn",
			parties: []mechanism.Negotiator{play(end), play(accept)},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonEnded, steps: 1, rounds: 1,
		},
		{
			name:    "error",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{turn: 1, fail: returnErr}},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, steps: 3, rounds: 2, failed: 1, err: errBoom,
		},
		{
			name:    "panic",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{turn: 0, fail: doPanic}},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, steps: 1, rounds: 1, failed: 1, err: mechanism.ErrPanic,
		},
		{
			name:    "error in init",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{init: true, fail: returnErr}},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, failed: 1, err: errBoom,
		},
		{
			name:    "panic in init",
			parties: []mechanism.Negotiator{&faulty{init: true, fail: doPanic}, play(offer(o0))},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, failed: 0, err: mechanism.ErrPanic,
		},
		{
			name:    "offer out of range",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{fail: act(offer(outcome.Outcome{3, 0}))}},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, steps: 1, rounds: 1, failed: 1, err: mechanism.ErrInvalidOffer,
		},
		{
			name:    "negative value",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{fail: act(offer(outcome.Outcome{0, -1}))}},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, steps: 1, rounds: 1, failed: 1, err: outcome.ErrOutOfRange,
		},
		{
			name:    "offer too short",
			parties: []mechanism.Negotiator{&faulty{fail: act(offer(outcome.Outcome{0}))}, play(accept)},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, rounds: 1, failed: 0, err: mechanism.ErrInvalidOffer,
		},
		{
			name:    "nil offer",
			parties: []mechanism.Negotiator{play(offer(o0)), play(offer(nil))},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, steps: 1, rounds: 1, failed: 1, err: mechanism.ErrInvalidOffer,
		},
		{
			name:    "accept with nothing on the table",
			parties: []mechanism.Negotiator{play(accept), play(accept)},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, rounds: 1, failed: 0, err: mechanism.ErrNoOffer,
		},
		{
			name:    "unknown action",
			parties: []mechanism.Negotiator{play(offer(o0)), play(mechanism.Action{Kind: 7})},
			cfg:     mechanism.Config{Rounds: 10},
			reason:  mechanism.ReasonError, steps: 1, rounds: 1, failed: 1, err: mechanism.ErrInvalidAction,
		},
		{
			name:    "agreement before the time deadline",
			parties: []mechanism.Negotiator{play(offer(o0), offer(o1)), play(offer(o5), accept)},
			cfg:     mechanism.Config{Time: time.Minute},
			reason:  mechanism.ReasonAgreement, agreement: o1, steps: 4, rounds: 2,
		},
		{
			name:    "within the turn limit",
			parties: []mechanism.Negotiator{play(offer(o0), offer(o1)), play(offer(o5), accept)},
			cfg:     mechanism.Config{Rounds: 10, TurnLimit: time.Minute},
			reason:  mechanism.ReasonAgreement, agreement: o1, steps: 4, rounds: 2,
		},
		{
			name:    "turn limit exceeded",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{turn: 2, fail: block(t)}},
			cfg:     mechanism.Config{Rounds: 10, TurnLimit: 20 * time.Millisecond},
			reason:  mechanism.ReasonError, steps: 5, rounds: 3, failed: 1, err: mechanism.ErrTimeout,
		},
		{
			name:    "turn limit exceeded in init",
			parties: []mechanism.Negotiator{&faulty{init: true, fail: block(t)}, play(offer(o0))},
			cfg:     mechanism.Config{Rounds: 10, TurnLimit: 20 * time.Millisecond},
			reason:  mechanism.ReasonError, failed: 0, err: mechanism.ErrTimeout,
		},
		{
			name:    "panic with a turn limit",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{turn: 1, fail: doPanic}},
			cfg:     mechanism.Config{Rounds: 10, TurnLimit: time.Minute},
			reason:  mechanism.ReasonError, steps: 3, rounds: 2, failed: 1, err: mechanism.ErrPanic,
		},
		{
			name:    "error with a turn limit",
			parties: []mechanism.Negotiator{play(offer(o0)), &faulty{init: true, fail: returnErr}},
			cfg:     mechanism.Config{Rounds: 10, TurnLimit: time.Minute},
			reason:  mechanism.ReasonError, failed: 1, err: errBoom,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := profiles(t, s, len(tt.parties), 0.25, 1)
			res, err := mechanism.Run(context.Background(), ps, tt.parties, tt.cfg)
			if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if res.Reason != tt.reason {
				t.Fatalf("Reason = %q (err %v), want %q", res.Reason, res.Err, tt.reason)
			}
			if !reflect.DeepEqual(res.Agreement, tt.agreement) {
				t.Errorf("Agreement = %v, want %v", res.Agreement, tt.agreement)
			}
			if res.Steps != tt.steps || res.Rounds != tt.rounds {
				t.Errorf("Steps, Rounds = %d, %d, want %d, %d", res.Steps, res.Rounds, tt.steps, tt.rounds)
			}
			if tt.reason != mechanism.ReasonError {
				if res.Err != nil {
					t.Errorf("Err = %v, want nil", res.Err)
				}
				return
			}
			var pe *mechanism.PartyError
			if !errors.As(res.Err, &pe) {
				t.Fatalf("Err = %#v, want a *PartyError", res.Err)
			}
			if pe.Party != tt.failed {
				t.Errorf("failed party = %d, want %d (%v)", pe.Party, tt.failed, res.Err)
			}
			if !errors.Is(res.Err, tt.err) {
				t.Errorf("Err = %v, want %v", res.Err, tt.err)
			}
			for i, u := range res.Utilities {
				if u != 0.25 {
					t.Errorf("Utilities[%d] = %v, want the reserved value 0.25", i, u)
				}
			}
		})
	}
}

func TestPanicError(t *testing.T) {
	s := fruit(t)
	res, err := mechanism.Run(context.Background(), profiles(t, s, 2, 0, 1),
		[]mechanism.Negotiator{play(offer(o0)), &faulty{fail: func() (mechanism.Action, error) { panic(errBoom) }}},
		mechanism.Config{Rounds: 10})
	if err != nil {
		t.Fatal(err)
	}
	var pe *mechanism.PanicError
	if !errors.As(res.Err, &pe) || pe.Value != errBoom || len(pe.Stack) == 0 {
		t.Fatalf("Err = %#v, want a *PanicError with value and stack", res.Err)
	}
	if !errors.Is(res.Err, errBoom) || !errors.Is(res.Err, mechanism.ErrPanic) {
		t.Errorf("Err = %v, want it to match errBoom and ErrPanic", res.Err)
	}
	if got, want := res.Err.Error(), "mechanism: party 1: panic: boom"; got != want {
		t.Errorf("Err.Error() = %q, want %q", got, want)
	}
}

// TestState checks what negotiators are told: Info once, then the state
// of every turn, with t = step/(Rounds·n).
func TestState(t *testing.T) {
	s := fruit(t)
	a, b, c := play(offer(o0)), play(accept), play(offer(o5))
	_, err := mechanism.Run(context.Background(), profiles(t, s, 3, 0, 1),
		[]mechanism.Negotiator{a, b, c}, mechanism.Config{Rounds: 2, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[uint64]bool{}
	for i, sc := range []*script{a, b, c} {
		want := mechanism.Info{Party: i, Parties: 3, Profile: sc.info.Profile, Rounds: 2, Seed: mechanism.PartySeed(7, i)}
		if sc.info != want || sc.info.Profile == nil {
			t.Errorf("party %d: Info = %+v, want %+v", i, sc.info, want)
		}
		seeds[sc.info.Seed] = true
	}
	if len(seeds) != 3 {
		t.Errorf("seeds %v are not distinct", seeds)
	}
	want := []mechanism.State{
		{Round: 0, Step: 1, Time: 1.0 / 6, Offer: o0, Proposer: 0},
		{Round: 1, Step: 4, Time: 4.0 / 6, Offer: o0, Proposer: 0},
	}
	if !reflect.DeepEqual(b.states, want) {
		t.Errorf("party 1 states = %+v, want %+v", b.states, want)
	}
	want = []mechanism.State{
		{Round: 0, Step: 0, Time: 0, Offer: nil, Proposer: -1},
		{Round: 1, Step: 3, Time: 3.0 / 6, Offer: o5, Proposer: 2},
	}
	if !reflect.DeepEqual(a.states, want) {
		t.Errorf("party 0 states = %+v, want %+v", a.states, want)
	}
}

// sleeper offers o0 after sleeping d.
type sleeper struct{ d time.Duration }

func (s sleeper) Init(mechanism.Info) error { return nil }

func (s sleeper) Act(mechanism.State) (mechanism.Action, error) {
	time.Sleep(s.d)
	return offer(o0), nil
}

func TestDeadlineTime(t *testing.T) {
	s := fruit(t)
	tests := []struct {
		name    string
		parties []mechanism.Negotiator
		cfg     mechanism.Config
	}{
		{"sleeping", []mechanism.Negotiator{sleeper{5 * time.Millisecond}, play(offer(o5))},
			mechanism.Config{Time: 50 * time.Millisecond}},
		{"time before rounds", []mechanism.Negotiator{sleeper{5 * time.Millisecond}, play(offer(o5))},
			mechanism.Config{Time: 50 * time.Millisecond, Rounds: 1 << 30}},
		// The turn limit is longer than the time left: the time deadline ends the wait.
		{"stuck with a turn limit", []mechanism.Negotiator{play(offer(o0)), &faulty{turn: 1, fail: block(t)}},
			mechanism.Config{Time: 50 * time.Millisecond, TurnLimit: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := mechanism.Run(context.Background(), profiles(t, s, 2, 0.5, 0.5), tt.parties, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Reason != mechanism.ReasonDeadline || res.Time != 1 || res.Steps == 0 {
				t.Fatalf("Reason, Time, Steps = %q, %v, %d (err %v), want deadline, 1, some steps", res.Reason, res.Time, res.Steps, res.Err)
			}
			if res.Utilities[0] != 0.25 {
				t.Errorf("Utilities[0] = %v, want rv·d = 0.25", res.Utilities[0])
			}
		})
	}
}

// TestDiscount checks u·d^t of the agreement at the time of the accepting
// turn, and rv·d^t at the end otherwise.
func TestDiscount(t *testing.T) {
	s := fruit(t)
	const d, rv = 0.5, 0.3
	tests := []struct {
		name    string
		parties []mechanism.Negotiator
		t       float64
		want    []float64
	}{
		// Party 1 accepts o1 on step 3 of 8.
		{"agreement", []mechanism.Negotiator{play(offer(o1)), play(offer(o5), accept)}, 3.0 / 8,
			[]float64{0.8 * math.Pow(d, 3.0/8), 0.2 * math.Pow(d, 3.0/8)}},
		{"deadline", []mechanism.Negotiator{play(offer(o1)), play(offer(o5))}, 1,
			[]float64{rv * d, rv * d}},
		{"ended", []mechanism.Negotiator{play(offer(o1)), play(offer(o5), offer(o5), end)}, 5.0 / 8,
			[]float64{rv * math.Pow(d, 5.0/8), rv * math.Pow(d, 5.0/8)}},
		{"error", []mechanism.Negotiator{play(offer(o1)), &faulty{turn: 1, fail: returnErr}}, 3.0 / 8,
			[]float64{rv * math.Pow(d, 3.0/8), rv * math.Pow(d, 3.0/8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := mechanism.Run(context.Background(), profiles(t, s, 2, rv, d), tt.parties, mechanism.Config{Rounds: 4})
			if err != nil {
				t.Fatal(err)
			}
			if res.Time != tt.t {
				t.Errorf("Time = %v, want %v", res.Time, tt.t)
			}
			for i := range tt.want {
				if math.Abs(res.Utilities[i]-tt.want[i]) > 1e-12 {
					t.Errorf("Utilities[%d] = %v, want %v", i, res.Utilities[i], tt.want[i])
				}
			}
		})
	}
}

// random offers random outcomes and accepts one time in four, drawing from
// its Info.Seed.
type random struct {
	space *outcome.Space
	rng   *rand.Rand
}

func (r *random) Init(info mechanism.Info) error {
	r.space = info.Profile.Space()
	r.rng = rand.New(rand.NewPCG(info.Seed, 0))
	return nil
}

func (r *random) Act(s mechanism.State) (mechanism.Action, error) {
	if s.Offer != nil && r.rng.IntN(4) == 0 {
		return accept, nil
	}
	o := make(outcome.Outcome, len(r.space.Issues))
	for i, is := range r.space.Issues {
		o[i] = r.rng.IntN(is.Len())
	}
	return offer(o), nil
}

func TestReproducible(t *testing.T) {
	s := fruit(t)
	ps := profiles(t, s, 3, 0, 1)
	runSeed := func(seed uint64) *mechanism.Result {
		res, err := mechanism.Run(context.Background(), ps,
			[]mechanism.Negotiator{&random{}, &random{}, &random{}},
			mechanism.Config{Rounds: 50, Seed: seed, Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		res.Elapsed, res.Setup = 0, 0
		for k := range res.Trace {
			res.Trace[k].Elapsed = 0
		}
		return res
	}
	a, b := runSeed(42), runSeed(42)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs with seed 42 differ:\n%+v\n%+v", a, b)
	}
	if len(a.Trace) < 3 {
		t.Fatalf("trace has %d events, want a longer negotiation", len(a.Trace))
	}
	if c := runSeed(43); reflect.DeepEqual(a.Trace, c.Trace) {
		t.Errorf("seeds 42 and 43 give the same trace")
	}
}

func TestTrace(t *testing.T) {
	s := fruit(t)
	ps := profiles(t, s, 3, 0, 1)
	res, err := mechanism.Run(context.Background(), ps,
		[]mechanism.Negotiator{play(offer(o1), accept), play(accept, end), play(offer(o2))},
		mechanism.Config{Rounds: 10, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []mechanism.Event{
		{Round: 0, Step: 0, Party: 0, Kind: mechanism.Offer, Outcome: o1, Utilities: []float64{0.8, 0.2, 1}},
		{Round: 0, Step: 1, Party: 1, Kind: mechanism.Accept, Outcome: o1, Utilities: []float64{0.8, 0.2, 1}},
		{Round: 0, Step: 2, Party: 2, Kind: mechanism.Offer, Outcome: o2, Utilities: []float64{0.6, 0.4, 0.5}},
		{Round: 1, Step: 3, Party: 0, Kind: mechanism.Accept, Outcome: o2, Utilities: []float64{0.6, 0.4, 0.5}},
		{Round: 1, Step: 4, Party: 1, Kind: mechanism.End},
	}
	if len(res.Trace) != len(want) {
		t.Fatalf("trace has %d events, want %d: %+v", len(res.Trace), len(want), res.Trace)
	}
	for k := range want {
		got := res.Trace[k]
		got.Time, got.Elapsed = 0, 0
		if !reflect.DeepEqual(got, want[k]) {
			t.Errorf("event %d = %+v, want %+v", k, got, want[k])
		}
		if k > 0 && res.Trace[k].Elapsed < res.Trace[k-1].Elapsed {
			t.Errorf("event %d has Elapsed %v before event %d's %v", k, res.Trace[k].Elapsed, k-1, res.Trace[k-1].Elapsed)
		}
	}
	if res.Reason != mechanism.ReasonEnded || res.Steps != len(want) {
		t.Errorf("Reason, Steps = %q, %d, want ended, %d", res.Reason, res.Steps, len(want))
	}
}

// TestTraceOwnsOutcomes checks that the trace and the agreement are copies:
// a negotiator that reuses its offer's slice does not rewrite history.
func TestTraceOwnsOutcomes(t *testing.T) {
	s := fruit(t)
	buf := outcome.Outcome{0, 0}
	res, err := mechanism.Run(context.Background(), profiles(t, s, 2, 0, 1),
		[]mechanism.Negotiator{play(offer(buf)), play(offer(o5), accept)},
		mechanism.Config{Rounds: 10, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	buf[0] = 2
	if !reflect.DeepEqual(res.Agreement, o0) || !reflect.DeepEqual(res.Trace[0].Outcome, o0) {
		t.Errorf("Agreement, Trace[0].Outcome = %v, %v after the offer changed, want %v", res.Agreement, res.Trace[0].Outcome, o0)
	}
}

func TestGolden(t *testing.T) {
	s := fruit(t)
	res, err := mechanism.Run(context.Background(), profiles(t, s, 3, 0.1, 0.9),
		[]mechanism.Negotiator{play(offer(o1), accept), play(accept, offer(o5), accept), play(offer(o2), accept)},
		mechanism.Config{Rounds: 10, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != mechanism.ReasonAgreement {
		t.Fatalf("Reason = %q, want agreement", res.Reason)
	}
	res.Elapsed, res.Setup = 0, 0
	names := []string{"apple lover", "plum lover", "pear, lover"}
	for _, tt := range []struct {
		file  string
		names []string
		write func(*mechanism.Result, *bytes.Buffer, []string) error
	}{
		{"agreement.json", names, func(r *mechanism.Result, b *bytes.Buffer, n []string) error { return r.WriteJSON(b, s, n) }},
		{"agreement.csv", names, func(r *mechanism.Result, b *bytes.Buffer, n []string) error { return r.WriteCSV(b, s, n) }},
		{"unnamed.csv", nil, func(r *mechanism.Result, b *bytes.Buffer, n []string) error { return r.WriteCSV(b, s, n) }},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(res, &b, tt.names); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, b.Bytes())
		})
	}

	res, err = mechanism.Run(context.Background(), profiles(t, s, 2, 0.1, 0.9),
		[]mechanism.Negotiator{play(offer(o1)), play(offer(o5), end)},
		mechanism.Config{Rounds: 10, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	res.Elapsed, res.Setup = 0, 0
	var b bytes.Buffer
	if err := res.WriteJSON(&b, s, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "ended.json", b.Bytes())
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", file, got)
	}
}

func TestWriteErrors(t *testing.T) {
	s := fruit(t)
	res, err := mechanism.Run(context.Background(), profiles(t, s, 2, 0, 1),
		[]mechanism.Negotiator{play(offer(o1)), play(accept)}, mechanism.Config{Rounds: 1, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := outcome.NewSpace("small", outcome.NewDiscrete("fruit", "apple"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteJSON(&b, s, []string{"one"}); !errors.Is(err, mechanism.ErrInvalid) {
		t.Errorf("WriteJSON with one name = %v, want ErrInvalid", err)
	}
	if err := res.WriteCSV(&b, other, nil); !errors.Is(err, outcome.ErrOutOfRange) {
		t.Errorf("WriteCSV on another space = %v, want ErrOutOfRange", err)
	}
}

func TestRunErrors(t *testing.T) {
	s := fruit(t)
	other, err := outcome.NewSpace("other", outcome.NewDiscrete("fruit", "apple", "pear", "plum"))
	if err != nil {
		t.Fatal(err)
	}
	two := profiles(t, s, 2, 0, 1)
	f, err := utility.NewTable(other, []float64{0, 0.5, 1})
	if err != nil {
		t.Fatal(err)
	}
	mixed := []*utility.Profile{{Func: f}, two[1]}
	negs := []mechanism.Negotiator{play(end), play(end)}
	tests := []struct {
		name     string
		profiles []*utility.Profile
		negs     []mechanism.Negotiator
		cfg      mechanism.Config
	}{
		{"lengths", two, negs[:1], mechanism.Config{Rounds: 1}},
		{"one party", two[:1], negs[:1], mechanism.Config{Rounds: 1}},
		{"no deadline", two, negs, mechanism.Config{}},
		{"no deadline with turn limit", two, negs, mechanism.Config{TurnLimit: time.Second}},
		{"negative rounds", two, negs, mechanism.Config{Rounds: -1, Time: time.Second}},
		{"negative time", two, negs, mechanism.Config{Rounds: 1, Time: -1}},
		{"negative turn limit", two, negs, mechanism.Config{Rounds: 1, TurnLimit: -1}},
		{"too many rounds", two, negs, mechanism.Config{Rounds: math.MaxInt}},
		{"nil profile", []*utility.Profile{two[0], nil}, negs, mechanism.Config{Rounds: 1}},
		{"nil negotiator", two, []mechanism.Negotiator{negs[0], nil}, mechanism.Config{Rounds: 1}},
		{"different spaces", mixed, negs, mechanism.Config{Rounds: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := mechanism.Run(context.Background(), tt.profiles, tt.negs, tt.cfg)
			if !errors.Is(err, mechanism.ErrInvalid) || res != nil {
				t.Errorf("Run() = %v, %v, want nil, ErrInvalid", res, err)
			}
		})
	}

	// An equal space built separately is the same space.
	copied, err := outcome.NewSpace("fruit copy", s.Issues...)
	if err != nil {
		t.Fatal(err)
	}
	ps := append(profiles(t, copied, 1, 0, 1), two[1])
	if _, err := mechanism.Run(context.Background(), ps, negs, mechanism.Config{Rounds: 1}); err != nil {
		t.Errorf("Run() on equal spaces: %v", err)
	}
}

// canceler cancels the run's context on its turn number turn.
type canceler struct {
	turn, n int
	cancel  context.CancelFunc
}

func (c *canceler) Init(mechanism.Info) error { return nil }

func (c *canceler) Act(mechanism.State) (mechanism.Action, error) {
	if c.n++; c.n-1 == c.turn {
		c.cancel()
	}
	return offer(o0), nil
}

func TestCancel(t *testing.T) {
	s := fruit(t)
	ps := profiles(t, s, 2, 0, 1)
	t.Run("between turns", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &canceler{turn: 3, cancel: cancel}
		res, err := mechanism.Run(ctx, ps, []mechanism.Negotiator{c, play(offer(o5))}, mechanism.Config{Rounds: 100})
		if !errors.Is(err, context.Canceled) || res != nil {
			t.Fatalf("Run() = %v, %v, want nil, context.Canceled", res, err)
		}
		if c.n != 4 {
			t.Errorf("party 0 acted %d times after cancelling on its 4th turn", c.n)
		}
	})
	t.Run("waiting with a turn limit", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		res, err := mechanism.Run(ctx, ps,
			[]mechanism.Negotiator{play(offer(o0)), &faulty{turn: 1, fail: block(t)}},
			mechanism.Config{Rounds: 100, TurnLimit: time.Minute})
		if !errors.Is(err, context.DeadlineExceeded) || res != nil {
			t.Fatalf("Run() = %v, %v, want nil, context.DeadlineExceeded", res, err)
		}
	})
	t.Run("before init", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		a := play(end)
		if _, err := mechanism.Run(ctx, ps, []mechanism.Negotiator{a, play(end)}, mechanism.Config{Rounds: 1}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run() error = %v, want context.Canceled", err)
		}
		if a.info.Parties != 0 {
			t.Errorf("Init was called on a canceled context")
		}
	})
}

// TestNoAllocationPerStep checks that a run's allocations do not grow
// with its length: the hot path allocates nothing.
func TestNoAllocationPerStep(t *testing.T) {
	s := fruit(t)
	ps := profiles(t, s, 2, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, cfg := range []mechanism.Config{
		{Rounds: 10},
		{Rounds: 10, Time: time.Hour},
		{Rounds: 10, TurnLimit: time.Hour},
	} {
		allocs := func(rounds int) float64 {
			cfg.Rounds = rounds
			return testing.AllocsPerRun(20, func() {
				a, b := play(offer(o0)), play(offer(o5))
				a.states = make([]mechanism.State, 0, 2*rounds)
				b.states = make([]mechanism.State, 0, 2*rounds)
				if _, err := mechanism.Run(ctx, ps, []mechanism.Negotiator{a, b}, cfg); err != nil {
					t.Fatal(err)
				}
			})
		}
		// The helper goroutine of a turn limit may allocate now and
		// then as the scheduler needs; allow that much.
		if short, long := allocs(10), allocs(1000); long > short+1 {
			t.Errorf("%+v: %v allocations for 10 rounds, %v for 1000", cfg, short, long)
		}
	}
}

// TestTimeState checks the relative time under a deadline in time only:
// it starts at 0, never decreases, and stays below 1 before the deadline.
func TestTimeState(t *testing.T) {
	s := fruit(t)
	a, b := play(offer(o0)), play(offer(o5), offer(o5), offer(o5), offer(o5), accept)
	res, err := mechanism.Run(context.Background(), profiles(t, s, 2, 0, 1),
		[]mechanism.Negotiator{a, b}, mechanism.Config{Time: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != mechanism.ReasonAgreement || res.Steps != 10 {
		t.Fatalf("Reason, Steps = %q, %d, want agreement, 10", res.Reason, res.Steps)
	}
	prev := -1.0
	for k, st := range b.states {
		if st.Time < prev || st.Time >= 1 {
			t.Errorf("turn %d: Time = %v after %v", k, st.Time, prev)
		}
		prev = st.Time
	}
	if a.states[0].Time != 0 {
		t.Errorf("first turn: Time = %v, want 0", a.states[0].Time)
	}
}
