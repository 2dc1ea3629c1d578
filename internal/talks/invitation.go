package talks

import (
	"context"
	"fmt"
	"strings"
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
	// accepted or revoked or the user is already a member of the talk
	// (ErrAlreadyMember) or a stakeholder of it (ErrStakeholder: a
	// stakeholder is not at the table), and EINVALID if it expires at or
	// before s.Time.
	AcceptInvitation(ctx context.Context, id, userID int64, s Stamp) (*Member, error)

	// AcceptInvitationAsNewUser creates user u (setting u.ID) and makes it
	// a member as AcceptInvitation does, in one transaction; the events'
	// actor is the new user, whatever s.ActorID says. It fails, changing
	// nothing and leaving u.ID 0, with AcceptInvitation's errors (checked
	// first) or ErrEmailTaken.
	AcceptInvitationAsNewUser(ctx context.Context, id int64, u *User, s Stamp) (*Member, error)
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
	return withFreshViewOf(ctx, func(ctx context.Context) (*Invitation, error) { return s.createInvitation(ctx, inv) })
}

func (s *Service) createInvitation(ctx context.Context, inv *Invitation) (*Invitation, error) {
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
	if err := s.store.CreateInvitation(ctx, out, Stamp{ActorID: v.User.ID, Time: now, View: v.viewCheck()}); err != nil {
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
	return withFreshViewOf(ctx, func(ctx context.Context) (*Invitation, error) { return s.revokeInvitation(ctx, id) })
}

func (s *Service) revokeInvitation(ctx context.Context, id int64) (*Invitation, error) {
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
// member or a stakeholder of the talk, EINVALID if it has expired.
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
	st := Stamp{ActorID: u.ID, Time: s.clock.Now()}
	m, err := s.store.AcceptInvitation(ctx, inv.ID, u.ID, st)
	if err != nil {
		return nil, err
	}
	s.giveKeyOnJoin(ctx, m.TalkID, MemberSigner(m.ID), st)
	return m, nil
}

// Why an invitation cannot be accepted. Stores return these.
var (
	ErrInvitationUsed    = Errorf(ECONFLICT, "This invitation has already been used.")
	ErrInvitationRevoked = Errorf(ECONFLICT, "This invitation has been revoked.")
	ErrInvitationExpired = Errorf(EINVALID, "This invitation has expired.")
	ErrAlreadyMember     = Errorf(ECONFLICT, "You are already a member of this talk.")
	ErrStakeholder       = Errorf(ECONFLICT, "You are a stakeholder of this talk: not at the table, so you cannot join it as a member.")
	ErrEmailTaken        = Errorf(ECONFLICT, "An account with this email already exists: sign in, then accept the invitation.")
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

// InvitationPreview is what the holder of an invitation link is shown
// before accepting it: enough to decide, and nothing else of the talk (no
// description, members, tracks or inviter).
type InvitationPreview struct {
	TalkTitle string
	PartyName string // "" for an invitation as facilitator
	Role      Role
	ExpiresAt time.Time
}

// errBadInvitationLink answers a token that names no invitation.
var errBadInvitationLink = Errorf(ENOTFOUND, "This invitation link is not valid.")

// InvitationPreview returns what the invitation whose token is token
// offers, if it may still be accepted. It needs no acting user: the link
// is the credential. An unknown token gets ENOTFOUND; a known one that can
// no longer be accepted gets the error AcceptInvitation would give
// (ErrInvitationUsed, ErrInvitationRevoked or ErrInvitationExpired) and
// nothing of the talk.
//
// Saying used, revoked or expired is no leak: only the holder of the
// token, who was sent it, can ask, and it learns only the state of its own
// link, which AcceptInvitation tells it too; it helps the invitee ask for
// a new one. The talk's title and the party are shown only while the
// invitation stands, since revoking is how an inviter takes a link back.
// Tokens are 256 random bits, so the look-up needs no rate limit: there is
// nothing to guess.
func (s *Service) InvitationPreview(ctx context.Context, token string) (*InvitationPreview, error) {
	inv, err := s.store.FindInvitationByTokenHash(ctx, HashToken(token))
	if ErrorCode(err) == ENOTFOUND {
		return nil, errBadInvitationLink
	} else if err != nil {
		return nil, err
	}
	if err := CheckAcceptable(inv, s.clock.Now()); err != nil {
		return nil, err
	}
	t, err := s.store.FindTalkByID(ctx, inv.TalkID)
	if err != nil {
		return nil, err
	}
	p := &InvitationPreview{TalkTitle: t.Title, Role: inv.Role, ExpiresAt: inv.ExpiresAt}
	if inv.PartyID != 0 {
		parties, err := s.store.FindParties(ctx, PartyFilter{TalkID: inv.TalkID})
		if err != nil {
			return nil, err
		}
		for _, party := range parties {
			if party.ID == inv.PartyID {
				p.PartyName = party.Name
			}
		}
	}
	return p, nil
}

// SignUpWithInvitation creates an account for someone who holds an
// invitation link and has none: a user with the given name, email and
// password (not an administrator), made a member of the invitation's talk
// with its party and role, and signed in. It returns the new session, with
// its Token and User set, and the membership. It needs no acting user.
// addr is the client's network address ("" if unknown).
//
// The account and the membership are made in one transaction
// (Store.AcceptInvitationAsNewUser), so a failure there leaves neither.
// The session is opened after it commits; if that fails, the error is
// returned, and the account stands, a member of the talk, and signs in
// with its password as usual. The invitation is used either way.
//
// Errors: EINVALID for a missing name or email, an email without "@", or a
// password of the wrong length (MinPasswordLength, MaxPasswordLength, as
// for Setup), before anything is looked up; ENOTFOUND for an unknown
// token; ErrInvitationUsed, ErrInvitationRevoked or ErrInvitationExpired;
// ErrEmailTaken if an account has that email (a holder of a valid link may
// learn that, at the rate below); EUNAUTHORIZED "Too many attempts" after
// too many failures. Failures count as failed logins do (AccountPolicy):
// per address, in the same budget as Login, and per invitation, with the
// per-account limits. Passwords are hashed with the policy's argon2id
// parameters.
func (s *Service) SignUpWithInvitation(ctx context.Context, token, name, email, password, addr string) (*Session, *Member, error) {
	addr = hostOf(addr)
	now := Timestamp(s.clock.Now())
	u := &User{Name: strings.TrimSpace(name), Email: strings.TrimSpace(email), CreatedAt: now}
	if err := u.Validate(); err != nil {
		return nil, nil, err
	} else if len(u.Name) > 200 {
		return nil, nil, Errorf(EINVALID, "Name longer than 200 bytes.")
	} else if at := strings.Index(u.Email, "@"); at <= 0 || at == len(u.Email)-1 || len(u.Email) > 254 || strings.ContainsAny(u.Email, " \t\r\n") {
		return nil, nil, Errorf(EINVALID, "Email %q is not an email address.", u.Email)
	}
	if err := validatePassword(password); err != nil {
		return nil, nil, err
	}

	// As in Login, each attempt counts as a failure until it succeeds:
	// first per address, then, once the token names an invitation, per
	// invitation (so that only real invitations take room in the limiter).
	a := s.accounts()
	var addrAt, invAt time.Time
	invKey := ""
	if addr != "" {
		ok, wait, at := a.byAddress.Take(addr)
		if !ok {
			return nil, nil, tooMany(wait)
		}
		addrAt = at
	}
	release := func() {
		if addr != "" {
			a.byAddress.Release(addr, addrAt)
		}
		if invKey != "" {
			a.byInvitation.Release(invKey, invAt)
		}
	}

	inv, err := s.store.FindInvitationByTokenHash(ctx, HashToken(token))
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errBadInvitationLink
	} else if err != nil {
		release()
		return nil, nil, err
	}
	key := fmt.Sprintf("invitation %d", inv.ID)
	ok, wait, at := a.byInvitation.Take(key)
	if !ok {
		release()
		return nil, nil, tooMany(wait)
	}
	invKey, invAt = key, at
	if err := CheckAcceptable(inv, now); err != nil {
		return nil, nil, err
	}
	if u.PasswordHash, err = HashPassword(password, a.policy.Argon2); err != nil {
		release()
		return nil, nil, err
	}
	m, err := s.store.AcceptInvitationAsNewUser(ctx, inv.ID, u, Stamp{Time: now})
	if err != nil {
		if ErrorCode(err) == EINTERNAL {
			release()
		}
		return nil, nil, err
	}
	release() // a success is no failure
	s.giveKeyOnJoin(ctx, m.TalkID, MemberSigner(m.ID), Stamp{ActorID: u.ID, Time: now})
	sess, err := s.openSession(ctx, u)
	if err != nil {
		return nil, nil, fmt.Errorf("sign in user %d after sign-up: %w", u.ID, err)
	}
	return sess, m, nil
}
