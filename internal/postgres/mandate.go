package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

// SaveMandate implements talks.Store.
func (s *Store) SaveMandate(ctx context.Context, m *talks.Mandate, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	body := m.Body()
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, m.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var version int64
		err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT version FROM mandates WHERE talk_id = $1 AND envoy_id = $3), 0) + 1
			FROM members WHERE talk_id = $1 AND party_id = $2 AND id = $3 AND role = 'envoy'`, m.TalkID, m.PartyID, m.EnvoyID).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.EINVALID, "The member is not an envoy of the party.")
		} else if err != nil {
			return fmt.Errorf("next mandate version: %w", err)
		}
		if err := tx.recordWith(ctx, 0, talks.EventMandateSaved, st, talks.MandateSaved{
			PartyID: m.PartyID, EnvoyID: m.EnvoyID, Version: version, Digest: talks.DigestHex(m.Digest)},
			`INSERT INTO mandates (talk_id, party_id, envoy_id, version, body, salt, digest, updated_by, updated_at)
			VALUES ($1, $16, $17, $18, $19, $20, $21, $4, $3)
			ON CONFLICT (talk_id, envoy_id) DO UPDATE SET version = excluded.version, body = excluded.body, salt = excluded.salt,
				digest = excluded.digest, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			m.PartyID, m.EnvoyID, version, string(body), m.Salt, m.Digest[:]); err != nil {
			return err
		}
		m.Version, m.UpdatedBy, m.UpdatedAt = version, st.ActorID, at
		return nil
	})
}

// FindMandates implements talks.Store. It is one statement, which sees
// one snapshot, so it needs no transaction of its own (a write's mandate
// check reads it before every counter, offer or acceptance of an envoy).
func (s *Store) FindMandates(ctx context.Context, talkID, partyID int64) ([]*talks.Mandate, error) {
	rows, err := s.pool.Query(ctx, `SELECT talk_id, party_id, envoy_id, version, body, salt, digest, updated_by, updated_at
		FROM mandates WHERE talk_id = $1 AND party_id = $2 ORDER BY envoy_id`, talkID, partyID)
	if err != nil {
		return nil, translate(fmt.Errorf("find mandates: %w", err))
	}
	defer rows.Close()
	var a []*talks.Mandate
	for rows.Next() {
		var m talks.Mandate
		var body string
		var digest []byte
		if err := rows.Scan(&m.TalkID, &m.PartyID, &m.EnvoyID, &m.Version, &body, &m.Salt, &digest, &m.UpdatedBy, &m.UpdatedAt); err != nil {
			return nil, translate(err)
		}
		copy(m.Digest[:], digest)
		m.UpdatedAt = talks.Timestamp(m.UpdatedAt)
		if err := m.SetBody([]byte(body)); err != nil {
			return nil, translate(err)
		}
		a = append(a, &m)
	}
	return a, translate(rows.Err())
}

// checkMandateRead refuses a write whose mandate check read a mandate or
// preferences that have changed since (talks.Stamp.Mandate). Call it with
// the talk locked: a mandate or preferences save locks the talk too.
func (tx *txn) checkMandateRead(ctx context.Context, st talks.Stamp) error {
	r := st.Mandate
	if r == nil {
		return nil
	}
	var mandate, prefs int64
	if err := tx.QueryRow(ctx, `SELECT
		COALESCE((SELECT version FROM mandates WHERE talk_id = $1 AND envoy_id = $2), 0),
		COALESCE((SELECT MAX(version) FROM preferences WHERE talk_id = $1 AND party_id = $3), 0)`,
		r.TalkID, r.EnvoyID, r.PartyID).Scan(&mandate, &prefs); err != nil {
		return fmt.Errorf("read mandate version: %w", err)
	}
	return talks.CheckMandateRead(r, mandate, prefs)
}
