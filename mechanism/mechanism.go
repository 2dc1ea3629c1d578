// Package mechanism runs negotiations by the stacked alternating offers
// protocol (SAOP), for two or more parties.
//
// The parties take turns in a fixed order. On its turn a party accepts the
// offer on the table, makes a new offer that replaces it, or ends the
// negotiation. An offer becomes the agreement when every other party has
// accepted it in turn. A deadline in rounds, in wall-clock time, or both,
// ends the negotiation without agreement.
//
// Run plays one negotiation between Negotiators and returns a Result: the
// agreement, each party's discounted utility (u·d^t, or rv·d^t without
// agreement, as in GENIUS), why it ended, and optionally the trace of
// every action, which WriteJSON and WriteCSV write out. Negotiators see
// the relative time t ∈ [0, 1], the elapsed fraction of the deadline.
//
// A negotiator that fails (returns an error, panics, makes an invalid
// move or exceeds the per-turn limit) is removed and the negotiation ends
// with ReasonError and a *PartyError naming it; the process keeps running.
//
// A run is reproducible: each negotiator gets a seed derived from the
// run's seed (PartySeed), and with a deadline in rounds relative time is
// counted in steps, so deterministic negotiators produce the same trace
// for the same seed. Without a time deadline, a per-turn limit or a trace,
// the mechanism reads no clock per step, and it never allocates per step
// without a trace.
package mechanism

import (
	"strconv"
	"time"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Kind is what a party does on its turn.
type Kind int

// The kinds of action.
const (
	Offer  Kind = iota // put Action.Outcome on the table
	Accept             // accept the offer on the table
	End                // end the negotiation without agreement
)

// String returns the kind's name as traces write it: offer, accept or end.
func (k Kind) String() string {
	switch k {
	case Offer:
		return "offer"
	case Accept:
		return "accept"
	case End:
		return "end"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Action is a party's move.
type Action struct {
	Kind Kind
	// Outcome is the offer, for Kind Offer. The mechanism never modifies
	// or copies it, so a negotiator may return a slice it keeps, such as
	// an entry of a precomputed index. It must not modify the slice
	// afterwards: the other parties receive it as State.Offer and may
	// keep it.
	Outcome outcome.Outcome
}

// Info is what a negotiator learns once, before the first turn. Init
// counts against Config.TurnLimit but not against the time deadline.
type Info struct {
	Party   int              // this negotiator's position in the turn order
	Parties int              // number of parties
	Profile *utility.Profile // this negotiator's own preferences, and no one else's
	Rounds  int              // the deadline in rounds, 0 if none
	Time    time.Duration    // the deadline in wall-clock time, 0 if none
	Seed    uint64           // a seed derived from the run's seed, for reproducible randomness
}

// State is what a negotiator sees on its turn.
type State struct {
	Round int     // 0-based; a round is one turn of every party
	Step  int     // 0-based count of turns taken so far
	Time  float64 // relative time t ∈ [0, 1]: the elapsed fraction of the deadline
	// Offer is the offer on the table, nil on the very first turn and
	// until someone offers. It is the proposer's slice: negotiators must
	// not modify it, and may keep it.
	Offer outcome.Outcome
	// Proposer is the party that made Offer, -1 if there is none.
	Proposer int
}

// Negotiator is an automated negotiation party. A negotiator is used by
// one negotiation at a time and need not be safe for concurrent use.
type Negotiator interface {
	// Init is called once before the first turn.
	Init(info Info) error
	// Act is called on each of the negotiator's turns. An error, a panic,
	// an offer outside the outcome space, or exceeding the per-turn time
	// limit removes the negotiator and ends the negotiation.
	Act(s State) (Action, error)
}
