package ledger

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
	"golang.org/x/mod/sumdb/tlog"
)

// copyBundle returns a deep copy of b made through its JSON format.
func copyBundle(t testing.TB, b *Bundle) *Bundle {
	t.Helper()
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseBundle(data)
	if err != nil {
		t.Fatalf("ParseBundle(Marshal(b)): %v", err)
	}
	return c
}

func TestVerifyOK(t *testing.T) {
	b, events, tree := testBundle(t, 10, 4, 10)
	key := testKey(t, "bc.example")
	for name, since := range map[string][]byte{
		"alone":        nil,
		"since older":  signedCheckpoint(t, tree, 4, key),
		"since same":   signedCheckpoint(t, tree, 10, key),
		"since latest": b.Checkpoint,
	} {
		r, err := Verify(copyBundle(t, b), VerifyOptions{ServerKey: key.VerifierKey(), Since: since})
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() {
			t.Errorf("%s: Verify() failures: %v", name, r.Failures)
		}
		if r.Size != 10 || r.Events != 7 || r.Hidden != 3 || r.KeyName != "bc.example" || r.Origin != "bc.example/talks/42" {
			t.Errorf("%s: Verify() = %+v", name, r)
		}
	}
	// A bundle of everything, for a member who sees all tracks.
	all, err := NewBundle(events, allVisible, tree, key)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := Verify(all, VerifyOptions{ServerKey: key.VerifierKey()}); !r.OK() || r.Events != 10 {
		t.Errorf("Verify(bundle of all events) = %+v", r)
	}
}

