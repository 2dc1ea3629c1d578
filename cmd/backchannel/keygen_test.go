package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/pgtest"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// TestKeygenEndToEnd runs keys that signers generate themselves through
// the real program, on SQLite and (with BACKCHANNEL_TEST_POSTGRES) on
// PostgreSQL: a principal makes its key with `backchannel keygen --post`,
// which registers it; the server then refuses to sign for it and takes
// its `backchannel sign --post`; a stakeholder does the same, its signer
// name asked of the server; a bad proof, another signer's key and a
// malformed key are refused and change nothing; a key made without
// --post is registered later with `sign register`; and `backchannel
// verify` passes the principal's bundle, whose member.key events carry
// the proofs.
func TestKeygenEndToEnd(t *testing.T) {
	dbs := map[string]func(t *testing.T) *Serve{
		"sqlite": func(t *testing.T) *Serve {
			return openServe(t, &Serve{DB: filepath.Join(t.TempDir(), "keygen.db")})
		},
		"postgres": func(t *testing.T) *Serve {
			return openServe(t, &Serve{DB: pgtest.NewDatabase(t), KeyDir: t.TempDir()})
		},
	}
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) { testKeygen(t, open(t)) })
	}
}

func testKeygen(t *testing.T, s *Serve) {
	base := "http://" + s.ListenAddr()
	ctx := context.Background()
	svc := talks.NewService(s.store, nil)
	users, tokens, as := cliUsers(t, s, svc, "f", "np", "sp", "stk")
	space, err := outcome.NewSpace("c", outcome.NewDiscrete("line", "river", "ridge"))
	must(t, err)
	tk := &talks.Talk{Title: "Own keys", Space: space}
	must(t, svc.CreateTalk(as("f"), tk))
	var np *talks.Member
	for _, n := range []string{"np", "sp"} {
		p := &talks.Party{TalkID: tk.ID, Name: n}
		must(t, svc.AddParty(as("f"), p))
		m := &talks.Member{TalkID: tk.ID, UserID: users[n].ID, PartyID: p.ID, Role: talks.RolePrincipal}
		must(t, svc.AddMember(as("f"), m))
		if n == "np" {
			np = m
		}
	}
	_, err = svc.AddStakeholder(as("f"), tk.ID, users["stk"].ID)
	must(t, err)
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
	head := func() int64 {
		h, err := s.store.TalkHead(ctx, tk.ID)
		must(t, err)
		return h
	}
	dir := t.TempDir()
	talkArg := fmt.Sprint(tk.ID)
	keyRoute := fmt.Sprintf("/api/v1/talks/%d/key", tk.ID)

	// The principal makes its key and registers it.
	npFile := filepath.Join(dir, "np-key.txt")
	out, stderr, err := run(t, "keygen", "--talk", talkArg, "-o", npFile, "--post", base, "--token", tokens["np"])
	if err != nil || !strings.Contains(out, "public key: ") || !strings.Contains(out, "PUT "+keyRoute+": 200 OK") {
		t.Fatalf("keygen --post = %v\n%s%s", err, out, stderr)
	}
	if fi, err := os.Stat(npFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, %v; want mode 0600", fi, err)
	}
	data, err := os.ReadFile(npFile)
	must(t, err)
	npKey, origin, err := talks.ParseKeyFile(data)
	must(t, err)
	if npKey.Signer != talks.MemberSigner(np.ID) || npKey.TalkID != tk.ID || origin != base {
		t.Errorf("the key file names %s in talk %d at %q; want %s in %d at %q", npKey.Signer, npKey.TalkID, origin, talks.MemberSigner(np.ID), tk.ID, base)
	}
	var sk struct {
		Signer    string `json:"signer"`
		PublicKey []byte `json:"public_key"`
		Holder    string `json:"holder"`
	}
	code, b := call("np", "GET", keyRoute, nil)
	if json.Unmarshal(b, &sk); code != 200 || sk.Holder != "client" || !bytes.Equal(sk.PublicKey, npKey.Public) {
		t.Fatalf("GET %s = %d %s; want the registered key, held by the client", keyRoute, code, b)
	}
	if _, _, err := run(t, "keygen", "--talk", talkArg, "--signer", npKey.Signer, "-o", npFile); exitCode(err) != 1 {
		t.Errorf("keygen over an existing file = %v, want a refusal", err)
	}
	if data2, _ := os.ReadFile(npFile); !bytes.Equal(data, data2) {
		t.Error("keygen replaced an existing key file")
	}

	// The server signs nothing for it; its own signature is taken.
	answers := fmt.Sprintf("/api/v1/versions/%d/answers", v.ID)
	if code, b := call("np", "POST", answers, []byte(`{"kind":"accept"}`)); code != 403 || !strings.Contains(string(b), "backchannel sign") {
		t.Errorf("unsigned POST %s = %d %s, want 403 that says to sign", answers, code, b)
	}
	if code, b := call("np", "GET", keyRoute+"/private", nil); code != 409 {
		t.Errorf("GET %s/private = %d %s, want 409: the server never had it", keyRoute, code, b)
	}
	out, stderr, err = run(t, "sign", "--key", npFile, "--post", "origin", "--token", tokens["np"], "answer", "--version", fmt.Sprint(v.ID), "--kind", "accept")
	if err != nil || !strings.Contains(out, "201 Created") {
		t.Fatalf("sign --post answer = %v\n%s%s", err, out, stderr)
	}

	// The stakeholder's name is asked of the server.
	stkFile := filepath.Join(dir, "stk-key.txt")
	if out, stderr, err := run(t, "keygen", "--talk", talkArg, "-o", stkFile, "--post", base, "--token", tokens["stk"]); err != nil || !strings.Contains(out, "200 OK") {
		t.Fatalf("keygen --post (stakeholder) = %v\n%s%s", err, out, stderr)
	}
	data, err = os.ReadFile(stkFile)
	must(t, err)
	stkKey, _, err := talks.ParseKeyFile(data)
	must(t, err)
	if want := talks.StakeholderSigner(users["stk"].ID); stkKey.Signer != want {
		t.Errorf("the stakeholder's key file names %s, want %s", stkKey.Signer, want)
	}

	// Refusals change nothing.
	register := func(pub ed25519.PublicKey, key ed25519.PrivateKey, flip bool) []byte {
		st := talks.KeyStatement(tk.ID, npKey.Signer, pub)
		st.At = time.Now().UTC().Format(time.RFC3339)
		sg, err := talks.Sign(key, st)
		must(t, err)
		if flip {
			sg.Sig[9] ^= 1
		}
		b, _ := json.Marshal(map[string]any{"public_key": []byte(pub), "signed": talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}})
		return b
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	before := head()
	for _, tc := range []struct {
		name string
		body []byte
		code int
		say  string
	}{
		{"bad proof", register(pub, priv, true), 403, "does not verify"},
		{"another signer's key", register(stkKey.Public, stkKey.Private, false), 409, "another signer"},
		{"malformed key", []byte(`{"public_key":"AAAA","signed":{"statement":{},"sig":"AAAA"}}`), 400, "Ed25519"},
		{"no proof", []byte(`{"public_key":"` + base64.StdEncoding.EncodeToString(pub) + `"}`), 400, "Prove"},
	} {
		code, b := call("np", "PUT", keyRoute, tc.body)
		if code != tc.code || !strings.Contains(string(b), tc.say) {
			t.Errorf("PUT %s (%s) = %d %s; want %d saying %q", keyRoute, tc.name, code, b, tc.code, tc.say)
		}
		if h := head(); h != before {
			t.Fatalf("PUT %s (%s): the log grew from %d to %d events", keyRoute, tc.name, before, h)
		}
	}

	// A key made without --post, registered later with sign.
	later := filepath.Join(dir, "np-key-2.txt")
	if _, stderr, err := run(t, "keygen", "--talk", talkArg, "--signer", npKey.Signer, "--origin", base, "-o", later); err != nil || !strings.Contains(stderr, "sign --key "+later) {
		t.Fatalf("keygen without --post = %v\n%s", err, stderr)
	}
	if code, _ := call("np", "GET", keyRoute, nil); code != 200 || head() != before {
		t.Errorf("keygen without --post changed the log")
	}
	out, stderr, err = run(t, "sign", "--key", later, "--post", "origin", "--token", tokens["np"], "register")
	if err != nil || !strings.Contains(out, "PUT "+keyRoute+": 200 OK") {
		t.Fatalf("sign register = %v\n%s%s", err, out, stderr)
	}

	// The bundle verifies, the registered keys and their proofs included.
	code, bundle := call("np", "GET", fmt.Sprintf("/api/v1/talks/%d/record", tk.ID), nil)
	if code != 200 || bytes.Count(bundle, []byte(`\"action\":\"key\"`)) != 3 {
		t.Fatalf("GET record = %d, %d proofs in it; want 3: %s", code, bytes.Count(bundle, []byte(`\"action\":\"key\"`)), bundle)
	}
	bf := filepath.Join(dir, "bundle.json")
	must(t, os.WriteFile(bf, bundle, 0o644))
	out, _, err = run(t, "verify", bf, "--key", s.ledgerKey.VerifierKey())
	if err != nil || !strings.Contains(out, "OK: ") || !strings.Contains(out, "2 member signatures checked") {
		t.Fatalf("verify = %v\n%s", err, out)
	}
	// A proof tampered with in the bundle fails verify.
	tampered := bytes.Replace(bundle, []byte(`\"action\":\"key\"`), []byte(`\"action\":\"kex\"`), 1)
	must(t, os.WriteFile(bf, tampered, 0o644))
	if out, _, err := run(t, "verify", bf, "--key", s.ledgerKey.VerifierKey()); exitCode(err) != 1 || !strings.Contains(out, "member-signature") {
		t.Errorf("verify of a tampered proof = %v\n%s", err, out)
	}
}
