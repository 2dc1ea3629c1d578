package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/storetest"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestGroupCommit queues many writes while the committer is busy, so that
// they share one transaction, and checks that a write that fails after
// writing rows and appending events is undone alone, that a write whose ctx
// ends while queued is not run, and that a panic reaches its own caller.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "bc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, tk := storetest.NewTalk(t, s)
	// What OnAppend reports must be exactly the events stored after the
	// talk's, in order: none of a failed write.
	var reported []*talks.Event
	var commits int
	s.OnAppend(func(evs []*talks.Event) {
		reported = append(reported, evs...) // the committer calls it, one commit at a time
		commits++
	})

	// Hold the committer until every write below is queued.
	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.update(ctx, func(ctx context.Context, tx *txn) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	queued := func(n int) bool {
		s.commits.mu.Lock()
		defer s.commits.mu.Unlock()
		return len(s.commits.queue) >= n
	}

	const n = 60
	errBoom := errors.New("boom")
	errs := make([]error, n)
	panics := make([]any, n)
	cancelled, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			wctx := ctx
			if i%5 == 4 {
				wctx = cancelled
			}
			errs[i] = s.update(wctx, func(ctx context.Context, tx *txn) error {
				// Write a row and an event, then fail on every third.
				if _, err := tx.ExecContext(ctx, `INSERT INTO parties (talk_id, name) VALUES ($1, $2)`, tk.ID, fmt.Sprintf("p%d", i)); err != nil {
					return err
				}
				if err := record(ctx, tx, tk.ID, 0, talks.EventPartyAdded, talks.Stamp{ActorID: u.ID}, talks.PartyAdded{Name: fmt.Sprintf("p%d", i)}); err != nil {
					return err
				}
				switch {
				case i == 7:
					panic("write 7 panics")
				case i%3 == 0:
					return errBoom
				}
				return nil
			})
		}()
	}
	for !queued(n) {
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
		case i%3 == 0:
			if !errors.Is(errs[i], errBoom) {
				t.Errorf("write %d = %v, want errBoom", i, errs[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("write %d = %v (panic %v), want nil", i, errs[i], panics[i])
			}
			good[fmt.Sprintf("p%d", i)] = true
		}
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
	evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := talks.VerifyChain(evs); err != nil {
		t.Errorf("VerifyChain: %v", err)
	}
	if want := 3 + len(good); len(evs) != want {
		t.Errorf("%d events, want %d", len(evs), want)
	}
	s.OnAppend(nil)
	if len(reported) != len(evs)-3 {
		t.Fatalf("OnAppend reported %d events in %d commits, want the %d stored", len(reported), commits, len(evs)-3)
	}
	for i, e := range reported {
		if want := evs[3+i]; e.ID != want.ID || e.Hash != want.Hash || string(e.Payload) != string(want.Payload) {
			t.Errorf("reported event %d = %d %x, stored %d %x", i, e.ID, e.Hash, want.ID, want.Hash)
		}
	}
	if commits != 1 {
		t.Errorf("OnAppend called %d times, want once: for the batch, and not for the held write, which appended nothing", commits)
	}
}

// TestCloseDrains checks that Close lets queued writes commit and that
// writes after it fail.
func TestCloseDrains(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bc.db")
	s, err := Open(ctx, path)
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
		} else if !errors.Is(err, errClosed) {
			t.Errorf("CreateUser during Close = %v, want nil or errClosed", err)
		}
	}
	if err := s.CreateUser(ctx, &talks.User{Name: "late", Email: "late@example.org"}); !errors.Is(err, errClosed) {
		t.Errorf("CreateUser after Close = %v, want errClosed", err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stored int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != ok {
		t.Errorf("%d users stored, %d writes acknowledged", stored, ok)
	}
}
