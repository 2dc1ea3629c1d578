package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// addObserver makes user OB, with an API token, an observer of the north.
func (e *env) addObserver(w *world) {
	e.t.Helper()
	u := &talks.User{Name: "OB", Email: "ob@example.org"}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	e.users["OB"] = u
	tok, err := e.svc.CreateAPIToken(e.as("OB"), "test")
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens["OB"] = tok.Token
	m := &talks.Member{TalkID: w.talk.ID, UserID: u.ID, PartyID: w.north.ID, Role: talks.RoleObserver}
	if err := e.svc.AddMember(e.as("NP"), m); err != nil {
		e.t.Fatal(err)
	}
	w.members["OB"] = m
}

// TestMeetingFlow schedules a meeting in the back-channel over HTTP, lists
// and reads it, records it as held with attendance, duration and minutes,
// and checks that the event stream of a member on the track carries both
// events while a member outside it sees neither.
func TestMeetingFlow(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	meetings := fmt.Sprintf("/api/v1/tracks/%d/meetings", w.envoys.ID)
	after := fmt.Sprintf("?after=%d", e.eventCount(w.talk.ID))
	ne, stopNE := e.stream("NE", w.talk.ID, after, "")
	defer stopNE()
	na, stopNA := e.stream("NA", w.talk.ID, after, "")
	defer stopNA()

	var m Meeting
	e.must(201, "SE", "POST", meetings, map[string]any{"title": "secret lunch", "place": "Geneva", "start": "2025-07-01T12:00:00+02:00",
		"duration_minutes": 90, "attendees": []int64{w.members["SE"].ID, w.members["NE"].ID}, "agenda": "The line"}, &m)
	want := Meeting{ID: m.ID, TalkID: w.talk.ID, TrackID: w.envoys.ID, Title: "secret lunch", Place: "Geneva",
		Start: time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC), DurationMinutes: 90,
		Attendees: []int64{w.members["NE"].ID, w.members["SE"].ID}, Agenda: "The line", Status: "scheduled",
		CreatedBy: e.users["SE"].ID, CreatedAt: m.CreatedAt, UpdatedAt: m.CreatedAt}
	if fmt.Sprint(m) != fmt.Sprint(want) || m.CreatedAt.IsZero() {
		t.Fatalf("POST %s = %+v, want %+v", meetings, m, want)
	}
	ev := payload(t, next(t, "NE", ne))
	if ev.Type != talks.EventMeetingScheduled || ev.TrackID != w.envoys.ID || !strings.Contains(string(ev.Payload), "secret lunch") {
		t.Fatalf("NE's stream got %+v, want meeting.scheduled", ev)
	}

	var list []Meeting
	e.must(200, "SP", "GET", meetings, nil, &list)
	if len(list) != 1 || list[0].ID != m.ID {
		t.Errorf("GET %s as SP = %+v, want the meeting", meetings, list)
	}
	one := fmt.Sprintf("/api/v1/meetings/%d", m.ID)
	var got Meeting
	e.must(200, "NP", "GET", one, nil, &got)
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("GET %s = %+v, want %+v", one, got, m)
	}

	e.must(200, "NE", "PATCH", one, map[string]any{"status": "held", "duration_minutes": 120, "minutes": "Progress.",
		"attendees": []int64{w.members["NE"].ID}}, &got)
	if got.Status != "held" || got.DurationMinutes != 120 || got.Minutes != "Progress." || !slices.Equal(got.Attendees, []int64{w.members["NE"].ID}) ||
		got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("PATCH %s = %+v", one, got)
	}
	if ev := payload(t, next(t, "NE", ne)); ev.Type != talks.EventMeetingUpdated || ev.TrackID != w.envoys.ID {
		t.Fatalf("NE's stream got %+v, want meeting.updated", ev)
	}
	st, body := e.do("NE", "PATCH", one, map[string]any{"status": "cancelled"})
	if st != 409 || decodeErr(t, body).Code != talks.ECONFLICT {
		t.Errorf("PATCH held to cancelled = %d %s, want 409", st, body)
	}

	// NA, outside the back-channel, is told of neither event: the next it
	// sees is an official message.
	e.must(201, "F", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID), map[string]any{"body": "public"}, nil)
	if ev := payload(t, next(t, "NA", na)); ev.Type != talks.EventMessagePosted || ev.TrackID != w.official.ID {
		t.Fatalf("NA's stream got %+v, want only the official message", ev)
	}
}

