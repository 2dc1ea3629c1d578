package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EStakeholderKey drives a stakeholder's signing key in headless
// Chromium against the real binary: the demo's stakeholder finds the key
// section on its ratification page, downloads its key with the session
// cookie, drops the server's copy and is brought back to the page, which
// then says that it holds the key; the page tells it, as the member's
// talk page tells a member, how to register a key of its own making.
func TestE2EStakeholderKey(t *testing.T) {
	srv, browser := startE2E(t, 2*time.Minute)
	k := newPerson(t, browser, srv, "K (stakeholder)", "stakeholder")
	k.login()
	ratPath := k.follow("open the talk as a stakeholder", `#stakeholding a`)
	var talkID int64
	if _, err := fmt.Sscanf(ratPath, "/talks/%d/ratification", &talkID); err != nil {
		t.Fatalf("the stakeholder's talk link leads to %s", ratPath)
	}
	if s := k.text("#signing-key #key-state"); !strings.Contains(s, "Your ratification is signed") || !strings.Contains(s, "The server holds it for you") {
		t.Errorf("the stakeholder's key section reads %q", s)
	}
	keygen := fmt.Sprintf("backchannel keygen --talk %d --post %s --token TOKEN", talkID, srv.URL)
	if s := k.text("#key-own"); !strings.Contains(s, keygen) || !strings.Contains(s, "never sees its private half") {
		t.Errorf("the stakeholder's note on a key of its own reads %q, want %q", s, keygen)
	}

	// The download link serves the key file to the signed-in browser.
	fctx, fcancel := context.WithTimeout(k.ctx, stepTimeout)
	file, err := chromedp.Run(fctx, chromedp.Evaluate[string](`fetch(document.querySelector("#key-download").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	fcancel()
	if err != nil {
		t.Fatalf("fetch the key: %v", err)
	}
	if !strings.HasPrefix(file, "backchannel member key v1\n") || !strings.Contains(file, "signer: stakeholder/") {
		t.Fatalf("the key download = %q, want the stakeholder's key file", file)
	}

	// Drop the server's copy: back on the ratification page, which says so.
	k.do("confirm the key is saved", chromedp.Evaluate[chromedp.Void](`document.querySelector('#key-release input[name="saved"]').checked = true`))
	if path := k.follow("drop the server's copy", `#key-release button[type=submit]`); path != ratPath {
		t.Errorf("after dropping the key the page is %s, want %s", path, ratPath)
	}
	if s := k.text("#key-state"); !strings.Contains(s, "You hold your key") {
		t.Errorf("after dropping the key the section reads %q", s)
	}
	if n := eval[int](k, "count download links", `document.querySelectorAll("#key-download, #key-release").length`); n != 0 {
		t.Errorf("the page still offers %d key downloads or drops", n)
	}
	if st := k.navigate(fmt.Sprintf("%s/api/v1/talks/%d/key/private", srv.URL, talkID)); st != 409 {
		t.Errorf("GET key/private after the drop = %d, want 409", st)
	}

	// A member's talk page tells the same.
	n := newPerson(t, browser, srv, "n.envoy1", "n.envoy1")
	n.login()
	n.open(fmt.Sprintf("/talks/%d", talkID))
	if s := n.text("#key-own"); !strings.Contains(s, fmt.Sprintf("backchannel keygen --talk %d", talkID)) {
		t.Errorf("the member's note on a key of its own reads %q", s)
	}
}
