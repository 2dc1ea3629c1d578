package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// fixedKey returns a key derived from a fixed seed, so that golden bundles
// are stable (Ed25519 signatures are deterministic).
func fixedKey(t testing.TB) *Key {
	t.Helper()
	seed := sha256.Sum256([]byte("backchannel ledger test key"))
	pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey("bc.example.org", pub)
	if err != nil {
		t.Fatal(err)
	}
	hash := strings.Split(vkey, "+")[1]
	k, err := NewKey("PRIVATE+KEY+bc.example.org+" + hash + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, seed[:]...)))
	if err != nil {
		t.Fatal(err)
	}
	if k.VerifierKey() != vkey {
		t.Fatalf("NewKey derived %s, want %s", k.VerifierKey(), vkey)
	}
	return k
}

// TestBundleGolden pins format version 1: the bundle of a fixed log, and
// that it still parses and verifies. A change to the events' canonical
// encoding or to the bundle format shows here; records already handed out
// must stay verifiable.
func TestBundleGolden(t *testing.T) {
	key := fixedKey(t)
	events := testLog(t, 7)
	b, err := NewBundle(events, memberView, testTree(t, events), key, 4)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	json.Indent(&got, compact, "", "  ")
	got.WriteByte('\n')
	golden := filepath.Join("testdata", "bundle-v1.json")
	pub := filepath.Join("testdata", "bundle-v1.pub")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, got.Bytes(), 0o644)
		os.WriteFile(pub, []byte(key.VerifierKey()+"\n"), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("bundle differs from %s (run go test -update and review the diff):\n%s", golden, got.Bytes())
	}
	wantKey, _ := os.ReadFile(pub)
	parsed, err := ParseBundle(want)
	if err != nil {
		t.Fatalf("ParseBundle(%s): %v", golden, err)
	}
	r, err := Verify(parsed, VerifyOptions{ServerKey: strings.TrimSpace(string(wantKey))})
	if err != nil || !r.OK() {
		t.Errorf("Verify(%s) = %+v, %v", golden, r, err)
	}
}
