package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/internal/web"
)

// env is the whole application (API and pages) over a real SQLite database
// seeded with the demo talk, behind an httptest server.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.Store
	svc   *talks.Service
	demo  *demo.Demo
	key   *ledger.Key // the server's ledger key
}

var csrfKey = []byte("0123456789abcdef0123456789abcdef")

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key, _, err := ledger.GenerateKey("web.example")
	if err != nil {
		t.Fatal(err)
	}
	store.SetNotary(key)
	svc := talks.NewService(store, talks.SystemClock)
	svc.SetAccountPolicy(fastAccounts())
	d, err := demo.Seed(ctx, store, svc)
	if err != nil {
		t.Fatal(err)
	}
	api := server.New(svc, server.Options{CSRFKey: csrfKey, LedgerKey: key})
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", web.New(svc, web.Options{CSRFKey: csrfKey, Notifier: api}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { api.Close(); srv.Close() })
	e := &env{srv: srv, store: store, svc: svc, demo: d, key: key}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	return e
}

// fastAccounts is the default account policy with cheap password hashing,
// so that tests that sign in many times stay quick.
func fastAccounts() talks.AccountPolicy {
	p := talks.DefaultAccountPolicy
	p.Argon2 = talks.Argon2Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}
	return p
}

// browser is one person's cookie jar against env.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login signs in as demo user key and returns the browser.
func (e *env) login(t testing.TB, key string) *browser {
	t.Helper()
	b := e.browser(t)
	u := e.demo.Users[key]
	res := b.post("/login", url.Values{"email": {u.Email}, "password": {e.demo.Passwords[key]}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d, want 303", key, res.StatusCode)
	}
	b.get("/") // picks up the CSRF token
	return b
}

var csrfRE = regexp.MustCompile(`data-csrf="([^"]+)"`)

type response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func (b *browser) do(req *http.Request) *response {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return &response{StatusCode: res.StatusCode, Header: res.Header, Body: string(body)}
}

func (b *browser) get(path string) *response {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.e.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form as a browser does, with the session's CSRF token
// unless the form has one.
func (b *browser) post(path string, form url.Values) *response {
	b.t.Helper()
	form = cloneForm(form) // the caller's form is left as it was
	if _, ok := form["csrf"]; !ok && b.csrf != "" {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.srv.URL)
	return b.do(req)
}

// htmx is post with the headers htmx sends.
func (b *browser) htmx(method, path string, form url.Values) *response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", b.e.srv.URL)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return b.do(req)
}

func wantStatus(t testing.TB, res *response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("status %d, want %d; body:\n%s", res.StatusCode, want, res.Body)
	}
}

func wantContains(t testing.TB, res *response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(res.Body, s) {
			t.Errorf("page does not contain %q", s)
		}
	}
}

func wantNotContains(t testing.TB, res *response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(res.Body, s) {
			t.Errorf("page contains %q, which it must not", s)
		}
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)

	res := b.get("/")
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login" {
		t.Errorf("home without a session redirects to %q, want /login", loc)
	}
	res = b.get(fmt.Sprintf("/tracks/%d", e.demo.Back.ID))
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("a track without a session redirects to %q, want /login?next=...", loc)
	}

	// A wrong password keeps the email typed and says what is wrong.
	res = b.post("/login", url.Values{"email": {"tomas@northland.example"}, "password": {"wrong"}})
	wantStatus(t, res, http.StatusUnauthorized)
	wantContains(t, res, `value="tomas@northland.example"`, "Email or password is incorrect.")
	// Missing fields are named next to the field.
	res = b.post("/login", url.Values{"email": {""}, "password": {""}})
	wantContains(t, res, `id="e-email"`, `id="e-password"`)

	res = b.post("/login", url.Values{"email": {"tomas@northland.example"}, "password": {e.demo.Passwords["n.envoy1"]},
		"next": {fmt.Sprintf("/tracks/%d", e.demo.Back.ID)}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != fmt.Sprintf("/tracks/%d", e.demo.Back.ID) {
		t.Errorf("login redirects to %q, want the page asked for", loc)
	}
	// An off-site next is ignored.
	b2 := e.browser(t)
	res = b2.post("/login", url.Values{"email": {"tomas@northland.example"}, "password": {e.demo.Passwords["n.envoy1"]}, "next": {"//evil.example/"}})
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Errorf("login with an off-site next redirects to %q, want /", loc)
	}

	res = b.get("/")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, e.demo.Talk.Title, "Tomas Varga")

	// Signing out needs the CSRF token.
	res = b.post("/logout", url.Values{"csrf": {"forged"}})
	wantStatus(t, res, http.StatusForbidden)
	res = b.post("/logout", nil)
	wantStatus(t, res, http.StatusSeeOther)
	res = b.get("/")
	wantStatus(t, res, http.StatusSeeOther)
}

