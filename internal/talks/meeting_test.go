package talks_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// meetingWorld is the world of service_test.go with an observer NO of the
// north and a scheduled meeting in each track: offMeet (official, by F),
// envMeet (envoys, by NE) and northMeet (north, by NA).
type meetingWorld struct {
	*world
	offMeet, envMeet, northMeet *talks.Meeting
}

var meetAt = time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)

func newMeetingWorld(t *testing.T) *meetingWorld {
	t.Helper()
	w := &meetingWorld{world: newWorld(t)}
	u := &talks.User{Name: "NO", Email: "NO@example.org"}
	mustOK(t, "CreateUser", w.store.CreateUser(context.Background(), u))
	w.users["NO"] = u
	m := &talks.Member{TalkID: w.talk.ID, UserID: u.ID, PartyID: w.north.ID, Role: talks.RoleObserver}
	mustOK(t, "AddMember NO", w.svc.AddMember(w.as("NP"), m))
	w.members["NO"] = m
	schedule := func(by string, track *talks.Track, title string, start time.Time, attendees ...string) *talks.Meeting {
		mt := &talks.Meeting{TrackID: track.ID, Title: title, Place: "Geneva", Start: start, Duration: time.Hour, Agenda: "Next steps"}
		for _, a := range attendees {
			mt.Attendees = append(mt.Attendees, w.members[a].ID)
		}
		mustOK(t, "ScheduleMeeting by "+by, w.svc.ScheduleMeeting(w.as(by), mt))
		return mt
	}
	w.offMeet = schedule("F", w.official, "Plenary", meetAt.Add(2*time.Hour), "F", "NP", "SP")
	w.envMeet = schedule("NE", w.envoys, "Envoys' lunch", meetAt, "NE", "SE")
	w.northMeet = schedule("NA", w.northBC, "North huddle", meetAt.Add(time.Hour), "NA")
	return w
}

