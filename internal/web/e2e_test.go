package web_test

// The end-to-end test: the real backchannel binary, built from this module
// and started with `serve --demo` on 127.0.0.1:0 over a temporary SQLite
// database, driven in headless Chromium (chromedp) by several people at
// once, each in a browser context of its own (its own cookie jar).
//
// Live latencies are measured and logged, never asserted: speed goals are
// measured (docs/web.md), and a timed assertion would only make CI flaky.
// The generous timeouts below only tell "never happened" from "slow".

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/backchannel/backchannel/internal/demo"
)

// liveTimeout is how long a live update may take before the test calls it
// missing. It is not a speed goal.
const liveTimeout = 10 * time.Second

// stepTimeout bounds one browser step (a navigation, a query).
const stepTimeout = 20 * time.Second

// chromiumPath returns the Chromium binary to drive, or "" if there is none.
// BACKCHANNEL_CHROMIUM overrides the search.
func chromiumPath() string {
	if p := os.Getenv("BACKCHANNEL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// lockedBuffer is a bytes.Buffer that the server process writes while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// liveServer is the real binary serving the demo talk.
type liveServer struct {
	URL       string
	passwords map[string]string // by email, as --demo prints them
	out       *lockedBuffer
}

// castPerson returns the demo person key ("n.envoy1").
func castPerson(t *testing.T, key string) demo.Person {
	t.Helper()
	for _, p := range demo.Cast {
		if p.Key == key {
			return p
		}
	}
	t.Fatalf("no demo person %q", key)
	return demo.Person{}
}

// buildBinary builds cmd/backchannel into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backchannel")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	const pkg = "github.com/backchannel/backchannel/cmd/backchannel"
	cmd := exec.Command(gobin, "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// go test caches a result by the files the test opens, and knows
	// nothing of what a child go build read: open the sources of every
	// package of this module that the binary is built from, so that a
	// change to any of them (cmd/backchannel included, which no test of
	// this package imports) runs the test again.
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dir := range strings.Fields(string(out)) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if fh, err := os.Open(f); err == nil {
				fh.Close()
			}
		}
	}
	return bin
}

var servingRE = regexp.MustCompile(`msg=serving url=(\S+)`)

// startServer runs `backchannel serve --demo` on 127.0.0.1:0 with a new
// SQLite database in a temporary directory, and stops it with SIGTERM when
// the test ends.
func startServer(t *testing.T) *liveServer {
	t.Helper()
	bin := buildBinary(t)
	dir := t.TempDir()
	s := &liveServer{out: &lockedBuffer{}, passwords: map[string]string{}}
	cmd := exec.Command(bin, "serve", "--demo", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "e2e.db"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server exited with %v; output:\n%s", err, s.out)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("server did not stop within 15 s of SIGTERM; output:\n%s", s.out)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(s.out.String()); m != nil {
			s.URL = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("server exited before serving: %v; output:\n%s", err, s.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start within 30 s; output:\n%s", s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The login table of --demo: "... email password" on each line.
	sc := bufio.NewScanner(strings.NewReader(s.out.String()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.Contains(f[len(f)-2], "@") && !strings.Contains(f[len(f)-2], "=") {
			s.passwords[f[len(f)-2]] = f[len(f)-1]
		}
	}
	if len(s.passwords) != len(demo.Cast) {
		t.Fatalf("the demo printed %d logins, want %d; output:\n%s", len(s.passwords), len(demo.Cast), s.out)
	}
	return s
}

// startE2E skips t where Chromium is missing. Otherwise it starts the real
// server and headless Chromium, which the test has timeout to use; both
// end when it ends.
func startE2E(t *testing.T, timeout time.Duration) (*liveServer, context.Context) {
	t.Helper()
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("no Chromium installed (apt-get install chromium fonts-liberation; .ci/run does): the end-to-end browser test needs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return startServer(t), newBrowser(t, ctx, chromium)
}

// newBrowser starts headless Chromium, closed when the test ends.
func newBrowser(t *testing.T, ctx context.Context, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return bctx
}

// person is one person at one browser window, with a cookie jar of its own.
type person struct {
	t    *testing.T
	name string // for messages: "A (n.envoy1)"
	key  string
	ctx  context.Context
	srv  *liveServer
}

func newPerson(t *testing.T, browser context.Context, srv *liveServer, name, key string) *person {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first Do opens the tab, bound to this context rather than to a
	// step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	return &person{t: t, name: name, key: key, ctx: ctx, srv: srv}
}

// do runs steps within stepTimeout, failing the test on an error.
func (p *person) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](p *person, what, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return v
}

// text returns the text of the first element that matches css.
func (p *person) text(css string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(css)))
	if err != nil {
		p.t.Fatalf("%s: text of %s: %v", p.name, css, err)
	}
	return s
}

// navigate opens url and returns the HTTP status of the document.
func (p *person) navigate(url string) int64 {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		p.t.Fatalf("%s: open %s: %v", p.name, url, err)
	}
	return res.Status
}

