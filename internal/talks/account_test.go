package talks_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testPolicy is DefaultAccountPolicy with cheap hashes and small limits,
// so that tests run fast.
var testPolicy = func() talks.AccountPolicy {
	p := talks.DefaultAccountPolicy
	p.Argon2 = talks.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	p.AccountFailures = 3
	p.AddressFailures = 5
	return p
}()

const password = "correct horse battery"

type accounts struct {
	svc   *talks.Service
	store *sqlite.Store
	clock *fakeClock
}

// newAccounts returns a Service over an empty SQLite store with a fake
// clock, and users named by emails with password (none yet if no emails).
func newAccounts(t *testing.T, emails ...string) *accounts {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := &accounts{store: st, clock: &fakeClock{now: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}}
	a.svc = talks.NewService(st, a.clock)
	a.svc.SetAccountPolicy(testPolicy)
	for _, e := range emails {
		h, err := talks.HashPassword(password, testPolicy.Argon2)
		mustOK(t, "HashPassword", err)
		mustOK(t, "CreateUser", st.CreateUser(context.Background(), &talks.User{Name: e, Email: e, PasswordHash: h, CreatedAt: a.clock.Now()}))
	}
	return a
}

func (a *accounts) login(t *testing.T, email, pw, addr string) *talks.Session {
	t.Helper()
	s, err := a.svc.Login(context.Background(), email, pw, addr)
	mustOK(t, "Login", err)
	return s
}

