package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

// CountUsers implements talks.Store.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, translate(fmt.Errorf("count users: %w", err))
	}
	return n, nil
}

// UpdatePassword implements talks.Store.
func (s *Store) UpdatePassword(ctx context.Context, userID int64, hash string, keepSessionID int64) error {
	return s.update(ctx, func(tx *txn) error {
		ct, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
		if err != nil {
			return fmt.Errorf("update password: %w", err)
		} else if ct.RowsAffected() == 0 {
			return talks.Errorf(talks.ENOTFOUND, "User not found.")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keepSessionID); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		return nil
	})
}

// CreateSession implements talks.Store.
func (s *Store) CreateSession(ctx context.Context, sess *talks.Session) error {
	return s.update(ctx, func(tx *txn) error { return insertSession(ctx, tx, sess) })
}

func insertSession(ctx context.Context, tx *txn, sess *talks.Session) error {
	created, expires := talks.Timestamp(sess.CreatedAt), talks.Timestamp(sess.ExpiresAt)
	err := tx.QueryRow(ctx, `INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		sess.UserID, sess.TokenHash, created, expires).Scan(&sess.ID)
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = created, expires
	return nil
}

// FindSessionByTokenHash implements talks.Store.
func (s *Store) FindSessionByTokenHash(ctx context.Context, hash []byte) (*talks.Session, error) {
	var sess talks.Session
	err := s.pool.QueryRow(ctx, `SELECT id, user_id, token_hash, created_at, expires_at FROM sessions WHERE token_hash = $1`, hash).
		Scan(&sess.ID, &sess.UserID, &sess.TokenHash, &sess.CreatedAt, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Session not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find session: %w", err))
	}
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	return &sess, nil
}

// DeleteSession implements talks.Store.
func (s *Store) DeleteSession(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, `DELETE FROM sessions WHERE id = $1`, id, "Session not found.")
}

// DeleteExpiredSessions implements talks.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return s.deleteExpired(ctx, "sessions", now)
}

// DeleteExpiredLoginTokens implements talks.Store.
func (s *Store) DeleteExpiredLoginTokens(ctx context.Context, now time.Time) (int, error) {
	return s.deleteExpired(ctx, "login_tokens", now)
}

// deleteExpired deletes the rows of table (a constant) whose expires_at is
// at or before now.
func (s *Store) deleteExpired(ctx context.Context, table string, now time.Time) (int, error) {
	var n int
	err := s.update(ctx, func(tx *txn) error {
		ct, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE expires_at <= $1`, now)
		if err != nil {
			return fmt.Errorf("delete expired %s: %w", table, err)
		}
		n = int(ct.RowsAffected())
		return nil
	})
	return n, err
}

// CreateAPIToken implements talks.Store.
func (s *Store) CreateAPIToken(ctx context.Context, t *talks.APIToken) error {
	created := talks.Timestamp(t.CreatedAt)
	return s.update(ctx, func(tx *txn) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			t.UserID, t.Name, t.TokenHash, created).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert api token: %w", err)
		}
		t.CreatedAt = created
		return nil
	})
}

// FindAPITokenByTokenHash implements talks.Store.
func (s *Store) FindAPITokenByTokenHash(ctx context.Context, hash []byte) (*talks.APIToken, error) {
	ts, err := s.findAPITokens(ctx, `token_hash = $1`, hash)
	if err != nil {
		return nil, err
	} else if len(ts) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "API token not found.")
	}
	return ts[0], nil
}

// FindAPITokens implements talks.Store.
func (s *Store) FindAPITokens(ctx context.Context, userID int64) ([]*talks.APIToken, error) {
	return s.findAPITokens(ctx, `user_id = $1`, userID)
}

