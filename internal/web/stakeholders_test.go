package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/talks"
)

// redLinesForm returns the demo stakeholder's red lines as the form's
// fields.
func redLinesForm(t *testing.T) url.Values {
	sp, err := demo.Space()
	if err != nil {
		t.Fatal(err)
	}
	p := demo.RedLines()
	f := url.Values{"reserved": {fmt.Sprint(p.Reserved)}}
	for i, is := range sp.Issues {
		f.Set(fmt.Sprintf("w%d", i), fmt.Sprint(p.Weights[is.Name]))
		for j := range is.Len() {
			f.Set(fmt.Sprintf("s%d.%d", i, j), fmt.Sprint(p.Scores[is.Name][is.Value(j)]))
		}
	}
	return f
}

func TestRatificationPages(t *testing.T) {
	e := newEnv(t)
	id := e.demo.Talk.ID
	page := fmt.Sprintf("/talks/%d/ratification", id)
	k := e.login(t, "stakeholder")

	// Not at the table: no talk page, no proposal; its own page only.
	wantStatus(t, k.get(fmt.Sprintf("/talks/%d", id)), 404)
	wantContains(t, k.get("/"), `id="stakeholding"`, fmt.Sprintf(`href="/talks/%d/ratification"`, id))
	wantStatus(t, k.get(fmt.Sprintf("/proposals/%d", e.demo.Proposal.ID)), 404)
	wantStatus(t, e.browser(t).get(page), http.StatusSeeOther) // signed out: to the login page
	res := k.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, `id="red-lines"`, "Your red lines (version 1 now)", `id="not-yet"`)
	wantNotContains(t, res, "Southland cannot accept", `id="ratify"`)

	// Bad red lines are explained; good ones are a new version.
	before := propHead(t, e)
	bad := redLinesForm(t)
	bad.Set("reserved", "2")
	res = k.post(fmt.Sprintf("/talks/%d/red-lines", id), bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-reserved"`)
	wantNothingWritten(t, e, "bad red lines", before)
	wantStatus(t, k.post(fmt.Sprintf("/talks/%d/red-lines", id), redLinesForm(t)), http.StatusSeeOther)
	wantContains(t, k.get(page), "Your red lines (version 2 now)")

	// The parties see that the counter-proposal crosses a red line, and
	// not whose: the page has no name of the stakeholder, no reserved value.
	north := e.login(t, "n.envoy1")
	prop := north.get(fmt.Sprintf("/proposals/%d?version=%d", e.demo.Proposal.ID, e.demo.Counter.ID))
	wantContains(t, prop, "Crosses a stakeholder's red line")
	wantNotContains(t, prop, "Karin Holm")
	draft := north.get(fmt.Sprintf("/proposals/%d?version=%d", e.demo.Proposal.ID, e.demo.Draft.ID))
	wantNotContains(t, draft, "Crosses a stakeholder")
	res = north.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, "Karin Holm", "Pending")
	wantNotContains(t, res, `id="red-lines"`, `id="attach"`)
	wantStatus(t, north.post(fmt.Sprintf("/talks/%d/red-lines", id), redLinesForm(t)), 403)
	wantStatus(t, north.post(fmt.Sprintf("/talks/%d/stakeholders", id), url.Values{"email": {"x@example.org"}}), 403)

	// The facilitator attaches by email; an unknown email is explained.
	fac := e.login(t, "facilitator")
	res = fac.post(fmt.Sprintf("/talks/%d/stakeholders", id), url.Values{"email": {"nobody@example.org"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-email"`, "No account has that email")
	res = fac.post(fmt.Sprintf("/talks/%d/stakeholders", id), url.Values{"email": {"tomas@northland.example"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "already a member")

	// Both parties accept the counter-proposal: the stakeholder reads it
	// and ratifies, red line or not.
	for _, who := range []string{"n.principal", "s.principal"} {
		if err := e.svc.AnswerVersion(e.demo.As(context.Background(), who), &talks.Answer{VersionID: e.demo.Counter.ID, Kind: talks.AnswerAccept}); err != nil {
			t.Fatal(err)
		}
	}
	res = k.get(page)
	wantContains(t, res, `id="agreed-text"`, "river line", `id="ratify"`)
	res = k.post(page, url.Values{"decision": {"reject"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "A rejection needs a comment.")
	wantStatus(t, k.post(page, url.Values{"decision": {"ratify"}, "comment": {"The committee concurs."}}), http.StatusSeeOther)
	wantContains(t, k.get(page), `id="own-decision"`, "The committee concurs.", "Ratified")
	wantContains(t, north.get(fmt.Sprintf("/talks/%d", id)), "Ratified")
	wantContains(t, north.get(page), "The committee concurs.")
}

// TestReopenForm: the form to reopen is the convener's and the
// facilitators', only once a stakeholder has rejected the agreement; a
// refusal is shown on the page and writes nothing.
func TestReopenForm(t *testing.T) {
	e := newEnv(t)
	id := e.demo.Talk.ID
	page := fmt.Sprintf("/talks/%d/ratification", id)
	reopen := fmt.Sprintf("/talks/%d/reopen", id)
	fac, north, k := e.login(t, "facilitator"), e.login(t, "n.principal"), e.login(t, "stakeholder")
	for _, who := range []string{"n.principal", "s.principal"} {
		if err := e.svc.AnswerVersion(e.demo.As(context.Background(), who), &talks.Answer{VersionID: e.demo.Counter.ID, Kind: talks.AnswerAccept}); err != nil {
			t.Fatal(err)
		}
	}
	wantNotContains(t, fac.get(page), `id="reopen"`, `id="earlier-rounds"`)
	before := propHead(t, e)
	res := fac.post(reopen, nil)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="reopen-error"`, "No stakeholder has rejected the agreement")
	wantNothingWritten(t, e, "reopening an agreement no one rejected", before)

	wantStatus(t, k.post(page, url.Values{"decision": {"reject"}, "comment": {"Not on that line."}}), http.StatusSeeOther)
	wantContains(t, fac.get(page), `id="reopen"`, "Reopen the talk")
	wantContains(t, fac.get(fmt.Sprintf("/talks/%d", id)), `id="rejected"`, `id="status-rejected"`, fmt.Sprintf(`href="/talks/%d/ratification#reopen"`, id))
	wantContains(t, north.get(fmt.Sprintf("/talks/%d", id)), `id="rejected"`, "The convener or a facilitator may reopen")
	wantNotContains(t, north.get(page), `id="reopen"`)
	before = propHead(t, e)
	wantStatus(t, north.post(reopen, nil), http.StatusForbidden)
	wantStatus(t, k.post(reopen, nil), http.StatusForbidden)
	wantNothingWritten(t, e, "reopening by a principal or the stakeholder", before)

	res = fac.post(reopen, nil)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != fmt.Sprintf("/talks/%d", id) {
		t.Errorf("reopening led to %q", loc)
	}
	res = north.get(fmt.Sprintf("/talks/%d", id))
	wantContains(t, res, "Open")
	wantNotContains(t, res, `id="agreement"`, `id="rejected"`)
	// The rejection stays on both pages, as the round it ended.
	res = north.get(page)
	wantContains(t, res, "Pending", `id="earlier-rounds"`, "Round 1: reopened on", "by Ingrid Halvorsen (facilitator)", "Karin Holm", "Not on that line.")
	res = k.get(page)
	wantContains(t, res, `id="not-yet"`, `id="earlier-rounds"`, "Round 1: reopened on", "Not on that line.")
	wantNotContains(t, res, "Ingrid Halvorsen")
}
