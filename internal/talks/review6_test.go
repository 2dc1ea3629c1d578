package talks_test

import (
	"context"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestStakeholderInvariants runs, on each backend, the rules that keep a
// stakeholder away from the table and ratification honest, on the paths
// that went around them:
//
//   - a stakeholder who accepts an invitation to the talk would become a
//     member (every track, the text before ratification) and stay a
//     stakeholder: refused, ECONFLICT, as AddMember refuses it;
//   - a stakeholder attached to a ratified talk would leave it ratified
//     without having ratified: refused, ECONFLICT.
func TestStakeholderInvariants(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) { testStakeholderInvariants(t, open(t)) })
	}
}

func testStakeholderInvariants(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	ctx := context.Background()
	for _, n := range []string{"K", "L"} {
		u := &talks.User{Name: n, Email: n + "@example.org"}
		mustOK(t, "CreateUser", st.CreateUser(ctx, u))
		d.users[n] = u
	}
	_, err := d.svc.AddStakeholder(d.as("F"), d.talk.ID, d.users["K"].ID)
	mustOK(t, "AddStakeholder", err)

	inv, err := d.svc.CreateInvitation(d.as("F"), &talks.Invitation{TalkID: d.talk.ID, PartyID: d.north.ID, Role: talks.RoleObserver})
	mustOK(t, "CreateInvitation", err)
	if m, err := d.svc.AcceptInvitation(d.as("K"), inv.Token); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("AcceptInvitation as a stakeholder = %+v, %v, want ECONFLICT", m, err)
	}
	if _, err := d.svc.View(d.as("K"), d.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("View as the stakeholder after the invitation = %v, want ENOTFOUND (not at the table)", err)
	}

	// Agree and ratify; then no stakeholder joins a ratified talk.
	mustOK(t, "AnswerVersion", d.svc.AnswerVersion(d.as("SP"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept}))
	mustOK(t, "AnswerVersion", d.svc.AnswerVersion(d.as("NP"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept}))
	mustOK(t, "Ratify", d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionRatify, ""))
	if _, err := d.svc.AddStakeholder(d.as("F"), d.talk.ID, d.users["L"].ID); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("AddStakeholder to a ratified talk = %v, want ECONFLICT", err)
	}
	// The store refuses it too, in its write, so that it cannot overtake
	// the last ratification.
	if err := st.AddStakeholder(ctx, &talks.Stakeholder{TalkID: d.talk.ID, UserID: d.users["L"].ID},
		talks.Stamp{ActorID: d.users["F"].ID, Time: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("Store.AddStakeholder to a ratified talk = %v, want ECONFLICT", err)
	}
	sts, err := d.svc.FindStakeholders(d.as("SO"), d.talk.ID)
	mustOK(t, "FindStakeholders", err)
	tk, err := d.svc.FindTalkByID(d.as("SO"), d.talk.ID)
	mustOK(t, "FindTalkByID", err)
	for _, s := range sts {
		if tk.Status == talks.StatusRatified && s.Decision != talks.DecisionRatify {
			t.Errorf("talk %s, but stakeholder %d has decided %q", tk.Status, s.UserID, s.Decision)
		}
	}
}

// TestHandoffAfterRatification runs on each backend: the stakeholders
// ratify a back-channel agreement, then a principal carries it into the
// official track. The carried text must still take the parties' answers
// (else the official track can never hold the agreement), and the talk
// stays ratified: the text the stakeholders ratified is the text carried.
func TestHandoffAfterRatification(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) { testHandoffAfterRatification(t, open(t)) })
	}
}

