package storetest

import (
	"context"
	"testing"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/talks"
)

// CarriedThenReopened seeds the demo talk into s, has its envoys agree on
// a back-channel text, Northland's principal carry it into the official
// track, the stakeholder reject it and the facilitator reopen the talk,
// which deletes the hand-off. It returns the talk's ID and the carried
// proposal's, for the stores' tests of migrations that must find the
// carried proposal from the log alone.
func CarriedThenReopened(t *testing.T, s talks.Store) (talkID, carriedID int64) {
	t.Helper()
	ctx := context.Background()
	svc := talks.NewService(s, talks.SystemClock)
	d, err := demo.Seed(ctx, s, svc)
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
	if _, err := s.FindHandoff(ctx, d.Talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Fatalf("FindHandoff after reopening = %v, want ENOTFOUND", err)
	}
	return d.Talk.ID, carried.ID
}

// CheckCarried checks that, of talk talkID's proposals in s, only
// carriedID is marked carried, and that there are at least the demo's,
// the back-channel's and the carried one.
func CheckCarried(t *testing.T, s talks.Store, talkID, carriedID int64) {
	t.Helper()
	ps, err := s.FindProposals(context.Background(), talks.ProposalFilter{TalkID: talkID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 3 {
		t.Fatalf("%d proposals, want the demo's, the back-channel's and the carried one", len(ps))
	}
	for _, p := range ps {
		if p.Carried != (p.ID == carriedID) {
			t.Errorf("proposal %d (%q): carried %v", p.ID, p.Title, p.Carried)
		}
	}
}
