package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/storetest"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestGroupCommit queues many writes while the committer is busy, so that
// they share one transaction, and checks that a write that fails after
// writing rows and appending events is undone alone, whether it returns an
// error of its own, a failed statement, a failed statement of a pipelined
// batch, or ignores a failed statement; that a write whose ctx ends while
// queued is not run, and one whose ctx ends while it runs still commits;
// and that a panic reaches its own caller.
func TestGroupCommit(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	s := openDSN(t, db.schema(t))
	u, tk := storetest.NewTalk(t, s)

	// Hold the committer until every write below is queued.
	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- postgres.Write(ctx, s, func(postgres.TestTx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started

	const n = 60
	errBoom := errors.New("boom")
	errs := make([]error, n)
	panics := make([]any, n)
	cancelled, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			wctx := ctx
			if i%5 == 4 {
				wctx = cancelled
			}
			wctx, cancelOwn := context.WithCancel(wctx)
			defer cancelOwn()
			errs[i] = postgres.Write(wctx, s, func(tx postgres.TestTx) error {
				if i == 20 {
					// Its caller gives up while it runs: it still runs
					// to the end, on a context that is not cancelled.
					cancelOwn()
				}
				switch i {
				case 23:
					// Fails at its first statement, sent with the
					// savepoint commands.
					return tx.Exec(wctx, `SELECT 1/0`)
				case 35:
					return nil // writes nothing
				case 47:
					return errBoom // before any statement
				}
				if err := tx.AddParty(wctx, tk.ID, u.ID, fmt.Sprintf("p%d", i)); err != nil {
					return err
				}
				switch {
				case i == 7:
					panic("write 7 panics")
				case i == 11:
					// Ignores its failed statement: the transaction is
					// aborted, so the write fails when it ends.
					_ = tx.Exec(wctx, `SELECT 1/0`)
					return nil
				case i%3 == 0:
					return errBoom
				case i%4 == 1:
					return tx.Exec(wctx, `SELECT 1/0`)
				case i%4 == 2:
					return tx.SendBatch(wctx, `SELECT 1`, `SELECT 1/0`, `SELECT 2`)
				}
				return nil
			})
		})
	}
	for postgres.Queued(s) < n {
		time.Sleep(time.Millisecond)
	}
	cancel()
	time.Sleep(10 * time.Millisecond) // let the cancelled callers give up
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatalf("holding write: %v", err)
	}

	good := map[string]bool{}
	for i := range n {
		switch {
		case i%5 == 4:
			if !errors.Is(errs[i], context.Canceled) {
				t.Errorf("write %d with a cancelled ctx = %v, want context.Canceled", i, errs[i])
			}
		case i == 7:
			if panics[i] != "write 7 panics" {
				t.Errorf("write 7 panicked with %v in its caller, want its panic", panics[i])
			}
		case i == 35:
			if errs[i] != nil {
				t.Errorf("write 35, which runs no statement, = %v, want nil", errs[i])
			}
		case i == 23 || i == 47:
			if errs[i] == nil {
				t.Errorf("write %d = nil, want its error", i)
			}
		case i == 11:
			if errs[i] == nil {
				t.Errorf("write 11 ignored a failed statement and succeeded")
			}
		case i%3 == 0:
			// The store answers an error of its own as text.
			if errs[i] == nil || !strings.Contains(errs[i].Error(), errBoom.Error()) {
				t.Errorf("write %d = %v, want %v", i, errs[i], errBoom)
			}
		case i%4 == 1 || i%4 == 2:
			if errs[i] == nil || strings.Contains(errs[i].Error(), errBoom.Error()) {
				t.Errorf("write %d with a failed statement = %v, want its error", i, errs[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("write %d = %v (panic %v), want nil", i, errs[i], panics[i])
			}
			good[fmt.Sprintf("p%d", i)] = true
		}
	}
	if !good["p20"] {
		t.Fatal("test bug: write 20 is expected to succeed")
	}
	ps, err := s.FindParties(ctx, talks.PartyFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(good) {
		t.Errorf("%d parties stored, want %d", len(ps), len(good))
	}
	for _, p := range ps {
		if !good[p.Name] {
			t.Errorf("party %q of a failed write was stored", p.Name)
		}
	}
	checkLog(t, s, tk.ID, 3+len(good))
}

// checkLog checks that talk talkID's log has want events, numbered 1 to
// want, with an intact hash chain, and that its tree covers it.
func checkLog(t *testing.T, s *postgres.Store, talkID int64, want int) {
	t.Helper()
	ctx := context.Background()
	evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: talkID})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != want {
		t.Errorf("talk %d has %d events, want %d", talkID, len(evs), want)
	}
	for i, e := range evs {
		if e.ID != int64(i+1) {
			t.Fatalf("talk %d: event %d has seq %d", talkID, i+1, e.ID)
		}
	}
	if err := talks.VerifyChain(evs); err != nil {
		t.Errorf("VerifyChain: %v", err)
	}
	rec, err := s.FindRecord(ctx, talkID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Events); n > 0 {
		if got, want := int64(len(rec.Hashes)), storedHashCount(int64(n)); got != want {
			t.Errorf("talk %d: %d stored tree hashes for %d events, want %d", talkID, got, n, want)
		}
	}
}

// storedHashCount is tlog.StoredHashCount.
func storedHashCount(n int64) int64 {
	var c int64
	for i := int64(0); i < n; i++ {
		c++
		for x := i + 1; x&1 == 0; x >>= 1 {
			c++
		}
	}
	return c
}