// TestMeetingAccess runs every meeting method of Service as every user:
// what is in a track a user may not see answers ENOTFOUND, reading exactly
// like what does not exist; who sees a track but may not post in it (a
// principal through its envoy, an observer) gets EFORBIDDEN.
func TestMeetingAccess(t *testing.T) {
	users := append(slices.Clone(everyone), "NO")
	members := []string{"F", "NP", "NE", "NA", "SP", "SE", "SA", "NO"}
	notFound := func(except ...string) map[string]string {
		m := map[string]string{"": talks.EUNAUTHORIZED}
		for _, u := range users {
			if u != "" && !slices.Contains(except, u) {
				m[u] = talks.ENOTFOUND
			}
		}
		return m
	}
	with := func(m map[string]string, code string, users ...string) map[string]string {
		for _, u := range users {
			m[u] = code
		}
		return m
	}
	sees := func(a []string, more ...string) []string { return append(slices.Clone(a), more...) }
	title := "Renamed"
	ops := []struct {
		name string
		do   func(ctx context.Context, w *meetingWorld) error
		want map[string]string
	}{
		{"ScheduleMeeting official", func(ctx context.Context, w *meetingWorld) error {
			return w.svc.ScheduleMeeting(ctx, &talks.Meeting{TrackID: w.official.ID, Title: "x", Start: meetAt, Duration: time.Hour})
		}, with(notFound(members...), talks.EFORBIDDEN, "NO")},
		{"ScheduleMeeting envoys", func(ctx context.Context, w *meetingWorld) error {
			return w.svc.ScheduleMeeting(ctx, &talks.Meeting{TrackID: w.envoys.ID, Title: "x", Start: meetAt, Duration: time.Hour})
		}, with(notFound(seesEnvoys...), talks.EFORBIDDEN, "NP", "SP")},
		{"ScheduleMeeting north", func(ctx context.Context, w *meetingWorld) error {
			return w.svc.ScheduleMeeting(ctx, &talks.Meeting{TrackID: w.northBC.ID, Title: "x", Start: meetAt, Duration: time.Hour})
		}, with(notFound(seesNorth...), talks.EFORBIDDEN, "NP")},
		{"ScheduleMeeting unknown track", func(ctx context.Context, w *meetingWorld) error {
			return w.svc.ScheduleMeeting(ctx, &talks.Meeting{TrackID: 9999, Title: "x", Start: meetAt, Duration: time.Hour})
		}, notFound()},
		{"UpdateMeeting official", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.UpdateMeeting(ctx, w.offMeet.ID, talks.MeetingUpdate{Title: &title})
			return err
		}, with(notFound(members...), talks.EFORBIDDEN, "NO")},
		{"UpdateMeeting envoys", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.UpdateMeeting(ctx, w.envMeet.ID, talks.MeetingUpdate{Title: &title})
			return err
		}, with(notFound(seesEnvoys...), talks.EFORBIDDEN, "NP", "SP")},
		{"UpdateMeeting north", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.UpdateMeeting(ctx, w.northMeet.ID, talks.MeetingUpdate{Title: &title})
			return err
		}, with(notFound(seesNorth...), talks.EFORBIDDEN, "NP")},
		{"UpdateMeeting unknown", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.UpdateMeeting(ctx, 9999, talks.MeetingUpdate{Title: &title})
			return err
		}, notFound()},
		{"FindMeetingByID official", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.FindMeetingByID(ctx, w.offMeet.ID)
			return err
		}, notFound(members...)},
		{"FindMeetingByID envoys", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.FindMeetingByID(ctx, w.envMeet.ID)
			return err
		}, notFound(seesEnvoys...)},
		{"FindMeetingByID north", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.FindMeetingByID(ctx, w.northMeet.ID)
			return err
		}, notFound(sees(seesNorth)...)},
		{"FindMeetingByID unknown", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.FindMeetingByID(ctx, 9999)
			return err
		}, notFound()},
		{"FindMeetings envoys", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.FindMeetings(ctx, talks.MeetingFilter{TrackID: w.envoys.ID})
			return err
		}, notFound(seesEnvoys...)},
		{"FindMeetings talk", func(ctx context.Context, w *meetingWorld) error {
			_, err := w.svc.FindMeetings(ctx, talks.MeetingFilter{TalkID: w.talk.ID})
			return err
		}, notFound(members...)},
	}
	w := newMeetingWorld(t) // the failures write nothing, so one world serves
	for _, o := range ops {
		for _, u := range users {
			if o.want[u] == "" && strings.HasPrefix(o.name, "ScheduleMeeting") || strings.HasPrefix(o.name, "UpdateMeeting") && o.want[u] == "" {
				continue // successes are checked below, on worlds of their own
			}
			t.Run(fmt.Sprintf("%s/%s", o.name, u), func(t *testing.T) {
				before := len(storeEvents(t, w.world))
				err := o.do(w.as(u), w)
				want := o.want[u]
				if got := talks.ErrorCode(err); got != want {
					t.Fatalf("%s as %q: error %v (code %q), want code %q", o.name, u, err, got, want)
				}
				if want == "" {
					return
				}
				if after := len(storeEvents(t, w.world)); after != before {
					t.Errorf("%s as %q failed but appended %d events", o.name, u, after-before)
				}
				if want == talks.ENOTFOUND {
					if msg := talks.ErrorMessage(err); msg != "Talk not found." && msg != "Track not found." && msg != "Meeting not found." {
						t.Errorf("%s as %q: message %q names more than absence", o.name, u, msg)
					}
				}
			})
		}
	}
	// The writes that succeed, each once, on a fresh world.
	for _, o := range ops {
		if !strings.HasPrefix(o.name, "ScheduleMeeting") && !strings.HasPrefix(o.name, "UpdateMeeting") {
			continue
		}
		for _, u := range users {
			if o.want[u] != "" {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", o.name, u), func(t *testing.T) {
				w := newMeetingWorld(t)
				mustOK(t, o.name+" as "+u, o.do(w.as(u), w))
			})
			break // one success per write shows the rule lets it through
		}
	}
}

func storeEvents(t *testing.T, w *world) []*talks.Event {
	t.Helper()
	evs, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	return evs
}

