package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// CountUsers implements talks.Store.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, translate(fmt.Errorf("count users: %w", err))
	}
	return n, nil
}

// UpdatePassword implements talks.Store.
func (s *Store) UpdatePassword(ctx context.Context, userID int64, hash string, keepSessionID int64) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
		if err != nil {
			return fmt.Errorf("update password: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return talks.Errorf(talks.ENOTFOUND, "User not found.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keepSessionID); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		return nil
	})
}

// CreateSession implements talks.Store.
func (s *Store) CreateSession(ctx context.Context, sess *talks.Session) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error { return insertSession(ctx, tx, sess) })
}

func insertSession(ctx context.Context, tx *txn, sess *talks.Session) error {
	err := tx.QueryRowContext(ctx, `INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		sess.UserID, sess.TokenHash, formatTime(sess.CreatedAt), formatTime(sess.ExpiresAt)).Scan(&sess.ID)
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = talks.Timestamp(sess.CreatedAt), talks.Timestamp(sess.ExpiresAt)
	return nil
}

// FindSessionByTokenHash implements talks.Store.
func (s *Store) FindSessionByTokenHash(ctx context.Context, hash []byte) (*talks.Session, error) {
	var sess talks.Session
	var created, expires string
	err := s.read.QueryRowContext(ctx, `SELECT id, user_id, token_hash, created_at, expires_at FROM sessions WHERE token_hash = $1`, hash).
		Scan(&sess.ID, &sess.UserID, &sess.TokenHash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Session not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find session: %w", err))
	}
	if sess.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if sess.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
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
	err := s.update(ctx, func(ctx context.Context, tx *txn) error {
		// Times are stored as RFC 3339 with a variable number of digits,
		// which do not sort as strings: compare them here.
		rows, err := tx.QueryContext(ctx, `SELECT id, expires_at FROM `+table)
		if err != nil {
			return fmt.Errorf("find %s: %w", table, err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var expires string
			if err := rows.Scan(&id, &expires); err != nil {
				rows.Close()
				return err
			}
			t, err := parseTime(expires)
			if err != nil {
				rows.Close()
				return err
			}
			if !t.After(now) {
				ids = append(ids, id)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id); err != nil {
				return fmt.Errorf("delete from %s: %w", table, err)
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// CreateAPIToken implements talks.Store.
func (s *Store) CreateAPIToken(ctx context.Context, t *talks.APIToken) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			t.UserID, t.Name, t.TokenHash, formatTime(t.CreatedAt)).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert api token: %w", err)
		}
		t.CreatedAt = talks.Timestamp(t.CreatedAt)
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
	rows, err := s.read.QueryContext(ctx, `SELECT id, user_id, name, token_hash, created_at FROM api_tokens WHERE `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, translate(fmt.Errorf("find api tokens: %w", err))
	}
	defer rows.Close()
	var ts []*talks.APIToken
	for rows.Next() {
		var t talks.APIToken
		var created string
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &created); err != nil {
			return nil, translate(err)
		}
		if t.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
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
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := noUsers(ctx, tx); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3) RETURNING id`,
			t.TokenHash, formatTime(t.CreatedAt), formatTime(t.ExpiresAt)).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert setup token: %w", err)
		}
		t.CreatedAt, t.ExpiresAt = talks.Timestamp(t.CreatedAt), talks.Timestamp(t.ExpiresAt)
		return nil
	})
}

// RedeemSetupToken implements talks.Store.
func (s *Store) RedeemSetupToken(ctx context.Context, hash []byte, now time.Time, u *talks.User) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		var expires string
		err := tx.QueryRowContext(ctx, `SELECT expires_at FROM setup_tokens WHERE token_hash = $1`, hash).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Setup token not found.")
		} else if err != nil {
			return fmt.Errorf("find setup token: %w", err)
		}
		if t, err := parseTime(expires); err != nil {
			return err
		} else if !t.After(now) {
			return talks.Errorf(talks.ENOTFOUND, "Setup token not found.")
		}
		if err := noUsers(ctx, tx); err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO users (name, email, password_hash, admin, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			u.Name, u.Email, u.PasswordHash, u.Admin, formatTime(u.CreatedAt)).Scan(&u.ID)
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		u.CreatedAt = talks.Timestamp(u.CreatedAt)
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return fmt.Errorf("delete setup tokens: %w", err)
		}
		return nil
	})
}

// CreateLoginToken implements talks.Store.
func (s *Store) CreateLoginToken(ctx context.Context, t *talks.LoginToken) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO login_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			t.UserID, t.TokenHash, formatTime(t.CreatedAt), formatTime(t.ExpiresAt)).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert login token: %w", err)
		}
		t.CreatedAt, t.ExpiresAt = talks.Timestamp(t.CreatedAt), talks.Timestamp(t.ExpiresAt)
		return nil
	})
}

// RedeemLoginToken implements talks.Store.
func (s *Store) RedeemLoginToken(ctx context.Context, hash []byte, now time.Time, sess *talks.Session) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		var expires string
		err := tx.QueryRowContext(ctx, `DELETE FROM login_tokens WHERE token_hash = $1 RETURNING user_id, expires_at`, hash).Scan(&sess.UserID, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Login token not found.")
		} else if err != nil {
			return fmt.Errorf("delete login token: %w", err)
		}
		if t, err := parseTime(expires); err != nil {
			return err
		} else if !t.After(now) {
			return talks.Errorf(talks.ENOTFOUND, "Login token not found.")
		}
		return insertSession(ctx, tx, sess)
	})
}

// noUsers returns ECONFLICT if any user exists.
func noUsers(ctx context.Context, tx *txn) error {
	var found int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&found); err != nil {
		return fmt.Errorf("count users: %w", err)
	} else if found != 0 {
		return talks.Errorf(talks.ECONFLICT, "Users exist.")
	}
	return nil
}

// deleteRow runs a DELETE of one row by id, ENOTFOUND with msg if it
// deleted none.
func (s *Store) deleteRow(ctx context.Context, query string, id int64, msg string) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, query, id)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return talks.Errorf(talks.ENOTFOUND, "%s", msg)
		}
		return nil
	})
}
