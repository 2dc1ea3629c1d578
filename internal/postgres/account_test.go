package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestSetupRace redeems several setup tokens at once from separate stores,
// as several servers started on an empty database might: exactly one
// first administrator must result.
func TestSetupRace(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	s := openDSN(t, dsn)
	now := talks.Timestamp(time.Now())
	const n = 8
	for i := range n {
		tok := &talks.SetupToken{TokenHash: talks.HashToken(fmt.Sprint("setup", i)), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateSetupToken(ctx, tok); err != nil {
			t.Fatalf("CreateSetupToken: %v", err)
		}
	}
	others := []talks.Store{s, openDSN(t, dsn)}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			u := &talks.User{Name: "admin", Email: fmt.Sprintf("admin%d@example.org", i), Admin: true, CreatedAt: now}
			errs[i] = others[i%2].RedeemSetupToken(ctx, talks.HashToken(fmt.Sprint("setup", i)), now, u)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch code := talks.ErrorCode(err); {
		case err == nil:
			ok++
		case code != talks.ECONFLICT && code != talks.ENOTFOUND:
			t.Errorf("RedeemSetupToken(%d): %v, want nil, ECONFLICT or ENOTFOUND", i, err)
		}
	}
	if users, err := s.CountUsers(ctx); err != nil || users != 1 || ok != 1 {
		t.Errorf("after %d concurrent redeems: %d succeeded, CountUsers() = %d, %v; want 1 and 1", n, ok, users, err)
	}
	if err := s.CreateSetupToken(ctx, &talks.SetupToken{TokenHash: talks.HashToken("late"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("CreateSetupToken after setup: %v, want ECONFLICT", err)
	}
}

// TestSessionTimes checks that session times round-trip exactly and that
// DeleteExpiredSessions deletes those that expire at or before now.
func TestSessionTimes(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	s := openDSN(t, db.schema(t))
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 9, 0, 0, 123_456_789, time.UTC)
	for i, exp := range []time.Duration{-time.Second, 0, time.Microsecond, time.Hour} {
		sess := &talks.Session{UserID: u.ID, TokenHash: talks.HashToken(fmt.Sprint(i)), CreatedAt: now, ExpiresAt: now.Add(exp)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindSessionByTokenHash(ctx, sess.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ExpiresAt.Equal(talks.Timestamp(now.Add(exp))) || got.ExpiresAt.Location() != time.UTC || !got.CreatedAt.Equal(sess.CreatedAt) {
			t.Errorf("session %d: times %v, %v, want %v, %v", i, got.CreatedAt, got.ExpiresAt, sess.CreatedAt, sess.ExpiresAt)
		}
	}
	if n, err := s.DeleteExpiredSessions(ctx, talks.Timestamp(now)); err != nil || n != 2 {
		t.Errorf("DeleteExpiredSessions() = %d, %v, want 2", n, err)
	}
}
