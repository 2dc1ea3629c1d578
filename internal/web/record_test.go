package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestRecordOnPages checks the verifiable record in the UI: the agreement
// page names the checkpoint that covers it and links the record bundle,
// which the session cookie downloads and which verifies; the track page
// marks each message with its event.
func TestRecordOnPages(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	ctx := context.Background()
	for _, key := range []string{"n.envoy1", "s.envoy1"} {
		if err := e.svc.AnswerVersion(d.As(ctx, key), &talks.Answer{VersionID: d.Counter.ID, Kind: talks.AnswerAccept}); err != nil {
			t.Fatalf("accept as %s: %v", key, err)
		}
	}
	b := e.login(t, "n.envoy1")
	res := b.get(fmt.Sprintf("/talks/%d/agreement", d.Talk.ID))
	link := fmt.Sprintf(`href="/api/v1/talks/%d/record"`, d.Talk.ID)
	wantContains(t, res, `id="checkpoint"`, "checkpoint of tree size", "<code>web.example</code>", link, "Download the record")

	rec := b.get(fmt.Sprintf("/api/v1/talks/%d/record", d.Talk.ID))
	if rec.StatusCode != 200 || !strings.HasPrefix(rec.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("GET record with the session cookie = %d, Content-Disposition %q", rec.StatusCode, rec.Header.Get("Content-Disposition"))
	}
	bundle, err := ledger.ParseBundle([]byte(rec.Body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ledger.Verify(bundle, ledger.VerifyOptions{ServerKey: e.key.VerifierKey()})
	if err != nil || !r.OK() {
		t.Fatalf("Verify(record) = %v, %v", r.Failures, err)
	}

	res = b.get(fmt.Sprintf("/tracks/%d", d.Back.ID))
	wantContains(t, res, "✓ verified · event ")
}
