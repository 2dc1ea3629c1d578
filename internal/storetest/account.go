package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

func hashOf(s string) []byte { return talks.HashToken(s) }

func newSession(t *testing.T, s talks.Store, userID int64, token string, expires time.Time) *talks.Session {
	t.Helper()
	sess := &talks.Session{UserID: userID, TokenHash: hashOf(token), CreatedAt: t0, ExpiresAt: expires}
	must(t, "CreateSession", s.CreateSession(context.Background(), sess))
	if sess.ID == 0 {
		t.Fatal("CreateSession did not set ID")
	}
	return sess
}

// testAccountUsers checks CountUsers, the Admin flag and UpdatePassword.
func testAccountUsers(t *testing.T, s talks.Store) {
	ctx := context.Background()
	n, err := s.CountUsers(ctx)
	must(t, "CountUsers", err)
	if n != 0 {
		t.Fatalf("CountUsers() of an empty store = %d, want 0", n)
	}
	admin := &talks.User{Name: "root", Email: "root@example.org", Admin: true, CreatedAt: t0}
	must(t, "CreateUser", s.CreateUser(ctx, admin))
	ada := newUser(t, s, "ada")
	n, err = s.CountUsers(ctx)
	must(t, "CountUsers", err)
	if n != 2 {
		t.Errorf("CountUsers() = %d, want 2", n)
	}
	for _, u := range []*talks.User{admin, ada} {
		got, err := s.FindUserByID(ctx, u.ID)
		must(t, "FindUserByID", err)
		if !reflect.DeepEqual(got, u) {
			t.Errorf("FindUserByID() = %+v, want %+v", got, u)
		}
	}

	keep := newSession(t, s, ada.ID, "keep", t0.Add(time.Hour))
	drop := newSession(t, s, ada.ID, "drop", t0.Add(time.Hour))
	other := newSession(t, s, admin.ID, "other", t0.Add(time.Hour))
	must(t, "UpdatePassword", s.UpdatePassword(ctx, ada.ID, "$argon2id$new", keep.ID))
	got, err := s.FindUserByID(ctx, ada.ID)
	must(t, "FindUserByID", err)
	if got.PasswordHash != "$argon2id$new" {
		t.Errorf("after UpdatePassword, hash = %q, want %q", got.PasswordHash, "$argon2id$new")
	}
	for _, c := range []struct {
		sess *talks.Session
		code string
	}{{keep, ""}, {drop, talks.ENOTFOUND}, {other, ""}} {
		_, err := s.FindSessionByTokenHash(ctx, c.sess.TokenHash)
		wantCode(t, "FindSessionByTokenHash after UpdatePassword", err, c.code)
	}
	must(t, "UpdatePassword(keep none)", s.UpdatePassword(ctx, ada.ID, "$argon2id$newer", 0))
	_, err = s.FindSessionByTokenHash(ctx, keep.TokenHash)
	wantCode(t, "FindSessionByTokenHash after UpdatePassword(keep none)", err, talks.ENOTFOUND)
	wantCode(t, "UpdatePassword(unknown user)", s.UpdatePassword(ctx, 9999, "x", 0), talks.ENOTFOUND)
}

