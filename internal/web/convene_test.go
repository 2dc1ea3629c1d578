package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// convene posts the form that convenes a talk, with a domain file if
// file is not nil.
func convene(b *browser, fields map[string]string, file []byte) *response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("domain", "domain.xml")
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+"/talks/new", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.e.srv.URL)
	return b.do(req)
}

var talkPath = regexp.MustCompile(`^/talks/(\d+)$`)

// TestConvene convenes talks from the web: from a GENIUS domain file and
// from issues typed by hand; a form with mistakes comes back with what was
// typed and a message by each field, and convenes nothing.
func TestConvene(t *testing.T) {
	e := newEnv(t)
	b := e.login(t, "n.envoy1") // anyone signed in may convene
	wantContains(t, b.get("/"), `href="/talks/new"`)
	wantStatus(t, b.get("/talks/new"), http.StatusOK)

	xml, err := os.ReadFile("../../examples/domains/Laptop/laptop_domain.xml")
	if err != nil {
		t.Fatal(err)
	}
	res := convene(b, map[string]string{"title": "Laptop sale", "description": "A test."}, xml)
	wantStatus(t, res, http.StatusSeeOther)
	m := talkPath.FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("convening went to %q, want a talk's page", res.Header.Get("Location"))
	}
	page := b.get(m[0])
	wantStatus(t, page, http.StatusOK)
	wantContains(t, page, "Laptop sale", "A test.", "Harddisk", "External Monitor", `id="add-party"`, `id="open-track"`)

	res = convene(b, map[string]string{"title": "Typed", "issues": "Ceasefire line: current, 1949\nPrisoner exchange: none, 100, 500"}, nil)
	wantStatus(t, res, http.StatusSeeOther)
	wantContains(t, b.get(res.Header.Get("Location")), "Ceasefire line", "Prisoner exchange", "500")

	count := func() int {
		ts, err := e.svc.FindTalks(talks.NewContextWithUser(t.Context(), e.demo.Users["n.envoy1"]), talks.TalkFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	before := count()
	for _, tc := range []struct {
		name   string
		fields map[string]string
		file   []byte
		want   []string
	}{
		{"nothing", map[string]string{"description": "kept"}, nil, []string{`id="e-title"`, "Enter a title.", `id="e-domain"`, ">kept</textarea>"}},
		{"a bad line", map[string]string{"title": "T", "issues": "no colon here"}, nil, []string{`id="e-issues"`, "Line 1", ">no colon here</textarea>"}},
		{"a broken file", map[string]string{"title": "T"}, []byte("<negotiation_template><utility_space>"), []string{`id="e-domain"`, "line", "Choose the file again"}},
		{"both", map[string]string{"title": "T", "issues": "a: 1, 2"}, xml, []string{`id="e-domain"`, "not both"}},
	} {
		res := convene(b, tc.fields, tc.file)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.name, res.StatusCode)
		}
		wantContains(t, res, tc.want...)
	}
	if got := count(); got != before {
		t.Errorf("%d talks after the refused forms, want %d", got, before)
	}
}

