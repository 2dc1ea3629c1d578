package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
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

// TestLoginLink checks that a sign-in link signs its opener in as its user,
// once: opened again, or with a token that is not one, it shows the
// sign-in form and no session.
func TestLoginLink(t *testing.T) {
	e := newEnv(t)
	u := e.demo.Users["n.principal"]
	tok, err := e.svc.CreateLoginLink(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	res := b.get("/login/link?token=" + url.QueryEscape(tok))
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Errorf("the link goes to %q, want /", loc)
	}
	res = b.get("/")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, u.Name, e.demo.Talk.Title)

	for _, link := range []string{"/login/link?token=" + url.QueryEscape(tok), "/login/link?token=bclogin_nope", "/login/link"} {
		other := e.browser(t)
		res := other.get(link)
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "This sign-in link is invalid, used or expired.")
		wantStatus(t, other.get("/"), http.StatusSeeOther) // to the sign-in page
	}
}