func testSessions(t *testing.T, s talks.Store) {
	ctx := context.Background()
	ada, bob := newUser(t, s, "ada"), newUser(t, s, "bob")
	a := newSession(t, s, ada.ID, "a", t0.Add(time.Hour))
	b := newSession(t, s, bob.ID, "b", t0.Add(2*time.Hour))
	got, err := s.FindSessionByTokenHash(ctx, a.TokenHash)
	must(t, "FindSessionByTokenHash", err)
	if !reflect.DeepEqual(got, a) {
		t.Errorf("FindSessionByTokenHash() = %+v, want %+v", got, a)
	}
	_, err = s.FindSessionByTokenHash(ctx, hashOf("nope"))
	wantCode(t, "FindSessionByTokenHash(unknown)", err, talks.ENOTFOUND)
	wantCode(t, "CreateSession(same hash)", s.CreateSession(ctx, &talks.Session{UserID: bob.ID, TokenHash: a.TokenHash, CreatedAt: t0, ExpiresAt: t0}), talks.ECONFLICT)
	wantCode(t, "CreateSession(unknown user)", s.CreateSession(ctx, &talks.Session{UserID: 9999, TokenHash: hashOf("c"), CreatedAt: t0, ExpiresAt: t0}), talks.EINVALID)

	must(t, "DeleteSession", s.DeleteSession(ctx, a.ID))
	_, err = s.FindSessionByTokenHash(ctx, a.TokenHash)
	wantCode(t, "FindSessionByTokenHash(deleted)", err, talks.ENOTFOUND)
	wantCode(t, "DeleteSession(twice)", s.DeleteSession(ctx, a.ID), talks.ENOTFOUND)

	// Expiry at exactly now counts as expired; times with and without
	// fractional seconds compare as times, not strings.
	c := newSession(t, s, ada.ID, "c", t0.Add(90*time.Minute).Truncate(time.Second))
	n, err := s.DeleteExpiredSessions(ctx, t0.Add(90*time.Minute).Truncate(time.Second))
	must(t, "DeleteExpiredSessions", err)
	if n != 1 {
		t.Errorf("DeleteExpiredSessions() = %d, want 1", n)
	}
	_, err = s.FindSessionByTokenHash(ctx, c.TokenHash)
	wantCode(t, "FindSessionByTokenHash(expired)", err, talks.ENOTFOUND)
	_, err = s.FindSessionByTokenHash(ctx, b.TokenHash)
	must(t, "FindSessionByTokenHash(live)", err)
}

func testAPITokens(t *testing.T, s talks.Store) {
	ctx := context.Background()
	ada, bob := newUser(t, s, "ada"), newUser(t, s, "bob")
	var mine []*talks.APIToken
	for _, name := range []string{"cli", "ci"} {
		tok := &talks.APIToken{UserID: ada.ID, Name: name, TokenHash: hashOf(name), CreatedAt: t0}
		must(t, "CreateAPIToken", s.CreateAPIToken(ctx, tok))
		if tok.ID == 0 {
			t.Fatal("CreateAPIToken did not set ID")
		}
		mine = append(mine, tok)
	}
	bobs := &talks.APIToken{UserID: bob.ID, Name: "cli", TokenHash: hashOf("bob-cli"), CreatedAt: t0}
	must(t, "CreateAPIToken(same name, other user)", s.CreateAPIToken(ctx, bobs))
	wantCode(t, "CreateAPIToken(same name)", s.CreateAPIToken(ctx, &talks.APIToken{UserID: ada.ID, Name: "cli", TokenHash: hashOf("x"), CreatedAt: t0}), talks.ECONFLICT)
	wantCode(t, "CreateAPIToken(same hash)", s.CreateAPIToken(ctx, &talks.APIToken{UserID: ada.ID, Name: "y", TokenHash: hashOf("ci"), CreatedAt: t0}), talks.ECONFLICT)
	wantCode(t, "CreateAPIToken(unknown user)", s.CreateAPIToken(ctx, &talks.APIToken{UserID: 9999, Name: "z", TokenHash: hashOf("z"), CreatedAt: t0}), talks.EINVALID)

	got, err := s.FindAPITokens(ctx, ada.ID)
	must(t, "FindAPITokens", err)
	if !reflect.DeepEqual(got, mine) {
		t.Errorf("FindAPITokens() = %+v, want %+v", got, mine)
	}
	one, err := s.FindAPITokenByTokenHash(ctx, hashOf("bob-cli"))
	must(t, "FindAPITokenByTokenHash", err)
	if !reflect.DeepEqual(one, bobs) {
		t.Errorf("FindAPITokenByTokenHash() = %+v, want %+v", one, bobs)
	}
	_, err = s.FindAPITokenByTokenHash(ctx, hashOf("nope"))
	wantCode(t, "FindAPITokenByTokenHash(unknown)", err, talks.ENOTFOUND)

	must(t, "DeleteAPIToken", s.DeleteAPIToken(ctx, mine[0].ID))
	wantCode(t, "DeleteAPIToken(twice)", s.DeleteAPIToken(ctx, mine[0].ID), talks.ENOTFOUND)
	_, err = s.FindAPITokenByTokenHash(ctx, mine[0].TokenHash)
	wantCode(t, "FindAPITokenByTokenHash(deleted)", err, talks.ENOTFOUND)
	got, err = s.FindAPITokens(ctx, ada.ID)
	must(t, "FindAPITokens", err)
	if !reflect.DeepEqual(got, mine[1:]) {
		t.Errorf("FindAPITokens() after delete = %+v, want %+v", got, mine[1:])
	}
	got, err = s.FindAPITokens(ctx, 9999)
	must(t, "FindAPITokens(unknown user)", err)
	if len(got) != 0 {
		t.Errorf("FindAPITokens(unknown user) = %v, want none", got)
	}
}

