package sqlite

import (
	"context"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// SaveMandate implements talks.Store.
func (s *Store) SaveMandate(ctx context.Context, m *talks.Mandate, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	body := m.Body()
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, m.TalkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, m.TalkID); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Envoy not found.", `SELECT 1 FROM members WHERE talk_id = $1 AND party_id = $2 AND id = $3 AND role = 'envoy'`,
			m.TalkID, m.PartyID, m.EnvoyID); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.EINVALID, "The member is not an envoy of the party.")
		} else if err != nil {
			return err
		}
		var version int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM mandates WHERE talk_id = $1 AND envoy_id = $2`,
			m.TalkID, m.EnvoyID).Scan(&version); err != nil {
			return fmt.Errorf("next mandate version: %w", err)
		}
		tx.forgetMandate(m.TalkID, m.EnvoyID)
		if _, err := tx.ExecContext(ctx, `INSERT INTO mandates (talk_id, party_id, envoy_id, version, body, salt, digest, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (talk_id, envoy_id) DO UPDATE SET version = excluded.version, body = excluded.body, salt = excluded.salt,
				digest = excluded.digest, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			m.TalkID, m.PartyID, m.EnvoyID, version, string(body), m.Salt, m.Digest[:], st.ActorID, formatTime(at)); err != nil {
			return fmt.Errorf("save mandate: %w", err)
		}
		if err := record(ctx, tx, m.TalkID, 0, talks.EventMandateSaved, st, talks.MandateSaved{
			PartyID: m.PartyID, EnvoyID: m.EnvoyID, Version: version, Digest: talks.DigestHex(m.Digest)}); err != nil {
			return err
		}
		m.Version, m.UpdatedBy, m.UpdatedAt = version, st.ActorID, at
		return nil
	})
}

// FindMandates implements talks.Store.
func (s *Store) FindMandates(ctx context.Context, talkID, partyID int64) ([]*talks.Mandate, error) {
	var a []*talks.Mandate
	err := s.view(ctx, func(tx *readTx) error {
		rows, err := tx.QueryContext(ctx, `SELECT talk_id, party_id, envoy_id, version, body, salt, digest, updated_by, updated_at
			FROM mandates WHERE talk_id = $1 AND party_id = $2 ORDER BY envoy_id`, talkID, partyID)
		if err != nil {
			return fmt.Errorf("find mandates: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m talks.Mandate
			var body, updated string
			var digest []byte
			if err := rows.Scan(&m.TalkID, &m.PartyID, &m.EnvoyID, &m.Version, &body, &m.Salt, &digest, &m.UpdatedBy, &updated); err != nil {
				return err
			}
			copy(m.Digest[:], digest)
			if m.UpdatedAt, err = parseTime(updated); err != nil {
				return err
			}
			if err := m.SetBody([]byte(body)); err != nil {
				return err
			}
			a = append(a, &m)
		}
		return rows.Err()
	})
	return a, err
}

// checkMandateRead refuses a write whose mandate check read a mandate or
// preferences that have changed since (talks.Stamp.Mandate).
func checkMandateRead(ctx context.Context, tx *txn, st talks.Stamp) error {
	r := st.Mandate
	if r == nil {
		return nil
	}
	var mandate, prefs int64
	if r.Preferences == 0 {
		// The preferences do not matter (talks.CheckMandateRead), and a
		// query with MAX is prepared again whenever its arguments change.
		k := [2]int64{r.TalkID, r.EnvoyID}
		mandate, ok := lookup(tx.learnt.mandates, tx.known.mandates, k)
		if !ok {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT version FROM mandates WHERE talk_id = $1 AND envoy_id = $2), 0)`,
				r.TalkID, r.EnvoyID).Scan(&mandate); err != nil {
				return fmt.Errorf("read mandate version: %w", err)
			}
			tx.learnt.mandates[k] = mandate
		}
		return talks.CheckMandateRead(r, mandate, 0)
	}
	if err := tx.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT version FROM mandates WHERE talk_id = $1 AND envoy_id = $2), 0),
		COALESCE((SELECT MAX(version) FROM preferences WHERE talk_id = $1 AND party_id = $3), 0)`,
		r.TalkID, r.EnvoyID, r.PartyID).Scan(&mandate, &prefs); err != nil {
		return fmt.Errorf("read mandate version: %w", err)
	}
	return talks.CheckMandateRead(r, mandate, prefs)
}
