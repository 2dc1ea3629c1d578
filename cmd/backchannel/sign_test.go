package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// cliUsers creates a user with an API token for each name, in the store
// of s, and returns them, their tokens and a context acting as each.
func cliUsers(t *testing.T, s *Serve, svc *talks.Service, names ...string) (map[string]*talks.User, map[string]string, func(string) context.Context) {
	t.Helper()
	ctx := context.Background()
	users := map[string]*talks.User{}
	tokens := map[string]string{}
	as := func(n string) context.Context { return talks.NewContextWithUser(ctx, users[n]) }
	for _, n := range names {
		u := &talks.User{Name: n, Email: n + "@example.org", PasswordHash: "x"}
		must(t, s.store.CreateUser(ctx, u))
		users[n] = u
		tok, err := svc.CreateAPIToken(as(n), "cli")
		must(t, err)
		tokens[n] = tok.Token
	}
	return users, tokens, as
}

// TestSignEndToEnd runs member signatures through the real program: a
// principal exports its key and drops the server's copy, the server then
// refuses its unsigned answer, `backchannel sign --post` submits a signed
// one, and `backchannel verify` checks the member signatures of the bundle
// and catches a signature replaced or moved to another event.
func TestSignEndToEnd(t *testing.T) {
	s := openServe(t, &Serve{DB: filepath.Join(t.TempDir(), "sign.db")})
	base := "http://" + s.ListenAddr()
	svc := talks.NewService(s.store, nil)
	users, tokens, as := cliUsers(t, s, svc, "f", "np", "sp", "ne")
	space, err := outcome.NewSpace("c", outcome.NewDiscrete("line", "river", "ridge"))
	must(t, err)
	tk := &talks.Talk{Title: "Signed", Space: space}
	must(t, svc.CreateTalk(as("f"), tk))
	parties := map[string]*talks.Party{}
	for n, p := range map[string]string{"np": "North", "sp": "South"} {
		parties[n] = &talks.Party{TalkID: tk.ID, Name: p}
		must(t, svc.AddParty(as("f"), parties[n]))
		must(t, svc.AddMember(as("f"), &talks.Member{TalkID: tk.ID, UserID: users[n].ID, PartyID: parties[n].ID, Role: talks.RolePrincipal}))
	}
	envoy := &talks.Member{TalkID: tk.ID, UserID: users["ne"].ID, PartyID: parties["np"].ID, Role: talks.RoleEnvoy}
	must(t, svc.AddMember(as("f"), envoy))
	tracks, err := svc.FindTracks(as("f"), tk.ID)
	must(t, err)
	v := &talks.Version{Values: map[string]string{"line": "river"}}
	must(t, svc.CreateProposal(as("sp"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Draft"}, v))

	call := func(who, method, path string, body []byte) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[who])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	keyPath := fmt.Sprintf("/api/v1/talks/%d/key/private", tk.ID)
	code, keyFile := call("np", "GET", keyPath, nil)
	if code != 200 || !bytes.HasPrefix(keyFile, []byte("backchannel member key v1\n")) {
		t.Fatalf("GET %s = %d %s", keyPath, code, keyFile)
	}
	if code, b := call("np", "DELETE", keyPath, nil); code != 204 {
		t.Fatalf("DELETE %s = %d %s", keyPath, code, b)
	}
	if code, b := call("np", "GET", keyPath, nil); code != 409 {
		t.Errorf("GET %s after DELETE = %d %s, want 409", keyPath, code, b)
	}
	answers := fmt.Sprintf("/api/v1/versions/%d/answers", v.ID)
	if code, b := call("np", "POST", answers, []byte(`{"kind":"accept"}`)); code != 403 || !strings.Contains(string(b), "backchannel sign") {
		t.Errorf("unsigned POST %s = %d %s, want 403 that says to sign", answers, code, b)
	}
	kf := filepath.Join(t.TempDir(), "key.txt")
	must(t, os.WriteFile(kf, keyFile, 0o600))

	// Printed, not sent: the body the API takes, and its route.
	out, stderr, err := run(t, "sign", "--key", kf, "answer", "--version", fmt.Sprint(v.ID), "--kind", "reject")
	if err != nil || strings.TrimSpace(stderr) != "POST "+answers || !strings.Contains(out, `"signed":{"statement":{"talk":`) {
		t.Fatalf("sign answer = %v\n%s%s", err, out, stderr)
	}
	// A signature for another action is refused and writes nothing.
	var body map[string]json.RawMessage
	must(t, json.Unmarshal([]byte(out), &body))
	body["kind"] = json.RawMessage(`"accept"`)
	mismatched, _ := json.Marshal(body)
	if code, b := call("np", "POST", answers, mismatched); code != 400 || !strings.Contains(string(b), "does not match") {
		t.Errorf("mismatched signed POST %s = %d %s, want 400", answers, code, b)
	}
	post := func(want string, args ...string) string {
		t.Helper()
		out, stderr, err := run(t, append([]string{"sign", "--key", kf, "--post", "origin", "--token", tokens["np"]}, args...)...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("sign --post %s = %v\n%s%s", args[0], err, out, stderr)
		}
		return out
	}
	post("201 Created", "answer", "--version", fmt.Sprint(v.ID), "--kind", "accept")
	// Every other action a principal signs: a proposal, a counter to it,
	// its envoy's mandate. The CLI and the server agree on each statement.
	out = post("201 Created", "propose", "--track", fmt.Sprint(tracks[0].ID), "--title", "North's <draft>",
		"--values", "line=ridge", "--clause", "line=Along the ridge & no further.", "--rationale", "Better.")
	var created struct {
		Version struct {
			ID int64 `json:"id"`
		} `json:"version"`
	}
	_, answer, _ := strings.Cut(out, "\n")
	must(t, json.Unmarshal([]byte(answer), &created))
	post("201 Created", "counter", "--parent", fmt.Sprint(created.Version.ID), "--values", "line=river", "--rationale", "Or this.")
	post("200 OK", "mandate", "--envoy", fmt.Sprint(envoy.ID), "--allowed", "line=river|ridge")

	// The bundle verifies, member signatures included.
	code, bundle := call("np", "GET", fmt.Sprintf("/api/v1/talks/%d/record", tk.ID), nil)
	if code != 200 {
		t.Fatalf("GET record = %d %s", code, bundle)
	}
	write := func(b []byte) string {
		p := filepath.Join(t.TempDir(), "bundle.json")
		must(t, os.WriteFile(p, b, 0o644))
		return p
	}
	vk := s.ledgerKey.VerifierKey()
	out, _, err = run(t, "verify", write(bundle), "--key", vk)
	if err != nil || !strings.Contains(out, "5 member signatures checked, under the keys the log binds to 4 signers") {
		t.Fatalf("verify = %v\n%s", err, out)
	}

	// Tampered: the signed events are those of the proposal and the answer.
	b, err := ledger.ParseBundle(bundle)
	must(t, err)
	var signed []*talks.Event
	for _, l := range b.Leaves {
		if sg, _ := talks.EventSignature(l.Event); l.Event != nil && sg != nil {
			signed = append(signed, l.Event)
		}
	}
	if len(signed) != 5 {
		t.Fatalf("bundle has %d signed events, want 5", len(signed))
	}
	setSigned := func(e *talks.Event, sg *talks.Signed) {
		var p map[string]json.RawMessage
		must(t, json.Unmarshal(e.Payload, &p))
		p["signed"], _ = json.Marshal(sg)
		e.Payload, _ = json.Marshal(p)
	}
	for _, tc := range []struct {
		name   string
		tamper func()
		seq    int64
	}{
		{"replace a signature", func() {
			sg, _ := talks.EventSignature(signed[1])
			sg.Sig[3] ^= 1
			setSigned(signed[1], sg)
		}, signed[1].ID},
		{"move a signature to another event", func() {
			sg, _ := talks.EventSignature(signed[1])
			setSigned(signed[0], sg)
		}, signed[0].ID},
	} {
		b, err := ledger.ParseBundle(bundle)
		must(t, err)
		for i := range signed {
			signed[i] = b.Leaves[signed[i].ID-1].Event
		}
		tc.tamper()
		data, _ := json.Marshal(b)
		out, _, err := run(t, "verify", write(data), "--key", vk)
		if exitCode(err) != 1 || !strings.Contains(out, fmt.Sprintf("event %d: member-signature: ", tc.seq)) {
			t.Errorf("%s: verify = %v\n%s", tc.name, err, out)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSignReopen has a facilitator who holds its own key reopen a talk
// whose agreement a stakeholder rejected: refused unsigned, done with
// `backchannel sign reopen`, and the reopening's signature is in the
// record that `backchannel verify` checks.
func TestSignReopen(t *testing.T) {
	s := openServe(t, &Serve{DB: filepath.Join(t.TempDir(), "reopen.db")})
	base := "http://" + s.ListenAddr()
	svc := talks.NewService(s.store, nil)
	users, tokens, as := cliUsers(t, s, svc, "f", "np", "sp", "k")
	space, err := outcome.NewSpace("c", outcome.NewDiscrete("line", "river", "ridge"))
	must(t, err)
	tk := &talks.Talk{Title: "Reopened", Space: space}
	must(t, svc.CreateTalk(as("f"), tk))
	for n, p := range map[string]string{"np": "North", "sp": "South"} {
		party := &talks.Party{TalkID: tk.ID, Name: p}
		must(t, svc.AddParty(as("f"), party))
		must(t, svc.AddMember(as("f"), &talks.Member{TalkID: tk.ID, UserID: users[n].ID, PartyID: party.ID, Role: talks.RolePrincipal}))
	}
	_, err = svc.AddStakeholder(as("f"), tk.ID, users["k"].ID)
	must(t, err)
	tracks, err := svc.FindTracks(as("f"), tk.ID)
	must(t, err)
	v := &talks.Version{Values: map[string]string{"line": "river"}}
	must(t, svc.CreateProposal(as("np"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Draft"}, v))
	for _, n := range []string{"np", "sp"} {
		must(t, svc.AnswerVersion(as(n), &talks.Answer{VersionID: v.ID, Kind: talks.AnswerAccept}))
	}
	must(t, svc.Ratify(as("k"), tk.ID, talks.DecisionReject, "Not on the river."))

	call := func(method, path string, body []byte) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens["f"])
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	keyPath := fmt.Sprintf("/api/v1/talks/%d/key/private", tk.ID)
	code, keyFile := call("GET", keyPath, nil)
	if code != 200 {
		t.Fatalf("GET %s = %d %s", keyPath, code, keyFile)
	}
	if code, b := call("DELETE", keyPath, nil); code != 204 {
		t.Fatalf("DELETE %s = %d %s", keyPath, code, b)
	}
	reopen := fmt.Sprintf("/api/v1/talks/%d/reopen", tk.ID)
	if code, b := call("POST", reopen, nil); code != 403 || !strings.Contains(string(b), "backchannel sign") {
		t.Errorf("unsigned POST %s = %d %s, want 403 that says to sign", reopen, code, b)
	}
	kf := filepath.Join(t.TempDir(), "key.txt")
	must(t, os.WriteFile(kf, keyFile, 0o600))
	out, stderr, err := run(t, "sign", "--key", kf, "--post", "origin", "--token", tokens["f"], "reopen")
	if err != nil || !strings.Contains(out, "200 OK") || !strings.Contains(out, `"status":"open"`) {
		t.Fatalf("sign --post reopen = %v\n%s%s", err, out, stderr)
	}

	code, bundle := call("GET", fmt.Sprintf("/api/v1/talks/%d/record", tk.ID), nil)
	if code != 200 {
		t.Fatalf("GET record = %d %s", code, bundle)
	}
	b, err := ledger.ParseBundle(bundle)
	must(t, err)
	last := b.Leaves[len(b.Leaves)-1].Event
	if sg, _ := talks.EventSignature(last); last.Type != talks.EventTalkReopened || sg == nil || sg.Signer != "member/1" {
		t.Fatalf("the record ends with %s %s, want a talk.reopened signed by the facilitator", last.Type, last.Payload)
	}
	p := filepath.Join(t.TempDir(), "bundle.json")
	must(t, os.WriteFile(p, bundle, 0o644))
	out, _, err = run(t, "verify", p, "--key", s.ledgerKey.VerifierKey())
	if err != nil || !strings.Contains(out, "member signatures checked") {
		t.Fatalf("verify = %v\n%s", err, out)
	}
	// Stripped of its signature, the reopening fails verify: the log
	// binds the facilitator a key.
	var pl map[string]json.RawMessage
	must(t, json.Unmarshal(last.Payload, &pl))
	delete(pl, "signed")
	last.Payload, _ = json.Marshal(pl)
	data, _ := json.Marshal(b)
	must(t, os.WriteFile(p, data, 0o644))
	out, _, err = run(t, "verify", p, "--key", s.ledgerKey.VerifierKey())
	if exitCode(err) != 1 || !strings.Contains(out, fmt.Sprintf("event %d: member-signature: ", last.ID)) {
		t.Errorf("verify of a reopening stripped of its signature = %v\n%s", err, out)
	}
}
