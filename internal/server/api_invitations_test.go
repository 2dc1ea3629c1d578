package server

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"
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
