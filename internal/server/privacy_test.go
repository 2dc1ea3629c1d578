package server

import (
	"fmt"
	"strings"
	"testing"
)

// TestPrivacyDifferential reads every GET route of the matrix talk as
// everyone outside the North's principal, envoys and advisors, then the
// North changes its preferences and its envoy's mandate, and they read
// again: no answer may change, except those the issue allows to follow
// the parties' preferences (the suggestions, and a party's own standing)
// and those about the log itself (its size grows by events they do not
// see, whose payloads are only salted digests).
func TestPrivacyDifferential(t *testing.T) {
	e := newEnv(t)
	for _, n := range matrixUsers {
		e.addUser(n)
	}
	x := e.matrixTalk()
	// Routes whose answers may follow the North's change, or that name
	// nothing of a talk.
	allowed := map[string]bool{
		"GET /api/v1/versions/{id}/suggestions":     true, // whether every party gains: allowed
		"GET /api/v1/talks/{id}/standing":           true, // the efficiency of each version: allowed
		"GET /api/v1/talks/{id}/events":             true, // a stream; checkBacklog in the matrix
		"GET /api/v1/talks/{id}/checkpoint":         true, // the log's size and root
		"GET /api/v1/talks/{id}/consistency":        true,
		"GET /api/v1/talks/{id}/events/{seq}/proof": true,
		"GET /api/v1/talks/{id}/record":             true, // hidden leaves carry only their hash
		"GET /api/v1/talks/{id}/preferences":        true, // the caller's own party's
		"GET /api/v1/talks/{id}/mandates":           true, // the caller's own party's
		"GET /api/v1/talks/{id}/mandates/{envoy}":   true,
		"GET /api/v1/talks/{id}/red-lines":          true, // the stakeholder's own
		"GET /api/v1/invitations/preview":           true, // public, named by a token
		"GET /api/v1/openapi.json":                  true,
		"GET /api/v1/me":                            true,
		"GET /api/v1/me/talks/events":               true, // a stream of the caller's own talks (TestMyTalksStream)
		"GET /api/v1/tokens":                        true,
	}
	type read struct{ user, key, path string }
	var reads []read
	for _, rt := range e.srv.routes() {
		key := rt.Method + " " + rt.Path
		if rt.Method != "GET" || allowed[key] {
			continue
		}
		rule := matrixRules[key]
		targets := x.targets[rt.Param]
		if rule.targets != nil {
			targets = rule.targets(x)
		}
		if rt.Param == "" {
			targets = []target{{}}
		}
		for _, tg := range targets {
			p := strings.Replace(rt.Path, "{id}", fmt.Sprint(tg.id), 1)
			if rule.path != nil {
				p = rule.path(x, tg)
			}
			for _, c := range matrixCases {
				if c.readsPrefs() && c.party == "N" {
					continue
				}
				reads = append(reads, read{c.user, key, p})
			}
		}
	}
	t.Logf("%d reads", len(reads))
	if len(reads) < 100 {
		t.Fatalf("only %d reads; the routes table has lost its resources", len(reads))
	}
	before := make([]string, len(reads))
	for i, r := range reads {
		st, body := e.do(r.user, "GET", r.path, nil)
		before[i] = fmt.Sprintf("%d %s", st, body)
	}

	pr := matrixPreferences("N")
	pr.TalkID, pr.PartyID, pr.Reserved = x.talk.ID, x.parties["N"].ID, 0.8
	pr.Weights = map[string]float64{"line": 0.05, "prisoners": 0.95}
	if err := e.svc.SavePreferences(e.as("NP"), pr); err != nil {
		t.Fatal(err)
	}
	m := matrixMandate(x)
	min := 0.5
	m.MinUtility, m.Allowed = &min, map[string][]string{"line": {"1949"}}
	if err := e.svc.SaveMandate(e.as("NP"), m); err != nil {
		t.Fatal(err)
	}

	for i, r := range reads {
		st, body := e.do(r.user, "GET", r.path, nil)
		if got := fmt.Sprintf("%d %s", st, body); got != before[i] {
			t.Errorf("%s as %s changed when the North changed its preferences and mandate:\nbefore %s\nafter  %s", r.path, r.user, before[i], got)
		}
	}
}