// TestMeetingValidation checks that ScheduleMeeting refuses an invalid
// meeting with EINVALID and a message that names the field, and writes
// nothing.
func TestMeetingValidation(t *testing.T) {
	w := newMeetingWorld(t)
	base := func() *talks.Meeting {
		return &talks.Meeting{TrackID: w.envoys.ID, Title: "Talk", Start: meetAt, Duration: time.Hour}
	}
	tests := []struct {
		name   string
		change func(m *talks.Meeting)
		msg    string // a substring of the message; "" for success
	}{
		{"valid", func(m *talks.Meeting) {}, ""},
		{"principal who sees it through its envoy attends", func(m *talks.Meeting) { m.Attendees = []int64{w.members["NP"].ID, w.members["NE"].ID} }, ""},
		{"24 hours", func(m *talks.Meeting) { m.Duration = 24 * time.Hour }, ""},
		{"blank title", func(m *talks.Meeting) { m.Title = "  " }, "title required"},
		{"long title", func(m *talks.Meeting) { m.Title = strings.Repeat("x", talks.MaxMeetingTitleLen+1) }, "title longer"},
		{"long place", func(m *talks.Meeting) { m.Place = strings.Repeat("x", talks.MaxMeetingPlaceLen+1) }, "place longer"},
		{"long agenda", func(m *talks.Meeting) { m.Agenda = strings.Repeat("x", talks.MaxMeetingAgendaLen+1) }, "agenda longer"},
		{"no start", func(m *talks.Meeting) { m.Start = time.Time{} }, "start required"},
		{"zero duration", func(m *talks.Meeting) { m.Duration = 0 }, "duration must be more than zero"},
		{"negative duration", func(m *talks.Meeting) { m.Duration = -time.Hour }, "duration must be more than zero"},
		{"over 24 hours", func(m *talks.Meeting) { m.Duration = 24*time.Hour + time.Minute }, "duration must be at most 1440 minutes"},
		{"part of a minute", func(m *talks.Meeting) { m.Duration = 90 * time.Second }, "whole number of minutes"},
		{"minutes before it is held", func(m *talks.Meeting) { m.Minutes = "We met." }, "minutes are recorded once it is held"},
		{"unknown attendee", func(m *talks.Meeting) { m.Attendees = []int64{9999} }, "Attendee 9999 is not"},
		{"attendee who may not see the track", func(m *talks.Meeting) { m.Attendees = []int64{w.members["NE"].ID, w.members["NA"].ID} },
			fmt.Sprintf("Attendee %d is not", w.members["NA"].ID)},
		{"facilitator off the back-channel", func(m *talks.Meeting) { m.Attendees = []int64{w.members["F"].ID} },
			fmt.Sprintf("Attendee %d is not", w.members["F"].ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.change(m)
			before := len(storeEvents(t, w.world))
			err := w.svc.ScheduleMeeting(w.as("NE"), m)
			if tt.msg == "" {
				mustOK(t, "ScheduleMeeting", err)
				return
			}
			wantCode(t, "ScheduleMeeting", err, talks.EINVALID)
			if msg := talks.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("ScheduleMeeting() message %q, want one with %q", msg, tt.msg)
			}
			if after := len(storeEvents(t, w.world)); after != before {
				t.Errorf("a refused ScheduleMeeting appended %d events", after-before)
			}
		})
	}
	// The same checks guard an update.
	zero, long := time.Duration(0), strings.Repeat("x", talks.MaxMeetingTitleLen+1)
	na := []int64{w.members["NA"].ID}
	bad := talks.MeetingStatus("postponed")
	for _, tt := range []struct {
		name string
		upd  talks.MeetingUpdate
		msg  string
	}{
		{"nothing", talks.MeetingUpdate{}, "Nothing to change"},
		{"zero duration", talks.MeetingUpdate{Duration: &zero}, "duration"},
		{"long title", talks.MeetingUpdate{Title: &long}, "title"},
		{"attendee who may not see the track", talks.MeetingUpdate{Attendees: &na}, fmt.Sprintf("Attendee %d", na[0])},
		{"unknown status", talks.MeetingUpdate{Status: &bad}, `status "postponed"`},
	} {
		_, err := w.svc.UpdateMeeting(w.as("NE"), w.envMeet.ID, tt.upd)
		wantCode(t, "UpdateMeeting("+tt.name+")", err, talks.EINVALID)
		if msg := talks.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
			t.Errorf("UpdateMeeting(%s) message %q, want one with %q", tt.name, msg, tt.msg)
		}
	}
}

