package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestRemoveTrackMemberAPI takes NE off the envoys' back-channel through
// the API, with NE's and SE's event streams open: SE's stream carries the
// removal and what follows on the track, NE's carries neither, and the
// track, its messages and its past events are gone for NE.
func TestRemoveTrackMemberAPI(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	head := fmt.Sprint(e.talkHead(w.talk.ID))
	ne, stopNE := e.stream("NE", w.talk.ID, "", head)
	defer stopNE()
	se, stopSE := e.stream("SE", w.talk.ID, "", head)
	defer stopSE()
	track := fmt.Sprintf("/api/v1/tracks/%d", w.envoys.ID)
	remove := func(user string, member int64) (int, []byte) {
		return e.do(user, "DELETE", fmt.Sprintf("%s/members/%d", track, member), nil)
	}

	if st, body := remove("SE", w.members["NE"].ID); st != 403 {
		t.Errorf("DELETE NE as SE = %d %s, want 403", st, body)
	}
	if st, body := remove("NP", w.members["NE"].ID); st != 204 {
		t.Fatalf("DELETE NE as NP = %d %s, want 204", st, body)
	}
	if ev := payload(t, next(t, "SE", se)); ev.Type != "track.member_removed" || ev.TrackID != w.envoys.ID {
		t.Errorf("SE's next event = %s on track %d, want track.member_removed on %d", ev.Type, ev.TrackID, w.envoys.ID)
	}
	e.must(201, "SE", "POST", track+"/messages", map[string]any{"body": "secret: after NE left"}, nil)
	e.must(201, "F", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID), map[string]any{"body": "official, after"}, nil)
	if ev := payload(t, next(t, "SE", se)); ev.Type != "message.posted" || ev.TrackID != w.envoys.ID {
		t.Errorf("SE's next event = %s on track %d, want SE's message on the envoys' track", ev.Type, ev.TrackID)
	}
	// NE's stream skips the removal and SE's message, and goes on with the
	// official track.
	if ev := payload(t, next(t, "NE", ne)); ev.Type != "message.posted" || ev.TrackID != w.official.ID {
		t.Errorf("NE's next event = %s on track %d, want the official message", ev.Type, ev.TrackID)
	}

	for _, p := range []string{track, track + "/messages", track + "/proposals"} {
		if st, body := e.do("NE", "GET", p, nil); st != 404 {
			t.Errorf("GET %s as NE = %d %s, want 404", p, st, body)
		}
	}
	if st, body := e.do("NE", "POST", track+"/messages", map[string]any{"body": "still here?"}); st != 404 {
		t.Errorf("POST a message as NE = %d %s, want 404", st, body)
	}
	// A stream from the start holds nothing of the back-channel for NE.
	all, stopAll := e.stream("NE", w.talk.ID, "", "")
	defer stopAll()
	for {
		ev := next(t, "NE from the start", all)
		if strings.Contains(ev.data, "secret") || payload(t, ev).TrackID == w.envoys.ID {
			t.Errorf("NE's stream from the start has %s %s", ev.typ, ev.data)
		}
		if payload(t, ev).TrackID == w.official.ID && strings.Contains(ev.data, "official, after") {
			break
		}
	}

	if st, body := remove("NP", w.members["NE"].ID); st != 404 {
		t.Errorf("DELETE NE again as NP, who no longer sees the track = %d %s, want 404", st, body)
	}
	if st, body := remove("SE", w.members["SE"].ID); st != 409 {
		t.Errorf("DELETE SE, the last member, as SE = %d %s, want 409", st, body)
	}
	if st, body := remove("SE", w.members["NA"].ID); st != 403 {
		t.Errorf("DELETE NA, not on it, as SE = %d %s, want 403", st, body)
	}
	if st, body := e.do("SE", "DELETE", track+"/members/x", nil); st != 404 {
		t.Errorf("DELETE a malformed member as SE = %d %s, want 404", st, body)
	}
}

