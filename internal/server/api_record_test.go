package server

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

func decodeHashes(t *testing.T, ss []string) []tlog.Hash {
	t.Helper()
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 32 {
			t.Fatalf("hash %q: %v", s, err)
		}
		copy(out[i][:], b)
	}
	return out
}

// TestRecordBundle checks that a member's bundle holds nothing outside its
// view and verifies against the server's key, and that the proofs the API
// serves check with tlog's own functions.
func TestRecordBundle(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	for _, tc := range []struct {
		user       string
		seesSecret bool
	}{{"NA", false}, {"F", false}, {"NE", true}, {"SE", true}} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/talks/%d/record", e.ts.URL, w.talk.ID), nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens[tc.user])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET record as %s = %d %s", tc.user, resp.StatusCode, buf.Bytes())
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
			t.Errorf("GET record as %s: Content-Disposition %q, want an attachment", tc.user, cd)
		}
		if got := bytes.Contains(buf.Bytes(), []byte("secret")); got != tc.seesSecret {
			t.Errorf("bundle of %s holds back-channel text: %v, want %v", tc.user, got, tc.seesSecret)
		}
		b, err := ledger.ParseBundle(buf.Bytes())
		if err != nil {
			t.Fatalf("ParseBundle(record of %s): %v", tc.user, err)
		}
		r, err := ledger.Verify(b, ledger.VerifyOptions{ServerKey: e.key.VerifierKey()})
		if err != nil || !r.OK() {
			t.Errorf("Verify(record of %s) = %v, %v; want OK", tc.user, r.Failures, err)
		}
		if !tc.seesSecret && r.Hidden == 0 {
			t.Errorf("record of %s hides %d events, want some", tc.user, r.Hidden)
		}
	}

	// The latest checkpoint, and proofs against it.
	var cp Checkpoint
	e.must(200, "NA", "GET", fmt.Sprintf("/api/v1/talks/%d/checkpoint", w.talk.ID), nil, &cp)
	c, err := ledger.OpenCheckpoint([]byte(cp.Checkpoint), e.key.Verifier())
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if cp.ServerKey != e.key.VerifierKey() || c.Size != cp.Size || c.Root.String() != cp.Root {
		t.Errorf("GET checkpoint = %+v, note %+v", cp, c)
	}
	var p InclusionProof
	e.must(200, "NA", "GET", fmt.Sprintf("/api/v1/talks/%d/events/1/proof?size=%d", w.talk.ID, c.Size), nil, &p)
	lh := decodeHashes(t, []string{p.LeafHash})[0]
	if err := tlog.CheckRecord(decodeHashes(t, p.Proof), c.Size, c.Root, 0, lh); err != nil {
		t.Errorf("inclusion proof of event 1: %v", err)
	}
	var cons ConsistencyProof
	e.must(200, "NA", "GET", fmt.Sprintf("/api/v1/talks/%d/consistency?old=3&new=%d", w.talk.ID, c.Size), nil, &cons)
	old := decodeHashes(t, []string{cons.OldRoot})[0]
	if err := tlog.CheckTree(decodeHashes(t, cons.Proof), c.Size, c.Root, 3, old); err != nil {
		t.Errorf("consistency proof from 3: %v", err)
	}
	// The back-channel's events do not exist for NA.
	evs, err := e.svc.FindEvents(e.as("NE"), talks.EventFilter{TalkID: w.talk.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.TrackID != w.envoys.ID {
			continue
		}
		st, body := e.do("NA", "GET", fmt.Sprintf("/api/v1/talks/%d/events/%d/proof", w.talk.ID, ev.ID), nil)
		if st != 404 {
			t.Errorf("proof of back-channel event %d as NA = %d %s, want 404", ev.ID, st, body)
		}
		var ok InclusionProof
		e.must(200, "NE", "GET", fmt.Sprintf("/api/v1/talks/%d/events/%d/proof", w.talk.ID, ev.ID), nil, &ok)
	}
	for _, bad := range []string{"old=0", "old=99999", "new=99999&old=1", ""} {
		st, body := e.do("NA", "GET", fmt.Sprintf("/api/v1/talks/%d/consistency?%s", w.talk.ID, bad), nil)
		if st != 400 {
			t.Errorf("consistency?%s = %d %s, want 400", bad, st, body)
		}
	}
}
