package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

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
			u := &talks.User{Name: "ada", Email: "ada@example.org"}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
			if err := s.CreateTalk(ctx, tk, talks.Stamp{ActorID: u.ID}); err != nil {
				t.Fatal(err)
			}
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
