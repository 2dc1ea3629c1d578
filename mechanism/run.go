package mechanism

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"time"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Errors returned by this package. A party's failure is reported as a
// *PartyError that wraps one of the sentinels below, or the error the
// negotiator returned.
var (
	ErrInvalid       = errors.New("mechanism: invalid negotiation")
	ErrTimeout       = errors.New("mechanism: turn time limit exceeded")
	ErrNoOffer       = errors.New("mechanism: accept with no offer on the table")
	ErrInvalidOffer  = errors.New("mechanism: offer outside the outcome space")
	ErrInvalidAction = errors.New("mechanism: unknown action")
	ErrPanic         = errors.New("mechanism: negotiator panicked")
)

// PartyError reports the failure that removed a party from a negotiation.
type PartyError struct {
	Party int   // position of the party in the turn order
	Err   error // what went wrong: an error of the negotiator, or one of this package's sentinels
}

func (e *PartyError) Error() string {
	return fmt.Sprintf("mechanism: party %d: %v", e.Party, e.Err)
}

// Unwrap returns the underlying error.
func (e *PartyError) Unwrap() error { return e.Err }

// PanicError is the error of a negotiator that panicked in Init or Act.
// It matches ErrPanic with errors.Is, and also the panic value if that
// is an error.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns ErrPanic and the panic value if it is an error.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrPanic, err}
	}
	return []error{ErrPanic}
}

// Config sets the deadline, the per-turn limit and the seed of a
// negotiation. At least one of Rounds and Time must be positive.
type Config struct {
	// Rounds is the deadline in rounds: the negotiation ends without
	// agreement after Rounds turns of every party. 0 means none.
	Rounds int
	// Time is the deadline in wall-clock time, counted from the first
	// turn (Init is not counted). 0 means none.
	Time time.Duration
	// TurnLimit bounds each call of Init and Act. A negotiator that
	// exceeds it is removed. 0 means no limit, and then Act is called
	// directly on the caller's goroutine.
	TurnLimit time.Duration
	// Seed is the run's seed. Each party receives its own seed derived
	// from it (Info.Seed), so that the same seed gives the same trace for
	// deterministic negotiators under a deadline in rounds.
	Seed uint64
	// Trace records every action in Result.Trace. It costs allocations,
	// so leave it off for benchmarks and tournaments.
	Trace bool
}

// Reason is why a negotiation ended.
type Reason string

// The reasons a negotiation ends.
const (
	ReasonAgreement Reason = "agreement" // an offer was accepted by every other party
	ReasonDeadline  Reason = "deadline"  // the deadline in rounds or in time passed
	ReasonEnded     Reason = "ended"     // a party ended the negotiation
	ReasonError     Reason = "error"     // a party failed and was removed; see Result.Err
)

// Result is the outcome of a negotiation.
type Result struct {
	// Agreement is the agreed outcome, nil without agreement. It is a
	// copy the caller owns.
	Agreement outcome.Outcome
	// Utilities holds each party's final utility: u·d^t of the agreement
	// at the time t it was reached, or the discounted reserved value
	// rv·d^t at the end time t otherwise.
	Utilities []float64
	// Rounds is the number of rounds begun (the round of the last turn
	// plus one, Config.Rounds at a deadline in rounds), and Steps the
	// number of actions taken. A failed turn is not an action.
	Rounds, Steps int
	// Time is the relative time at the end, the t of Utilities: the time
	// of the turn that accepted, ended or failed, or 1 at a deadline.
	Time float64
	// Elapsed is the wall-clock time from the first turn to the end, and
	// Setup the time spent in the negotiators' Init.
	Elapsed, Setup time.Duration
	Reason         Reason
	// Err is a *PartyError naming the party that failed and why, with
	// ReasonError; nil otherwise.
	Err error
	// Trace holds one event per action if Config.Trace was set.
	Trace []Event
}

// Event records one action: the turn in which a party acted, and what it
// did.
type Event struct {
	Round, Step int
	Time        float64       // the relative time the party saw on its turn
	Elapsed     time.Duration // the wall-clock time from the first turn to this one
	Party       int
	Kind        Kind
	// Outcome is the offer made, or the offer accepted; nil for End.
	Outcome outcome.Outcome
	// Utilities holds every party's undiscounted utility of the offer on
	// the table after this action; nil for End.
	Utilities []float64
}