func TestTrackVisibility(t *testing.T) {
	e := newEnv(t)
	back := fmt.Sprintf("/tracks/%d", e.demo.Back.ID)
	secret := "Off the record: we could move to the river line"

	// The envoy on the back-channel and its principal read it; the advisor,
	// who is not on it, and the facilitator are told it does not exist.
	for key, want := range map[string]int{"n.envoy1": 200, "n.principal": 200, "s.principal": 200, "n.advisor": 404, "facilitator": 404} {
		b := e.login(t, key)
		res := b.get(back)
		if res.StatusCode != want {
			t.Errorf("%s: GET %s = %d, want %d", key, back, res.StatusCode, want)
		}
		if want == 404 {
			wantNotContains(t, res, secret, e.demo.Back.Name)
			talk := b.get(fmt.Sprintf("/talks/%d", e.demo.Talk.ID))
			wantStatus(t, talk, 200)
			wantNotContains(t, talk, e.demo.Back.Name)
			for _, p := range []string{back + "/messages", back + "/members"} {
				if res := b.get(p); res.StatusCode != 404 {
					t.Errorf("%s: GET %s = %d, want 404", key, p, res.StatusCode)
				}
			}
			if res := b.post(back+"/messages", url.Values{"body": {"hello?"}}); res.StatusCode != 404 {
				t.Errorf("%s: POST %s/messages = %d, want 404", key, back, res.StatusCode)
			}
		} else {
			wantContains(t, res, secret, "Back-channel")
		}
	}

	// Someone outside the talk is told the talk does not exist.
	ctx := context.Background()
	outsider := &talks.User{Name: "Out Sider", Email: "out@example.org"}
	if err := e.store.CreateUser(ctx, outsider); err != nil {
		t.Fatal(err)
	}
	hash, err := talks.HashPassword("a long enough password", fastAccounts().Argon2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpdatePassword(ctx, outsider.ID, hash, 0); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	wantStatus(t, b.post("/login", url.Values{"email": {"out@example.org"}, "password": {"a long enough password"}}), 303)
	for _, p := range []string{fmt.Sprintf("/talks/%d", e.demo.Talk.ID), back, fmt.Sprintf("/tracks/%d", e.demo.Official.ID), "/talks/999999", "/talks/abc"} {
		res := b.get(p)
		wantStatus(t, res, 404)
		wantNotContains(t, res, e.demo.Talk.Title)
	}
	wantContains(t, b.get("/"), "You are not in any talk yet.")
}

func TestPostMessage(t *testing.T) {
	e := newEnv(t)
	b := e.login(t, "n.envoy1")
	back := fmt.Sprintf("/tracks/%d", e.demo.Back.ID)

	// A plain form post redirects back to the track, where the message is.
	res := b.post(back+"/messages", url.Values{"body": {"Plain form post <b>not bold</b>"}})
	wantStatus(t, res, http.StatusSeeOther)
	res = b.get(back)
	wantContains(t, res, "Plain form post &lt;b&gt;not bold&lt;/b&gt;")

	// An empty message is refused next to the field, and what was typed
	// stays (here only spaces, so the textarea keeps them).
	res = b.htmx("POST", back+"/messages", url.Values{"body": {"   "}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-body"`, `aria-invalid="true"`)

	// Too long: refused, and the text is kept.
	long := strings.Repeat("x", talks.MaxMessageLen+1)
	res = b.htmx("POST", back+"/messages", url.Values{"body": {long}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, long)

	// With htmx, the answer is the cleared form and the messages out of band.
	res = b.htmx("POST", back+"/messages", url.Values{"body": {"Through htmx"}})
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `hx-swap-oob="true"`, "Through htmx")

	// Without the CSRF token nothing is written.
	before, _ := e.store.TalkHead(context.Background(), e.demo.Talk.ID)
	res = b.post(back+"/messages", url.Values{"body": {"forged"}, "csrf": {"nope"}})
	wantStatus(t, res, http.StatusForbidden)
	after, _ := e.store.TalkHead(context.Background(), e.demo.Talk.ID)
	if after != before {
		t.Errorf("a forged post wrote events %d..%d", before+1, after)
	}

	// An advisor of the talk reads the official track but cannot post in a
	// back-channel it cannot see; an observer-less demo has no observer.
	adv := e.login(t, "n.advisor")
	res = adv.get(fmt.Sprintf("/tracks/%d", e.demo.Official.ID))
	wantStatus(t, res, 200)

	// The principal reads the back-channel through its envoys but may not
	// post there: the page says so instead of showing the form.
	p := e.login(t, "n.principal")
	res = p.get(back)
	wantNotContains(t, res, `action="`+back+`/messages"`)
	wantContains(t, res, "but not post in it")
	res = p.post(back+"/messages", url.Values{"body": {"principal here"}})
	wantStatus(t, res, http.StatusForbidden)
}

func TestStatic(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/static/htmx.min.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("ETag") == "" {
		t.Errorf("static: status %d, encoding %q, etag %q", res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("ETag"))
	}
	wantStatus(t, b.get("/static/nothing.js"), 404)
	wantStatus(t, b.get("/static/VENDOR.md"), 404)
}

func cloneForm(f url.Values) url.Values {
	c := url.Values{}
	for k, vs := range f {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
