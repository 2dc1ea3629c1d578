package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EReopen drives a stakeholder's rejection to a talk open again, in
// headless Chromium against the real binary: the principals agree on the
// demo's counter-proposal, the committee chair rejects it, and the
// facilitator, whose ratification page offers it live, reopens the talk.
// The envoy's proposal page offers to answer again, the Southland
// principal's agreement page says there is no agreement, and an advisor's
// talk page shows the talk open, all live.
func TestE2EReopen(t *testing.T) {
	srv, browser := startE2E(t, 3*time.Minute)
	for _, key := range []string{"n.principal", "s.principal"} {
		p := newPerson(t, browser, srv, key, key)
		p.login()
		p.open("/proposals/1")
		p.follow("accept", `form#answer-accept button[type=submit]`)
	}

	f := watchLive(t, browser, srv, "F (facilitator)", "facilitator", "/talks/1/ratification")
	if eval[bool](f, "reopen form", present("form#reopen")) {
		t.Fatalf("the ratification page offers to reopen before any rejection: %s", f.state())
	}
	n := watchLive(t, browser, srv, "N (Northland envoy)", "n.envoy1", "/proposals/1")
	if eval[bool](n, "answer buttons", present("form#answer-accept")) {
		t.Fatalf("the agreed talk's proposal page offers to accept: %s", n.state())
	}
	s := watchLive(t, browser, srv, "S (Southland principal)", "s.principal", "/talks/1/agreement")
	a := watchLive(t, browser, srv, "A (Southland advisor)", "s.advisor", "/talks/1")

	k := newPerson(t, browser, srv, "K (stakeholder)", "stakeholder")
	k.login()
	k.open("/talks/1/ratification")
	k.do("comment", chromedp.SetValue(chromedp.ID("comment"), "The line crosses the committee's."))
	k.follow("reject", `#reject-submit`)
	if h := k.text("#own-decision"); !strings.Contains(h, "rejected") {
		t.Fatalf("after rejecting the page reads %q", h)
	}

	if _, ok := f.seenAt("offered", present("form#reopen"), 10*time.Second); !ok {
		t.Fatalf("the facilitator's ratification page does not offer to reopen: %s", f.state())
	} else if f.reloaded() {
		t.Errorf("the ratification page was reloaded, not updated live")
	}
	shots := newShooter(t, browser, srv)
	if shots.dir != "" {
		shots.shoot(f, "ratification-rejected", "/talks/1/ratification")
	}
	f.follow("reopen", `#reopen-submit`)
	if p := f.path(); p != "/talks/1" {
		t.Errorf("reopening led to %s, want the talk page", p)
	}
	if h := f.text("#talk-live"); !strings.Contains(h, "Open") || strings.Contains(h, "Agreement reached") {
		t.Errorf("the reopened talk's page reads %q", h)
	}

	if _, ok := n.seenAt("reopened", present("form#answer-accept"), 10*time.Second); !ok {
		t.Errorf("the reopened talk's proposal page does not offer to accept: %s", n.state())
	}
	if _, ok := s.seenAt("reopened", present("#no-agreement"), 10*time.Second); !ok {
		t.Errorf("the agreement page still shows the agreement: %s", s.state())
	}
	if _, ok := a.seenAt("reopened", `!document.querySelector("#talk-live #agreement") && `+contains("#talk-live .tag", "Open"), 10*time.Second); !ok {
		t.Errorf("the open talk page still shows the agreement: %s", a.state())
	}
	if n.reloaded() || s.reloaded() || a.reloaded() {
		t.Errorf("a page was reloaded, not updated live")
	}
	if shots.dir != "" {
		shots.shoot(f, "ratification-rounds", "/talks/1/ratification")
	}
	k.open("/talks/1/ratification")
	if h := k.text("#for-ratification"); !strings.Contains(h, "not agreed yet") || !strings.Contains(h, "Round 1") || !strings.Contains(h, "The line crosses the committee's.") {
		t.Errorf("after reopening the stakeholder reads %q, want no agreement and its rejection as round 1", h)
	}
}