func wantErr(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	if talks.ErrorCode(err) != code || (msg != "" && !strings.Contains(talks.ErrorMessage(err), msg)) {
		t.Fatalf("%s: error %v, want code %q with message containing %q", what, err, code, msg)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := talks.HashPassword(password, talks.DefaultArgon2Params)
	mustOK(t, "HashPassword", err)
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h) {
		t.Errorf("HashPassword() = %q, not an encoded argon2id hash with the default parameters", h)
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{password, true}, {password + " ", false}, {"", false}} {
		if ok, err := talks.CheckPassword(h, c.pw); err != nil || ok != c.want {
			t.Errorf("CheckPassword(h, %q) = %v, %v; want %v", c.pw, ok, err, c.want)
		}
	}
	h2, err := talks.HashPassword(password, talks.DefaultArgon2Params)
	mustOK(t, "HashPassword", err)
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if talks.PasswordNeedsRehash(h, talks.DefaultArgon2Params) || !talks.PasswordNeedsRehash(h, testPolicy.Argon2) {
		t.Error("PasswordNeedsRehash does not compare the hash's parameters")
	}
	// A hash made with other parameters still verifies.
	cheap, err := talks.HashPassword(password, testPolicy.Argon2)
	mustOK(t, "HashPassword", err)
	if ok, err := talks.CheckPassword(cheap, password); !ok || err != nil {
		t.Errorf("CheckPassword(cheap hash) = %v, %v; want true", ok, err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		h + "$"} {
		if _, err := talks.CheckPassword(bad, password); err != talks.ErrMalformedHash {
			t.Errorf("CheckPassword(%q) error = %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestLogin(t *testing.T) {
	a := newAccounts(t, "ada@example.org", "bob@example.org")
	s := a.login(t, "ada@example.org", password, "192.0.2.1")
	if s.ID == 0 || !strings.HasPrefix(s.Token, "bcs_") || s.User == nil || s.User.Email != "ada@example.org" {
		t.Fatalf("Login() = %+v, want a session of ada with a token", s)
	}
	if want := a.clock.Now().Add(testPolicy.SessionTTL); !s.ExpiresAt.Equal(want) {
		t.Errorf("session expires at %v, want %v", s.ExpiresAt, want)
	}
	if got, err := a.store.FindSessionByTokenHash(context.Background(), talks.HashToken(s.Token)); err != nil || got.ID != s.ID {
		t.Errorf("the store does not find the session by the hash of its token: %v, %v", got, err)
	}
	// The store keeps the hash, never the token.
	if string(s.TokenHash) == s.Token || len(s.TokenHash) != 32 {
		t.Errorf("TokenHash = %x, want the SHA-256 of the token", s.TokenHash)
	}

	// Unknown email, wrong password and an account without password all
	// get the same answer.
	mustOK(t, "CreateUser", a.store.CreateUser(context.Background(), &talks.User{Name: "nopw", Email: "nopw@example.org"}))
	for _, c := range []struct{ email, pw string }{
		{"nobody@example.org", password},
		{"bob@example.org", "wrong password!"},
		{"nopw@example.org", ""},
		{"bob@example.org", strings.Repeat("x", 5000)},
	} {
		_, err := a.svc.Login(context.Background(), c.email, c.pw, "")
		wantErr(t, "Login("+c.email+")", err, talks.EUNAUTHORIZED, "")
		if got := talks.ErrorMessage(err); got != "Email or password is incorrect." {
			t.Errorf("Login(%s) message %q, want the one message for every failure", c.email, got)
		}
	}
}

func TestLoginLockout(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, "ada@example.org", "bob@example.org")

	// Per account: 3 failures from different addresses lock ada out, even
	// with the right password; bob is unaffected.
	for _, addr := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		a.clock.Advance(time.Minute)
		_, err := a.svc.Login(ctx, "ada@example.org", "wrong password "+addr, addr)
		wantErr(t, "Login(wrong)", err, talks.EUNAUTHORIZED, "incorrect")
	}
	_, err := a.svc.Login(ctx, "ADA@example.org ", password, "192.0.2.9")
	// The oldest failure was 3 minutes ago; it leaves the window in 12.
	wantErr(t, "Login(locked)", err, talks.EUNAUTHORIZED, "Too many attempts; try again in 13 minutes.")
	a.login(t, "bob@example.org", password, "192.0.2.9")

	// Sliding: once the oldest failure leaves the window, one more try.
	a.clock.Advance(testPolicy.FailureWindow - 2*time.Minute)
	_, err = a.svc.Login(ctx, "ada@example.org", "still wrong", "192.0.2.9")
	wantErr(t, "Login(after oldest left)", err, talks.EUNAUTHORIZED, "incorrect")
	_, err = a.svc.Login(ctx, "ada@example.org", password, "192.0.2.9")
	wantErr(t, "Login(locked again)", err, talks.EUNAUTHORIZED, "Too many attempts")
	a.clock.Advance(testPolicy.FailureWindow)
	a.login(t, "ada@example.org", password, "192.0.2.9")

	// A success forgets the account's failures.
	for range 2 {
		a.svc.Login(ctx, "ada@example.org", "wrong", "")
	}
	a.login(t, "ada@example.org", password, "")
	for range 2 {
		a.svc.Login(ctx, "ada@example.org", "wrong", "")
	}
	a.login(t, "ada@example.org", password, "")

	// Per address: 5 failures over several emails, known or not, lock the
	// address for every account, and signing in elsewhere does not reset it.
	// An address counts by its host, whatever the port (net/http's
	// RemoteAddr), so the tries come from a new port each.
	a.clock.Advance(time.Hour)
	for i, e := range []string{"x@example.org", "y@example.org", "bob@example.org", "z@example.org", "w@example.org"} {
		_, err := a.svc.Login(ctx, e, "wrong", fmt.Sprintf("198.51.100.7:%d", 40000+i))
		wantErr(t, "Login(spray)", err, talks.EUNAUTHORIZED, "incorrect")
		if i == 2 {
			a.login(t, "ada@example.org", password, "198.51.100.7")
		}
	}
	_, err = a.svc.Login(ctx, "ada@example.org", password, "198.51.100.7:50000")
	wantErr(t, "Login(address locked)", err, talks.EUNAUTHORIZED, "Too many attempts; try again in 15 minutes.")
	a.login(t, "ada@example.org", password, "198.51.100.8")
	a.clock.Advance(testPolicy.FailureWindow - time.Second)
	_, err = a.svc.Login(ctx, "ada@example.org", password, "198.51.100.7")
	wantErr(t, "Login(address locked)", err, talks.EUNAUTHORIZED, "try again in 1 second.")
	a.clock.Advance(time.Second)
	a.login(t, "ada@example.org", password, "198.51.100.7")
}

// TestLoginLockoutConcurrent guesses from many goroutines at once: no
// more than the limit are checked.
func TestLoginLockoutConcurrent(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, "ada@example.org")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for range 20 {
		wg.Go(func() {
			_, err := a.svc.Login(ctx, "ada@example.org", "wrong", "")
			mu.Lock()
			defer mu.Unlock()
			codes[talks.ErrorMessage(err)]++
		})
	}
	wg.Wait()
	if n := codes["Email or password is incorrect."]; n != testPolicy.AccountFailures || n+codes["Too many attempts; try again in 15 minutes."] != 20 {
		t.Errorf("concurrent failed logins answered %v", codes)
	}
	_, err := a.svc.Login(ctx, "ada@example.org", password, "")
	wantErr(t, "Login(after concurrent guesses)", err, talks.EUNAUTHORIZED, "Too many attempts")
}

func TestLimiter(t *testing.T) {
	c := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := talks.NewLimiter(2, time.Minute, c)
	type step struct {
		advance time.Duration
		fail    bool
		ok      bool
		wait    time.Duration
	}
	for i, s := range []step{
		{0, false, true, 0},
		{0, true, true, 0},
		{10 * time.Second, true, false, 50 * time.Second},
		{49 * time.Second, false, false, time.Second},
		{time.Second, false, true, 0},
		{0, true, false, 10 * time.Second},
		{10 * time.Second, false, true, 0},
		{2 * time.Minute, false, true, 0},
	} {
		c.Advance(s.advance)
		if s.fail {
			l.Fail("k")
		}
		if ok, wait := l.Allow("k"); ok != s.ok || wait != s.wait {
			t.Errorf("step %d: Allow() = %v, %v; want %v, %v", i, ok, wait, s.ok, s.wait)
		}
	}
	l.Fail("k")
	l.Fail("k")
	l.Reset("k")
	if ok, _ := l.Allow("k"); !ok {
		t.Error("Allow() after Reset = false")
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Error("Allow(other key) = false")
	}

	// Take counts first; Release undoes one attempt.
	l.Reset("k")
	ok1, _, at1 := l.Take("k")
	c.Advance(time.Second)
	ok2, _, _ := l.Take("k")
	ok3, wait, _ := l.Take("k")
	if !ok1 || !ok2 || ok3 || wait != time.Minute-time.Second {
		t.Errorf("Take() thrice = %v, %v, %v (wait %v); want true, true, false (wait 59s)", ok1, ok2, ok3, wait)
	}
	l.Release("k", at1)
	if ok, _, _ := l.Take("k"); !ok {
		t.Error("Take() after Release = false")
	}
	if ok, wait := l.Allow("k"); ok || wait != time.Minute {
		t.Errorf("Allow() = %v, %v; want false, 1m0s", ok, wait)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, "ada@example.org", "bob@example.org")
	s1 := a.login(t, "ada@example.org", password, "")
	s2 := a.login(t, "ada@example.org", password, "")
	bob := a.login(t, "bob@example.org", password, "")

	got, err := a.svc.FindSession(ctx, s1.Token)
	mustOK(t, "FindSession", err)
	if got.ID != s1.ID || got.User.ID != s1.UserID || got.Token != "" {
		t.Errorf("FindSession() = %+v, want session %d of user %d without its token", got, s1.ID, s1.UserID)
	}
	for _, tok := range []string{"", "bcs_nope", s1.Token + "x"} {
		_, err := a.svc.FindSession(ctx, tok)
		wantErr(t, "FindSession(bad)", err, talks.EUNAUTHORIZED, "")
	}

	// Logout revokes one session only, and is idempotent.
	mustOK(t, "Logout", a.svc.Logout(ctx, s2.Token))
	mustOK(t, "Logout(twice)", a.svc.Logout(ctx, s2.Token))
	_, err = a.svc.FindSession(ctx, s2.Token)
	wantErr(t, "FindSession(logged out)", err, talks.EUNAUTHORIZED, "")
	_, err = a.svc.FindSession(ctx, s1.Token)
	mustOK(t, "FindSession(other session)", err)

	// A sign-in link nobody opens (it expires first: LoginLinkTTL).
	_, err = a.svc.CreateLoginLink(ctx, s1.UserID)
	mustOK(t, "CreateLoginLink", err)

	// Expiry: valid until just before ExpiresAt, then gone for good.
	a.clock.Advance(testPolicy.SessionTTL - time.Nanosecond)
	_, err = a.svc.FindSession(ctx, bob.Token)
	mustOK(t, "FindSession(before expiry)", err)
	a.clock.Advance(time.Nanosecond)
	_, err = a.svc.FindSession(ctx, bob.Token)
	wantErr(t, "FindSession(expired)", err, talks.EUNAUTHORIZED, "")
	if _, err := a.store.FindSessionByTokenHash(ctx, talks.HashToken(bob.Token)); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("an expired session is still stored: %v", err)
	}

	// Sessions nobody presents again, and the link, are swept.
	if n, links, err := a.svc.DeleteExpiredSessions(ctx); err != nil || n != 1 || links != 1 {
		t.Errorf("DeleteExpiredSessions() = %d, %d, %v; want 1 (ada's first session), 1 (the link)", n, links, err)
	}
	if n, links, err := a.svc.DeleteExpiredSessions(ctx); err != nil || n != 0 || links != 0 {
		t.Errorf("DeleteExpiredSessions() again = %d, %d, %v; want 0, 0", n, links, err)
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, "ada@example.org")
	keep := a.login(t, "ada@example.org", password, "")
	other := a.login(t, "ada@example.org", password, "")
	as := talks.NewContextWithUser(ctx, keep.User)
	const next = "a much better passphrase"

	wantErr(t, "ChangePassword(no user)", a.svc.ChangePassword(ctx, password, next, 0), talks.EUNAUTHORIZED, "")
	wantErr(t, "ChangePassword(short)", a.svc.ChangePassword(as, password, "short", keep.ID), talks.EINVALID, "at least 12")
	wantErr(t, "ChangePassword(wrong current)", a.svc.ChangePassword(as, "not my password", next, keep.ID), talks.EUNAUTHORIZED, "Current password")
	_, err := a.svc.FindSession(ctx, other.Token)
	mustOK(t, "FindSession after failed changes", err)

	mustOK(t, "ChangePassword", a.svc.ChangePassword(as, password, next, keep.ID))
	_, err = a.svc.FindSession(ctx, keep.Token)
	mustOK(t, "FindSession(kept)", err)
	_, err = a.svc.FindSession(ctx, other.Token)
	wantErr(t, "FindSession(other session after change)", err, talks.EUNAUTHORIZED, "")
	_, err = a.svc.Login(ctx, "ada@example.org", password, "")
	wantErr(t, "Login(old password)", err, talks.EUNAUTHORIZED, "incorrect")
	a.login(t, "ada@example.org", next, "")
	u, err := a.store.FindUserByID(ctx, keep.UserID)
	mustOK(t, "FindUserByID", err)
	if talks.PasswordNeedsRehash(u.PasswordHash, testPolicy.Argon2) {
		t.Errorf("new hash %q is not made with the policy's parameters", u.PasswordHash)
	}

	// An account without a password sets its first one without a current.
	nopw := &talks.User{Name: "nopw", Email: "nopw@example.org"}
	mustOK(t, "CreateUser", a.store.CreateUser(ctx, nopw))
	mustOK(t, "ChangePassword(first)", a.svc.ChangePassword(talks.NewContextWithUser(ctx, nopw), "", next, 0))
	a.login(t, "nopw@example.org", next, "")
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, "ada@example.org", "bob@example.org")
	ada := talks.NewContextWithUser(ctx, a.login(t, "ada@example.org", password, "").User)
	bob := talks.NewContextWithUser(ctx, a.login(t, "bob@example.org", password, "").User)

	_, err := a.svc.CreateAPIToken(ctx, "cli")
	wantErr(t, "CreateAPIToken(no user)", err, talks.EUNAUTHORIZED, "")
	_, err = a.svc.CreateAPIToken(ada, "  ")
	wantErr(t, "CreateAPIToken(no name)", err, talks.EINVALID, "")
	cli, err := a.svc.CreateAPIToken(ada, "cli")
	mustOK(t, "CreateAPIToken", err)
	if !strings.HasPrefix(cli.Token, "bct_") || cli.TokenHash != nil || cli.Name != "cli" || cli.ID == 0 {
		t.Errorf("CreateAPIToken() = %+v, want a named token with its secret once and no hash", cli)
	}
	ci, err := a.svc.CreateAPIToken(ada, "ci")
	mustOK(t, "CreateAPIToken", err)
	_, err = a.svc.CreateAPIToken(ada, "cli")
	wantErr(t, "CreateAPIToken(same name)", err, talks.ECONFLICT, `"cli"`)
	_, err = a.svc.CreateAPIToken(bob, "cli")
	mustOK(t, "CreateAPIToken(bob, same name)", err)

	list, err := a.svc.FindAPITokens(ada)
	mustOK(t, "FindAPITokens", err)
	if len(list) != 2 || list[0].ID != cli.ID || list[1].ID != ci.ID {
		t.Fatalf("FindAPITokens() = %+v, want cli and ci", list)
	}
	for _, tok := range list {
		if tok.Token != "" || tok.TokenHash != nil {
			t.Errorf("FindAPITokens() lists %+v with a secret or hash", tok)
		}
	}

	u, err := a.svc.AuthenticateAPIToken(ctx, cli.Token)
	mustOK(t, "AuthenticateAPIToken", err)
	if u.Email != "ada@example.org" || u.PasswordHash != "" {
		t.Errorf("AuthenticateAPIToken() = %+v, want ada without her hash", u)
	}
	for _, tok := range []string{"", "bct_nope", cli.Token[:len(cli.Token)-1]} {
		_, err := a.svc.AuthenticateAPIToken(ctx, tok)
		wantErr(t, "AuthenticateAPIToken(bad)", err, talks.EUNAUTHORIZED, "")
	}

	// Bob cannot revoke Ada's token: for him it does not exist.
	wantErr(t, "RevokeAPIToken(other's)", a.svc.RevokeAPIToken(bob, cli.ID), talks.ENOTFOUND, "")
	mustOK(t, "RevokeAPIToken", a.svc.RevokeAPIToken(ada, cli.ID))
	wantErr(t, "RevokeAPIToken(twice)", a.svc.RevokeAPIToken(ada, cli.ID), talks.ENOTFOUND, "")
	_, err = a.svc.AuthenticateAPIToken(ctx, cli.Token)
	wantErr(t, "AuthenticateAPIToken(revoked)", err, talks.EUNAUTHORIZED, "")
	_, err = a.svc.AuthenticateAPIToken(ctx, ci.Token)
	mustOK(t, "AuthenticateAPIToken(other token)", err)
	list, err = a.svc.FindAPITokens(ada)
	mustOK(t, "FindAPITokens", err)
	if len(list) != 1 || list[0].ID != ci.ID {
		t.Errorf("FindAPITokens() after revoke = %+v, want ci alone", list)
	}
}

