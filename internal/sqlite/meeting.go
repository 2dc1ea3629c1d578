package sqlite

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// startFormat is how meetings.start is stored: fixed width, so that text
// order is time order (time.RFC3339Nano drops trailing zeros).
const startFormat = "2006-01-02T15:04:05.000000Z"

func formatStart(t time.Time) string { return talks.Timestamp(t).Format(startFormat) }

// sortedAttendees returns ids sorted without duplicates; nil if empty.
func sortedAttendees(ids []int64) []int64 {
	if len(ids) == 0 {
		return nil
	}
	a := slices.Clone(ids)
	slices.Sort(a)
	return slices.Compact(a)
}

// insertAttendees puts members ids on meeting id of talk talkID.
func insertAttendees(ctx context.Context, tx *txn, talkID, id int64, ids []int64) error {
	for _, m := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meeting_attendees (talk_id, meeting_id, member_id) VALUES ($1, $2, $3)`, talkID, id, m); err != nil {
			return fmt.Errorf("insert attendee: %w", err)
		}
	}
	return nil
}

// CreateMeeting implements talks.Store.
func (s *Store) CreateMeeting(ctx context.Context, m *talks.Meeting, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		talkID, err := trackTalk(ctx, tx, m.TrackID)
		if err != nil {
			return err
		} else if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		attendees := sortedAttendees(m.Attendees)
		start := talks.Timestamp(m.Start)
		minutes := int64(m.Duration / time.Minute)
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO meetings (talk_id, track_id, title, place, start, duration_minutes, agenda, minutes, status, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			talkID, m.TrackID, m.Title, m.Place, formatStart(start), minutes, m.Agenda, m.Minutes, talks.MeetingStatusScheduled, st.ActorID, formatTime(at)).Scan(&id); err != nil {
			return fmt.Errorf("insert meeting: %w", err)
		}
		if err := insertAttendees(ctx, tx, talkID, id, attendees); err != nil {
			return err
		}
		if err := record(ctx, tx, talkID, m.TrackID, talks.EventMeetingScheduled, st, talks.MeetingScheduled{
			MeetingID: id, Title: m.Title, Place: m.Place, Start: start, DurationMinutes: minutes,
			Attendees: attendees, Agenda: m.Agenda}); err != nil {
			return err
		}
		m.ID, m.TalkID, m.Start, m.Attendees, m.Status = id, talkID, start, attendees, talks.MeetingStatusScheduled
		m.CreatedBy, m.CreatedAt, m.UpdatedAt = st.ActorID, at, at
		return nil
	})
}

// UpdateMeeting implements talks.Store.
func (s *Store) UpdateMeeting(ctx context.Context, id int64, upd talks.MeetingUpdate, st talks.Stamp) (*talks.Meeting, error) {
	at := talks.Timestamp(st.Time)
	var out *talks.Meeting
	err := s.update(ctx, func(ctx context.Context, tx *txn) error {
		cur, err := findMeeting(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		} else if err := checkView(ctx, tx, cur.TalkID, st); err != nil {
			return err
		}
		if err := talks.CheckMeetingUpdate(cur, upd); err != nil {
			return err
		}
		m := cur.Apply(upd)
		m.UpdatedAt = at
		if _, err := tx.ExecContext(ctx, `UPDATE meetings SET title = $1, place = $2, start = $3, duration_minutes = $4, agenda = $5,
			minutes = $6, status = $7, updated_at = $8 WHERE id = $9`,
			m.Title, m.Place, formatStart(m.Start), int64(m.Duration/time.Minute), m.Agenda, m.Minutes, m.Status, formatTime(at), id); err != nil {
			return fmt.Errorf("update meeting: %w", err)
		}
		if upd.Attendees != nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM meeting_attendees WHERE meeting_id = $1`, id); err != nil {
				return fmt.Errorf("delete attendees: %w", err)
			}
			if err := insertAttendees(ctx, tx, m.TalkID, id, m.Attendees); err != nil {
				return err
			}
		}
		if err := record(ctx, tx, m.TalkID, m.TrackID, talks.EventMeetingUpdated, st, talks.NewMeetingUpdated(id, upd)); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindMeetingByID implements talks.Store.
func (s *Store) FindMeetingByID(ctx context.Context, id int64) (*talks.Meeting, error) {
	var m *talks.Meeting
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		m, err = findMeeting(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// FindMeetings implements talks.Store.
func (s *Store) FindMeetings(ctx context.Context, f talks.MeetingFilter) ([]*talks.Meeting, error) {
	var a []*talks.Meeting
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		if f.TrackID != 0 {
			a, err = findMeetings(ctx, tx, `track_id = $1`, f.TrackID)
		} else {
			a, err = findMeetings(ctx, tx, `talk_id = $1`, f.TalkID)
		}
		return err
	})
	return a, err
}

// findMeeting returns the one meeting that matches where, or ENOTFOUND.
func findMeeting(ctx context.Context, q querier, where string, args ...any) (*talks.Meeting, error) {
	a, err := findMeetings(ctx, q, where, args...)
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Meeting not found.")
	}
	return a[0], nil
}

// findMeetings returns the meetings that match where, with their
// attendees, ordered by start, then ID. Run it in a transaction, so that
// the two queries see one state.
func findMeetings(ctx context.Context, q querier, where string, args ...any) ([]*talks.Meeting, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, talk_id, track_id, title, place, start, duration_minutes, agenda, minutes, status,
		created_by, created_at, updated_at FROM meetings WHERE `+where+` ORDER BY start, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find meetings: %w", err)
	}
	defer rows.Close()
	var a []*talks.Meeting
	byID := map[int64]*talks.Meeting{}
	for rows.Next() {
		var m talks.Meeting
		var start, created, updated string
		var minutes int64
		if err := rows.Scan(&m.ID, &m.TalkID, &m.TrackID, &m.Title, &m.Place, &start, &minutes, &m.Agenda, &m.Minutes, &m.Status,
			&m.CreatedBy, &created, &updated); err != nil {
			return nil, err
		}
		m.Duration = time.Duration(minutes) * time.Minute
		for _, t := range []struct {
			s   string
			dst *time.Time
		}{{start, &m.Start}, {created, &m.CreatedAt}, {updated, &m.UpdatedAt}} {
			if *t.dst, err = parseTime(t.s); err != nil {
				return nil, err
			}
		}
		a = append(a, &m)
		byID[m.ID] = &m
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(a) == 0 {
		return nil, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT meeting_id, member_id FROM meeting_attendees
		WHERE meeting_id IN (SELECT id FROM meetings WHERE `+where+`) ORDER BY meeting_id, member_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find attendees: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid, member int64
		if err := rows.Scan(&mid, &member); err != nil {
			return nil, err
		}
		if m := byID[mid]; m != nil {
			m.Attendees = append(m.Attendees, member)
		}
	}
	return a, rows.Err()
}
