package server

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestConveneFromDomain convenes talks whose outcome space is a GENIUS XML
// domain file and the same domain as GeniusWeb JSON, and checks that a file
// that does not parse, a format without a file, and issues with a file are
// refused with a clear message and create no talk.
func TestConveneFromDomain(t *testing.T) {
	e := newEnv(t)
	xml, err := os.ReadFile("../../examples/domains/Laptop/laptop_domain.xml")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := genius.ReadDomain(bytes.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	var web bytes.Buffer
	if err := genius.WriteWebDomain(&web, sp); err != nil {
		t.Fatal(err)
	}
	want := apiIssues(sp)
	if len(want) != 3 {
		t.Fatalf("the Laptop domain has %d issues, want 3", len(want))
	}
	for _, tc := range []struct{ name, format, domain string }{
		{"genius", "genius", string(xml)},
		{"geniusweb", "geniusweb", web.String()},
		{"genius, guessed", "", string(xml)},
		{"geniusweb, guessed", "", web.String()},
	} {
		st, body := e.do("F", "POST", "/api/v1/talks", map[string]any{"title": "Laptop " + tc.name, "domain": tc.domain, "format": tc.format})
		if st != 201 {
			t.Fatalf("%s: POST /api/v1/talks = %d %s, want 201", tc.name, st, body)
		}
		var got Talk
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if g, w := mustJSON(t, got.Issues), mustJSON(t, want); g != w {
			t.Errorf("%s: issues %s, want %s", tc.name, g, w)
		}
	}

	talksOf := func() int {
		_, body := e.do("F", "GET", "/api/v1/talks?limit=1000", nil)
		var ts []Talk
		if err := json.Unmarshal(body, &ts); err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	n := talksOf()
	broken := strings.Replace(string(xml), "</issue>", "", 1)
	for _, tc := range []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"broken XML", map[string]any{"title": "x", "domain": broken}, "line"},
		{"a profile, not a domain", map[string]any{"title": "x", "domain": "<utility_space></utility_space>"}, "this is a profile"},
		{"XML said to be JSON", map[string]any{"title": "x", "domain": string(xml), "format": "geniusweb"}, "Domain:"},
		{"unknown format", map[string]any{"title": "x", "domain": string(xml), "format": "yaml"}, `"yaml"`},
		{"format without a domain", map[string]any{"title": "x", "format": "genius"}, "needs a domain"},
		{"issues and a domain", map[string]any{"title": "x", "domain": string(xml), "issues": []Issue{{Name: "a", Kind: "discrete", Values: []string{"1"}}}}, "not both"},
	} {
		st, body := e.do("F", "POST", "/api/v1/talks", tc.body)
		ae := decodeErr(t, body)
		if st != 400 || ae.Code != talks.EINVALID || !strings.Contains(ae.Message, tc.msg) {
			t.Errorf("%s: POST /api/v1/talks = %d %+v, want 400 invalid with %q", tc.name, st, ae, tc.msg)
		}
	}
	if got := talksOf(); got != n {
		t.Errorf("%d talks after the refused requests, want %d", got, n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