// Run negotiates between the parties with the given profiles, in turn
// order 0, 1, ..., n-1, 0, 1, ... Negotiator i acts for profiles[i] and
// learns only that profile.
//
// Protocol (SAOP). On its turn a party offers, accepts the offer on the
// table, or ends the negotiation. An offer is agreed when the n−1 other
// parties have accepted it in turn, right after it was made; a new offer
// replaces the one on the table and clears its acceptances. Run ends
// with ReasonDeadline after Config.Rounds full rounds without agreement,
// or when the relative time
//
//	t = max(steps/(Rounds·n), elapsed/Time) (each term only if set)
//
// reaches 1. An action returned after the time deadline is ignored.
// A party is removed, and Run ends with ReasonError and a *PartyError,
// if its Init or Act returns an error or panics, if it offers an outcome
// that fails the space's Check, accepts with no offer on the table,
// returns an unknown Kind, or exceeds Config.TurnLimit.
//
// Costs. Without TurnLimit, Act is called directly: a step costs one
// interface call, a bounds check of offers, no allocation, and no clock
// reading unless Config.Time or Config.Trace is set, so a stuck
// negotiator blocks Run and the time deadline is checked only between
// turns. With TurnLimit, Init and Act run on a helper goroutine and Run
// waits at most TurnLimit, or until the time deadline, for each; a
// negotiator still running then is abandoned on that goroutine, which
// exits when the call returns. Do not reuse such a negotiator.
//
// Run returns an error, and no Result, for bad arguments (wrapping
// ErrInvalid): mismatched lengths, fewer than two parties, a nil
// profile or negotiator, profiles on different spaces, no deadline, or
// a negative deadline or limit. It also returns an error, wrapping
// ctx.Err(), if ctx is done before the end; ctx is checked before every
// turn, and also while waiting for a turn with TurnLimit.
func Run(ctx context.Context, profiles []*utility.Profile, negotiators []Negotiator, cfg Config) (*Result, error) {
	if err := check(profiles, negotiators, cfg); err != nil {
		return nil, err
	}
	r := &run{
		profiles: profiles,
		negs:     negotiators,
		cfg:      cfg,
		space:    profiles[0].Space(),
		ctx:      ctx,
		done:     ctx.Done(),
	}
	r.lens = make([]int, len(r.space.Issues))
	for i, is := range r.space.Issues {
		r.lens[i] = is.Len()
	}
	if cfg.TurnLimit > 0 {
		r.startWorker()
		defer r.stopWorker()
	}
	res, err := r.negotiate()
	if err != nil {
		return nil, fmt.Errorf("mechanism: negotiation stopped: %w", err)
	}
	return res, nil
}

func check(profiles []*utility.Profile, negotiators []Negotiator, cfg Config) error {
	n := len(profiles)
	switch {
	case n != len(negotiators):
		return fmt.Errorf("%w: %d profiles for %d negotiators", ErrInvalid, n, len(negotiators))
	case n < 2:
		return fmt.Errorf("%w: %d parties, need at least 2", ErrInvalid, n)
	case cfg.Rounds < 0 || cfg.Time < 0 || cfg.TurnLimit < 0:
		return fmt.Errorf("%w: negative deadline or turn limit", ErrInvalid)
	case cfg.Rounds == 0 && cfg.Time == 0:
		return fmt.Errorf("%w: no deadline", ErrInvalid)
	case cfg.Rounds > math.MaxInt/n:
		return fmt.Errorf("%w: %d rounds overflow the step count", ErrInvalid, cfg.Rounds)
	}
	for i := range n {
		if profiles[i] == nil || profiles[i].Func == nil || profiles[i].Space() == nil {
			return fmt.Errorf("%w: party %d has no profile", ErrInvalid, i)
		}
		if negotiators[i] == nil {
			return fmt.Errorf("%w: party %d has no negotiator", ErrInvalid, i)
		}
		if !sameSpace(profiles[0].Space(), profiles[i].Space()) {
			return fmt.Errorf("%w: party %d's profile is on space %q, party 0's on %q", ErrInvalid, i, profiles[i].Space().Name, profiles[0].Space().Name)
		}
	}
	return nil
}

