package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// AddStakeholder implements talks.Store.
func (s *Store) AddStakeholder(ctx context.Context, st *talks.Stakeholder, stamp talks.Stamp) error {
	at := talks.Timestamp(stamp.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, st.TalkID, stamp); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, st.TalkID); err != nil {
			return err
		}
		// In the write, as Ratify's: no stakeholder joins a talk that the
		// last ratification has just ratified.
		if err := exists(ctx, tx, "", `SELECT 1 FROM talks WHERE id = $1 AND status = 'ratified'`, st.TalkID); err == nil {
			return talks.Errorf(talks.ECONFLICT, "The talk is ratified: every stakeholder has ratified it, and no stakeholder joins now.")
		} else if talks.ErrorCode(err) != talks.ENOTFOUND {
			return err
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM users WHERE id = $1`, st.UserID); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.EINVALID, "User not found.")
		} else if err != nil {
			return err
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM members WHERE talk_id = $1 AND user_id = $2
			UNION ALL SELECT 1 FROM stakeholders WHERE talk_id = $1 AND user_id = $2`, st.TalkID, st.UserID); err == nil {
			return talks.Errorf(talks.ECONFLICT, "The user is already a member or a stakeholder of the talk.")
		} else if talks.ErrorCode(err) != talks.ENOTFOUND {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO stakeholders (talk_id, user_id, added_at) VALUES ($1, $2, $3)`,
			st.TalkID, st.UserID, formatTime(at)); err != nil {
			return fmt.Errorf("insert stakeholder: %w", err)
		}
		if err := record(ctx, tx, st.TalkID, 0, talks.EventStakeholderAdded, stamp, talks.StakeholderAdded{UserID: st.UserID}); err != nil {
			return err
		}
		st.AddedAt = at
		return nil
	})
}

// FindStakeholders implements talks.Store.
func (s *Store) FindStakeholders(ctx context.Context, talkID int64) ([]*talks.Stakeholder, error) {
	var a []*talks.Stakeholder
	err := s.view(ctx, func(tx *readTx) error {
		rows, err := tx.QueryContext(ctx, `SELECT talk_id, user_id, added_at, decision, comment, decided_at
			FROM stakeholders WHERE talk_id = $1 ORDER BY user_id`, talkID)
		if err != nil {
			return fmt.Errorf("find stakeholders: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var st talks.Stakeholder
			var added string
			var decided sql.NullString
			if err := rows.Scan(&st.TalkID, &st.UserID, &added, &st.Decision, &st.Comment, &decided); err != nil {
				return err
			}
			if st.AddedAt, err = parseTime(added); err != nil {
				return err
			}
			if decided.Valid {
				if st.DecidedAt, err = parseTime(decided.String); err != nil {
					return err
				}
			}
			a = append(a, &st)
		}
		return rows.Err()
	})
	return a, err
}

// SaveRedLines implements talks.Store.
func (s *Store) SaveRedLines(ctx context.Context, r *talks.RedLines, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	body := r.Body()
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, r.TalkID); err != nil {
			return err
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM stakeholders WHERE talk_id = $1 AND user_id = $2`, r.TalkID, r.UserID); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.EINVALID, "The user is not a stakeholder of the talk.")
		} else if err != nil {
			return err
		}
		var version int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM red_lines WHERE talk_id = $1 AND user_id = $2`,
			r.TalkID, r.UserID).Scan(&version); err != nil {
			return fmt.Errorf("next red lines version: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO red_lines (talk_id, user_id, version, body, salt, digest, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.TalkID, r.UserID, version, string(body), r.Salt, r.Digest[:], st.ActorID, formatTime(at)); err != nil {
			return fmt.Errorf("insert red lines: %w", err)
		}
		if err := record(ctx, tx, r.TalkID, 0, talks.EventRedLinesSaved, st, talks.RedLinesSaved{
			UserID: r.UserID, Version: version, Digest: talks.DigestHex(r.Digest)}); err != nil {
			return err
		}
		r.Version, r.CreatedBy, r.CreatedAt = version, st.ActorID, at
		return nil
	})
}

// FindRedLines implements talks.Store.
func (s *Store) FindRedLines(ctx context.Context, talkID, userID int64) ([]*talks.RedLines, error) {
	var a []*talks.RedLines
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		a, err = findRedLines(ctx, tx, `talk_id = $1 AND user_id = $2 ORDER BY version`, talkID, userID)
		return err
	})
	return a, err
}

// FindLatestRedLines implements talks.Store.
func (s *Store) FindLatestRedLines(ctx context.Context, talkID int64) ([]*talks.RedLines, error) {
	var a []*talks.RedLines
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		a, err = findRedLines(ctx, tx, `talk_id = $1 AND version = (SELECT MAX(version) FROM red_lines q
			WHERE q.talk_id = r.talk_id AND q.user_id = r.user_id) ORDER BY user_id`, talkID)
		return err
	})
	return a, err
}

func findRedLines(ctx context.Context, q querier, where string, args ...any) ([]*talks.RedLines, error) {
	rows, err := q.QueryContext(ctx, `SELECT talk_id, user_id, version, body, salt, digest, created_by, created_at
		FROM red_lines r WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("find red lines: %w", err)
	}
	defer rows.Close()
	var a []*talks.RedLines
	for rows.Next() {
		var r talks.RedLines
		var body, created string
		var digest []byte
		if err := rows.Scan(&r.TalkID, &r.UserID, &r.Version, &body, &r.Salt, &digest, &r.CreatedBy, &created); err != nil {
			return nil, err
		}
		copy(r.Digest[:], digest)
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if err := r.SetBody([]byte(body)); err != nil {
			return nil, err
		}
		a = append(a, &r)
	}
	return a, rows.Err()
}

