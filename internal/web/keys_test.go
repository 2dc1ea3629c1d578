package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
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
	wantContains(t, res, `id="signing-key"`, "The server holds it for you", "these signatures show only what the server", link,
		`id="key-own"`, fmt.Sprintf("backchannel keygen --talk %d --post http", d.Talk.ID))

	key := b.get(fmt.Sprintf("/api/v1/talks/%d/key/private", d.Talk.ID))
	if key.StatusCode != 200 || !strings.HasPrefix(key.Body, "backchannel member key v1\n") {
		t.Fatalf("GET key with the session cookie = %d %q", key.StatusCode, key.Body)
	}

	res = b.get(fmt.Sprintf("/proposals/%d?version=%d", d.Proposal.ID, d.Counter.ID))
	wantContains(t, res, `id="signed-by"`, "✓ signed by", "(key held by the server)")

	release := fmt.Sprintf("/talks/%d/key/release", d.Talk.ID)
	wantContains(t, b.get(fmt.Sprintf("/talks/%d", d.Talk.ID)), `action="`+release+`"`)
	if res := b.post(release, url.Values{}); res.StatusCode == http.StatusOK || res.StatusCode == http.StatusSeeOther {
		t.Errorf("POST %s unconfirmed = %d, want a refusal", release, res.StatusCode)
	}
	if k, err := e.svc.FindKey(d.As(context.Background(), "n.envoy1"), d.Talk.ID); err != nil || k.Holder != talks.KeyHolderServer {
		t.Fatalf("key after an unconfirmed release: %+v, %v", k, err)
	}
	b.post(release, url.Values{"saved": {"yes"}})
	if k, err := e.svc.FindKey(d.As(context.Background(), "n.envoy1"), d.Talk.ID); err != nil || k.Holder != talks.KeyHolderClient {
		t.Fatalf("key after release: %+v, %v", k, err)
	}
	res = b.get(fmt.Sprintf("/talks/%d", d.Talk.ID))
	wantContains(t, res, "You hold your key")
	if strings.Contains(res.Body, link) {
		t.Error("the talk page offers a key the server no longer holds")
	}
}
