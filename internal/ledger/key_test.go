package ledger

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.key")
	k, err := LoadOrCreateKey(path, "bc.example")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 && runtime.GOOS != "windows" {
		t.Errorf("key file permissions = %04o, want 0600", perm)
	}
	again, err := LoadOrCreateKey(path, "bc.example")
	if err != nil {
		t.Fatal(err)
	}
	if again.VerifierKey() != k.VerifierKey() || k.Name() != "bc.example" {
		t.Errorf("second LoadOrCreateKey = %s, want the first key %s", again.VerifierKey(), k.VerifierKey())
	}
	// What the key signs, its verifier key checks.
	v, err := note.NewVerifier(k.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Checkpoint{Origin: Origin("bc.example", 1), Size: 1, Root: tlog.RecordHash(nil)}.Sign(again.Signer())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(msg, v); err != nil {
		t.Errorf("OpenCheckpoint(signed by the reloaded key): %v", err)
	}

	if _, err := LoadOrCreateKey(path, "other.example"); err == nil || !strings.Contains(err.Error(), `not "other.example"`) {
		t.Errorf("LoadOrCreateKey with another name = %v, want a name error", err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKey(path, "bc.example"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("LoadOrCreateKey(file with 0644) = %v, want a permissions error", err)
		}
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.key")
	os.WriteFile(garbage, []byte("not a key\n"), 0o600)
	if _, err := LoadKey(garbage, ""); err == nil {
		t.Error("LoadKey(garbage): no error")
	}
	if _, err := LoadKey(filepath.Join(dir, "missing.key"), ""); err == nil {
		t.Error("LoadKey(missing file): no error")
	}
	if _, err := LoadOrCreateKey(filepath.Join(dir, "bad.key"), "has space"); err == nil {
		t.Error("LoadOrCreateKey(name with a space): no error")
	}
	if _, err := LoadOrCreateKey(filepath.Join(dir, "no", "such", "dir.key"), "bc.example"); err == nil {
		t.Error("LoadOrCreateKey(in a missing directory): no error")
	}
}

func TestSignCheckpoint(t *testing.T) {
	k, _, err := GenerateKey("bc.example")
	if err != nil {
		t.Fatal(err)
	}
	var root [32]byte
	root[0] = 7
	msg, err := k.SignCheckpoint(12, 5, root)
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCheckpoint(msg, k.Verifier())
	if err != nil {
		t.Fatalf("OpenCheckpoint(SignCheckpoint(...)) = %v", err)
	}
	if c.Origin != "bc.example/talks/12" || c.Size != 5 || c.Root != root {
		t.Errorf("SignCheckpoint(12, 5, root) = %+v", c)
	}
}