// TestChangeMemberRoleAPI changes NE's role through the API: bad requests
// change nothing; the new role shows in the member list and in what NE may
// do at once.
func TestChangeMemberRoleAPI(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	path := fmt.Sprintf("/api/v1/talks/%d/members/%d", w.talk.ID, w.members["NE"].ID)
	head := e.talkHead(w.talk.ID)
	for _, c := range []struct {
		body any
		want int
	}{
		{map[string]any{"role": "king"}, 400},
		{map[string]any{"role": "facilitator"}, 400},
		{map[string]any{"role": "advisor", "party_id": w.south.ID}, 400}, // unknown field
		{map[string]any{}, 400},
		{map[string]any{"role": "envoy"}, 409}, // already
	} {
		if st, body := e.do("NP", "PATCH", path, c.body); st != c.want {
			t.Errorf("PATCH %v = %d %s, want %d", c.body, st, body, c.want)
		}
	}
	if got := e.talkHead(w.talk.ID); got != head {
		t.Errorf("refused changes moved the talk's head from %d to %d", head, got)
	}

	var m Member
	e.must(200, "NP", "PATCH", path, map[string]any{"role": "observer"}, &m)
	if m.ID != w.members["NE"].ID || m.Role != "observer" {
		t.Errorf("PATCH answered %+v, want NE as an observer", m)
	}
	var list []Member
	e.must(200, "SE", "GET", fmt.Sprintf("/api/v1/talks/%d/members", w.talk.ID), nil, &list)
	for _, got := range list {
		if got.ID == m.ID && got.Role != "observer" {
			t.Errorf("the member list has NE as %s, want observer", got.Role)
		}
	}
	if st, body := e.do("NE", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.envoys.ID), map[string]any{"body": "hello"}); st != 403 {
		t.Errorf("an observer posts: %d %s, want 403", st, body)
	}
}

// TestRemoveMemberAPI takes NE off the talk through the API with NE's event
// stream open: the stream ends with a gone event, the talk answers NE 404
// and leaves its list, and NE, added again, is the same member.
func TestRemoveMemberAPI(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	ne, stop := e.stream("NE", w.talk.ID, "", fmt.Sprint(e.talkHead(w.talk.ID)))
	defer stop()
	path := fmt.Sprintf("/api/v1/talks/%d/members/%d", w.talk.ID, w.members["NE"].ID)

	if st, body := e.do("SE", "DELETE", path, nil); st != 403 {
		t.Errorf("DELETE NE as SE = %d %s, want 403", st, body)
	}
	if st, body := e.do("NP", "DELETE", path, nil); st != 204 {
		t.Fatalf("DELETE NE as NP = %d %s, want 204", st, body)
	}
	wantGone(t, "NE", ne, "Talk not found.")
	if st, body := e.do("NE", "GET", fmt.Sprintf("/api/v1/talks/%d", w.talk.ID), nil); st != 404 {
		t.Errorf("GET the talk as NE = %d %s, want 404", st, body)
	}
	var list []Talk
	e.must(200, "NE", "GET", "/api/v1/talks", nil, &list)
	for _, tk := range list {
		if tk.ID == w.talk.ID {
			t.Error("NE's list of talks has the talk")
		}
	}
	if st, body := e.do("NP", "DELETE", path, nil); st != 400 {
		t.Errorf("DELETE NE again = %d %s, want 400", st, body)
	}
	if st, body := e.do("SP", "DELETE", fmt.Sprintf("/api/v1/talks/%d/members/%d", w.talk.ID, w.members["SP"].ID), nil); st != 409 {
		t.Errorf("DELETE SP, the South's last principal, as SP = %d %s, want 409", st, body)
	}

	var m Member
	e.must(201, "NP", "POST", fmt.Sprintf("/api/v1/talks/%d/members", w.talk.ID),
		map[string]any{"user_id": e.users["NE"].ID, "party_id": w.north.ID, "role": "envoy"}, &m)
	if m.ID != w.members["NE"].ID {
		t.Errorf("NE added again is member %d, want %d", m.ID, w.members["NE"].ID)
	}
	e.must(200, "NE", "GET", fmt.Sprintf("/api/v1/talks/%d", w.talk.ID), nil, nil)
}

