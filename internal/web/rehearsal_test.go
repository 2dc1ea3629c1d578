package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

func TestRehearsalPage(t *testing.T) {
	e := newEnv(t)
	page := fmt.Sprintf("/talks/%d/rehearsal", e.demo.Talk.ID)
	north := e.login(t, "n.advisor")

	// The form, before a run: its script, no chart yet, labelled an
	// estimate; linked from the talk and from "My preferences".
	res := north.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, `id="rehearsal"`, "Estimate", "rehearsal.js", `id="rehearsal-progress"`, `<option value="micro"`)
	wantNotContains(t, res, "<script>", `id="rehearsal-chart"`, "uplot.iife.min.js")
	wantContains(t, north.get(fmt.Sprintf("/talks/%d", e.demo.Talk.ID)), `id="rehearsal-link"`)
	wantContains(t, north.get(fmt.Sprintf("/talks/%d/preferences", e.demo.Talk.ID)), `id="rehearse-link"`)

	// A run: the histogram's data and uPlot, the likely agreement per
	// issue, the share without agreement; nothing written.
	before := propHead(t, e)
	res = north.get(page + "?run=1&own_agent=conceder&opponent_agent=titfortat&runs=100&rounds=50")
	wantStatus(t, res, 200)
	wantContains(t, res, `id="rehearsal-chart"`, `type="application/json" id="rehearsal-data"`, "uplot.iife.min.js",
		"uplot.min.css", `id="no-agreement-share"`, `id="likely"`, "ceasefire line", "100 runs of conceder (you) against titfortat",
		`<option value="conceder" selected>`)
	wantNotContains(t, res, "<script>")
	if after := propHead(t, e); after != before {
		t.Errorf("a rehearsal wrote to the talk's log: head %d, was %d", after, before)
	}

	// Bad input is said on the form.
	for _, q := range []string{"runs=lots", "runs=0", "rounds=-3", fmt.Sprintf("runs=%d", talks.MaxRehearsalRuns+1), "own_agent=oracle"} {
		res = north.get(page + "?run=1&" + q)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="rehearsal-error"`)
		wantNotContains(t, res, `id="rehearsal-chart"`)
	}

	// The facilitator may not rehearse for anyone.
	res = e.login(t, "facilitator").get(page)
	wantStatus(t, res, http.StatusForbidden)

	// A party without preferences is told so, and nothing runs.
	ctx := context.Background()
	fac := talks.NewContextWithUser(ctx, e.demo.Users["facilitator"])
	tk := &talks.Talk{Title: "Bare", Space: e.demo.Talk.Space}
	if err := e.svc.CreateTalk(fac, tk); err != nil {
		t.Fatal(err)
	}
	party := &talks.Party{TalkID: tk.ID, Name: "Northland"}
	if err := e.svc.AddParty(fac, party); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddMember(fac, &talks.Member{TalkID: tk.ID, UserID: e.demo.Users["n.advisor"].ID, PartyID: party.ID, Role: talks.RoleAdvisor}); err != nil {
		t.Fatal(err)
	}
	res = north.get(fmt.Sprintf("/talks/%d/rehearsal?run=1", tk.ID))
	wantStatus(t, res, 200)
	wantContains(t, res, `id="no-preferences"`, "has not entered preferences")
	wantNotContains(t, res, `id="rehearsal-chart"`, `id="rehearsal-submit"`)
}