// sameSpace reports whether a and b are the same space, or have the same
// issues with the same values in the same order.
func sameSpace(a, b *outcome.Space) bool {
	if a == b {
		return true
	}
	if len(a.Issues) != len(b.Issues) {
		return false
	}
	for i := range a.Issues {
		x, y := &a.Issues[i], &b.Issues[i]
		if x.Name != y.Name || x.Kind != y.Kind || x.Len() != y.Len() {
			return false
		}
		for v := range x.Len() {
			if x.Value(v) != y.Value(v) {
				return false
			}
		}
	}
	return true
}

// PartySeed returns the seed that party i receives in Info.Seed when the
// run's seed is seed: SplitMix64 (Steele, Lea and Flood, 2014) of the
// run's seed advanced i+1 times.
func PartySeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// run is the state of one negotiation.
type run struct {
	profiles []*utility.Profile
	negs     []Negotiator
	cfg      Config
	space    *outcome.Space
	lens     []int // number of values of each issue
	ctx      context.Context
	done     <-chan struct{} // ctx.Done(), nil if ctx cannot be canceled
	start    time.Time       // the first turn

	// With a TurnLimit, calls run on a helper goroutine.
	calls   chan call
	replies chan reply
	timer   *time.Timer

	// With Trace, events share these backing arrays, which only grow:
	// an event's slices stay valid when a later append reallocates.
	outcomes []int
	utils    []float64
}

func (r *run) negotiate() (*Result, error) {
	n := len(r.negs)
	res := &Result{}

	setup := time.Now()
	for i, neg := range r.negs {
		info := Info{
			Party:   i,
			Parties: n,
			Profile: r.profiles[i],
			Rounds:  r.cfg.Rounds,
			Time:    r.cfg.Time,
			Seed:    PartySeed(r.cfg.Seed, i),
		}
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if r.calls != nil {
			rep, st := r.call(call{party: i, init: true, info: info}, r.cfg.TurnLimit)
			switch st {
			case canceled:
				return nil, r.ctx.Err()
			case timedOut:
				err = ErrTimeout
			default:
				err = rep.err
			}
		} else {
			err = initSafely(neg, info)
		}
		if err != nil {
			res.Setup = time.Since(setup)
			return r.fail(res, i, fmt.Errorf("init: %w", err), 0), nil
		}
	}
	r.start = time.Now()
	res.Setup = r.start.Sub(setup)

	var (
		maxSteps = r.cfg.Rounds * n
		timed    = r.cfg.Time > 0
		clock    = timed || r.cfg.Trace
		offer    outcome.Outcome
		proposer = -1
		accepts  int
		party    int
		round    int
		step     int
		t        float64
		elapsed  time.Duration
	)
	if r.cfg.Trace && maxSteps > 0 {
		r.outcomes = make([]int, 0, min(maxSteps, 1<<12)*len(r.lens))
		r.utils = make([]float64, 0, min(maxSteps, 1<<12)*n)
		res.Trace = make([]Event, 0, min(maxSteps, 1<<12))
	}
	for {
		if (maxSteps > 0 && step == maxSteps) || (timed && elapsed >= r.cfg.Time) {
			res.Reason, t = ReasonDeadline, 1
			break
		}
		if r.done != nil {
			select {
			case <-r.done:
				return nil, r.ctx.Err()
			default:
			}
		}
		res.Rounds = round + 1

		s := State{Round: round, Step: step, Time: t, Offer: offer, Proposer: proposer}
		var (
			a   Action
			err error
		)
		if r.calls != nil {
			limit := r.cfg.TurnLimit
			if timed {
				limit = min(limit, r.cfg.Time-elapsed)
			}
			rep, st := r.call(call{party: party, state: s}, limit)
			switch {
			case st == canceled:
				return nil, r.ctx.Err()
			case st == timedOut && limit < r.cfg.TurnLimit:
				// The time deadline came first.
				res.Reason, t = ReasonDeadline, 1
			case st == timedOut:
				err = ErrTimeout
			default:
				a, err = rep.action, rep.err
			}
			if res.Reason == ReasonDeadline {
				break
			}
		} else {
			a, err = actSafely(r.negs[party], s)
		}
		turnElapsed := elapsed
		if clock {
			elapsed = time.Since(r.start)
		}
		if err != nil {
			return r.fail(res, party, err, t), nil
		}
		if timed && elapsed >= r.cfg.Time {
			res.Reason, t = ReasonDeadline, 1
			break
		}

		switch a.Kind {
		case Offer:
			if !r.valid(a.Outcome) {
				return r.fail(res, party, fmt.Errorf("%w: %w", ErrInvalidOffer, r.space.Check(a.Outcome)), t), nil
			}
			offer, proposer, accepts = a.Outcome, party, 0
		case Accept:
			if offer == nil {
				return r.fail(res, party, ErrNoOffer, t), nil
			}
			accepts++
		case End:
		default:
			return r.fail(res, party, fmt.Errorf("%w: kind %d", ErrInvalidAction, a.Kind), t), nil
		}
		if r.cfg.Trace {
			r.record(res, Event{Round: round, Step: step, Time: t, Elapsed: turnElapsed, Party: party, Kind: a.Kind}, offer)
		}
		step++
		res.Steps = step
		if a.Kind == End {
			res.Reason = ReasonEnded
			break
		}
		if accepts == n-1 {
			res.Reason = ReasonAgreement
			res.Agreement = offer.Clone()
			break
		}
		if party++; party == n {
			party = 0
			round++
		}
		if maxSteps > 0 {
			t = float64(step) / float64(maxSteps)
		}
		if timed {
			t = min(max(t, float64(elapsed)/float64(r.cfg.Time)), 1)
		}
	}
	res.Elapsed = time.Since(r.start)
	r.settle(res, t)
	return res, nil
}

