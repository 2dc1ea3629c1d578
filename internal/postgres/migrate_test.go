package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/talks"
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
	svc := talks.NewService(st, talks.SystemClock)
	d, err := demo.Seed(ctx, st, svc)
	if err != nil {
		t.Fatal(err)
	}
	v := &talks.Version{Values: d.Counter.Values}
	if err := svc.CreateProposal(d.As(ctx, "n.envoy1"), &talks.Proposal{TrackID: d.Back.ID, Title: "Quiet text"}, v); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"n.envoy1", "s.envoy2"} {
		if err := svc.AnswerVersion(d.As(ctx, key), &talks.Answer{VersionID: v.ID, Kind: talks.AnswerAccept}); err != nil {
			t.Fatal(err)
		}
	}
	carried, err := svc.CarryAgreement(d.As(ctx, "n.principal"), d.Talk.ID, "Carried text")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Ratify(d.As(ctx, "stakeholder"), d.Talk.ID, talks.DecisionReject, "Not that line."); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ReopenTalk(d.As(ctx, "facilitator"), d.Talk.ID); err != nil {
		t.Fatal(err)
	}
	st.Close()

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var handoffs int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM handoffs").Scan(&handoffs); err != nil || handoffs != 0 {
		t.Fatalf("hand-offs after reopening: %d, %v", handoffs, err)
	}
	for _, q := range []string{"ALTER TABLE proposals DROP COLUMN carried", "DELETE FROM goose_db_version WHERE version_id = 20"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st = openDSN(t, dsn)
	ps, err := st.FindProposals(ctx, talks.ProposalFilter{TalkID: d.Talk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 3 {
		t.Fatalf("%d proposals, want the demo's, the back-channel's and the carried one", len(ps))
	}
	for _, p := range ps {
		if p.Carried != (p.ID == carried.ID) {
			t.Errorf("proposal %d (%q) after 00020: carried %v", p.ID, p.Title, p.Carried)
		}
	}
}
