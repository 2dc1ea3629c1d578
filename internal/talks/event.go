package talks

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/backchannel/backchannel/outcome"
)

// Event types. Each has a payload type below.
const (
	EventTalkCreated        = "talk.created"
	EventTalkUpdated        = "talk.updated"
	EventPartyAdded         = "party.added"
	EventMemberAdded        = "member.added"
	EventMemberRoleChanged  = "member.role_changed"
	EventMemberRemoved      = "member.removed"
	EventTrackCreated       = "track.created"
	EventTrackMemberAdded   = "track.member_added"
	EventTrackMemberRemoved = "track.member_removed"
	EventMessagePosted      = "message.posted"
	EventMessageRetracted   = "message.retracted"
	canonicalEventDomainV1  = "backchannel/event/v1\n"
)

// Event is one change in a talk's log. See the package documentation for
// its canonical encoding and hash.
type Event struct {
	ID       int64 // the sequence number within the talk, 1..n
	TalkID   int64
	Time     time.Time // UTC, truncated to the microsecond
	ActorID  int64     // the acting user; 0 for the system
	TrackID  int64     // 0 for a talk-wide event
	Type     string
	Payload  json.RawMessage
	PrevHash [32]byte
	Hash     [32]byte
}

// Timestamp returns t as events record it: in UTC, truncated to the
// microsecond, which every store keeps exactly.
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// NewEvent returns an unsealed event of the given type whose payload is
// the JSON encoding of payload. The store seals it with Seal when it
// appends it.
func NewEvent(talkID, trackID int64, typ string, s Stamp, payload any) (*Event, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	if sg := s.SignatureFor(typ); sg != nil {
		if b, err = withSigned(b, sg); err != nil {
			return nil, fmt.Errorf("encode %s payload: %w", typ, err)
		}
	}
	return &Event{
		TalkID:  talkID,
		Time:    Timestamp(s.Time),
		ActorID: s.ActorID,
		TrackID: trackID,
		Type:    typ,
		Payload: b,
	}, nil
}

// Seal numbers the event as seq, links it to prev (the hash of event
// seq-1, zero for seq 1), and sets its hash.
func (e *Event) Seal(seq int64, prev [32]byte) {
	e.ID = seq
	e.PrevHash = prev
	e.Hash = e.ComputeHash()
}

// TimeString returns the event's time as the canonical encoding has it.
func (e *Event) TimeString() string {
	return Timestamp(e.Time).Format(time.RFC3339Nano)
}

// CanonicalBytes returns the event's canonical encoding (version 1), which
// its hash covers and which a Merkle log takes as the event's leaf. It
// covers every field but Hash.
func (e *Event) CanonicalBytes() []byte {
	return e.AppendCanonical(make([]byte, 0, len(canonicalEventDomainV1)+8*4+4*3+len(time.RFC3339Nano)+len(e.Type)+len(e.Payload)+32))
}

// AppendCanonical appends the event's canonical encoding (CanonicalBytes)
// to b and returns the extended slice, so that a caller encoding many
// events can reuse one buffer.
func (e *Event) AppendCanonical(b []byte) []byte {
	b = append(b, canonicalEventDomainV1...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.TalkID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.ID))
	at := len(b)
	b = Timestamp(e.Time).AppendFormat(append(b, 0, 0, 0, 0), time.RFC3339Nano)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	b = binary.BigEndian.AppendUint64(b, uint64(e.ActorID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.TrackID))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Type)))
	b = append(b, e.Type...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Payload)))
	b = append(b, e.Payload...)
	return append(b, e.PrevHash[:]...)
}

// ComputeHash returns SHA-256 of the event's canonical bytes.
func (e *Event) ComputeHash() [32]byte {
	return sha256.Sum256(e.CanonicalBytes())
}

// ChainError reports the first event at which a log fails verification.
type ChainError struct {
	Seq    int64 // the position (1..n) at which the log fails
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("talks: event log broken at event %d: %s", e.Seq, e.Reason)
}