// valid reports whether o is an outcome of the space, as Space.Check
// does, without its cost of recomputing each issue's size.
func (r *run) valid(o outcome.Outcome) bool {
	if len(o) != len(r.lens) {
		return false
	}
	for i, v := range o {
		if uint(v) >= uint(r.lens[i]) {
			return false
		}
	}
	return true
}

// fail ends the negotiation at relative time t because party failed.
func (r *run) fail(res *Result, party int, err error, t float64) *Result {
	res.Reason = ReasonError
	res.Err = &PartyError{Party: party, Err: err}
	if !r.start.IsZero() {
		res.Elapsed = time.Since(r.start)
	}
	r.settle(res, t)
	return res
}

// settle sets the end time and each party's final utility.
func (r *run) settle(res *Result, t float64) {
	res.Time = t
	res.Utilities = make([]float64, len(r.profiles))
	for i, p := range r.profiles {
		if res.Agreement != nil {
			res.Utilities[i] = p.UtilityAt(res.Agreement, t)
		} else {
			res.Utilities[i] = p.ReservedAt(t)
		}
	}
}

// record appends an event for the action just taken; offer is the offer
// on the table after it.
func (r *run) record(res *Result, e Event, offer outcome.Outcome) {
	if e.Kind != End {
		// An acceptance shares the outcome and utilities of the event
		// before it, which made or accepted the same offer.
		if k := len(res.Trace) - 1; e.Kind == Accept && k >= 0 && res.Trace[k].Outcome != nil {
			e.Outcome, e.Utilities = res.Trace[k].Outcome, res.Trace[k].Utilities
		} else {
			m := len(r.outcomes)
			r.outcomes = append(r.outcomes, offer...)
			e.Outcome = outcome.Outcome(r.outcomes[m:len(r.outcomes):len(r.outcomes)])
			m = len(r.utils)
			for _, p := range r.profiles {
				r.utils = append(r.utils, p.Utility(offer))
			}
			e.Utilities = r.utils[m:len(r.utils):len(r.utils)]
		}
	}
	res.Trace = append(res.Trace, e)
}

func initSafely(neg Negotiator, info Info) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return neg.Init(info)
}

func actSafely(neg Negotiator, s State) (a Action, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return neg.Act(s)
}
