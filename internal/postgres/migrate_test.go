package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/storetest"
)

// TestMigration00020Carried runs migration 00020 over a talk whose
// back-channel agreement was carried into the official track and then
// undone by a reopening, which took the hand-off with it: the migration
// finds the carried proposal from the log's proposal.carried, and marks
// no other.
func TestMigration00020Carried(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	st := openDSN(t, dsn)
	talkID, carriedID := storetest.CarriedThenReopened(t, st)
	st.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"ALTER TABLE proposals DROP COLUMN carried", "DELETE FROM goose_db_version WHERE version_id = 20"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	storetest.CheckCarried(t, openDSN(t, dsn), talkID, carriedID)
}
