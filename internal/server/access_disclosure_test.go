package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// The access matrix of disclosure and hand-off. The matrix talk has no
// agreement (and cannot agree in its back-channel: the West has no one on
// it), so these routes run against a second talk, seeded on first use with
// the same people in the same roles, agreed in its official track, with a
// disclosure plan proposed by NP (revision 1) and not yet consented to.

// agreedTargets returns the agreed talk of x, seeding it on first use.
func (x *matrixTalk) agreedTargets() []target {
	if x.agreed != nil {
		return x.agreed
	}
	e := x.env
	t := e.t
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("agreed matrix talk: %s: %v", what, err)
		}
	}
	tk := &talks.Talk{Title: talkTitle + " agreed", Space: testSpace(t)}
	ok("CreateTalk", e.svc.CreateTalk(e.as("F"), tk))
	parties := map[string]*talks.Party{}
	for _, p := range []string{"N", "S", "W"} {
		parties[p] = &talks.Party{TalkID: tk.ID, Name: p + "land"}
		ok("AddParty", e.svc.AddParty(e.as("F"), parties[p]))
	}
	for _, c := range matrixCases {
		if c.inTalk() && c.user != "F" {
			ok("AddMember", e.svc.AddMember(e.as("F"), &talks.Member{TalkID: tk.ID, UserID: e.users[c.user].ID, PartyID: parties[c.party].ID, Role: c.role}))
		}
	}
	tracks, err := e.svc.FindTracks(e.as("F"), tk.ID)
	ok("FindTracks", err)
	p := &talks.Proposal{TrackID: tracks[0].ID, Title: "final"}
	v := &talks.Version{Values: map[string]string{"line": "1967", "prisoners": "300"}}
	ok("CreateProposal", e.svc.CreateProposal(e.as("F"), p, v))
	for _, u := range []string{"NP", "SE", "WP"} {
		ok("AnswerVersion", e.svc.AnswerVersion(e.as(u), &talks.Answer{VersionID: v.ID, Kind: talks.AnswerAccept}))
	}
	ok("ProposeDisclosure", e.svc.ProposeDisclosure(e.as("NP"), &talks.Disclosure{TalkID: tk.ID, Embargo: time.Now(),
		Terms: []talks.DisclosureTerm{{Issue: "line"}}}))
	x.agreed = []target{{scope: scopeTalk, id: tk.ID}}
	return x.agreed
}

func principal(c matrixCase) bool { return c.role == talks.RolePrincipal && c.party != "" }

func init() {
	agreed := func(x *matrixTalk) []target { return x.agreedTargets() }
	byPrincipal := func(c matrixCase, _ target) int { return allow(principal(c)) }
	matrixRules["GET /api/v1/talks/{id}/agreement/reads"] = matrixRule{targets: agreed, may: byPrincipal}
	matrixRules["GET /api/v1/talks/{id}/disclosure"] = matrixRule{targets: agreed}
	matrixRules["PUT /api/v1/talks/{id}/disclosure"] = matrixRule{targets: agreed, may: byPrincipal,
		body: func(*matrixTalk) any {
			return map[string]any{"terms": []map[string]string{{"issue": "prisoners"}}, "embargo": "2025-01-01T00:00:00Z"}
		}}
	matrixRules["POST /api/v1/talks/{id}/disclosure/consent"] = matrixRule{targets: agreed, may: byPrincipal,
		body: func(*matrixTalk) any { return map[string]any{"revision": 1} }}
	matrixRules["GET /api/v1/talks/{id}/handoff"] = matrixRule{targets: agreed, // nothing was carried
		may: func(matrixCase, target) int { return notFound }}
	matrixRules["POST /api/v1/talks/{id}/handoff"] = matrixRule{targets: agreed,
		body: func(*matrixTalk) any { return map[string]any{"title": "carried"} },
		may: func(c matrixCase, _ target) int { // the agreement is already official
			if principal(c) {
				return conflict
			}
			return refused
		}}
	talkFreeRoutes["GET /api/v1/public/talks/{id}"] = "public, no user: TestPublicDisclosure checks it shows only the published terms"
}

// disclosureWorld is a talk agreed in a back-channel that all three of its
// parties' envoys are on, with its secrets in every text of the
// back-channel and names of members that must never be public.
type disclosureWorld struct {
	*env
	talk    *talks.Talk
	bc      *talks.Track
	version *talks.Version
}

