package web_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
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
		fmt.Sprintf(`data-track="%d"`, d.Official.ID), `data-live="version.proposed answer.given answer.withdrawn talk.agreed talk.reopened"`,
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

// propHead returns the talk's last event, to check that a refused write
// wrote nothing.
func propHead(t *testing.T, e *env) int64 {
	t.Helper()
	h, err := e.store.TalkHead(context.Background(), e.demo.Talk.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// wantNothingWritten fails if the talk has events after before.
func wantNothingWritten(t *testing.T, e *env, what string, before int64) {
	t.Helper()
	if after := propHead(t, e); after != before {
		t.Errorf("%s wrote events %d..%d", what, before+1, after)
	}
}

// propOutsider signs in a user who is in no talk.
func propOutsider(t *testing.T, e *env) *browser {
	t.Helper()
	ctx := context.Background()
	u := &talks.User{Name: "Out Sider", Email: "outsider@example.org"}
	if err := e.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	hash, err := talks.HashPassword("a long enough password", fastAccounts().Argon2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpdatePassword(ctx, u.ID, hash, 0); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	wantStatus(t, b.post("/login", url.Values{"email": {u.Email}, "password": {"a long enough password"}}), http.StatusSeeOther)
	b.get("/")
	return b
}

// newVersionID returns the version a counter's redirect names.
func newVersionID(t *testing.T, res *response) (proposal, version string) {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	m := locationVersionRE.FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirect to %q, want /proposals/ID?version=ID", res.Header.Get("Location"))
	}
	return m[1], m[2]
}

func TestCounterAndAgreement(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	page := fmt.Sprintf("/proposals/%d", d.Proposal.ID)
	agreement := fmt.Sprintf("/talks/%d/agreement", d.Talk.ID)
	north := e.login(t, "n.envoy1")
	south := e.login(t, "s.principal")

	// No agreement yet: a member is told so, under the talk's title.
	res := north.get(agreement)
	wantStatus(t, res, http.StatusNotFound)
	wantContains(t, res, "No agreement yet", d.Talk.Title, `id="no-agreement"`, `data-live="talk.agreed"`)

	// Northland counters Southland's version 2 with phased sanctions relief
	// and a clause, and is sent to its new version.
	form := counterForm(d.Counter, map[string]string{"sanctions relief": "phased"})
	form.Set("clause:sanctions relief", "Sanctions are lifted in three phases, each after a verified withdrawal.")
	form.Set("rationale", "Northland takes the river line if relief is phased.")
	pid, vid := newVersionID(t, north.post(fmt.Sprintf("/versions/%d/counter", d.Counter.ID), form))
	if pid != fmt.Sprint(d.Proposal.ID) {
		t.Errorf("counter redirects to proposal %s, want %d", pid, d.Proposal.ID)
	}
	v3 := page + "?version=" + vid
	res = north.get(v3)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Version 3", "Northland takes the river line if relief is phased.",
		"Sanctions are lifted in three phases", "Tomas Varga (Northland envoy)",
		// Nested under version 2 under version 1.
		`<ul><li class="current">`, "1 issue differs.", "Changed:</strong> value and clause")
	// Northland's counter is its answer to version 2.
	res = north.get(fmt.Sprintf("%s?version=%d", page, d.Counter.ID))
	wantContains(t, res, "Countered", `href="?version=`+vid+`"`, "A later version is on the table")
	wantNotContains(t, res, `form id="answer-accept"`, `form id="counter"`)

	// A page that follows the latest version now shows version 3.
	res = south.get(page)
	wantContains(t, res, `<h2 id="selected-h">Version 3</h2>`, `action="/versions/`+vid+`/answer"`)

	// Southland accepts; no agreement yet. Then Northland accepts.
	res = south.post("/versions/"+vid+"/answer", url.Values{"kind": {"accept"}})
	wantStatus(t, res, http.StatusSeeOther)
	res = south.get(v3)
	wantContains(t, res, "Accepted", "Rafael Quispe (Southland principal)", `form id="answer-withdraw"`)
	wantNotContains(t, res, `id="agreement"`, `form id="answer-accept"`)
	wantStatus(t, south.get(agreement), http.StatusNotFound)

	res = north.post("/versions/"+vid+"/answer", url.Values{"kind": {"accept"}})
	wantStatus(t, res, http.StatusSeeOther)
	for _, b := range []*browser{north, south} {
		res = b.get(v3)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, `id="agreement"`, `href="`+agreement+`"`, "Agreed text")
		wantNotContains(t, res, `form id="answer-accept"`, `form id="counter"`, `form id="answer-withdraw"`)
	}
	// Every proposal page of the talk shows it, even of another version.
	wantContains(t, south.get(page+fmt.Sprintf("?version=%d", d.Draft.ID)), `id="agreement"`)
	// Nor may a version Northland never answered be answered now.
	res = north.get(page + fmt.Sprintf("?version=%d", d.Draft.ID))
	wantContains(t, res, "The talk is agreed: answers stand.")
	wantNotContains(t, res, `form id="answer-accept"`, `form id="counter"`)

	res = north.get(agreement)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Agreement: "+d.Talk.Title, "Version 3", d.Proposal.Title,
		"phased", "river line", "Sanctions are lifted in three phases",
		"Rafael Quispe (Southland principal)", "Tomas Varga (Northland envoy)",
		`data-print`, "proposal.js")
	// An advisor of the talk reads the agreed text of the official track.
	wantStatus(t, e.login(t, "n.advisor").get(agreement), http.StatusOK)

	// The text is settled: no more answers or counters.
	before := propHead(t, e)
	wantStatus(t, north.post("/versions/"+vid+"/answer", url.Values{"kind": {"reject"}}), http.StatusConflict)
	wantStatus(t, south.post("/versions/"+vid+"/counter", counterForm(d.Counter, nil)), http.StatusConflict)
	wantNothingWritten(t, e, "answering an agreed text", before)
}