func TestSetup(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	tok, err := a.svc.CreateSetupToken(ctx)
	mustOK(t, "CreateSetupToken", err)
	if !strings.HasPrefix(tok, "bcsetup_") {
		t.Errorf("CreateSetupToken() = %q", tok)
	}
	_, err = a.svc.Setup(ctx, "bcsetup_nope", "Root", "root@example.org", password)
	wantErr(t, "Setup(unknown token)", err, talks.EUNAUTHORIZED, "setup link")
	_, err = a.svc.Setup(ctx, tok, "Root", "root@example.org", "short")
	wantErr(t, "Setup(short password)", err, talks.EINVALID, "at least")
	_, err = a.svc.Setup(ctx, tok, "", "root@example.org", password)
	wantErr(t, "Setup(no name)", err, talks.EINVALID, "")

	u, err := a.svc.Setup(ctx, tok, "Root", "root@example.org", password)
	mustOK(t, "Setup", err)
	if !u.Admin || u.ID == 0 || u.PasswordHash != "" {
		t.Errorf("Setup() = %+v, want an administrator without the hash", u)
	}
	s := a.login(t, "root@example.org", password, "")
	if !s.User.Admin {
		t.Error("the first user is not an administrator after a reload")
	}
	_, err = a.svc.Setup(ctx, tok, "Again", "again@example.org", password)
	wantErr(t, "Setup(spent token)", err, talks.EUNAUTHORIZED, "")
	_, err = a.svc.CreateSetupToken(ctx)
	wantErr(t, "CreateSetupToken(users exist)", err, talks.ECONFLICT, "")

	// Only on an empty database.
	b := newAccounts(t, "ada@example.org")
	_, err = b.svc.CreateSetupToken(ctx)
	wantErr(t, "CreateSetupToken(not empty)", err, talks.ECONFLICT, "")

	// Expiry.
	c := newAccounts(t)
	tok, err = c.svc.CreateSetupToken(ctx)
	mustOK(t, "CreateSetupToken", err)
	c.clock.Advance(testPolicy.SetupTokenTTL)
	_, err = c.svc.Setup(ctx, tok, "Root", "root@example.org", password)
	wantErr(t, "Setup(expired)", err, talks.EUNAUTHORIZED, "expired")
	if n, err := c.store.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("after an expired setup, CountUsers() = %d, %v; want 0", n, err)
	}
}

