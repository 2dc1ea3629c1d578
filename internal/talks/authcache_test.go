package talks_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// countingStore counts the reads that authenticate a token or a session.
type countingStore struct {
	talks.Store
	reads atomic.Int64
}

func (s *countingStore) FindAPITokenByTokenHash(ctx context.Context, hash []byte) (*talks.APIToken, error) {
	s.reads.Add(1)
	return s.Store.FindAPITokenByTokenHash(ctx, hash)
}

func (s *countingStore) FindSessionByTokenHash(ctx context.Context, hash []byte) (*talks.Session, error) {
	s.reads.Add(1)
	return s.Store.FindSessionByTokenHash(ctx, hash)
}

// TestAuthCache checks that repeated authentication is served from the
// cache, and that revoking a token, logging out, changing the password and
// a session's expiry all take effect on the very next call.
func TestAuthCache(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, "ada@example.org", "bob@example.org")
	cs := &countingStore{Store: a.store}
	svc := talks.NewService(cs, a.clock)
	svc.SetAccountPolicy(testPolicy)

	sess, err := svc.Login(ctx, "ada@example.org", password, "")
	mustOK(t, "Login", err)
	as := talks.NewContextWithUser(ctx, sess.User)
	tok, err := svc.CreateAPIToken(as, "script")
	mustOK(t, "CreateAPIToken", err)
	other, err := svc.CreateAPIToken(as, "other")
	mustOK(t, "CreateAPIToken", err)

	// Cached: one read for many calls.
	before := cs.reads.Load()
	for range 10 {
		u, err := svc.AuthenticateAPIToken(ctx, tok.Token)
		mustOK(t, "AuthenticateAPIToken", err)
		if u.ID != sess.UserID || u.PasswordHash != "" {
			t.Fatalf("AuthenticateAPIToken() = %+v, want user %d without password hash", u, sess.UserID)
		}
		got, err := svc.FindSession(ctx, sess.Token)
		mustOK(t, "FindSession", err)
		if got.ID != sess.ID || got.User.ID != sess.UserID || got.Token != "" {
			t.Fatalf("FindSession() = %+v, want session %d without its token", got, sess.ID)
		}
	}
	if n := cs.reads.Load() - before; n != 2 {
		t.Errorf("20 authentications read the store %d times, want 2", n)
	}
	// A bad token is never cached as good, nor a session as a token.
	_, err = svc.AuthenticateAPIToken(ctx, sess.Token)
	wantErr(t, "AuthenticateAPIToken(a session's token)", err, talks.EUNAUTHORIZED, "")
	_, err = svc.FindSession(ctx, tok.Token)
	wantErr(t, "FindSession(an API token)", err, talks.EUNAUTHORIZED, "")

	// Revoking a token refuses it on the next call; the other stays good.
	mustOK(t, "RevokeAPIToken", svc.RevokeAPIToken(as, tok.ID))
	_, err = svc.AuthenticateAPIToken(ctx, tok.Token)
	wantErr(t, "AuthenticateAPIToken(revoked)", err, talks.EUNAUTHORIZED, "")
	_, err = svc.AuthenticateAPIToken(ctx, other.Token)
	mustOK(t, "AuthenticateAPIToken(other)", err)

	// Logging out refuses the session on the next call.
	s2, err := svc.Login(ctx, "ada@example.org", password, "")
	mustOK(t, "Login", err)
	_, err = svc.FindSession(ctx, s2.Token)
	mustOK(t, "FindSession", err)
	mustOK(t, "Logout", svc.Logout(ctx, s2.Token))
	_, err = svc.FindSession(ctx, s2.Token)
	wantErr(t, "FindSession(logged out)", err, talks.EUNAUTHORIZED, "")

	// Changing the password ends the other sessions at once.
	s3, err := svc.Login(ctx, "ada@example.org", password, "")
	mustOK(t, "Login", err)
	_, err = svc.FindSession(ctx, s3.Token)
	mustOK(t, "FindSession", err)
	mustOK(t, "ChangePassword", svc.ChangePassword(as, password, "a much better passphrase", sess.ID))
	_, err = svc.FindSession(ctx, s3.Token)
	wantErr(t, "FindSession(after password change)", err, talks.EUNAUTHORIZED, "")
	_, err = svc.FindSession(ctx, sess.Token)
	mustOK(t, "FindSession(the session that changed it)", err)

	// A cached session expires on time.
	bob, err := svc.Login(ctx, "bob@example.org", password, "")
	mustOK(t, "Login", err)
	_, err = svc.FindSession(ctx, bob.Token)
	mustOK(t, "FindSession", err)
	a.clock.Advance(bob.ExpiresAt.Sub(a.clock.Now()))
	_, err = svc.FindSession(ctx, bob.Token)
	wantErr(t, "FindSession(expired)", err, talks.EUNAUTHORIZED, "")
	if _, err := a.store.FindSessionByTokenHash(ctx, talks.HashToken(bob.Token)); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("an expired session is still stored: %v", err)
	}
}

// TestAuthCacheTTL checks that a change made behind the Service's back, as
// another server on the same database would make it, is seen once the
// cached entry is older than AuthCacheTTL.
func TestAuthCacheTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for AuthCacheTTL")
	}
	ctx := context.Background()
	a := newAccounts(t, "ada@example.org")
	sess := a.login(t, "ada@example.org", password, "")
	_, err := a.svc.FindSession(ctx, sess.Token)
	mustOK(t, "FindSession", err)
	mustOK(t, "DeleteSession", a.store.DeleteSession(ctx, sess.ID))
	deadline := time.Now().Add(talks.AuthCacheTTL + time.Second)
	for {
		_, err := a.svc.FindSession(ctx, sess.Token)
		if talks.ErrorCode(err) == talks.EUNAUTHORIZED {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("FindSession of a session deleted elsewhere = %v after %v, want EUNAUTHORIZED", err, talks.AuthCacheTTL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