func newDisclosureWorld(t *testing.T) *disclosureWorld {
	e := newEnv(t)
	w := &disclosureWorld{env: e}
	w.talk = &talks.Talk{Title: "Ceasefire public", Description: "private description", Space: testSpace(t)}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("CreateTalk", e.svc.CreateTalk(e.as("F"), w.talk))
	n := &talks.Party{TalkID: w.talk.ID, Name: "Northland"}
	s := &talks.Party{TalkID: w.talk.ID, Name: "Southland"}
	must("AddParty", e.svc.AddParty(e.as("F"), n))
	must("AddParty", e.svc.AddParty(e.as("F"), s))
	ms := map[string]*talks.Member{}
	for _, m := range []struct {
		u string
		p *talks.Party
		r talks.Role
	}{{"NP", n, talks.RolePrincipal}, {"NE", n, talks.RoleEnvoy}, {"NA", n, talks.RoleAdvisor}, {"SP", s, talks.RolePrincipal}, {"SE", s, talks.RoleEnvoy}} {
		ms[m.u] = &talks.Member{TalkID: w.talk.ID, UserID: e.users[m.u].ID, PartyID: m.p.ID, Role: m.r}
		must("AddMember", e.svc.AddMember(e.as("F"), ms[m.u]))
	}
	w.bc = &talks.Track{TalkID: w.talk.ID, Name: "secret channel", MemberIDs: []int64{ms["NE"].ID, ms["SE"].ID}}
	must("CreateTrack", e.svc.CreateTrack(e.as("F"), w.bc))
	must("PostMessage", e.svc.PostMessage(e.as("NE"), &talks.Message{TrackID: w.bc.ID, Body: "secret message"}))
	w.version = &talks.Version{Values: map[string]string{"line": "1967", "prisoners": "300"},
		Clauses: map[string]string{"line": "secret clause", "prisoners": "secret clause too"}, Rationale: "secret rationale"}
	must("CreateProposal", e.svc.CreateProposal(e.as("NE"), &talks.Proposal{TrackID: w.bc.ID, Title: "secret draft"}, w.version))
	for _, u := range []string{"NE", "SE"} {
		must("AnswerVersion", e.svc.AnswerVersion(e.as(u), &talks.Answer{VersionID: w.version.ID, Kind: talks.AnswerAccept}))
	}
	return w
}

// TestPublicDisclosure drives a plan through the API to publication and
// checks that the public route, asked with no credentials, answers the
// published terms and nothing else.
func TestPublicDisclosure(t *testing.T) {
	w := newDisclosureWorld(t)
	pub := fmt.Sprintf("/api/v1/public/talks/%d", w.talk.ID)
	st, none := w.do("", "GET", "/api/v1/public/talks/987654321", nil)
	if st != http.StatusNotFound {
		t.Fatalf("public route of a missing talk = %d", st)
	}
	if st, got := w.do("", "GET", pub, nil); st != http.StatusNotFound || !bytes.Equal(got, none) {
		t.Fatalf("public route without a plan = %d %s, want the 404 of a missing talk", st, got)
	}
	base := fmt.Sprintf("/api/v1/talks/%d", w.talk.ID)
	plan := map[string]any{"terms": []map[string]string{{"issue": "prisoners", "clause": "Released by June."}},
		"embargo": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}
	var d Disclosure
	w.must(200, "NP", "PUT", base+"/disclosure", plan, &d)
	w.must(200, "NP", "POST", base+"/disclosure/consent", map[string]any{"revision": d.Revision}, &d)
	if st, got := w.do("", "GET", pub, nil); st != http.StatusNotFound || !bytes.Equal(got, none) {
		t.Fatalf("public route with one consent = %d %s, want 404", st, got)
	}
	// A changed plan needs every consent again.
	plan["show_title"] = false
	w.must(200, "SP", "PUT", base+"/disclosure", plan, &d)
	if d.Revision != 2 || len(d.Consents) != 0 {
		t.Fatalf("new plan = %+v, want revision 2 without consents", d)
	}
	if st, _ := w.do("SP", "POST", base+"/disclosure/consent", map[string]any{"revision": 1}); st != http.StatusConflict {
		t.Errorf("consent to the old revision = %d, want 409", st)
	}
	for _, u := range []string{"NP", "SP"} {
		w.must(200, u, "POST", base+"/disclosure/consent", map[string]any{"revision": 2}, &d)
	}
	if !d.Published {
		t.Errorf("plan after every consent past its embargo: published = false")
	}
	st, got := w.do("", "GET", pub, nil)
	if st != http.StatusOK {
		t.Fatalf("public route = %d %s", st, got)
	}
	var pd PublicDisclosure
	if err := json.Unmarshal(got, &pd); err != nil {
		t.Fatal(err)
	}
	if pd.Title != "" || len(pd.Terms) != 1 || pd.Terms[0] != (PublicTerm{Issue: "prisoners", Value: "300", Clause: "Released by June."}) {
		t.Errorf("public disclosure = %+v", pd)
	}
	for _, leak := range []string{"secret", "line", "1967", "Ceasefire", "private", "Northland", "Southland", "NP", "NE", "SE", "SP", "back-channel", "member"} {
		if strings.Contains(string(got), leak) {
			t.Errorf("public disclosure %s contains %q", got, leak)
		}
	}
	// The title is public only if the plan says so.
	plan["show_title"] = true
	w.must(200, "NP", "PUT", base+"/disclosure", plan, &d)
	for _, u := range []string{"NP", "SP"} {
		w.must(200, u, "POST", base+"/disclosure/consent", map[string]any{"revision": 3}, &d)
	}
	w.must(200, "", "GET", pub, nil, &pd)
	if pd.Title != "Ceasefire public" {
		t.Errorf("public title = %q, want the talk's", pd.Title)
	}
}