// TestVerifyTamper checks that each way of tampering with a record is
// detected, and by the check meant to catch it. In the log of 10 events,
// events 3, 6 and 9 are outside the member's view.
func TestVerifyTamper(t *testing.T) {
	key := testKey(t, "bc.example")
	type want struct {
		seq   int64
		check string
	}
	for _, tc := range []struct {
		name   string
		tamper func(b *Bundle, events []*talks.Event, tree *Tree) (since []byte)
		want   []want
	}{{
		name: "change one byte of a payload",
		tamper: func(b *Bundle, _ []*talks.Event, _ *Tree) []byte {
			e := b.Leaves[1].Event
			e.Payload = append([]byte(nil), e.Payload...)
			e.Payload[len(e.Payload)-3] ^= 1
			return nil
		},
		want: []want{{2, CheckHash}, {2, CheckInclusion}, {0, CheckRoot}},
	}, {
		name: "change a payload and its hash",
		tamper: func(b *Bundle, _ []*talks.Event, _ *Tree) []byte {
			e := b.Leaves[3].Event
			e.Payload = json.RawMessage(`{"message_id":4,"author_id":4,"body":"we never offered that"}`)
			e.Hash = e.ComputeHash()
			return nil
		},
		want: []want{{4, CheckInclusion}, {5, CheckChain}, {0, CheckRoot}},
	}, {
		name: "delete an event",
		tamper: func(b *Bundle, _ []*talks.Event, _ *Tree) []byte {
			b.Leaves = slices.Delete(b.Leaves, 3, 4)
			return nil
		},
		want: []want{{0, CheckSize}, {5, CheckSeq}, {5, CheckInclusion}, {10, CheckInclusion}},
	}, {
		name: "swap two events",
		tamper: func(b *Bundle, _ []*talks.Event, _ *Tree) []byte {
			b.Leaves[3], b.Leaves[4] = b.Leaves[4], b.Leaves[3]
			return nil
		},
		want: []want{{4, CheckSeq}, {5, CheckSeq}, {4, CheckInclusion}, {5, CheckInclusion}, {4, CheckChain}, {0, CheckRoot}},
	}, {
		name: "insert an event",
		tamper: func(b *Bundle, events []*talks.Event, _ *Tree) []byte {
			e, _ := talks.NewEvent(testTalk, openTrack, talks.EventMessagePosted, talks.Stamp{ActorID: 1, Time: events[4].Time},
				talks.MessagePosted{MessageID: 99, AuthorID: 1, Body: "agreed"})
			e.Seal(5, events[3].Hash)
			b.Leaves = slices.Insert(b.Leaves, 4, Leaf{Event: e, Proof: b.Leaves[4].Proof})
			return nil
		},
		want: []want{{0, CheckSize}, {5, CheckInclusion}, {5, CheckChain}, {5, CheckSeq}},
	}, {
		name: "change the leaf hash of a hidden event",
		tamper: func(b *Bundle, _ []*talks.Event, _ *Tree) []byte {
			b.Leaves[2].LeafHash[0] ^= 1
			return nil
		},
		want: []want{{0, CheckRoot}},
	}, {
		name: "replace the checkpoint signature",
		tamper: func(b *Bundle, _ []*talks.Event, tree *Tree) []byte {
			impostor, _, _ := GenerateKey("bc.example")
			b.Checkpoint = signedCheckpoint(t, tree, 10, impostor)
			return nil
		},
		want: []want{{0, CheckSignature}},
	}, {
		name: "move the events to another talk",
		tamper: func(b *Bundle, _ []*talks.Event, tree *Tree) []byte {
			root, _ := tree.Root(10)
			b.Origin = Origin("bc.example", 43)
			b.Checkpoint, _ = Checkpoint{Origin: b.Origin, Size: 10, Root: root}.Sign(key.Signer())
			return nil
		},
		want: []want{{1, CheckSeq}},
	}, {
		name: "roll back to an old checkpoint",
		tamper: func(b *Bundle, events []*talks.Event, tree *Tree) []byte {
			// The member kept the checkpoint of 10 events; the server now
			// shows it the log as it was at 7.
			since := signedCheckpoint(t, tree, 10, key)
			old, err := NewBundle(events[:7], memberView, tree, key)
			if err != nil {
				t.Fatal(err)
			}
			*b = *old
			return since
		},
		want: []want{{0, CheckRollback}},
	}, {
		name: "fork the log (two checkpoints of the same size)",
		tamper: func(b *Bundle, events []*talks.Event, _ *Tree) []byte {
			return signedCheckpoint(t, testTree(t, forked(t, events)), 10, key)
		},
		want: []want{{0, CheckFork}},
	}, {
		name: "fork the log before an earlier checkpoint",
		tamper: func(b *Bundle, events []*talks.Event, _ *Tree) []byte {
			// The member kept a checkpoint of size 8 of a log whose event
			// 5 differs; the bundle proves consistency from size 8.
			return signedCheckpoint(t, testTree(t, forked(t, events)), 8, key)
		},
		want: []want{{0, CheckFork}},
	}, {
		name: "rewrite history and sign it anew",
		tamper: func(b *Bundle, events []*talks.Event, tree *Tree) []byte {
			// The server drops event 5, re-seals the rest, rebuilds the
			// tree and signs: the bundle is valid alone, but not an
			// extension of what the member kept.
			since := signedCheckpoint(t, tree, 8, key)
			rewritten := slices.Delete(slices.Clone(events), 4, 5)
			rewritten = reseal(rewritten)
			nb, err := NewBundle(rewritten, memberView, testTree(t, rewritten), key, 8)
			if err != nil {
				t.Fatal(err)
			}
			*b = *nb
			return since
		},
		want: []want{{0, CheckFork}},
	}, {
		name: "no consistency proof for the kept checkpoint",
		tamper: func(b *Bundle, _ []*talks.Event, tree *Tree) []byte {
			b.Consistency = nil
			return signedCheckpoint(t, tree, 8, key)
		},
		want: []want{{0, CheckConsistency}},
	}, {
		name: "kept checkpoint signed by another key",
		tamper: func(b *Bundle, _ []*talks.Event, tree *Tree) []byte {
			return signedCheckpoint(t, tree, 8, testKey(t, "other.example"))
		},
		want: []want{{0, CheckSince}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b, events, tree := testBundle(t, 10, 8)
			b = copyBundle(t, b)
			since := tc.tamper(b, events, tree)
			b = copyBundle(t, b) // the tampered bundle must still parse
			r, err := Verify(b, VerifyOptions{ServerKey: key.VerifierKey(), Since: since})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				t.Fatal("Verify() = OK, want failures")
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(r.Failures, func(f Failure) bool { return f.Seq == w.seq && f.Check == w.check }) {
					t.Errorf("Verify() failures %v lack %s for event %d", r.Failures, w.check, w.seq)
				}
			}
		})
	}
}

// forked returns a copy of events whose event 5 says something else, with
// the chain after it re-sealed.
func forked(t testing.TB, events []*talks.Event) []*talks.Event {
	t.Helper()
	out := make([]*talks.Event, len(events))
	for i, e := range events {
		c := *e
		out[i] = &c
	}
	out[4].Payload = json.RawMessage(`{"message_id":5,"author_id":1,"body":"a different offer"}`)
	return reseal(out)
}

// reseal renumbers events 1..n and re-links their chain, as a server
// rewriting its history would.
func reseal(events []*talks.Event) []*talks.Event {
	var prev [32]byte
	for i, e := range events {
		c := *e
		c.Seal(int64(i+1), prev)
		prev = c.Hash
		events[i] = &c
	}
	return events
}

func TestVerifyBadOptions(t *testing.T) {
	b, _, _ := testBundle(t, 3)
	if _, err := Verify(b, VerifyOptions{}); err == nil {
		t.Error("Verify without a key: no error")
	}
	if _, err := Verify(b, VerifyOptions{ServerKey: "not a key"}); err == nil {
		t.Error("Verify with a malformed key: no error")
	}
}

