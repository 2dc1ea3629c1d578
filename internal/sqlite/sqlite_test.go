package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/storetest"
	"github.com/backchannel/backchannel/internal/talks"
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newTalk creates a user and a talk it convenes in s, and returns them
// with the talk's tracks and members.
func newTalk(t *testing.T, s *sqlite.Store) (*talks.User, *talks.Talk, []*talks.Track, []*talks.Member) {
	t.Helper()
	u, tk := storetest.NewTalk(t, s)
	tracks, members := storetest.TracksAndMembers(t, s, tk.ID)
	return u, tk, tracks, members
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) talks.Store { return open(t) })
}

// TestOpen checks that the file is in WAL mode and that reopening a
// migrated file keeps its data.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bc.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.FindUserByID(ctx, u.ID); err != nil {
		t.Errorf("FindUserByID after reopen: %v", err)
	}
	db := rawDB(t, path)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestTamper edits stored events behind the store's back and checks that
// recomputing the chain from what the store returns detects it.
func TestTamper(t *testing.T) {
	tests := []struct {
		name, sql string
	}{
		{"payload byte", `UPDATE events SET payload = CAST(replace(CAST(payload AS TEXT), '"T"', '"U"') AS BLOB) WHERE seq = 1`},
		{"time", `UPDATE events SET time = '2000-01-01T00:00:00Z' WHERE seq = 2`},
		{"actor", `UPDATE events SET actor_id = actor_id + 1 WHERE seq = 3`},
		{"deleted", `DELETE FROM events WHERE seq = 2`},
		{"swapped", `UPDATE events SET seq = 100 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 100`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "bc.db")
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, tk, _, _ := newTalk(t, s)
			evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
			if err != nil || talks.VerifyChain(evs) != nil {
				t.Fatalf("before tampering: %v, %v", err, talks.VerifyChain(evs))
			}
			if _, err := rawDB(t, path).Exec(tt.sql); err != nil {
				t.Fatal(err)
			}
			evs, err = s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
			if err != nil {
				t.Fatal(err)
			}
			if err := talks.VerifyChain(evs); err == nil {
				t.Errorf("VerifyChain() after tampering (%s) = nil, want an error", tt.name)
			}
		})
	}
}

// TestConcurrentWrites runs many writes at once, so that the store commits
// them in shared transactions, with failing writes among the good ones: the
// failed ones must write nothing, the good ones must all be there, and the
// talk's log must verify with no gaps.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	u, tk, tracks, members := newTalk(t, s)
	const n = 300
	errs := make([]error, n)
	msgs := make([]*talks.Message, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st := talks.Stamp{ActorID: u.ID, Time: time.Now()}
			switch i % 3 {
			case 0: // good
				msgs[i] = &talks.Message{TrackID: tracks[0].ID, AuthorID: members[0].ID, Body: fmt.Sprintf("good %d", i)}
				errs[i] = s.PostMessage(ctx, msgs[i], st)
			case 1: // no such track
				errs[i] = s.PostMessage(ctx, &talks.Message{TrackID: 1 << 40, AuthorID: members[0].ID, Body: "lost"}, st)
			case 2: // a party of that name exists already, or a good one
				errs[i] = s.AddParty(ctx, &talks.Party{TalkID: tk.ID, Name: fmt.Sprintf("party %d", i%2)}, st)
			}
		}()
	}
	close(start)
	wg.Wait()

	want := map[string]bool{}
	parties := 0
	for i, err := range errs {
		switch i % 3 {
		case 0:
			if err != nil {
				t.Errorf("PostMessage %d = %v, want nil", i, err)
			} else if msgs[i].ID == 0 {
				t.Errorf("PostMessage %d left ID 0", i)
			}
			want[msgs[i].Body] = true
		case 1:
			if talks.ErrorCode(err) != talks.ENOTFOUND {
				t.Errorf("PostMessage %d to no track = %v, want ENOTFOUND", i, err)
			}
		case 2:
			if err == nil {
				parties++
			} else if talks.ErrorCode(err) != talks.ECONFLICT {
				t.Errorf("AddParty %d = %v, want nil or ECONFLICT", i, err)
			}
		}
	}
	if parties != 2 {
		t.Errorf("%d AddParty calls succeeded, want 2 (one per name)", parties)
	}
	got, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: tracks[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d messages stored, want %d", len(got), len(want))
	}
	for _, m := range got {
		if !want[m.Body] {
			t.Errorf("unexpected message %q stored", m.Body)
		}
	}
	ps, err := s.FindParties(ctx, talks.PartyFilter{TalkID: tk.ID})
	if err != nil || len(ps) != 2 {
		t.Errorf("FindParties = %d parties, %v; want 2", len(ps), err)
	}
	evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := talks.VerifyChain(evs); err != nil {
		t.Errorf("VerifyChain: %v", err)
	}
	// The talk's three events, then one per good write.
	if len(evs) != 3+len(want)+2 {
		t.Errorf("%d events, want %d", len(evs), 3+len(want)+2)
	}
	state, err := talks.Project(evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(state.Messages) != len(want) || len(state.Parties) != 2 {
		t.Errorf("projection: %d messages, %d parties; want %d, 2", len(state.Messages), len(state.Parties), len(want))
	}
}

