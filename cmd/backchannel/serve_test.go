package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/demo"
	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/pgtest"
	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/talks"
)

// syncBuffer is a bytes.Buffer that a server goroutine may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// openServe boots the real server on a free port of 127.0.0.1 and closes it
// when the test ends.
func openServe(t *testing.T, s *Serve) *Serve {
	t.Helper()
	s.Addr = "127.0.0.1:0"
	if s.Out == nil {
		s.Out = &syncBuffer{}
	}
	if err := s.Open(context.Background()); err != nil {
		s.Close()
		t.Fatalf("Open(%s): %v", s.DB, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, string(b)
}

// demoLogins parses the login table that --demo prints: email to password.
func demoLogins(t *testing.T, out string) map[string]string {
	t.Helper()
	logins := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.Contains(f[len(f)-2], "@") {
			logins[f[len(f)-2]] = f[len(f)-1]
		}
	}
	if len(logins) != len(demo.Cast) {
		t.Fatalf("demo printed %d logins, want %d:\n%s", len(logins), len(demo.Cast), out)
	}
	return logins
}

// checkDemoLinks checks that out has a sign-in link per demo user, and
// that one of them, opened, signs in as its user.
func checkDemoLinks(t *testing.T, out string) {
	t.Helper()
	links := regexp.MustCompile(`(?m)^  (\S.*\S)\s+(http://\S+/login/link\?token=\S+)$`).FindAllStringSubmatch(out, -1)
	if len(links) != len(demo.Cast) {
		t.Errorf("demo printed %d sign-in links, want %d:\n%s", len(links), len(demo.Cast), out)
		return
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	link, err := url.Parse(links[1][2])
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, c, link.String()); code != http.StatusOK || !strings.Contains(body, `action="/login/link"`) {
		t.Errorf("the sign-in link of %s led to %d, want the page with its button:\n%s", links[1][1], code, body)
	}
	// The button posts the link's token, from the link's origin.
	req, err := http.NewRequest("POST", link.Scheme+"://"+link.Host+"/login/link", strings.NewReader(url.Values{"token": {link.Query().Get("token")}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", link.Scheme+"://"+link.Host)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), links[1][1]) || !strings.Contains(string(body), "Northland-Southland ceasefire talks") {
		t.Errorf("signing in with the link of %s led to %d, want the talks page of that user:\n%s", links[1][1], resp.StatusCode, body)
	}
}

// checkDemo checks the probes and the seeded talk of a server started with
// Demo.
func checkDemo(t *testing.T, s *Serve) {
	t.Helper()
	base := "http://" + s.ListenAddr()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, nil, base+path); code != http.StatusOK {
			t.Errorf("GET %s = %d %q, want 200", path, code, body)
		}
	}
	code, body := get(t, nil, base+"/metrics")
	if code != http.StatusOK || !regexp.MustCompile(`(?m)^backchannel_http_requests_total\{code="2xx"\} [1-9]`).MatchString(body) ||
		!strings.Contains(body, "\ngo_goroutines ") || !strings.Contains(body, "# TYPE backchannel_uptime_seconds gauge") ||
		!regexp.MustCompile(`(?m)^backchannel_store_batches_total [1-9]`).MatchString(body) ||
		!regexp.MustCompile(`(?m)^backchannel_store_batch_writes_total [1-9]`).MatchString(body) ||
		!regexp.MustCompile(`(?m)^backchannel_store_batch_seconds_total [0-9.]*[1-9]`).MatchString(body) ||
		!regexp.MustCompile(`(?m)^go_memstats_heap_inuse_bytes [1-9]`).MatchString(body) ||
		!regexp.MustCompile(`(?m)^process_resident_memory_bytes [1-9]`).MatchString(body) {
		t.Errorf("GET /metrics = %d, want 200 with the request counts, the store's batches, uptime, goroutines and memory:\n%s", code, body)
	}

	out := s.Out.(*syncBuffer).String()
	logins := demoLogins(t, out)
	checkStreamsGauge(t, base, "tomas@northland.example", logins["tomas@northland.example"])
	if !strings.Contains(out, "demo only") {
		t.Errorf("demo output does not warn that the passwords are for the demo only:\n%s", out)
	}
	checkDemoLinks(t, out)

	// What the seed made, as the demo users see it through the Service.
	ctx := context.Background()
	as := func(email string) context.Context {
		u, err := s.store.FindUserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("FindUserByEmail(%s): %v", email, err)
		}
		if ok, err := talks.CheckPassword(u.PasswordHash, logins[email]); !ok || err != nil {
			t.Errorf("the printed password of %s does not match: %v, %v", email, ok, err)
		}
		if u.CreatedAt.IsZero() {
			t.Errorf("%s has no creation time", email)
		}
		return talks.NewContextWithUser(ctx, u)
	}
	ts, err := s.service.FindTalks(as("facilitator@demo.example"), talks.TalkFilter{})
	if err != nil || len(ts) != 1 || ts[0].Title != "Northland-Southland ceasefire talks" || len(ts[0].Space.Issues) != 6 {
		t.Fatalf("the facilitator's talks: %v, %v; want the ceasefire talks with 6 issues", ts, err)
	}
	talk := ts[0]
	for email, want := range map[string]int{
		"facilitator@demo.example": 1, // the official track only
		"amara@northland.example":  2, // a principal sees the back-channel of its envoys
		"tomas@northland.example":  2,
		"priya@northland.example":  1,
		"yusuf@southland.example":  1,
	} {
		tracks, err := s.service.FindTracks(as(email), talk.ID)
		if err != nil || len(tracks) != want {
			t.Errorf("%s sees %d tracks (%v), want %d", email, len(tracks), err, want)
		}
	}
	ps, err := s.service.FindProposals(as("amara@northland.example"), talks.ProposalFilter{TalkID: talk.ID})
	if err != nil || len(ps) != 1 {
		t.Fatalf("proposals: %v, %v; want the first draft", ps, err)
	}
	vs, err := s.service.FindVersions(as("amara@northland.example"), talks.VersionFilter{ProposalID: ps[0].ID})
	if err != nil || len(vs) != 2 || vs[1].ParentID != vs[0].ID {
		t.Errorf("versions: %v, %v; want a first draft and one counter to it", vs, err)
	}
	for email, want := range map[string][]talks.MeetingStatus{
		"amara@northland.example": {talks.MeetingStatusHeld, talks.MeetingStatusScheduled}, // the plenary, then the lunch
		"priya@northland.example": {talks.MeetingStatusHeld},                               // not on the back-channel
	} {
		ms, err := s.service.FindMeetings(as(email), talks.MeetingFilter{TalkID: talk.ID})
		var got []talks.MeetingStatus
		for _, m := range ms {
			got = append(got, m.Status)
		}
		if err != nil || !slices.Equal(got, want) || ms[0].Minutes == "" {
			t.Errorf("%s sees meetings %v (%v), want %v with minutes for the held one", email, got, err, want)
		}
	}
	evs, err := s.store.FindEvents(ctx, talks.EventFilter{TalkID: talk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := talks.VerifyChain(evs); err != nil {
		t.Errorf("the demo talk's log: %v", err)
	}
	if _, err := talks.Project(evs); err != nil {
		t.Errorf("Project(the demo talk's log): %v", err)
	}
}

func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	s := openServe(t, &Serve{DB: db, Demo: true})
	checkDemo(t, s)

	fi, err := os.Stat(db + ".csrf-key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CSRF key file: %v, %v; want mode 0600", fi, err)
	}
	if out := s.Out.(*syncBuffer).String(); strings.Contains(out, "/setup?token=") {
		t.Errorf("the demo printed a setup link:\n%s", out)
	}
	checkLedger(t, s, db)

	// Started again with --demo, it seeds nothing, and prints new sign-in
	// links: the passwords were printed only the first time.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openServe(t, &Serve{DB: db, Demo: true})
	out2 := s2.Out.(*syncBuffer).String()
	if strings.Contains(out2, "PASSWORD") || !strings.Contains(out2, "seeded already") {
		t.Errorf("restarted with --demo, the output is:\n%s", out2)
	}
	checkDemoLinks(t, out2)
}

