package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

// SavePreferences implements talks.Store.
func (s *Store) SavePreferences(ctx context.Context, p *talks.Preferences, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	body := p.Body()
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, p.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var version int64
		err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT MAX(version) FROM preferences WHERE party_id = $2), 0) + 1
			FROM parties WHERE talk_id = $1 AND id = $2`, p.TalkID, p.PartyID).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.EINVALID, "The party is not one of the talk's.")
		} else if err != nil {
			return fmt.Errorf("next preferences version: %w", err)
		}
		if err := tx.recordWith(ctx, 0, talks.EventPreferencesSaved, st, talks.PreferencesSaved{
			PartyID: p.PartyID, Version: version, Digest: talks.DigestHex(p.Digest)},
			`INSERT INTO preferences (talk_id, party_id, version, body, salt, digest, created_by, created_at)
			VALUES ($1, $16, $17, $18, $19, $20, $4, $3)`, p.PartyID, version, string(body), p.Salt, p.Digest[:]); err != nil {
			return err
		}
		p.Version, p.CreatedBy, p.CreatedAt = version, st.ActorID, at
		return nil
	})
}

// FindPreferences implements talks.Store.
func (s *Store) FindPreferences(ctx context.Context, talkID, partyID int64) ([]*talks.Preferences, error) {
	a, err := findPreferences(ctx, s.pool, `talk_id = $1 AND party_id = $2 ORDER BY version`, talkID, partyID)
	return a, translate(err)
}

// FindLatestPreferences implements talks.Store.
func (s *Store) FindLatestPreferences(ctx context.Context, talkID int64) ([]*talks.Preferences, error) {
	a, err := findPreferences(ctx, s.pool, `talk_id = $1 AND version = (SELECT MAX(version) FROM preferences q WHERE q.party_id = p.party_id)
			ORDER BY party_id`, talkID)
	return a, translate(err)
}

func findPreferences(ctx context.Context, q querier, where string, args ...any) ([]*talks.Preferences, error) {
	rows, err := q.Query(ctx, `SELECT talk_id, party_id, version, body, salt, digest, created_by, created_at
		FROM preferences p WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("find preferences: %w", err)
	}
	defer rows.Close()
	var a []*talks.Preferences
	for rows.Next() {
		var p talks.Preferences
		var body string
		var digest []byte
		if err := rows.Scan(&p.TalkID, &p.PartyID, &p.Version, &body, &p.Salt, &digest, &p.CreatedBy, &p.CreatedAt); err != nil {
			return nil, err
		}
		copy(p.Digest[:], digest)
		p.CreatedAt = talks.Timestamp(p.CreatedAt)
		if err := p.SetBody([]byte(body)); err != nil {
			return nil, err
		}
		a = append(a, &p)
	}
	return a, rows.Err()
}