func TestRejectAndWithdraw(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	b := e.login(t, "n.principal")
	v2 := fmt.Sprintf("/proposals/%d?version=%d", d.Proposal.ID, d.Counter.ID)

	wantStatus(t, b.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"reject"}}), http.StatusSeeOther)
	res := b.get(v2)
	wantContains(t, res, "Rejected", "Amara Okonjo (Northland principal)", `form id="answer-withdraw"`)
	wantNotContains(t, res, `form id="answer-accept"`, `form id="counter"`)

	// Answering twice is a conflict, and writes nothing.
	before := propHead(t, e)
	wantStatus(t, b.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"accept"}}), http.StatusConflict)
	wantNothingWritten(t, e, "a second answer", before)

	// The envoy of the same party withdraws it: the answer shows as
	// withdrawn, and the party may answer or counter again.
	env1 := e.login(t, "n.envoy1")
	answers, err := e.svc.FindAnswers(d.As(context.Background(), "n.envoy1"), talks.AnswerFilter{VersionID: d.Counter.ID})
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers to version 2: %v, %v; want Northland's rejection", answers, err)
	}
	// Southland may not withdraw Northland's answer.
	s := e.login(t, "s.envoy1")
	before = propHead(t, e)
	wantStatus(t, s.post(fmt.Sprintf("/answers/%d/withdraw", answers[0].ID), url.Values{"version": {fmt.Sprint(d.Counter.ID)}}), http.StatusForbidden)
	wantNothingWritten(t, e, "withdrawing another party's answer", before)

	res = env1.post(fmt.Sprintf("/answers/%d/withdraw", answers[0].ID), url.Values{"version": {fmt.Sprint(d.Counter.ID)}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc, want := res.Header.Get("Location"), v2+"#answers"; loc != want {
		t.Errorf("withdraw redirects to %q, want %q", loc, want)
	}
	res = env1.get(v2)
	wantContains(t, res, "Withdrawn: <s>reject</s>", "no answer yet", `form id="answer-accept"`, `form id="counter"`)
	wantStatus(t, env1.post(fmt.Sprintf("/answers/%d/withdraw", answers[0].ID), nil), http.StatusConflict)
}

func TestCounterInvalid(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	b := e.login(t, "n.envoy1")
	action := fmt.Sprintf("/versions/%d/counter", d.Counter.ID)

	// An unknown value: 422, the error next to that issue's select, and
	// everything typed kept: the other changed value, the clause, the
	// rationale, and the unknown value itself.
	form := counterForm(d.Counter, map[string]string{"sanctions relief": "never", "reconstruction fund": "10bn"})
	form.Set("clause:prisoner exchange", "All detainees <b>within</b> 30 days.")
	form.Set("rationale", "Kept across the error.")
	before := propHead(t, e)
	res := b.post(action, form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantNothingWritten(t, e, "an invalid counter", before)
	wantContains(t, res,
		`<select id="v-2" name="value:sanctions relief" aria-invalid="true" aria-describedby="e-v-2">`,
		`<p class="error" id="e-v-2">&#34;never&#34; is not a value of sanctions relief; choose one of none, phased, immediate.</p>`,
		`<option value="never" selected>never (not a value of this issue)</option>`,
		`<option selected>10bn</option>`,
		"All detainees &lt;b&gt;within&lt;/b&gt; 30 days.",
		">Kept across the error.</textarea>",
		`id="counter-submit"`)
	if n := strings.Count(res.Body, `class="error"`); n != 1 {
		t.Errorf("%d errors on the form, want 1 (next to sanctions relief)", n)
	}

	// A missing issue and a clause too long, each next to its field.
	form = counterForm(d.Counter, nil)
	form.Del("value:elections timeline")
	form.Set("clause:ceasefire line", strings.Repeat("x", talks.MaxClauseLen+1))
	res = b.post(action, form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-v-5"`, "Choose a value for elections timeline.", `id="e-c-0"`)
	wantNothingWritten(t, e, "an invalid counter", before)

	// A rationale too long.
	form = counterForm(d.Counter, nil)
	form.Set("rationale", strings.Repeat("y", talks.MaxRationaleLen+1))
	res = b.post(action, form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-rationale"`)
	wantNothingWritten(t, e, "an invalid counter", before)

	// A bad answer kind.
	wantStatus(t, b.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"maybe"}}), http.StatusBadRequest)
	wantStatus(t, b.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"counter"}}), http.StatusBadRequest)
	wantNothingWritten(t, e, "a bad answer", before)
}

