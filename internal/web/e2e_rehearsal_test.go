package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2ERehearsal drives the rehearsal page in headless Chromium against
// the real binary: a Northland envoy opens it from the talk page, runs a
// rehearsal, and sees the histogram drawn by the page's static script
// under the Content-Security-Policy, and the likely agreement.
func TestE2ERehearsal(t *testing.T) {
	srv, browser := startE2E(t, 3*time.Minute)
	b := newPerson(t, browser, srv, "A (Northland envoy)", "n.envoy1")
	b.login()

	talkPath := b.follow("open the talk", `main li a[href^="/talks/"]`)
	if p := b.follow("open the rehearsal", `#rehearsal-link`); p != talkPath+"/rehearsal" {
		t.Fatalf("rehearsal at %s, want %s/rehearsal", p, talkPath)
	}
	b.do("choose the agents", chromedp.SetValue(chromedp.ID("own_agent"), "conceder"))
	b.do("choose the runs", chromedp.SetValue(chromedp.ID("runs"), "500"))
	b.follow("rehearse", `#rehearsal-submit`)
	b.do("wait for the histogram", chromedp.WaitVisible(chromedp.CSS(`#rehearsal-chart .uplot canvas`)))
	if s := b.text("#result-summary"); !strings.Contains(s, "500 runs of conceder (you)") {
		t.Errorf("the summary reads %q, want 500 runs of conceder", s)
	}
	if h := b.text("#result"); !strings.Contains(h, "Estimate") || !strings.Contains(h, "No agreement") {
		t.Errorf("the result reads %q, want it labelled an estimate with the share of no agreement", h)
	}
}