// A database written before the ledger gets its talks' tree hashes when
// it is opened.
func TestBackfillTreeHashes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bc.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.DisableLedger()
	u := &talks.User{Name: "a", Email: "a@example.org", PasswordHash: "x"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
	if err := s.CreateTalk(ctx, tk, talks.Stamp{ActorID: u.ID}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddParty(ctx, &talks.Party{TalkID: tk.ID, Name: "P"}, talks.Stamp{ActorID: u.ID}); err != nil {
		t.Fatalf("AddParty after backfill: %v", err)
	}
	r, err := s.FindRecord(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	tree := new(ledger.Tree)
	for _, e := range r.Events {
		tree.Append(ledger.LeafBytes(e))
	}
	if len(r.Events) != 4 || int64(len(r.Hashes)) != tlog.StoredHashCount(4) {
		t.Fatalf("after backfill: %d events, %d hashes", len(r.Events), len(r.Hashes))
	}
	for i, h := range r.Hashes {
		w, _ := tree.ReadHashes([]int64{int64(i)})
		if tlog.Hash(h) != w[0] {
			t.Errorf("stored hash %d = %x, want %x", i, h, w[0])
		}
	}
}

// Two stores on one file, as two servers would have: each one's committer
// keeps what it learnt of a talk (its head, where its last view-breaking
// event is) only while the other has not written, so their writes
// interleave into one unforked log, and a view is checked against the
// other's events too.
func TestTwoWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bc.db")
	var stores [2]*sqlite.Store
	for i := range stores {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	a, b := stores[0], stores[1]
	u, tk, tracks, members := newTalk(t, a)
	post := func(s *sqlite.Store, body string, view int64) error {
		st := talks.Stamp{ActorID: u.ID, Time: time.Now()}
		if view > 0 {
			st.View = &talks.ViewCheck{Head: view}
		}
		return s.PostMessage(ctx, &talks.Message{TrackID: tracks[0].ID, AuthorID: members[0].ID, Body: body}, st)
	}
	head := func() int64 {
		t.Helper()
		h, err := a.TalkHead(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	// Taking turns, then at once.
	for i := range 10 {
		if err := post(stores[i%2], fmt.Sprintf("turn %d", i), 0); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = post(stores[i%2], fmt.Sprintf("at once %d", i), 0)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent message %d: %v", i, err)
		}
	}

	// a learns that nothing after h breaks a view; then b adds a member,
	// which does: a view at h is stale in a too.
	h := head()
	if err := post(a, "viewed at the head", h); err != nil {
		t.Fatalf("message viewed at the head: %v", err)
	}
	if err := post(a, "viewed before a message", h); err != nil {
		t.Fatalf("message viewed before a message: %v", err)
	}
	p := &talks.Party{TalkID: tk.ID, Name: "North"}
	if err := b.AddParty(ctx, p, talks.Stamp{ActorID: u.ID, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := post(a, "viewed before a party", h); err != nil {
		t.Fatalf("message viewed before b's new party (which keeps a view) = %v", err)
	}
	bob := &talks.User{Name: "bob", Email: "bob@example.org"}
	if err := b.CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if err := b.AddMember(ctx, &talks.Member{TalkID: tk.ID, UserID: bob.ID, PartyID: p.ID, Role: talks.RoleEnvoy}, talks.Stamp{ActorID: u.ID, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	before := head()
	if err := post(a, "viewed before a member", h); err != talks.ErrStaleView {
		t.Errorf("message viewed before b's new member = %v, want ErrStaleView", err)
	}
	if after := head(); after != before {
		t.Errorf("head after a refused message = %d, want %d", after, before)
	}

	evs, err := b.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := talks.VerifyChain(evs); err != nil {
		t.Errorf("VerifyChain: %v", err)
	}
	if want := 3 + 10 + len(errs) + 2 + 1 + 1 + 1; len(evs) != want {
		t.Errorf("%d events, want %d", len(evs), want)
	}
}
