package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// testTrackMemberRemoval checks RemoveTrackMember: the member is off the
// track, the log says so, refused calls write nothing, a view taken
// before the removal is stale, and the member can be put back.
func testTrackMemberRemoval(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	head := func() int64 { return talkHead(t, s, f.talk.ID) }
	members := func() []int64 {
		t.Helper()
		tr, err := s.FindTrackByID(ctx, f.back.ID)
		must(t, "FindTrackByID", err)
		return tr.MemberIDs
	}

	before := head()
	must(t, "RemoveTrackMember", s.RemoveTrackMember(ctx, f.back.ID, f.mNorthE.ID, stamp(f.convener.ID, 400)))
	if got, want := members(), []int64{f.mSouthE.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("track members after RemoveTrackMember = %v, want %v", got, want)
	}
	last := lastEvent(t, s, f.talk.ID)
	var p talks.TrackMemberRemoved
	if last.ID != before+1 || last.Type != talks.EventTrackMemberRemoved || last.TrackID != f.back.ID || last.ActorID != f.convener.ID {
		t.Errorf("last event = %d %s on track %d by %d, want %d %s on track %d by %d",
			last.ID, last.Type, last.TrackID, last.ActorID, before+1, talks.EventTrackMemberRemoved, f.back.ID, f.convener.ID)
	} else if err := json.Unmarshal(last.Payload, &p); err != nil || p.MemberID != f.mNorthE.ID {
		t.Errorf("track.member_removed payload %s (%v), want member %d", last.Payload, err, f.mNorthE.ID)
	}

	// A view from before the removal decides nothing any more.
	st := stamp(f.northE.ID, 401)
	st.View = &talks.ViewCheck{Head: before}
	if err := s.PostMessage(ctx, &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: "after leaving"}, st); !errors.Is(err, talks.ErrStaleView) {
		t.Errorf("PostMessage(view before the removal) = %v, want ErrStaleView", err)
	}

	h := head()
	wantCode(t, "RemoveTrackMember(twice)", s.RemoveTrackMember(ctx, f.back.ID, f.mNorthE.ID, stamp(1, 402)), talks.ECONFLICT)
	wantCode(t, "RemoveTrackMember(never on it)", s.RemoveTrackMember(ctx, f.back.ID, f.mNorthP.ID, stamp(1, 402)), talks.ECONFLICT)
	wantCode(t, "RemoveTrackMember(unknown track)", s.RemoveTrackMember(ctx, 9999, f.mSouthE.ID, stamp(1, 402)), talks.ENOTFOUND)
	wantCode(t, "RemoveTrackMember(official)", s.RemoveTrackMember(ctx, f.official.ID, f.mSouthE.ID, stamp(1, 402)), talks.EINVALID)
	if got := head(); got != h {
		t.Errorf("TalkHead after refused removals = %d, want %d", got, h)
	}
	if got, want := members(), []int64{f.mSouthE.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("track members after refused removals = %v, want %v", got, want)
	}

	// The last member leaves; the track stays, empty, and can be joined again.
	must(t, "RemoveTrackMember(last)", s.RemoveTrackMember(ctx, f.back.ID, f.mSouthE.ID, stamp(f.southE.ID, 403)))
	if got := members(); got != nil {
		t.Errorf("track members after the last left = %v, want none", got)
	}
	must(t, "AddTrackMember(again)", s.AddTrackMember(ctx, f.back.ID, f.mNorthE.ID, stamp(f.convener.ID, 404)))
	if got, want := members(), []int64{f.mNorthE.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("track members after joining again = %v, want %v", got, want)
	}
	checkProjection(t, s, f.talk.ID)
}

// talkHead returns the head of talk talkID's log.
func talkHead(t *testing.T, s talks.Store, talkID int64) int64 {
	t.Helper()
	h, err := s.TalkHead(context.Background(), talkID)
	must(t, "TalkHead", err)
	return h
}

// lastEvent returns the last event of talk talkID.
func lastEvent(t *testing.T, s talks.Store, talkID int64) *talks.Event {
	t.Helper()
	evs := events(t, s, talkID)
	if len(evs) == 0 {
		t.Fatalf("talk %d has no events", talkID)
	}
	return evs[len(evs)-1]
}

// facilitatorOf returns the facilitator of talk talkID (its convener's
// membership).
func facilitatorOf(t *testing.T, s talks.Store, talkID int64) *talks.Member {
	t.Helper()
	ms, err := s.FindMembers(context.Background(), talks.MemberFilter{TalkID: talkID})
	must(t, "FindMembers", err)
	for _, m := range ms {
		if m.Role == talks.RoleFacilitator {
			return m
		}
	}
	t.Fatalf("talk %d has no facilitator", talkID)
	return nil
}
