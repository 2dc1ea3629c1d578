package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// Secrets of the back-channel agreement: none may reach the public page.
const (
	bcTitle     = "Quiet package for the record"
	bcRationale = "Only between the envoys."
	bcClause    = "The river is the line, quietly."
)

// backAgreement agrees a version in the demo's back-channel, through the
// service as its envoys, and returns it.
func backAgreement(t *testing.T, e *env) *talks.Version {
	t.Helper()
	d := e.demo
	ctx := context.Background()
	v := &talks.Version{Values: map[string]string{}, Clauses: map[string]string{"ceasefire line": bcClause}, Rationale: bcRationale}
	for k, val := range d.Counter.Values {
		v.Values[k] = val
	}
	v.Values["ceasefire line"], v.Values["sanctions relief"] = "river line", "phased"
	if err := e.svc.CreateProposal(d.As(ctx, "n.envoy1"), &talks.Proposal{TrackID: d.Back.ID, Title: bcTitle}, v); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"n.envoy1", "s.envoy2"} {
		if err := e.svc.AnswerVersion(d.As(ctx, key), &talks.Answer{VersionID: v.ID, Kind: talks.AnswerAccept}); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func TestDisclosurePage(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	backAgreement(t, e)
	agreement := fmt.Sprintf("/talks/%d/agreement", d.Talk.ID)
	public := fmt.Sprintf("/public/talks/%d", d.Talk.ID)
	plan := agreement[:len(agreement)-len("/agreement")] + "/disclosure"

	// Nothing is public yet: the public page is the "not found" of any
	// talk, for anyone.
	anon := e.browser(t)
	res := anon.get(public)
	wantStatus(t, res, http.StatusNotFound)
	none := anon.get("/public/talks/999999")
	wantStatus(t, none, http.StatusNotFound)
	wantNotContains(t, res, d.Talk.Title)

	// An envoy reads the agreement (a recorded read) but decides nothing.
	envoy := e.login(t, "n.envoy1")
	res = envoy.get(agreement)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `id="disclosure"`, "A principal may propose")
	wantNotContains(t, res, `id="disclosure-form"`, `id="reads"`, `id="carry"`)

	// The principal sees the plan form, the read record with the envoy's
	// read, and the hand-off button.
	np := e.login(t, "n.principal")
	res = np.get(agreement)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `id="disclosure-form"`, `id="reads"`, "Tomas Varga", `id="carry"`, "Carry into the official track")

	// Bad input: each error next to its field, what was typed kept, and
	// nothing written.
	head := propHead(t, e)
	res = np.post(plan, url.Values{"issue": {"ceasefire line"}, "clause:ceasefire line": {"Along the river."}, "embargo": {"tomorrow"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-embargo"`, "Along the river.", `value="tomorrow"`)
	res = np.post(plan, url.Values{"embargo": {"2020-01-01T00:00"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-issue"`)
	res = np.post(plan, url.Values{"issue": {"flags"}, "embargo": {"2020-01-01T00:00"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-issue"`, "flags")
	// Forbidden, invisible, forged.
	wantStatus(t, envoy.post(plan, url.Values{"issue": {"ceasefire line"}, "embargo": {"2020-01-01T00:00"}}), http.StatusForbidden)
	advisor := e.login(t, "n.advisor") // not on the back-channel: no agreement for it
	res = advisor.post(plan, url.Values{"issue": {"ceasefire line"}, "embargo": {"2020-01-01T00:00"}})
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, bcTitle, "river line")
	wantStatus(t, np.post(plan, url.Values{"csrf": {"forged"}, "issue": {"ceasefire line"}, "embargo": {"2020-01-01T00:00"}}), http.StatusForbidden)
	wantNothingWritten(t, e, "refused disclosure plans", head)

	// The plan: the ceasefire line, with a public wording, past its embargo.
	res = np.post(plan, url.Values{"issue": {"ceasefire line"}, "clause:ceasefire line": {"Along the river."}, "embargo": {"2020-01-01T00:00"}})
	wantStatus(t, res, http.StatusSeeOther)
	res = np.get(agreement)
	wantContains(t, res, "Plan revision 1", `id="consent"`, "waiting", "Not public yet")
	// The page's live refresh of that part is that part alone: nothing of
	// the agreed text, and no read recorded.
	reads := func() int {
		t.Helper()
		rs, err := e.svc.FindAgreementReads(d.As(context.Background(), "n.principal"), d.Talk.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	before := reads()
	res = np.htmx("GET", agreement+"?part=disclosure", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `id="disclosure-state"`, "Plan revision 1", `id="consent"`)
	wantNotContains(t, res, "The agreed text", "river line", "<html")
	if after := reads(); after != before {
		t.Errorf("the disclosure refresh recorded %d reads, want none", after-before)
	}
	wantStatus(t, np.post(plan+"/consent", url.Values{"revision": {"1"}}), http.StatusSeeOther)
	wantStatus(t, anon.get(public), http.StatusNotFound)
	sp := e.login(t, "s.principal")
	res = sp.post(plan+"/consent", url.Values{"revision": {"7"}}) // a plan it never saw
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "changed")
	wantStatus(t, sp.post(plan+"/consent", url.Values{"revision": {"1"}}), http.StatusSeeOther)
	res = sp.get(agreement)
	wantContains(t, res, "Published at", public)

	wantContains(t, sp.get(fmt.Sprintf("/talks/%d", d.Talk.ID)), `id="public-link"`)

	// Logged out, the public page shows the published term and nothing
	// else: no other issue, no names, no title, nothing of the back-channel.
	res = anon.get(public)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Published terms", "ceasefire line", "river line", "Along the river.", `class="agreement card"`)
	wantNotContains(t, res, d.Talk.Title, "sanctions relief", "phased", "security guarantees", bcTitle, bcRationale, bcClause,
		d.Back.Name, "Back-channel", "back-channel", "Amara Okonjo", "Tomas Varga", "Rafael Quispe", "Jonas Eriksen", "Northland", "Southland", "Sign out")
}

func TestHandoffPage(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	backAgreement(t, e)
	handoff := fmt.Sprintf("/talks/%d/handoff", d.Talk.ID)
	np := e.login(t, "n.principal")
	head := propHead(t, e)
	res := np.post(handoff, url.Values{"title": {" "}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-title"`)
	wantStatus(t, e.login(t, "n.envoy1").post(handoff, url.Values{"title": {"x"}}), http.StatusForbidden)
	wantStatus(t, e.login(t, "n.advisor").post(handoff, url.Values{"title": {"x"}}), http.StatusNotFound)
	wantNothingWritten(t, e, "refused hand-offs", head)

	res = np.post(handoff, url.Values{"title": {"Ceasefire text"}})
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !regexp.MustCompile(`^/proposals/\d+$`).MatchString(loc) {
		t.Fatalf("hand-off redirects to %q", loc)
	}
	// The advisor, who never saw the back-channel, sees the carried text
	// and its provenance, and nothing else of the back-channel; it may
	// not answer, the envoy of the other party may.
	res = e.login(t, "n.advisor").get(loc)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `id="provenance"`, "Carried from a back-channel", "Ceasefire text", "river line", bcClause)
	wantNotContains(t, res, bcTitle, bcRationale, d.Back.Name, `form id="counter"`)
	s1 := e.login(t, "s.envoy1")
	res = s1.get(loc)
	wantContains(t, res, `form id="answer-accept"`)
	wantNotContains(t, res, `form id="counter"`)
	// A second hand-off is refused, with the reason.
	res = np.post(handoff, url.Values{"title": {"Again"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "already been carried")
	// The agreement page now says it was carried; no second button.
	res = np.get(fmt.Sprintf("/talks/%d/agreement", d.Talk.ID))
	wantContains(t, res, `id="handoff"`, "carried from a back-channel")
	wantNotContains(t, res, `id="carry"`)
	official := fmt.Sprintf("/tracks/%d", d.Official.ID)
	wantContains(t, np.get(official), ">from a back-channel</span>")

	// A stakeholder rejects the agreement and the facilitator reopens the
	// talk: the hand-off goes with the agreement, but the carried proposal
	// stays what it is, a text from a back-channel, now answered and
	// countered like any other.
	ratification := fmt.Sprintf("/talks/%d/ratification", d.Talk.ID)
	wantStatus(t, e.login(t, "stakeholder").post(ratification, url.Values{"decision": {"reject"}, "comment": {"Not on that line."}}), http.StatusSeeOther)
	wantStatus(t, e.login(t, "facilitator").post(fmt.Sprintf("/talks/%d/reopen", d.Talk.ID), nil), http.StatusSeeOther)
	res = e.login(t, "n.advisor").get(loc)
	wantContains(t, res, `id="provenance"`, "Carried from a back-channel")
	wantNotContains(t, res, "not countered")
	res = s1.get(loc)
	wantContains(t, res, `id="provenance"`, `form id="answer-accept"`, `form id="counter"`)
	wantContains(t, np.get(official), ">from a back-channel</span>")
}