// TestManageTalk adds a party and opens a back-channel from the talk's
// page, as its facilitator; the back-channel's members see it and others
// are told it does not exist; a member who does not manage the talk has no
// forms and is refused.
func TestManageTalk(t *testing.T) {
	e := newEnv(t)
	fac := e.login(t, "facilitator")
	talk := fmt.Sprintf("/talks/%d", e.demo.Talk.ID)
	wantContains(t, fac.get(talk), `id="add-party"`, `id="open-track"`)

	res := fac.post(talk+"/parties", url.Values{"party": {"Eastland"}})
	wantStatus(t, res, http.StatusSeeOther)
	wantContains(t, fac.get(talk), "<h3>Eastland</h3>")
	res = fac.post(talk+"/parties", url.Values{"party": {"Eastland"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-party"`, `value="Eastland"`)
	res = fac.post(talk+"/parties", url.Values{"party": {"  "}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-party"`)

	n1, s1 := e.demo.Members["n.envoy2"].ID, e.demo.Members["s.envoy2"].ID
	members := url.Values{"member": {strconv.FormatInt(n1, 10), strconv.FormatInt(s1, 10)}}
	res = fac.post(talk+"/tracks", members)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-track"`, fmt.Sprintf(`value="%d" checked`, n1), fmt.Sprintf(`value="%d" checked`, s1))
	members.Set("track", "Second envoys")
	res = fac.post(talk+"/tracks", members)
	wantStatus(t, res, http.StatusSeeOther)
	track := res.Header.Get("Location")
	for key, want := range map[string]int{"n.envoy2": 200, "s.envoy2": 200, "n.principal": 200, "n.envoy1": 404, "s.advisor": 404} {
		if got := e.login(t, key).get(track).StatusCode; got != want {
			t.Errorf("%s opens the new back-channel: %d, want %d", key, got, want)
		}
	}

	envoy := e.login(t, "n.envoy1")
	wantNotContains(t, envoy.get(talk), `id="add-party"`, `id="open-track"`)
	wantStatus(t, envoy.post(talk+"/parties", url.Values{"party": {"Westland"}}), http.StatusForbidden)
	wantStatus(t, envoy.post(talk+"/tracks", url.Values{"track": {"mine"}, "member": {strconv.FormatInt(n1, 10)}}), http.StatusForbidden)
}

// TestManageStatusAndTrackMembers closes a talk and opens it again, and
// puts a member on a back-channel, as the talk's facilitator; an envoy
// has neither form and is refused.
func TestManageStatusAndTrackMembers(t *testing.T) {
	e := newEnv(t)
	fac := e.login(t, "facilitator")
	talk := fmt.Sprintf("/talks/%d", e.demo.Talk.ID)
	wantContains(t, fac.get(talk), `id="talk-status"`, `value="closed"`)
	wantStatus(t, fac.post(talk+"/status", url.Values{"status": {"closed"}}), http.StatusSeeOther)
	page := fac.get(talk)
	wantContains(t, page, "Open the talk again", `value="open"`)
	wantStatus(t, fac.post(talk+"/status", url.Values{"status": {"open"}}), http.StatusSeeOther)
	wantContains(t, fac.get(talk), "Close the talk")
	wantStatus(t, fac.post(talk+"/status", url.Values{"status": {"agreed"}}), http.StatusBadRequest)

	// A back-channel of the facilitator's (who sees only those it is on)
	// and the Northland envoy; the Northland advisor is not on it.
	res := fac.post(talk+"/tracks", url.Values{"track": {"Quiet word"}, "member": {
		strconv.FormatInt(e.demo.Members["n.envoy1"].ID, 10), strconv.FormatInt(facilitatorID(t, e), 10)}})
	wantStatus(t, res, http.StatusSeeOther)
	back := res.Header.Get("Location")
	priya := e.login(t, "n.advisor")
	wantStatus(t, priya.get(back), http.StatusNotFound)
	page = fac.get(back)
	wantContains(t, page, `id="add-track-member"`)
	id := strconv.FormatInt(e.demo.Members["n.advisor"].ID, 10)
	wantStatus(t, fac.post(back+"/members", url.Values{"member": {id}}), http.StatusSeeOther)
	wantStatus(t, priya.get(back), http.StatusOK)

	envoy := e.login(t, "n.envoy1")
	wantNotContains(t, envoy.get(talk), `id="talk-status"`)
	wantNotContains(t, envoy.get(back), `id="add-track-member"`)
	wantStatus(t, envoy.post(talk+"/status", url.Values{"status": {"closed"}}), http.StatusForbidden)
	wantStatus(t, envoy.post(back+"/members", url.Values{"member": {strconv.FormatInt(e.demo.Members["s.advisor"].ID, 10)}}), http.StatusForbidden)
}

// facilitatorID returns the member ID of the demo talk's facilitator.
func facilitatorID(t *testing.T, e *env) int64 {
	t.Helper()
	ms, err := e.svc.FindMembers(talks.NewContextWithUser(t.Context(), e.demo.Users["facilitator"]), e.demo.Talk.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.UserID == e.demo.Users["facilitator"].ID {
			return m.ID
		}
	}
	t.Fatal("the demo talk has no facilitator")
	return 0
}

// TestRemoveFromTrack takes members off the envoys' back-channel: the
// Northland principal takes off one of its envoys (and has no choice of the
// Southland's), a Southland envoy leaves and lands on the talk's page, and
// neither then sees the back-channel; the last one on it cannot leave.
func TestRemoveFromTrack(t *testing.T) {
	e := newEnv(t)
	back := fmt.Sprintf("/tracks/%d", e.demo.Back.ID)
	talk := fmt.Sprintf("/talks/%d", e.demo.Talk.ID)
	id := func(key string) string { return strconv.FormatInt(e.demo.Members[key].ID, 10) }

	np := e.login(t, "n.principal")
	page := np.get(back)
	wantContains(t, page, `id="remove-track-member"`, `<option value="`+id("n.envoy2")+`"`)
	wantNotContains(t, page, `id="leave-track"`)
	wantNotContains(t, np.get(back), `<option value="`+id("s.envoy1")+`"`)
	wantStatus(t, np.post(back+"/members/remove", url.Values{"member": {id("s.envoy1")}}), http.StatusForbidden)
	res := np.post(back+"/members/remove", url.Values{"member": {id("n.envoy2")}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != back {
		t.Errorf("taking a member off goes to %q, want %q", got, back)
	}
	wantStatus(t, e.login(t, "n.envoy2").get(back), http.StatusNotFound)
	// The live region that membership events refresh: the members, and the
	// forms, without n.envoy2 on it.
	region := np.get(back + "/members")
	wantStatus(t, region, http.StatusOK)
	wantContains(t, region, `id="track-members"`, `data-live="track.member_added track.member_removed`, `id="remove-track-member"`)
	wantNotContains(t, region, "<html", e.demo.Users["n.envoy2"].Name+" (")
	// n.envoy2 is now one the principal may put back, not take off.
	body := np.get(back).Body
	add, _, _ := strings.Cut(body[strings.Index(body, `id="add-track-member"`)+1:], "</form>")
	if !strings.Contains(add, `<option value="`+id("n.envoy2")+`"`) {
		t.Errorf("the principal's form to put a member on the back-channel has no n.envoy2: %s", add)
	}

	se := e.login(t, "s.envoy1")
	wantContains(t, se.get(back), `id="leave-track"`)
	wantNotContains(t, se.get(back), `id="remove-track-member"`)
	res = se.post(back+"/members/remove", url.Values{"member": {id("s.envoy1")}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != talk {
		t.Errorf("leaving goes to %q, want %q", got, talk)
	}
	wantStatus(t, se.get(back), http.StatusNotFound)
	wantNotContains(t, se.get(talk), "Envoys&#39; back-channel")
	wantContains(t, e.login(t, "s.envoy2").get(talk), "Envoys&#39; back-channel")

	// s.envoy2 takes n.envoy1 off? No: another party's member.
	s2 := e.login(t, "s.envoy2")
	wantStatus(t, s2.post(back+"/members/remove", url.Values{"member": {id("n.envoy1")}}), http.StatusForbidden)
	// n.envoy1 leaves; s.envoy2, the last, cannot.
	wantStatus(t, e.login(t, "n.envoy1").post(back+"/members/remove", url.Values{"member": {id("n.envoy1")}}), http.StatusSeeOther)
	wantNotContains(t, s2.get(back), `id="leave-track"`)
	wantStatus(t, s2.post(back+"/members/remove", url.Values{"member": {id("s.envoy2")}}), http.StatusConflict)
	wantStatus(t, np.get(back), http.StatusNotFound)
	wantStatus(t, s2.get(back), http.StatusOK)
}

// TestChangeRole changes roles on the demo talk's page: the facilitator
// any party member's, the Northland principal only its own party's, and not
// its own while it is the party's only principal (the choice is kept with
// the error); an envoy has no such form.
func TestChangeRole(t *testing.T) {
	e := newEnv(t)
	talk := fmt.Sprintf("/talks/%d", e.demo.Talk.ID)
	id := func(key string) string { return strconv.FormatInt(e.demo.Members[key].ID, 10) }
	roleOf := func(key string) talks.Role {
		t.Helper()
		m, err := e.svc.FindMembers(e.demo.As(t.Context(), "facilitator"), e.demo.Talk.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range m {
			if x.ID == e.demo.Members[key].ID {
				return x.Role
			}
		}
		t.Fatalf("no member %s", key)
		return ""
	}

	fac := e.login(t, "facilitator")
	wantContains(t, fac.get(talk), `id="change-role"`, `<option value="`+id("s.advisor")+`"`)
	wantStatus(t, fac.post(talk+"/roles", url.Values{"member": {id("s.advisor")}, "role": {"envoy"}}), http.StatusSeeOther)
	if got := roleOf("s.advisor"); got != talks.RoleEnvoy {
		t.Errorf("s.advisor's role = %s, want envoy", got)
	}

	np := e.login(t, "n.principal")
	page := np.get(talk)
	wantContains(t, page, `id="change-role"`, `<option value="`+id("n.advisor")+`"`)
	wantNotContains(t, page, `<option value="`+id("s.envoy1")+`"`)
	wantStatus(t, np.post(talk+"/roles", url.Values{"member": {id("s.envoy1")}, "role": {"observer"}}), http.StatusForbidden)
	res := np.post(talk+"/roles", url.Values{"member": {id("n.principal")}, "role": {"advisor"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-role"`, "last principal", `<option value="`+id("n.principal")+`" selected`, `<option value="advisor" selected`)
	if got := roleOf("n.principal"); got != talks.RolePrincipal {
		t.Errorf("n.principal's role after a refused change = %s", got)
	}
	wantStatus(t, np.post(talk+"/roles", url.Values{"member": {id("n.advisor")}, "role": {"bogus"}}), http.StatusUnprocessableEntity)
	wantStatus(t, np.post(talk+"/roles", url.Values{"member": {id("n.advisor")}, "role": {"observer"}}), http.StatusSeeOther)
	if got := roleOf("n.advisor"); got != talks.RoleObserver {
		t.Errorf("n.advisor's role = %s, want observer", got)
	}

	envoy := e.login(t, "n.envoy1")
	wantNotContains(t, envoy.get(talk), `id="change-role"`)
	wantStatus(t, envoy.post(talk+"/roles", url.Values{"member": {id("n.advisor")}, "role": {"envoy"}}), http.StatusForbidden)
}

// TestRemoveMember takes members off the demo talk from its page: the
// Northland principal takes off its advisor (and cannot take off the
// Southland's), an envoy leaves and lands on My talks, and the principal,
// its party's only one, cannot leave; those taken off no longer see it.
func TestRemoveMember(t *testing.T) {
	e := newEnv(t)
	talk := fmt.Sprintf("/talks/%d", e.demo.Talk.ID)
	id := func(key string) string { return strconv.FormatInt(e.demo.Members[key].ID, 10) }

	np := e.login(t, "n.principal")
	page := np.get(talk)
	wantContains(t, page, `id="remove-member"`, `id="leave-talk"`)
	body := page.Body
	form, _, _ := strings.Cut(body[strings.Index(body, `id="remove-member"`)+1:], "</form>")
	if !strings.Contains(form, `<option value="`+id("n.advisor")+`"`) || strings.Contains(form, `<option value="`+id("n.principal")+`"`) ||
		strings.Contains(form, `<option value="`+id("s.envoy1")+`"`) {
		t.Errorf("the principal's form to take a member off lists %s; want its party's members but itself", form)
	}
	wantStatus(t, np.post(talk+"/members/remove", url.Values{"member": {id("s.envoy1")}}), http.StatusForbidden)
	res := np.post(talk+"/members/remove", url.Values{"member": {id("n.advisor")}})
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, e.login(t, "n.advisor").get(talk), http.StatusNotFound)
	// What it wrote keeps its name.
	if err := e.svc.PostMessage(e.demo.As(t.Context(), "n.envoy1"), &talks.Message{TrackID: e.demo.Official.ID, Body: "before n.envoy1 goes"}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, np.post(talk+"/members/remove", url.Values{"member": {id("n.envoy1")}}), http.StatusSeeOther)
	wantContains(t, np.get(fmt.Sprintf("/tracks/%d", e.demo.Official.ID)), "(no longer in the talk)")
	res = np.post(talk+"/members/remove", url.Values{"member": {id("n.principal")}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-leave"`, "last principal")
	wantNotContains(t, res, `id="e-remove"`)

	envoy := e.login(t, "s.envoy2")
	wantContains(t, envoy.get("/"), `href="`+talk+`"`)
	wantNotContains(t, envoy.get(talk), `id="remove-member"`)
	res = envoy.post(talk+"/members/remove", url.Values{"member": {id("s.envoy2")}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/" {
		t.Errorf("leaving goes to %q, want /", got)
	}
	wantStatus(t, envoy.get(talk), http.StatusNotFound)
	wantNotContains(t, envoy.get("/"), `href="`+talk+`"`)
}