func TestCSRFToken(t *testing.T) {
	a := newAccounts(t, "ada@example.org")
	s1 := a.login(t, "ada@example.org", password, "")
	s2 := a.login(t, "ada@example.org", password, "")
	key, other := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	found, err := a.svc.FindSession(context.Background(), s1.Token)
	mustOK(t, "FindSession", err)
	tok := talks.CSRFToken(key, s1)
	if !talks.CheckCSRFToken(key, found, tok) {
		t.Error("CheckCSRFToken(the session's own token) = false")
	}
	for _, c := range []struct {
		name string
		key  []byte
		sess *talks.Session
		tok  string
	}{
		{"other session", key, s2, tok},
		{"other key", other, s1, tok},
		{"empty", key, s1, ""},
		{"truncated", key, s1, tok[:len(tok)-1]},
	} {
		if talks.CheckCSRFToken(c.key, c.sess, c.tok) {
			t.Errorf("CheckCSRFToken(%s) = true", c.name)
		}
	}
}

// TestNoPasswordHashLeaks calls every account method that returns
// something and checks that no returned value holds a password hash, at
// any depth.
func TestNoPasswordHashLeaks(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	setup, err := a.svc.CreateSetupToken(ctx)
	mustOK(t, "CreateSetupToken", err)
	root, err := a.svc.Setup(ctx, setup, "Root", "root@example.org", password)
	mustOK(t, "Setup", err)
	s := a.login(t, "root@example.org", password, "")
	as := talks.NewContextWithUser(ctx, s.User)
	found, err := a.svc.FindSession(ctx, s.Token)
	mustOK(t, "FindSession", err)
	tok, err := a.svc.CreateAPIToken(as, "cli")
	mustOK(t, "CreateAPIToken", err)
	list, err := a.svc.FindAPITokens(as)
	mustOK(t, "FindAPITokens", err)
	u, err := a.svc.AuthenticateAPIToken(ctx, tok.Token)
	mustOK(t, "AuthenticateAPIToken", err)

	stored, err := a.store.FindUserByID(ctx, root.ID)
	mustOK(t, "FindUserByID", err)
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Fatalf("stored hash %q", stored.PasswordHash)
	}
	for name, v := range map[string]any{"Setup": root, "Login": s, "FindSession": found, "CreateAPIToken": tok,
		"FindAPITokens": list, "AuthenticateAPIToken": u} {
		if path := findString(reflect.ValueOf(v), "$argon2id$", name); path != "" {
			t.Errorf("%s returns a password hash at %s", name, path)
		}
	}
}