// TestConcurrentWrites runs many concurrent writes to two talks, through
// two stores, among writes that fail (messages to a track that does not
// exist, duplicate parties), and checks that every acknowledged write is
// stored, no failed one is, each log is numbered without gaps with an
// intact chain, and each talk's messages are numbered in the order they
// were posted, also when two processes write.
func TestConcurrentWrites(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	stores := []*postgres.Store{openDSN(t, dsn), openDSN(t, dsn)}
	key, _, err := ledger.GenerateKey("test.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stores {
		st.SetNotary(key)
	}
	s := stores[0]
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	var tks [2]*talks.Talk
	var official [2]int64
	var author [2]int64
	for k := range tks {
		tks[k] = &talks.Talk{Title: fmt.Sprintf("T%d", k), ConvenerID: u.ID}
		if err := s.CreateTalk(ctx, tks[k], talks.Stamp{ActorID: u.ID}); err != nil {
			t.Fatal(err)
		}
		trs, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: tks[k].ID})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: tks[k].ID})
		if err != nil {
			t.Fatal(err)
		}
		official[k], author[k] = trs[0].ID, ms[0].ID
	}
	const n = 300
	var mu sync.Mutex
	var posted [2]int
	var parties [2]map[string]bool
	parties[0], parties[1] = map[string]bool{}, map[string]bool{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := i % 2
			st := stores[(i/2)%2]
			stamp := talks.Stamp{ActorID: u.ID, Time: time.Now()}
			switch i % 6 {
			case 0, 1, 2, 3:
				err := st.PostMessage(ctx, &talks.Message{TrackID: official[k], AuthorID: author[k], Body: fmt.Sprintf("m%d", i)}, stamp)
				if err != nil {
					t.Errorf("PostMessage %d: %v", i, err)
					return
				}
				mu.Lock()
				posted[k]++
				mu.Unlock()
			case 4:
				err := st.PostMessage(ctx, &talks.Message{TrackID: 1 << 40, AuthorID: author[k], Body: "lost"}, stamp)
				if talks.ErrorCode(err) != talks.ENOTFOUND {
					t.Errorf("PostMessage to no track = %v, want ENOTFOUND", err)
				}
			case 5:
				// Two writers of each name: one wins.
				name := fmt.Sprintf("p%d", i/12)
				err := st.AddParty(ctx, &talks.Party{TalkID: tks[k].ID, Name: name}, stamp)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && parties[k][name]:
					t.Errorf("party %q of talk %d added twice", name, k)
				case err == nil:
					parties[k][name] = true
				case talks.ErrorCode(err) != talks.ECONFLICT:
					t.Errorf("AddParty = %v, want nil or ECONFLICT", err)
				}
			}
		})
	}
	wg.Wait()
	for k, tk := range tks {
		ms, err := stores[1].FindMessages(ctx, talks.MessageFilter{TrackID: official[k]})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != posted[k] {
			t.Errorf("talk %d: %d messages stored, %d acknowledged", k, len(ms), posted[k])
		}
		ps, err := stores[1].FindParties(ctx, talks.PartyFilter{TalkID: tk.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != len(parties[k]) {
			t.Errorf("talk %d: %d parties stored, %d acknowledged", k, len(ps), len(parties[k]))
		}
		checkLog(t, stores[1], tk.ID, 3+posted[k]+len(parties[k]))
		checkCheckpoints(t, stores[1], key, tk.ID)
		checkIDOrder(t, stores[1], tk.ID)
	}
}

// checkRecord checks talk talkID's whole record in s: its log, its
// checkpoints (signed by key), and the numbering of its rows.
func checkRecord(t *testing.T, s *postgres.Store, key *ledger.Key, talkID int64) {
	t.Helper()
	evs, err := s.FindEvents(context.Background(), talks.EventFilter{TalkID: talkID})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, talkID, len(evs))
	checkCheckpoints(t, s, key, talkID)
	checkIDOrder(t, s, talkID)
}