// TestRequireTrackAPI checks ?require_track= on the event stream: it is
// refused as for a track that does not exist to those who may not see the
// track; it carries the same events as a stream without it; and it ends,
// with a gone event, for a member taken off the track, and for its
// principal who then no longer sees it, whose next stream is refused.
func TestRequireTrackAPI(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	events := func(track any) string {
		return fmt.Sprintf("/api/v1/talks/%d/events?require_track=%v", w.talk.ID, track)
	}
	_, missing := e.do("NE", "GET", events(1<<40), nil)
	_, noTalk := e.do("O", "GET", fmt.Sprintf("/api/v1/talks/%d/events?require_track=%d", 1<<40, w.official.ID), nil)
	for _, c := range []struct {
		user  string
		track any
		want  int
		body  []byte // of a 404
	}{
		{"NA", w.envoys.ID, 404, missing}, {"F", w.envoys.ID, 404, missing}, {"NE", 1 << 40, 404, missing},
		{"O", w.envoys.ID, 404, noTalk}, {"O", w.official.ID, 404, noTalk},
		{"NE", 0, 400, nil}, {"NE", "x", 400, nil},
	} {
		st, body := e.do(c.user, "GET", events(c.track), nil)
		if st != c.want || (c.body != nil && !bytes.Equal(body, c.body)) {
			t.Errorf("the stream bound to track %v as %s = %d %s, want %d %s", c.track, c.user, st, body, c.want, c.body)
		}
	}

	head := fmt.Sprint(e.talkHead(w.talk.ID))
	bound := fmt.Sprintf("?require_track=%d", w.envoys.ID)
	ne, stopNE := e.stream("NE", w.talk.ID, bound, head)
	defer stopNE()
	np, stopNP := e.stream("NP", w.talk.ID, bound, head)
	defer stopNP()
	se, stopSE := e.stream("SE", w.talk.ID, bound, head)
	defer stopSE()
	na, stopNA := e.stream("NA", w.talk.ID, fmt.Sprintf("?require_track=%d", w.official.ID), head)
	defer stopNA()

	// Each carries what a stream without the binding carries.
	e.must(201, "F", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID), map[string]any{"body": "official"}, nil)
	e.must(201, "SE", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.envoys.ID), map[string]any{"body": "secret"}, nil)
	e.must(201, "F", "POST", fmt.Sprintf("/api/v1/talks/%d/parties", w.talk.ID), map[string]any{"name": "Eastland"}, nil)
	for _, s := range []struct {
		who  string
		ch   <-chan sseEvent
		want []int64 // the tracks of its next events; 0 is talk-wide
	}{
		{"NE", ne, []int64{w.official.ID, w.envoys.ID, 0}}, {"NP", np, []int64{w.official.ID, w.envoys.ID, 0}},
		{"SE", se, []int64{w.official.ID, w.envoys.ID, 0}}, {"NA", na, []int64{w.official.ID, 0}},
	} {
		for _, track := range s.want {
			if ev := payload(t, next(t, s.who, s.ch)); ev.TrackID != track {
				t.Errorf("%s: next event %s on track %d, want one on track %d", s.who, ev.Type, ev.TrackID, track)
			}
		}
	}

	e.must(204, "NP", "DELETE", fmt.Sprintf("/api/v1/tracks/%d/members/%d", w.envoys.ID, w.members["NE"].ID), nil, nil)
	if ev := payload(t, next(t, "SE", se)); ev.Type != "track.member_removed" {
		t.Errorf("SE's next event = %s, want track.member_removed", ev.Type)
	}
	for _, s := range []struct {
		who string
		ch  <-chan sseEvent
	}{{"NE", ne}, {"NP", np}} {
		wantGone(t, s.who, s.ch, "Track not found.")
		if st, body := e.do(s.who, "GET", events(w.envoys.ID), nil); st != 404 || !bytes.Equal(body, missing) {
			t.Errorf("%s's next stream bound to the track = %d %s, want 404 %s", s.who, st, body, missing)
		}
	}
	e.must(201, "SE", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.envoys.ID), map[string]any{"body": "secret, after"}, nil)
	if ev := payload(t, next(t, "SE", se)); ev.Type != "message.posted" || ev.TrackID != w.envoys.ID {
		t.Errorf("SE's stream bound to the track: next %s on track %d, want SE's message", ev.Type, ev.TrackID)
	}
}
