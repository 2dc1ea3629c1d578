package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2ERatification drives issue 6, part 5, in headless Chromium against
// the real binary: the demo's stakeholder, Northland parliament's committee
// chair, finds the talk on its home page, sees no text, and tightens its
// red lines; the principals see that Southland's counter-proposal crosses
// a stakeholder's red line and accept it all the same; the chair reads the
// agreed text and ratifies it, and the talk is ratified.
func TestE2ERatification(t *testing.T) {
	srv, browser := startE2E(t, 3*time.Minute)
	k := newPerson(t, browser, srv, "K (stakeholder)", "stakeholder")
	k.login()
	ratPath := k.follow("open the talk as a stakeholder", `#stakeholding a`)
	if !strings.HasSuffix(ratPath, "/ratification") {
		t.Fatalf("the stakeholder's talk link leads to %s, want its ratification page", ratPath)
	}
	talkPath := strings.TrimSuffix(ratPath, "/ratification")
	if h := k.text("#for-ratification"); !strings.Contains(h, "not agreed yet") {
		t.Errorf("before agreement the stakeholder reads %q", h)
	}
	k.do("tighten the red line", chromedp.SetValue(chromedp.ID("reserved"), "0.65"))
	k.follow("save the red lines", `#red-lines-submit`)
	if h := k.text("#rl-h"); !strings.Contains(h, "version 2") {
		t.Errorf("after saving, the red lines heading reads %q", h)
	}
	if st := k.navigate(srv.URL + talkPath); st != 404 {
		t.Errorf("the stakeholder opens the talk page: %d, want 404", st)
	}

	// A Northland envoy has the talk page open throughout: it follows the
	// agreement and then the ratification live, without a reload.
	n := newPerson(t, browser, srv, "n.envoy1", "n.envoy1")
	n.login()
	n.open(talkPath)
	n.waitLive()
	n.mark()

	// Both principals accept the counter-proposal, flagged as crossing a
	// red line.
	for _, key := range []string{"n.principal", "s.principal"} {
		p := newPerson(t, browser, srv, key, key)
		p.login()
		p.open(talkPath)
		p.follow("open the official track", `#talk-live li:has(.tag-official) a[href^="/tracks/"]`)
		p.follow("open the proposal", `#proposals a[href^="/proposals/"]`)
		if f := p.text("#red-line-flag"); !strings.Contains(f, "Crosses a stakeholder's red line") {
			t.Errorf("%s: flag reads %q", key, f)
		}
		if strings.Contains(eval[string](p, "page HTML", `document.documentElement.outerHTML`), "Karin Holm") {
			t.Errorf("%s: the proposal page names the stakeholder", key)
		}
		p.follow("accept", `form#answer-accept button[type=submit]`)
	}

	if _, ok := n.seenAt("agreed", present("#talk-live #agreement"), 10*time.Second); !ok {
		t.Errorf("the open talk page did not show the agreement: %s", n.state())
	}

	// A Southland advisor has the ratification page open: the chair's
	// decision arrives live.
	a := newPerson(t, browser, srv, "SA (Southland advisor)", "s.advisor")
	a.login()
	a.open(talkPath + "/ratification")
	a.waitLive()
	if s := a.text("#stakeholders"); !strings.Contains(s, "Pending") {
		t.Errorf("before the decision the parties' ratification page reads %q", s)
	}
	a.mark()

	// The chair reads the agreed text and ratifies it.
	k.open(ratPath)
	if h := k.text("#agreed-text"); !strings.Contains(h, "river line") {
		t.Fatalf("the agreed text reads %q, want the counter-proposal", h)
	}
	k.do("comment", chromedp.SetValue(chromedp.ID("comment"), "The committee concurs, with reservations on the line."))
	k.follow("ratify", `#ratify-submit`)
	if h := k.text("#own-decision"); !strings.Contains(h, "ratified") || !strings.Contains(h, "reservations") {
		t.Errorf("after ratifying the page reads %q", h)
	}
	if h := k.text("main h1"); !strings.Contains(h, "Ratified") {
		t.Errorf("the heading reads %q, want the status Ratified", h)
	}

	if _, ok := a.seenAt("decision", contains("#stakeholders", "reservations"), 10*time.Second); !ok {
		t.Errorf("the chair's decision did not reach the open ratification page: %q", a.text("#stakeholders"))
	} else if a.reloaded() {
		t.Errorf("the ratification page was reloaded, not updated live")
	}

	// The parties see it: the talk is ratified, with the chair's comment.
	// The open page shows it live (its live region, replaced when the talk
	// was agreed, still follows talk.ratified), and so does a fresh one.
	if _, ok := n.seenAt("ratified", contains("#talk-live .tag", "Ratified"), 10*time.Second); !ok {
		t.Errorf("the open talk page did not show the ratification: %s", n.state())
	} else if n.reloaded() {
		t.Errorf("the talk page was reloaded, not updated live")
	}
	n.open(talkPath)
	if s := n.text("#talk-live"); !strings.Contains(s, "Ratified") {
		t.Errorf("the talk page reads %q, want Ratified", s)
	}
	n.follow("open ratification", `#ratification-link`)
	if s := n.text("#stakeholders"); !strings.Contains(s, "Karin Holm") || !strings.Contains(s, "reservations") {
		t.Errorf("the parties' ratification page reads %q", s)
	}
}
