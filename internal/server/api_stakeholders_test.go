package server

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// redLinesBody is a stakeholder who cares only for the 1949 line, with
// reserved value 0.5: every other line crosses its red line.
func redLinesBody(reserved any) map[string]any {
	pr := map[string]float64{}
	for i := 0; i <= 1000; i++ {
		pr[fmt.Sprint(i)] = 1
	}
	return map[string]any{"weights": map[string]float64{"line": 1, "prisoners": 0},
		"scores":   map[string]any{"line": map[string]float64{"1949": 1, "1967": 0, "current": 0}, "prisoners": pr},
		"reserved": reserved}
}

// TestStakeholderFlow attaches a stakeholder, saves its red lines, flags a
// version that crosses them to the parties, and ratifies the agreement,
// with the error paths of each handler on the way.
func TestStakeholderFlow(t *testing.T) {
	e := newEnv(t)
	e.addUser("K")
	w := e.world()
	talk := fmt.Sprintf("/api/v1/talks/%d", w.talk.ID)
	k := e.users["K"].ID

	// Attaching.
	for _, c := range []struct {
		user string
		body any
		want int
	}{
		{"NP", map[string]any{"user_id": k}, 403},
		{"O", map[string]any{"user_id": k}, 404},
		{"F", map[string]any{"user_id": 0}, 400},
		{"F", map[string]any{"user_id": 1 << 40}, 400},
		{"F", map[string]any{"user_id": e.users["NE"].ID}, 409},
		{"F", "{", 400},
	} {
		if st, body := e.do(c.user, "POST", talk+"/stakeholders", c.body); st != c.want {
			t.Errorf("POST stakeholders %v as %s = %d %s, want %d", c.body, c.user, st, body, c.want)
		}
	}
	var st Stakeholder
	e.must(201, "F", "POST", talk+"/stakeholders", map[string]any{"user_id": k}, &st)
	if st.UserID != k || st.Decision != "" || st.DecidedAt != nil {
		t.Errorf("attached %+v", st)
	}
	if code, _ := e.do("F", "POST", talk+"/stakeholders", map[string]any{"user_id": k}); code != 409 {
		t.Errorf("attaching twice = %d, want 409", code)
	}

	// Not at the table: no talk, no track, no text, no events.
	for _, p := range []string{talk, talk + "/tracks", talk + "/proposals", talk + "/agreement", talk + "/events",
		fmt.Sprintf("/api/v1/versions/%d", w.officialVersion.ID), fmt.Sprintf("/api/v1/tracks/%d", w.official.ID)} {
		if code, _ := e.do("K", "GET", p, nil); code != 404 {
			t.Errorf("GET %s as the stakeholder = %d, want 404", p, code)
		}
	}

	// Red lines: its own; members may not.
	if code, _ := e.do("NP", "POST", talk+"/red-lines", redLinesBody(0.5)); code != 403 {
		t.Errorf("POST red-lines as a principal = %d, want 403", code)
	}
	if code, _ := e.do("NP", "GET", talk+"/red-lines", nil); code != 403 {
		t.Errorf("GET red-lines as a principal = %d, want 403", code)
	}
	for name, body := range map[string]any{"no reserved": redLinesBody(nil), "reserved 2": redLinesBody(2),
		"unknown issue": map[string]any{"weights": map[string]float64{"river": 1}, "scores": map[string]any{}, "reserved": 0.5}} {
		if code, got := e.do("K", "POST", talk+"/red-lines", body); code != 400 {
			t.Errorf("POST red-lines (%s) = %d %s, want 400", name, code, got)
		}
	}
	var rl RedLines
	e.must(201, "K", "POST", talk+"/red-lines", redLinesBody(0.515151), &rl)
	if rl.Version != 1 || rl.Reserved != 0.515151 {
		t.Errorf("saved %+v", rl)
	}
	var hist RedLinesHistory
	e.must(200, "K", "GET", talk+"/red-lines", nil, &hist)
	if len(hist.Versions) != 1 || hist.UserID != k {
		t.Errorf("history %+v", hist)
	}

	// The parties see one bit: the current line crosses a red line.
	var ver VersionFlagged
	e.must(200, "NP", "GET", fmt.Sprintf("/api/v1/versions/%d", w.officialVersion.ID), nil, &ver)
	if !ver.CrossesRedLine {
		t.Errorf("the official version (current line) does not cross the red line")
	}
	_, body := e.do("NP", "GET", fmt.Sprintf("/api/v1/versions/%d", w.officialVersion.ID), nil)
	_, events := e.do("NP", "GET", talk+"/stakeholders", nil)
	for _, b := range [][]byte{body, events} {
		if bytes.Contains(b, []byte("0.515151")) {
			t.Errorf("a member's answer holds the stakeholder's reserved value: %s", b)
		}
	}

	// Nothing to ratify before the parties agree.
	if code, _ := e.do("K", "GET", talk+"/ratification", nil); code != 404 {
		t.Errorf("GET ratification before agreement = %d, want 404", code)
	}
	if code, _ := e.do("K", "POST", talk+"/ratification", map[string]any{"decision": "ratify"}); code != 409 {
		t.Errorf("POST ratification before agreement = %d, want 409", code)
	}
	for _, who := range []string{"NP", "SP"} {
		e.must(201, who, "POST", fmt.Sprintf("/api/v1/versions/%d/answers", w.officialVersion.ID), map[string]any{"kind": "accept"}, nil)
	}
	var rat Ratification
	e.must(200, "K", "GET", talk+"/ratification", nil, &rat)
	if rat.Status != "agreed" || rat.Version.ID != w.officialVersion.ID || rat.Version.Values["line"] != "current" {
		t.Errorf("ratification %+v", rat)
	}
	if code, _ := e.do("NP", "GET", talk+"/ratification", nil); code != 403 {
		t.Errorf("GET ratification as a principal = %d, want 403", code)
	}
	for _, c := range []struct {
		body any
		want int
	}{
		{map[string]any{"decision": "maybe"}, 400},
		{map[string]any{"decision": "reject"}, 400}, // a rejection needs a comment
		{map[string]any{"decision": "ratify", "comment": string(bytes.Repeat([]byte("x"), talks.MaxCommentLen+1))}, 400},
		{map[string]any{"decision": "ratify", "extra": 1}, 400},
	} {
		if code, got := e.do("K", "POST", talk+"/ratification", c.body); code != c.want {
			t.Errorf("POST ratification %.60v = %d %s, want %d", c.body, code, got, c.want)
		}
	}
	if code, _ := e.do("NP", "POST", talk+"/ratification", map[string]any{"decision": "ratify"}); code != 403 {
		t.Errorf("POST ratification as a principal = %d, want 403", code)
	}
	e.must(200, "K", "POST", talk+"/ratification", map[string]any{"decision": "ratify", "comment": "The committee concurs."}, &rat)
	if rat.Status != "ratified" || rat.Own.Decision != "ratify" || rat.Own.DecidedAt == nil {
		t.Errorf("after ratifying: %+v", rat)
	}
	if code, _ := e.do("K", "POST", talk+"/ratification", map[string]any{"decision": "reject", "comment": "no"}); code != 409 {
		t.Errorf("ratifying twice = %d, want 409", code)
	}
	var tk Talk
	e.must(200, "NE", "GET", talk, nil, &tk)
	if tk.Status != "ratified" {
		t.Errorf("talk status = %q, want ratified", tk.Status)
	}
	var sts []Stakeholder
	e.must(200, "NE", "GET", talk+"/stakeholders", nil, &sts)
	if len(sts) != 1 || sts[0].Comment != "The committee concurs." {
		t.Errorf("stakeholders seen by an envoy = %+v", sts)
	}
}

