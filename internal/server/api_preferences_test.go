package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestPreferencesAPI saves, reads and imports preferences and asks for
// suggestions, and checks the errors of bad input.
func TestPreferencesAPI(t *testing.T) {
	e := newEnv(t)
	for _, n := range matrixUsers {
		e.addUser(n)
	}
	x := e.matrixTalk()
	prefs := fmt.Sprintf("/api/v1/talks/%d/preferences", x.talk.ID)

	var saved Preferences
	e.must(201, "NE", "POST", prefs, preferencesBody(x), &saved)
	if saved.Version != 2 || saved.PartyID != x.parties["N"].ID || len(saved.Digest) != 64 {
		t.Errorf("POST %s = version %d of party %d digest %q, want version 2 of the North", prefs, saved.Version, saved.PartyID, saved.Digest)
	}
	var hist PreferencesHistory
	e.must(200, "NA", "GET", prefs, nil, &hist)
	if len(hist.Versions) != 2 || hist.Versions[0].Reserved != northSecret {
		t.Errorf("GET %s as NA = %+v, want the North's two versions", prefs, hist)
	}
	var imported Preferences
	e.must(201, "NP", "POST", prefs+"/import", map[string]any{"profile": matrixProfile()}, &imported)
	if imported.Version != 3 || imported.Reserved != 0.2 {
		t.Errorf("import = version %d reserved %g, want 3 and 0.2", imported.Version, imported.Reserved)
	}

	for _, c := range []struct {
		name, path string
		body       any
		want       string
	}{
		{"unknown field", prefs, map[string]any{"weights": map[string]any{}, "scores": map[string]any{}, "reserved": 0.1, "utility": 1}, "utility"},
		{"no reserved value", prefs, map[string]any{"weights": map[string]any{}, "scores": map[string]any{}}, "Reserved value required."},
		{"unknown issue", prefs, map[string]any{"weights": map[string]any{"line": 1, "prisoners": 1, "oil": 1}, "scores": matrixPreferences("N").Scores, "reserved": 0.1}, `Weight for unknown issue "oil".`},
		{"bad profile", prefs + "/import", map[string]any{"format": "genius", "profile": "<utility_space>\n<issue name=\"oil\""}, "line"},
		{"unknown format", prefs + "/import", map[string]any{"format": "csv", "profile": "x"}, "csv"},
	} {
		st, body := e.do("NP", "POST", c.path, c.body)
		ae := decodeErr(t, body)
		if st != 400 || ae.Code != "invalid" || !strings.Contains(ae.Message, c.want) {
			t.Errorf("%s: POST %s = %d %s, want 400 naming %q", c.name, c.path, st, body, c.want)
		}
	}

	var stand Standing
	e.must(200, "SA", "GET", fmt.Sprintf("/api/v1/talks/%d/standing", x.talk.ID), nil, &stand)
	if stand.PartyID != x.parties["S"].ID || len(stand.Versions) != 2 || len(stand.MissingParties) != 0 {
		t.Errorf("standing as SA = %+v, want the South's, of the two versions SA sees", stand)
	}
	if v := stand.Versions[0]; v.Efficiency != "efficient" && v.Efficiency != "joint_gain" && v.Efficiency != "weak_gain" {
		t.Errorf("efficiency = %q", v.Efficiency)
	}

	sugg := fmt.Sprintf("/api/v1/versions/%d/suggestions", x.version.ID)
	var raw struct {
		Suggestions []map[string]json.RawMessage `json:"suggestions"`
	}
	e.must(200, "F", "GET", sugg, nil, &raw)
	for _, s := range raw.Suggestions {
		if _, ok := s["gain"]; ok {
			t.Errorf("a facilitator's suggestion has a gain: %v", s)
		}
	}
	st, body := e.do("O", "GET", sugg, nil)
	if st != 404 {
		t.Errorf("GET %s as an outsider = %d %s, want 404", sugg, st, body)
	}
}
