package talks_test

import (
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestChangeMemberRole checks that what a member may see and do follows
// its role at once: an envoy made an observer through another Service no
// longer posts, even with a view this Service kept from before; an advisor
// made principal sees the back-channels of its party's members, and not
// once it steps down.
func TestChangeMemberRole(t *testing.T) {
	w := newWorld(t)
	other := talks.NewService(w.store, nil) // another process, say
	post := func(name string) error {
		return w.svc.PostMessage(w.as(name), &talks.Message{TrackID: w.envoys.ID, Body: "from " + name})
	}

	mustOK(t, "PostMessage(SE)", post("SE")) // this Service keeps its view
	m, err := other.ChangeMemberRole(w.as("SP"), w.talk.ID, w.members["SE"].ID, talks.RoleObserver)
	mustOK(t, "ChangeMemberRole(SE observer)", err)
	if m.ID != w.members["SE"].ID || m.Role != talks.RoleObserver {
		t.Errorf("ChangeMemberRole returned %+v, want SE as an observer", m)
	}
	wantCode(t, "PostMessage(SE, observer)", post("SE"), talks.EFORBIDDEN)
	_, err = w.svc.ChangeMemberRole(w.as("SP"), w.talk.ID, w.members["SE"].ID, talks.RoleEnvoy)
	mustOK(t, "ChangeMemberRole(SE envoy)", err)
	mustOK(t, "PostMessage(SE, envoy again)", post("SE"))

	_, err = w.svc.FindTrackByID(w.as("NA"), w.envoys.ID)
	wantCode(t, "FindTrackByID(NA, advisor)", err, talks.ENOTFOUND)
	_, err = w.svc.ChangeMemberRole(w.as("NP"), w.talk.ID, w.members["NA"].ID, talks.RolePrincipal)
	mustOK(t, "ChangeMemberRole(NA principal)", err)
	if _, err := w.svc.FindTrackByID(w.as("NA"), w.envoys.ID); err != nil {
		t.Errorf("FindTrackByID(NA, principal) = %v, want the envoys' track (NE is on it)", err)
	}
	// Now the North has two principals: NP may step down, and NA may not.
	// The invitation NP made as principal goes with its role.
	inv, err := w.svc.CreateInvitation(w.as("NP"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleEnvoy})
	mustOK(t, "CreateInvitation(NP)", err)
	_, err = w.svc.ChangeMemberRole(w.as("NP"), w.talk.ID, w.members["NP"].ID, talks.RoleAdvisor)
	mustOK(t, "ChangeMemberRole(NP steps down)", err)
	_, err = w.svc.AcceptInvitation(w.as("O"), inv.Token)
	wantCode(t, "AcceptInvitation(made by NP as principal)", err, talks.ECONFLICT)
	if _, err := w.svc.FindTalkByID(w.as("O"), w.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("FindTalkByID(O) after the refused invitation = %v, want ENOTFOUND", err)
	}
	_, err = w.svc.FindTrackByID(w.as("NP"), w.envoys.ID)
	wantCode(t, "FindTrackByID(NP, advisor)", err, talks.ENOTFOUND)
	_, err = w.svc.ChangeMemberRole(w.as("NA"), w.talk.ID, w.members["NA"].ID, talks.RoleAdvisor)
	wantCode(t, "ChangeMemberRole(the last principal steps down)", err, talks.ECONFLICT)
	// NP, an advisor now, may change no one's role.
	_, err = w.svc.ChangeMemberRole(w.as("NP"), w.talk.ID, w.members["NE"].ID, talks.RoleObserver)
	wantCode(t, "ChangeMemberRole(by an advisor)", err, talks.EFORBIDDEN)
}
