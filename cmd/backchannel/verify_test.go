package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// verifyFixture writes a bundle of a talk of n events (every third one on
// a track the member is not in) and returns its path, the server key, the
// tree and the log.
func verifyFixture(t *testing.T, n int, since ...int64) (path string, key *ledger.Key, tree *ledger.Tree, events []*talks.Event) {
	t.Helper()
	key, _, err := ledger.GenerateKey("bc.example")
	if err != nil {
		t.Fatal(err)
	}
	tree = new(ledger.Tree)
	var prev [32]byte
	for i := range n {
		s := talks.Stamp{ActorID: 7, Time: time.Date(2026, 11, 27, 9, 0, i, 0, time.UTC)}
		e, err := talks.NewEvent(3, int64(i%3), talks.EventMessagePosted, s, talks.MessagePosted{MessageID: int64(i + 1), AuthorID: 7, Body: "offer"})
		if err != nil {
			t.Fatal(err)
		}
		e.Seal(int64(i+1), prev)
		prev = e.Hash
		events = append(events, e)
		if _, err := tree.Append(ledger.LeafBytes(e)); err != nil {
			t.Fatal(err)
		}
	}
	path = writeBundle(t, events, tree, key, since...)
	return path, key, tree, events
}

func writeBundle(t *testing.T, events []*talks.Event, tree *ledger.Tree, key *ledger.Key, since ...int64) string {
	t.Helper()
	b, err := ledger.NewBundle(events, func(e *talks.Event) bool { return e.TrackID != 2 }, tree, key, since...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkpointFile writes the checkpoint of the first size leaves of tree.
func checkpointFile(t *testing.T, tree *ledger.Tree, size int64, key *ledger.Key) string {
	t.Helper()
	root, err := tree.Root(size)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ledger.Checkpoint{Origin: ledger.Origin(key.Name(), 3), Size: size, Root: root}.Sign(key.Signer())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "checkpoint")
	os.WriteFile(path, msg, 0o644)
	return path
}

func TestVerifyOK(t *testing.T) {
	path, key, tree, _ := verifyFixture(t, 9, 4)
	out, stderr, err := run(t, "verify", path, "--key", key.VerifierKey())
	if err != nil || exitCode(err) != 0 {
		t.Fatalf("verify = %v\n%s%s", err, out, stderr)
	}
	if want := "OK: 6 events, tree size 9, checkpoint signed by bc.example\n"; !strings.HasPrefix(out, want) {
		t.Errorf("verify printed %q, want it to start with %q", out, want)
	}
	if !strings.Contains(out, "3 events outside your view") {
		t.Errorf("verify printed %q, want the hidden count", out)
	}

	// The key from a file, the bundle from standard input, and a kept
	// checkpoint it extends.
	keyFile := filepath.Join(t.TempDir(), "server.pub")
	os.WriteFile(keyFile, []byte(key.VerifierKey()+"\n"), 0o644)
	data, _ := os.ReadFile(path)
	var stdout, errb bytes.Buffer
	m := &Main{Stdin: bytes.NewReader(data), Stdout: &stdout, Stderr: &errb}
	err = m.Run(context.Background(), []string{"verify", "--key", keyFile, "-", "--since", checkpointFile(t, tree, 4, key)})
	if err != nil || !strings.Contains(stdout.String(), "extends the checkpoint of tree size 4") {
		t.Errorf("verify - --since = %v\n%s%s", err, stdout.String(), errb.String())
	}
}

func TestVerifyFailures(t *testing.T) {
	path, key, tree, events := verifyFixture(t, 9)
	data, _ := os.ReadFile(path)
	tampered := filepath.Join(t.TempDir(), "tampered.json")
	// One byte of event 2's payload: "offer" becomes "offes".
	i := bytes.Index(data, []byte(`"seq":2,`))
	j := i + bytes.Index(data[i:], []byte(`offer`))
	data[j+4] = 's'
	os.WriteFile(tampered, data, 0o644)
	garbage := filepath.Join(t.TempDir(), "garbage.json")
	os.WriteFile(garbage, []byte(`{"version":1,"leaves":[{"event":{"seq":"x"}}]}`), 0o644)
	other, _, _ := ledger.GenerateKey("bc.example")

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"payload byte", []string{tampered, "--key", key.VerifierKey()},
			[]string{"FAILED: 3 checks failed", "event 2: hash: hash does not match the event's fields", "event 2: inclusion: not leaf 1", "root: the 9 leaves do not hash"}},
		{"another key", []string{path, "--key", other.VerifierKey()},
			[]string{"FAILED: 1 check failed", "signature: checkpoint is not signed by key " + other.Verifier().Name()}},
		{"rolled back", []string{writeBundle(t, events[:5], tree, key), "--key", key.VerifierKey(), "--since", checkpointFile(t, tree, 9, key)},
			[]string{"rollback: rolled back: an earlier checkpoint has 9 leaves, this one only 5"}},
		{"no consistency proof", []string{path, "--key", key.VerifierKey(), "--since", checkpointFile(t, tree, 4, key)},
			[]string{"consistency: bundle has no consistency proof from size 4"}},
		{"not a bundle", []string{garbage, "--key", key.VerifierKey()},
			[]string{"is not a record bundle: leaves[0].event.seq: want a JSON integer"}},
	} {
		out, stderr, err := run(t, append([]string{"verify"}, tc.args...)...)
		if code := exitCode(err); code != 1 {
			t.Errorf("%s: exit status %d, want 1\n%s%s", tc.name, code, out, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: verify printed\n%s\nwant it to contain %q", tc.name, out, w)
			}
		}
	}
}

func TestVerifyUsage(t *testing.T) {
	path, key, _, _ := verifyFixture(t, 2)
	for _, args := range [][]string{
		{"verify"},
		{"verify", path},
		{"verify", path, "--key", "not-a-key"},
		{"verify", path, path, "--key", key.VerifierKey()},
		{"verify", path, "--key", key.VerifierKey(), "--nope"},
	} {
		out, stderr, err := run(t, args...)
		if code := exitCode(err); code != 2 {
			t.Errorf("%q: exit status %d, want 2\n%s%s", args, code, out, stderr)
		}
	}
	if _, _, err := run(t, "verify", filepath.Join(t.TempDir(), "missing.json"), "--key", key.VerifierKey()); exitCode(err) != 1 {
		t.Errorf("verify of a missing file: %v, want exit status 1", err)
	}
}
