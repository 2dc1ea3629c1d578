package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "backchannel_session"

// CSRFHeader is the header that carries the CSRF token of a script request
// authenticated by the session cookie.
const CSRFHeader = "X-CSRF-Token"

type sessionKey struct{}

// sessionFromContext returns the session that authenticated the request, or
// nil for an API token or no authentication.
func sessionFromContext(ctx context.Context) *talks.Session {
	sess, _ := ctx.Value(sessionKey{}).(*talks.Session)
	return sess
}

// authenticate sets the acting user of r from a bearer API token or, if
// there is none, the session cookie. A bad bearer token is an error (the
// client meant to authenticate); a bad or expired cookie is as good as none,
// and is cleared.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return r, talks.Errorf(talks.EUNAUTHORIZED, "The Authorization header must be \"Bearer <API token>\".")
		}
		u, err := s.svc.AuthenticateAPIToken(ctx, strings.TrimSpace(token))
		if err != nil {
			return r, err
		}
		return r.WithContext(talks.NewContextWithUser(ctx, u)), nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return r, nil
	}
	sess, err := s.svc.FindSession(ctx, c.Value)
	if talks.ErrorCode(err) == talks.EUNAUTHORIZED {
		s.clearCookie(w)
		return r, nil
	} else if err != nil {
		return r, err
	}
	ctx = talks.NewContextWithUser(ctx, sess.User)
	ctx = context.WithValue(ctx, sessionKey{}, sess)
	return r.WithContext(ctx), nil
}

// checkCSRF requires the session's CSRF token on a state-changing request
// authenticated by the session cookie. Bearer requests need none: no
// browser attaches a bearer token by itself.
func (s *Server) checkCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	sess := sessionFromContext(r.Context())
	if sess == nil {
		return nil
	}
	if !talks.CheckCSRFToken(s.csrfKey, sess, r.Header.Get(CSRFHeader)) {
		return talks.Errorf(talks.EFORBIDDEN, "Missing or wrong CSRF token: send the %s header.", CSRFHeader)
	}
	return nil
}

func (s *Server) setCookie(w http.ResponseWriter, sess *talks.Session) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    sess.Token,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		MaxAge:   int(time.Until(sess.ExpiresAt).Seconds()),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// sessionResponse is what login and /me answer.
type sessionResponse struct {
	User      User       `json:"user"`
	CSRFToken string     `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sess, err := s.svc.Login(r.Context(), req.Email, req.Password, r.RemoteAddr)
	if err != nil {
		return err
	}
	s.setCookie(w, sess)
	exp := sess.ExpiresAt
	writeJSON(w, http.StatusOK, sessionResponse{User: apiUser(sess.User), CSRFToken: talks.CSRFToken(s.csrfKey, sess), ExpiresAt: &exp})
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	// The session is the cookie's: FindSession leaves the token out of
	// the session it returns. Only the session's own page may end it (CSRF
	// is checked by handle for a request that a live session
	// authenticated), so a bare cross-site POST signs no one out.
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.svc.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	resp := sessionResponse{User: apiUser(talks.UserFromContext(r.Context()))}
	if sess := sessionFromContext(r.Context()); sess != nil {
		resp.CSRFToken = talks.CSRFToken(s.csrfKey, sess)
		exp := sess.ExpiresAt
		resp.ExpiresAt = &exp
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

type setupRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) error {
	var req setupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.svc.Setup(r.Context(), req.Token, req.Name, req.Email, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiUser(u))
	return nil
}

func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.svc.FindAPITokens(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ts, apiToken))
	return nil
}

type tokenRequest struct {
	Name string `json:"name"`
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.svc.CreateAPIToken(r.Context(), req.Name)
	if err != nil {
		return err
	}
	resp := apiToken(t)
	resp.Token = t.Token // shown this once
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.RevokeAPIToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
