package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/storetest"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestMigration00010KeepsData runs migration 00010, which rebuilds the
// talks table to allow the status ratified, over a database with a talk in
// it: the talk and every reference to it survive, and the status check
// admits ratified.
func TestMigration00010KeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bc.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := demo.Seed(ctx, st, talks.NewService(st, talks.SystemClock))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Undo 00016 to 00010 by hand (00010's Down keeps the
	// rebuilt talks table), then let Open apply them again over the seeded
	// talk.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"ALTER TABLE proposals DROP COLUMN carried", "DELETE FROM goose_db_version WHERE version_id = 16",
		"ALTER TABLE members DROP COLUMN removed", "DELETE FROM goose_db_version WHERE version_id = 15",
		"DROP TABLE login_tokens", "DELETE FROM goose_db_version WHERE version_id = 14",
		"DROP INDEX answers_version_id", "CREATE INDEX answers_proposal_id ON answers (proposal_id, id)", "DELETE FROM goose_db_version WHERE version_id = 13",
		"CREATE INDEX versions_proposal_id ON versions (proposal_id, id)", "DELETE FROM goose_db_version WHERE version_id = 12",
		"DROP TABLE client_signatures", "DROP TABLE signer_keys", "DELETE FROM goose_db_version WHERE version_id = 11",
		"DROP TABLE red_lines", "DROP TABLE stakeholders", "DELETE FROM goose_db_version WHERE version_id = 10"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	defer st.Close()
	tk, err := st.FindTalkByID(ctx, d.Talk.ID)
	if err != nil || tk.Title != d.Talk.Title || tk.Space == nil {
		t.Fatalf("FindTalkByID after 00010 = %+v, %v", tk, err)
	}
	rows, err := db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign key violations after 00010")
	}
	rows.Close()
	var integrity string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v", integrity, err)
	}
	if _, err := db.Exec("UPDATE talks SET status = 'ratified' WHERE id = ?", d.Talk.ID); err != nil {
		t.Errorf("status ratified after 00010: %v", err)
	}
	if _, err := db.Exec("UPDATE talks SET status = 'bogus' WHERE id = ?", d.Talk.ID); err == nil {
		t.Error("status bogus accepted after 00010")
	}
}

// TestMigration00016Carried runs migration 00016 over a talk whose
// back-channel agreement was carried into the official track and then
// undone by a reopening, which took the hand-off with it: the migration
// finds the carried proposal from the log's proposal.carried, and marks
// no other.
func TestMigration00016Carried(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bc.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	talkID, carriedID := storetest.CarriedThenReopened(t, st)
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"ALTER TABLE proposals DROP COLUMN carried", "DELETE FROM goose_db_version WHERE version_id = 16"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	defer st.Close()
	storetest.CheckCarried(t, st, talkID, carriedID)
}
