package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2ELiveStatus has the Northland principal on the demo proposal's page,
// where it may accept or reject the latest version, while the facilitator
// closes the talk and opens it again: the answer buttons go and come back
// live, without a reload, as do the track page's "New proposal" link and
// the counter form's submit button, whose typed text stays.
func TestE2ELiveStatus(t *testing.T) {
	srv, browser := startE2E(t, 2*time.Minute)

	p := watchLive(t, browser, srv, "N (Northland principal)", "n.principal", "/proposals/1")
	if !eval[bool](p, "answer buttons", present("form#answer-accept")) {
		t.Fatalf("the principal cannot answer the demo's proposal: %s", p.state())
	}
	// A counter-proposal half written: what is typed stays through it all.
	const typed = "Half a rationale, typed before the talk closed."
	p.do("type a rationale", chromedp.SetValue(chromedp.ID("f-rationale"), typed))
	kept := `document.querySelector("#f-rationale") && document.querySelector("#f-rationale").value === ` + jsString(typed)
	e := watchLive(t, browser, srv, "A (Northland envoy)", "n.envoy1", "/tracks/1")
	if !eval[bool](e, "new proposal link", present(`#proposals a[href$="/proposals/new"]`)) {
		t.Fatalf("the envoy has no New proposal link: %s", e.state())
	}

	f := newPerson(t, browser, srv, "F (facilitator)", "facilitator")
	f.login()
	f.open("/talks/1")
	f.follow("close the talk", `#talk-status button[type=submit]`)
	if _, ok := p.seenAt("closed", `!document.querySelector("form#answer-accept")`, 10*time.Second); !ok {
		t.Errorf("the closed talk's proposal page still offers to accept: %s", p.state())
	}
	if _, ok := p.seenAt("counter closed", `!document.querySelector("#counter-submit") && `+contains("#counter #counter-blocked", "The talk is closed")+` && `+kept, 10*time.Second); !ok {
		t.Errorf("the closed talk's counter form still offers to submit, or lost what was typed: %s", p.state())
	}
	if _, ok := e.seenAt("closed", `!document.querySelector('#proposals a[href$="/proposals/new"]')`, 10*time.Second); !ok {
		t.Errorf("the closed talk's track page still offers a new proposal: %s", e.state())
	}
	f.follow("open the talk again", `#talk-status button[type=submit]`)
	if _, ok := p.seenAt("open", present("form#answer-accept"), 10*time.Second); !ok {
		t.Errorf("the talk open again, its proposal page does not offer to accept: %s", p.state())
	}
	if _, ok := p.seenAt("counter open", present("#counter #counter-submit")+` && !document.querySelector("#counter-blocked") && `+kept, 10*time.Second); !ok {
		t.Errorf("the talk open again, its counter form does not offer to submit what was typed: %s", p.state())
	}
	if _, ok := e.seenAt("open", present(`#proposals a[href$="/proposals/new"]`), 10*time.Second); !ok {
		t.Errorf("the talk open again, its track page offers no new proposal: %s", e.state())
	}
	if p.reloaded() || e.reloaded() {
		t.Errorf("a page was reloaded, not updated live")
	}
}