// checkIDOrder checks that talk talkID's messages, versions and answers
// are numbered in the order they were written, the order of their events,
// as a reader of a track's messages after one it has seen
// (MessageFilter.AfterID) needs.
func checkIDOrder(t *testing.T, s *postgres.Store, talkID int64) {
	t.Helper()
	for typ, field := range map[string]string{
		talks.EventMessagePosted:   "message_id",
		talks.EventVersionProposed: "version_id",
		talks.EventAnswerGiven:     "answer_id",
	} {
		evs, err := s.FindEvents(context.Background(), talks.EventFilter{TalkID: talkID, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		var last int64
		for _, e := range evs {
			var p map[string]any
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				t.Fatal(err)
			}
			id, _ := p[field].(float64)
			if int64(id) <= last {
				t.Errorf("talk %d: event %d (%s) has %s %d after %d", talkID, e.ID, typ, field, int64(id), last)
			}
			last = int64(id)
		}
	}
}

// checkCheckpoints checks that every checkpoint of talk talkID is signed
// by key and has the root of the talk's tree at its size, that their
// sizes never shrink, and that the last is at the talk's head.
func checkCheckpoints(t *testing.T, s *postgres.Store, key *ledger.Key, talkID int64) {
	t.Helper()
	ctx := context.Background()
	rec, err := s.FindRecord(ctx, talkID)
	if err != nil {
		t.Fatal(err)
	}
	tree := new(ledger.Tree)
	roots := map[int64]tlog.Hash{}
	for _, e := range rec.Events {
		if _, err := tree.Append(ledger.LeafBytes(e)); err != nil {
			t.Fatal(err)
		}
		r, err := tlog.TreeHash(tree.Size(), tree)
		if err != nil {
			t.Fatal(err)
		}
		roots[tree.Size()] = r
	}
	cps, err := s.FindCheckpoints(ctx, talkID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) == 0 {
		t.Fatalf("talk %d has no checkpoint", talkID)
	}
	var last int64
	for _, cp := range cps {
		c, err := ledger.OpenCheckpoint(cp.Note, key.Verifier())
		if err != nil {
			t.Fatalf("checkpoint of size %d: %v", cp.Size, err)
		}
		if c.Size != cp.Size || c.Root != roots[cp.Size] || tlog.Hash(cp.Root) != roots[cp.Size] {
			t.Errorf("checkpoint of size %d has root %x (signed %x), want %x", cp.Size, cp.Root, c.Root, roots[cp.Size])
		}
		if cp.Size < last {
			t.Errorf("checkpoint of size %d after one of size %d", cp.Size, last)
		}
		last = cp.Size
	}
	if last != int64(len(rec.Events)) {
		t.Errorf("last checkpoint of talk %d has size %d, want its head %d", talkID, last, len(rec.Events))
	}
	// The stored hashes are the tree's, in order.
	if got, want := int64(len(rec.Hashes)), storedHashCount(tree.Size()); got != want {
		t.Fatalf("talk %d has %d stored tree hashes, want %d", talkID, got, want)
	}
	for i, h := range rec.Hashes {
		want, err := tree.ReadHashes([]int64{int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if tlog.Hash(h) != want[0] {
			t.Errorf("talk %d: stored tree hash %d is %x, want %x", talkID, i, h, want[0])
		}
	}
}

// TestCloseDrains checks that Close lets queued writes commit and that
// writes after it fail.
func TestCloseDrains(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.CreateUser(ctx, &talks.User{Name: "u", Email: fmt.Sprintf("u%d@example.org", i)})
		}()
	}
	var ok int
	for range n / 2 {
		if <-errs == nil {
			ok++
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range n - n/2 {
		if err := <-errs; err == nil {
			ok++
		}
	}
	if err := s.CreateUser(ctx, &talks.User{Name: "late", Email: "late@example.org"}); err == nil {
		t.Errorf("CreateUser after Close succeeded")
	}
	s = openDSN(t, dsn)
	var stored int
	for i := range n {
		if _, err := s.FindUserByEmail(ctx, fmt.Sprintf("u%d@example.org", i)); err == nil {
			stored++
		}
	}
	if stored != ok {
		t.Errorf("%d users stored, %d writes acknowledged", stored, ok)
	}
}

// sends counts what a store's connections send, each one round trip once
// its statements are prepared: statements sent alone and pipelined
// batches.
type sends struct{ n atomic.Int64 }

func (c *sends) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *sends) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *sends) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *sends) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *sends) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestBatchedWrites runs messages and counter-proposals to one talk in one
// batch, among some that fail after writing, and checks that they are
// pipelined: once the first of a kind has locked the talk's head (and
// reserved the later ones' IDs), or started from the head that the last
// commit left with IDs that commit reserved, a run of them takes one
// round trip however long it is (each starts from the head the one before
// it leaves), and a write that fails in the middle of a run (a statement
// of it fails, or its view check finds the view stale) costs one more to
// roll back, after which the writes after it run again in a run of
// their own. It checks that a
// failed write leaves the head and the reserved IDs to the next, and that
// the log, its tree and checkpoints, and the rows are as if the writes
// that stand had committed one by one. Only the last statement of a talk
// in a run moves the talk's head in the database, so it checks that a
// write that locks the head after a run that failed finds it where the
// writes that stand left it.
func TestBatchedWrites(t *testing.T) {
	db := newDatabase(t)
	for _, fusing := range []bool{false, true} {
		t.Run(fmt.Sprint("fusing=", fusing), func(t *testing.T) { testBatchedWrites(t, db, fusing) })
	}
}

