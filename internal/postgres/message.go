package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

// staleView is the reason of a view check's refusal (refuse).
var staleView = map[string]error{"stale": talks.ErrStaleView}

// PostMessage implements talks.Store. It takes two round trips while it
// holds the talk's head: one to lock the head (finding the talk from the
// track and reserving the message's ID on the way), and one to insert the
// message and its event and move the head, with the check of the
// Service's view (Stamp.View) if events came after it that the committer
// does not know to keep views (txn.viewLag); COMMIT goes in the second
// too (commit.go). In a
// batch that already holds the talk's head, it takes only the second: it
// starts from the head the batch's last write to the talk left, with an
// ID reserved for it under the lock (txn.resume): the first message of
// the talk in the batch reserves IDs for every later one in the statement
// that locks the head. So the messages of a run need no result of each
// other before they are sent, and the committer sends their second round
// trips as one (pipeline), each in a savepoint of its own. The first
// message of a talk in a batch takes only the second too, once the store
// knows the track's talk and its last commit of the talk left IDs
// reserved: it starts from the head that commit left, and the statement
// that locks the head refuses if the head has moved since
// (txn.resumeKept). A message to a track whose talk the store does not
// know reads it before it is queued (trackPlace), so that it can join a
// run. A run goes fused, if it may (fuse.go).
func (s *Store) PostMessage(ctx context.Context, m *talks.Message, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	var talkID int64
	// queue queues on b the statements of the message with ID id after
	// tx's head, and returns the function that reads their results.
	queue := func(tx *txn, b *pgx.Batch, id int64) (func(pgx.BatchResults) error, error) {
		after, err := tx.viewLag(st)
		if err != nil {
			return nil, err
		}
		tx.reserve(b, "messages")
		check := after < tx.seq
		if check {
			// The check of the Service's view (talks.ViewCheck) goes in the
			// insert's round trip; if it fails, so does its statement, and
			// PostgreSQL skips the insert.
			tx.queueRow(b, checkMessage, tx.talkID, after)
		}
		tx.sqlOnly = true
		tx.addRow(insertMessage, id, tx.talkID, m.TrackID, m.AuthorID, m.Body, at)
		if err := tx.queueWith(b, m.TrackID, talks.EventMessagePosted, st, talks.MessagePosted{MessageID: id, AuthorID: m.AuthorID, Body: m.Body},
			`INSERT INTO messages (id, talk_id, track_id, author_id, body, created_at) VALUES ($16, $1, $5, $17, $18, $19)`,
			id, m.AuthorID, m.Body, at); err != nil {
			return nil, err
		}
		tx.apply = func() {
			if check {
				tx.fresh(after)
			}
			talkID = tx.talkID
			m.ID, m.CreatedAt, m.Retracted = id, at, false
		}
		return func(br pgx.BatchResults) error {
			if err := tx.readLead(br); err != nil {
				return err
			}
			if check {
				if err := br.QueryRow().Scan(new(bool)); err != nil {
					return refused(fmt.Errorf("check view: %w", err), staleView)
				}
			}
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("insert event: %w", err)
			}
			tx.apply()
			return nil
		}, nil
	}
	tp, err := s.trackPlace(ctx, m.TrackID)
	if err != nil {
		return err
	}
	talk := tp.talk
	// pipe locks the head and reserves the message's ID and those of the
	// later messages of the talk in the batch, unless the batch holds the
	// head with an ID reserved for it, and then queues the message on b.
	pipe := func(tx *txn, b *pgx.Batch) (func(pgx.BatchResults) error, error) {
		if ids, ok := tx.resume(talk, "messages"); ok {
			return queue(tx, b, ids[0])
		} else if tx.follows {
			return nil, errNotPiped
		} else if ids, ok := tx.resumeKept(b, talk, "messages"); ok {
			return queue(tx, b, ids[0])
		}
		// The IDs' subquery refers to h, so that it runs for the row
		// locked, after the lock: PostgreSQL evaluates it again for the
		// head's latest version if it had to wait for another writer
		// (EvalPlanQual), whose IDs are then all smaller. An uncorrelated
		// one would run once, before the wait.
		var hash, fr []byte
		var ids []int64
		err := tx.QueryRow(ctx, `
			SELECT h.talk_id, h.seq, h.hash, h.frontier,
				ARRAY(SELECT nextval((SELECT pg_get_serial_sequence('messages', 'id')::regclass)) FROM generate_series(h.seq, h.seq + $2::int))
			FROM event_heads h WHERE h.talk_id = (SELECT talk_id FROM tracks WHERE id = $1)
			FOR UPDATE OF h`, m.TrackID, tx.toReserve(talk, "messages")).Scan(&tx.talkID, &tx.seq, &hash, &fr, &ids)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, talks.Errorf(talks.ENOTFOUND, "Track not found.")
		} else if err != nil {
			return nil, fmt.Errorf("lock talk of track %d: %w", m.TrackID, err)
		}
		tx.locked(hash, fr)
		tx.spare = spare{tables: "messages", ids: ids[1:]}
		return queue(tx, b, ids[0])
	}
	w := &write{talk: talk, tables: "messages"}
	if st.SignatureFor(talks.EventMessagePosted) == nil {
		// A signed event's checks may need statements of their own (next).
		w.pipe = pipe
	}
	w.fn = alone(ctx, pipe, "insert event")
	if err := s.commits.submit(ctx, w); err != nil {
		return err
	}
	s.tracks.put(m.TrackID, place{talk: talkID})
	return nil
}

