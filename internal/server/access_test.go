package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestAccessMatrix walks every route of the routes table that names a
// resource of a talk and runs it, with a valid body, as each case outside
// the resource's view: the outsider O on everything of the talk, and the
// advisor NA (a member, but not on the back-channel) on everything of the
// back-channel. Each must answer 404 with the very body that a resource that
// does not exist gets, return none of the back-channel's text, and append no
// event. The members inside (NE on the back-channel, NP its principal, F
// the facilitator on the talk) read the same resources with 200, which shows
// the placeholders are real.
func TestAccessMatrix(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	const missing = 987654321

	// Valid bodies of the write routes, so that a 404 is about access.
	values := map[string]string{"line": "1949", "prisoners": "7"}
	bodies := map[string]any{
		"PATCH /api/v1/talks/{id}":            map[string]any{"title": "renamed"},
		"POST /api/v1/talks/{id}/parties":     map[string]any{"name": "Eastland"},
		"POST /api/v1/talks/{id}/members":     map[string]any{"user_id": e.users["O"].ID, "role": "observer"},
		"POST /api/v1/talks/{id}/tracks":      map[string]any{"name": "side", "member_ids": []int64{w.members["NA"].ID}},
		"POST /api/v1/tracks/{id}/members":    map[string]any{"member_id": w.members["NP"].ID},
		"POST /api/v1/tracks/{id}/messages":   map[string]any{"body": "hello"},
		"POST /api/v1/tracks/{id}/proposals":  map[string]any{"title": "t", "values": values},
		"POST /api/v1/versions/{id}/counter":  map[string]any{"values": values},
		"POST /api/v1/versions/{id}/answers":  map[string]any{"kind": "accept"},
		"POST /api/v1/messages/{id}/retract":  nil,
		"POST /api/v1/answers/{id}/withdraw":  nil,
		"POST /api/v1/talks/{id}/invitations": map[string]any{"party_id": w.north.ID, "role": "envoy"},
		"DELETE /api/v1/invitations/{id}":     nil,
		"POST /api/v1/tracks/{id}/meetings":   map[string]any{"title": "t", "start": "2025-07-01T10:00:00Z", "duration_minutes": 60},
		"PATCH /api/v1/meetings/{id}":         map[string]any{"title": "renamed"},
	}
	// An invitation to the north, which only F and NP may see and revoke.
	inv, err := e.svc.CreateInvitation(e.as("F"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleEnvoy})
	if err != nil {
		t.Fatal(err)
	}
	// A meeting in the back-channel and one in the official track.
	bcMeeting := &talks.Meeting{TrackID: w.envoys.ID, Title: "secret meeting", Start: time.Now(), Duration: time.Hour}
	if err := e.svc.ScheduleMeeting(e.as("NE"), bcMeeting); err != nil {
		t.Fatal(err)
	}
	officialMeeting := &talks.Meeting{TrackID: w.official.ID, Title: "plenary", Start: time.Now(), Duration: time.Hour}
	if err := e.svc.ScheduleMeeting(e.as("F"), officialMeeting); err != nil {
		t.Fatal(err)
	}
	// The back-channel's resource of each kind, and the talk.
	bcIDs := map[string]int64{
		"talk":     w.talk.ID,
		"track":    w.envoys.ID,
		"message":  w.bcMsg.ID,
		"proposal": w.proposal.ID,
		"version":  w.version.ID,
		"answer":   w.answer.ID,

		"invitation": inv.ID,
		"meeting":    bcMeeting.ID,
	}
	officialIDs := map[string]int64{
		"talk":     w.talk.ID,
		"track":    w.official.ID,
		"message":  w.officialMsg.ID,
		"proposal": w.officialProposal.ID,
		"version":  w.officialVersion.ID,
		"meeting":  officialMeeting.ID,
	}
	path := func(rt route, id int64, diffVersion int64) string {
		p := strings.Replace(rt.Path, "{id}", fmt.Sprint(id), 1)
		if strings.HasSuffix(rt.Path, "/diff") {
			p += fmt.Sprintf("?a=%d&b=%d", diffVersion, w.officialVersion.ID)
		}
		return p
	}
	secrets := []string{"secret", "envoys"}

	n := 0
	for _, rt := range e.srv.routes() {
		if rt.Param == "" || rt.Param == "token" {
			continue
		}
		key := rt.Method + " " + rt.Path
		body, hasBody := bodies[key]
		if rt.Method != "GET" && !hasBody {
			t.Errorf("%s: no body in the access matrix; add one", key)
			continue
		}
		type kase struct {
			user string
			id   int64
			diff int64 // version a of a diff
		}
		var cases []kase
		// The outsider, on the back-channel's and the official track's
		// resources alike.
		cases = append(cases, kase{"O", bcIDs[rt.Param], w.version.ID})
		if id, ok := officialIDs[rt.Param]; ok && rt.Param != "talk" {
			cases = append(cases, kase{"O", id, w.officialVersion.ID})
		}
		// The member outside the back-channel, on its resources (and a
		// diff that names its version).
		if rt.Param != "talk" {
			cases = append(cases, kase{"NA", bcIDs[rt.Param], 0})
		} else if strings.HasSuffix(rt.Path, "/diff") {
			cases = append(cases, kase{"NA", w.talk.ID, w.version.ID})
		}
		for _, c := range cases {
			n++
			p := path(rt, c.id, c.diff)
			before := e.eventCount(w.talk.ID)
			st, got := e.do(c.user, rt.Method, p, body)
			if st != 404 {
				t.Errorf("%s %s as %s = %d %s, want 404", rt.Method, p, c.user, st, got)
				continue
			}
			pm := path(rt, missing, c.diff)
			if c.diff != 0 && strings.HasSuffix(rt.Path, "/diff") && c.user == "NA" {
				pm = path(rt, w.talk.ID, missing)
			}
			if _, want := e.do(c.user, rt.Method, pm, body); !bytes.Equal(got, want) {
				t.Errorf("%s %s as %s = %s; for what does not exist %s; want the same", rt.Method, p, c.user, got, want)
			}
			for _, s := range secrets {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("%s %s as %s leaks %q: %s", rt.Method, p, c.user, s, got)
				}
			}
			if after := e.eventCount(w.talk.ID); after != before {
				t.Errorf("%s %s as %s appended %d events", rt.Method, p, c.user, after-before)
			}
		}

		// Those inside read it.
		if rt.Method == "GET" && !strings.HasSuffix(rt.Path, "/events") && rt.Param != "answer" && !strings.HasSuffix(rt.Path, "/agreement") {
			for _, user := range []string{"NE", "SP"} {
				if st, got := e.do(user, "GET", path(rt, bcIDs[rt.Param], w.version.ID), nil); st != 200 {
					t.Errorf("GET %s as %s (inside) = %d %s, want 200", path(rt, bcIDs[rt.Param], w.version.ID), user, st, got)
				}
			}
		}
	}
	if n < 30 {
		t.Errorf("access matrix ran %d cases; the routes table has lost its resources", n)
	}

	// Lists a member outside the back-channel reads leave it out.
	for _, rt := range e.srv.routes() {
		if rt.Method != "GET" || rt.Param != "talk" || strings.HasSuffix(rt.Path, "/events") || strings.HasSuffix(rt.Path, "/diff") {
			continue
		}
		p := path(rt, w.talk.ID, 0)
		st, got := e.do("NA", "GET", p, nil)
		if st != 200 && st != 404 {
			t.Errorf("GET %s as NA = %d %s", p, st, got)
		}
		for _, s := range secrets {
			if bytes.Contains(got, []byte(s)) {
				t.Errorf("GET %s as NA leaks %q: %s", p, s, got)
			}
		}
	}

	// An agreement reached in the back-channel does not exist for NA.
	e.must(201, "NE", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", w.version.ID), map[string]any{"kind": "accept"}, nil)
	e.must(204, "SE", "POST", fmt.Sprintf("/api/v1/answers/%d/withdraw", w.answer.ID), nil, nil)
	e.must(201, "SE", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", w.version.ID), map[string]any{"kind": "accept"}, nil)
	agreement := fmt.Sprintf("/api/v1/talks/%d/agreement", w.talk.ID)
	e.must(200, "SP", "GET", agreement, nil, nil)
	st, got := e.do("NA", "GET", agreement, nil)
	if st != 404 || !bytes.Contains(got, []byte("Agreement not found.")) {
		t.Errorf("GET %s as NA = %d %s, want 404 as if there were none", agreement, st, got)
	}
}
