package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// checkMeetings compares a talk's meetings with the fold of its events.
func checkMeetings(t *testing.T, s talks.Store, talkID int64, want *talks.State) {
	t.Helper()
	got, err := s.FindMeetings(context.Background(), talks.MeetingFilter{TalkID: talkID})
	must(t, "FindMeetings", err)
	byID := map[int64]*talks.Meeting{}
	for _, m := range got {
		byID[m.ID] = m
	}
	if len(got) != len(want.Meetings) {
		t.Fatalf("%d meetings projected, fold of events has %d", len(got), len(want.Meetings))
	}
	for _, m := range want.Meetings {
		if !reflect.DeepEqual(byID[m.ID], m) {
			t.Errorf("meeting projection = %+v, fold of events = %+v", byID[m.ID], m)
		}
	}
}

func newMeeting(t *testing.T, s talks.Store, track *talks.Track, by *talks.User, title string, start time.Time, attendees []int64, i int) *talks.Meeting {
	t.Helper()
	m := &talks.Meeting{TrackID: track.ID, Title: title, Place: "Geneva", Start: start, Duration: 90 * time.Minute,
		Attendees: attendees, Agenda: "1. Line\n2. Prisoners"}
	must(t, "CreateMeeting", s.CreateMeeting(context.Background(), m, stamp(by.ID, i)))
	return m
}

func testMeetings(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	at := time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)
	// Scheduled out of order; two start at once, one half a second later
	// (which RFC 3339 text without trailing zeros would misorder).
	late := newMeeting(t, s, f.back, f.northE, "Late", at.Add(2*time.Hour), []int64{f.mSouthE.ID, f.mNorthE.ID, f.mSouthE.ID}, 300)
	half := newMeeting(t, s, f.back, f.northE, "Half", at.Add(500*time.Millisecond), nil, 301)
	first := newMeeting(t, s, f.back, f.southE, "First", at, []int64{f.mNorthE.ID}, 302)
	second := newMeeting(t, s, f.back, f.southE, "Second", at, nil, 303)
	official := newMeeting(t, s, f.official, f.convener, "Plenary", at.Add(time.Hour), []int64{f.mNorthP.ID, f.mSouthP.ID}, 304)

	if late.ID == 0 || late.TalkID != f.talk.ID || late.Status != talks.MeetingStatusScheduled || late.CreatedBy != f.northE.ID ||
		!late.CreatedAt.Equal(talks.Timestamp(stamp(0, 300).Time)) || !late.UpdatedAt.Equal(late.CreatedAt) {
		t.Fatalf("CreateMeeting set %+v", late)
	}
	if want := []int64{f.mNorthE.ID, f.mSouthE.ID}; !reflect.DeepEqual(late.Attendees, want) {
		t.Errorf("CreateMeeting set attendees %v, want sorted %v", late.Attendees, want)
	}
	got, err := s.FindMeetingByID(ctx, late.ID)
	must(t, "FindMeetingByID", err)
	if !reflect.DeepEqual(got, late) {
		t.Errorf("FindMeetingByID() = %+v, want %+v", got, late)
	}
	_, err = s.FindMeetingByID(ctx, 9999)
	wantCode(t, "FindMeetingByID(unknown)", err, talks.ENOTFOUND)

	ids := func(ms []*talks.Meeting) []int64 {
		var a []int64
		for _, m := range ms {
			a = append(a, m.ID)
		}
		return a
	}
	ms, err := s.FindMeetings(ctx, talks.MeetingFilter{TrackID: f.back.ID})
	must(t, "FindMeetings", err)
	if got, want := ids(ms), []int64{first.ID, second.ID, half.ID, late.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("FindMeetings(track) = %v, want %v (by start, then ID)", got, want)
	}
	ms, err = s.FindMeetings(ctx, talks.MeetingFilter{TalkID: f.talk.ID})
	must(t, "FindMeetings", err)
	if got, want := ids(ms), []int64{first.ID, second.ID, half.ID, official.ID, late.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("FindMeetings(talk) = %v, want %v", got, want)
	}
	ms, err = s.FindMeetings(ctx, talks.MeetingFilter{TrackID: 9999})
	must(t, "FindMeetings", err)
	if len(ms) != 0 {
		t.Errorf("FindMeetings(unknown track) = %v, want none", ms)
	}

	evs := events(t, s, f.talk.ID)
	last := evs[len(evs)-1]
	if last.Type != talks.EventMeetingScheduled || last.TrackID != f.official.ID || last.ActorID != f.convener.ID {
		t.Errorf("last event = %s on track %d by %d, want meeting.scheduled on %d by %d", last.Type, last.TrackID, last.ActorID, f.official.ID, f.convener.ID)
	}

	// Failed writes leave nothing behind.
	u := newUser(t, s, "stray")
	other := &talks.Talk{Title: "Other", ConvenerID: u.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(u.ID, 310)))
	otherMembers, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: other.ID})
	must(t, "FindMembers", err)
	before := events(t, s, f.talk.ID)
	bad := &talks.Meeting{TrackID: f.back.ID, Title: "Doomed", Start: at, Duration: time.Hour, Attendees: []int64{f.mNorthE.ID, otherMembers[0].ID}}
	wantCode(t, "CreateMeeting(attendee of another talk)", s.CreateMeeting(ctx, bad, stamp(f.northE.ID, 311)), talks.EINVALID)
	wantCode(t, "CreateMeeting(unknown track)", s.CreateMeeting(ctx, &talks.Meeting{TrackID: 9999, Title: "x", Start: at, Duration: time.Hour}, stamp(1, 312)), talks.ENOTFOUND)
	attendees := []int64{otherMembers[0].ID}
	_, err = s.UpdateMeeting(ctx, late.ID, talks.MeetingUpdate{Attendees: &attendees}, stamp(1, 313))
	wantCode(t, "UpdateMeeting(attendee of another talk)", err, talks.EINVALID)
	if after := events(t, s, f.talk.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("failed meeting writes appended %d events", len(after)-len(before))
	}
	got, err = s.FindMeetingByID(ctx, late.ID)
	must(t, "FindMeetingByID", err)
	if !reflect.DeepEqual(got, late) {
		t.Errorf("after a failed update, meeting = %+v, want %+v", got, late)
	}
	must(t, "VerifyChain", talks.VerifyChain(events(t, s, f.talk.ID)))
	checkProjection(t, s, f.talk.ID)
}

