package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestLogoutEndsSession checks that signing out ends the session in the
// store, not only in the browser: its cookie, presented again, is refused
// on the very next request, although requests just before (served from
// the authentication cache) accepted it.
func TestLogoutEndsSession(t *testing.T) {
	e := newEnv(t)
	b := e.login(t, "n.envoy1")
	u, _ := url.Parse(e.srv.URL)
	cookies := b.c.Jar.Cookies(u)
	if len(cookies) == 0 {
		t.Fatal("no session cookie after login")
	}
	replay := e.browser(t)
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, cookies)
	replay.c.Jar = jar
	for range 3 {
		wantStatus(t, replay.get("/"), http.StatusOK)
	}
	wantStatus(t, b.post("/logout", nil), http.StatusSeeOther)
	jar.SetCookies(u, cookies) // a client that ignores the cleared cookie
	wantStatus(t, replay.get("/"), http.StatusSeeOther)
}

// TestLoginLink checks that a sign-in link, opened, only shows a button
// that uses it, so that a GET (a mail scanner, a link preview) does not
// spend it; that the button signs its presser in as the link's user, once;
// and that a used token, one that is not one, or none shows the sign-in
// form and opens no session.
func TestLoginLink(t *testing.T) {
	e := newEnv(t)
	u := e.demo.Users["n.principal"]
	tok, err := e.svc.CreateLoginLink(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	link := "/login/link?token=" + url.QueryEscape(tok)

	scanner := e.browser(t)
	for range 2 {
		res := scanner.get(link)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, `action="/login/link"`, `name="token" value="`+tok+`"`)
		wantStatus(t, scanner.get("/"), http.StatusSeeOther) // not signed in
	}

	b := e.browser(t)
	wantStatus(t, b.get(link), http.StatusOK)
	res := b.post("/login/link", url.Values{"token": {tok}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Errorf("the link goes to %q, want /", loc)
	}
	res = b.get("/")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, u.Name, e.demo.Talk.Title)

	for _, token := range []string{tok, "bclogin_nope", ""} {
		other := e.browser(t)
		res := other.post("/login/link", url.Values{"token": {token}})
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, talks.ErrorMessage(talks.ErrLoginLink))
		wantStatus(t, other.get("/"), http.StatusSeeOther) // to the sign-in page
	}
	res = e.browser(t).get("/login/link")
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, talks.ErrorMessage(talks.ErrLoginLink))

	// Someone signed in who opens another user's link is told so, and the
	// button, with the session's CSRF token, signs in as the link's user
	// and ends the session it replaces: its cookie, presented again, is
	// refused.
	tok, err = e.svc.CreateLoginLink(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	s := e.login(t, "s.envoy1")
	site, _ := url.Parse(e.srv.URL)
	old := s.c.Jar.Cookies(site)
	res = s.get("/login/link?token=" + url.QueryEscape(tok))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "You are signed in as "+e.demo.Users["s.envoy1"].Name)
	wantStatus(t, s.post("/login/link", url.Values{"token": {tok}}), http.StatusSeeOther)
	wantContains(t, s.get("/"), u.Name)
	replay := e.browser(t)
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(site, old)
	replay.c.Jar = jar
	wantStatus(t, replay.get("/"), http.StatusSeeOther) // to the sign-in page
}