// open opens path on the server and wants 200.
func (p *person) open(path string) {
	p.t.Helper()
	if st := p.navigate(p.srv.URL + path); st != 200 {
		p.t.Fatalf("%s: GET %s = %d, want 200", p.name, path, st)
	}
}

// choose selects, in the select that css matches, the first option whose
// text holds text, and reports whether there was one.
func (p *person) choose(css, text string) bool {
	p.t.Helper()
	return eval[bool](p, "choose "+text+" in "+css, `(function(){
  var s = document.querySelector(`+jsString(css)+`);
  var o = s && Array.from(s.options).find(function(o){ return o.textContent.indexOf(`+jsString(text)+`) >= 0; });
  if (!o) { return false; }
  s.value = o.value;
  return true;
})()`)
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// follow clicks the element that css matches, which loads a page, and
// returns the new page's path.
func (p *person) follow(what, css string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	// A click in the page rather than at the node's coordinates: a live
	// region may have replaced the node that a query found a moment before.
	res, err := chromedp.RunResponse(ctx,
		chromedp.WaitVisible(chromedp.CSS(css)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).click()`, jsString(css))))
	if err != nil {
		p.t.Fatalf("%s: %s (click %s): %v; now %s", p.name, what, css, err, p.state())
	}
	if res.Status != 200 {
		p.t.Fatalf("%s: %s: %s answered %d, want 200", p.name, what, res.URL, res.Status)
	}
	return p.path()
}

// path returns the path of the page shown.
func (p *person) path() string {
	loc := eval[string](p, "location", `location.pathname`)
	return loc
}

// login signs in through the form at /login.
func (p *person) login() {
	p.t.Helper()
	email := castPerson(p.t, p.key).Email
	p.open("/login")
	p.do("fill the login form",
		chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SetValue(chromedp.ID("f-email"), email),
		chromedp.SetValue(chromedp.ID("f-password"), p.srv.passwords[email]),
	)
	if path := p.follow("sign in", `main form button[type=submit]`); path != "/" {
		p.t.Fatalf("%s: after signing in the page is %s, want /", p.name, path)
	}
}

// waitLive waits until the page follows its talk's event stream.
func (p *person) waitLive() {
	p.t.Helper()
	p.do("wait for the event stream", chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="live"]`)))
}