func testMeetingUpdates(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	at := time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)
	m := newMeeting(t, s, f.back, f.northE, "Envoys", at, []int64{f.mNorthE.ID, f.mSouthE.ID}, 400)

	title, place, start, dur := "Envoys, again", "Oslo", at.Add(24*time.Hour+time.Microsecond), 45*time.Minute
	none := []int64{}
	upd, err := s.UpdateMeeting(ctx, m.ID, talks.MeetingUpdate{Title: &title, Place: &place, Start: &start, Duration: &dur, Attendees: &none}, stamp(f.southE.ID, 401))
	must(t, "UpdateMeeting", err)
	want := *m
	want.Title, want.Place, want.Start, want.Duration, want.Attendees = title, place, start, dur, nil
	want.UpdatedAt = talks.Timestamp(stamp(0, 401).Time)
	if !reflect.DeepEqual(upd, &want) {
		t.Errorf("UpdateMeeting() = %+v, want %+v", upd, &want)
	}
	got, err := s.FindMeetingByID(ctx, m.ID)
	must(t, "FindMeetingByID", err)
	if !reflect.DeepEqual(got, upd) {
		t.Errorf("FindMeetingByID() after update = %+v, want %+v", got, upd)
	}
	evs := events(t, s, f.talk.ID)
	if last := evs[len(evs)-1]; last.Type != talks.EventMeetingUpdated || last.TrackID != f.back.ID || last.ActorID != f.southE.ID {
		t.Errorf("last event = %s on track %d by %d, want meeting.updated on %d", last.Type, last.TrackID, last.ActorID, f.back.ID)
	}

	// Held, with minutes and attendance; the minutes may be corrected.
	held, minutes := talks.MeetingStatusHeld, "Agreed to meet again."
	back := []int64{f.mSouthE.ID, f.mNorthE.ID}
	upd, err = s.UpdateMeeting(ctx, m.ID, talks.MeetingUpdate{Status: &held, Minutes: &minutes, Attendees: &back}, stamp(f.northE.ID, 402))
	must(t, "UpdateMeeting(held)", err)
	if upd.Status != held || upd.Minutes != minutes || !reflect.DeepEqual(upd.Attendees, []int64{f.mNorthE.ID, f.mSouthE.ID}) {
		t.Errorf("UpdateMeeting(held) = %+v", upd)
	}
	minutes = "Agreed to meet again in Oslo."
	_, err = s.UpdateMeeting(ctx, m.ID, talks.MeetingUpdate{Minutes: &minutes}, stamp(f.northE.ID, 403))
	must(t, "UpdateMeeting(minutes)", err)

	// The status rule holds in the store too.
	cancelled, scheduled := talks.MeetingStatusCancelled, talks.MeetingStatusScheduled
	_, err = s.UpdateMeeting(ctx, m.ID, talks.MeetingUpdate{Status: &cancelled}, stamp(f.northE.ID, 404))
	wantCode(t, "UpdateMeeting(held to cancelled)", err, talks.ECONFLICT)
	c := newMeeting(t, s, f.official, f.convener, "Plenary", at, nil, 405)
	_, err = s.UpdateMeeting(ctx, c.ID, talks.MeetingUpdate{Minutes: &minutes}, stamp(f.convener.ID, 406))
	wantCode(t, "UpdateMeeting(minutes of a scheduled meeting)", err, talks.ECONFLICT)
	_, err = s.UpdateMeeting(ctx, c.ID, talks.MeetingUpdate{Status: &cancelled}, stamp(f.convener.ID, 407))
	must(t, "UpdateMeeting(cancelled)", err)
	_, err = s.UpdateMeeting(ctx, c.ID, talks.MeetingUpdate{Title: &title}, stamp(f.convener.ID, 408))
	wantCode(t, "UpdateMeeting(title of a cancelled meeting)", err, talks.ECONFLICT)
	later := at.Add(48 * time.Hour)
	upd, err = s.UpdateMeeting(ctx, c.ID, talks.MeetingUpdate{Status: &scheduled, Start: &later}, stamp(f.convener.ID, 409))
	must(t, "UpdateMeeting(rescheduled)", err)
	if upd.Status != scheduled || !upd.Start.Equal(later) {
		t.Errorf("UpdateMeeting(rescheduled) = %+v", upd)
	}
	_, err = s.UpdateMeeting(ctx, 9999, talks.MeetingUpdate{Title: &title}, stamp(1, 410))
	wantCode(t, "UpdateMeeting(unknown)", err, talks.ENOTFOUND)

	must(t, "VerifyChain", talks.VerifyChain(events(t, s, f.talk.ID)))
	checkProjection(t, s, f.talk.ID)
}