func TestProposalForbidden(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	adv := e.login(t, "n.advisor")

	// An advisor reads the proposal but is offered no answer or counter.
	res := adv.get(fmt.Sprintf("/proposals/%d", d.Proposal.ID))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `id="versions"`, `id="answers"`, "Only a principal or an envoy answers for a party.")
	wantNotContains(t, res, `form id="answer-accept"`, `form id="answer-reject"`, `form id="counter"`)

	// Posting anyway is refused and writes nothing.
	before := propHead(t, e)
	wantStatus(t, adv.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"accept"}}), http.StatusForbidden)
	wantStatus(t, adv.post(fmt.Sprintf("/versions/%d/counter", d.Counter.ID), counterForm(d.Counter, map[string]string{"sanctions relief": "none"})), http.StatusForbidden)
	// Even with bad input the refusal comes first.
	wantStatus(t, adv.post(fmt.Sprintf("/versions/%d/counter", d.Counter.ID), url.Values{"value:sanctions relief": {"never"}}), http.StatusForbidden)
	wantStatus(t, adv.get(fmt.Sprintf("/tracks/%d/proposals/new", d.Official.ID)), http.StatusForbidden)
	wantStatus(t, adv.post(fmt.Sprintf("/tracks/%d/proposals", d.Official.ID), url.Values{"title": {"Advisor's idea"}}), http.StatusForbidden)
	wantNothingWritten(t, e, "an advisor", before)

	// The facilitator redrafts but does not answer.
	fac := e.login(t, "facilitator")
	res = fac.get(fmt.Sprintf("/proposals/%d", d.Proposal.ID))
	wantContains(t, res, `form id="counter"`, "Redraft from Version 2", "A facilitator does not answer for a party")
	wantNotContains(t, res, `form id="answer-accept"`)
	wantStatus(t, fac.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"accept"}}), http.StatusForbidden)
	wantNothingWritten(t, e, "the facilitator's answer", before)
	_, vid := newVersionID(t, fac.post(fmt.Sprintf("/versions/%d/counter", d.Counter.ID), counterForm(d.Counter, map[string]string{"reconstruction fund": "10bn"})))
	res = fac.get(fmt.Sprintf("/proposals/%d?version=%s", d.Proposal.ID, vid))
	wantContains(t, res, "Ingrid Halvorsen (facilitator)", "10bn")

	// Without the CSRF token nothing is written.
	b := e.login(t, "n.envoy1")
	before = propHead(t, e)
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"accept"}}},
		{fmt.Sprintf("/versions/%d/counter", d.Counter.ID), counterForm(d.Counter, map[string]string{"sanctions relief": "none"})},
		{fmt.Sprintf("/tracks/%d/proposals", d.Official.ID), url.Values{"title": {"Forged"}}},
		{"/answers/1/withdraw", nil},
	} {
		for _, tok := range []string{"", "forged"} {
			f := url.Values{"csrf": {tok}}
			for k, v := range p.form {
				f[k] = v
			}
			if res := b.post(p.path, f); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with CSRF token %q = %d, want 403", p.path, tok, res.StatusCode)
			}
		}
	}
	wantNothingWritten(t, e, "forged forms", before)
}

