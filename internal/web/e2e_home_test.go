package web_test

import (
	"fmt"
	"testing"
	"time"
)

// TestE2EMyTalksLive has an advisor's My talks open while the facilitator,
// through the API, closes the demo talk and convenes another talk with the
// advisor in it: the list follows both without a reload.
func TestE2EMyTalksLive(t *testing.T) {
	srv, browser := startE2E(t, 2*time.Minute)
	na := watchLive(t, browser, srv, "NA (Northland advisor)", "n.advisor", "/")
	if _, ok := na.seenAt("open", contains("#talks", "Northland-Southland ceasefire talks")+" && "+contains("#talks", "Open"), 5*time.Second); !ok {
		t.Fatalf("My talks lacks the open demo talk: %s", na.text("#my-talks"))
	}

	fac := apiLogin(t, srv, "facilitator")
	fac.call("PATCH", "/api/v1/talks/1", map[string]any{"status": "closed"}, nil)
	if _, ok := na.seenAt("closed", contains("#talks", "Closed"), 10*time.Second); !ok {
		t.Errorf("the talk's closing did not reach My talks: %s", na.text("#my-talks"))
	}

	var me struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	apiLogin(t, srv, "n.advisor").call("GET", "/api/v1/me", nil, &me)
	var tk, party struct {
		ID int64 `json:"id"`
	}
	fac.call("POST", "/api/v1/talks", map[string]any{"title": "Water-sharing talks"}, &tk)
	fac.call("POST", fmt.Sprintf("/api/v1/talks/%d/parties", tk.ID), map[string]any{"name": "Upstream"}, &party)
	fac.call("POST", fmt.Sprintf("/api/v1/talks/%d/members", tk.ID), map[string]any{"user_id": me.User.ID, "party_id": party.ID, "role": "advisor"}, nil)
	if _, ok := na.seenAt("joined", contains("#talks", "Water-sharing talks"), 10*time.Second); !ok {
		t.Errorf("the new talk did not reach My talks: %s", na.text("#my-talks"))
	}
	if na.reloaded() {
		t.Errorf("My talks was reloaded, not updated live")
	}
}
