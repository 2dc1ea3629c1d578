package web_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EMandate drives issue 6 part 4 in headless Chromium against the
// real binary: an envoy refused by its mandate. Tomas (Northland's first
// envoy, whose demo mandate allows the current front or the river line)
// reads his mandate, tries to counter with the 1990 border and sees the
// refusal next to the field, then tries to accept a version on the 1990
// border and sees the refusal at the accept button; neither writes. His
// principal then widens the mandate, and his open Mandates page shows it.
func TestE2EMandate(t *testing.T) {
	srv, browser := startE2E(t, 3*time.Minute)
	a := newPerson(t, browser, srv, "A (Northland envoy)", "n.envoy1")
	a.login()

	a.follow("open the talk", `main li a[href^="/talks/"]`)
	a.follow("open Mandates", `#mandates-link`)
	if m := a.text("main"); !strings.Contains(m, "Your mandate") || !strings.Contains(m, "current front or river line") {
		t.Fatalf("the Mandates page reads %q, want Tomas's own mandate", m)
	}

	// The proposal and its latest version, through the API.
	ne := apiLogin(t, srv, "n.envoy1")
	var talkList []struct {
		ID int64 `json:"id"`
	}
	ne.call("GET", "/api/v1/talks", nil, &talkList)
	var props []struct {
		ID int64 `json:"id"`
	}
	ne.call("GET", fmt.Sprintf("/api/v1/talks/%d/proposals", talkList[0].ID), nil, &props)
	var versions []struct {
		ID     int64             `json:"id"`
		Values map[string]string `json:"values"`
	}
	ne.call("GET", fmt.Sprintf("/api/v1/proposals/%d/versions", props[0].ID), nil, &versions)
	latest := versions[len(versions)-1]
	const refusal = "Your mandate allows ceasefire line: current front or river line."

	submit := func(what, css string) int64 {
		t.Helper()
		sctx, scancel := context.WithTimeout(a.ctx, stepTimeout)
		defer scancel()
		res, err := chromedp.RunResponse(sctx, chromedp.WaitVisible(chromedp.CSS(css)),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).click()`, jsString(css))))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res.Status
	}

	// A counter on the 1990 border: refused next to the field.
	a.open(fmt.Sprintf("/proposals/%d?version=%d", props[0].ID, latest.ID))
	a.do("choose the 1990 border", chromedp.SetValue(chromedp.CSS(`#counter select[name="value:ceasefire line"]`), "1990 border"))
	if st := submit("counter", `#counter-submit`); st != 403 {
		t.Errorf("the counter outside the mandate answered %d, want 403", st)
	}
	if e := a.text("#e-v-0"); !strings.Contains(e, refusal) {
		t.Errorf("next to the ceasefire line the page reads %q, want %q", e, refusal)
	}

	// Southland's principal tables the 1990 border; Tomas may not accept it.
	values := maps.Clone(latest.Values)
	values["ceasefire line"] = "1990 border"
	var border struct {
		ID int64 `json:"id"`
	}
	apiLogin(t, srv, "s.principal").call("POST", fmt.Sprintf("/api/v1/versions/%d/counter", latest.ID), map[string]any{"values": values}, &border)
	a.open(fmt.Sprintf("/proposals/%d?version=%d", props[0].ID, border.ID))
	if st := submit("accept", `#answer-accept button`); st != 403 {
		t.Errorf("the acceptance outside the mandate answered %d, want 403", st)
	}
	if e := a.text("#answer-error"); !strings.Contains(e, refusal) {
		t.Errorf("at the accept button the page reads %q, want %q", e, refusal)
	}
	var answers []struct {
		Kind string `json:"kind"`
	}
	ne.call("GET", fmt.Sprintf("/api/v1/versions/%d/answers", border.ID), nil, &answers)
	if len(answers) != 0 {
		t.Errorf("the refusals left answers %+v, want none", answers)
	}

	// Tomas keeps his Mandates page open while his principal widens the
	// mandate to the 1990 border: it shows the new mandate live.
	a.open(fmt.Sprintf("/talks/%d/mandates", talkList[0].ID))
	a.waitLive()
	a.mark()
	var me struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	ne.call("GET", "/api/v1/me", nil, &me)
	var members []struct {
		ID     int64 `json:"id"`
		UserID int64 `json:"user_id"`
	}
	ne.call("GET", fmt.Sprintf("/api/v1/talks/%d/members", talkList[0].ID), nil, &members)
	var envoy int64
	for _, m := range members {
		if m.UserID == me.User.ID {
			envoy = m.ID
		}
	}
	apiLogin(t, srv, "n.principal").call("PUT", fmt.Sprintf("/api/v1/talks/%d/mandates/%d", talkList[0].ID, envoy),
		map[string]any{"allowed": map[string][]string{"ceasefire line": {"current front", "river line", "1990 border"}}}, nil)
	if _, ok := a.seenAt("widened", contains("#mandates-live", "1990 border"), 10*time.Second); !ok {
		t.Errorf("the open Mandates page does not show the new mandate: %q", a.text("main"))
	} else if a.reloaded() {
		t.Errorf("the Mandates page was reloaded, not updated live")
	}
}