// TestMeetingLifecycle walks a meeting through its states: scheduled, then
// held with attendance, duration and minutes, which stay correctable; a
// held meeting is not cancelled; a cancelled one is only rescheduled.
func TestMeetingLifecycle(t *testing.T) {
	w := newMeetingWorld(t)
	ctx := w.as("NE")
	held, cancelled, scheduled := talks.MeetingStatusHeld, talks.MeetingStatusCancelled, talks.MeetingStatusScheduled
	minutes := "Both sides will consult their principals."
	step := func(what string, id int64, upd talks.MeetingUpdate, code string) *talks.Meeting {
		t.Helper()
		m, err := w.svc.UpdateMeeting(ctx, id, upd)
		wantCode(t, what, err, code)
		return m
	}
	m := w.envMeet
	if m.Status != scheduled || m.TalkID != w.talk.ID || m.CreatedBy != w.users["NE"].ID || m.ID == 0 {
		t.Fatalf("ScheduleMeeting set %+v", m)
	}
	step("minutes while scheduled", m.ID, talks.MeetingUpdate{Minutes: &minutes}, talks.ECONFLICT)
	dur := 150 * time.Minute
	attendees := []int64{w.members["SE"].ID, w.members["NE"].ID, w.members["NP"].ID}
	got := step("held", m.ID, talks.MeetingUpdate{Status: &held, Minutes: &minutes, Duration: &dur, Attendees: &attendees}, "")
	if got.Status != held || got.Minutes != minutes || got.Duration != dur ||
		!slices.Equal(got.Attendees, []int64{w.members["NP"].ID, w.members["NE"].ID, w.members["SE"].ID}) {
		t.Errorf("UpdateMeeting(held) = %+v", got)
	}
	fixed := minutes + " Next round in Oslo."
	step("minutes corrected", m.ID, talks.MeetingUpdate{Minutes: &fixed}, "")
	step("held, then cancelled", m.ID, talks.MeetingUpdate{Status: &cancelled}, talks.ECONFLICT)
	step("held, then scheduled", m.ID, talks.MeetingUpdate{Status: &scheduled}, talks.ECONFLICT)
	step("held, again", m.ID, talks.MeetingUpdate{Status: &held}, "")

	c := w.northMeet
	as := w.as("NA")
	if _, err := w.svc.UpdateMeeting(as, c.ID, talks.MeetingUpdate{Status: &cancelled}); err != nil {
		t.Fatalf("UpdateMeeting(cancel): %v", err)
	}
	title := "Renamed"
	for _, tt := range []struct {
		name string
		upd  talks.MeetingUpdate
	}{
		{"cancelled, then held", talks.MeetingUpdate{Status: &held}},
		{"cancelled, then renamed", talks.MeetingUpdate{Title: &title}},
		{"cancelled, then minutes", talks.MeetingUpdate{Minutes: &minutes}},
	} {
		_, err := w.svc.UpdateMeeting(as, c.ID, tt.upd)
		wantCode(t, tt.name, err, talks.ECONFLICT)
	}
	later := meetAt.Add(72 * time.Hour)
	got, err := w.svc.UpdateMeeting(as, c.ID, talks.MeetingUpdate{Status: &scheduled, Start: &later, Title: &title})
	mustOK(t, "UpdateMeeting(reschedule)", err)
	if got.Status != scheduled || !got.Start.Equal(later) || got.Title != title {
		t.Errorf("UpdateMeeting(reschedule) = %+v", got)
	}

	// What the service returns is what it finds, and the log folds to it.
	found, err := w.svc.FindMeetingByID(as, c.ID)
	mustOK(t, "FindMeetingByID", err)
	if found.Title != title || !found.UpdatedAt.Equal(got.UpdatedAt) || !found.UpdatedAt.After(found.CreatedAt) {
		t.Errorf("FindMeetingByID() = %+v, want %+v", found, got)
	}
	st, err := talks.Project(storeEvents(t, w.world))
	mustOK(t, "Project", err)
	if len(st.Meetings) != 3 {
		t.Fatalf("Project() has %d meetings, want 3", len(st.Meetings))
	}
}