func TestVerifyMalformedCheckpoint(t *testing.T) {
	b, _, _ := testBundle(t, 3)
	b.Checkpoint = []byte("garbage\n\n— x y\n")
	r, err := Verify(b, VerifyOptions{ServerKey: testKey(t, "bc.example").VerifierKey()})
	if err != nil || r.OK() || r.Failures[0].Check != CheckCheckpoint {
		t.Errorf("Verify(malformed checkpoint) = %+v, %v", r, err)
	}
}

func TestNewBundleRefusesMismatchedTree(t *testing.T) {
	events := testLog(t, 5)
	tree := testTree(t, forked(t, events))
	if _, err := NewBundle(events, memberView, tree, testKey(t, "bc.example")); err == nil {
		t.Error("NewBundle(log, tree of another log): no error")
	}
	if _, err := NewBundle(events[1:], memberView, testTree(t, events), testKey(t, "bc.example")); err == nil {
		t.Error("NewBundle(log without its first event): no error")
	}
	if _, err := NewBundle(events, memberView, testTree(t, events), testKey(t, "bc.example"), 6); err == nil {
		t.Error("NewBundle(since a size beyond the log): no error")
	}
}

// TestVerifyHugeCheckpoint is a case FuzzParseBundle found: a checkpoint
// of more than 2^62 leaves, on which tlog.CheckRecord never returns.
func TestVerifyHugeCheckpoint(t *testing.T) {
	b, _, _ := testBundle(t, 3)
	key := testKey(t, "bc.example")
	b.Checkpoint, _ = Checkpoint{Origin: b.Origin, Size: 1<<62 + 1}.Sign(key.Signer())
	r, err := Verify(b, VerifyOptions{ServerKey: key.VerifierKey()})
	if err != nil || r.OK() || !slices.ContainsFunc(r.Failures, func(f Failure) bool { return f.Check == CheckSize }) {
		t.Errorf("Verify(checkpoint of 2^62+1 leaves) = %+v, %v", r, err)
	}
}

// TestBundleProofsCheckWithTlog checks a bundle's proofs with tlog's own
// functions, independently of Verify.
func TestBundleProofsCheckWithTlog(t *testing.T) {
	b, _, tree := testBundle(t, 11, 5)
	c, err := OpenCheckpoint(b.Checkpoint, testKey(t, "bc.example").Verifier())
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range b.Leaves {
		if l.Event == nil {
			continue
		}
		if err := tlog.CheckRecord(l.Proof, c.Size, c.Root, int64(i), tlog.RecordHash(l.Event.CanonicalBytes())); err != nil {
			t.Errorf("tlog.CheckRecord(proof of event %d): %v", l.Event.ID, err)
		}
	}
	old, _ := tree.Root(5)
	if err := tlog.CheckTree(b.Consistency[0].Proof, c.Size, c.Root, 5, old); err != nil {
		t.Errorf("tlog.CheckTree(consistency from 5): %v", err)
	}
}

// TestVerifyChunks checks logs that fill several of Verify's chunks, or
// end part way into one, through Verify and ReadVerify (from a file, and
// from a pipe), whole and with an event of a later chunk changed.
func TestVerifyChunks(t *testing.T) {
	key := testKey(t, "bc.example")
	opts := VerifyOptions{ServerKey: key.VerifierKey()}
	for _, n := range []int{leafChunk - 1, leafChunk, leafChunk + 1, 2*leafChunk + 3} {
		events := testLog(t, n)
		b, err := NewBundle(events, memberView, testTree(t, events), key)
		if err != nil {
			t.Fatal(err)
		}
		tampered := copyBundle(t, b)
		last := n - 1
		for tampered.Leaves[last].Event == nil {
			last--
		}
		e := *tampered.Leaves[last].Event
		e.Payload = []byte(`{"message_id":1}`)
		tampered.Leaves[last].Event = &e
		for name, b := range map[string]*Bundle{"whole": b, "tampered": tampered} {
			want, err := Verify(b, opts)
			if err != nil {
				t.Fatal(err)
			}
			if name == "whole" && (!want.OK() || want.Hidden != n/3) {
				t.Fatalf("Verify(%d leaves) = %+v", n, want)
			}
			if name == "tampered" && len(want.Failures) != 3 {
				t.Errorf("Verify(%d leaves, %s) failures: %v, want hash, inclusion and root", n, name, want.Failures)
			}
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			for how, r := range map[string]io.Reader{"file": bytes.NewReader(data), "pipe": struct{ io.Reader }{bytes.NewReader(data)}} {
				_, got, err := ReadVerify(r, opts)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("ReadVerify(%d leaves, %s, %s) = %+v, %v; Verify %+v", n, name, how, got, err, want)
				}
			}
		}
	}
}