// TestMeetingErrors runs the error paths of the meeting routes, each of
// which must write nothing.
func TestMeetingErrors(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	e.addObserver(w)
	official := fmt.Sprintf("/api/v1/tracks/%d/meetings", w.official.ID)
	envoys := fmt.Sprintf("/api/v1/tracks/%d/meetings", w.envoys.ID)
	m := &talks.Meeting{TrackID: w.envoys.ID, Title: "secret", Start: time.Now(), Duration: time.Hour}
	if err := e.svc.ScheduleMeeting(e.as("NE"), m); err != nil {
		t.Fatal(err)
	}
	one := fmt.Sprintf("/api/v1/meetings/%d", m.ID)
	body := func(extra string) string {
		return `{"title": "Plenary", "start": "2025-07-01T10:00:00Z", "duration_minutes": 60` + extra + `}`
	}
	for _, tc := range []struct {
		name         string
		user         string
		method, path string
		body         any
		status       int
		code         string
		msg          string // a substring of the message, if set
	}{
		{"bad JSON", "F", "POST", official, `{"title": `, 400, talks.EINVALID, "ends in the middle"},
		{"unknown field", "F", "POST", official, body(`, "status": "held"`), 400, talks.EINVALID, `unknown field "status"`},
		{"unknown field in a change", "NE", "PATCH", one, `{"duration": 5}`, 400, talks.EINVALID, `unknown field "duration"`},
		{"bad start", "F", "POST", official, `{"title": "x", "start": "tomorrow", "duration_minutes": 60}`, 400, talks.EINVALID, "start"},
		{"no start", "F", "POST", official, `{"title": "x", "duration_minutes": 60}`, 400, talks.EINVALID, "start"},
		{"no title", "F", "POST", official, `{"start": "2025-07-01T10:00:00Z", "duration_minutes": 60}`, 400, talks.EINVALID, "title required"},
		{"no duration", "F", "POST", official, `{"title": "x", "start": "2025-07-01T10:00:00Z"}`, 400, talks.EINVALID, "duration"},
		{"negative duration", "F", "POST", official, `{"title": "x", "start": "2025-07-01T10:00:00Z", "duration_minutes": -5}`, 400, talks.EINVALID, "duration"},
		{"over a day", "F", "POST", official, `{"title": "x", "start": "2025-07-01T10:00:00Z", "duration_minutes": 1441}`, 400, talks.EINVALID, "1440 minutes"},
		{"huge duration", "F", "POST", official, `{"title": "x", "start": "2025-07-01T10:00:00Z", "duration_minutes": 9223372036854775807}`, 400, talks.EINVALID, "1440 minutes"},
		{"fractional duration", "F", "POST", official, `{"title": "x", "start": "2025-07-01T10:00:00Z", "duration_minutes": 1.5}`, 400, talks.EINVALID, "duration_minutes"},
		{"bad duration in a change", "NE", "PATCH", one, `{"duration_minutes": 0}`, 400, talks.EINVALID, "duration"},
		{"unknown attendee", "F", "POST", official, body(`, "attendees": [999999]`), 400, talks.EINVALID, "Attendee 999999"},
		{"attendee off the track", "NE", "POST", envoys, body(fmt.Sprintf(`, "attendees": [%d]`, w.members["NA"].ID)), 400, talks.EINVALID,
			fmt.Sprintf("Attendee %d", w.members["NA"].ID)},
		{"minutes while scheduled", "NE", "PATCH", one, `{"minutes": "x"}`, 409, talks.ECONFLICT, "held"},
		{"unknown status", "NE", "PATCH", one, `{"status": "postponed"}`, 400, talks.EINVALID, "postponed"},
		{"nothing to change", "NE", "PATCH", one, `{}`, 400, talks.EINVALID, "Nothing"},
		{"unknown meeting", "F", "GET", "/api/v1/meetings/999999", nil, 404, talks.ENOTFOUND, "Meeting not found."},
		{"unknown meeting change", "F", "PATCH", "/api/v1/meetings/999999", `{"title": "x"}`, 404, talks.ENOTFOUND, "Meeting not found."},
		{"invisible meeting", "NA", "GET", one, nil, 404, talks.ENOTFOUND, "Meeting not found."},
		{"invisible meeting change", "NA", "PATCH", one, `{"title": "x"}`, 404, talks.ENOTFOUND, "Meeting not found."},
		{"unknown track", "F", "GET", "/api/v1/tracks/999999/meetings", nil, 404, talks.ENOTFOUND, "Track not found."},
		{"invisible track", "NA", "POST", envoys, body(""), 404, talks.ENOTFOUND, "Track not found."},
		{"observer schedules", "OB", "POST", official, body(""), 403, talks.EFORBIDDEN, "Observers"},
		{"principal through its envoy schedules", "NP", "POST", envoys, body(""), 403, talks.EFORBIDDEN, ""},
		{"principal through its envoy changes", "NP", "PATCH", one, `{"title": "x"}`, 403, talks.EFORBIDDEN, ""},
		{"outsider", "O", "POST", official, body(""), 404, talks.ENOTFOUND, "Track not found."},
		{"no auth", "", "GET", envoys, nil, 401, talks.EUNAUTHORIZED, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.eventCount(w.talk.ID)
			st, got := e.do(tc.user, tc.method, tc.path, tc.body)
			if st != tc.status {
				t.Fatalf("%s %s as %q = %d %s, want %d", tc.method, tc.path, tc.user, st, got, tc.status)
			}
			ae := decodeErr(t, got)
			if ae.Code != tc.code || !strings.Contains(ae.Message, tc.msg) {
				t.Errorf("%s %s = %+v, want code %q and a message with %q", tc.method, tc.path, ae, tc.code, tc.msg)
			}
			if after := e.eventCount(w.talk.ID); after != before {
				t.Errorf("%s %s appended %d events, want none", tc.method, tc.path, after-before)
			}
		})
	}
	// The observer reads what it may not change.
	e.must(200, "OB", "GET", official, nil, nil)
}

