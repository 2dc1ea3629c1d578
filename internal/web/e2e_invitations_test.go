package web_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestE2EInvitationsLive has the Northland principal on its invitations
// page while it makes an invitation through the API and someone signs up
// with it: the list shows the invitation, then its use, live.
func TestE2EInvitationsLive(t *testing.T) {
	srv, browser := startE2E(t, 2*time.Minute)

	np := newPerson(t, browser, srv, "NP (Northland principal)", "n.principal")
	np.login()
	np.open("/talks/1/invitations")
	np.waitLive()
	np.mark()

	api := apiLogin(t, srv, "n.principal")
	var inv struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	api.call("POST", "/api/v1/talks/1/invitations", map[string]any{"party_id": 1, "role": "advisor"}, &inv)
	if inv.Token == "" {
		t.Fatal("the invitation came without its token")
	}
	row := fmt.Sprintf(`form[action="/talks/1/invitations/%d/revoke"]`, inv.ID)
	if _, ok := np.seenAt("made", present(row), 10*time.Second); !ok {
		t.Fatalf("the new invitation did not reach the open page: %s", np.text("#invitations-live"))
	}

	guest := &apiSession{t: t, srv: srv, c: &http.Client{Timeout: stepTimeout}} // signed in as no one
	guest.call("POST", "/api/v1/invitations/signup", map[string]string{
		"token": inv.Token, "name": "Nadia Novak", "email": "nadia@northland.example", "password": "correct horse battery staple",
	}, nil)
	if _, ok := np.seenAt("used", contains("#invitations-live", "Nadia Novak"), 10*time.Second); !ok {
		t.Errorf("the invitation's use did not reach the open page: %s", np.text("#invitations-live"))
	}
	if np.reloaded() {
		t.Errorf("the invitations page was reloaded, not updated live")
	}
}
