package web_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/talks"
)

// volatile strips what differs between two loads of the same page for
// reasons other than the talk: the CSRF token, the event head (event
// numbers are global to the talk, so another party's private events leave
// gaps, by design) and relative times.
var volatile = regexp.MustCompile(`data-csrf="[^"]*"|name="csrf" value="[^"]*"|data-head="\d+"|<time[^>]*>[^<]*</time>`)

// TestPrivacyDifferential changes the North's private preferences and its
// envoy's mandate, and checks that no page another party's member, the
// facilitator or the stakeholder sees changes, except those whose change
// the issue allows: the mediator's suggestions (whether every party gains
// and what is proposed) and a party's own page, which says whether a
// version is efficient.
func TestPrivacyDifferential(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	id := d.Talk.ID
	pages := []string{
		"/",
		fmt.Sprintf("/talks/%d", id),
		fmt.Sprintf("/tracks/%d", d.Official.ID),
		fmt.Sprintf("/tracks/%d/messages", d.Official.ID),
		fmt.Sprintf("/tracks/%d/meetings", d.Official.ID),
		fmt.Sprintf("/tracks/%d", d.Back.ID),
		fmt.Sprintf("/tracks/%d/members", d.Back.ID),
		fmt.Sprintf("/proposals/%d", d.Proposal.ID),
		fmt.Sprintf("/proposals/%d?version=%d", d.Proposal.ID, d.Draft.ID),
		fmt.Sprintf("/talks/%d/agreement", id),
		fmt.Sprintf("/talks/%d/ratification", id),
		fmt.Sprintf("/talks/%d/mandates", id),
		fmt.Sprintf("/talks/%d/rehearsal", id),
		fmt.Sprintf("/talks/%d/rehearsal?run=1&runs=40&rounds=40", id),
		fmt.Sprintf("/talks/%d/invitations", id),
		fmt.Sprintf("/public/talks/%d", id),
	}
	viewers := []string{"facilitator", "s.principal", "s.envoy1", "s.advisor", "stakeholder"}
	browsers := map[string]*browser{}
	before := map[string]string{}
	for _, who := range viewers {
		browsers[who] = e.login(t, who)
		for _, p := range pages {
			res := browsers[who].get(p)
			before[who+" "+p] = fmt.Sprintf("%d %s", res.StatusCode, volatile.ReplaceAllString(res.Body, ""))
		}
	}

	// The North changes its mind, privately.
	ctx := context.Background()
	np := d.As(ctx, "n.principal")
	pr := demo.Preferences()["Northland"]
	pr.TalkID, pr.PartyID, pr.Reserved = id, d.Parties["Northland"].ID, 0.7
	pr.Weights["ceasefire line"], pr.Weights["sanctions relief"] = 5, 60
	if err := e.svc.SavePreferences(np, pr); err != nil {
		t.Fatal(err)
	}
	min := 0.3
	m := &talks.Mandate{TalkID: id, PartyID: d.Parties["Northland"].ID, EnvoyID: d.Members["n.envoy1"].ID,
		Allowed: map[string][]string{"ceasefire line": {"current front"}}, MinUtility: &min}
	if err := e.svc.SaveMandate(np, m); err != nil {
		t.Fatal(err)
	}

	for _, who := range viewers {
		for _, p := range pages {
			res := browsers[who].get(p)
			got := fmt.Sprintf("%d %s", res.StatusCode, volatile.ReplaceAllString(res.Body, ""))
			if want := before[who+" "+p]; got != want {
				t.Errorf("GET %s as %s changed when the North changed its preferences and mandate:\n%s", p, who, firstDiff(want, got))
			}
		}
	}
}

// firstDiff shows where a and b first differ.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return fmt.Sprintf("before: …%s…\nafter:  …%s…", a[lo:min(len(a), i+200)], b[lo:min(len(b), i+200)])
}
