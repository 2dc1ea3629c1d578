// Package talks is the domain of the backchannel service: talks between
// parties, their members and tracks, the messages in those tracks, and the
// rules of who may see and do what.
//
// # Events
//
// Every change to a talk is an Event in that talk's append-only log. The
// log is the single source of truth: the tables a Store keeps for fast
// reads (talks, parties, members, tracks, messages) are projections that
// Project rebuilds from the events alone. A Store appends an event and
// updates its projections in one transaction.
//
// Events of a talk are numbered 1, 2, 3, ... without gaps (Event.ID). Each
// carries the hash of the one before it (PrevHash; all zero for event 1)
// and its own hash, so that editing, deleting, inserting or reordering an
// event breaks the chain (see VerifyChain). A later Merkle log uses each
// event's canonical bytes as a leaf.
//
// The canonical bytes of an event (Event.CanonicalBytes), version 1, are
// the concatenation of:
//
//	"backchannel/event/v1\n"          the domain separator, 21 bytes
//	talk id                            uint64, big-endian
//	seq (Event.ID)                     uint64, big-endian
//	len(time) || time                  uint32 big-endian length, then the time
//	                                   in UTC as RFC 3339 with nanoseconds
//	                                   (time.RFC3339Nano), truncated to the
//	                                   microsecond, e.g. 2025-01-02T03:04:05.123456Z
//	actor id                           uint64, big-endian (a user ID; 0 = system)
//	track id                           uint64, big-endian (0 = talk-wide)
//	len(type) || type                  uint32 big-endian length, then ASCII
//	len(payload) || payload            uint32 big-endian length, then the payload
//	                                   bytes exactly as stored (JSON)
//	prev hash                          32 bytes
//
// and Event.Hash is SHA-256 of those bytes. Every variable-length field is
// length-prefixed, so no two events share an encoding. The payload is
// hashed as stored, never re-encoded: verifiers need not agree on JSON.
//
// # Access
//
// Store is dumb about access: it persists and reads. Service holds every
// access rule, and View (built once per request from the acting user's
// membership) answers the one question every read and write asks: may this
// member see this track? Anything a member may not see does not exist for
// it: the answer is ENOTFOUND, never EFORBIDDEN, and lists leave it out.
//
// Membership changes are events like any other, and what a member sees
// follows them at once: a member put on a back-channel or taken off it
// (track.member_added, track.member_removed), a role changed
// (member.role_changed), a member taken off the talk or leaving it
// (member.removed: it keeps its ID and name for what it wrote, and the talk
// does not exist for it until it is added again, as the same member). None
// is a view-keeping type (ViewKeepingTypes), so a write decided by a view
// from before one is refused by the store and decided again.
//
// # Accounts
//
// Accounts belong to no talk and are not events: signing in, sessions, API
// tokens and the first administrator change no talk's log, though each
// change is one durable transaction (AccountStore). Passwords are argon2id
// hashes (HashPassword, DefaultArgon2Params). Session, API and setup
// tokens are 32 random bytes in unpadded base64url behind a prefix naming
// their kind ("bcs_", "bct_", "bcsetup_"); a Store keeps only their SHA-256
// (HashToken), so the token is shown once and a copy of the database opens
// nothing. Service.Login answers every failure alike, whether the email
// exists or not, and a Limiter per email and per address stops guessing
// (AccountPolicy). No user an account method returns carries its password
// hash. CSRFToken derives a form token from a session and a server key.
//
// # Invitations
//
// An Invitation is a one-time link that makes the signed-in user who opens
// it a member of a talk, with a party and a role; it expires and can be
// revoked. Its token ("bci_") is shown once and stored as its SHA-256, like
// the account tokens. Making, revoking and accepting one are events of the
// talk's log (invitation.created, invitation.revoked, and member.added
// followed by invitation.accepted, appended in the transaction that marks
// the invitation used); no event carries the token or its hash. Whoever
// may add such a member may invite and revoke; for anyone else in the talk
// an invitation does not exist.
//
// The link is also how someone without an account joins: InvitationPreview
// shows the holder the talk's title, the party, the role and the expiry,
// and SignUpWithInvitation makes the account and the membership in one
// transaction and opens a session, limited like Login.
//
// # Meetings
//
// A Meeting belongs to a track and is as confidential as the track: its
// events (meeting.scheduled, meeting.updated) are the track's, and whoever
// may post a message in the track may schedule and update its meetings.
// A meeting is scheduled, then held (its minutes, attendance and duration
// recorded, and still correctable) or cancelled (changed only by being
// rescheduled); a held meeting stays held. Its attendees are members who
// may see the track. See meeting.go.
//
// # Disclosure and hand-off
//
// Once a talk is agreed, its principals decide what of the agreement
// becomes public: a Disclosure plan that every party's principal consents
// to, revision by revision, published after its embargo to anyone, signed
// in or not (PublicDisclosure), and nothing else of the talk. Each read of
// the agreement by a member is an AgreementRead that principals see: an
// audit record, not an event. A back-channel agreement may be carried into
// the official track as a new proposal (a Handoff) that says only that it
// came from a back-channel. See disclosure.go.
package talks

import "time"

// Clock tells the time. Service stamps events with it.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock.
var SystemClock Clock = ClockFunc(time.Now)

// Stamp is who makes a write and when. Every event the write appends
// records both.
type Stamp struct {
	ActorID int64 // the acting user; 0 for the system
	Time    time.Time
	// Signed is the acting signer's signature of the write's action, if
	// it is of a signed kind: NewEvent puts it in the payload of the
	// event that records the action (SignatureFor).
	Signed *Signed

	// Mandate, if not nil, names what the Service read to check the
	// write against an envoy's mandate. The Service checks before the
	// write's transaction, so the store checks again inside it that
	// nothing it read has changed, and refuses the write with ECONFLICT
	// if it has: a principal who tightens a mandate is never overtaken
	// by an offer checked against the old one.
	Mandate *MandateRead

	// Appended, if not nil, is set by the store to the sequence numbers
	// of the first and last events the write appended (the write's
	// events are consecutive), so that Service can carry its snapshot of
	// the talk over them without reading them back. A store may leave it
	// unset; it is then zero and Service reads the events as usual.
	Appended *Appended

	// View, if not nil, is the head of the snapshot the Service decided
	// this write by, kept or read afresh (every write decided by a view
	// names one: Service.stamp). Both stores, in every write that takes
	// a Stamp, return ErrStaleView, writing nothing, unless every event
	// of the talk after View.Head, as read under the talk's write lock,
	// is of a type in ViewKeepingTypes.
	View *ViewCheck
}

// Appended is the run of events a write appended to its talk's log.
type Appended struct {
	First, Last int64
}

// note records that a write appended event seq: a run that does not
// start at or before a run noted earlier by an attempt of the same write
// that was undone is left as it was, and then no longer has the length
// its writer expects, which Service checks.
func (a *Appended) note(seq int64) {
	if a == nil {
		return
	}
	if a.First == 0 || seq <= a.First {
		a.First = seq
	}
	a.Last = seq
}

// NoteAppended records in st.Appended, if set, that the write appended
// event seq. Stores call it for each event a write appends, in order.
func (st Stamp) NoteAppended(seq int64) { st.Appended.note(seq) }

// MandateRead is the state a mandate check read: the version of the
// envoy's mandate and, if the check measured utility, the version of its
// party's latest preferences.
type MandateRead struct {
	TalkID, PartyID, EnvoyID int64
	Version                  int64 // of the envoy's mandate; 0 for none
	Preferences              int64 // of the party's latest preferences; 0 if the check did not use them
}
