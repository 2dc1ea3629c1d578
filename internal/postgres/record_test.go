package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestHashRuns checks the stored hashes of a talk's tree, kept in runs
// (migration 00017): a batch's hashes of a talk go in one run, a lone
// write's in one per event, and the tree read back is the one the log
// makes. Migrating down to 00016 puts each hash in a row of tlog_hashes
// of its own, and up again each in a run of its own, which the store reads
// and writes after. A talk whose hashes are all gone, as before 00006, has
// them filled in when the store opens.
func TestHashRuns(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	var tr sends
	s, key := openNotarised(t, dsn, &tr)
	u, tk, ms, track := envoys(t, s, "bo")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(table string) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE talk_id = $1`, tk.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	post := func(s *postgres.Store, body string) error {
		return s.PostMessage(ctx, &talks.Message{TrackID: track, AuthorID: ms[0].ID, Body: body}, talks.Stamp{ActorID: u.ID, Time: time.Unix(1700000000, 0)})
	}
	// hashes checks that s's record of the talk holds the tree of its log,
	// and returns how many stored hashes that is.
	hashes := func(s *postgres.Store) int {
		t.Helper()
		rec, err := s.FindRecord(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		tree := new(ledger.Tree)
		for _, e := range rec.Events {
			if _, err := tree.Append(ledger.LeafBytes(e)); err != nil {
				t.Fatal(err)
			}
		}
		idx := make([]int64, tlog.StoredHashCount(tree.Size()))
		for i := range idx {
			idx[i] = int64(i)
		}
		want, err := tree.ReadHashes(idx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Hashes) != len(want) {
			t.Fatalf("%d stored hashes for %d events, want %d", len(rec.Hashes), len(rec.Events), len(want))
		}
		for i := range want {
			if rec.Hashes[i] != want[i] {
				t.Fatalf("stored hash %d is %x, want %x", i, rec.Hashes[i], want[i])
			}
		}
		return len(want)
	}

	if err := post(s, "alone"); err != nil {
		t.Fatal(err)
	}
	runs := count("tlog_hash_runs")
	release := holdCommitter(t, s)
	var wg sync.WaitGroup
	for k := range 5 {
		wg.Go(func() {
			if err := post(s, fmt.Sprint("batched ", k)); err != nil {
				t.Error(err)
			}
		})
		for postgres.Queued(s) < k+1 {
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	wg.Wait()
	if got := count("tlog_hash_runs"); got != runs+1 {
		t.Errorf("a batch of five messages added %d runs, want 1", got-runs)
	}
	n := hashes(s)
	checkRecord(t, s, key, tk.ID)
	s.Close()

	if err := postgres.MigrateTo(ctx, dsn, 16); err != nil {
		t.Fatal(err)
	}
	if got := count("tlog_hashes"); got != n {
		t.Errorf("down to 00016: %d rows of tlog_hashes, want %d", got, n)
	}
	s2 := openDSN(t, dsn) // up again
	s2.SetNotary(key)
	if got := count("tlog_hash_runs"); got != n {
		t.Errorf("up to 00017: %d runs, want %d, one a hash", got, n)
	}
	hashes(s2)
	// Without its frontier, the next write reads the hashes it needs from
	// the runs.
	if _, err := conn.Exec(ctx, `UPDATE event_heads SET frontier = ''::bytea WHERE talk_id = $1`, tk.ID); err != nil {
		t.Fatal(err)
	}
	if err := post(s2, "after the migrations"); err != nil {
		t.Fatal(err)
	}
	hashes(s2)
	checkRecord(t, s2, key, tk.ID)
	s2.Close()

	if _, err := conn.Exec(ctx, `DELETE FROM tlog_hash_runs WHERE talk_id = $1`, tk.ID); err != nil {
		t.Fatal(err)
	}
	s3 := openDSN(t, dsn)
	s3.SetNotary(key)
	if got := count("tlog_hash_runs"); got != 1 {
		t.Errorf("filled in: %d runs, want 1", got)
	}
	hashes(s3)
	checkRecord(t, s3, key, tk.ID)
}