func testHandoffAfterRatification(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	ctx := context.Background()
	k := &talks.User{Name: "K", Email: "k@example.org"}
	mustOK(t, "CreateUser", st.CreateUser(ctx, k))
	d.users["K"] = k
	ms, err := d.svc.FindMembers(d.as("F"), d.talk.ID)
	mustOK(t, "FindMembers", err)
	member := map[int64]int64{} // user ID → member ID
	for _, m := range ms {
		member[m.UserID] = m.ID
	}
	bc := &talks.Track{TalkID: d.talk.ID, Name: "envoys", Kind: talks.TrackBackchannel,
		MemberIDs: []int64{member[d.users["NE"].ID], member[d.users["SE"].ID]}}
	mustOK(t, "CreateTrack", d.svc.CreateTrack(d.as("F"), bc))
	p := &talks.Proposal{TrackID: bc.ID, Title: "Quiet deal"}
	v := &talks.Version{Values: map[string]string{"line": "ridge", "water": "shared", "troops": "5000"}, Rationale: "secret"}
	mustOK(t, "CreateProposal", d.svc.CreateProposal(d.as("NE"), p, v))
	for _, u := range []string{"NE", "SE"} {
		mustOK(t, "AnswerVersion "+u, d.svc.AnswerVersion(d.as(u), &talks.Answer{VersionID: v.ID, Kind: talks.AnswerAccept}))
	}
	_, err = d.svc.AddStakeholder(d.as("F"), d.talk.ID, k.ID)
	mustOK(t, "AddStakeholder", err)
	// The stakeholder, on no track, gets the agreed text: values and
	// clauses, not the back-channel's rationale, author or lineage.
	_, agreed, err := d.svc.AgreementForRatification(d.as("K"), d.talk.ID)
	mustOK(t, "AgreementForRatification", err)
	if agreed.Values["line"] != "ridge" || agreed.Rationale != "" || agreed.AuthorID != 0 || agreed.ParentID != 0 {
		t.Errorf("AgreementForRatification gives the stakeholder %+v; want the text only", agreed)
	}
	mustOK(t, "Ratify", d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionRatify, ""))

	carried, err := d.svc.CarryAgreement(d.as("NP"), d.talk.ID, "Carried text")
	mustOK(t, "CarryAgreement", err)
	vs, err := d.svc.FindVersions(d.as("NA"), talks.VersionFilter{ProposalID: carried.ID})
	mustOK(t, "FindVersions", err)
	for _, u := range []string{"NE", "SP"} {
		if err := d.svc.AnswerVersion(d.as(u), &talks.Answer{VersionID: vs[0].ID, Kind: talks.AnswerAccept}); err != nil {
			t.Fatalf("AnswerVersion of the carried text by %s on a ratified talk = %v, want nil", u, err)
		}
	}
	ag, err := d.svc.FindAgreement(d.as("NA"), d.talk.ID)
	if err != nil || ag.ProposalID != carried.ID {
		t.Errorf("agreement after both accept the carried text = %+v, %v; want the official one", ag, err)
	}
	tk, err := d.svc.FindTalkByID(d.as("NA"), d.talk.ID)
	mustOK(t, "FindTalkByID", err)
	if tk.Status != talks.StatusRatified {
		t.Errorf("talk status %s, want ratified (still)", tk.Status)
	}
	evs, err := st.FindEvents(ctx, talks.EventFilter{TalkID: d.talk.ID})
	mustOK(t, "FindEvents", err)
	state, err := talks.Project(evs)
	mustOK(t, "Project", err)
	if state.Talk.Status != talks.StatusRatified {
		t.Errorf("Project: status %s, want ratified", state.Talk.Status)
	}
}

// TestWithdrawOnClosedTalk: a closed talk's text no longer changes, and
// neither do its answers: a withdrawal is refused as an answer is.
func TestWithdrawOnClosedTalk(t *testing.T) {
	w := newTextWorld(t)
	if _, err := w.svc.UpdateTalk(w.as("F"), w.talk.ID, talks.TalkUpdate{Status: ptr(talks.StatusClosed)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.WithdrawAnswer(w.as("NE"), w.envAccept.ID); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("WithdrawAnswer on a closed talk = %v, want ECONFLICT", err)
	}
	if err := w.svc.AnswerVersion(w.as("SE"), &talks.Answer{VersionID: w.envV1.ID, Kind: talks.AnswerReject}); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("AnswerVersion on a closed talk = %v, want ECONFLICT", err)
	}
}