// FuzzMeetingRequest checks that no body of PATCH /meetings/{id} makes its
// parsing panic or fail with anything but EINVALID or ETOOLARGE, that no
// number of minutes overflows into a valid duration, and that a body that
// parses survives a round trip.
func FuzzMeetingRequest(f *testing.F) {
	for _, s := range []string{
		`{"title": "t", "place": "p", "start": "2025-07-01T10:00:00Z", "duration_minutes": 60, "attendees": [1, 2], "agenda": "a"}`,
		`{"status": "held", "minutes": "m", "attendees": []}`, `{"start": "2025-07-01T12:00:00.5+02:00"}`,
		`{"duration_minutes": 9223372036854775807}`, `{"duration_minutes": -9223372036854775808}`, `{"start": "tomorrow"}`,
		`{"attendees": null}`, `{"title": 1}`, `{"nope": 1}`, `{}`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req updateMeetingRequest
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("PATCH", "/", strings.NewReader(body)), &req); err != nil {
			if c := talks.ErrorCode(err); c != talks.EINVALID && c != ETOOLARGE {
				t.Fatalf("decode(%q) = %v, want EINVALID", body, err)
			}
			return
		}
		if req.Start != nil {
			if _, err := meetingStart(*req.Start); err != nil && talks.ErrorCode(err) != talks.EINVALID {
				t.Fatalf("meetingStart(%q) = %v, want EINVALID", *req.Start, err)
			}
		}
		if req.DurationMinutes != nil {
			n := *req.DurationMinutes
			d := meetingDuration(n)
			if (n >= 1 && n <= 1440) != (d >= time.Minute && d <= talks.MaxMeetingDuration) {
				t.Fatalf("meetingDuration(%d) = %v: valid %v, minutes valid %v", n, d, d > 0 && d <= talks.MaxMeetingDuration, n >= 1 && n <= 1440)
			}
		}
		data, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var again updateMeetingRequest
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("PATCH", "/", strings.NewReader(string(data))), &again); err != nil {
			t.Fatalf("decode(%s) of a re-encoded body = %v", data, err)
		}
		if data2, err := json.Marshal(again); err != nil || string(data) != string(data2) {
			t.Fatalf("round trip: %s != %s (%v)", data, data2, err)
		}
	})
}
