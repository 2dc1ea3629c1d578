package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

// CreateSignerKey implements talks.Store.
func (s *Store) CreateSignerKey(ctx context.Context, k *talks.SignerKey, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, k.TalkID); err != nil {
			return err
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signer_keys WHERE talk_id = $1 AND signer = $2)`, k.TalkID, k.Signer).Scan(&taken); err != nil {
			return fmt.Errorf("find signer key: %w", err)
		} else if taken {
			return talks.Errorf(talks.ECONFLICT, "The signer has a key already.")
		}
		if err := tx.recordWith(ctx, 0, talks.EventMemberKey, st, talks.MemberKey{Signer: k.Signer, Key: k.Public, Holder: talks.KeyHolderServer},
			`INSERT INTO signer_keys (talk_id, signer, public_key, private_key, holder, created_at) VALUES ($1, $16, $17, $18, 'server', $3)`,
			k.Signer, []byte(k.Public), []byte(k.Private)); err != nil {
			return err
		}
		k.Holder, k.CreatedAt = talks.KeyHolderServer, at
		return nil
	})
}

// FindSignerKey implements talks.Store. It is one statement, without a
// read transaction of its own.
func (s *Store) FindSignerKey(ctx context.Context, talkID int64, signer string) (*talks.SignerKey, error) {
	k, err := scanSignerKey(s.pool.QueryRow(ctx, selectSignerKeys+` AND signer = $2`,
		talkID, signer), talkID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Key not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find signer key: %w", err))
	}
	return k, nil
}

// FindSignerKeys implements talks.Store. It is one statement, without a
// read transaction of its own.
func (s *Store) FindSignerKeys(ctx context.Context, talkID int64) ([]*talks.SignerKey, error) {
	rows, err := s.pool.Query(ctx, selectSignerKeys+` ORDER BY signer`, talkID)
	if err != nil {
		return nil, translate(fmt.Errorf("find signer keys: %w", err))
	}
	ks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*talks.SignerKey, error) { return scanSignerKey(row, talkID) })
	if err != nil {
		return nil, translate(fmt.Errorf("find signer keys: %w", err))
	}
	return ks, nil
}

// selectSignerKeys selects the keys of talk $1 in the columns that
// scanSignerKey scans.
const selectSignerKeys = `SELECT signer, public_key, private_key, holder, created_at FROM signer_keys WHERE talk_id = $1`

// scanSignerKey scans a key of talk talkID from row: signer, public_key,
// private_key, holder, created_at.
func scanSignerKey(row pgx.Row, talkID int64) (*talks.SignerKey, error) {
	k := &talks.SignerKey{TalkID: talkID}
	var pub, priv []byte
	if err := row.Scan(&k.Signer, &pub, &priv, &k.Holder, &k.CreatedAt); err != nil {
		return nil, err
	}
	k.Public = pub
	if priv != nil {
		k.Private = priv
	}
	k.CreatedAt = talks.Timestamp(k.CreatedAt)
	return k, nil
}

// ReleaseSignerKey implements talks.Store.
func (s *Store) ReleaseSignerKey(ctx context.Context, talkID int64, signer string, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var pub []byte
		var holder string
		err := tx.QueryRow(ctx, `SELECT public_key, holder FROM signer_keys WHERE talk_id = $1 AND signer = $2`, talkID, signer).Scan(&pub, &holder)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Key not found.")
		} else if err != nil {
			return fmt.Errorf("find signer key: %w", err)
		} else if holder != talks.KeyHolderServer {
			return talks.Errorf(talks.ECONFLICT, "The server no longer holds this key.")
		}
		return tx.recordWith(ctx, 0, talks.EventMemberKey, st, talks.MemberKey{Signer: signer, Key: pub, Holder: talks.KeyHolderClient},
			`UPDATE signer_keys SET private_key = NULL, holder = 'client' WHERE talk_id = $1 AND signer = $16`, signer)
	})
}

// RegisterSignerKey implements talks.Store.
func (s *Store) RegisterSignerKey(ctx context.Context, k *talks.SignerKey, proof *talks.Signed, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, k.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var signer string
		err := tx.QueryRow(ctx, `SELECT signer FROM signer_keys WHERE talk_id = $1 AND public_key = $2`, k.TalkID, []byte(k.Public)).Scan(&signer)
		switch {
		case err == nil && signer == k.Signer:
			return talks.ErrKeyYours
		case err == nil:
			return talks.ErrKeyTaken
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("find signer key: %w", err)
		}
		if err := tx.insertSignature(ctx, proof); err != nil {
			return err
		}
		if err := tx.recordWith(ctx, 0, talks.EventMemberKey, st,
			talks.MemberKey{Signer: k.Signer, Key: k.Public, Holder: talks.KeyHolderClient, Signed: proof},
			`INSERT INTO signer_keys (talk_id, signer, public_key, private_key, holder, created_at) VALUES ($1, $16, $17, NULL, 'client', $3)
			ON CONFLICT (talk_id, signer) DO UPDATE SET public_key = excluded.public_key, private_key = NULL, holder = 'client', created_at = excluded.created_at`,
			k.Signer, []byte(k.Public)); err != nil {
			return err
		}
		k.Private, k.Holder, k.CreatedAt = nil, talks.KeyHolderClient, at
		return nil
	})
}

// useSignature records sg, a client's signature, in the locked talk,
// refusing one recorded before (a replay), and one checked under a key
// that is no longer its signer's (a key registered meanwhile): one round
// trip either way.
func (tx *txn) useSignature(ctx context.Context, sg *talks.Signed) error {
	key := sg.CheckedKey()
	if key == nil {
		return tx.insertSignature(ctx, sg)
	}
	var inserted, current bool
	err := tx.QueryRow(ctx, `WITH k AS (SELECT 1 FROM signer_keys WHERE talk_id = $2 AND signer = $3 AND public_key = $4),
		i AS (INSERT INTO client_signatures (sig, talk_id) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM k) ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM i), EXISTS (SELECT 1 FROM k)`, sg.Sig, tx.talkID, sg.Signer, []byte(key)).Scan(&inserted, &current)
	switch {
	case err != nil:
		return fmt.Errorf("insert signature: %w", err)
	case !current:
		return talks.ErrKeyChanged
	case !inserted:
		return talks.ErrSignatureUsed
	}
	return nil
}

// insertSignature records sg's signature in the locked talk, refusing one
// recorded before.
func (tx *txn) insertSignature(ctx context.Context, sg *talks.Signed) error {
	tag, err := tx.Exec(ctx, `INSERT INTO client_signatures (sig, talk_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sg.Sig, tx.talkID)
	if err != nil {
		return fmt.Errorf("insert signature: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return talks.ErrSignatureUsed
	}
	return nil
}

// serverHoldsKey returns talks.ErrKeyReleased unless the server still
// holds signer's private key in the locked talk: a signature the server
// made must not be recorded after the signer took its key (a release
// locks the talk too).
func (tx *txn) serverHoldsKey(ctx context.Context, signer string) error {
	var holder string
	err := tx.QueryRow(ctx, `SELECT holder FROM signer_keys WHERE talk_id = $1 AND signer = $2`, tx.talkID, signer).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && holder != talks.KeyHolderServer) {
		return talks.ErrKeyReleased
	} else if err != nil {
		return fmt.Errorf("find signer key: %w", err)
	}
	return nil
}
