package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/internal/web"
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

// TestTrackPageShowsLatest checks that a track with more messages than
// its page shows lists the latest web.MaxMessagesShown, oldest first, and
// marks every one of them with its event in the record.
func TestTrackPageShowsLatest(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	ctx := d.As(context.Background(), "n.envoy1")
	before, err := e.svc.FindMessages(ctx, talks.MessageFilter{TrackID: d.Back.ID})
	if err != nil {
		t.Fatal(err)
	}
	n := web.MaxMessagesShown + 3 - len(before)
	var posted []*talks.Message
	for i := range n {
		m := &talks.Message{TrackID: d.Back.ID, Body: fmt.Sprintf("note %d of %d", i, n)}
		if err := e.svc.PostMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		posted = append(posted, m)
	}
	res := e.login(t, "n.envoy1").get(fmt.Sprintf("/tracks/%d", d.Back.ID))
	all := append(before, posted...)
	shown := all[len(all)-web.MaxMessagesShown:]
	for _, m := range all[:len(all)-web.MaxMessagesShown] {
		if strings.Contains(res.Body, fmt.Sprintf(`id="m%d"`, m.ID)) {
			t.Errorf("message %d, older than the latest %d, is on the page", m.ID, web.MaxMessagesShown)
		}
	}
	first := strings.Index(res.Body, fmt.Sprintf(`id="m%d"`, shown[0].ID))
	lastAt := strings.Index(res.Body, fmt.Sprintf(`id="m%d"`, shown[len(shown)-1].ID))
	if first < 0 || lastAt < first {
		t.Errorf("the page does not list messages %d to %d, oldest first", shown[0].ID, shown[len(shown)-1].ID)
	}
	if got := strings.Count(res.Body, "✓ verified · event "); got != web.MaxMessagesShown {
		t.Errorf("%d messages marked with their event, want %d", got, web.MaxMessagesShown)
	}
}
