package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Invitation is an invitation to a talk as the API shows it. Token (the
// secret) and Link are set only in the answer to its creation.
type Invitation struct {
	ID         int64      `json:"id"`
	TalkID     int64      `json:"talk_id"`
	PartyID    int64      `json:"party_id,omitempty"`
	Role       string     `json:"role"`
	Status     string     `json:"status"` // pending, accepted, revoked or expired
	CreatedBy  int64      `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	AcceptedBy int64      `json:"accepted_by,omitempty"`
	MemberID   int64      `json:"member_id,omitempty"`
	Token      string     `json:"token,omitempty"`
	Link       string     `json:"link,omitempty"`
}

func apiInvitation(inv *talks.Invitation) Invitation {
	a := Invitation{ID: inv.ID, TalkID: inv.TalkID, PartyID: inv.PartyID, Role: string(inv.Role), CreatedBy: inv.CreatedBy,
		CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, AcceptedBy: inv.AcceptedBy, MemberID: inv.MemberID}
	switch {
	case inv.AcceptedBy != 0:
		a.Status = "accepted"
	case !inv.RevokedAt.IsZero():
		a.Status = "revoked"
	case !time.Now().Before(inv.ExpiresAt):
		a.Status = "expired"
	default:
		a.Status = "pending"
	}
	if !inv.RevokedAt.IsZero() {
		t := inv.RevokedAt
		a.RevokedAt = &t
	}
	if !inv.AcceptedAt.IsZero() {
		t := inv.AcceptedAt
		a.AcceptedAt = &t
	}
	return a
}

// invitationLink is the path that accepts an invitation, relative to the
// server's origin.
func invitationLink(token string) string {
	return "/invitations/accept?" + url.Values{"token": {token}}.Encode()
}

type invitationRequest struct {
	PartyID   int64     `json:"party_id"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"` // zero: talks.DefaultInvitationTTL from now
}

func (s *Server) handleCreateInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req invitationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	inv, err := s.svc.CreateInvitation(r.Context(), &talks.Invitation{TalkID: id, PartyID: req.PartyID, Role: talks.Role(req.Role), ExpiresAt: req.ExpiresAt})
	if err != nil {
		return err
	}
	s.broker.Notify(id)
	a := apiInvitation(inv)
	a.Token, a.Link = inv.Token, invitationLink(inv.Token)
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) handleInvitations(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	invs, err := s.svc.FindInvitations(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(invs, apiInvitation))
	return nil
}

func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	inv, err := s.svc.RevokeInvitation(r.Context(), id)
	if err != nil {
		return err
	}
	s.broker.Notify(inv.TalkID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type acceptInvitationRequest struct {
	Token string `json:"token"`
}

func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var req acceptInvitationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return talks.Errorf(talks.EINVALID, "Invitation token required.")
	}
	m, err := s.svc.AcceptInvitation(r.Context(), req.Token)
	if err != nil {
		return err
	}
	s.broker.Notify(m.TalkID)
	writeJSON(w, http.StatusCreated, apiMember(m))
	return nil
}

// InvitationPreview is what an invitation link offers, shown to whoever
// holds the link before it is accepted, and nothing else of the talk.
type InvitationPreview struct {
	TalkTitle string    `json:"talk_title"`
	PartyName string    `json:"party_name,omitempty"` // none for a facilitator
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) handleInvitationPreview(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if token == "" {
		return talks.Errorf(talks.EINVALID, "The query parameter token is required.")
	}
	p, err := s.svc.InvitationPreview(r.Context(), token)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, InvitationPreview{TalkTitle: p.TalkTitle, PartyName: p.PartyName, Role: string(p.Role), ExpiresAt: p.ExpiresAt})
	return nil
}

type signUpRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// signUpResponse is what a sign-up answers: the session as login answers
// it, and the new membership.
type signUpResponse struct {
	sessionResponse
	Member Member `json:"member"`
}

func (s *Server) handleSignUp(w http.ResponseWriter, r *http.Request) error {
	var req signUpRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return talks.Errorf(talks.EINVALID, "Invitation token required.")
	}
	sess, m, err := s.svc.SignUpWithInvitation(r.Context(), req.Token, req.Name, req.Email, req.Password, r.RemoteAddr)
	if err != nil {
		return err
	}
	s.broker.Notify(m.TalkID)
	s.setCookie(w, sess)
	exp := sess.ExpiresAt
	writeJSON(w, http.StatusCreated, signUpResponse{
		sessionResponse: sessionResponse{User: apiUser(sess.User), CSRFToken: talks.CSRFToken(s.csrfKey, sess), ExpiresAt: &exp},
		Member:          apiMember(m),
	})
	return nil
}
