package web_test

import (
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