func TestProposalNotFound(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	b := e.login(t, "n.envoy1")
	before := propHead(t, e)
	other := fmt.Sprintf("/proposals/%d", d.Proposal.ID)
	for _, p := range []string{
		"/proposals/999999", "/proposals/abc", "/proposals/0",
		other + "?version=999999", other + "?version=x", other + "?a=999999", other + "?b=-1",
		"/talks/999999/agreement", "/tracks/999999/proposals/new",
	} {
		if res := b.get(p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/versions/999999/answer", "/versions/999999/counter", "/answers/999999/withdraw", "/tracks/999999/proposals", "/versions/abc/answer"} {
		if res := b.post(p, url.Values{"kind": {"accept"}, "title": {"t"}}); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", p, res.StatusCode)
		}
	}
	wantNothingWritten(t, e, "requests for nothing", before)

	// Someone outside the talk learns nothing of it.
	out := propOutsider(t, e)
	for _, p := range []string{other, fmt.Sprintf("%s?version=%d", other, d.Counter.ID), fmt.Sprintf("/talks/%d/agreement", d.Talk.ID), fmt.Sprintf("/tracks/%d/proposals/new", d.Official.ID)} {
		res := out.get(p)
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, d.Talk.Title, d.Proposal.Title)
	}
	if res := out.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"accept"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("an outsider's answer = %d, want 404", res.StatusCode)
	}
	wantNothingWritten(t, e, "an outsider", before)
}

func TestBackchannelProposal(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	back := fmt.Sprintf("/tracks/%d", d.Back.ID)
	b := e.login(t, "n.envoy1")

	// The form for a new proposal on the back-channel, in its colours.
	res := b.get(back + "/proposals/new")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `class="back"`, `name="title"`, `name="value:ceasefire line"`, `<option value="" selected>Choose…</option>`)

	// A missing title and an unknown value: 422, each error next to its
	// field, everything typed kept.
	form := url.Values{"title": {""}, "rationale": {"Only between us."},
		"value:ceasefire line": {"river line"}, "value:security guarantees": {"blue helmets"},
		"clause:ceasefire line": {"The river is the line."}}
	before := propHead(t, e)
	res = b.post(back+"/proposals", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantNothingWritten(t, e, "an invalid proposal", before)
	wantContains(t, res, `id="e-title"`, `id="e-v-1"`, `<option selected>river line</option>`,
		`<option value="blue helmets" selected>`, "The river is the line.", "Only between us.", `class="back"`)

	// Put it on the table.
	secretTitle := "Quiet package: river line for phased relief"
	secretRationale := "Not for the official record until both principals agree."
	form = url.Values{"title": {secretTitle}, "rationale": {secretRationale}}
	for issue, val := range d.Counter.Values {
		form.Set("value:"+issue, val)
	}
	form.Set("value:sanctions relief", "phased")
	res = b.post(back+"/proposals", form)
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !regexp.MustCompile(`^/proposals/\d+$`).MatchString(loc) {
		t.Fatalf("new proposal redirects to %q", loc)
	}
	res = b.get(loc)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `class="back"`, "Back-channel", secretTitle, secretRationale, "Version 1",
		"Version 1 compared with itself: it is the first version", fmt.Sprintf(`data-track="%d"`, d.Back.ID))
	ps, err := e.svc.FindProposals(d.As(context.Background(), "n.envoy1"), talks.ProposalFilter{TalkID: d.Talk.ID, TrackID: d.Back.ID})
	if err != nil || len(ps) != 1 {
		t.Fatalf("back-channel proposals: %v, %v", ps, err)
	}
	vs, err := e.svc.FindVersions(d.As(context.Background(), "n.envoy1"), talks.VersionFilter{ProposalID: ps[0].ID})
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions: %v, %v", vs, err)
	}
	ver := vs[0]

	// Southland's principal sees it through its envoys.
	wantContains(t, e.login(t, "s.principal").get(loc), secretTitle)
	// ... but does not post there, so gets no form for a new proposal.
	wantStatus(t, e.login(t, "s.principal").get(back+"/proposals/new"), http.StatusForbidden)

	// The advisor and the facilitator, who are not on the back-channel, are
	// told it does not exist, whatever they ask, and nothing is written.
	before = propHead(t, e)
	for _, key := range []string{"n.advisor", "facilitator"} {
		o := e.login(t, key)
		for _, p := range []string{loc, fmt.Sprintf("%s?version=%d", loc, ver.ID), back + "/proposals/new"} {
			res := o.get(p)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: GET %s = %d, want 404", key, p, res.StatusCode)
			}
			wantNotContains(t, res, secretTitle, secretRationale, d.Back.Name, "phased")
		}
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{fmt.Sprintf("/versions/%d/answer", ver.ID), url.Values{"kind": {"accept"}}},
			{fmt.Sprintf("/versions/%d/counter", ver.ID), counterForm(ver, nil)},
			{fmt.Sprintf("/versions/%d/counter", ver.ID), url.Values{"value:sanctions relief": {"never"}}},
			{back + "/proposals", url.Values{"title": {secretTitle}, "value:sanctions relief": {"phased"}}},
		} {
			res := o.post(p.path, p.form)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: POST %s = %d, want 404", key, p.path, res.StatusCode)
			}
			wantNotContains(t, res, secretTitle, secretRationale, d.Back.Name)
		}
		// Its official proposal page does not list or link the other.
		wantNotContains(t, o.get(fmt.Sprintf("/proposals/%d", d.Proposal.ID)), secretTitle)
	}
	wantNothingWritten(t, e, "people outside the back-channel", before)

	// Agreed on the back-channel: the envoys and principals read it; the
	// advisor, who may not see the track, is told there is no agreement.
	wantStatus(t, b.post(fmt.Sprintf("/versions/%d/answer", ver.ID), url.Values{"kind": {"accept"}}), http.StatusSeeOther)
	wantStatus(t, e.login(t, "s.envoy2").post(fmt.Sprintf("/versions/%d/answer", ver.ID), url.Values{"kind": {"accept"}}), http.StatusSeeOther)
	agreement := fmt.Sprintf("/talks/%d/agreement", d.Talk.ID)
	res = e.login(t, "n.principal").get(agreement)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, secretTitle, "phased", `class="back"`)
	res = e.login(t, "n.advisor").get(agreement)
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, secretTitle, "phased")
	res = e.login(t, "n.advisor").get(fmt.Sprintf("/proposals/%d", d.Proposal.ID))
	wantNotContains(t, res, `id="agreement"`, secretTitle)
}

