package sqlite

import (
	"context"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// SavePreferences implements talks.Store.
func (s *Store) SavePreferences(ctx context.Context, p *talks.Preferences, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	body := p.Body()
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, p.TalkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, p.TalkID); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Party not found.", `SELECT 1 FROM parties WHERE talk_id = $1 AND id = $2`, p.TalkID, p.PartyID); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.EINVALID, "The party is not one of the talk's.")
		} else if err != nil {
			return err
		}
		var version int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM preferences WHERE party_id = $1`, p.PartyID).Scan(&version); err != nil {
			return fmt.Errorf("next preferences version: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO preferences (talk_id, party_id, version, body, salt, digest, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.TalkID, p.PartyID, version, string(body), p.Salt, p.Digest[:], st.ActorID, formatTime(at)); err != nil {
			return fmt.Errorf("insert preferences: %w", err)
		}
		if err := record(ctx, tx, p.TalkID, 0, talks.EventPreferencesSaved, st, talks.PreferencesSaved{
			PartyID: p.PartyID, Version: version, Digest: talks.DigestHex(p.Digest)}); err != nil {
			return err
		}
		p.Version, p.CreatedBy, p.CreatedAt = version, st.ActorID, at
		return nil
	})
}

// FindPreferences implements talks.Store.
func (s *Store) FindPreferences(ctx context.Context, talkID, partyID int64) ([]*talks.Preferences, error) {
	var a []*talks.Preferences
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		a, err = findPreferences(ctx, tx, `talk_id = $1 AND party_id = $2 ORDER BY version`, talkID, partyID)
		return err
	})
	return a, err
}

// FindLatestPreferences implements talks.Store.
func (s *Store) FindLatestPreferences(ctx context.Context, talkID int64) ([]*talks.Preferences, error) {
	var a []*talks.Preferences
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		a, err = findPreferences(ctx, tx, `talk_id = $1 AND version = (SELECT MAX(version) FROM preferences q WHERE q.party_id = p.party_id)
			ORDER BY party_id`, talkID)
		return err
	})
	return a, err
}

func findPreferences(ctx context.Context, q querier, where string, args ...any) ([]*talks.Preferences, error) {
	rows, err := q.QueryContext(ctx, `SELECT talk_id, party_id, version, body, salt, digest, created_by, created_at
		FROM preferences p WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("find preferences: %w", err)
	}
	defer rows.Close()
	var a []*talks.Preferences
	for rows.Next() {
		var p talks.Preferences
		var body, created string
		var digest []byte
		if err := rows.Scan(&p.TalkID, &p.PartyID, &p.Version, &body, &p.Salt, &digest, &p.CreatedBy, &created); err != nil {
			return nil, err
		}
		copy(p.Digest[:], digest)
		if p.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if err := p.SetBody([]byte(body)); err != nil {
			return nil, err
		}
		a = append(a, &p)
	}
	return a, rows.Err()
}