func (s *Store) findAPITokens(ctx context.Context, where string, arg any) ([]*talks.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, name, token_hash, created_at FROM api_tokens WHERE `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, translate(fmt.Errorf("find api tokens: %w", err))
	}
	defer rows.Close()
	var ts []*talks.APIToken
	for rows.Next() {
		var t talks.APIToken
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &t.CreatedAt); err != nil {
			return nil, translate(err)
		}
		t.CreatedAt = t.CreatedAt.UTC()
		ts = append(ts, &t)
	}
	return ts, translate(rows.Err())
}

// DeleteAPIToken implements talks.Store.
func (s *Store) DeleteAPIToken(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, `DELETE FROM api_tokens WHERE id = $1`, id, "API token not found.")
}

// CreateSetupToken implements talks.Store.
func (s *Store) CreateSetupToken(ctx context.Context, t *talks.SetupToken) error {
	created, expires := talks.Timestamp(t.CreatedAt), talks.Timestamp(t.ExpiresAt)
	return s.update(ctx, func(tx *txn) error {
		if err := noUsers(ctx, tx); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3) RETURNING id`,
			t.TokenHash, created, expires).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert setup token: %w", err)
		}
		t.CreatedAt, t.ExpiresAt = created, expires
		return nil
	})
}

// RedeemSetupToken implements talks.Store.
func (s *Store) RedeemSetupToken(ctx context.Context, hash []byte, now time.Time, u *talks.User) error {
	created := talks.Timestamp(u.CreatedAt)
	return s.update(ctx, func(tx *txn) error {
		if err := lockUsers(ctx, tx); err != nil {
			return err
		}
		var expires time.Time
		err := tx.QueryRow(ctx, `SELECT expires_at FROM setup_tokens WHERE token_hash = $1`, hash).Scan(&expires)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !expires.After(now) {
			return talks.Errorf(talks.ENOTFOUND, "Setup token not found.")
		} else if err != nil {
			return fmt.Errorf("find setup token: %w", err)
		}
		if err := noUsers(ctx, tx); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO users (name, email, password_hash, admin, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			u.Name, u.Email, u.PasswordHash, u.Admin, created).Scan(&u.ID)
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		u.CreatedAt = created
		if _, err := tx.Exec(ctx, `DELETE FROM setup_tokens`); err != nil {
			return fmt.Errorf("delete setup tokens: %w", err)
		}
		return nil
	})
}

// CreateLoginToken implements talks.Store.
func (s *Store) CreateLoginToken(ctx context.Context, t *talks.LoginToken) error {
	created, expires := talks.Timestamp(t.CreatedAt), talks.Timestamp(t.ExpiresAt)
	return s.update(ctx, func(tx *txn) error {
		err := tx.QueryRow(ctx, `INSERT INTO login_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			t.UserID, t.TokenHash, created, expires).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert login token: %w", err)
		}
		t.CreatedAt, t.ExpiresAt = created, expires
		return nil
	})
}

// RedeemLoginToken implements talks.Store.
func (s *Store) RedeemLoginToken(ctx context.Context, hash []byte, now time.Time, sess *talks.Session) error {
	return s.update(ctx, func(tx *txn) error {
		var expires time.Time
		err := tx.QueryRow(ctx, `DELETE FROM login_tokens WHERE token_hash = $1 RETURNING user_id, expires_at`, hash).Scan(&sess.UserID, &expires)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !expires.After(now) {
			return talks.Errorf(talks.ENOTFOUND, "Login token not found.")
		} else if err != nil {
			return fmt.Errorf("delete login token: %w", err)
		}
		return insertSession(ctx, tx, sess)
	})
}

// lockUsers locks the users table against inserts, and against other
// callers, until the transaction ends: at READ COMMITTED two redeemers, or
// a redeemer and CreateUser, could otherwise both see no users and both
// create one. Reads and foreign key checks do not wait for it.
func lockUsers(ctx context.Context, tx *txn) error {
	if _, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock users: %w", err)
	}
	return nil
}

// noUsers locks the users table (lockUsers) and returns ECONFLICT if any
// user exists.
func noUsers(ctx context.Context, tx *txn) error {
	if err := lockUsers(ctx, tx); err != nil {
		return err
	}
	var found bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&found); err != nil {
		return fmt.Errorf("count users: %w", err)
	} else if found {
		return talks.Errorf(talks.ECONFLICT, "Users exist.")
	}
	return nil
}

// deleteRow runs a DELETE of one row by id, ENOTFOUND with msg if it
// deleted none.
func (s *Store) deleteRow(ctx context.Context, query string, id int64, msg string) error {
	return s.update(ctx, func(tx *txn) error {
		ct, err := tx.Exec(ctx, query, id)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		} else if ct.RowsAffected() == 0 {
			return talks.Errorf(talks.ENOTFOUND, "%s", msg)
		}
		return nil
	})
}
