package talks_test

import (
	"context"
	"testing"

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