func testBatchedWrites(t *testing.T, db *database, fusing bool) {
	ctx := context.Background()
	var tr sends
	s, key := openNotarised(t, db.schema(t), &tr)
	postgres.SetFusing(s, fusing)
	var i int
	stamp := func(actor int64) talks.Stamp {
		i++
		return talks.Stamp{ActorID: actor, Time: time.Unix(1700000000+int64(i), 0)}
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	must("CreateUser", s.CreateUser(ctx, u))
	tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
	must("CreateTalk", s.CreateTalk(ctx, tk, stamp(u.ID)))
	trs, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: tk.ID})
	must("FindTracks", err)
	track := trs[0].ID
	var ps [2]*talks.Party
	var ms [2]*talks.Member
	var early int64 // a head that a party and a member were added after
	for k, name := range []string{"north", "south"} {
		if k == 1 {
			early, err = s.TalkHead(ctx, tk.ID)
			must("TalkHead", err)
		}
		ps[k] = &talks.Party{TalkID: tk.ID, Name: name}
		must("AddParty", s.AddParty(ctx, ps[k], stamp(u.ID)))
		uk := &talks.User{Name: name, Email: name + "@example.org"}
		must("CreateUser", s.CreateUser(ctx, uk))
		ms[k] = &talks.Member{TalkID: tk.ID, UserID: uk.ID, PartyID: ps[k].ID, Role: talks.RoleEnvoy}
		must("AddMember", s.AddMember(ctx, ms[k], stamp(u.ID)))
	}
	// Two drafts, each countered once alone, so that the store knows where
	// their last versions are, as it does in a chain of counters.
	var tips [2]int64
	for k := range tips {
		v := &talks.Version{Values: map[string]string{"line": "river"}, AuthorID: ms[0].ID}
		must("CreateProposal", s.CreateProposal(ctx, &talks.Proposal{TrackID: track, Title: fmt.Sprint("draft ", k), AuthorID: ms[0].ID}, v, stamp(u.ID)))
		c := &talks.Version{ParentID: v.ID, Values: map[string]string{"line": "ridge"}, AuthorID: ms[1].ID}
		must("ProposeVersion", s.ProposeVersion(ctx, c, &talks.Answer{PartyID: ps[1].ID, MemberID: ms[1].ID}, stamp(u.ID)))
		tips[k] = c.ID
	}
	message := func(author int64, body string) func() error {
		return func() error {
			return s.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: author, Body: body}, stamp(u.ID))
		}
	}
	counter := func(parent int64, k int) func() error {
		return func() error {
			v := &talks.Version{ParentID: parent, Values: map[string]string{"line": "river"}, AuthorID: ms[k].ID}
			return s.ProposeVersion(ctx, v, &talks.Answer{PartyID: ps[k].ID, MemberID: ms[k].ID}, stamp(u.ID))
		}
	}
	// And where the track is, once a message to it has committed.
	must("PostMessage", message(ms[0].ID, "m0")())
	head, err := s.TalkHead(ctx, tk.ID)
	must("TalkHead", err)
	viewed := func(body string, head int64) func() error {
		return func() error {
			st := stamp(u.ID)
			st.View = &talks.ViewCheck{Head: head}
			return s.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: ms[0].ID, Body: body}, st)
		}
	}
	// Each write, the error code it fails with, if any, and the round
	// trips it adds: a write that joins a pipelined run adds none, and
	// one that fails adds one to roll back. A run that is fused and
	// fails takes two more (fused): its fused round trip and its
	// rollback, before it goes again unfused. Runs of one write are not
	// fused, nor is the run of counters, two of which answer the same
	// version for the same party.
	writes := []struct {
		name  string
		run   func() error
		code  string
		trips int
		fused int
	}{
		// m0's commit left its head and IDs reserved for messages.
		{"first message (checks the head the last commit left, starts a run)", message(ms[0].ID, "m1"), "", 1, 0},
		{"message", message(ms[1].ID, "m2"), "", 0, 0},
		{"message of no member (fails in the run)", message(1<<40, "m3"), talks.EINVALID, 0 + 1, 2},
		{"message with a view (runs again, starts a run)", viewed("m4", head), "", 1, 0}, // the batch's messages keep it
		{"message with a stale view (fails in the run)", viewed("m5", early), talks.ECONFLICT, 0 + 1, 2},
		{"message (runs again)", message(ms[1].ID, "m6"), "", 1, 0},
		{"message", message(ms[0].ID, "m8"), "", 0, 0},
		{"message", message(ms[1].ID, "m9"), "", 0, 0},
		{"first counter (locks the head, starts a run)", counter(tips[0], 0), "", 2, 0},
		{"counter", counter(tips[1], 0), "", 0, 0},
		{"counter answering again (fails, last of the run)", counter(tips[0], 0), talks.ECONFLICT, 0 + 1, 0},
		// It locks the head that the rollback moved back to the last
		// counter that stands, which did not move it itself.
		{"last message (after a counter, locks again)", message(ms[1].ID, "m10"), "", 2, 0},
		{"counter (after a message, locks again)", counter(tips[0], 1), "", 2, 0},
	}
	before, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	must("FindEvents", err)
	// A message to no track finds none before it is queued.
	if err := s.PostMessage(ctx, &talks.Message{TrackID: 1 << 40, AuthorID: ms[0].ID, Body: "m7"}, stamp(u.ID)); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("message to no track = %v, want ENOTFOUND", err)
	}

	// Hold the committer until every write is queued, in order.
	release := holdCommitter(t, s)
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for k, w := range writes {
		wg.Go(func() { errs[k] = w.run() })
		for postgres.Queued(s) < k+1 {
			time.Sleep(time.Millisecond)
		}
	}
	n0 := tr.n.Load()
	fused0, fellBack0 := postgres.Fused(s)
	close(release)
	wg.Wait()
	// COMMIT, with the checkpoint, goes in the last run's round trip: its
	// counter's checks fail, if they do, as statements.
	want := 0
	stood := 0
	for k, w := range writes {
		want += w.trips
		if fusing {
			want += w.fused
		}
		if code := talks.ErrorCode(errs[k]); errs[k] != nil && code != w.code || errs[k] == nil && w.code != "" {
			t.Errorf("%s = %v, want code %q", w.name, errs[k], w.code)
		} else if errs[k] == nil {
			stood++
		}
	}
	if stood != 10 {
		t.Errorf("%d writes stood, want 10", stood)
	}
	if got := tr.n.Load() - n0; got != int64(want) {
		t.Errorf("the batch took %d round trips, want %d", got, want)
	}
	// Fused: the run of m6, m8 and m9 stands; the two runs that fail go
	// again.
	fused, fellBack := postgres.Fused(s)
	if fused, fellBack = fused-fused0, fellBack-fellBack0; !fusing && (fused != 0 || fellBack != 0) || fusing && (fused != 1 || fellBack != 2) {
		t.Errorf("%d fused runs stood and %d went again unfused", fused, fellBack)
	}

	evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	must("FindEvents", err)
	if got, want := len(evs)-len(before), 7+2*3; got != want {
		t.Errorf("the batch appended %d events, want %d", got, want)
	}
	checkLog(t, s, tk.ID, len(evs))
	checkCheckpoints(t, s, key, tk.ID)
	checkIDOrder(t, s, tk.ID)
	msgs, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: track})
	must("FindMessages", err)
	var bodies []string
	for k, m := range msgs {
		bodies = append(bodies, m.Body)
		if k > 0 && m.ID <= msgs[k-1].ID {
			t.Errorf("message %q has ID %d after %d", m.Body, m.ID, msgs[k-1].ID)
		}
	}
	if got, want := strings.Join(bodies, " "), "m0 m1 m2 m4 m6 m8 m9 m10"; got != want {
		t.Errorf("messages %s stored, want %s", got, want)
	}
	// Every event names the rows that were stored.
	for _, e := range evs[len(before):] {
		var p struct {
			MessageID int64 `json:"message_id"`
			VersionID int64 `json:"version_id"`
			AnswerID  int64 `json:"answer_id"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		switch e.Type {
		case talks.EventMessagePosted:
			_, err = s.FindMessageByID(ctx, p.MessageID)
		case talks.EventVersionProposed:
			_, err = s.FindVersionByID(ctx, p.VersionID)
		case talks.EventAnswerGiven:
			_, err = s.FindAnswerByID(ctx, p.AnswerID)
		}
		if err != nil {
			t.Errorf("event %d (%s) names a row not stored: %v", e.ID, e.Type, err)
		}
	}
}

// TestDeferredHashes checks that a write in a batch that has to read its
// talk's tree hashes (its head has no usable frontier) finds those that
// the batch's earlier writes appended, which are inserted only before
// COMMIT.
func TestDeferredHashes(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	s := openDSN(t, db.schema(t))
	key, _, err := ledger.GenerateKey("test.example")
	if err != nil {
		t.Fatal(err)
	}
	s.SetNotary(key)
	u, tk := storetest.NewTalk(t, s)

	// Hold the committer until both writes are queued.
	release := holdCommitter(t, s)
	writes := []func(tx postgres.TestTx) error{
		func(tx postgres.TestTx) error { return tx.AddParty(ctx, tk.ID, u.ID, "north") },
		func(tx postgres.TestTx) error {
			if err := tx.Exec(ctx, `UPDATE event_heads SET frontier = ''::bytea WHERE talk_id = $1`, tk.ID); err != nil {
				return err
			}
			return tx.AddParty(ctx, tk.ID, u.ID, "south")
		},
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for k, w := range writes {
		wg.Go(func() { errs[k] = postgres.Write(ctx, s, w) })
		for postgres.Queued(s) < k+1 {
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", k, err)
		}
	}
	checkCheckpoints(t, s, key, tk.ID)
}

// openNotarised opens a store on dsn whose round trips tr counts, with a
// notary whose key it returns.
func openNotarised(t *testing.T, dsn string, tr *sends) (*postgres.Store, *ledger.Key) {
	t.Helper()
	s, err := postgres.OpenTraced(context.Background(), dsn, tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	key, _, err := ledger.GenerateKey("test.example")
	if err != nil {
		t.Fatal(err)
	}
	s.SetNotary(key)
	return s, key
}

// roundTrips runs write, a write through s, and returns its error and the
// round trips that s sent for it (counted by tr). A failed write is
// answered before its transaction is rolled back, so it waits for the
// committer first: a write of no statement, which sends nothing, returns
// once the committer is done with the writes before it.
func roundTrips(t *testing.T, s *postgres.Store, tr *sends, write func() error) (int64, error) {
	t.Helper()
	n0 := tr.n.Load()
	err := write()
	if err := postgres.Write(context.Background(), s, func(postgres.TestTx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return tr.n.Load() - n0, err
}

// envoys creates in s a talk that ada convenes, with the party north and
// an envoy of it for each of names, and returns ada, the talk, the envoys
// and the official track's ID.
func envoys(t *testing.T, s *postgres.Store, names ...string) (*talks.User, *talks.Talk, []*talks.Member, int64) {
	t.Helper()
	ctx := context.Background()
	u, tk := storetest.NewTalk(t, s)
	p := &talks.Party{TalkID: tk.ID, Name: "north"}
	if err := s.AddParty(ctx, p, talks.Stamp{ActorID: u.ID}); err != nil {
		t.Fatal(err)
	}
	var ms []*talks.Member
	for _, name := range names {
		uk := &talks.User{Name: name, Email: name + "@example.org"}
		if err := s.CreateUser(ctx, uk); err != nil {
			t.Fatal(err)
		}
		m := &talks.Member{TalkID: tk.ID, UserID: uk.ID, PartyID: p.ID, Role: talks.RoleEnvoy}
		if err := s.AddMember(ctx, m, talks.Stamp{ActorID: u.ID}); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	tracks, _ := storetest.TracksAndMembers(t, s, tk.ID)
	return u, tk, ms, tracks[0].ID
}

// TestLoneCommit checks that a message written alone commits in its
// insert's round trip: the first in three round trips, the read of the
// track's talk (before the write is queued), the lock (with BEGIN) and the
// insert (with COMMIT), and the next ones in one, which checks
// that the head is still where the last commit left it and inserts with
// an ID that commit reserved. One that fails there, as a statement or by
// a check of its view against the log, writes nothing and leaves the
// connection fit for the next write; one whose view passes that check
// commits in the same one. A message after another store's has found the
// head moved, and runs again the first way, with IDs greater than the
// other store's: messages are still numbered in the order they commit.
// The log and its checkpoints are as if each had committed alone the old
// way.
func TestLoneCommit(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	var tr sends
	s, key := openNotarised(t, dsn, &tr)
	u, tk, ms, track := envoys(t, s, "bo", "cy")
	head := func() int64 { return talkHead(t, s, tk.ID) }
	// cy's joining breaks a view taken before it.
	stale := head() - 1
	post := func(s *postgres.Store, body string, author, view int64) error {
		st := talks.Stamp{ActorID: u.ID, Time: time.Unix(1700000000, 0)}
		if view > 0 {
			st.View = &talks.ViewCheck{Head: view}
		}
		return s.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: author, Body: body}, st)
	}
	// check posts a message through s and checks its error code and the
	// round trips it took.
	check := func(name, body string, author, view int64, code string, trips int) {
		t.Helper()
		got, err := roundTrips(t, s, &tr, func() error { return post(s, body, author, view) })
		if c := talks.ErrorCode(err); err != nil && c != code || err == nil && code != "" {
			t.Errorf("%s = %v, want code %q", name, err, code)
		}
		if got != int64(trips) {
			t.Errorf("%s took %d round trips, want %d", name, got, trips)
		}
	}
	check("message", "m1", ms[0].ID, 0, "", 3)
	check("message of no member (fails, COMMIT unsent)", "m2", 1<<40, 0, talks.EINVALID, 2) // and ROLLBACK
	check("message after it", "m3", ms[1].ID, 0, "", 1)
	check("message with a stale view", "m4", ms[0].ID, stale, talks.ECONFLICT, 2) // and ROLLBACK
	check("message with a view", "m5", ms[0].ID, head(), "", 1)                   // s knows its commits keep views
	// A message through another store moves the head past what s knows,
	// so s checks the view of the next against the log.
	view := head()
	other := openDSN(t, dsn)
	if err := post(other, "m6", ms[1].ID, 0); err != nil {
		t.Fatal(err)
	}
	// The head moved: ROLLBACK, then the lock and the insert.
	check("message with a view that needs checking", "m7", ms[0].ID, view, "", 4)
	check("message", "m8", ms[0].ID, 0, "", 1)

	msgs, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: track})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, m.Body)
	}
	if got, want := strings.Join(bodies, " "), "m1 m3 m5 m6 m7 m8"; got != want {
		t.Errorf("messages %s stored, want %s", got, want)
	}
	checkRecord(t, s, key, tk.ID)
}

// TestBatchCommitsInItsRun checks that a batch of messages, whose
// statements can fail only as statements, commits in the round trip of
// its last pipelined run, with its tree hashes and checkpoint: one round
// trip in all, since the first starts from the head the last commit left
// (checking it in the run) with IDs that commit reserved. A message that
// fails in the run, fused, makes PostgreSQL skip the commit with the rest
// of the run; the run goes again unfused, and the messages after the one
// that fails run again, and commit, in a run of their own. The log, its
// tree and checkpoints, and the rows are as if each had committed alone.
func TestBatchCommitsInItsRun(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	var tr sends
	s, key := openNotarised(t, db.schema(t), &tr)
	u, tk, ms, track := envoys(t, s, "bo")
	m := ms[0]
	// Once a message to the track has committed, the store knows its
	// talk, and that commit reserved IDs for the next batch's messages.
	if err := s.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: m.ID, Body: "m0"}, talks.Stamp{ActorID: u.ID}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name   string
		bodies []string // "!" for a message of no member, which fails
		trips  int
		stored string
	}{
		{"messages", []string{"a1", "a2", "a3"}, 1, "a1 a2 a3"},
		// The run fused, which fails, its rollback, the run unfused, which
		// fails at b2, the rollback, and the run of b3 and b4, fused,
		// which commits.
		{"a message that fails", []string{"b1", "!", "b3", "b4"}, 5, "b1 b3 b4"},
		// The run fused, which fails, its rollback, the run unfused, which
		// fails at its first, the rollback, and c2, which starts again
		// from the head the last commit left.
		{"the first message fails", []string{"!", "c2"}, 5, "c2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: track})
			if err != nil {
				t.Fatal(err)
			}
			release := holdCommitter(t, s)
			errs := make([]error, len(c.bodies))
			var wg sync.WaitGroup
			for k, body := range c.bodies {
				author := m.ID
				if body == "!" {
					author = 1 << 40
				}
				wg.Go(func() {
					errs[k] = s.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: author, Body: body}, talks.Stamp{ActorID: u.ID, Time: time.Unix(1700000000, 0)})
				})
				for postgres.Queued(s) < k+1 {
					time.Sleep(time.Millisecond)
				}
			}
			n0 := tr.n.Load()
			close(release)
			wg.Wait()
			for k, body := range c.bodies {
				if body == "!" && talks.ErrorCode(errs[k]) != talks.EINVALID || body != "!" && errs[k] != nil {
					t.Errorf("message %d (%s): %v", k, body, errs[k])
				}
			}
			if got := tr.n.Load() - n0; got != int64(c.trips) {
				t.Errorf("the batch took %d round trips, want %d", got, c.trips)
			}
			msgs, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: track})
			if err != nil {
				t.Fatal(err)
			}
			var bodies []string
			for _, m := range msgs[len(before):] {
				bodies = append(bodies, m.Body)
			}
			if got := strings.Join(bodies, " "); got != c.stored {
				t.Errorf("messages %s stored, want %s", got, c.stored)
			}
			checkRecord(t, s, key, tk.ID)
		})
	}
}

// TestKeptHead checks that a counter-proposal whose talk's head another
// store has moved since this store's last commit of it finds that out in
// its one round trip, and runs again from the head it then locks and
// reads, and that counter-proposals of two stores racing on one talk all
// stand. Versions, answers and messages stay numbered in the order they
// commit, and the log, its tree and checkpoints are whole.
func TestKeptHead(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	var tr sends
	s, key := openNotarised(t, dsn, &tr)
	other := openDSN(t, dsn)
	other.SetNotary(key)
	u, tk, ms, track := envoys(t, s, "bo")
	m := ms[0]
	stamp := func() talks.Stamp { return talks.Stamp{ActorID: u.ID, Time: time.Unix(1700000000, 0)} }
	draft := func(st *postgres.Store) int64 {
		v := &talks.Version{Values: map[string]string{"line": "river"}, AuthorID: m.ID}
		if err := st.CreateProposal(ctx, &talks.Proposal{TrackID: track, Title: "draft", AuthorID: m.ID}, v, stamp()); err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	counter := func(st *postgres.Store, parent int64) (int64, error) {
		v := &talks.Version{ParentID: parent, Values: map[string]string{"line": "ridge"}, AuthorID: m.ID}
		err := st.ProposeVersion(ctx, v, &talks.Answer{PartyID: m.PartyID, MemberID: m.ID}, stamp())
		return v.ID, err
	}
	tip := draft(s)
	check := func(name string, trips int) {
		t.Helper()
		got, err := roundTrips(t, s, &tr, func() (err error) {
			tip, err = counter(s, tip)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != int64(trips) {
			t.Errorf("%s took %d round trips, want %d", name, got, trips)
		}
	}
	check("first counter (locks the head)", 2)
	check("counter (checks the head its commit left)", 1)
	if err := other.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: m.ID, Body: "moves the head"}, stamp()); err != nil {
		t.Fatal(err)
	}
	// The check, its ROLLBACK, then the lock and the run.
	check("counter after another store's message", 4)
	check("counter", 1)

	// Two stores, each countering its own chain, race on the talk's head.
	tips := []int64{tip, draft(other)}
	var wg sync.WaitGroup
	for k, st := range []*postgres.Store{s, other} {
		wg.Go(func() {
			for range 30 {
				id, err := counter(st, tips[k])
				if err != nil {
					t.Errorf("store %d: %v", k, err)
					return
				}
				tips[k] = id
			}
		})
	}
	wg.Wait()
	checkRecord(t, s, key, tk.ID)
}

// TestFusedRuns checks that a batch of counter-proposals, with and
// without an envoy's mandate to check, goes as one fused run (fuse.go),
// the first counters of new proposals too, since the store knows where a
// version it created is, and that each write stands as if it had gone
// alone: its version and answer stored with the IDs it was given,
// answering the version it counters. A batch in which one
// counter-proposal's mandate changed goes fused, fails, and goes again
// unfused: that one alone fails, with its own error, and the two after
// it go fused again. A batch after another store has moved the head
// finds it moved in its first statement, and does not go again unfused,
// which would fail there too. The log, its tree and checkpoints, and the
// numbering are as if each had committed alone.
func TestFusedRuns(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	var tr sends
	s, key := openNotarised(t, dsn, &tr)
	u, tk, ms, track := envoys(t, s, "bo")
	m := ms[0]
	stamp := talks.Stamp{ActorID: u.ID, Time: time.Unix(1700000000, 0)}
	tips := make([]int64, 5)
	for k := range tips {
		v := &talks.Version{Values: map[string]string{"line": "river"}, AuthorID: m.ID}
		if err := s.CreateProposal(ctx, &talks.Proposal{TrackID: track, Title: fmt.Sprint("draft ", k), AuthorID: m.ID}, v, stamp); err != nil {
			t.Fatal(err)
		}
		tips[k] = v.ID
	}
	// batch runs a counter to each of the first len(mandates) tips in one
	// batch, with the envoy's mandate read at the version given, if not
	// negative, and returns their errors and the round trips it took.
	batch := func(mandates []int64) ([]error, int64) {
		t.Helper()
		type written struct {
			v *talks.Version
			a *talks.Answer
		}
		ws := make([]written, len(mandates))
		errs := make([]error, len(mandates))
		release := holdCommitter(t, s)
		var wg sync.WaitGroup
		for k, version := range mandates {
			ws[k] = written{
				v: &talks.Version{ParentID: tips[k], Values: map[string]string{"line": fmt.Sprint("ridge ", k)}, Rationale: fmt.Sprint("counter ", k), AuthorID: m.ID},
				a: &talks.Answer{PartyID: m.PartyID, MemberID: m.ID},
			}
			st := stamp
			if version >= 0 {
				// The envoy has no mandate: version 0 is the one read.
				st.Mandate = &talks.MandateRead{TalkID: tk.ID, PartyID: m.PartyID, EnvoyID: m.ID, Version: version}
			}
			wg.Go(func() { errs[k] = s.ProposeVersion(ctx, ws[k].v, ws[k].a, st) })
			for postgres.Queued(s) < k+1 {
				time.Sleep(time.Millisecond)
			}
		}
		n0 := tr.n.Load()
		close(release)
		wg.Wait()
		trips := tr.n.Load() - n0
		for k, w := range ws {
			if errs[k] != nil {
				continue
			}
			v, err := s.FindVersionByID(ctx, w.v.ID)
			if err != nil {
				t.Fatalf("counter %d: version %d: %v", k, w.v.ID, err)
			}
			if v.ParentID != tips[k] || v.Values["line"] != fmt.Sprint("ridge ", k) || v.Rationale != w.v.Rationale || v.ProposalID != w.v.ProposalID {
				t.Errorf("counter %d stored as %+v, written as %+v", k, v, w.v)
			}
			a, err := s.FindAnswerByID(ctx, w.a.ID)
			if err != nil {
				t.Fatalf("counter %d: answer %d: %v", k, w.a.ID, err)
			}
			if a.VersionID != tips[k] || a.CounterID != v.ID || a.Kind != talks.AnswerCounter || a.PartyID != m.PartyID {
				t.Errorf("counter %d: answer stored as %+v", k, a)
			}
			tips[k] = v.ID
		}
		return errs, trips
	}
	fused := func() (int64, int64) {
		stood, fellBack := postgres.Fused(s)
		return stood, fellBack
	}

	check := func(name string, trips, wantTrips, stood0, fellBack0, wantStood, wantFellBack int64) {
		t.Helper()
		if trips != wantTrips {
			t.Errorf("%s took %d round trips, want %d", name, trips, wantTrips)
		}
		if stood, fellBack := fused(); stood-stood0 != wantStood || fellBack-fellBack0 != wantFellBack {
			t.Errorf("%s: %d fused runs stood and %d failed, want %d and %d", name, stood-stood0, fellBack-fellBack0, wantStood, wantFellBack)
		}
	}

	// The lock (the last commit was not a counter's, and left no IDs for
	// one), then the run fused, with COMMIT.
	stood0, fellBack0 := fused()
	errs, trips := batch([]int64{-1, 0, -1, 0, 0})
	for k, err := range errs {
		if err != nil {
			t.Errorf("counter %d: %v", k, err)
		}
	}
	check("first counters", trips, 2, stood0, fellBack0, 1, 0)

	// The run fused, which fails, its rollback, the run unfused, which
	// fails at the third, its rollback, then the last two, fused.
	stood0, fellBack0 = fused()
	errs, trips = batch([]int64{0, -1, 5, 0, -1})
	for k, err := range errs {
		if k == 2 && !errors.Is(err, talks.ErrMandateChanged) || k != 2 && err != nil {
			t.Errorf("counter %d: %v", k, err)
		}
	}
	check("a counter whose mandate changed", trips, 5, stood0, fellBack0, 1, 1)

	// Another store moves the head. The run fused fails at its first
	// statement, which checks the head, and its rollback; it would fail
	// there unfused too, so the first goes again in the next batch (one
	// round trip, from the head this one leaves), and the other two lock
	// the head and go fused.
	other := openDSN(t, dsn)
	other.SetNotary(key)
	if err := other.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: m.ID, Body: "moves the head"}, stamp); err != nil {
		t.Fatal(err)
	}
	stood0, fellBack0 = fused()
	errs, trips = batch([]int64{-1, -1, -1})
	for k, err := range errs {
		if err != nil {
			t.Errorf("counter %d: %v", k, err)
		}
	}
	check("counters after another store's message", trips, 5, stood0, fellBack0, 1, 1)
	checkRecord(t, s, key, tk.ID)
}

// TestCommitWithoutLockTimeout checks that a batch that set lockTimeout,
// because a write of it stood before others, has no lock timeout at its
// COMMIT: a deferred trigger, which fires there, records the setting.
// COMMIT waits for the server-wide lock that every transaction that
// notifies (migration 00013) holds until its commit is durable, and with
// 5 ms to wait the whole batch failed whenever another commit, in any
// database of the server, took longer (TestConcurrentStores, once, under
// the load of the whole test suite).
func TestCommitWithoutLockTimeout(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	s := openDSN(t, dsn)
	u, tk := storetest.NewTalk(t, s)
	tracks, members := storetest.TracksAndMembers(t, s, tk.ID)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE TABLE commit_lock_timeouts (lt text NOT NULL)`,
		`CREATE FUNCTION note_lock_timeout() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO commit_lock_timeouts VALUES (current_setting('lock_timeout'));
			RETURN NULL;
		END $$`,
		`CREATE CONSTRAINT TRIGGER note_lock_timeout AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED
			FOR EACH ROW EXECUTE FUNCTION note_lock_timeout()`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	// Hold the committer until both writes are queued, so that they share
	// the next batch, where the talk's update stands before the message.
	release := holdCommitter(t, s)
	stamp := talks.Stamp{ActorID: u.ID, Time: time.Now()}
	errs := make(chan error, 2)
	title := "Renamed"
	go func() {
		_, err := s.UpdateTalk(ctx, tk.ID, talks.TalkUpdate{Title: &title}, stamp)
		errs <- err
	}()
	for postgres.Queued(s) < 1 {
		time.Sleep(time.Millisecond)
	}
	go func() {
		errs <- s.PostMessage(ctx, &talks.Message{TrackID: tracks[0].ID, AuthorID: members[0].ID, Body: "after"}, stamp)
	}()
	for postgres.Queued(s) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	rows, err := conn.Query(ctx, `SELECT lt FROM commit_lock_timeouts`)
	if err != nil {
		t.Fatal(err)
	}
	seen, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("the deferred trigger saw %d events' commits, want 2 (the update's and the message's)", len(seen))
	}
	for _, lt := range seen {
		if lt != "0" {
			t.Errorf("lock_timeout at COMMIT = %q, want 0", lt)
		}
	}
}

