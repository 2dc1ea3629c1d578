package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// CreateSignerKey implements talks.Store.
func (s *Store) CreateSignerKey(ctx context.Context, k *talks.SignerKey, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, k.TalkID); err != nil {
			return err
		}
		tx.forgetHolder(k.TalkID, k.Signer)
		res, err := tx.ExecContext(ctx, `INSERT INTO signer_keys (talk_id, signer, public_key, private_key, holder, created_at)
			VALUES ($1, $2, $3, $4, 'server', $5) ON CONFLICT DO NOTHING`,
			k.TalkID, k.Signer, []byte(k.Public), []byte(k.Private), formatTime(at))
		if err != nil {
			return fmt.Errorf("insert signer key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return talks.Errorf(talks.ECONFLICT, "The signer has a key already.")
		}
		if err := record(ctx, tx, k.TalkID, 0, talks.EventMemberKey, st, talks.MemberKey{Signer: k.Signer, Key: k.Public, Holder: talks.KeyHolderServer}); err != nil {
			return err
		}
		k.Holder, k.CreatedAt = talks.KeyHolderServer, at
		return nil
	})
}

// FindSignerKey implements talks.Store.
func (s *Store) FindSignerKey(ctx context.Context, talkID int64, signer string) (*talks.SignerKey, error) {
	var k *talks.SignerKey
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		k, err = scanSignerKey(tx.QueryRowContext(ctx, selectSignerKeys+` AND signer = $2`,
			talkID, signer), talkID)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Key not found.")
		} else if err != nil {
			return fmt.Errorf("find signer key: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return k, nil
}

// FindSignerKeys implements talks.Store.
func (s *Store) FindSignerKeys(ctx context.Context, talkID int64) ([]*talks.SignerKey, error) {
	var ks []*talks.SignerKey
	err := s.view(ctx, func(tx *readTx) error {
		rows, err := tx.QueryContext(ctx, selectSignerKeys+` ORDER BY signer`, talkID)
		if err != nil {
			return fmt.Errorf("find signer keys: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanSignerKey(rows, talkID)
			if err != nil {
				return fmt.Errorf("find signer keys: %w", err)
			}
			ks = append(ks, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, translate(err)
	}
	return ks, nil
}

// selectSignerKeys selects the keys of talk $1 in the columns that
// scanSignerKey scans.
const selectSignerKeys = `SELECT signer, public_key, private_key, holder, created_at FROM signer_keys WHERE talk_id = $1`

// scanSignerKey scans a key of talk talkID from row: signer, public_key,
// private_key, holder, created_at.
func scanSignerKey(row interface{ Scan(...any) error }, talkID int64) (*talks.SignerKey, error) {
	k := &talks.SignerKey{TalkID: talkID}
	var pub, priv []byte
	var created string
	if err := row.Scan(&k.Signer, &pub, &priv, &k.Holder, &created); err != nil {
		return nil, err
	}
	k.Public = pub
	if priv != nil {
		k.Private = priv
	}
	var err error
	k.CreatedAt, err = parseTime(created)
	return k, err
}

// ReleaseSignerKey implements talks.Store.
func (s *Store) ReleaseSignerKey(ctx context.Context, talkID int64, signer string, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		var pub []byte
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT public_key, holder FROM signer_keys WHERE talk_id = $1 AND signer = $2`, talkID, signer).Scan(&pub, &holder)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Key not found.")
		} else if err != nil {
			return fmt.Errorf("find signer key: %w", err)
		} else if holder != talks.KeyHolderServer {
			return talks.Errorf(talks.ECONFLICT, "The server no longer holds this key.")
		}
		tx.forgetHolder(talkID, signer)
		if _, err := tx.ExecContext(ctx, `UPDATE signer_keys SET private_key = NULL, holder = 'client' WHERE talk_id = $1 AND signer = $2`,
			talkID, signer); err != nil {
			return fmt.Errorf("release signer key: %w", err)
		}
		return record(ctx, tx, talkID, 0, talks.EventMemberKey, st, talks.MemberKey{Signer: signer, Key: pub, Holder: talks.KeyHolderClient})
	})
}

// RegisterSignerKey implements talks.Store.
func (s *Store) RegisterSignerKey(ctx context.Context, k *talks.SignerKey, proof *talks.Signed, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, k.TalkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, k.TalkID); err != nil {
			return err
		}
		if err := keyBound(ctx, tx, k); err != nil {
			return err
		}
		if err := insertSignature(ctx, tx, k.TalkID, proof); err != nil {
			return err
		}
		tx.forgetHolder(k.TalkID, k.Signer)
		if _, err := tx.ExecContext(ctx, `INSERT INTO signer_keys (talk_id, signer, public_key, private_key, holder, created_at)
			VALUES ($1, $2, $3, NULL, 'client', $4)
			ON CONFLICT (talk_id, signer) DO UPDATE SET public_key = excluded.public_key, private_key = NULL, holder = 'client', created_at = excluded.created_at`,
			k.TalkID, k.Signer, []byte(k.Public), formatTime(at)); err != nil {
			return fmt.Errorf("register signer key: %w", err)
		}
		if err := record(ctx, tx, k.TalkID, 0, talks.EventMemberKey, st,
			talks.MemberKey{Signer: k.Signer, Key: k.Public, Holder: talks.KeyHolderClient, Signed: proof}); err != nil {
			return err
		}
		k.Private, k.Holder, k.CreatedAt = nil, talks.KeyHolderClient, at
		return nil
	})
}

// keyBound returns ECONFLICT if k.Public is bound to a signer of its talk
// already.
func keyBound(ctx context.Context, tx *txn, k *talks.SignerKey) error {
	var signer string
	err := tx.QueryRowContext(ctx, `SELECT signer FROM signer_keys WHERE talk_id = $1 AND public_key = $2`, k.TalkID, []byte(k.Public)).Scan(&signer)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("find signer key: %w", err)
	case signer == k.Signer:
		return talks.ErrKeyYours
	}
	return talks.ErrKeyTaken
}

// useSignature records sg, a client's signature, refusing one recorded
// before (a replay), and one checked under a key that is no longer its
// signer's (a key registered meanwhile).
func useSignature(ctx context.Context, tx *txn, talkID int64, sg *talks.Signed) error {
	if key := sg.CheckedKey(); key != nil {
		var pub []byte
		err := tx.QueryRowContext(ctx, `SELECT public_key FROM signer_keys WHERE talk_id = $1 AND signer = $2`, talkID, sg.Signer).Scan(&pub)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find signer key: %w", err)
		} else if !bytes.Equal(key, pub) {
			return talks.ErrKeyChanged
		}
	}
	return insertSignature(ctx, tx, talkID, sg)
}

// insertSignature records sg's signature, refusing one recorded before.
func insertSignature(ctx context.Context, tx *txn, talkID int64, sg *talks.Signed) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO client_signatures (sig, talk_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sg.Sig, talkID)
	if err != nil {
		return fmt.Errorf("insert signature: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return talks.ErrSignatureUsed
	}
	return nil
}

// serverHoldsKey returns talks.ErrKeyReleased unless the server still
// holds signer's private key: a signature the server made must not be
// recorded after the signer took its key.
func serverHoldsKey(ctx context.Context, tx *txn, talkID int64, signer string) error {
	k := signerOf{talkID, signer}
	holder, ok := lookup(tx.learnt.holders, tx.known.holders, k)
	if !ok {
		err := tx.QueryRowContext(ctx, `SELECT holder FROM signer_keys WHERE talk_id = $1 AND signer = $2`, talkID, signer).Scan(&holder)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find signer key: %w", err)
		}
		tx.learnt.holders[k] = holder // "" for none
	}
	if holder != talks.KeyHolderServer {
		return talks.ErrKeyReleased
	}
	return nil
}
