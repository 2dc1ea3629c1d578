package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestInvitationFlow makes an invitation over HTTP, lists it without its
// secret, accepts it once as an outsider, and revokes another.
func TestInvitationFlow(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	invitations := fmt.Sprintf("/api/v1/talks/%d/invitations", w.talk.ID)

	var inv Invitation
	e.must(201, "NP", "POST", invitations, map[string]any{"party_id": w.north.ID, "role": "advisor"}, &inv)
	if !strings.HasPrefix(inv.Token, "bci_") || inv.Link != ("/invitations/accept?"+url.Values{"token": {inv.Token}}.Encode()) ||
		inv.Status != "pending" || inv.PartyID != w.north.ID || inv.Role != "advisor" {
		t.Fatalf("created invitation = %+v", inv)
	}
	st, body := e.do("NP", "POST", invitations, map[string]any{"party_id": w.south.ID, "role": "advisor"})
	if st != 403 {
		t.Errorf("NP invites to the south = %d %s, want 403", st, body)
	}
	st, body = e.do("NE", "POST", invitations, map[string]any{"party_id": w.north.ID, "role": "advisor"})
	if st != 403 {
		t.Errorf("NE invites = %d %s, want 403", st, body)
	}

	for _, user := range []string{"F", "NP"} {
		var list []Invitation
		st, body := e.do(user, "GET", invitations, nil)
		if st != 200 || bytes.Contains(body, []byte(inv.Token)) || bytes.Contains(body, []byte(`"token"`)) {
			t.Errorf("GET %s as %s = %d %s, want 200 without secrets", invitations, user, st, body)
		}
		e.must(200, user, "GET", invitations, nil, &list)
		if len(list) != 1 || list[0].ID != inv.ID {
			t.Errorf("GET %s as %s = %+v", invitations, user, list)
		}
	}
	var none []Invitation
	e.must(200, "SP", "GET", invitations, nil, &none)
	if len(none) != 0 {
		t.Errorf("SP lists %+v, want none", none)
	}

	st, body = e.do("", "POST", "/api/v1/invitations/accept", map[string]any{"token": inv.Token})
	if st != 401 {
		t.Errorf("accept signed out = %d %s, want 401", st, body)
	}
	st, body = e.do("O", "POST", "/api/v1/invitations/accept", map[string]any{"token": "bci_wrong"})
	if st != 404 {
		t.Errorf("accept with a wrong token = %d %s, want 404", st, body)
	}
	st, body = e.do("NE", "POST", "/api/v1/invitations/accept", map[string]any{"token": inv.Token})
	if st != 409 {
		t.Errorf("accept as a member = %d %s, want 409", st, body)
	}
	var m Member
	e.must(201, "O", "POST", "/api/v1/invitations/accept", map[string]any{"token": inv.Token}, &m)
	if m.UserID != e.users["O"].ID || m.PartyID != w.north.ID || m.Role != "advisor" {
		t.Errorf("accepted membership = %+v", m)
	}
	e.must(200, "O", "GET", fmt.Sprintf("/api/v1/talks/%d", w.talk.ID), nil, nil)
	st, body = e.do("O", "POST", "/api/v1/invitations/accept", map[string]any{"token": inv.Token})
	if st != 409 || !bytes.Contains(body, []byte("already")) {
		t.Errorf("accept twice = %d %s, want 409", st, body)
	}

	// Revoked: the link no longer works.
	var rev Invitation
	e.must(201, "F", "POST", invitations, map[string]any{"role": "facilitator"}, &rev)
	st, body = e.do("NP", "DELETE", fmt.Sprintf("/api/v1/invitations/%d", rev.ID), nil)
	if st != 404 {
		t.Errorf("NP revokes a facilitator invitation = %d %s, want 404", st, body)
	}
	e.must(204, "F", "DELETE", fmt.Sprintf("/api/v1/invitations/%d", rev.ID), nil, nil)
	st, body = e.do("F", "DELETE", fmt.Sprintf("/api/v1/invitations/%d", rev.ID), nil)
	if st != 409 {
		t.Errorf("revoke twice = %d %s, want 409", st, body)
	}
	st, body = e.do("SE", "POST", "/api/v1/invitations/accept", map[string]any{"token": rev.Token})
	if st != 409 || !bytes.Contains(body, []byte("revoked")) {
		t.Errorf("accept revoked = %d %s, want 409 saying revoked", st, body)
	}
	var list []Invitation
	e.must(200, "F", "GET", invitations, nil, &list)
	if len(list) != 2 || list[0].Status != "accepted" || list[0].MemberID != m.ID || list[1].Status != "revoked" {
		t.Errorf("invitations after = %+v", list)
	}
}

