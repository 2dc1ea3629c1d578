package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EPreferences drives issue 6 in headless Chromium against the real
// binary: a Southland principal opens "My preferences" from the talk page,
// sees its utility plotted (uPlot, drawn by the page's static script under
// the Content-Security-Policy), enters a change, asks the mediator about
// the current version from the proposal page, and counters with the first
// suggestion in one click.
func TestE2EPreferences(t *testing.T) {
	srv, browser := startE2E(t, 3*time.Minute)
	b := newPerson(t, browser, srv, "B (Southland principal)", "s.principal")
	b.login()

	talkPath := b.follow("open the talk", `main li a[href^="/talks/"]`)
	if p := b.follow("open My preferences", `#preferences-link`); p != talkPath+"/preferences" {
		t.Fatalf("My preferences at %s, want %s/preferences", p, talkPath)
	}
	b.do("wait for the chart", chromedp.WaitVisible(chromedp.CSS(`#utility-chart .uplot canvas`)))
	if n := eval[int](b, "count standing rows", `document.querySelectorAll("#standing-table tbody tr").length`); n != 2 {
		t.Errorf("standing lists %d versions, want the draft and the counter", n)
	}

	// Enter a change: the reserved value.
	b.do("change the reserved value", chromedp.SetValue(chromedp.ID("reserved"), "0.55"))
	b.follow("save", `#preferences-submit`)
	if h := b.text("#history"); !strings.Contains(h, "Version 2") {
		t.Errorf("after saving, the history reads %q, want a version 2", h)
	}

	// Ask the mediator about the current version and counter with the
	// first suggestion.
	b.follow("open the proposal", `#standing-table tbody tr:last-child a`)
	b.follow("ask the mediator", `#suggestions-link`)
	if h := b.text("main"); !strings.Contains(h, "Improvement 1") || !strings.Contains(h, "Your gain") {
		t.Fatalf("the suggestions page reads %q, want improvements with Southland's gain", h)
	}
	b.follow("counter with the first suggestion", `section.suggestion form button[type=submit]`)
	if r := b.text("#selected"); !strings.Contains(r, "A mediator's suggestion (Improvement 1).") {
		t.Errorf("after countering, the selected version reads %q, want the suggestion's rationale", r)
	}
}