// state describes the page shown, for failure messages.
func (p *person) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){
  var st = document.getElementById("live-status");
  var m = document.getElementById("messages");
  return location.pathname + location.search + " live-status=" + (st ? st.dataset.state + "/" + st.textContent : "none") +
    " head=" + document.body.dataset.head + " messages=" + (m ? JSON.stringify(m.textContent.replace(/\\s+/g, " ").slice(-300)) : "none");
})()`))
	if err != nil {
		return p.name + ": " + err.Error()
	}
	return p.name + " on " + s
}

// watchLive signs in as demo person key, opens path, waits for its stream
// and marks the page (mark), so that reloaded later tells a reload from a
// live update.
func watchLive(t *testing.T, browser context.Context, srv *liveServer, name, key, path string) *person {
	t.Helper()
	p := newPerson(t, browser, srv, name, key)
	p.login()
	p.open(path)
	p.waitLive()
	p.mark()
	return p
}

// mark sets a flag in the page's window that a reload would clear.
func (p *person) mark() {
	p.t.Helper()
	eval[chromedp.Void](p, "mark the page", `window.__e2eMark = true`)
}

// reloaded reports whether the page was loaded again since mark.
func (p *person) reloaded() bool {
	p.t.Helper()
	return !eval[bool](p, "read the mark", `window.__e2eMark === true`)
}

// watch installs a MutationObserver that records, in the browser's clock
// (ms since the epoch), when expr (a JavaScript boolean expression) first
// becomes true, so that the time a live update reaches the DOM is exact
// rather than rounded to a polling interval. See seenAt.
func (p *person) watch(key, expr string) {
	p.t.Helper()
	k, _ := json.Marshal(key)
	js := fmt.Sprintf(`(function(){
  var k = %s, ok = function(){ return !!(%s); };
  window.__e2eSeen = window.__e2eSeen || {};
  delete window.__e2eSeen[k];
  if (ok()) { window.__e2eSeen[k] = Date.now(); return; }
  var mo = new MutationObserver(function(){ if (!window.__e2eSeen[k] && ok()) { window.__e2eSeen[k] = Date.now(); mo.disconnect(); } });
  mo.observe(document.documentElement, {subtree: true, childList: true, characterData: true, attributes: true});
})()`, k, expr)
	eval[chromedp.Void](p, "watch for "+key, js)
}

// seenAt polls (every 10 ms, for up to timeout) until expr holds and returns
// when it first did, in ms since the epoch: the observer's time if watch
// was set on this page, else the poll's. A navigation in between restarts
// the poll.
func (p *person) seenAt(key, expr string, timeout time.Duration) (int64, bool) {
	p.t.Helper()
	k, _ := json.Marshal(key)
	js := fmt.Sprintf(`(window.__e2eSeen && window.__e2eSeen[%s]) || ((%s) ? Date.now() : 0)`, k, expr)
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, false
		}
		ctx, cancel := context.WithTimeout(p.ctx, left)
		v, err := chromedp.Run(ctx, chromedp.Poll[float64](js, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(left)))
		cancel()
		if err == nil && v > 0 {
			return int64(v), true
		}
		if p.ctx.Err() != nil {
			return 0, false
		}
		time.Sleep(20 * time.Millisecond) // a page that was loading: poll the new one
	}
}

// streamEvent is an event of a talk's stream, as the API sends it.
type streamEvent struct {
	ID      int64           `json:"id"`
	Type    string          `json:"type"`
	TrackID int64           `json:"track_id"`
	Payload json.RawMessage `json:"payload"`
}

// replayEvents opens, in the page, the event stream of the page's talk from
// its first event, the way app.js does but with after=0, and returns what
// arrives until the stream has been quiet for a second.
func (p *person) replayEvents() []streamEvent {
	p.t.Helper()
	js := `new Promise(function (resolve) {
  var out = [], timer = null, es = new EventSource("/api/v1/talks/" + document.body.dataset.talk + "/events?after=0");
  function done() { es.close(); resolve(JSON.stringify(out)); }
  function quiet() { clearTimeout(timer); timer = setTimeout(done, 1000); }
  document.body.dataset.events.split(/\s+/).filter(Boolean).forEach(function (type) {
    es.addEventListener(type, function (ev) { out.push(JSON.parse(ev.data)); quiet(); });
  });
  es.onopen = quiet;
  setTimeout(done, 8000);
})`
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: replay the event stream: %v", p.name, err)
	}
	var evs []streamEvent
	if err := json.Unmarshal([]byte(raw), &evs); err != nil {
		p.t.Fatalf("%s: replay the event stream: %v", p.name, err)
	}
	return evs
}

// contains is a JavaScript expression: the text of css contains s.
func contains(css, s string) string {
	c, _ := json.Marshal(css)
	q, _ := json.Marshal(s)
	return fmt.Sprintf(`(function(){ var e = document.querySelector(%s); return !!e && e.textContent.indexOf(%s) >= 0; })()`, c, q)
}

// present is a JavaScript expression: an element matches css.
func present(css string) string {
	c, _ := json.Marshal(css)
	return fmt.Sprintf(`!!document.querySelector(%s)`, c)
}

// clickAt clicks css and returns the wall-clock time just before, in ms
// since the epoch: the start of a measured latency.
func (p *person) clickAt(what, css string) int64 {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.ScrollIntoView(chromedp.CSS(css))); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	t0 := time.Now().UnixMilli()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return t0
}

// TestE2E is the end-to-end test of the web UI (issue 5): a back-channel
// message seen live by the other side and not at all by an advisor outside
// the back-channel, and a proposal countered and accepted by both parties,
// the agreement appearing live on every open screen.
func TestE2E(t *testing.T) {
	srv, browser := startE2E(t, 4*time.Minute)
	shots := newShooter(t, browser, srv)
	shots.signedOut()

	a := newPerson(t, browser, srv, "A (Northland envoy)", "n.envoy1")
	b := newPerson(t, browser, srv, "B (Southland principal)", "s.principal")
	c := newPerson(t, browser, srv, "C (Northland advisor)", "n.advisor")
	for _, p := range []*person{a, b, c} {
		p.login()
	}

	// A and B open the talk from their list, then the back-channel from the
	// talk's track list.
	const backLink = `#talk-live li:has(.tag-back) a[href^="/tracks/"]`
	var backPath, backName, talkPath string
	for _, p := range []*person{a, b} {
		talkPath = p.follow("open the talk", `main li a[href^="/talks/"]`)
		p.waitLive()
		backName = strings.TrimSpace(p.text(backLink))
		backPath = p.follow("open the back-channel", backLink)
		p.waitLive()
	}
	if !strings.HasPrefix(backPath, "/tracks/") || backName == "" {
		t.Fatalf("back-channel at %q named %q", backPath, backName)
	}

	// A posts; B, already on the back-channel, sees it without a reload.
	msg := "Northland could live with phased sanctions relief if the river line holds."
	b.mark()
	b.watch("message", contains("#messages", msg))
	a.do("write in the back-channel", chromedp.SetValue(chromedp.ID("f-body"), msg))
	t0 := a.clickAt("post", `form#post button[type=submit]`)
	seen, ok := b.seenAt("message", contains("#messages", msg), liveTimeout)
	if !ok {
		// A write through the pages must wake the API's event streams
		// (internal/server's broker), or the others see it only at the next
		// heartbeat.
		t.Fatalf("B did not see A's back-channel message within %v; %s; %s", liveTimeout, b.state(), a.state())
	}
	t.Logf("live latency, back-channel message, A's click -> B's DOM: %d ms", seen-t0)
	if b.reloaded() {
		t.Errorf("B's back-channel page was reloaded to show the message; want a live update")
	}
	if _, ok := a.seenAt("own", contains("#messages", msg), liveTimeout); !ok {
		t.Errorf("A does not see its own message in #messages")
	}

	// C, an advisor not on the back-channel: not in the track list, and its
	// page is the 404 page, with nothing of it.
	c.follow("open the talk", `main li a[href^="/talks/"]`)
	c.waitLive()
	if n := eval[int](c, "count back-channel links", `document.querySelectorAll(`+"`"+backLink+"`"+`).length`); n != 0 {
		t.Errorf("C sees %d back-channel links in the talk's track list, want 0", n)
	}
	if tl := c.text("#talk-live"); strings.Contains(tl, backName) {
		t.Errorf("C's talk page names the back-channel %q", backName)
	}
	if st := c.navigate(srv.URL + backPath); st != 404 {
		t.Errorf("C: GET %s = %d, want 404", backPath, st)
	}
	if h := strings.TrimSpace(c.text("main h1")); h != "Not found" {
		t.Errorf("C: %s shows the heading %q, want Not found", backPath, h)
	}
	if body := c.text("body"); strings.Contains(body, msg) || strings.Contains(body, backName) {
		t.Errorf("C: the 404 page of %s shows the back-channel's name or message:\n%s", backPath, body)
	}

	// Nor does the talk's event stream, replayed from its first event in C's
	// browser, carry anything of the back-channel.
	c.open(talkPath)
	c.waitLive()
	evs := c.replayEvents()
	backID := strings.TrimPrefix(backPath, "/tracks/")
	for _, e := range evs {
		if fmt.Sprint(e.TrackID) == backID || strings.Contains(string(e.Payload), msg) {
			t.Errorf("C's event stream carries an event of the back-channel: %s %s", e.Type, e.Payload)
		}
	}
	if len(evs) == 0 {
		t.Errorf("C's event stream, replayed from the start, carried no event at all")
	}
	// The control: B, on the back-channel, replays the same stream and gets
	// the message, so the check above can see what it looks for.
	found := false
	for _, e := range b.replayEvents() {
		found = found || (fmt.Sprint(e.TrackID) == backID && strings.Contains(string(e.Payload), msg))
	}
	if !found {
		t.Errorf("B's event stream, replayed from the start, lacks A's back-channel message")
	}
	t.Logf("C's event stream replayed %d events, none of the back-channel", len(evs))

	shots.signedIn(talkPath, backPath)

	// The proposal, in the official track: A counters it, both parties accept
	// the new version, and the agreement appears live.
	const officialLink = `#talk-live li:has(.tag-official) a[href^="/tracks/"]`
	a.open(talkPath)
	a.follow("open the official track", officialLink)
	propPath := a.follow("open the proposal", `#proposals a[href^="/proposals/"]`)
	a.waitLive()
	shots.page("proposal", propPath)

	b.open(propPath)
	b.waitLive()
	c.open(talkPath)
	c.waitLive()
	for _, sel := range []string{"#versions", "#answers", "form#counter", "form#answer-accept", "form#answer-reject", "#counter-submit"} {
		if !eval[bool](a, "find "+sel, present(sel)) {
			t.Fatalf("A: the proposal page %s has no %s", propPath, sel)
		}
	}

	rationale := "Northland accepts the river line if sanctions relief is phased."
	changed := eval[string](a, "change one issue of the counter", `(function(){
  var s = document.querySelector('form#counter select[name="value:sanctions relief"]') || document.querySelector('form#counter select[name^="value:"]');
  var want = Array.from(s.options).map(function(o){ return o.value; }).filter(function(v){ return v && v !== s.value; });
  if (want.indexOf("phased") >= 0) { s.value = "phased"; } else { s.value = want[0]; }
  s.dispatchEvent(new Event("change", {bubbles: true}));
  return s.name + "=" + s.value;
})()`)
	a.do("write the rationale", chromedp.SetValue(chromedp.CSS(`form#counter textarea[name=rationale]`), rationale))

	// The counter leads A to the new version's page; B sees it appear in
	// the lineage (#versions) without a reload.
	b.mark()
	moreVersions := `document.querySelectorAll("#versions li").length > ` + fmt.Sprint(eval[int](b, "count versions", `document.querySelectorAll("#versions li").length`))
	b.watch("counter", moreVersions)
	t0 = time.Now().UnixMilli()
	a.follow("put the counter-proposal on the table", "#counter-submit")
	if !strings.Contains(a.text("#selected"), rationale) {
		t.Fatalf("A: after countering, #selected does not show the counter's rationale:\n%s", a.text("#selected"))
	}
	newVersion := eval[string](a, "the new version", `new URLSearchParams(location.search).get("version") || ""`)
	t.Logf("A countered with %s: version %s", changed, newVersion)
	if newVersion == "" {
		t.Fatalf("A: after countering, the page %s names no version", a.path())
	}
	versionLink := fmt.Sprintf(`#versions a[href="?version=%s"]`, newVersion)
	seen, ok = b.seenAt("counter", moreVersions, liveTimeout)
	if !ok {
		t.Fatalf("B did not see A's counter-proposal in #versions within %v; %s", liveTimeout, b.state())
	}
	t.Logf("live latency, counter-proposal, A's click -> B's #versions: %d ms", seen-t0)
	if b.reloaded() {
		t.Errorf("B's proposal page was reloaded to show the counter; want a live update")
	}

	// B opens the new version from the lineage and accepts it for
	// Southland; A's acceptance for Northland then makes the agreement.
	// What B reads and what B would answer must be the same version.
	shown := strings.TrimSpace(b.text("#selected h2"))
	if answering := strings.TrimSpace(b.text("#answers h2")); answering != "Answers to "+shown {
		t.Errorf("B: after the live update the page shows %q in #selected but %q in #answers, whose Accept would answer a version B does not see", shown, answering)
	}
	switch {
	case eval[bool](b, "link to the counter", present(versionLink)):
		b.follow("open the counter-proposal", versionLink)
	case strings.Contains(b.text("#selected"), rationale):
		// The page, opened without naming a version, follows the latest.
	default:
		t.Errorf("B: after the live update, #versions has no link to the new version (%s) and #selected does not show it:\n%s", versionLink, b.text("#versions"))
		b.open(propPath + "?version=" + newVersion)
	}
	if !strings.Contains(b.text("#selected"), rationale) {
		t.Fatalf("B: the counter-proposal's page does not show its rationale")
	}
	b.follow("accept for Southland", `form#answer-accept button[type=submit]`)
	if ans := b.text("#answers"); !strings.Contains(ans, "Accepted") {
		t.Fatalf("B: after accepting, #answers says:\n%s", ans)
	}
	if eval[bool](b, "agreement too early", present("#agreement")) {
		t.Fatalf("B: #agreement shows after one party's acceptance")
	}
	b.waitLive()
	a.waitLive()

	agreed := present("#agreement")
	b.mark()
	b.watch("agreement", agreed)
	c.mark()
	c.watch("agreement", present("#talk-live #agreement"))
	t0 = time.Now().UnixMilli()
	a.follow("accept for Northland", `form#answer-accept button[type=submit]`)
	for _, w := range []struct {
		p    *person
		expr string
		at   string
		live bool // without a reload
	}{
		{b, agreed, "B's proposal page", true},
		{c, present("#talk-live #agreement"), "C's talk page", true},
		{a, agreed, "A's own proposal page (after its form post)", false},
	} {
		seen, ok := w.p.seenAt("agreement", w.expr, liveTimeout)
		if !ok {
			t.Errorf("%s: #agreement did not appear within %v; %s", w.at, liveTimeout, w.p.state())
			continue
		}
		t.Logf("live latency, agreement, A's accept click -> #agreement on %s: %d ms", w.at, seen-t0)
		if w.live && w.p.reloaded() {
			t.Errorf("%s was reloaded to show the agreement; want a live update", w.at)
		}
	}
	shots.agreed(talkPath, propPath, backPath)

	// A leaves the back-channel from its page. B's talk page drops A from
	// the back-channel's members without a reload (track.member_removed is
	// live), and the back-channel is gone for A.
	aName := castPerson(t, "n.envoy1").Name
	backMembers := `(document.querySelector("#talk-live li:has(.tag-back)") || {textContent: ""}).textContent.includes(` + jsString(aName) + `)`
	b.open(talkPath)
	b.waitLive()
	if !eval[bool](b, "A among the back-channel's members", backMembers) {
		t.Fatalf("B: the talk page does not list %s on the back-channel before A leaves", aName)
	}
	b.mark()
	b.watch("left", "!"+backMembers)
	// B, in a second window, has the back-channel's own page open.
	b2 := newPerson(t, browser, srv, "B2 (Southland principal, a second window)", "s.principal")
	b2.login()
	b2.open(backPath)
	b2.waitLive()
	onTrack := `document.querySelector("#track-members").textContent.includes(` + jsString(aName) + `)`
	if !eval[bool](b2, "A among the members on the back-channel's page", onTrack) {
		t.Fatalf("B2: the back-channel's page does not list %s before A leaves", aName)
	}
	b2.mark()
	b2.watch("left", "!"+onTrack)
	a.open(backPath)
	t0 = time.Now().UnixMilli()
	if left := a.follow("leave the back-channel", `form#leave-track button[type=submit]`); left != talkPath {
		t.Errorf("A: leaving the back-channel leads to %s, want the talk's page %s", left, talkPath)
	}
	for _, w := range []struct {
		p    *person
		expr string
		at   string
	}{{b, "!" + backMembers, "B's talk page"}, {b2, "!" + onTrack, "B2's back-channel page"}} {
		seen, ok := w.p.seenAt("left", w.expr, liveTimeout)
		if !ok {
			t.Errorf("%s still lists %s on the back-channel %v after A left; %s", w.at, aName, liveTimeout, w.p.state())
			continue
		}
		t.Logf("live latency, leaving a back-channel, A's click -> %s: %d ms", w.at, seen-t0)
		if w.p.reloaded() {
			t.Errorf("%s was reloaded to drop A from the back-channel; want a live update", w.at)
		}
	}
	if n := eval[int](a, "count back-channel links", `document.querySelectorAll(`+"`"+backLink+"`"+`).length`); n != 0 {
		t.Errorf("A, after leaving, sees %d back-channel links in the talk's track list, want 0", n)
	}
	if st := a.navigate(srv.URL + backPath); st != 404 {
		t.Errorf("A, after leaving: GET %s = %d, want 404", backPath, st)
	}

	// B2, the Southland principal, takes D, its envoy, off the back-channel
	// while D has the back-channel's page open: D's stream, bound to the
	// track, ends with its gone event, and the page reloads to the 404 page
	// by itself.
	notFound := `(function(){ var h = document.querySelector("main h1"); return !!h && h.textContent.trim() === "Not found"; })()`
	dName := castPerson(t, "s.envoy2").Name
	d := newPerson(t, browser, srv, "D (Southland envoy)", "s.envoy2")
	d.login()
	d.open(backPath)
	d.waitLive()
	if !b2.choose("#f-remove", dName) {
		t.Fatalf("B2: the form that takes a member off the back-channel does not offer %s", dName)
	}
	t0 = time.Now().UnixMilli()
	b2.follow("take D off the back-channel", `form#remove-track-member button[type=submit]`)
	if seen, ok := d.seenAt("gone", notFound, liveTimeout); !ok {
		t.Errorf("D's back-channel page did not turn into the 404 page within %v after D was taken off it; %s", liveTimeout, d.state())
	} else {
		t.Logf("D taken off the back-channel: B2's click -> D's page shows Not found: %d ms", seen-t0)
	}
	if body := d.text("body"); strings.Contains(body, "On this back-channel") {
		t.Errorf("D's page still shows the back-channel after D was taken off it:\n%s", body)
	}
	for _, q := range []*person{d, b2} {
		q.do("leave the page", chromedp.Navigate("about:blank"))
	}

	// The facilitator takes C off the talk while C has the talk's page open:
	// C's event stream ends with its gone event, and the page reloads to the
	// 404 page by itself, so that the talk leaves C's screen.
	cName := castPerson(t, "n.advisor").Name
	f := newPerson(t, browser, srv, "F (facilitator)", "facilitator")
	f.login()
	c.open(talkPath)
	c.waitLive()
	f.open(talkPath)
	if !f.choose("#f-remove-member", cName) {
		t.Fatalf("F: the form that takes a member off the talk does not offer %s", cName)
	}
	t0 = time.Now().UnixMilli()
	f.follow("take C off the talk", `form#remove-member button[type=submit]`)
	seen, ok = c.seenAt("gone", notFound, liveTimeout)
	if !ok {
		t.Errorf("C's talk page did not turn into the 404 page within %v after C was taken off; %s", liveTimeout, c.state())
	} else {
		t.Logf("C taken off the talk: F's click -> C's page shows Not found: %d ms", seen-t0)
	}
	if body := c.text("body"); strings.Contains(body, msg) || strings.Contains(body, "Issues on the table") {
		t.Errorf("C's page still shows the talk after C was taken off:\n%s", body)
	}
}