// TestMeetingLists checks that lists of meetings and the event log leave
// out the meetings of tracks a member may not see, and that a list is in
// order of start.
func TestMeetingLists(t *testing.T) {
	w := newMeetingWorld(t)
	for _, tt := range []struct {
		user string
		want []*talks.Meeting
	}{
		{"F", []*talks.Meeting{w.offMeet}},
		{"NA", []*talks.Meeting{w.northMeet, w.offMeet}},
		{"SE", []*talks.Meeting{w.envMeet, w.offMeet}},
		{"NP", []*talks.Meeting{w.envMeet, w.northMeet, w.offMeet}},
		{"NO", []*talks.Meeting{w.offMeet}},
	} {
		ms, err := w.svc.FindMeetings(w.as(tt.user), talks.MeetingFilter{TalkID: w.talk.ID})
		mustOK(t, "FindMeetings", err)
		var got, want []int64
		for _, m := range ms {
			got = append(got, m.ID)
		}
		for _, m := range tt.want {
			want = append(want, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("FindMeetings(talk) as %s = %v, want %v", tt.user, got, want)
		}
		evs, err := w.svc.FindEvents(w.as(tt.user), talks.EventFilter{TalkID: w.talk.ID})
		mustOK(t, "FindEvents", err)
		n := 0
		for _, e := range evs {
			if e.Type == talks.EventMeetingScheduled {
				n++
			}
		}
		if n != len(tt.want) {
			t.Errorf("FindEvents() as %s has %d meeting.scheduled events, want %d", tt.user, n, len(tt.want))
		}
	}
}

func TestProjectMeetings(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []*talks.Event
	var prev [32]byte
	add := func(track int64, typ string, p any) {
		e, err := talks.NewEvent(1, track, typ, talks.Stamp{ActorID: 9, Time: at.Add(time.Duration(len(evs)) * time.Minute)}, p)
		mustOK(t, "NewEvent", err)
		e.Seal(int64(len(evs)+1), prev)
		prev = e.Hash
		evs = append(evs, e)
	}
	held, minutes, place := talks.MeetingStatusHeld, "Met.", "Oslo"
	add(0, talks.EventTalkCreated, talks.TalkCreated{Title: "T", ConvenerID: 9})
	add(5, talks.EventTrackCreated, talks.TrackCreated{Name: "Official", Kind: talks.TrackOfficial})
	add(0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 3, UserID: 9, Role: talks.RoleFacilitator})
	add(5, talks.EventMeetingScheduled, talks.MeetingScheduled{MeetingID: 7, Title: "M", Start: at, DurationMinutes: 60, Attendees: []int64{3}})
	add(5, talks.EventMeetingUpdated, talks.MeetingUpdated{MeetingID: 7, Status: &held, Minutes: &minutes, Place: &place})
	st, err := talks.Project(evs)
	mustOK(t, "Project", err)
	want := talks.Meeting{ID: 7, TalkID: 1, TrackID: 5, Title: "M", Place: place, Start: at, Duration: time.Hour,
		Attendees: []int64{3}, Minutes: minutes, Status: held, CreatedBy: 9, CreatedAt: at.Add(3 * time.Minute), UpdatedAt: at.Add(4 * time.Minute)}
	if len(st.Meetings) != 1 || !reflect.DeepEqual(*st.Meetings[0], want) {
		t.Errorf("Project() meetings = %+v, want [%+v]", st.Meetings, want)
	}
	for _, tt := range []struct {
		name   string
		events []*talks.Event
	}{
		{"update of an unknown meeting", append(evs[:3:3], evs[4])},
		{"scheduled twice", append(evs[:4:4], evs[3])},
		{"in an unknown track", append(evs[:1:1], evs[3])},
		{"unknown attendee", append(evs[:2:2], evs[3])},
	} {
		if _, err := talks.Project(tt.events); err == nil {
			t.Errorf("%s: Project() = nil error, want one", tt.name)
		}
	}
}
