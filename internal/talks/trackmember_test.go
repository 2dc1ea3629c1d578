package talks_test

import (
	"slices"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestRemoveTrackMember checks that a member taken off a back-channel no
// longer sees it, nor its past, nor does its principal once no one of its
// party is on it; that a write decided by a view kept from before the
// removal, in another Service over the same store, is refused; and that
// those still on it see the removal.
func TestRemoveTrackMember(t *testing.T) {
	w := newWorld(t)
	other := talks.NewService(w.store, nil) // another process, say
	envoyEvents := func(name string) int {
		t.Helper()
		evs, err := w.svc.FindEvents(w.as(name), talks.EventFilter{TalkID: w.talk.ID})
		mustOK(t, "FindEvents("+name+")", err)
		n := 0
		for _, e := range evs {
			if e.TrackID == w.envoys.ID {
				n++
			}
		}
		return n
	}

	// NE writes, so that this Service keeps its view of the talk.
	mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "before"}))
	if envoyEvents("NE") == 0 || envoyEvents("NP") == 0 {
		t.Fatal("NE and NP see no event of the envoys' track before the removal")
	}

	// NP takes NE, the North's only member on it, off the envoys' track,
	// through the other Service.
	mustOK(t, "RemoveTrackMember", other.RemoveTrackMember(w.as("NP"), w.envoys.ID, w.members["NE"].ID))

	err := w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "after"})
	wantCode(t, "PostMessage(NE) after the removal", err, talks.ENOTFOUND)
	for _, n := range []string{"NE", "NP"} {
		_, err := w.svc.FindTrackByID(w.as(n), w.envoys.ID)
		wantCode(t, "FindTrackByID("+n+") after the removal", err, talks.ENOTFOUND)
		_, err = w.svc.FindMessages(w.as(n), talks.MessageFilter{TrackID: w.envoys.ID})
		wantCode(t, "FindMessages("+n+") after the removal", err, talks.ENOTFOUND)
		tracks, err := w.svc.FindTracks(w.as(n), w.talk.ID)
		mustOK(t, "FindTracks("+n+")", err)
		if slices.ContainsFunc(tracks, func(tr *talks.Track) bool { return tr.ID == w.envoys.ID }) {
			t.Errorf("FindTracks(%s) after the removal lists the envoys' track", n)
		}
		if got := envoyEvents(n); got != 0 {
			t.Errorf("FindEvents(%s) after the removal has %d events of the envoys' track, want 0", n, got)
		}
	}

	// Those still on it, and their principal, see it and the removal.
	for _, n := range []string{"SE", "SP"} {
		tr, err := w.svc.FindTrackByID(w.as(n), w.envoys.ID)
		mustOK(t, "FindTrackByID("+n+")", err)
		if want := []int64{w.members["SE"].ID}; !slices.Equal(tr.MemberIDs, want) {
			t.Errorf("envoys' members as %s = %v, want %v", n, tr.MemberIDs, want)
		}
		evs, err := w.svc.FindEvents(w.as(n), talks.EventFilter{TalkID: w.talk.ID, Type: talks.EventTrackMemberRemoved})
		mustOK(t, "FindEvents("+n+")", err)
		if len(evs) != 1 || evs[0].TrackID != w.envoys.ID {
			t.Errorf("track.member_removed events as %s = %v, want one on the envoys' track", n, evs)
		}
	}
	msgs, err := w.svc.FindMessages(w.as("SE"), talks.MessageFilter{TrackID: w.envoys.ID})
	mustOK(t, "FindMessages(SE)", err)
	if slices.ContainsFunc(msgs, func(m *talks.Message) bool { return m.Body == "after" }) {
		t.Error("the message NE wrote after its removal is on the track")
	}

	// SE, the last one on it, may not leave: no one would see the track.
	err = w.svc.RemoveTrackMember(w.as("SE"), w.envoys.ID, w.members["SE"].ID)
	wantCode(t, "RemoveTrackMember(the last member leaves)", err, talks.ECONFLICT)
	// With SA on it, SE may; SA, taken off and put back, sees its past again.
	mustOK(t, "AddTrackMember(SA)", w.svc.AddTrackMember(w.as("SP"), w.envoys.ID, w.members["SA"].ID))
	mustOK(t, "RemoveTrackMember(SE leaves)", w.svc.RemoveTrackMember(w.as("SE"), w.envoys.ID, w.members["SE"].ID))
	_, err = w.svc.FindTrackByID(w.as("SE"), w.envoys.ID)
	wantCode(t, "FindTrackByID(SE) after leaving", err, talks.ENOTFOUND)
	mustOK(t, "AddTrackMember(SE again)", w.svc.AddTrackMember(w.as("SP"), w.envoys.ID, w.members["SE"].ID))
	if got := envoyEvents("SE"); got == 0 {
		t.Error("SE, put back on the envoys' track, sees none of its events")
	}
}