// expiredInvitation makes, through the store (the service refuses to),
// an invitation to the North that expired an hour ago, and returns its
// token.
func (e *env) expiredInvitation(w *world) string {
	e.t.Helper()
	const token = "bci_expired_for_the_test"
	now := time.Now()
	inv := &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleAdvisor, CreatedBy: e.users["F"].ID,
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour), TokenHash: talks.HashToken(token)}
	if err := e.store.CreateInvitation(context.Background(), inv, talks.Stamp{ActorID: e.users["F"].ID, Time: now.Add(-2 * time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	return token
}

// invitationStates makes a pending invitation (NP's, to the North as
// advisor), a used, a revoked and an expired one of w's talk; only the
// expired one is just a token.
func (e *env) invitationStates(w *world) (pending, used, revoked, expired Invitation) {
	e.t.Helper()
	invitations := fmt.Sprintf("/api/v1/talks/%d/invitations", w.talk.ID)
	e.must(201, "NP", "POST", invitations, map[string]any{"party_id": w.north.ID, "role": "advisor"}, &pending)
	e.must(201, "F", "POST", invitations, map[string]any{"party_id": w.south.ID, "role": "observer"}, &used)
	e.must(201, "O", "POST", "/api/v1/invitations/accept", map[string]any{"token": used.Token}, nil)
	e.must(201, "F", "POST", invitations, map[string]any{"role": "facilitator"}, &revoked)
	e.must(204, "F", "DELETE", fmt.Sprintf("/api/v1/invitations/%d", revoked.ID), nil, nil)
	expired.Token = e.expiredInvitation(w)
	return pending, used, revoked, expired
}

// TestInvitationPreview checks GET /invitations/preview: public, the four
// facts of a pending invitation, and for any other only why not.
func TestInvitationPreview(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	pending, used, revoked, expired := e.invitationStates(w)
	preview := func(token string) string {
		return "/api/v1/invitations/preview?" + url.Values{"token": {token}}.Encode()
	}

	var got InvitationPreview
	e.must(200, "", "GET", preview(pending.Token), nil, &got)
	want := InvitationPreview{TalkTitle: w.talk.Title, PartyName: w.north.Name, Role: "advisor", ExpiresAt: pending.ExpiresAt}
	if got.TalkTitle != want.TalkTitle || got.PartyName != want.PartyName || got.Role != want.Role || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("preview = %+v, want %+v", got, want)
	}
	st, body := e.do("", "GET", preview(pending.Token), nil)
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil || st != 200 || len(fields) != 4 {
		t.Errorf("preview = %d %s, want exactly talk_title, party_name, role and expires_at", st, body)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		says       string
	}{
		{"no token", "/api/v1/invitations/preview", 400, "token"},
		{"bad token", preview("bci_nope"), 404, "not valid"},
		{"used", preview(used.Token), 409, "used"},
		{"revoked", preview(revoked.Token), 409, "revoked"},
		{"expired", preview(expired.Token), 400, "expired"},
	} {
		st, body := e.do("", "GET", tc.path, nil)
		if st != tc.status || !strings.Contains(decodeErr(t, body).Message, tc.says) || bytes.Contains(body, []byte(w.talk.Title)) {
			t.Errorf("preview (%s) = %d %s, want %d saying %q and nothing of the talk", tc.name, st, body, tc.status, tc.says)
		}
	}
}

// TestSignUp checks POST /invitations/signup: every way it fails, changing
// nothing, and the account, membership and session it makes.
func TestSignUp(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	pending, used, revoked, expired := e.invitationStates(w)
	const pw = "a long enough password"
	req := func(token, email, password string) map[string]any {
		return map[string]any{"token": token, "name": "New Advisor", "email": email, "password": password}
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		says   string
	}{
		{"no token", req("", "new@example.org", pw), 400, "token"},
		{"bad token", req("bci_nope", "new@example.org", pw), 404, "not valid"},
		{"used", req(used.Token, "new@example.org", pw), 409, "used"},
		{"revoked", req(revoked.Token, "new@example.org", pw), 409, "revoked"},
		{"expired", req(expired.Token, "new@example.org", pw), 400, "expired"},
		{"email taken", req(pending.Token, e.users["NA"].Email, pw), 409, "already exists"},
		{"weak password", req(pending.Token, "new@example.org", "short"), 400, "at least 12"},
		{"no name", map[string]any{"token": pending.Token, "email": "new@example.org", "password": pw}, 400, "name"},
		{"unknown field", map[string]any{"token": pending.Token, "name": "N", "email": "new@example.org", "password": pw, "admin": true}, 400, `unknown field "admin"`},
	} {
		before := e.eventCount(w.talk.ID)
		st, body := e.do("", "POST", "/api/v1/invitations/signup", tc.body)
		if st != tc.status || !strings.Contains(decodeErr(t, body).Message, tc.says) {
			t.Errorf("sign-up (%s) = %d %s, want %d saying %q", tc.name, st, body, tc.status, tc.says)
		}
		if after := e.eventCount(w.talk.ID); after != before {
			t.Errorf("sign-up (%s) appended %d events", tc.name, after-before)
		}
		if _, err := e.store.FindUserByEmail(context.Background(), "new@example.org"); talks.ErrorCode(err) != talks.ENOTFOUND {
			t.Fatalf("sign-up (%s) left a user: %v", tc.name, err)
		}
	}

	// The happy path, as a browser: the cookie it sets signs the new user in.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	data, _ := json.Marshal(req(pending.Token, "new@example.org", pw))
	resp, err := c.Post(e.ts.URL+"/api/v1/invitations/signup", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got signUpResponse
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("sign-up = %d, %v", resp.StatusCode, err)
	}
	if got.User.ID == 0 || got.User.Email != "new@example.org" || got.User.Admin || got.CSRFToken == "" || got.ExpiresAt == nil ||
		got.Member.UserID != got.User.ID || got.Member.TalkID != w.talk.ID || got.Member.PartyID != w.north.ID || got.Member.Role != "advisor" {
		t.Errorf("sign-up = %+v", got)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("sign-up session cookie %+v, want HttpOnly and SameSite=Lax", cookie)
	}
	// The session reads the talk, and writes with the CSRF token it got.
	resp, err = c.Get(fmt.Sprintf("%s/api/v1/talks/%d", e.ts.URL, w.talk.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET the talk as the new member = %d, want 200", resp.StatusCode)
	}
	post, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/tracks/%d/messages", e.ts.URL, w.official.ID), strings.NewReader(`{"body": "hello from the new advisor"}`))
	post.Header.Set(CSRFHeader, got.CSRFToken)
	resp, err = c.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("post as the new member with its CSRF token = %d, want 201", resp.StatusCode)
	}
	e.must(200, "", "POST", "/api/v1/login", loginRequest{Email: "new@example.org", Password: pw}, nil)
	st, body := e.do("", "POST", "/api/v1/invitations/signup", req(pending.Token, "other@example.org", pw))
	if st != 409 {
		t.Errorf("sign-up with a spent link = %d %s, want 409", st, body)
	}
}