// testConcurrentMeetingUpdates holds and cancels each of several meetings
// at once: exactly one of the two wins, the other is ECONFLICT, and the log
// and projections agree.
func testConcurrentMeetingUpdates(t *testing.T, s talks.Store) {
	f := newFixture(t, s)
	at := time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)
	const n = 8
	var ms []*talks.Meeting
	for i := range n {
		ms = append(ms, newMeeting(t, s, f.back, f.northE, "Race", at.Add(time.Duration(i)*time.Hour), nil, 500+i))
	}
	held, cancelled := talks.MeetingStatusHeld, talks.MeetingStatusCancelled
	var wg sync.WaitGroup
	errs := make([][2]error, n)
	for i, m := range ms {
		for j, st := range []*talks.MeetingStatus{&held, &cancelled} {
			wg.Go(func() {
				_, errs[i][j] = s.UpdateMeeting(context.Background(), m.ID, talks.MeetingUpdate{Status: st}, stamp(f.northE.ID, 600+i))
			})
		}
	}
	wg.Wait()
	for i, e := range errs {
		ok := 0
		for _, err := range e {
			if err == nil {
				ok++
			} else if talks.ErrorCode(err) != talks.ECONFLICT {
				t.Errorf("meeting %d: UpdateMeeting: %v, want nil or ECONFLICT", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("meeting %d: %d of held and cancelled succeeded, want exactly 1 (%v)", i, ok, e)
		}
	}
	must(t, "VerifyChain", talks.VerifyChain(events(t, s, f.talk.ID)))
	checkProjection(t, s, f.talk.ID)
}
