package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestSigningKeyOnPages checks member signatures in the UI: the talk page
// describes the viewer's key honestly and links its download, which the
// session cookie fetches; a signed version says who signed it, and with
// whose key; once the member holds its key the page says so and offers no
// download.
func TestSigningKeyOnPages(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	b := e.login(t, "n.envoy1")
	res := b.get(fmt.Sprintf("/talks/%d", d.Talk.ID))
	link := fmt.Sprintf(`href="/api/v1/talks/%d/key/private"`, d.Talk.ID)
	wantContains(t, res, `id="signing-key"`, "The server holds it for you", "these signatures show only what the server", link)

	key := b.get(fmt.Sprintf("/api/v1/talks/%d/key/private", d.Talk.ID))
	if key.StatusCode != 200 || !strings.HasPrefix(key.Body, "backchannel member key v1\n") {
		t.Fatalf("GET key with the session cookie = %d %q", key.StatusCode, key.Body)
	}

	res = b.get(fmt.Sprintf("/proposals/%d?version=%d", d.Proposal.ID, d.Counter.ID))
	wantContains(t, res, `id="signed-by"`, "✓ signed by", "(key held by the server)")

	if err := e.svc.ReleaseKey(d.As(context.Background(), "n.envoy1"), d.Talk.ID); err != nil {
		t.Fatal(err)
	}
	res = b.get(fmt.Sprintf("/talks/%d", d.Talk.ID))
	wantContains(t, res, "You hold your key")
	if strings.Contains(res.Body, link) {
		t.Error("the talk page offers a key the server no longer holds")
	}
}
