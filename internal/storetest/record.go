package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// notarised is a store that signs checkpoints.
type notarised interface {
	SetNotary(talks.Notary)
}

// checkTree checks that talk talkID's stored hashes are exactly those of a
// ledger.Tree built from its events, and returns that tree.
func checkTree(t *testing.T, s talks.Store, talkID int64) (*talks.Record, *ledger.Tree) {
	t.Helper()
	r, err := s.FindRecord(context.Background(), talkID)
	must(t, "FindRecord", err)
	want := new(ledger.Tree)
	for _, e := range r.Events {
		if _, err := want.Append(ledger.LeafBytes(e)); err != nil {
			t.Fatal(err)
		}
	}
	n := int64(len(r.Events))
	if got, wantN := int64(len(r.Hashes)), tlog.StoredHashCount(n); got != wantN {
		t.Fatalf("talk %d: %d stored hashes for %d events, want %d", talkID, got, n, wantN)
	}
	for i, h := range r.Hashes {
		w, err := want.ReadHashes([]int64{int64(i)})
		must(t, "ReadHashes", err)
		if tlog.Hash(h) != w[0] {
			t.Fatalf("talk %d: stored hash %d = %x, want %x", talkID, i, h, w[0])
		}
	}
	return r, want
}

func testRecordHashes(t *testing.T, s talks.Store) {
	ctx := context.Background()
	key, _, err := ledger.GenerateKey("test.example")
	must(t, "GenerateKey", err)
	ns, ok := s.(notarised)
	if !ok {
		t.Fatalf("%T has no SetNotary method", s)
	}
	ns.SetNotary(key)
	f := newFixture(t, s)
	// Concurrent writes, which SQLite commits in shared batches.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: fmt.Sprintf("m%d", i)}
			if err := s.PostMessage(ctx, m, stamp(f.northE.ID, 10+i)); err != nil {
				t.Errorf("PostMessage: %v", err)
			}
		}()
	}
	wg.Wait()
	r, tree := checkTree(t, s, f.talk.ID)
	if err := talks.VerifyChain(r.Events); err != nil {
		t.Fatal(err)
	}
	cp, err := s.FindLatestCheckpoint(ctx, f.talk.ID)
	must(t, "FindLatestCheckpoint", err)
	c, err := ledger.OpenCheckpoint(cp.Note, key.Verifier())
	must(t, "OpenCheckpoint", err)
	root, err := tree.Root(tree.Size())
	must(t, "Root", err)
	if c.Size != tree.Size() || c.Root != root || cp.Size != c.Size || tlog.Hash(cp.Root) != root {
		t.Errorf("latest checkpoint = size %d root %v (row: %d %x), want size %d root %v", c.Size, c.Root, cp.Size, cp.Root, tree.Size(), root)
	}
	if want := ledger.Origin("test.example", f.talk.ID); c.Origin != want {
		t.Errorf("checkpoint origin = %q, want %q", c.Origin, want)
	}
	// Every stored checkpoint is a checkpoint of a prefix of the tree.
	cps, err := s.FindCheckpoints(ctx, f.talk.ID)
	must(t, "FindCheckpoints", err)
	if len(cps) == 0 {
		t.Fatal("FindCheckpoints() = none")
	}
	for _, cp := range cps {
		c, err := ledger.OpenCheckpoint(cp.Note, key.Verifier())
		must(t, "OpenCheckpoint", err)
		want, err := tree.Root(c.Size)
		must(t, "Root", err)
		if c.Root != want {
			t.Errorf("checkpoint of size %d has root %v, want %v", c.Size, c.Root, want)
		}
	}
	if r.Checkpoint == nil || r.Checkpoint.Size != cp.Size {
		t.Errorf("FindRecord().Checkpoint = %+v, want size %d", r.Checkpoint, cp.Size)
	}
	_, err = s.FindRecord(ctx, f.talk.ID+1000)
	wantCode(t, "FindRecord(unknown talk)", err, talks.ENOTFOUND)
	_, err = s.FindLatestCheckpoint(ctx, f.talk.ID+1000)
	wantCode(t, "FindLatestCheckpoint(unknown talk)", err, talks.ENOTFOUND)
}

func testRecordAtomicity(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	before, _ := checkTree(t, s, f.talk.ID)
	u := newUser(t, s, "outsider")
	other := &talks.Talk{Title: "Other", ConvenerID: u.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(u.ID, 70)))
	otherMembers, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: other.ID})
	must(t, "FindMembers", err)
	// Each fails after appending an event.
	err = s.CreateTrack(ctx, &talks.Track{TalkID: f.talk.ID, Name: "Doomed", Kind: talks.TrackBackchannel,
		MemberIDs: []int64{f.mNorthE.ID, otherMembers[0].ID}}, stamp(1, 71))
	wantCode(t, "CreateTrack(member of another talk)", err, talks.EINVALID)
	wantCode(t, "AddParty(duplicate)", s.AddParty(ctx, &talks.Party{TalkID: f.talk.ID, Name: "Northland"}, stamp(1, 72)), talks.ECONFLICT)
	after, _ := checkTree(t, s, f.talk.ID)
	if len(after.Hashes) != len(before.Hashes) {
		t.Errorf("failed writes left %d stored hashes", len(after.Hashes)-len(before.Hashes))
	}
	// The next write appends where the failed ones would have.
	must(t, "AddParty", s.AddParty(ctx, &talks.Party{TalkID: f.talk.ID, Name: "Eastland"}, stamp(1, 73)))
	checkTree(t, s, f.talk.ID)
	checkTree(t, s, other.ID)
}
