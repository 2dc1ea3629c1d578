package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

var errRatified = talks.Errorf(talks.ECONFLICT, "The talk is ratified: every stakeholder has ratified it, and no stakeholder joins now.")

// AddStakeholder implements talks.Store.
func (s *Store) AddStakeholder(ctx context.Context, st *talks.Stakeholder, stamp talks.Stamp) error {
	at := talks.Timestamp(stamp.Time)
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, st.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, stamp); err != nil {
			return err
		}
		// Under the talk's lock, which Ratify takes too: no stakeholder
		// joins a talk that the last ratification has just ratified.
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM talks WHERE id = $1`, st.TalkID).Scan(&status); err != nil {
			return fmt.Errorf("find talk: %w", err)
		} else if status == string(talks.StatusRatified) {
			return errRatified
		}
		var user, taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $2),
			EXISTS (SELECT 1 FROM members WHERE talk_id = $1 AND user_id = $2) OR EXISTS (SELECT 1 FROM stakeholders WHERE talk_id = $1 AND user_id = $2)`,
			st.TalkID, st.UserID).Scan(&user, &taken); err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		if !user {
			return talks.Errorf(talks.EINVALID, "User not found.")
		} else if taken {
			return talks.Errorf(talks.ECONFLICT, "The user is already a member or a stakeholder of the talk.")
		}
		if err := tx.recordWith(ctx, 0, talks.EventStakeholderAdded, stamp, talks.StakeholderAdded{UserID: st.UserID},
			`INSERT INTO stakeholders (talk_id, user_id, added_at) VALUES ($1, $16, $3)`, st.UserID); err != nil {
			return err
		}
		st.AddedAt = at
		return nil
	})
}

// FindStakeholders implements talks.Store.
func (s *Store) FindStakeholders(ctx context.Context, talkID int64) ([]*talks.Stakeholder, error) {
	var a []*talks.Stakeholder
	err := s.view(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT talk_id, user_id, added_at, decision, comment, decided_at
			FROM stakeholders WHERE talk_id = $1 ORDER BY user_id`, talkID)
		if err != nil {
			return fmt.Errorf("find stakeholders: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var st talks.Stakeholder
			var decision string
			var decided *time.Time
			if err := rows.Scan(&st.TalkID, &st.UserID, &st.AddedAt, &decision, &st.Comment, &decided); err != nil {
				return err
			}
			st.Decision, st.AddedAt = talks.Decision(decision), talks.Timestamp(st.AddedAt)
			if decided != nil {
				st.DecidedAt = talks.Timestamp(*decided)
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
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, r.TalkID); err != nil {
			return err
		}
		var version int64
		err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT MAX(version) FROM red_lines WHERE talk_id = $1 AND user_id = $2), 0) + 1
			FROM stakeholders WHERE talk_id = $1 AND user_id = $2`, r.TalkID, r.UserID).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.EINVALID, "The user is not a stakeholder of the talk.")
		} else if err != nil {
			return fmt.Errorf("next red lines version: %w", err)
		}
		if err := tx.recordWith(ctx, 0, talks.EventRedLinesSaved, st, talks.RedLinesSaved{
			UserID: r.UserID, Version: version, Digest: talks.DigestHex(r.Digest)},
			`INSERT INTO red_lines (talk_id, user_id, version, body, salt, digest, created_by, created_at)
			VALUES ($1, $16, $17, $18, $19, $20, $4, $3)`, r.UserID, version, string(body), r.Salt, r.Digest[:]); err != nil {
			return err
		}
		r.Version, r.CreatedBy, r.CreatedAt = version, st.ActorID, at
		return nil
	})
}

// FindRedLines implements talks.Store.
func (s *Store) FindRedLines(ctx context.Context, talkID, userID int64) ([]*talks.RedLines, error) {
	a, err := findRedLines(ctx, s.pool, `talk_id = $1 AND user_id = $2 ORDER BY version`, talkID, userID)
	return a, translate(err)
}

// FindLatestRedLines implements talks.Store.
func (s *Store) FindLatestRedLines(ctx context.Context, talkID int64) ([]*talks.RedLines, error) {
	a, err := findRedLines(ctx, s.pool, `talk_id = $1 AND version = (SELECT MAX(version) FROM red_lines q
			WHERE q.talk_id = r.talk_id AND q.user_id = r.user_id) ORDER BY user_id`, talkID)
	return a, translate(err)
}

