package talks_test

import (
	"slices"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestRemoveMember checks that a member taken off a talk, through another
// Service, no longer sees it, even with a view this Service kept from
// before; that it is on no track and out of the member list, but still
// named for what it wrote; that its principal loses the back-channel it
// saw through it, unless the member was alone on it (then the principal
// is put on it); and that added again it is the same member.
func TestRemoveMember(t *testing.T) {
	w := newWorld(t)
	other := talks.NewService(w.store, nil) // another process, say
	ne := w.members["NE"].ID

	mustOK(t, "PostMessage(NE)", w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "before"}))
	mustOK(t, "RemoveMember(NE)", other.RemoveMember(w.as("NP"), w.talk.ID, ne))

	wantCode(t, "PostMessage(NE) after", w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.official.ID, Body: "after"}), talks.ENOTFOUND)
	_, err := w.svc.FindTalkByID(w.as("NE"), w.talk.ID)
	wantCode(t, "FindTalkByID(NE) after", err, talks.ENOTFOUND)
	_, err = w.svc.FindEvents(w.as("NE"), talks.EventFilter{TalkID: w.talk.ID})
	wantCode(t, "FindEvents(NE) after", err, talks.ENOTFOUND)
	list, err := w.svc.FindTalks(w.as("NE"), talks.TalkFilter{})
	mustOK(t, "FindTalks(NE)", err)
	if slices.ContainsFunc(list, func(tk *talks.Talk) bool { return tk.ID == w.talk.ID }) {
		t.Error("FindTalks(NE) after the removal lists the talk")
	}

	ms, err := w.svc.FindMembers(w.as("SE"), w.talk.ID)
	mustOK(t, "FindMembers(SE)", err)
	if slices.ContainsFunc(ms, func(m *talks.Member) bool { return m.ID == ne }) {
		t.Error("FindMembers after the removal lists NE")
	}
	tr, err := w.svc.FindTrackByID(w.as("SE"), w.envoys.ID)
	mustOK(t, "FindTrackByID(SE)", err)
	if slices.Contains(tr.MemberIDs, ne) {
		t.Errorf("the envoys' track after the removal has members %v, NE among them", tr.MemberIDs)
	}
	names, err := w.svc.MemberNames(w.as("SE"), w.talk.ID)
	mustOK(t, "MemberNames(SE)", err)
	if names[ne] != "NE" {
		t.Errorf("MemberNames()[NE] = %q, want NE, the author of earlier messages", names[ne])
	}
	// NE was the North's only member on the envoys' track.
	_, err = w.svc.FindTrackByID(w.as("NP"), w.envoys.ID)
	wantCode(t, "FindTrackByID(NP, envoys)", err, talks.ENOTFOUND)
	wantCode(t, "AddTrackMember(NE, removed)", w.svc.AddTrackMember(w.as("SP"), w.envoys.ID, ne), talks.EINVALID)

	// A member leaves by itself.
	mustOK(t, "RemoveMember(SA leaves)", w.svc.RemoveMember(w.as("SA"), w.talk.ID, w.members["SA"].ID))
	_, err = w.svc.FindTalkByID(w.as("SA"), w.talk.ID)
	wantCode(t, "FindTalkByID(SA) after leaving", err, talks.ENOTFOUND)

	// NA, alone on the North's own back-channel, leaves: NP, who saw it
	// through NA, is put on it, and sees it and what NA wrote there.
	mustOK(t, "PostMessage(NA)", w.svc.PostMessage(w.as("NA"), &talks.Message{TrackID: w.northBC.ID, Body: "for the North"}))
	mustOK(t, "RemoveMember(NA leaves)", w.svc.RemoveMember(w.as("NA"), w.talk.ID, w.members["NA"].ID))
	tr, err = w.svc.FindTrackByID(w.as("NP"), w.northBC.ID)
	mustOK(t, "FindTrackByID(NP, North only)", err)
	if want := []int64{w.members["NP"].ID}; !slices.Equal(tr.MemberIDs, want) {
		t.Errorf("the North's back-channel after NA left has members %v, want %v (NP)", tr.MemberIDs, want)
	}
	msgs, err := w.svc.FindMessages(w.as("NP"), talks.MessageFilter{TrackID: w.northBC.ID})
	mustOK(t, "FindMessages(NP, North only)", err)
	if len(msgs) == 0 || msgs[len(msgs)-1].Body != "for the North" {
		t.Errorf("FindMessages(NP, North only) ends %v, want NA's message last", msgs)
	}
	_, err = w.svc.FindTrackByID(w.as("SP"), w.northBC.ID)
	wantCode(t, "FindTrackByID(SP, North only)", err, talks.ENOTFOUND)

	// Added again: the same member, which sees the talk at once.
	m := &talks.Member{TalkID: w.talk.ID, UserID: w.users["NE"].ID, PartyID: w.north.ID, Role: talks.RoleAdvisor}
	mustOK(t, "AddMember(NE again)", other.AddMember(w.as("NP"), m))
	if m.ID != ne {
		t.Errorf("AddMember(NE again) gave member %d, want %d", m.ID, ne)
	}
	v, err := w.svc.View(w.as("NE"), w.talk.ID)
	mustOK(t, "View(NE again)", err)
	if v.Member.ID != ne || v.Member.Role != talks.RoleAdvisor {
		t.Errorf("View(NE again).Member = %+v, want member %d, an advisor", v.Member, ne)
	}
}