// findString returns the path of the first string under v that contains
// s, or "".
func findString(v reflect.Value, s, path string) string {
	switch v.Kind() {
	case reflect.String:
		if strings.Contains(v.String(), s) {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return findString(v.Elem(), s, path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if p := findString(v.Field(i), s, path+"."+v.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p := findString(v.Index(i), s, path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if p := findString(it.Value(), s, path+"[k]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// BenchmarkHashPassword measures the cost of one password hash (and so
// of one login) with DefaultArgon2Params.
func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := talks.HashPassword(password, talks.DefaultArgon2Params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginUnknownEmail shows that a login for an unknown email costs
// about what a real one does (compare with BenchmarkLogin).
func BenchmarkLoginUnknownEmail(b *testing.B) { benchmarkLogin(b, "nobody@example.org") }

// BenchmarkLogin measures a successful login with DefaultAccountPolicy.
func BenchmarkLogin(b *testing.B) { benchmarkLogin(b, "ada@example.org") }

func benchmarkLogin(b *testing.B, email string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bc.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := talks.NewService(st, nil)
	p := talks.DefaultAccountPolicy
	p.AccountFailures, p.AddressFailures = 1<<30, 1<<30
	svc.SetAccountPolicy(p)
	h, err := talks.HashPassword(password, talks.DefaultArgon2Params)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateUser(ctx, &talks.User{Name: "ada", Email: "ada@example.org", PasswordHash: h}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, err := svc.Login(ctx, email, password, "")
		if (err == nil) != (email == "ada@example.org") {
			b.Fatal(err)
		}
	}
}