// Ratify implements talks.Store.
func (s *Store) Ratify(ctx context.Context, talkID, userID int64, d talks.Decision, comment string, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		var status, decision string
		err := tx.QueryRowContext(ctx, `SELECT t.status, s.decision FROM talks t JOIN stakeholders s ON s.talk_id = t.id
			WHERE t.id = $1 AND s.user_id = $2`, talkID, userID).Scan(&status, &decision)
		if err == sql.ErrNoRows {
			return talks.Errorf(talks.EINVALID, "The user is not a stakeholder of the talk.")
		} else if err != nil {
			return fmt.Errorf("find stakeholder: %w", err)
		}
		if status != string(talks.StatusAgreed) {
			return talks.Errorf(talks.ECONFLICT, "The talk is %s; only an agreed text is ratified.", status)
		} else if decision != "" {
			return talks.Errorf(talks.ECONFLICT, "The stakeholder has already answered.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stakeholders SET decision = $1, comment = $2, decided_at = $3 WHERE talk_id = $4 AND user_id = $5`,
			string(d), comment, formatTime(st.Time), talkID, userID); err != nil {
			return fmt.Errorf("update stakeholder: %w", err)
		}
		if err := record(ctx, tx, talkID, 0, talks.EventRatificationGiven, st, talks.RatificationGiven{UserID: userID, Decision: d, Comment: comment}); err != nil {
			return err
		}
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM stakeholders WHERE talk_id = $1 AND decision <> 'ratify'`, talkID).Scan(&pending); err != nil {
			return fmt.Errorf("count ratifications: %w", err)
		}
		if pending > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE talks SET status = 'ratified' WHERE id = $1`, talkID); err != nil {
			return fmt.Errorf("update talk: %w", err)
		}
		return record(ctx, tx, talkID, 0, talks.EventTalkRatified, st, struct{}{})
	})
}

// FindStakeholderTalks implements talks.Store.
func (s *Store) FindStakeholderTalks(ctx context.Context, userID int64) ([]*talks.Talk, error) {
	var a []*talks.Talk
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		a, err = scanTalks(ctx, tx, `SELECT id, title, description, space, status, convener_id, created_at FROM talks
			WHERE id IN (SELECT talk_id FROM stakeholders WHERE user_id = $1) ORDER BY id`, userID)
		return err
	})
	return a, err
}

// ReopenTalk implements talks.Store.
func (s *Store) ReopenTalk(ctx context.Context, talkID int64, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM talks t JOIN agreements a ON a.talk_id = t.id
			WHERE t.id = $1 AND t.status IN ('agreed', 'closed')`, talkID); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.ECONFLICT, "Only a talk with an agreement opens again.")
		} else if err != nil {
			return fmt.Errorf("find agreement: %w", err)
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM stakeholders WHERE talk_id = $1 AND decision = 'reject'`, talkID); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.ECONFLICT, "No stakeholder has rejected the agreement; it stands.")
		} else if err != nil {
			return fmt.Errorf("find rejection: %w", err)
		}
		// Published terms stay published: as Disclosure.Published, at the
		// write's time. A consent is a party's, to the current plan.
		var embargo sql.NullString
		var consents, parties int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT embargo FROM disclosures WHERE talk_id = $1),
			(SELECT COUNT(*) FROM disclosure_consents WHERE talk_id = $1), (SELECT COUNT(*) FROM parties WHERE talk_id = $1)`,
			talkID).Scan(&embargo, &consents, &parties); err != nil {
			return fmt.Errorf("find disclosure: %w", err)
		}
		if embargo.Valid && parties > 0 && consents == parties {
			at, err := parseTime(embargo.String)
			if err != nil {
				return err
			} else if !st.Time.Before(at) {
				return talks.ErrTermsPublic
			}
		}
		type accepted struct{ id, track int64 }
		var as []accepted
		rows, err := tx.QueryContext(ctx, `SELECT a.id, p.track_id FROM answers a JOIN proposals p ON p.id = a.proposal_id
			WHERE a.talk_id = $1 AND a.kind = 'accept' AND a.withdrawn_at IS NULL ORDER BY a.id`, talkID)
		if err != nil {
			return fmt.Errorf("find acceptances: %w", err)
		}
		for rows.Next() {
			var a accepted
			if err := rows.Scan(&a.id, &a.track); err != nil {
				rows.Close()
				return fmt.Errorf("find acceptances: %w", err)
			}
			as = append(as, a)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("find acceptances: %w", err)
		}
		for _, a := range as {
			if _, err := tx.ExecContext(ctx, `UPDATE answers SET withdrawn_at = $1 WHERE id = $2`, formatTime(st.Time), a.id); err != nil {
				return fmt.Errorf("withdraw answer: %w", err)
			}
			if err := record(ctx, tx, talkID, a.track, talks.EventAnswerWithdrawn, st, talks.AnswerWithdrawn{AnswerID: a.id}); err != nil {
				return err
			}
		}
		tx.forgetAgreed(talkID)
		for _, q := range []string{
			`DELETE FROM agreements WHERE talk_id = $1`,
			`DELETE FROM handoffs WHERE talk_id = $1`,
			`DELETE FROM disclosure_consents WHERE talk_id = $1`,
			`DELETE FROM disclosures WHERE talk_id = $1`,
			`UPDATE stakeholders SET decision = '', comment = '', decided_at = NULL WHERE talk_id = $1`,
			`UPDATE talks SET status = 'open' WHERE id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, talkID); err != nil {
				return fmt.Errorf("reopen talk: %w", err)
			}
		}
		return record(ctx, tx, talkID, 0, talks.EventTalkReopened, st, struct{}{})
	})
}