// RetractMessage implements talks.Store.
func (s *Store) RetractMessage(ctx context.Context, id int64, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		var talkID, trackID int64
		err := tx.QueryRow(ctx, `SELECT talk_id, track_id FROM messages WHERE id = $1`, id).Scan(&talkID, &trackID)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Message not found.")
		} else if err != nil {
			return fmt.Errorf("find message: %w", err)
		}
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		} else if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		// Under the lock, this sees any retraction committed before it.
		ct, err := tx.Exec(ctx, `UPDATE messages SET retracted = true WHERE id = $1 AND NOT retracted`, id)
		if err != nil {
			return fmt.Errorf("retract message: %w", err)
		} else if ct.RowsAffected() == 0 {
			return talks.Errorf(talks.ECONFLICT, "Message already retracted.")
		}
		return tx.record(ctx, trackID, talks.EventMessageRetracted, st, talks.MessageRetracted{MessageID: id})
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
	rows, err := s.pool.Query(ctx, `SELECT id, track_id, author_id, body, created_at, retracted FROM messages WHERE `+where, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find messages: %w", err))
	}
	defer rows.Close()
	var a []*talks.Message
	for rows.Next() {
		var m talks.Message
		var created time.Time
		if err := rows.Scan(&m.ID, &m.TrackID, &m.AuthorID, &m.Body, &created, &m.Retracted); err != nil {
			return nil, translate(err)
		}
		m.CreatedAt = created.UTC()
		a = append(a, &m)
	}
	return a, translate(rows.Err())
}

// FindEvents implements talks.Store.
func (s *Store) FindEvents(ctx context.Context, f talks.EventFilter) ([]*talks.Event, error) {
	return findEvents(ctx, s.pool, f)
}

func findEvents(ctx context.Context, q querier, f talks.EventFilter) ([]*talks.Event, error) {
	order := "seq"
	if f.Latest && f.Limit > 0 {
		order = "seq DESC"
	}
	rows, err := q.Query(ctx, `
		SELECT talk_id, seq, time, actor_id, track_id, type, payload, prev_hash, hash
		FROM events WHERE talk_id = $1 AND seq > $2 AND ($3::text = '' OR type = $3::text) AND ($4::bigint = 0 OR track_id = $4::bigint)
			AND ($5::bigint = 0 OR seq < $5::bigint)
		ORDER BY `+order+limit(0, f.Limit), f.TalkID, f.AfterSeq, f.Type, f.TrackID, f.BeforeSeq)
	if err != nil {
		return nil, translate(fmt.Errorf("find events: %w", err))
	}
	defer rows.Close()
	var a []*talks.Event
	for rows.Next() {
		var e talks.Event
		var at time.Time
		var payload, prev, hash []byte
		if err := rows.Scan(&e.TalkID, &e.ID, &at, &e.ActorID, &e.TrackID, &e.Type, &payload, &prev, &hash); err != nil {
			return nil, translate(err)
		}
		e.Time = at.UTC()
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
	err := s.pool.QueryRow(ctx, `SELECT COALESCE((SELECT seq FROM event_heads WHERE talk_id = $1), 0)`, talkID).Scan(&seq)
	if err != nil {
		return 0, translate(fmt.Errorf("talk head: %w", err))
	}
	return seq, nil
}
