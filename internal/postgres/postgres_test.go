package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/pgtest"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/storetest"
	"github.com/backchannel/backchannel/internal/talks"
)

// database is a fresh database on the server that BACKCHANNEL_TEST_POSTGRES
// names. Each store that open returns lives in a schema of its own, which
// is much faster than a database per store.
type database struct {
	dsn   string    // of the database
	admin *pgx.Conn // to the database, for creating schemas
	n     int
}

// newDatabase creates a database of its own for t (pgtest.NewDatabase),
// and opens an admin connection to it. It skips t unless
// BACKCHANNEL_TEST_POSTGRES is set.
func newDatabase(t *testing.T) *database {
	t.Helper()
	db := &database{dsn: pgtest.NewDatabase(t)}
	ctx := context.Background()
	var err error
	if db.admin, err = pgx.Connect(ctx, db.dsn); err != nil {
		t.Fatalf("connect to %s: %v", db.dsn, err)
	}
	t.Cleanup(func() { db.admin.Close(ctx) })
	return db
}

// schema creates a new schema and returns a DSN whose search_path is it.
func (db *database) schema(t *testing.T) string {
	t.Helper()
	db.n++
	name := fmt.Sprintf("s%d", db.n)
	if _, err := db.admin.Exec(context.Background(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	dsn, err := pgtest.WithParam(db.dsn, "search_path", name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// holdCommitter keeps s's committer busy with a write of its own until
// release is closed, so that the writes queued meanwhile go in one batch.
func holdCommitter(t *testing.T, s *postgres.Store) (release chan struct{}) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	go postgres.Write(context.Background(), s, func(postgres.TestTx) error {
		close(started)
		<-release
		return nil
	})
	<-started
	return release
}

func openDSN(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	db := newDatabase(t)
	storetest.Run(t, func(t *testing.T) talks.Store { return openDSN(t, db.schema(t)) })
}

// TestOpen checks that opening a migrated database again keeps its data.
func TestOpen(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	s := openDSN(t, dsn)
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openDSN(t, dsn)
	if _, err := s.FindUserByID(ctx, u.ID); err != nil {
		t.Errorf("FindUserByID after reopen: %v", err)
	}
}

// TestConcurrentStores appends to one talk from several stores, each with
// its own pool, as several servers on one database would, and checks that
// the log is numbered without gaps and its chain verifies.
func TestConcurrentStores(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	stores := []*postgres.Store{openDSN(t, dsn), openDSN(t, dsn), openDSN(t, dsn)}
	s := stores[0]
	u, tk := storetest.NewTalk(t, s)
	tracks, members := storetest.TracksAndMembers(t, s, tk.ID)
	const workers, each = 24, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		st := stores[w%len(stores)]
		wg.Go(func() {
			for i := range each {
				var err error
				if i%5 == 4 {
					title := fmt.Sprintf("T %d-%d", w, i)
					_, err = st.UpdateTalk(ctx, tk.ID, talks.TalkUpdate{Title: &title}, talks.Stamp{ActorID: u.ID, Time: time.Now()})
				} else {
					err = st.PostMessage(ctx, &talks.Message{TrackID: tracks[0].ID, AuthorID: members[0].ID, Body: fmt.Sprintf("w%d-%d", w, i)},
						talks.Stamp{ActorID: u.ID, Time: time.Now()})
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent write: %v", err)
	}
	evs, err := stores[1].FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + workers*each; len(evs) != want {
		t.Errorf("talk has %d events, want %d", len(evs), want)
	}
	if err := talks.VerifyChain(evs); err != nil {
		t.Error(err)
	}
}

// TestEventTime checks that event times, kept as timestamptz, read back
// exactly as they were hashed, across the range a timestamptz holds.
func TestEventTime(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	s := openDSN(t, db.schema(t))
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	times := []time.Time{
		{},
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 1_000, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 1, 9, 0, 0, 123_456_789, time.FixedZone("X", -7*3600-1800)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Now(),
	}
	tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
	if err := s.CreateTalk(ctx, tk, talks.Stamp{ActorID: u.ID, Time: times[0]}); err != nil {
		t.Fatal(err)
	}
	for i, at := range times {
		title := fmt.Sprint(i)
		if _, err := s.UpdateTalk(ctx, tk.ID, talks.TalkUpdate{Title: &title}, talks.Stamp{ActorID: u.ID, Time: at}); err != nil {
			t.Fatalf("UpdateTalk at %v: %v", at, err)
		}
	}
	evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID, AfterSeq: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if want := talks.Timestamp(times[i]); !e.Time.Equal(want) || e.Time.Location() != time.UTC {
			t.Errorf("event %d: Time = %v, want %v", e.ID, e.Time, want)
		}
		if got := e.ComputeHash(); got != e.Hash {
			t.Errorf("event %d at %v: hash does not verify", e.ID, times[i])
		}
	}
	all, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := talks.VerifyChain(all); err != nil {
		t.Error(err)
	}
}

// TestErrors checks that server errors the suite does not provoke still
// reach talks as codes.
func TestErrors(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	s := openDSN(t, db.schema(t))
	_, tk := storetest.NewTalk(t, s)
	bad := talks.Status("pending")
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"NUL in a name", s.CreateUser(ctx, &talks.User{Name: "a\x00b", Email: "b@example.org"}), talks.EINVALID},
		{"invalid UTF-8", s.AddParty(ctx, &talks.Party{TalkID: tk.ID, Name: "\xff"}, talks.Stamp{}), talks.EINVALID},
		{"unknown status", func() error {
			_, err := s.UpdateTalk(ctx, tk.ID, talks.TalkUpdate{Status: &bad}, talks.Stamp{})
			return err
		}(), talks.EINVALID},
		{"unknown talk", func() error { _, err := s.UpdateTalk(ctx, 9999, talks.TalkUpdate{}, talks.Stamp{}); return err }(), talks.ENOTFOUND},
	}
	for _, tt := range tests {
		if got := talks.ErrorCode(tt.err); got != tt.code {
			t.Errorf("%s: error %v (code %q), want code %q", tt.name, tt.err, got, tt.code)
		}
	}
	evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	if err != nil || len(evs) != 3 {
		t.Errorf("after failed writes, %d events (%v), want 3", len(evs), err)
	}
}

// TestConcurrentCounters has two parties counter one version many times at
// once, through two stores, among messages and counters by a member of the
// wrong party: a party may answer a version only once, so exactly one
// counter of each party must commit and every other must write nothing,
// and the log must verify with no gaps.
func TestConcurrentCounters(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	stores := []*postgres.Store{openDSN(t, dsn), openDSN(t, dsn)}
	s := stores[0]
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
	if err := s.CreateTalk(ctx, tk, talks.Stamp{ActorID: u.ID, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tracks, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	var parties []*talks.Party
	var members []*talks.Member
	for i, name := range []string{"North", "South"} {
		p := &talks.Party{TalkID: tk.ID, Name: name}
		if err := s.AddParty(ctx, p, talks.Stamp{ActorID: u.ID}); err != nil {
			t.Fatal(err)
		}
		pu := &talks.User{Name: name, Email: fmt.Sprintf("%d@example.org", i)}
		if err := s.CreateUser(ctx, pu); err != nil {
			t.Fatal(err)
		}
		m := &talks.Member{TalkID: tk.ID, UserID: pu.ID, PartyID: p.ID, Role: talks.RoleEnvoy}
		if err := s.AddMember(ctx, m, talks.Stamp{ActorID: u.ID}); err != nil {
			t.Fatal(err)
		}
		parties, members = append(parties, p), append(members, m)
	}
	v1 := &talks.Version{Values: map[string]string{"a": "1"}, AuthorID: members[0].ID}
	if err := s.CreateProposal(ctx, &talks.Proposal{TrackID: tracks[0].ID, Title: "draft", AuthorID: members[0].ID}, v1, talks.Stamp{ActorID: u.ID}); err != nil {
		t.Fatal(err)
	}

	const n = 90
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[i%2]
			stamp := talks.Stamp{ActorID: u.ID, Time: time.Now()}
			v := &talks.Version{ParentID: v1.ID, Values: map[string]string{"a": fmt.Sprint(i)}}
			switch p := i % 3; p {
			case 0, 1: // party p counters; the member of the other party pretends to be of p
				m := members[p]
				if i%9 == 0 || i%9 == 4 {
					m = members[1-p]
				}
				v.AuthorID = m.ID
				errs[i] = st.ProposeVersion(ctx, v, &talks.Answer{PartyID: parties[p].ID, MemberID: m.ID}, stamp)
			case 2:
				errs[i] = st.PostMessage(ctx, &talks.Message{TrackID: tracks[0].ID, AuthorID: members[0].ID, Body: fmt.Sprint(i)}, stamp)
			}
		}()
	}
	wg.Wait()
	counters := map[int]int{}
	for i, err := range errs {
		switch {
		case i%3 == 2:
			if err != nil {
				t.Errorf("PostMessage %d = %v", i, err)
			}
		case i%9 == 0 || i%9 == 4:
			if talks.ErrorCode(err) != talks.EINVALID {
				t.Errorf("counter %d by the wrong party's member = %v, want EINVALID", i, err)
			}
		case err == nil:
			counters[i%3]++
		case talks.ErrorCode(err) != talks.ECONFLICT:
			t.Errorf("counter %d = %v, want nil or ECONFLICT", i, err)
		}
	}
	if counters[0] != 1 || counters[1] != 1 {
		t.Errorf("counters committed by party = %v, want one each", counters)
	}
	evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := talks.VerifyChain(evs); err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	state, err := talks.Project(evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(state.Versions) != 3 || len(state.Answers) != 2 || len(state.Messages) != n/3 {
		t.Errorf("projection: %d versions, %d answers, %d messages; want 3, 2, %d", len(state.Versions), len(state.Answers), len(state.Messages), n/3)
	}
	vs, err := s.FindVersions(ctx, talks.VersionFilter{ProposalID: v1.ProposalID})
	if err != nil || len(vs) != 3 {
		t.Errorf("FindVersions = %d versions, %v; want 3", len(vs), err)
	}
}

// TestKeptView checks the check of a write's view (talks.ViewCheck) when
// the committer knows, from its own commits, that no event after the view
// breaks it: an event that breaks views, written by another store or by
// the store itself, makes the write stale all the same.
func TestKeptView(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	s, other := openDSN(t, dsn), openDSN(t, dsn)
	u, tk := storetest.NewTalk(t, s)
	tracks, members := storetest.TracksAndMembers(t, s, tk.ID)
	head := func() int64 { return talkHead(t, s, tk.ID) }
	post := func(view int64) error {
		st := talks.Stamp{ActorID: u.ID, Time: time.Now(), View: &talks.ViewCheck{Head: view}}
		return s.PostMessage(ctx, &talks.Message{TrackID: tracks[0].ID, AuthorID: members[0].ID, Body: "m"}, st)
	}
	// A new title breaks views (talks.ViewKeepingTypes).
	retitle := func(s *postgres.Store, title string) {
		t.Helper()
		if _, err := s.UpdateTalk(ctx, tk.ID, talks.TalkUpdate{Title: &title}, talks.Stamp{ActorID: u.ID, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	view := head()
	for i := range 3 {
		if err := post(view); err != nil {
			t.Fatalf("message %d with a view that only messages followed: %v", i, err)
		}
	}
	retitle(other, "T2")
	if err := post(view); !errors.Is(err, talks.ErrStaleView) {
		t.Fatalf("message with a view that another store's new title followed: %v, want ErrStaleView", err)
	}
	view = head()
	if err := post(view); err != nil {
		t.Fatalf("message with a fresh view: %v", err)
	}
	retitle(s, "T3")
	if err := post(view); !errors.Is(err, talks.ErrStaleView) {
		t.Fatalf("message with a view that the store's own new title followed: %v, want ErrStaleView", err)
	}
}

// talkHead returns the sequence number of talk talkID's last event in s.
func talkHead(t *testing.T, s *postgres.Store, talkID int64) int64 {
	t.Helper()
	h, err := s.TalkHead(context.Background(), talkID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
