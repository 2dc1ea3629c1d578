package ledger

import (
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

const (
	testTalk   = 42
	openTrack  = 1 // the member's track
	closeTrack = 2 // a track the member is not in
)

// testLog returns a sealed log of n events of one talk: talk-wide events
// and messages, every third one on a track the member may not see.
func testLog(t testing.TB, n int) []*talks.Event {
	t.Helper()
	base := time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC)
	events := make([]*talks.Event, n)
	var prev [32]byte
	for i := range events {
		track := int64(0)
		switch i % 3 {
		case 1:
			track = openTrack
		case 2:
			track = closeTrack
		}
		s := talks.Stamp{ActorID: int64(1 + i%4), Time: base.Add(time.Duration(i) * 1500 * time.Microsecond)}
		e, err := talks.NewEvent(testTalk, track, talks.EventMessagePosted, s,
			talks.MessagePosted{MessageID: int64(i + 1), AuthorID: s.ActorID, Body: "offer <" + string(rune('a'+i%26)) + "> & more"})
		if err != nil {
			t.Fatal(err)
		}
		e.Seal(int64(i+1), prev)
		prev = e.Hash
		events[i] = e
	}
	return events
}

// testTree returns the tree of the given events.
func testTree(t testing.TB, events []*talks.Event) *Tree {
	t.Helper()
	var tree Tree
	for _, e := range events {
		if _, err := tree.Append(LeafBytes(e)); err != nil {
			t.Fatal(err)
		}
	}
	return &tree
}

// memberView is the visibility of a member who is not in closeTrack.
func memberView(e *talks.Event) bool { return e.TrackID != closeTrack }

func allVisible(*talks.Event) bool { return true }

var testKeyCache = map[string]*Key{}

// testKey returns a key named name, the same one for each name.
func testKey(t testing.TB, name string) *Key {
	t.Helper()
	if k, ok := testKeyCache[name]; ok {
		return k
	}
	k, _, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	testKeyCache[name] = k
	return k
}

// testBundle returns the bundle of a log of n events for memberView.
func testBundle(t testing.TB, n int, since ...int64) (*Bundle, []*talks.Event, *Tree) {
	t.Helper()
	events := testLog(t, n)
	tree := testTree(t, events)
	b, err := NewBundle(events, memberView, tree, testKey(t, "bc.example"), since...)
	if err != nil {
		t.Fatal(err)
	}
	return b, events, tree
}

// signedCheckpoint returns the checkpoint of the first size leaves of tree,
// signed by key.
func signedCheckpoint(t testing.TB, tree *Tree, size int64, key *Key) []byte {
	t.Helper()
	root, err := tree.Root(size)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Checkpoint{Origin: Origin(key.Name(), testTalk), Size: size, Root: root}.Sign(key.Signer())
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
