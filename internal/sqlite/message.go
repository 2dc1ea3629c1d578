package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/backchannel/backchannel/internal/talks"
)

// PostMessage implements talks.Store.
func (s *Store) PostMessage(ctx context.Context, m *talks.Message, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		talkID, err := trackTalk(ctx, tx, m.TrackID)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		id, err := tx.insert(ctx, `INSERT INTO messages (talk_id, track_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
			talkID, m.TrackID, m.AuthorID, m.Body, formatTime(at))
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		if err := record(ctx, tx, talkID, m.TrackID, talks.EventMessagePosted, st, talks.MessagePosted{MessageID: id, AuthorID: m.AuthorID, Body: m.Body}); err != nil {
			return err
		}
		m.ID, m.CreatedAt, m.Retracted = id, at, false
		return nil
	})
}

// RetractMessage implements talks.Store.
func (s *Store) RetractMessage(ctx context.Context, id int64, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		var talkID, trackID int64
		var retracted bool
		err := tx.QueryRowContext(ctx, `SELECT talk_id, track_id, retracted FROM messages WHERE id = $1`, id).Scan(&talkID, &trackID, &retracted)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Message not found.")
		} else if err != nil {
			return fmt.Errorf("find message: %w", err)
		} else if retracted {
			return talks.Errorf(talks.ECONFLICT, "Message already retracted.")
		} else if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET retracted = 1 WHERE id = $1`, id); err != nil {
			return fmt.Errorf("retract message: %w", err)
		}
		return record(ctx, tx, talkID, trackID, talks.EventMessageRetracted, st, talks.MessageRetracted{MessageID: id})
	})
}

// FindMessageByID implements talks.Store.
func (s *Store) FindMessageByID(ctx context.Context, id int64) (*talks.Message, error) {
	a, err := s.findMessages(ctx, `id = $1`, id)
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Message not found.")
	}
	return a[0], nil
}

// FindMessages implements talks.Store.
func (s *Store) FindMessages(ctx context.Context, f talks.MessageFilter) ([]*talks.Message, error) {
	if f.Latest && f.Limit > 0 {
		ms, err := s.findMessages(ctx, `track_id = $1 AND id > $2 ORDER BY id DESC`+limit(0, f.Limit), f.TrackID, f.AfterID)
		slices.Reverse(ms)
		return ms, err
	}
	return s.findMessages(ctx, `track_id = $1 AND id > $2 ORDER BY id`+limit(0, f.Limit), f.TrackID, f.AfterID)
}

func (s *Store) findMessages(ctx context.Context, where string, args ...any) ([]*talks.Message, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, track_id, author_id, body, created_at, retracted FROM messages WHERE `+where, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find messages: %w", err))
	}
	defer rows.Close()
	var a []*talks.Message
	for rows.Next() {
		var m talks.Message
		var created string
		if err := rows.Scan(&m.ID, &m.TrackID, &m.AuthorID, &m.Body, &created, &m.Retracted); err != nil {
			return nil, translate(err)
		}
		if m.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		a = append(a, &m)
	}
	return a, translate(rows.Err())
}

// FindEvents implements talks.Store.
func (s *Store) FindEvents(ctx context.Context, f talks.EventFilter) ([]*talks.Event, error) {
	return findEvents(ctx, s.read, f)
}

// queryer is the reading pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func findEvents(ctx context.Context, q queryer, f talks.EventFilter) ([]*talks.Event, error) {
	order := "seq"
	if f.Latest && f.Limit > 0 {
		order = "seq DESC"
	}
	rows, err := q.QueryContext(ctx, `
		SELECT talk_id, seq, time, actor_id, track_id, type, payload, prev_hash, hash
		FROM events WHERE talk_id = $1 AND seq > $2 AND ($3 = '' OR type = $3) AND ($4 = 0 OR track_id = $4) AND ($5 = 0 OR seq < $5)
		ORDER BY `+order+limit(0, f.Limit), f.TalkID, f.AfterSeq, f.Type, f.TrackID, f.BeforeSeq)
	if err != nil {
		return nil, translate(fmt.Errorf("find events: %w", err))
	}
	defer rows.Close()
	var a []*talks.Event
	for rows.Next() {
		var e talks.Event
		var at string
		var payload, prev, hash []byte
		if err := rows.Scan(&e.TalkID, &e.ID, &at, &e.ActorID, &e.TrackID, &e.Type, &payload, &prev, &hash); err != nil {
			return nil, translate(err)
		}
		if e.Time, err = parseTime(at); err != nil {
			return nil, err
		}
		e.Payload = payload
		copy(e.PrevHash[:], prev)
		copy(e.Hash[:], hash)
		a = append(a, &e)
	}
	if f.Latest && f.Limit > 0 {
		slices.Reverse(a)
	}
	return a, translate(rows.Err())
}

// TalkHead implements talks.Store.
func (s *Store) TalkHead(ctx context.Context, talkID int64) (int64, error) {
	var seq int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE talk_id = $1`, talkID).Scan(&seq)
	if err != nil {
		return 0, translate(fmt.Errorf("talk head: %w", err))
	}
	return seq, nil
}