// TestDisclosureErrors checks bad input, refusals and the CSRF check.
func TestDisclosureErrors(t *testing.T) {
	w := newDisclosureWorld(t)
	base := fmt.Sprintf("/api/v1/talks/%d", w.talk.ID)
	tests := []struct {
		name, user, method, path string
		body                     any
		want                     int
		msg                      string
	}{
		{"bad embargo", "NP", "PUT", "/disclosure", map[string]any{"terms": []map[string]string{{"issue": "line"}}, "embargo": "soon"}, 400, "Embargo"},
		{"unknown issue", "NP", "PUT", "/disclosure", map[string]any{"terms": []map[string]string{{"issue": "flags"}}, "embargo": "2025-01-01T00:00:00Z"}, 400, "flags"},
		{"no terms", "NP", "PUT", "/disclosure", map[string]any{"terms": []any{}, "embargo": "2025-01-01T00:00:00Z"}, 400, "term"},
		{"unknown field", "NP", "PUT", "/disclosure", map[string]any{"terms": []any{}, "embargo": "x", "talk": 1}, 400, "unknown field"},
		{"envoy proposes", "NE", "PUT", "/disclosure", map[string]any{"terms": []map[string]string{{"issue": "line"}}, "embargo": "2025-01-01T00:00:00Z"}, 403, "principal"},
		{"advisor off the back-channel", "NA", "GET", "/disclosure", nil, 404, ""},
		{"outsider", "O", "GET", "/agreement/reads", nil, 404, ""},
		{"no plan to consent to", "NP", "POST", "/disclosure/consent", map[string]any{"revision": 1}, 404, ""},
		{"envoy reads the record", "NE", "GET", "/agreement/reads", nil, 403, "principal"},
		{"hand-off without title", "NP", "POST", "/handoff", map[string]any{"title": ""}, 400, "title"},
		{"envoy carries", "SE", "POST", "/handoff", map[string]any{"title": "x"}, 403, "principal"},
		{"no sign-in", "", "GET", "/disclosure", nil, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, got := w.do(tt.user, tt.method, base+tt.path, tt.body)
			if st != tt.want {
				t.Fatalf("%s %s as %s = %d %s, want %d", tt.method, tt.path, tt.user, st, got, tt.want)
			}
			if tt.msg != "" && !strings.Contains(decodeErr(t, got).Message, tt.msg) {
				t.Errorf("message %q does not mention %q", decodeErr(t, got).Message, tt.msg)
			}
		})
	}
}

// TestAgreementReadsAndHandoff: reading the agreement is recorded and
// shown to principals; carrying it gives an official proposal whose
// provenance is shown and whose text has nothing else of the back-channel.
func TestAgreementReadsAndHandoff(t *testing.T) {
	w := newDisclosureWorld(t)
	base := fmt.Sprintf("/api/v1/talks/%d", w.talk.ID)
	w.must(200, "NE", "GET", base+"/agreement", nil, nil)
	w.must(200, "SE", "GET", base+"/agreement", nil, nil)
	var reads []AgreementRead
	w.must(200, "SP", "GET", base+"/agreement/reads", nil, &reads)
	if len(reads) != 2 {
		t.Fatalf("reads = %+v, want 2", reads)
	}
	var p Proposal
	w.must(201, "NP", "POST", base+"/handoff", map[string]any{"title": "Ceasefire text"}, &p)
	var h Handoff
	w.must(200, "NA", "GET", base+"/handoff", nil, &h)
	if h.ProposalID != p.ID || h.Provenance != Provenance {
		t.Errorf("hand-off = %+v, want proposal %d carried from a back-channel", h, p.ID)
	}
	var ps []Proposal
	w.must(200, "NA", "GET", base+"/proposals", nil, &ps)
	for _, q := range ps {
		if q.Carried != (q.ID == p.ID) {
			t.Errorf("proposal %d (%q): carried %v", q.ID, q.Title, q.Carried)
		}
	}
	if !p.Carried {
		t.Errorf("the hand-off answered proposal %+v, want it carried", p)
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/proposals/%d", p.ID), fmt.Sprintf("/api/v1/proposals/%d/versions", p.ID), base + "/handoff", base + "/proposals"} {
		st, got := w.do("NA", "GET", path, nil)
		if st != 200 {
			t.Fatalf("GET %s as NA = %d %s", path, st, got)
		}
		if bytes.Contains(got, []byte("secret rationale")) || bytes.Contains(got, []byte("secret channel")) || bytes.Contains(got, []byte("secret draft")) {
			t.Errorf("GET %s as NA leaks the back-channel: %s", path, got)
		}
	}
}
