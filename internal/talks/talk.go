package talks

import (
	"strings"
	"time"

	"github.com/backchannel/backchannel/outcome"
)

// Status is the state of a talk.
type Status string

// The states of a talk.
const (
	StatusOpen   Status = "open"
	StatusAgreed Status = "agreed"
	StatusClosed Status = "closed"
	// StatusRatified: agreed, and every stakeholder ratified the agreement.
	StatusRatified Status = "ratified"
)

// Valid reports whether s is one of the defined states.
func (s Status) Valid() bool {
	return s == StatusOpen || s == StatusAgreed || s == StatusClosed || s == StatusRatified
}

// Talk is a negotiation between parties over an outcome space.
type Talk struct {
	ID          int64
	Title       string
	Description string

	// Space is what the talk is about. It may be nil until defined.
	Space *outcome.Space

	Status     Status
	ConvenerID int64 // the user who convened the talk
	CreatedAt  time.Time
}

// Validate reports an EINVALID error for a talk without a title or with a
// malformed outcome space or status.
func (t *Talk) Validate() error {
	if strings.TrimSpace(t.Title) == "" {
		return Errorf(EINVALID, "Talk title required.")
	}
	if t.Status != "" && !t.Status.Valid() {
		return Errorf(EINVALID, "Talk status %q is not open, agreed, closed or ratified.", t.Status)
	}
	if t.Space != nil {
		if err := t.Space.Validate(); err != nil {
			return invalidOutcome("outcome space", err)
		}
	}
	return nil
}

// TalkFilter selects talks. Zero fields select everything.
type TalkFilter struct {
	ID     *int64
	UserID *int64 // talks in which this user is a member

	Offset int
	Limit  int
}

// TalkUpdate changes a talk. Nil fields are left as they are.
type TalkUpdate struct {
	Title       *string
	Description *string
	Status      *Status
}

// Party is a side of a talk.
type Party struct {
	ID     int64
	TalkID int64
	Name   string
}

// PartyFilter selects parties.
type PartyFilter struct {
	TalkID int64
}

// Role is what a member does in a talk.
type Role string

// The roles of a member. A facilitator belongs to no party.
const (
	RolePrincipal   Role = "principal"
	RoleEnvoy       Role = "envoy"
	RoleAdvisor     Role = "advisor"
	RoleObserver    Role = "observer"
	RoleFacilitator Role = "facilitator"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	switch r {
	case RolePrincipal, RoleEnvoy, RoleAdvisor, RoleObserver, RoleFacilitator:
		return true
	}
	return false
}

// Member is a user's place in a talk: in a party's delegation with a role,
// or a neutral facilitator (PartyID 0). A user has at most one membership
// per talk.
type Member struct {
	ID      int64
	TalkID  int64
	UserID  int64
	PartyID int64 // 0 for a facilitator
	Role    Role
	// Removed: taken off the talk, or left it (member.removed). It keeps
	// its ID, for what it wrote and answered, and sees nothing of the
	// talk; it is on no track. Added again, it is a member once more.
	Removed bool
}

// Validate reports an EINVALID error for an unknown role, a facilitator in
// a party, or a party role without a party.
func (m *Member) Validate() error {
	switch {
	case !m.Role.Valid():
		return Errorf(EINVALID, "Member role %q is unknown.", m.Role)
	case m.Role == RoleFacilitator && m.PartyID != 0:
		return Errorf(EINVALID, "A facilitator belongs to no party.")
	case m.Role != RoleFacilitator && m.PartyID == 0:
		return Errorf(EINVALID, "A %s belongs to a party.", m.Role)
	case m.UserID == 0:
		return Errorf(EINVALID, "Member user required.")
	}
	return nil
}

// MemberFilter selects members. Zero fields select everything.
type MemberFilter struct {
	TalkID int64
	UserID int64
}

// TrackKind tells the official track of a talk from its back-channels.
type TrackKind string

// The kinds of track.
const (
	TrackOfficial    TrackKind = "official"
	TrackBackchannel TrackKind = "backchannel"
)

// Track is a room of a talk. Every talk has one official track that all its
// members see; a back-channel has an explicit member list.
type Track struct {
	ID     int64
	TalkID int64
	Name   string
	Kind   TrackKind

	// MemberIDs lists the members on a back-channel, in ascending order. It
	// is empty for the official track, which all members are on.
	MemberIDs []int64
}

// HasMember reports whether member id is on the track.
func (t *Track) HasMember(id int64) bool {
	if t.Kind == TrackOfficial {
		return true
	}
	for _, m := range t.MemberIDs {
		if m == id {
			return true
		}
	}
	return false
}

// TrackFilter selects tracks.
type TrackFilter struct {
	TalkID int64
	ID     *int64
}

// Message is a post in a track. Messages are immutable; a retracted
// message stays, marked Retracted, as does its message.posted event.
type Message struct {
	ID        int64
	TrackID   int64
	AuthorID  int64 // a member
	Body      string
	CreatedAt time.Time
	Retracted bool
}

// MessageFilter selects the messages of a track in ascending ID order.
type MessageFilter struct {
	TrackID int64
	AfterID int64 // only messages with a greater ID
	Limit   int   // at most this many; 0 means no limit
	// Latest selects, with Limit, the last Limit messages (the greatest
	// IDs) rather than the first; they still come in ascending order.
	Latest bool
}

// MaxMessageLen is the longest message body in bytes.
const MaxMessageLen = 64 << 10