func TestProposalLiveRegions(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	b := e.login(t, "s.envoy1")
	page := fmt.Sprintf("/proposals/%d", d.Proposal.ID)

	// htmx reloads a region from the page's own address, asked for as it
	// was: without ?version the regions follow the latest version.
	res := b.get(page)
	wantContains(t, res, `hx-get="`+page+`" hx-select="#versions"`, `hx-get="`+page+`" hx-select="#answers"`)
	res = b.get(fmt.Sprintf("%s?version=%d", page, d.Draft.ID))
	wantContains(t, res, fmt.Sprintf(`hx-get="%s?version=%d" hx-select="#answers"`, page, d.Draft.ID))

	res = b.htmx("GET", page, nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `id="versions"`, `id="answers"`, `id="agreement-live"`)

	// The agreement region listens to any track, the others to the
	// proposal's own.
	if !regexp.MustCompile(`id="agreement-live"[^>]*data-live="talk.agreed talk.reopened">`).MatchString(res.Body) {
		t.Errorf("the agreement region is missing or filtered by track")
	}
}

func TestProposalNumericIssues(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	ctx := d.As(context.Background(), "facilitator")
	space, err := outcome.NewSpace("numbers",
		outcome.NewInteger("troops", 0, 5000),
		outcome.NewReal("fund", 0, 10, 0.5),
		outcome.NewDiscrete("status", "interim", "final"),
	)
	if err != nil {
		t.Fatal(err)
	}
	talk := &talks.Talk{Title: "Numbers talk", Space: space}
	if err := e.svc.CreateTalk(ctx, talk); err != nil {
		t.Fatal(err)
	}
	tracks, err := e.svc.FindTracks(ctx, talk.ID)
	if err != nil || len(tracks) != 1 {
		t.Fatalf("tracks of a new talk: %v, %v", tracks, err)
	}
	b := e.login(t, "facilitator")
	newPath := fmt.Sprintf("/tracks/%d/proposals/new", tracks[0].ID)
	res := b.get(newPath)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `name="value:troops" type="number" inputmode="numeric" step="1" min="0" max="5000"`,
		`name="value:fund" type="number" inputmode="decimal" step="0.5" min="0" max="10"`, `name="value:status"`)

	// Out of range and off the grid: 422, each next to its input, kept.
	form := url.Values{"title": {"Numbers"}, "value:troops": {"6000"}, "value:fund": {"2.25"}, "value:status": {"final"}}
	res = b.post(fmt.Sprintf("/tracks/%d/proposals", tracks[0].ID), form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-v-0"`, "a whole number from 0 to 5000", `value="6000"`,
		`id="e-v-1"`, "a number from 0 to 10 in steps of 0.5", `value="2.25"`, `value="Numbers"`)

	// An issue the talk does not have: the whole form says so.
	form = url.Values{"title": {"Numbers"}, "value:troops": {"1200"}, "value:fund": {"2.5"}, "value:status": {"final"}, "value:colour": {"blue"}}
	res = b.post(fmt.Sprintf("/tracks/%d/proposals", tracks[0].ID), form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `class="flash flash-bad" role="alert"`, "colour")

	form.Del("value:colour")
	res = b.post(fmt.Sprintf("/tracks/%d/proposals", tracks[0].ID), form)
	wantStatus(t, res, http.StatusSeeOther)
	res = b.get(res.Header.Get("Location"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<strong>1200</strong>", "<strong>2.5</strong>", `name="value:troops" type="number"`, `value="1200"`)
}

// TestProposalWritesWake checks that a counter, an answer and its
// withdrawal made through the pages reach another member's event stream at
// once, not at its next heartbeat.
func TestProposalWritesWake(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	watcher := e.login(t, "s.principal")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/talks/%d/events?after=%d", e.srv.URL, d.Talk.ID, propHead(t, e)), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := watcher.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("event stream: status %d", res.StatusCode)
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if typ, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- typ
			}
		}
		close(events)
	}()
	want := func(typ string) {
		t.Helper()
		select {
		case got, ok := <-events:
			if !ok || got != typ {
				t.Fatalf("event stream: got %q (open %v), want %s", got, ok, typ)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("event stream: no %s within 3s of the write (the heartbeat is %v)", typ, server.HeartbeatInterval)
		}
	}

	b := e.login(t, "n.envoy1")
	_, vid := newVersionID(t, b.post(fmt.Sprintf("/versions/%d/counter", d.Counter.ID), counterForm(d.Counter, map[string]string{"sanctions relief": "phased"})))
	want("version.proposed")
	want("answer.given") // Northland's counter is its answer to version 2
	wantStatus(t, b.post("/versions/"+vid+"/answer", url.Values{"kind": {"reject"}}), http.StatusSeeOther)
	want("answer.given")
	answers, err := e.svc.FindAnswers(d.As(context.Background(), "n.envoy1"), talks.AnswerFilter{ProposalID: d.Proposal.ID})
	if err != nil || len(answers) == 0 {
		t.Fatalf("answers: %v, %v", answers, err)
	}
	last := answers[len(answers)-1]
	wantStatus(t, b.post(fmt.Sprintf("/answers/%d/withdraw", last.ID), url.Values{"version": {vid}}), http.StatusSeeOther)
	want("answer.withdrawn")
}