// VerifyChain checks that events are the complete log of one talk from its
// first event: numbered 1..n without gaps, each hash correct, and each
// PrevHash equal to the previous event's hash. It returns a *ChainError
// for the first failure. It takes O(n) time and the size of the payloads.
func VerifyChain(events []*Event) error {
	var prev [32]byte
	for i, e := range events {
		seq := int64(i + 1)
		switch {
		case e.ID != seq:
			return &ChainError{Seq: seq, Reason: fmt.Sprintf("numbered %d", e.ID)}
		case i > 0 && e.TalkID != events[0].TalkID:
			return &ChainError{Seq: seq, Reason: fmt.Sprintf("belongs to talk %d, not %d", e.TalkID, events[0].TalkID)}
		case e.PrevHash != prev:
			return &ChainError{Seq: seq, Reason: "previous hash does not match"}
		case e.ComputeHash() != e.Hash:
			return &ChainError{Seq: seq, Reason: "hash does not match contents"}
		}
		prev = e.Hash
	}
	return nil
}

// TalkCreated is the payload of a talk.created event. The talk's ID is
// the event's TalkID, its creation time the event's time, and its
// status open.
type TalkCreated struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Space       *outcome.Space `json:"space,omitempty"`
	ConvenerID  int64          `json:"convener_id"`
}

// TalkUpdated is the payload of a talk.updated event. Absent fields are
// unchanged.
type TalkUpdated struct {
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
	Status      *Status `json:"status,omitempty"`
}

// PartyAdded is the payload of a party.added event.
type PartyAdded struct {
	PartyID int64  `json:"party_id"`
	Name    string `json:"name"`
}

// MemberAdded is the payload of a member.added event.
type MemberAdded struct {
	MemberID int64 `json:"member_id"`
	UserID   int64 `json:"user_id"`
	PartyID  int64 `json:"party_id,omitempty"`
	Role     Role  `json:"role"`
}

// MemberRoleChanged is the payload of a member.role_changed event: member
// MemberID, of a party, has role Role from then on.
type MemberRoleChanged struct {
	MemberID int64 `json:"member_id"`
	Role     Role  `json:"role"`
}

// MemberRemoved is the payload of a member.removed event: member MemberID
// is off the talk and off every track from then on.
type MemberRemoved struct {
	MemberID int64 `json:"member_id"`
}

// TrackCreated is the payload of a track.created event, whose TrackID is
// the new track.
type TrackCreated struct {
	Name      string    `json:"name"`
	Kind      TrackKind `json:"kind"`
	MemberIDs []int64   `json:"member_ids,omitempty"`
}

// TrackMemberAdded is the payload of a track.member_added event. From is
// set when the addition is a hand-over (Service.RemoveMember): member From,
// just taken off the talk, was alone on the back-channel, and MemberID, a
// principal of its party, is put on it in its place. The event's actor is
// then whoever took From off, who need not see the track.
type TrackMemberAdded struct {
	MemberID int64 `json:"member_id"`
	From     int64 `json:"from,omitempty"`
}

// TrackMemberRemoved is the payload of a track.member_removed event: the
// member is off the track from then on, and the track, its past included,
// is out of its view (and out of its principal's, if it was the last of
// its party on the track).
type TrackMemberRemoved struct {
	MemberID int64 `json:"member_id"`
}

// MessagePosted is the payload of a message.posted event. The message's
// track is the event's track and its time the event's time.
type MessagePosted struct {
	MessageID int64  `json:"message_id"`
	AuthorID  int64  `json:"author_id"`
	Body      string `json:"body"`
}

// MessageRetracted is the payload of a message.retracted event.
type MessageRetracted struct {
	MessageID int64 `json:"message_id"`
}

// EventFilter selects the events of one talk in ascending order.
type EventFilter struct {
	TalkID    int64
	AfterSeq  int64  // only events with a greater ID
	BeforeSeq int64  // only events with a smaller ID, if set
	Limit     int    // at most this many; 0 means no limit
	Type      string // only events of this type, if set
	TrackID   int64  // only events of this track, if set
	// RequireTrack, if set, makes Service.FindEvents answer ENOTFOUND
	// unless the acting user may see that track of the talk: a stream
	// bound to a track ends when its reader loses the track. Stores
	// ignore it.
	RequireTrack int64
	// Latest selects, with Limit, the last Limit events (the greatest
	// IDs) rather than the first; they still come in ascending order.
	Latest bool
}
