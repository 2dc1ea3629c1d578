package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/backchannel/backchannel/internal/demo"
)

// apiSession is one demo person signed in to the real server's JSON API.
type apiSession struct {
	t    *testing.T
	srv  *liveServer
	c    *http.Client
	csrf string
}

func apiLogin(t *testing.T, srv *liveServer, key string) *apiSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &apiSession{t: t, srv: srv, c: &http.Client{Jar: jar, Timeout: stepTimeout}}
	email := castPerson(t, key).Email
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	s.call("POST", "/api/v1/login", map[string]string{"email": email, "password": srv.passwords[email]}, &out)
	s.csrf = out.CSRF
	return s
}

// call sends a JSON request and decodes a 2xx answer into out.
func (s *apiSession) call(method, path string, body, out any) {
	s.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	res, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		s.t.Fatalf("%s %s = %d %s", method, path, res.StatusCode, b.String())
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TestE2EDisclosure: the envoys agree a text on the demo's back-channel
// (through the API), the two principals propose and consent to publishing
// one term in the browser, and a visitor who is not signed in reads the
// public page, which shows that term and nothing else.
func TestE2EDisclosure(t *testing.T) {
	srv, browser := startE2E(t, 3*time.Minute)

	// The agreement, in the back-channel.
	ne := apiLogin(t, srv, "n.envoy1")
	var talkList []struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	ne.call("GET", "/api/v1/talks", nil, &talkList)
	if len(talkList) != 1 {
		t.Fatalf("n.envoy1 is in %d talks, want the demo's", len(talkList))
	}
	talk := talkList[0]
	var tracks []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
		Kind string `json:"kind"`
	}
	ne.call("GET", fmt.Sprintf("/api/v1/talks/%d/tracks", talk.ID), nil, &tracks)
	var backID int64
	var backName string
	for _, tr := range tracks {
		if tr.Kind == "backchannel" {
			backID, backName = tr.ID, tr.Name
		}
	}
	if backID == 0 {
		t.Fatalf("no back-channel among %+v", tracks)
	}
	space, err := demo.Space()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, is := range space.Issues {
		values[is.Name] = is.Values[0] // the demo's issues are all discrete
	}
	values["ceasefire line"], values["sanctions relief"] = "river line", "phased"
	const secretTitle, secretRationale = "Quiet text of the envoys", "Between us until the principals say otherwise."
	var created struct {
		Version struct {
			ID int64 `json:"id"`
		} `json:"version"`
	}
	ne.call("POST", fmt.Sprintf("/api/v1/tracks/%d/proposals", backID),
		map[string]any{"title": secretTitle, "values": values, "rationale": secretRationale}, &created)
	for _, s := range []*apiSession{ne, apiLogin(t, srv, "s.envoy2")} {
		s.call("POST", fmt.Sprintf("/api/v1/versions/%d/answers", created.Version.ID), map[string]string{"kind": "accept"}, nil)
	}

	np := newPerson(t, browser, srv, "NP (Northland principal)", "n.principal")
	sp := newPerson(t, browser, srv, "SP (Southland principal)", "s.principal")
	agreement := fmt.Sprintf("/talks/%d/agreement", talk.ID)
	public := fmt.Sprintf("/public/talks/%d", talk.ID)

	// Southland's principal has the agreement page open throughout.
	sp.login()
	sp.open(agreement)
	sp.waitLive()
	sp.mark()

	// Northland's principal proposes to publish the ceasefire line, with
	// an embargo already past, and consents.
	np.login()
	np.open(agreement)
	np.do("fill the disclosure plan",
		chromedp.WaitVisible(chromedp.ID("disclosure-form")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#disclosure-form input[name=issue][value="ceasefire line"]').checked = true`),
		chromedp.SetValue(chromedp.CSS(`#disclosure-form textarea[name="clause:ceasefire line"]`), "The line follows the river."),
		chromedp.SetValue(chromedp.ID("f-embargo"), "2020-01-01T00:00"),
	)
	if path := np.follow("propose the plan", `#disclosure-form button[type=submit]`); path != agreement {
		t.Fatalf("after proposing the plan the page is %s, want %s", path, agreement)
	}
	np.follow("consent", `#consent`)
	if s := np.text("#disclosure-status"); !strings.Contains(s, "Not public yet") {
		t.Fatalf("status after one consent: %q", s)
	}

	// Southland's principal sees the plan and Northland's consent arrive
	// live, without a reload; those refreshes record no read of the
	// agreement: it read it once, when it opened the page.
	if _, ok := sp.seenAt("plan", present("#consent"), 10*time.Second); !ok {
		t.Fatalf("the plan did not reach Southland's open page: %s", sp.state())
	}
	if _, ok := sp.seenAt("consent", contains("#disclosure-state .consents", "consented"), 10*time.Second); !ok {
		t.Errorf("Northland's consent did not reach Southland's open page: %q", sp.text("#disclosure-state"))
	}
	if sp.reloaded() {
		t.Errorf("Southland's page was reloaded, not updated live")
	}
	if n := readsBy(t, srv, talk.ID, "s.principal"); n != 1 {
		t.Errorf("Southland's principal has %d reads of the agreement recorded, want 1", n)
	}

	// It consents: the plan is published, and Northland's page shows it.
	np.waitLive()
	sp.follow("consent", `#consent`)
	if s := sp.text("#disclosure-status"); !strings.Contains(s, "Published") {
		t.Fatalf("status after every consent: %q", s)
	}
	if _, ok := np.seenAt("published", contains("#disclosure-status", "Published"), 10*time.Second); !ok {
		t.Errorf("Northland's open page did not show the plan published: %q", np.text("#disclosure-state"))
	}

	// A visitor, signed out, in a browser context of its own.
	visitor := newPerson(t, browser, srv, "V (not signed in)", "")
	visitor.open(public)
	body := visitor.text("main")
	for _, want := range []string{"Published terms", "ceasefire line", "river line", "The line follows the river."} {
		if !strings.Contains(body, want) {
			t.Errorf("public page lacks %q: %s", want, body)
		}
	}
	leaks := []string{talk.Title, backName, secretTitle, secretRationale, "sanctions relief", "phased", "back-channel", "Back-channel"}
	for _, p := range demo.Cast {
		leaks = append(leaks, p.Name)
	}
	page := eval[string](visitor, "page HTML", `document.documentElement.outerHTML`)
	for _, leak := range leaks {
		if strings.Contains(page, leak) {
			t.Errorf("public page contains %q", leak)
		}
	}
	if eval[bool](visitor, "sign-out form", `document.querySelector('form[action="/logout"]') !== null`) {
		t.Error("the visitor's public page shows a signed-in frame")
	}
}

// readsBy returns how many reads of talk talkID's agreement are recorded
// for the demo person key, as the Northland principal sees them.
func readsBy(t *testing.T, srv *liveServer, talkID int64, key string) int {
	t.Helper()
	var me struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	apiLogin(t, srv, key).call("GET", "/api/v1/me", nil, &me)
	np := apiLogin(t, srv, "n.principal")
	var members []struct {
		ID     int64 `json:"id"`
		UserID int64 `json:"user_id"`
	}
	np.call("GET", fmt.Sprintf("/api/v1/talks/%d/members", talkID), nil, &members)
	var reads []struct {
		MemberID int64 `json:"member_id"`
	}
	np.call("GET", fmt.Sprintf("/api/v1/talks/%d/agreement/reads", talkID), nil, &reads)
	n := 0
	for _, m := range members {
		if m.UserID == me.User.ID {
			for _, r := range reads {
				if r.MemberID == m.ID {
					n++
				}
			}
		}
	}
	return n
}
