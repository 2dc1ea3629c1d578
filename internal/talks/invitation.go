package talks

import (
	"context"
	"time"
)

// Invitations: a one-time link that makes whoever opens it (signed in) a
// member of a talk, in a party with a role. The link carries a secret
// token ("bci_" and 32 random bytes in unpadded base64url) that is shown
// once, when the invitation is made; a Store keeps only its SHA-256
// (HashToken). An invitation expires, can be revoked, and is used at most
// once. Making, revoking and accepting one are events of the talk's log;
// no event carries the token or its hash.

// Event types of invitations. All of them are talk-wide.
const (
	EventInvitationCreated  = "invitation.created"
	EventInvitationRevoked  = "invitation.revoked"
	EventInvitationAccepted = "invitation.accepted"
)

// Invitation lifetimes.
const (
	DefaultInvitationTTL = 7 * 24 * time.Hour
	MaxInvitationTTL     = 30 * 24 * time.Hour
)

// Invitation is a pending, accepted or revoked invitation to a talk.
type Invitation struct {
	ID        int64
	TalkID    int64
	PartyID   int64 // 0 for a facilitator
	Role      Role
	CreatedBy int64 // the user who made it
	CreatedAt time.Time
	ExpiresAt time.Time

	RevokedAt  time.Time // zero unless revoked
	AcceptedAt time.Time // zero until accepted
	AcceptedBy int64     // the user who accepted it; 0 until accepted
	MemberID   int64     // the member it made; 0 until accepted

	// TokenHash is SHA-256 of Token. CreateInvitation stores it; no Store
	// method returns it.
	TokenHash []byte

	// Token is the secret, set only in the Invitation that
	// Service.CreateInvitation returns: it is shown once.
	Token string
}

// InvitationFilter selects the invitations of a talk in ascending ID order.
type InvitationFilter struct {
	TalkID int64
}