// TestLoneCounterSignsOnce checks that a counter-proposal written alone,
// whose two events go in one round trip, signs one checkpoint, at its
// last event, not one per event; that a lone message still signs one;
// and that the record's checkpoints match its tree.
func TestLoneCounterSignsOnce(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	var tr sends
	s, key := openNotarised(t, db.schema(t), &tr)
	u, tk, ms, track := envoys(t, s, "bo")
	m := ms[0]
	stamp := talks.Stamp{ActorID: u.ID, Time: time.Unix(1700000000, 0)}
	v := &talks.Version{Values: map[string]string{"line": "river"}, AuthorID: m.ID}
	if err := s.CreateProposal(ctx, &talks.Proposal{TrackID: track, Title: "draft", AuthorID: m.ID}, v, stamp); err != nil {
		t.Fatal(err)
	}
	// checkpoints returns the sizes of the talk's checkpoints after size.
	checkpoints := func(after int64) []int64 {
		t.Helper()
		cps, err := s.FindCheckpoints(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int64
		for _, cp := range cps {
			if cp.Size > after {
				sizes = append(sizes, cp.Size)
			}
		}
		return sizes
	}
	head := func() int64 { return talkHead(t, s, tk.ID) }
	parent := v.ID
	for k := range 2 {
		before := head()
		c := &talks.Version{ParentID: parent, Values: map[string]string{"line": fmt.Sprint("ridge ", k)}, AuthorID: m.ID}
		if err := s.ProposeVersion(ctx, c, &talks.Answer{PartyID: m.PartyID, MemberID: m.ID}, stamp); err != nil {
			t.Fatal(err)
		}
		parent = c.ID
		after := head()
		if after != before+2 {
			t.Fatalf("counter %d appended %d events, want 2", k, after-before)
		}
		if got := checkpoints(before); !slices.Equal(got, []int64{after}) {
			t.Errorf("counter %d signed checkpoints of sizes %v, want one, of %d", k, got, after)
		}
	}
	before := head()
	if err := s.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: m.ID, Body: "m"}, stamp); err != nil {
		t.Fatal(err)
	}
	if got := checkpoints(before); !slices.Equal(got, []int64{before + 1}) {
		t.Errorf("the message signed checkpoints of sizes %v, want one, of %d", got, before+1)
	}
	checkRecord(t, s, key, tk.ID)
}