func testSetupTokens(t *testing.T, s talks.Store) {
	ctx := context.Background()
	tok := &talks.SetupToken{TokenHash: hashOf("setup"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, "CreateSetupToken", s.CreateSetupToken(ctx, tok))
	if tok.ID == 0 {
		t.Fatal("CreateSetupToken did not set ID")
	}
	old := &talks.SetupToken{TokenHash: hashOf("old"), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	must(t, "CreateSetupToken", s.CreateSetupToken(ctx, old))

	root := func(email string) *talks.User {
		return &talks.User{Name: "root", Email: email, Admin: true, PasswordHash: "$argon2id$x", CreatedAt: t0}
	}
	wantCode(t, "RedeemSetupToken(unknown)", s.RedeemSetupToken(ctx, hashOf("nope"), t0, root("a@example.org")), talks.ENOTFOUND)
	wantCode(t, "RedeemSetupToken(expired)", s.RedeemSetupToken(ctx, old.TokenHash, t0.Add(time.Minute), root("a@example.org")), talks.ENOTFOUND)
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("after failed redemptions, CountUsers() = %d, %v; want 0", n, err)
	}

	u := root("root@example.org")
	must(t, "RedeemSetupToken", s.RedeemSetupToken(ctx, tok.TokenHash, t0.Add(time.Second), u))
	got, err := s.FindUserByID(ctx, u.ID)
	must(t, "FindUserByID", err)
	if !reflect.DeepEqual(got, u) || !got.Admin {
		t.Errorf("redeemed user = %+v, want %+v", got, u)
	}
	// Spent, and every other setup token with it.
	wantCode(t, "RedeemSetupToken(twice)", s.RedeemSetupToken(ctx, tok.TokenHash, t0.Add(time.Second), root("b@example.org")), talks.ENOTFOUND)
	wantCode(t, "RedeemSetupToken(other token)", s.RedeemSetupToken(ctx, old.TokenHash, t0, root("b@example.org")), talks.ENOTFOUND)
	wantCode(t, "CreateSetupToken(with users)", s.CreateSetupToken(ctx, &talks.SetupToken{TokenHash: hashOf("late"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}), talks.ECONFLICT)
}

func testLoginTokens(t *testing.T, s talks.Store) {
	ctx := context.Background()
	ada := newUser(t, s, "ada")
	tok := &talks.LoginToken{UserID: ada.ID, TokenHash: hashOf("login"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, "CreateLoginToken", s.CreateLoginToken(ctx, tok))
	if tok.ID == 0 {
		t.Fatal("CreateLoginToken did not set ID")
	}
	old := &talks.LoginToken{UserID: ada.ID, TokenHash: hashOf("old login"), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	must(t, "CreateLoginToken", s.CreateLoginToken(ctx, old))
	wantCode(t, "CreateLoginToken(unknown user)", s.CreateLoginToken(ctx, &talks.LoginToken{UserID: 9999, TokenHash: hashOf("x"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}), talks.EINVALID)
	wantCode(t, "CreateLoginToken(same hash)", s.CreateLoginToken(ctx, &talks.LoginToken{UserID: ada.ID, TokenHash: tok.TokenHash, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}), talks.ECONFLICT)

	session := func(name string) *talks.Session {
		return &talks.Session{TokenHash: hashOf(name), CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	}
	wantCode(t, "RedeemLoginToken(unknown)", s.RedeemLoginToken(ctx, hashOf("nope"), t0, session("s0")), talks.ENOTFOUND)
	wantCode(t, "RedeemLoginToken(expired)", s.RedeemLoginToken(ctx, old.TokenHash, t0.Add(time.Minute), session("s1")), talks.ENOTFOUND)
	if _, err := s.FindSessionByTokenHash(ctx, hashOf("s1")); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("a refused redemption stored its session: %v", err)
	}

	sess := session("s2")
	must(t, "RedeemLoginToken", s.RedeemLoginToken(ctx, tok.TokenHash, t0.Add(time.Second), sess))
	if sess.ID == 0 || sess.UserID != ada.ID {
		t.Errorf("redeemed session = %+v, want an ID and user %d", sess, ada.ID)
	}
	got, err := s.FindSessionByTokenHash(ctx, sess.TokenHash)
	must(t, "FindSessionByTokenHash", err)
	if !reflect.DeepEqual(got, sess) {
		t.Errorf("stored session = %+v, want %+v", got, sess)
	}
	// Spent.
	wantCode(t, "RedeemLoginToken(twice)", s.RedeemLoginToken(ctx, tok.TokenHash, t0.Add(time.Second), session("s3")), talks.ENOTFOUND)

	// The sweep deletes those that expire at or before now (old, which the
	// refused redemption left, and two more), and no other.
	now := talks.Timestamp(t0.Add(time.Hour))
	for i, exp := range []time.Time{t0.Add(30 * time.Minute), now, now.Add(time.Microsecond)} {
		must(t, "CreateLoginToken", s.CreateLoginToken(ctx, &talks.LoginToken{UserID: ada.ID, TokenHash: hashOf(fmt.Sprint("sweep", i)), CreatedAt: t0, ExpiresAt: exp}))
	}
	if n, err := s.DeleteExpiredLoginTokens(ctx, now); err != nil || n != 3 {
		t.Errorf("DeleteExpiredLoginTokens() = %d, %v, want 3", n, err)
	}
	if n, err := s.DeleteExpiredLoginTokens(ctx, now); err != nil || n != 0 {
		t.Errorf("DeleteExpiredLoginTokens() again = %d, %v, want 0", n, err)
	}
	must(t, "RedeemLoginToken(the one left)", s.RedeemLoginToken(ctx, hashOf("sweep2"), now, session("s4")))
}

// testSetupTokenRace redeems one token from many goroutines at once: one
// administrator results.
func testSetupTokenRace(t *testing.T, s talks.Store) {
	ctx := context.Background()
	var hashes [][]byte
	for i := range 4 {
		tok := &talks.SetupToken{TokenHash: hashOf(string(rune('a' + i))), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		must(t, "CreateSetupToken", s.CreateSetupToken(ctx, tok))
		hashes = append(hashes, tok.TokenHash)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 8 {
		wg.Go(func() {
			u := &talks.User{Name: "root", Email: string(rune('a'+i)) + "@example.org", Admin: true, CreatedAt: t0}
			err := s.RedeemSetupToken(ctx, hashes[i%len(hashes)], t0, u)
			mu.Lock()
			defer mu.Unlock()
			switch talks.ErrorCode(err) {
			case "":
				ok++
			case talks.ENOTFOUND, talks.ECONFLICT:
			default:
				t.Errorf("RedeemSetupToken: %v", err)
			}
		})
	}
	wg.Wait()
	n, err := s.CountUsers(ctx)
	must(t, "CountUsers", err)
	if ok != 1 || n != 1 {
		t.Errorf("%d concurrent redemptions succeeded, %d users; want 1 and 1", ok, n)
	}
}
