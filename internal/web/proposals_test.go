package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// counterForm returns the form of a counter that keeps the values of v but
// those in change.
func counterForm(v *talks.Version, change map[string]string) url.Values {
	f := url.Values{"parent": {fmt.Sprint(v.ID)}}
	for issue, val := range v.Values {
		f.Set("value:"+issue, val)
	}
	for issue, val := range change {
		f.Set("value:"+issue, val)
	}
	return f
}

var locationVersionRE = regexp.MustCompile(`^/proposals/(\d+)\?version=(\d+)$`)

func TestProposalPage(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	b := e.login(t, "n.envoy1")
	page := fmt.Sprintf("/proposals/%d", d.Proposal.ID)

	res := b.get(page)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res,
		d.Proposal.Title, `id="versions"`, `id="answers"`, `class="tree"`,
		// The latest version is shown by default, nested under the draft.
		"Version 2", `<ul><li class="current">`, "Mei Lin Tan (Southland envoy)",
		d.Counter.Rationale, "peacekeeping force",
		// Southland countered the draft; Northland has not answered version 2.
		`form id="answer-accept"`, `form id="answer-reject"`, `name="kind" value="accept"`,
		`form id="counter"`, `name="value:ceasefire line"`, `name="clause:ceasefire line"`,
		`name="rationale"`, `id="counter-submit"`, fmt.Sprintf(`name="parent" value="%d"`, d.Counter.ID),
		`<option selected>river line</option>`,
		// Live regions follow the proposal's track.
		fmt.Sprintf(`data-track="%d"`, d.Official.ID), `data-live="version.proposed answer.given answer.withdrawn talk.agreed"`,
		fmt.Sprintf(`data-talk="%d"`, d.Talk.ID), `hx-select="#versions"`, `hx-select="#agreement-live"`,
	)
	wantNotContains(t, res, `id="agreement"`, `class="back"`)

	// The draft, selected: Southland's answer is its counter, linked.
	res = b.get(fmt.Sprintf("%s?version=%d", page, d.Draft.ID))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, d.Draft.Rationale, "Hostilities cease along the line of contact",
		"Countered", fmt.Sprintf(`href="?version=%d"`, d.Counter.ID), "no answer yet")

	// The difference of the draft and the counter: five issues changed,
	// marked in words as well as colour; the elections timeline did not.
	res = b.get(fmt.Sprintf("%s?version=%d&a=%d&b=%d", page, d.Counter.ID, d.Draft.ID, d.Counter.ID))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "5 issues differ.", `<tr class="changed">`, "Changed:</strong> value and clause", "Changed:</strong> value")
	if n := strings.Count(res.Body, `<tr class="changed">`); n != 5 {
		t.Errorf("diff has %d changed rows, want 5", n)
	}
	if !regexp.MustCompile(`(?s)<tr>\s*<th scope="row">elections timeline</th>`).MatchString(res.Body) {
		t.Errorf("the elections timeline is marked changed, or missing")
	}
}
