package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/utility"
)

// prefsForm returns the demo party's preferences as the form's fields.
func prefsForm(t *testing.T, party string) url.Values {
	sp, err := demo.Space()
	if err != nil {
		t.Fatal(err)
	}
	p := demo.Preferences()[party]
	f := url.Values{"reserved": {fmt.Sprint(p.Reserved)}}
	for i, is := range sp.Issues {
		f.Set(fmt.Sprintf("w%d", i), fmt.Sprint(p.Weights[is.Name]))
		for j := range is.Len() {
			f.Set(fmt.Sprintf("s%d.%d", i, j), fmt.Sprint(p.Scores[is.Name][is.Value(j)]))
		}
	}
	return f
}

func TestPreferencesPage(t *testing.T) {
	e := newEnv(t)
	page := fmt.Sprintf("/talks/%d/preferences", e.demo.Talk.ID)
	north := e.login(t, "n.envoy1")

	// The party's own page: its utility of each version, plotted, with the
	// chart's script and data and uPlot loaded here only.
	res := north.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, "My preferences", `id="utility-chart"`, `type="application/json" id="utility-data"`,
		"uplot.iife.min.js", "utility-chart.js", "uplot.min.css", "Joint gain available", "Framework for a ceasefire, version")
	wantNotContains(t, res, "<script>")
	prop := north.get(fmt.Sprintf("/proposals/%d", e.demo.Proposal.ID))
	wantNotContains(t, prop, "uplot")
	wantContains(t, prop, "suggestions-link")

	// Bad input is shown next to its field and nothing is written.
	before := propHead(t, e)
	bad := prefsForm(t, "Northland")
	bad.Set("w0", "lots")
	res = north.post(page, bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-w0"`, "Enter a number.", `value="lots"`)
	bad = prefsForm(t, "Northland")
	bad.Set("reserved", "2")
	res = north.post(page, bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-reserved"`, "Reserved value must be between 0 and 1.")
	bad = prefsForm(t, "Northland")
	bad.Set("s1.2", "-1")
	res = north.post(page, bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-s1.2"`, "must be a number ≥ 0")
	wantNothingWritten(t, e, "bad preferences", before)

	// A good save is a new version.
	res = north.post(page, prefsForm(t, "Northland"))
	wantStatus(t, res, http.StatusSeeOther)
	wantContains(t, north.get(page), "Version 2, saved on")

	// Import: a bad file is explained next to the file field; a good one
	// is a new version.
	upload := func(b *browser, name string, data []byte) *response {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", b.csrf)
		fw, _ := mw.CreateFormFile("profile", name)
		fw.Write(data)
		mw.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+page+"/import", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Origin", e.srv.URL)
		return b.do(req)
	}
	res = upload(north, "bad.xml", []byte("<utility_space>\n<issue name=\"oil\" index=\"1\" type=\"discrete\"></issue></utility_space>"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-profile"`, "line")
	sp, _ := demo.Space()
	p := demo.Preferences()["Northland"]
	f, err := p.Func(sp)
	if err != nil {
		t.Fatal(err)
	}
	var xml bytes.Buffer
	if err := genius.WriteProfile(&xml, &utility.Profile{Name: "north", Func: f, Reserved: 0.4, Discount: 1}); err != nil {
		t.Fatal(err)
	}
	res = upload(north, "north.xml", xml.Bytes())
	wantStatus(t, res, http.StatusSeeOther)
	wantContains(t, north.get(page), "Version 3, saved on")

	// Another party's members see their own page, never the North's;
	// an advisor reads but has no form; a facilitator is refused.
	south := e.login(t, "s.advisor")
	res = south.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, "Southland", "its principal and envoys change them")
	wantNotContains(t, res, `id="preferences"`, "Version 2", "40.0%")
	fac := e.login(t, "facilitator")
	wantStatus(t, fac.get(page), http.StatusForbidden)
	wantStatus(t, fac.post(page, prefsForm(t, "Northland")), http.StatusForbidden)
	wantStatus(t, south.post(page, prefsForm(t, "Southland")), http.StatusForbidden)
	wantStatus(t, propOutsider(t, e).get(page), http.StatusNotFound)
	wantStatus(t, north.get("/talks/987654/preferences"), http.StatusNotFound)
}

func TestSuggestionsPage(t *testing.T) {
	e := newEnv(t)
	page := fmt.Sprintf("/versions/%d/suggestions", e.demo.Counter.ID)

	north := e.login(t, "n.principal")
	res := north.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, "Improvement 1", "Your gain: &#43;", "Every party gains", "Nash package", "Kalai-Smorodinsky package", "Counter with this package")

	fac := e.login(t, "facilitator")
	res = fac.get(page)
	wantStatus(t, res, 200)
	wantContains(t, res, "Improvement 1", "Every party gains")
	wantNotContains(t, res, "Your gain")
	wantStatus(t, propOutsider(t, e).get(page), http.StatusNotFound)
	wantStatus(t, north.get("/versions/987654/suggestions"), http.StatusNotFound)

	// One click: the first suggestion becomes Northland's counter.
	i := strings.Index(res.Body, `action="/versions/`)
	if i < 0 {
		t.Fatal("no counter form")
	}
	res = north.get(page)
	form := url.Values{}
	start := strings.Index(res.Body, `<form method="post" action="/versions/`)
	end := start + strings.Index(res.Body[start:], "</form>")
	for _, m := range hiddenRE.FindAllStringSubmatch(res.Body[start:end], -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	res = north.post(fmt.Sprintf("/versions/%d/counter", e.demo.Counter.ID), form)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !locationVersionRE.MatchString(loc) {
		t.Fatalf("counter with a suggestion went to %q", loc)
	}
	wantContains(t, north.get(res.Header.Get("Location")), "A mediator&#39;s suggestion (Improvement 1).")
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// TestPreferencesMissing checks that both pages say which party has no
// preferences, rather than guess.
func TestPreferencesMissing(t *testing.T) {
	e := newEnv(t)
	ctx := talks.NewContextWithUser(context.Background(), e.demo.Users["facilitator"])
	if err := e.svc.AddParty(ctx, &talks.Party{TalkID: e.demo.Talk.ID, Name: "Westland"}); err != nil {
		t.Fatal(err)
	}
	north := e.login(t, "n.advisor")
	res := north.get(fmt.Sprintf("/versions/%d/suggestions", e.demo.Counter.ID))
	wantStatus(t, res, 200)
	wantContains(t, res, `id="missing"`, "Westland has not entered preferences")
	wantNotContains(t, res, "Improvement 1", "Counter with this package")
	res = north.get(fmt.Sprintf("/talks/%d/preferences", e.demo.Talk.ID))
	wantStatus(t, res, 200)
	wantContains(t, res, `id="missing"`, "Westland has not entered preferences", "Unknown")
	wantNotContains(t, res, "Joint gain available")
}

// TestSuggestionPrefill checks that a suggestion opens the counter form
// prefilled with its values.
func TestSuggestionPrefill(t *testing.T) {
	e := newEnv(t)
	north := e.login(t, "n.envoy1")
	res := north.get(fmt.Sprintf("/versions/%d/suggestions", e.demo.Counter.ID))
	m := regexp.MustCompile(`href="(/proposals/[^"]+)">or edit it`).FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatal("no link to the prefilled counter form")
	}
	res = north.get(html.UnescapeString(m[1]))
	wantStatus(t, res, 200)
	wantContains(t, res, `id="prefilled"`, "<option selected>treaty guarantors</option>", "<option selected>phased</option>")
}