func findRedLines(ctx context.Context, q querier, where string, args ...any) ([]*talks.RedLines, error) {
	rows, err := q.Query(ctx, `SELECT talk_id, user_id, version, body, salt, digest, created_by, created_at
		FROM red_lines r WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("find red lines: %w", err)
	}
	defer rows.Close()
	var a []*talks.RedLines
	for rows.Next() {
		var r talks.RedLines
		var body string
		var digest []byte
		if err := rows.Scan(&r.TalkID, &r.UserID, &r.Version, &body, &r.Salt, &digest, &r.CreatedBy, &r.CreatedAt); err != nil {
			return nil, err
		}
		copy(r.Digest[:], digest)
		r.CreatedAt = talks.Timestamp(r.CreatedAt)
		if err := r.SetBody([]byte(body)); err != nil {
			return nil, err
		}
		a = append(a, &r)
	}
	return a, rows.Err()
}

// Ratify implements talks.Store.
func (s *Store) Ratify(ctx context.Context, talkID, userID int64, d talks.Decision, comment string, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		}
		var status, decision string
		err := tx.QueryRow(ctx, `SELECT t.status, s.decision FROM talks t JOIN stakeholders s ON s.talk_id = t.id
			WHERE t.id = $1 AND s.user_id = $2`, talkID, userID).Scan(&status, &decision)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.EINVALID, "The user is not a stakeholder of the talk.")
		} else if err != nil {
			return fmt.Errorf("find stakeholder: %w", err)
		}
		if status != string(talks.StatusAgreed) {
			return talks.Errorf(talks.ECONFLICT, "The talk is %s; only an agreed text is ratified.", status)
		} else if decision != "" {
			return talks.Errorf(talks.ECONFLICT, "The stakeholder has already answered.")
		}
		if _, err := tx.Exec(ctx, `UPDATE stakeholders SET decision = $1, comment = $2, decided_at = $3 WHERE talk_id = $4 AND user_id = $5`,
			string(d), comment, talks.Timestamp(st.Time), talkID, userID); err != nil {
			return fmt.Errorf("update stakeholder: %w", err)
		}
		if err := tx.record(ctx, 0, talks.EventRatificationGiven, st, talks.RatificationGiven{UserID: userID, Decision: d, Comment: comment}); err != nil {
			return err
		}
		var pending int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM stakeholders WHERE talk_id = $1 AND decision <> 'ratify'`, talkID).Scan(&pending); err != nil {
			return fmt.Errorf("count ratifications: %w", err)
		}
		if pending > 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE talks SET status = 'ratified' WHERE id = $1`, talkID); err != nil {
			return fmt.Errorf("update talk: %w", err)
		}
		return tx.record(ctx, 0, talks.EventTalkRatified, st, struct{}{})
	})
}

// FindStakeholderTalks implements talks.Store.
func (s *Store) FindStakeholderTalks(ctx context.Context, userID int64) ([]*talks.Talk, error) {
	var a []*talks.Talk
	err := s.view(ctx, func(tx pgx.Tx) error {
		var err error
		a, err = scanTalks(ctx, tx, `SELECT id, title, description, space, status, convener_id, created_at FROM talks
			WHERE id IN (SELECT talk_id FROM stakeholders WHERE user_id = $1) ORDER BY id`, userID)
		return err
	})
	return a, err
}

// ReopenTalk implements talks.Store.
func (s *Store) ReopenTalk(ctx context.Context, talkID int64, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var agreed, rejected bool
		if err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM talks t JOIN agreements a ON a.talk_id = t.id WHERE t.id = $1 AND t.status IN ('agreed', 'closed')),
			EXISTS (SELECT 1 FROM stakeholders WHERE talk_id = $1 AND decision = 'reject')`, talkID).Scan(&agreed, &rejected); err != nil {
			return fmt.Errorf("find agreement: %w", err)
		} else if !agreed {
			return talks.Errorf(talks.ECONFLICT, "Only a talk with an agreement opens again.")
		} else if !rejected {
			return talks.Errorf(talks.ECONFLICT, "No stakeholder has rejected the agreement; it stands.")
		}
		// Published terms stay published: as Disclosure.Published, at the
		// write's time. A consent is a party's, to the current plan.
		var embargo *time.Time
		var consents, parties int
		if err := tx.QueryRow(ctx, `SELECT (SELECT embargo FROM disclosures WHERE talk_id = $1),
			(SELECT COUNT(*) FROM disclosure_consents WHERE talk_id = $1), (SELECT COUNT(*) FROM parties WHERE talk_id = $1)`,
			talkID).Scan(&embargo, &consents, &parties); err != nil {
			return fmt.Errorf("find disclosure: %w", err)
		}
		if embargo != nil && parties > 0 && consents == parties && !st.Time.Before(*embargo) {
			return talks.ErrTermsPublic
		}
		type accepted struct{ id, track int64 }
		rows, err := tx.Query(ctx, `UPDATE answers a SET withdrawn_at = $2 FROM proposals p
			WHERE p.id = a.proposal_id AND a.talk_id = $1 AND a.kind = 'accept' AND a.withdrawn_at IS NULL
			RETURNING a.id, p.track_id`, talkID, talks.Timestamp(st.Time))
		if err != nil {
			return fmt.Errorf("withdraw acceptances: %w", err)
		}
		as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (accepted, error) {
			var a accepted
			return a, row.Scan(&a.id, &a.track)
		})
		if err != nil {
			return fmt.Errorf("withdraw acceptances: %w", err)
		}
		slices.SortFunc(as, func(a, b accepted) int { return cmp.Compare(a.id, b.id) })
		for _, a := range as {
			if err := tx.record(ctx, a.track, talks.EventAnswerWithdrawn, st, talks.AnswerWithdrawn{AnswerID: a.id}); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM agreements WHERE talk_id = $1`,
			`DELETE FROM handoffs WHERE talk_id = $1`,
			`DELETE FROM disclosure_consents WHERE talk_id = $1`,
			`DELETE FROM disclosures WHERE talk_id = $1`,
			`UPDATE stakeholders SET decision = '', comment = '', decided_at = NULL WHERE talk_id = $1`,
			`UPDATE talks SET status = 'open' WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, talkID); err != nil {
				return fmt.Errorf("reopen talk: %w", err)
			}
		}
		return tx.record(ctx, 0, talks.EventTalkReopened, st, struct{}{})
	})
}
