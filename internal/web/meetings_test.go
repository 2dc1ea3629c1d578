package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

func TestMeetings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	back := fmt.Sprintf("/tracks/%d", e.demo.Back.ID)
	envoy := e.login(t, "n.envoy1")

	// The demo's lunch is listed on the back-channel, with a form to
	// schedule another.
	res := envoy.get(back)
	wantStatus(t, res, 200)
	wantContains(t, res, "Envoys&#39; working lunch", "Schedule a meeting", `name="attendee"`)

	head := func() int64 {
		h, err := e.store.TalkHead(ctx, e.demo.Talk.ID)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	me, other := e.demo.Members["n.envoy1"].ID, e.demo.Members["s.envoy1"].ID
	advisor := e.demo.Members["n.advisor"].ID
	good := url.Values{"title": {"Second lunch"}, "place": {"Geneva"}, "start": {"2030-05-01T12:30"}, "duration": {"90"},
		"attendee": {fmt.Sprint(me), fmt.Sprint(other)}, "agenda": {"The river line"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = append([]string(nil), vs...)
		}
		f.Set(k, v)
		return f
	}

	// Errors are shown next to their field, with the form open and what was
	// typed kept, and nothing is written.
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no title", with("title", "  "), "title"},
		{"no start", with("start", ""), "start"},
		{"bad start", with("start", "next tuesday"), "start"},
		{"zero duration", with("duration", "0"), "duration"},
		{"long duration", with("duration", "1441"), "duration"},
		{"words for duration", with("duration", "an hour"), "duration"},
		{"advisor off the track", with("attendee", fmt.Sprint(advisor)), "attendee"},
		{"not a number", with("attendee", "x"), "attendee"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := head()
			res := envoy.post(back+"/meetings", tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="e-`+tc.field+`"`, "<details class=\"noprint\" open>", `value="Geneva"`, "The river line")
			if head() != before {
				t.Errorf("a refused meeting wrote events")
			}
		})
	}

	// Scheduled: the browser goes to the meeting's page.
	res = envoy.post(back+"/meetings", good)
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !regexp.MustCompile(`^/meetings/\d+$`).MatchString(loc) {
		t.Fatalf("scheduling redirects to %q", loc)
	}
	res = envoy.get(loc)
	wantStatus(t, res, 200)
	wantContains(t, res, "Second lunch", "1 May 2030, 12:30 UTC", "1 h 30 min", "Tomas Varga (Northland envoy), Mei Lin Tan (Southland envoy)",
		"Minutes are recorded once the meeting is held.", "Back-channel")

	// Minutes on a scheduled meeting that stays scheduled: refused, kept.
	form := with("minutes", "We agreed on nothing.")
	res = envoy.post(loc, form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "We agreed on nothing.", `class="error"`)

	// Record it as held, with who attended, how long it lasted and minutes.
	form = with("status", "held")
	form.Set("duration", "75")
	form["attendee"] = []string{fmt.Sprint(me)}
	form.Set("minutes", "Both envoys tested the river line.")
	res = envoy.post(loc, form)
	wantStatus(t, res, http.StatusSeeOther)
	res = envoy.get(loc + "?saved=1")
	wantContains(t, res, "Saved.", "Held", "1 h 15 min", "Both envoys tested the river line.", "Attended")
	var id int64
	fmt.Sscanf(loc, "/meetings/%d", &id)
	m, err := e.svc.FindMeetingByID(e.demo.As(ctx, "n.envoy1"), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != talks.MeetingStatusHeld || m.Minutes != "Both envoys tested the river line." || len(m.Attendees) != 1 || m.Title != "Second lunch" {
		t.Errorf("meeting after recording: %+v", m)
	}

	// A held meeting cannot go back to scheduled: a conflict, next to the
	// status.
	res = envoy.post(loc, with("status", "scheduled"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-status"`)

	// The principal reads the back-channel's meetings but may not change
	// them: no form, and 403 on a post.
	p := e.login(t, "n.principal")
	res = p.get(loc)
	wantStatus(t, res, 200)
	wantNotContains(t, res, `action="`+loc+`"`)
	before := head()
	wantStatus(t, p.post(loc, with("title", "mine")), http.StatusForbidden)
	wantStatus(t, p.post(back+"/meetings", good), http.StatusForbidden)
	if head() != before {
		t.Error("a refused write wrote events")
	}

	// The advisor, not on the back-channel, is told the meeting does not
	// exist, as is anyone for an unknown or malformed ID.
	adv := e.login(t, "n.advisor")
	for _, path := range []string{loc, back + "/meetings", "/meetings/999999", "/meetings/abc"} {
		res := adv.get(path)
		wantStatus(t, res, 404)
		wantNotContains(t, res, "Second lunch", "river line")
	}
	wantStatus(t, adv.post(loc, good), 404)

	// Without the CSRF token nothing is written.
	before = head()
	wantStatus(t, envoy.post(loc, func() url.Values { f := with("title", "forged"); f.Set("csrf", "x"); return f }()), http.StatusForbidden)
	if head() != before {
		t.Error("a forged post wrote events")
	}

	// The official track's plenary, held, shows its minutes to an advisor.
	res = adv.get(fmt.Sprintf("/tracks/%d", e.demo.Official.ID))
	wantContains(t, res, "Opening plenary", "Held")
	if !strings.Contains(res.Body, "/meetings/") {
		t.Error("the official track links no meeting")
	}
}
