package server

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestRehearsalAPI runs a rehearsal and checks the errors of bad input, of
// a party without preferences and of members who may not rehearse.
func TestRehearsalAPI(t *testing.T) {
	e := newEnv(t)
	for _, n := range matrixUsers {
		e.addUser(n)
	}
	x := e.matrixTalk()
	path := fmt.Sprintf("/api/v1/talks/%d/rehearsals", x.talk.ID)

	var r Rehearsal
	e.must(200, "SA", "POST", path, map[string]any{"own_agent": "conceder", "opponent_agent": "TitForTat", "runs": 50, "rounds": 40, "seed": 7}, &r)
	if !r.Estimate || r.Note == "" || r.PartyID != x.parties["S"].ID || r.Runs != 50 || r.Rounds != 40 || r.Seed != 7 ||
		r.OpponentAgent != "titfortat" || len(r.Histogram) != talks.RehearsalBins {
		t.Errorf("POST %s as SA = %+v, want an estimate for the South with the request's settings", path, r)
	}
	sum := 0
	for _, b := range r.Histogram {
		sum += b.Count
	}
	if sum != r.Agreements || (r.Agreements > 0) != (r.Likely != nil) {
		t.Errorf("histogram sums to %d, %d agreements, likely %v", sum, r.Agreements, r.Likely)
	}
	var again Rehearsal
	e.must(200, "SE", "POST", path, map[string]any{"own_agent": "conceder", "opponent_agent": "titfortat", "runs": 50, "rounds": 40, "seed": 7}, &again)
	if !reflect.DeepEqual(again, r) {
		t.Errorf("the same rehearsal twice differs:\n%+v\n%+v", r, again)
	}
	var defaults Rehearsal
	e.must(200, "NP", "POST", path, map[string]any{}, &defaults)
	if defaults.Runs != talks.DefaultRehearsalRuns || defaults.Rounds != talks.DefaultRehearsalRounds || defaults.OwnAgent != "boulware" {
		t.Errorf("POST %s {} = %d runs, %d rounds, %q; want the defaults", path, defaults.Runs, defaults.Rounds, defaults.OwnAgent)
	}

	for _, c := range []struct {
		name, user string
		body       any
		status     int
		code, want string
	}{
		{"unknown field", "NP", map[string]any{"runs": 5, "utility": 1}, 400, "invalid", "utility"},
		{"not JSON", "NP", "runs=5", 400, "invalid", ""},
		{"unknown agent", "NP", map[string]any{"own_agent": "oracle"}, 400, "invalid", `"oracle"`},
		{"too many runs", "NP", map[string]any{"runs": talks.MaxRehearsalRuns + 1}, 400, "invalid", "Runs"},
		{"negative rounds", "NP", map[string]any{"rounds": -1}, 400, "invalid", "Rounds"},
		{"runs not a number", "NP", map[string]any{"runs": "many"}, 400, "invalid", ""},
		{"facilitator", "F", map[string]any{}, 403, "forbidden", ""},
		{"observer", "SO", map[string]any{}, 403, "forbidden", ""},
		{"outsider", "O", map[string]any{}, 404, "not_found", ""},
	} {
		st, body := e.do(c.user, "POST", path, c.body)
		ae := decodeErr(t, body)
		if st != c.status || ae.Code != c.code || !strings.Contains(ae.Message, c.want) {
			t.Errorf("%s: POST %s as %s = %d %s, want %d %s naming %q", c.name, path, c.user, st, body, c.status, c.code, c.want)
		}
	}
	if st, body := e.do("", "POST", path, map[string]any{}); st != 401 {
		t.Errorf("POST %s signed out = %d %s, want 401", path, st, body)
	}

	// A party without preferences is told so; nothing is guessed.
	bare := &talks.Talk{Title: "bare", Space: testSpace(t)}
	mustDo(t, e.svc.CreateTalk(e.as("F"), bare))
	party := &talks.Party{TalkID: bare.ID, Name: "Nland"}
	mustDo(t, e.svc.AddParty(e.as("F"), party))
	mustDo(t, e.svc.AddMember(e.as("F"), &talks.Member{TalkID: bare.ID, UserID: e.users["NP"].ID, PartyID: party.ID, Role: talks.RolePrincipal}))
	bp := fmt.Sprintf("/api/v1/talks/%d/rehearsals", bare.ID)
	st, body := e.do("NP", "POST", bp, map[string]any{})
	if ae := decodeErr(t, body); st != 409 || ae.Code != "conflict" || !strings.Contains(ae.Message, "not entered preferences") {
		t.Errorf("POST %s without preferences = %d %s, want 409 saying so", bp, st, body)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