// InvitationCreated is the payload of an invitation.created event. Its
// maker is the event's actor and its time the event's time. It carries
// neither the token nor its hash.
type InvitationCreated struct {
	InvitationID int64     `json:"invitation_id"`
	PartyID      int64     `json:"party_id,omitempty"`
	Role         Role      `json:"role"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// InvitationRevoked is the payload of an invitation.revoked event.
type InvitationRevoked struct {
	InvitationID int64 `json:"invitation_id"`
}

// InvitationAccepted is the payload of an invitation.accepted event, which
// follows the member.added event of the member it made.
type InvitationAccepted struct {
	InvitationID int64 `json:"invitation_id"`
	UserID       int64 `json:"user_id"`
	MemberID     int64 `json:"member_id"`
}

// InvitationStore persists invitations. It is part of Store, with the same
// conventions; every write is one transaction that appends its events.
type InvitationStore interface {
	// CreateInvitation stores inv (with inv.TokenHash) in talk inv.TalkID
	// and sets inv.ID, appending invitation.created. ENOTFOUND for an
	// unknown talk; EINVALID if the party is not one of the talk's;
	// ECONFLICT for a token hash already stored.
	CreateInvitation(ctx context.Context, inv *Invitation, s Stamp) error

	// FindInvitationByID returns invitation id, or ENOTFOUND.
	FindInvitationByID(ctx context.Context, id int64) (*Invitation, error)

	// FindInvitationByTokenHash returns the invitation whose token hashes
	// to hash, in whatever state, or ENOTFOUND.
	FindInvitationByTokenHash(ctx context.Context, hash []byte) (*Invitation, error)

	// FindInvitations returns the invitations that match f.
	FindInvitations(ctx context.Context, f InvitationFilter) ([]*Invitation, error)

	// RevokeInvitation revokes invitation id, appending
	// invitation.revoked. ENOTFOUND for no such invitation; ECONFLICT if
	// it is already revoked or accepted.
	RevokeInvitation(ctx context.Context, id int64, s Stamp) error

	// AcceptInvitation makes user userID a member of the talk of
	// invitation id with its party and role and marks the invitation
	// accepted, appending member.added and invitation.accepted, in one
	// transaction, and returns the member. It fails, changing nothing,
	// with ENOTFOUND for no such invitation, ECONFLICT if it has been
	// accepted or revoked or the user is already a member of the talk,
	// and EINVALID if it expires at or before s.Time.
	AcceptInvitation(ctx context.Context, id, userID int64, s Stamp) (*Member, error)
}

var errInvitationNotFound = Errorf(ENOTFOUND, "Invitation not found.")

// canInvite reports whether the member may invite to party partyID with
// role r, or manage such an invitation: the convener and facilitators to
// any party or as facilitator, a principal to its own party.
func (v *View) canInvite(partyID int64, r Role) bool {
	if v.CanManage() {
		return true
	}
	return v.Member.Role == RolePrincipal && r != RoleFacilitator && partyID == v.Member.PartyID
}

// CreateInvitation makes an invitation to talk inv.TalkID with party
// inv.PartyID and role inv.Role, expiring at inv.ExpiresAt (zero: after
// DefaultInvitationTTL; at most MaxInvitationTTL ahead). The convener and
// facilitators may invite to any party or as facilitator; a principal may
// invite to its own party. It returns the invitation with its Token set:
// the only time the secret is shown.
func (s *Service) CreateInvitation(ctx context.Context, inv *Invitation) (*Invitation, error) {
	v, err := s.View(ctx, inv.TalkID)
	if err != nil {
		return nil, err
	}
	m := Member{TalkID: inv.TalkID, UserID: v.User.ID, PartyID: inv.PartyID, Role: inv.Role}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if !v.canInvite(inv.PartyID, inv.Role) {
		return nil, Errorf(EFORBIDDEN, "Only the convener, a facilitator or the party's principal may invite to this party.")
	}
	now := Timestamp(s.clock.Now())
	exp := Timestamp(inv.ExpiresAt)
	if inv.ExpiresAt.IsZero() {
		exp = now.Add(DefaultInvitationTTL)
	} else if !exp.After(now) || exp.Sub(now) > MaxInvitationTTL {
		return nil, Errorf(EINVALID, "An invitation expires in the future, within %d days.", int(MaxInvitationTTL/(24*time.Hour)))
	}
	tok, hash, err := newToken("bci_")
	if err != nil {
		return nil, err
	}
	out := &Invitation{TalkID: inv.TalkID, PartyID: inv.PartyID, Role: inv.Role, CreatedBy: v.User.ID,
		CreatedAt: now, ExpiresAt: exp, TokenHash: hash}
	if err := s.store.CreateInvitation(ctx, out, Stamp{ActorID: v.User.ID, Time: now}); err != nil {
		if ErrorCode(err) == EINVALID {
			return nil, Errorf(EINVALID, "Party %d is not in this talk.", inv.PartyID)
		}
		return nil, err
	}
	out.Token, out.TokenHash = tok, nil
	return out, nil
}

// FindInvitations returns the invitations of talk talkID that the acting
// member may manage (all of them for the convener and facilitators, its
// party's for a principal, none for others), without secrets.
func (s *Service) FindInvitations(ctx context.Context, talkID int64) ([]*Invitation, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	all, err := s.store.FindInvitations(ctx, InvitationFilter{TalkID: talkID})
	if err != nil {
		return nil, err
	}
	out := []*Invitation{}
	for _, inv := range all {
		if v.canInvite(inv.PartyID, inv.Role) {
			inv.TokenHash = nil
			out = append(out, inv)
		}
	}
	return out, nil
}

// RevokeInvitation revokes invitation id and returns it, with RevokedAt
// set and without secrets. Those who may make such an invitation may; for
// anyone else it does not exist (ENOTFOUND). ECONFLICT if it has been
// accepted or revoked already.
func (s *Service) RevokeInvitation(ctx context.Context, id int64) (*Invitation, error) {
	if _, err := currentUser(ctx); err != nil {
		return nil, err
	}
	inv, err := s.store.FindInvitationByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errInvitationNotFound
	} else if err != nil {
		return nil, err
	}
	v, err := s.View(ctx, inv.TalkID)
	if ErrorCode(err) == ENOTFOUND || (err == nil && !v.canInvite(inv.PartyID, inv.Role)) {
		return nil, errInvitationNotFound
	} else if err != nil {
		return nil, err
	}
	st := s.stamp(v)
	if err := s.store.RevokeInvitation(ctx, id, st); err != nil {
		return nil, err
	}
	inv.RevokedAt, inv.TokenHash = Timestamp(st.Time), nil
	return inv, nil
}

// AcceptInvitation makes the acting user a member of the talk that token
// invites to, with the invitation's party and role, and returns the
// member. The token is used once: ENOTFOUND for an unknown token,
// ECONFLICT if it has been used or revoked or the user is already a
// member, EINVALID if it has expired.
func (s *Service) AcceptInvitation(ctx context.Context, token string) (*Member, error) {
	u, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	inv, err := s.store.FindInvitationByTokenHash(ctx, HashToken(token))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "This invitation link is not valid.")
	} else if err != nil {
		return nil, err
	}
	return s.store.AcceptInvitation(ctx, inv.ID, u.ID, Stamp{ActorID: u.ID, Time: s.clock.Now()})
}

// Why an invitation cannot be accepted. Stores return these.
var (
	ErrInvitationUsed    = Errorf(ECONFLICT, "This invitation has already been used.")
	ErrInvitationRevoked = Errorf(ECONFLICT, "This invitation has been revoked.")
	ErrInvitationExpired = Errorf(EINVALID, "This invitation has expired.")
	ErrAlreadyMember     = Errorf(ECONFLICT, "You are already a member of this talk.")
)

// CheckAcceptable returns nil if inv may be accepted at now, or the error
// that says why not: ErrInvitationUsed, ErrInvitationRevoked or
// ErrInvitationExpired.
func CheckAcceptable(inv *Invitation, now time.Time) error {
	switch {
	case inv.AcceptedBy != 0:
		return ErrInvitationUsed
	case !inv.RevokedAt.IsZero():
		return ErrInvitationRevoked
	case !Timestamp(now).Before(inv.ExpiresAt):
		return ErrInvitationExpired
	}
	return nil
}
