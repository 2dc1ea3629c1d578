package server

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestRevocationIsImmediate checks that the authentication cache never
// outlives a revocation made through the server: a revoked API token and a
// logged-out session cookie are refused on the very next request, even
// right after requests that they authenticated.
func TestRevocationIsImmediate(t *testing.T) {
	e := newEnv(t)
	var tok Token
	e.must(201, "NE", "POST", "/api/v1/tokens", map[string]any{"name": "cli"}, &tok)
	e.tokens["cli"] = tok.Token
	for range 3 {
		e.must(200, "cli", "GET", "/api/v1/me", nil, nil)
	}
	e.must(204, "NE", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil, nil)
	e.must(401, "cli", "GET", "/api/v1/me", nil, nil)

	c, csrf := e.cookieClient("SE")
	u, _ := url.Parse(e.ts.URL)
	var cookie *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	// replay sends the cookie by hand, as a client that ignores the
	// server's clearing it would.
	replay := func() int {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/me", nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie.Value})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 3 {
		if st := replay(); st != 200 {
			t.Fatalf("GET /me with a live session = %d, want 200", st)
		}
	}
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/logout", nil)
	req.Header.Set(CSRFHeader, csrf)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("logout = %d, want 204", resp.StatusCode)
	}
	if st := replay(); st != 401 {
		t.Errorf("GET /me with the cookie of a logged-out session = %d, want 401", st)
	}
}