// TestCounterBlocked: where a member who may propose cannot counter the
// version shown, the counter form's place says why: its party has
// answered, or the talk is closed.
func TestCounterBlocked(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	page := fmt.Sprintf("/proposals/%d?version=%d", d.Proposal.ID, d.Counter.ID)
	north, south, fac := e.login(t, "n.principal"), e.login(t, "s.principal"), e.login(t, "facilitator")
	res := north.get(page)
	wantContains(t, res, `id="counter-submit"`, `id="counter-status"`)
	wantNotContains(t, res, `id="counter-blocked"`)
	wantStatus(t, north.post(fmt.Sprintf("/versions/%d/answer", d.Counter.ID), url.Values{"kind": {"reject"}}), http.StatusSeeOther)
	res = north.get(page)
	wantContains(t, res, `id="counter-blocked"`, "Northland has answered Version 2: withdraw its answer to counter it.")
	wantNotContains(t, res, `id="counter-submit"`)

	wantStatus(t, fac.post(fmt.Sprintf("/talks/%d/status", d.Talk.ID), url.Values{"status": {"closed"}}), http.StatusSeeOther)
	res = south.get(page)
	wantContains(t, res, `id="counter-blocked"`, "The talk is closed")
	wantNotContains(t, res, `id="counter-submit"`)
	// An advisor, who does not propose, is told nothing there.
	wantNotContains(t, e.login(t, "s.advisor").get(page), `id="counter-blocked"`)
}