// shooter writes screenshots of the main pages to the directory that
// BACKCHANNEL_SCREENSHOTS names (docs/screenshots), at a desktop and a phone
// width, as the Northland envoy (the invitations as the Northland
// principal, who may invite). Without the variable it does nothing, so that
// CI does not rewrite the files.
type shooter struct {
	t       *testing.T
	dir     string
	browser context.Context
	srv     *liveServer
	people  map[string]*person // signed in, by demo key
}

// shotWidths are the widths of the screenshots, in CSS pixels.
var shotWidths = []int64{1280, 390}

func newShooter(t *testing.T, browser context.Context, srv *liveServer) *shooter {
	s := &shooter{t: t, browser: browser, srv: srv, people: map[string]*person{}}
	s.dir = os.Getenv("BACKCHANNEL_SCREENSHOTS")
	if s.dir == "" {
		return s
	}
	if !filepath.IsAbs(s.dir) {
		// Relative to the module root, as docs/web.md writes it.
		s.dir = filepath.Join("..", "..", s.dir)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// as returns the screenshot window of demo person key, signed in.
func (s *shooter) as(key string) *person {
	p := s.people[key]
	if p == nil {
		p = newPerson(s.t, s.browser, s.srv, "screenshots as "+key, key)
		p.login()
		s.people[key] = p
	}
	return p
}

// shoot writes the page at path, as p sees it, to NAME-WIDTH.png for each
// width: the full page, not only the first screen.
func (s *shooter) shoot(p *person, name, path string) {
	s.t.Helper()
	for _, w := range shotWidths {
		h := int64(900)
		var opts []chromedp.EmulateViewportOption
		if w < 600 {
			h = 844
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(1))
		}
		p.do("set the viewport", chromedp.EmulateViewport(w, h, opts...))
		if st := p.navigate(s.srv.URL + path); st != 200 {
			s.t.Errorf("screenshot %s: GET %s = %d, want 200", name, path, st)
		}
		if eval[bool](p, "live page", present("#live-status")) {
			p.waitLive()
		}
		ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			s.t.Fatalf("screenshot %s at %d px: %v", name, w, err)
		}
		if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

// page shoots path as the Northland envoy.
func (s *shooter) page(name, path string) {
	if s.dir == "" {
		return
	}
	s.t.Helper()
	s.shoot(s.as("n.envoy1"), name, path)
}

// signedOut shoots the login page.
func (s *shooter) signedOut() {
	if s.dir == "" {
		return
	}
	s.shoot(newPerson(s.t, s.browser, s.srv, "screenshots, signed out", ""), "login", "/login")
}

// signedIn shoots the pages before the agreement.
func (s *shooter) signedIn(talkPath, backPath string) {
	if s.dir == "" {
		return
	}
	s.page("my-talks", "/")
	s.page("convene", "/talks/new")
	s.page("talk", talkPath)
	// The facilitator's view adds the forms that manage the talk.
	s.shoot(s.as("facilitator"), "talk-facilitator", talkPath)
	p := s.as("n.envoy1")
	p.open(talkPath)
	s.page("official-track", p.follow("open the official track", `#talk-live li:has(.tag-official) a[href^="/tracks/"]`))
	s.page("back-channel", backPath)
	s.page("account", "/account")
	s.page("new-proposal", backPath+"/proposals/new")
	pr := s.as("n.principal")
	s.shoot(pr, "invitations", talkPath+"/invitations")
	// An invitation link as its receiver sees it, signed out: what it
	// offers and the form to make an account.
	pr.open(talkPath + "/invitations")
	pr.do("make an invitation link",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-role').value = 'advisor';
			document.querySelector('form[action$="/invitations"] button[type=submit]').click()`),
		chromedp.WaitVisible(chromedp.CSS("#invitation-link")))
	link, err := url.Parse(eval[string](pr, "the invitation link", `document.querySelector('#invitation-link').value`))
	if err != nil {
		s.t.Fatal(err)
	}
	invited := newPerson(s.t, s.browser, s.srv, "screenshots, invited", "")
	s.shoot(invited, "invite-signup", link.Path)
	// Leave no page of these two open: each live page holds a connection,
	// and the browser allows few per host.
	for _, q := range []*person{invited, pr, p} {
		q.do("leave the page", chromedp.Navigate("about:blank"))
	}
}

// agreed shoots the pages of the agreed talk.
func (s *shooter) agreed(talkPath, propPath, backPath string) {
	if s.dir == "" {
		return
	}
	s.page("agreement", talkPath+"/agreement")
	s.page("talk-agreed", talkPath)
	s.page("proposal-agreed", propPath)
	// The meetings last: the main flow is done. Their paths are read off
	// the tracks' pages.
	p := s.as("n.envoy1")
	href := func(css string) string {
		return eval[string](p, "the link "+css, fmt.Sprintf(`document.querySelector(%s).getAttribute("href")`, jsString(css)))
	}
	p.open(backPath)
	s.page("meeting", href(`#meetings a[href^="/meetings/"]`))
	p.open(talkPath)
	p.open(href(`#talk-live li:has(.tag-official) a[href^="/tracks/"]`))
	s.page("official-meeting", href(`#meetings a[href^="/meetings/"]`))
	// Issue 6's pages, as the Northland envoy and principal.
	s.page("preferences", talkPath+"/preferences")
	s.page("rehearsal", talkPath+"/rehearsal?run=1&own_agent=boulware&opponent_agent=conceder&runs=300&rounds=100")
	s.page("mandates", talkPath+"/mandates")
	s.shoot(s.as("n.principal"), "ratification", talkPath+"/ratification")
}