// TestReopenFlow: a stakeholder rejects the agreement, the convener reopens
// the talk, and the parties agree again over the API; the events say so.
func TestReopenFlow(t *testing.T) {
	e := newEnv(t)
	e.addUser("K")
	w := e.world()
	talk := fmt.Sprintf("/api/v1/talks/%d", w.talk.ID)
	answers := fmt.Sprintf("/api/v1/versions/%d/answers", w.officialVersion.ID)
	e.must(201, "F", "POST", talk+"/stakeholders", map[string]any{"user_id": e.users["K"].ID}, nil)
	for _, who := range []string{"NP", "SP"} {
		e.must(201, who, "POST", answers, map[string]any{"kind": "accept"}, nil)
	}
	if code, _ := e.do("F", "POST", talk+"/reopen", nil); code != 409 {
		t.Errorf("reopening before a rejection = %d, want 409", code)
	}
	e.must(200, "K", "POST", talk+"/ratification", map[string]any{"decision": "reject", "comment": "The line crosses ours."}, nil)
	for who, want := range map[string]int{"NP": 403, "K": 404, "O": 404} {
		if code, _ := e.do(who, "POST", talk+"/reopen", nil); code != want {
			t.Errorf("reopening as %s = %d, want %d", who, code, want)
		}
	}
	var tk Talk
	e.must(200, "F", "POST", talk+"/reopen", nil, &tk)
	if tk.Status != "open" || tk.ID != w.talk.ID {
		t.Errorf("reopened %+v", tk)
	}
	if code, _ := e.do("NP", "GET", talk+"/agreement", nil); code != 404 {
		t.Errorf("GET agreement after reopening = %d, want 404", code)
	}
	var sts []Stakeholder
	e.must(200, "NE", "GET", talk+"/stakeholders", nil, &sts)
	if len(sts) != 1 || sts[0].Decision != "" || sts[0].DecidedAt != nil {
		t.Errorf("stakeholders after reopening = %+v", sts)
	}
	evs, err := e.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs[len(evs)-3:] {
		types = append(types, ev.Type)
	}
	if fmt.Sprint(types) != "[answer.withdrawn answer.withdrawn talk.reopened]" {
		t.Errorf("last events = %v", types)
	}

	// The parties answer afresh; the stakeholder decides on the new
	// agreement.
	for _, who := range []string{"NP", "SP"} {
		e.must(201, who, "POST", answers, map[string]any{"kind": "accept"}, nil)
	}
	var rat Ratification
	e.must(200, "K", "POST", talk+"/ratification", map[string]any{"decision": "ratify"}, &rat)
	if rat.Status != "ratified" {
		t.Errorf("after agreeing and ratifying again: %+v", rat)
	}
	// The rejection stays, as the round it ended, for members and the
	// stakeholder alike; only members learn who reopened the talk.
	for who, by := range map[string]int64{"NE": e.users["F"].ID, "K": 0} {
		var rounds []RatificationRound
		e.must(200, who, "GET", talk+"/rounds", nil, &rounds)
		if len(rounds) != 1 || rounds[0].ReopenedBy != by || len(rounds[0].Decisions) != 1 ||
			rounds[0].Decisions[0].Decision != "reject" || rounds[0].Decisions[0].Comment != "The line crosses ours." {
			t.Errorf("GET rounds as %s = %+v", who, rounds)
		}
	}
	if code, _ := e.do("O", "GET", talk+"/rounds", nil); code != 404 {
		t.Errorf("GET rounds as an outsider = %d, want 404", code)
	}

	// The record, reopening and all, verifies offline.
	code, body := e.do("NE", "GET", talk+"/record", nil)
	if code != 200 {
		t.Fatalf("GET record = %d %s", code, body)
	}
	b, err := ledger.ParseBundle(body)
	if err != nil {
		t.Fatalf("ParseBundle: %v", err)
	}
	if r, err := ledger.Verify(b, ledger.VerifyOptions{ServerKey: e.key.VerifierKey()}); err != nil || !r.OK() {
		t.Errorf("Verify(record) = %v, %v; want OK", r.Failures, err)
	}
}
