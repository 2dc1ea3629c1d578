package web_test

import (
	"context"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/talks"
)

const mandateRefusal = "Your mandate allows ceasefire line: current front or river line."

// versionValues returns values as the counter form's fields.
func versionValues(values map[string]string) url.Values {
	f := url.Values{}
	for k, v := range values {
		f.Set("value:"+k, v)
	}
	return f
}

// mandateForm returns the mandate form with every value of every issue
// ticked, then the issues of set as given.
func mandateForm(t *testing.T, set url.Values) url.Values {
	sp, err := demo.Space()
	if err != nil {
		t.Fatal(err)
	}
	f := url.Values{}
	for i, is := range sp.Issues {
		for j := range is.Len() {
			f.Add(fmt.Sprintf("i%d", i), is.Value(j))
		}
	}
	for k, v := range set {
		f[k] = v
	}
	return f
}

func TestMandatesPage(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	page := fmt.Sprintf("/talks/%d/mandates", d.Talk.ID)
	tomas, other := d.Members["n.envoy1"].ID, d.Members["n.envoy2"].ID
	save := fmt.Sprintf("/talks/%d/mandates/%d", d.Talk.ID, tomas)

	np := e.login(t, "n.principal")
	res := np.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, "Mandates", fmt.Sprintf(`id="mandate-%d"`, tomas), fmt.Sprintf(`id="mandate-%d"`, other),
		`value="1990 border"> 1990 border`, `value="river line" checked`, `name="min_utility"`)
	wantContains(t, np.get(fmt.Sprintf("/talks/%d", d.Talk.ID)), `id="mandates-link"`)

	// The envoy reads its own mandate, not a colleague's, and has no form.
	ne := e.login(t, "n.envoy1")
	res = ne.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, "Your mandate", fmt.Sprintf(`id="mandate-table-%d"`, tomas), "current front or river line")
	wantNotContains(t, res, fmt.Sprintf(`id="envoy-%d"`, other), `class="stack mandate-form"`)
	wantContains(t, e.login(t, "n.advisor").get(page), fmt.Sprintf(`id="mandate-table-%d"`, tomas), fmt.Sprintf(`id="mandate-table-%d"`, other))

	// Outside the party: another party sees only its own envoys; a
	// facilitator is refused.
	res = e.login(t, "s.principal").get(page)
	wantStatus(t, res, 200)
	wantNotContains(t, res, fmt.Sprintf(`id="envoy-%d"`, tomas), "current front or river line")
	wantStatus(t, e.login(t, "facilitator").get(page), http.StatusForbidden)

	// Error paths write nothing.
	form := mandateForm(t, url.Values{"i0": {"current front", "river line"}})
	for _, c := range []struct {
		name   string
		b      *browser
		form   url.Values
		status int
		want   []string
	}{
		{"envoy", ne, form, http.StatusForbidden, nil},
		{"other party", e.login(t, "s.principal"), form, http.StatusNotFound, nil},
		{"no value", np, mandateForm(t, url.Values{"i0": {}, "i1": {"none"}}), http.StatusUnprocessableEntity,
			[]string{fmt.Sprintf(`id="e-%d-i0"`, tomas), html.EscapeString(`Mandate allows no value of issue "ceasefire line"`)}},
		{"not a number", np, mandateForm(t, url.Values{"min_utility": {"lots"}}), http.StatusUnprocessableEntity,
			[]string{fmt.Sprintf(`id="e-min-%d"`, tomas), "Enter a number from 0 to 1", `value="lots"`}},
		{"above 1", np, mandateForm(t, url.Values{"min_utility": {"2"}}), http.StatusUnprocessableEntity,
			[]string{"Minimum utility must be between 0 and 1."}},
	} {
		before := propHead(t, e)
		res := c.b.post(save, c.form)
		wantStatus(t, res, c.status)
		wantContains(t, res, c.want...)
		wantNothingWritten(t, e, c.name, before)
	}

	// A valid save: the 1990 border and 24 months are out.
	res = np.post(save, mandateForm(t, url.Values{"i0": {"current front", "river line"}, "i5": {"6 months", "12 months"}, "min_utility": {"0.2"}}))
	wantStatus(t, res, http.StatusSeeOther)
	m, err := e.svc.FindMandate(d.As(context.Background(), "n.principal"), d.Talk.ID, d.Parties["Northland"].ID, tomas)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 2 || len(m.Allowed) != 2 || m.MinUtility == nil || *m.MinUtility != 0.2 {
		t.Errorf("saved mandate = version %d, %v, min %v; want version 2 with two issues and 0.2", m.Version, m.Allowed, m.MinUtility)
	}
	wantContains(t, ne.get(page), "6 months or 12 months", "0.2")
}

func TestMandateRefusals(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	ne := e.login(t, "n.envoy1")

	// A counter outside the mandate: the refusal is next to the field.
	values := maps.Clone(d.Counter.Values)
	values["ceasefire line"] = "1990 border"
	before := propHead(t, e)
	res := ne.post(fmt.Sprintf("/versions/%d/counter", d.Counter.ID), versionValues(values))
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, `id="e-v-0"`, mandateRefusal, `<option selected>1990 border</option>`)
	wantNothingWritten(t, e, "counter outside the mandate", before)

	// A new proposal outside it, likewise.
	form := versionValues(values)
	form.Set("title", "Border first")
	res = ne.post(fmt.Sprintf("/tracks/%d/proposals", d.Official.ID), form)
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, `id="e-v-0"`, mandateRefusal)
	wantNothingWritten(t, e, "proposal outside the mandate", before)

	// An acceptance outside it: the refusal is at the accept button.
	border := &talks.Version{ParentID: d.Counter.ID, Values: values}
	if err := e.svc.ProposeVersion(d.As(context.Background(), "s.principal"), border); err != nil {
		t.Fatal(err)
	}
	before = propHead(t, e)
	res = ne.post(fmt.Sprintf("/versions/%d/answer", border.ID), url.Values{"kind": {"accept"}})
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, `id="answer-error"`, mandateRefusal, `form id="answer-accept"`)
	wantNothingWritten(t, e, "acceptance outside the mandate", before)

	// The principal is not limited.
	wantStatus(t, e.login(t, "n.principal").post(fmt.Sprintf("/versions/%d/answer", border.ID), url.Values{"kind": {"accept"}}), http.StatusSeeOther)
}