// checkLedger checks the ledger key file next to a SQLite database and that
// the demo talk's log is covered by checkpoints it signed: verify --db
// passes with the key found there.
func checkLedger(t *testing.T, s *Serve, db string) {
	t.Helper()
	fi, err := os.Stat(db + ".ledger-key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ledger key file: %v, %v; want mode 0600", fi, err)
	}
	k, err := ledger.LoadKey(db+".ledger-key", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultLogName(s.Addr); k.Name() != want {
		t.Errorf("ledger key name %q, want %q", k.Name(), want)
	}
	out, stderr, err := run(t, "verify", "--db", db)
	if err != nil || !strings.Contains(out, "OK: every talk's log matches") {
		t.Errorf("verify --db %s = %v\n%s%s", db, err, out, stderr)
	}
}

func TestDefaultLogName(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:8080", "127.0.0.1"},
		{"talks.example.org:443", "talks.example.org"},
		{"[::1]:80", "::1"},
	} {
		if got := defaultLogName(tc.addr); got != tc.want {
			t.Errorf("defaultLogName(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if host != "" && !strings.ContainsAny(host, "+ ") {
		for _, addr := range []string{":8080", "0.0.0.0:80"} {
			if got := defaultLogName(addr); got != host {
				t.Errorf("defaultLogName(%q) = %q, want the host name %q", addr, got, host)
			}
		}
	}
}

func TestServeSetupLink(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "empty.db")
	s := openServe(t, &Serve{DB: db})
	out := s.Out.(*syncBuffer).String()
	m := regexp.MustCompile(`http://(\S+)/setup\?token=(\S+)`).FindStringSubmatch(out)
	if m == nil || m[1] != s.ListenAddr() || !strings.HasPrefix(m[2], "bcsetup_") {
		t.Fatalf("output has no setup link to %s:\n%s", s.ListenAddr(), out)
	}
	u, err := s.service.Setup(context.Background(), m[2], "Ada Admin", "ada@example.org", "correct horse battery")
	if err != nil || !u.Admin {
		t.Fatalf("Setup with the printed token: %v, %v", u, err)
	}
	key1, err := os.ReadFile(filepath.Join(dir, "empty.db.csrf-key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Restarted, the database has a user: no link, and --demo seeds nothing.
	s2 := openServe(t, &Serve{DB: db, Demo: true})
	if out := s2.Out.(*syncBuffer).String(); strings.Contains(out, "setup?token=") || strings.Contains(out, "PASSWORD") {
		t.Errorf("a database with a user printed a setup link or demo logins:\n%s", out)
	}
	key2, err := os.ReadFile(filepath.Join(dir, "empty.db.csrf-key"))
	if err != nil || !bytes.Equal(key1, key2) {
		t.Errorf("the CSRF key changed across a restart: %q, %q (%v)", key1, key2, err)
	}
}

// TestServeShutdown runs the command as main does and stops it as a
// signal would: by cancelling its context.
func TestServeShutdown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	var stderr syncBuffer
	m := &Main{Stdout: io.Discard, Stderr: &stderr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", db}) }()

	serving := regexp.MustCompile(`msg=serving url=(\S+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if mm := serving.FindStringSubmatch(stderr.String()); mm != nil {
			base = mm[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if code, _ := get(t, nil, base+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down within 20s")
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("no stop in the log:\n%s", stderr.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

func TestServeUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown scheme", []string{"--db", "mysql://localhost/x"}, `unknown scheme "mysql"`},
		{"empty db", []string{"--db", ""}, "--db is empty"},
		{"sqlite without a path", []string{"--db", "sqlite:"}, "names no file"},
		{"tls cert alone", []string{"--tls-cert", "c.pem"}, "go together"},
		{"argument", []string{"extra"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := run(t, append([]string{"serve"}, tc.args...)...)
			if code := exitCode(err); code != 2 || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("serve %v: exit %d, error %v; want exit 2 and one line with %q", tc.args, code, err, tc.want)
			}
			if stdout != "" || stderr != "" {
				t.Errorf("serve %v printed %q, %q; want only the error line of main", tc.args, stdout, stderr)
			}
		})
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, kind, target string }{
		{"backchannel.db", "sqlite", "backchannel.db"},
		{"/var/lib/bc/x.db", "sqlite", "/var/lib/bc/x.db"},
		{"sqlite:x.db", "sqlite", "x.db"},
		{"sqlite:///abs/x.db", "sqlite", "/abs/x.db"},
		{"dir/with://odd", "sqlite", "dir/with://odd"},
		{"postgres://u@h/db", "postgres", "postgres://u@h/db"},
		{"postgresql://u@h/db?sslmode=disable", "postgres", "postgresql://u@h/db?sslmode=disable"},
	} {
		kind, target, err := parseDSN(tc.dsn)
		if err != nil || kind != tc.kind || target != tc.target {
			t.Errorf("parseDSN(%q) = %q, %q, %v; want %q, %q", tc.dsn, kind, target, err, tc.kind, tc.target)
		}
	}
	if got := redactDSN("postgres://bc:s3cret@db:5432/bc"); got != "postgres://bc:xxxxx@db:5432/bc" {
		t.Errorf("redactDSN = %q", got)
	}
}

// TestServePostgres boots the server on a fresh PostgreSQL database when
// BACKCHANNEL_TEST_POSTGRES names a server (any database on it: the test
// creates and drops its own).
func TestServePostgres(t *testing.T) {
	db := pgtest.NewDatabase(t)
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		t.Fatalf("%s must be a postgres:// URL here, which --db takes", pgtest.Env)
	}

	keyDir := t.TempDir()
	s := openServe(t, &Serve{DB: db, Demo: true, KeyDir: keyDir})
	checkDemo(t, s)
	if _, err := os.Stat(filepath.Join(keyDir, "csrf-key")); err != nil {
		t.Errorf("no CSRF key in --key-dir: %v", err)
	}
	checkScaleOut(t, s, &Serve{DB: db, KeyDir: keyDir})
}

// checkScaleOut opens a second server b on a's PostgreSQL database and
// checks that a write made through a reaches an event stream open on b
// before b's next heartbeat: PostgreSQL's notification woke it.
func checkScaleOut(t *testing.T, a, b *Serve) {
	t.Helper()
	ctx := context.Background()
	b = openServe(t, b)
	logins := demoLogins(t, a.Out.(*syncBuffer).String())
	const email = "priya@northland.example"
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	base := "http://" + b.ListenAddr()
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, logins[email])))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/login on the second server = %d", resp.StatusCode)
	}
	ts, err := a.store.FindTalks(ctx, talks.TalkFilter{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("FindTalks: %v, %v", ts, err)
	}
	head, err := a.store.TalkHead(ctx, ts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// The stream starts after the last event: only a new write shows.
	sctx, cancel := context.WithTimeout(ctx, server.HeartbeatInterval/2)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", fmt.Sprintf("%s/api/v1/talks/%d/events?after=%d", base, ts[0].ID, head), nil)
	stream, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET events on the second server = %d", stream.StatusCode)
	}
	lines := bufio.NewReader(stream.Body)
	if _, err := lines.ReadString('\n'); err != nil { // "retry:", sent once the stream has read the log
		t.Fatal(err)
	}

	u, err := a.store.FindUserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := a.service.FindTracks(talks.NewContextWithUser(ctx, u), ts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	m := &talks.Message{TrackID: tracks[0].ID, Body: "Written through the first server."}
	if err := a.service.PostMessage(talks.NewContextWithUser(ctx, u), m); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("the second server's stream ended before the first server's write reached it (within half a heartbeat, %v): %v", server.HeartbeatInterval/2, err)
		}
		if strings.HasPrefix(line, "event: "+talks.EventMessagePosted) {
			return
		}
	}
}

// TestServeAPILogin signs in as a demo user through the API and lists the
// talks that user sees.
func TestServeAPILogin(t *testing.T) {
	s := openServe(t, &Serve{DB: filepath.Join(t.TempDir(), "api.db"), Demo: true})
	logins := demoLogins(t, s.Out.(*syncBuffer).String())
	base := "http://" + s.ListenAddr()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}

	body := fmt.Sprintf(`{"email":%q,"password":%q}`, "priya@northland.example", logins["priya@northland.example"])
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/login = %d %s, want 200", resp.StatusCode, b)
	}
	code, talksBody := get(t, c, base+"/api/v1/talks")
	if code != http.StatusOK || !strings.Contains(talksBody, "Northland-Southland ceasefire talks") {
		t.Errorf("GET /api/v1/talks = %d %s, want 200 with the demo talk", code, talksBody)
	}

	resp, err = http.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"email":"priya@northland.example","password":"not the password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /api/v1/login with a wrong password = %d, want 401", resp.StatusCode)
	}
	code, metricsBody := get(t, nil, base+"/metrics")
	if code != http.StatusOK || !regexp.MustCompile(`(?m)^backchannel_http_requests_total\{code="4xx"\} [1-9]`).MatchString(metricsBody) {
		t.Errorf("/metrics does not count the 401:\n%s", metricsBody)
	}

	// A live event stream does not hold up a graceful shutdown.
	ts, err := s.store.FindTalks(context.Background(), talks.TalkFilter{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("FindTalks: %v, %v", ts, err)
	}
	resp, err = c.Get(fmt.Sprintf("%s/api/v1/talks/%d/events", base, ts[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET events = %d, want 200", resp.StatusCode)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
		t.Fatalf("reading the event stream: %v", err)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close with a stream open: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close with a stream open took %v, want well under the shutdown timeout", d)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Logf("stream ended with %v", err)
	}
}

// checkStreamsGauge signs in as email and checks that /metrics counts the
// event stream it opens while it is open, and not after.
func checkStreamsGauge(t *testing.T, base, email, password string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/login as %s = %d", email, resp.StatusCode)
	}
	gauge := regexp.MustCompile(`(?m)^backchannel_event_streams (\d+)$`)
	waitFor := func(want string) {
		t.Helper()
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			_, body = get(t, nil, base+"/metrics")
			if m := gauge.FindStringSubmatch(body); m != nil && m[1] == want {
				return
			}
		}
		t.Errorf("/metrics never had backchannel_event_streams %s:\n%s", want, body)
	}
	waitFor("0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/talks/1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET the demo talk's events = %d, want a stream", stream.StatusCode)
	}
	waitFor("1")
	cancel()
	waitFor("0")
}
