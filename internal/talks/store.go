package talks

import "context"

// Store persists users and the event logs of talks, with projections of
// those logs for fast reads.
//
// A Store knows nothing of access: it persists and reads whatever it is
// asked to, and only Service may call it on behalf of a user. Every write
// that changes a talk appends its event(s) to the talk's log and updates
// the projections in one transaction: a write that fails writes nothing.
// Writes to one talk are serialised, so its log stays numbered 1..n without
// gaps and its hash chain never forks.
//
// Errors are *Error values with codes ENOTFOUND (no such row), ECONFLICT
// (a unique constraint: a duplicate email, party name, membership or
// track member), or EINVALID (a reference to a row of another talk or
// to no row); anything else is an internal error. Find methods never
// return a nil row with a nil error.
//
// Implementations are safe for concurrent use.
type Store interface {
	ProposalStore    // the single negotiating text (proposal.go)
	AccountStore     // passwords, sessions, API tokens, setup (account.go)
	InvitationStore  // one-time links that make members (invitation.go)
	MeetingStore     // meetings of a track (meeting.go)
	DisclosureStore  // disclosure plans, hand-offs, agreement reads (disclosure.go)
	PreferenceStore  // parties' private preferences (preference.go)
	RecordStore      // tree hashes and signed checkpoints (record.go)
	MandateStore     // limits principals set for their envoys (mandate.go)
	StakeholderStore // stakeholders, red lines, ratification (stakeholder.go)
	KeyStore         // signers' keys (sign.go)

	// CreateUser stores u and sets u.ID. ECONFLICT if the email is taken.
	CreateUser(ctx context.Context, u *User) error

	// FindUserByID returns the user with the given ID, or ENOTFOUND.
	FindUserByID(ctx context.Context, id int64) (*User, error)

	// FindUserByEmail returns the user with the given email, or ENOTFOUND.
	FindUserByEmail(ctx context.Context, email string) (*User, error)

	// CreateTalk creates a talk convened by t.ConvenerID, its official
	// track, and the convener's membership as facilitator, appending
	// talk.created, track.created and member.added. It sets t.ID,
	// t.Status (open) and t.CreatedAt (s.Time). EINVALID if the convener
	// is not a user.
	CreateTalk(ctx context.Context, t *Talk, s Stamp) error

	// FindTalkByID returns the talk with the given ID, or ENOTFOUND.
	FindTalkByID(ctx context.Context, id int64) (*Talk, error)

	// FindTalks returns the talks that match f, in ascending ID order.
	FindTalks(ctx context.Context, f TalkFilter) ([]*Talk, error)

	// UpdateTalk applies upd to talk id, appending talk.updated, and
	// returns the updated talk. ENOTFOUND if there is no such talk.
	UpdateTalk(ctx context.Context, id int64, upd TalkUpdate, s Stamp) (*Talk, error)

	// AddParty adds p to talk p.TalkID and sets p.ID, appending
	// party.added. ENOTFOUND for an unknown talk; ECONFLICT if the talk
	// has a party of that name.
	AddParty(ctx context.Context, p *Party, s Stamp) error

	// FindParties returns the parties of a talk in ascending ID order.
	FindParties(ctx context.Context, f PartyFilter) ([]*Party, error)

	// AddMember adds m to talk m.TalkID and sets m.ID, appending
	// member.added. ENOTFOUND for an unknown talk; ECONFLICT if the user
	// is already a member of the talk; EINVALID if the user does not
	// exist or the party is not one of the talk's.
	AddMember(ctx context.Context, m *Member, s Stamp) error

	// FindMemberByID returns the member with the given ID, or ENOTFOUND.
	FindMemberByID(ctx context.Context, id int64) (*Member, error)

	// ChangeMemberRole gives member memberID of talk talkID role r,
	// appending member.role_changed; a principal given another role has
	// the open invitations its user made revoked, each with its
	// invitation.revoked, in the same transaction. ENOTFOUND if the talk has no such
	// member; EINVALID for a facilitator, or r facilitator or unknown;
	// ECONFLICT if the member has role r already, or is its party's last
	// principal and r is not principal (a party keeps one).
	ChangeMemberRole(ctx context.Context, talkID, memberID int64, r Role, s Stamp) error

	// RemoveMember marks member memberID of talk talkID removed, takes it
	// off every track, puts its party's principals on each back-channel
	// it was alone on, and revokes the open invitations its user made,
	// appending member.removed, a track.member_added for each principal
	// put on a back-channel, and an invitation.revoked for each, in one
	// transaction. ENOTFOUND if the talk
	// has no such member; EINVALID for a facilitator; ECONFLICT if it is
	// removed already, or is its party's last principal; ErrNoHeir if it
	// is alone on a back-channel and its party has no principal. AddMember
	// and AcceptInvitation of its user make it a member again, with its ID.
	RemoveMember(ctx context.Context, talkID, memberID int64, s Stamp) error

	// FindMembers returns the members that match f in ascending ID order,
	// those removed too.
	FindMembers(ctx context.Context, f MemberFilter) ([]*Member, error)

	// CreateTrack creates back-channel t in talk t.TalkID with the members
	// t.MemberIDs and sets t.ID, appending track.created. ENOTFOUND for
	// an unknown talk; EINVALID if a member is not one of the talk's or t
	// is a second official track.
	CreateTrack(ctx context.Context, t *Track, s Stamp) error

	// AddTrackMember puts member memberID on track trackID, appending
	// track.member_added. ENOTFOUND for an unknown track; ECONFLICT if the
	// member is already on it; EINVALID if the member is not one of the
	// talk's or the track is official.
	AddTrackMember(ctx context.Context, trackID, memberID int64, s Stamp) error

	// RemoveTrackMember takes member memberID off track trackID, appending
	// track.member_removed. ENOTFOUND for an unknown track; ECONFLICT if
	// the member is not on it; EINVALID if the track is official.
	RemoveTrackMember(ctx context.Context, trackID, memberID int64, s Stamp) error

	// FindTrackByID returns the track with the given ID, or ENOTFOUND.
	FindTrackByID(ctx context.Context, id int64) (*Track, error)

	// FindTracks returns the tracks that match f in ascending ID order.
	FindTracks(ctx context.Context, f TrackFilter) ([]*Track, error)

	// PostMessage stores m in track m.TrackID and sets m.ID and
	// m.CreatedAt (s.Time), appending message.posted. ENOTFOUND for an
	// unknown track; EINVALID if the author is not a member of the talk.
	PostMessage(ctx context.Context, m *Message, s Stamp) error

	// RetractMessage marks message id retracted, appending
	// message.retracted. ENOTFOUND for an unknown message; ECONFLICT if it
	// is already retracted.
	RetractMessage(ctx context.Context, id int64, s Stamp) error

	// FindMessageByID returns the message with the given ID, or ENOTFOUND.
	FindMessageByID(ctx context.Context, id int64) (*Message, error)

	// FindMessages returns the messages that match f in ascending ID order.
	FindMessages(ctx context.Context, f MessageFilter) ([]*Message, error)

	// FindEvents returns the events of talk f.TalkID that match f, in
	// ascending order. An unknown talk has no events.
	FindEvents(ctx context.Context, f EventFilter) ([]*Event, error)

	// TalkHead returns the sequence number of the last event of talk
	// talkID, 0 if it has none (an unknown talk). Every change to a talk's
	// members or tracks appends an event, so an unchanged head means
	// unchanged members and tracks.
	TalkHead(ctx context.Context, talkID int64) (int64, error)
}

// ErrNoHeir is what RemoveMember returns for a member alone on a
// back-channel whose party has no principal to keep it: no one would see
// the back-channel again, as when its last member leaves it.
var ErrNoHeir = Errorf(ECONFLICT, "The member is the last one on a back-channel, and its party has no principal to keep it: no one would see the back-channel any more. Give the party a principal first.")
