package server

import (
	"fmt"
	"testing"
)

// TestMandatesAPI sets a mandate for NE through the API and checks its
// errors, and that NE's counter and acceptance outside it are refused with
// a message that names the limit and write nothing.
func TestMandatesAPI(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	ne := w.members["NE"].ID
	path := fmt.Sprintf("/api/v1/talks/%d/mandates/%d", w.talk.ID, ne)

	for _, c := range []struct {
		name, user string
		path       string
		body       any
		status     int
		code       string
	}{
		{"unknown field", "NP", path, map[string]any{"allowed": map[string]any{}, "max": 1}, 400, "invalid"},
		{"unknown value", "NP", path, map[string]any{"allowed": map[string][]string{"line": {"1900"}}}, 400, "invalid"},
		{"no preferences for a minimum", "NP", path, map[string]any{"min_utility": 0.5}, 400, "invalid"},
		{"envoy sets its own", "NE", path, map[string]any{}, 403, "forbidden"},
		{"advisor", "NA", path, map[string]any{}, 403, "forbidden"},
		{"facilitator", "F", path, map[string]any{}, 403, "forbidden"},
		{"other party's principal", "SP", path, map[string]any{}, 404, "not_found"},
		{"not an envoy", "NP", fmt.Sprintf("/api/v1/talks/%d/mandates/%d", w.talk.ID, w.members["NA"].ID), map[string]any{}, 404, "not_found"},
		{"outsider", "O", path, map[string]any{}, 404, "not_found"},
	} {
		head := e.talkHead(w.talk.ID)
		st, body := e.do(c.user, "PUT", c.path, c.body)
		if st != c.status || decodeErr(t, body).Code != c.code {
			t.Errorf("%s: PUT = %d %s, want %d %s", c.name, st, body, c.status, c.code)
		}
		if e.talkHead(w.talk.ID) != head {
			t.Errorf("%s: a refused PUT changed the log", c.name)
		}
	}

	var m Mandate
	e.must(200, "NP", "PUT", path, map[string]any{"allowed": map[string][]string{"line": {"current", "1967", "current"}}}, &m)
	if m.Version != 1 || fmt.Sprint(m.Allowed["line"]) != "[1967 current]" || m.MinUtility != nil {
		t.Errorf("PUT = %+v, want version 1 allowing [1967 current]", m)
	}
	var got Mandate
	e.must(200, "NE", "GET", path, nil, &got)
	if got.Version != 1 || fmt.Sprint(got.Allowed["line"]) != "[1967 current]" {
		t.Errorf("GET as NE = %+v", got)
	}
	var list []Mandate
	e.must(200, "NA", "GET", fmt.Sprintf("/api/v1/talks/%d/mandates", w.talk.ID), nil, &list)
	if len(list) != 1 || list[0].EnvoyID != ne {
		t.Errorf("list as NA = %+v, want NE's", list)
	}

	const want = "Your mandate allows line: 1967 or current."
	head := e.talkHead(w.talk.ID)
	st, body := e.do("NE", "POST", fmt.Sprintf("/api/v1/versions/%d/counter", w.officialVersion.ID),
		map[string]any{"values": map[string]string{"line": "1949", "prisoners": "100"}})
	if ae := decodeErr(t, body); st != 403 || ae.Code != "forbidden" || ae.Message != want {
		t.Errorf("counter outside the mandate = %d %s, want 403 %q", st, body, want)
	}
	if e.talkHead(w.talk.ID) != head {
		t.Errorf("a refused counter changed the log")
	}
	e.must(200, "NP", "PUT", path, map[string]any{"allowed": map[string][]string{"line": {"1949"}}}, nil)
	head = e.talkHead(w.talk.ID)
	st, body = e.do("NE", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", w.officialVersion.ID), map[string]any{"kind": "accept"})
	if ae := decodeErr(t, body); st != 403 || ae.Message != "Your mandate allows line: 1949." {
		t.Errorf("accept outside the mandate = %d %s, want 403", st, body)
	}
	if e.talkHead(w.talk.ID) != head {
		t.Errorf("a refused acceptance changed the log")
	}
	// A principal is not limited.
	e.must(201, "NP", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", w.officialVersion.ID), map[string]any{"kind": "accept"}, nil)
}
