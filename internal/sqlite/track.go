package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/backchannel/backchannel/internal/talks"
)

// CreateTrack implements talks.Store.
func (s *Store) CreateTrack(ctx context.Context, t *talks.Track, st talks.Stamp) error {
	if t.Kind != talks.TrackBackchannel {
		return talks.Errorf(talks.EINVALID, "Only back-channels can be created; a talk has one official track.")
	}
	ids := slices.Clone(t.MemberIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, t.TalkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, t.TalkID); err != nil {
			return err
		}
		if err := currentMembers(ctx, tx, t.TalkID, ids); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO tracks (talk_id, name, kind) VALUES ($1, $2, $3) RETURNING id`,
			t.TalkID, t.Name, t.Kind).Scan(&id); err != nil {
			return fmt.Errorf("insert track: %w", err)
		}
		if err := record(ctx, tx, t.TalkID, id, talks.EventTrackCreated, st, talks.TrackCreated{Name: t.Name, Kind: t.Kind, MemberIDs: ids}); err != nil {
			return err
		}
		for _, m := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO track_members (talk_id, track_id, member_id) VALUES ($1, $2, $3)`, t.TalkID, id, m); err != nil {
				return fmt.Errorf("insert track member: %w", err)
			}
		}
		t.ID, t.MemberIDs = id, ids
		return nil
	})
}

// AddTrackMember implements talks.Store.
func (s *Store) AddTrackMember(ctx context.Context, trackID, memberID int64, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		talkID, err := backchannelTalk(ctx, tx, trackID)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		if err := currentMembers(ctx, tx, talkID, []int64{memberID}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO track_members (talk_id, track_id, member_id) VALUES ($1, $2, $3)`, talkID, trackID, memberID); err != nil {
			return fmt.Errorf("insert track member: %w", err)
		}
		return record(ctx, tx, talkID, trackID, talks.EventTrackMemberAdded, st, talks.TrackMemberAdded{MemberID: memberID})
	})
}

// RemoveTrackMember implements talks.Store.
func (s *Store) RemoveTrackMember(ctx context.Context, trackID, memberID int64, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		talkID, err := backchannelTalk(ctx, tx, trackID)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM track_members WHERE track_id = $1 AND member_id = $2`, trackID, memberID)
		if err != nil {
			return fmt.Errorf("delete track member: %w", err)
		} else if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete track member: %w", err)
		} else if n == 0 {
			return talks.Errorf(talks.ECONFLICT, "Member %d is not on this track.", memberID)
		}
		return record(ctx, tx, talkID, trackID, talks.EventTrackMemberRemoved, st, talks.TrackMemberRemoved{MemberID: memberID})
	})
}

// FindTrackByID implements talks.Store.
func (s *Store) FindTrackByID(ctx context.Context, id int64) (*talks.Track, error) {
	var talkID int64
	err := s.read.QueryRowContext(ctx, `SELECT talk_id FROM tracks WHERE id = $1`, id).Scan(&talkID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Track not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find track: %w", err))
	}
	a, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: talkID, ID: &id})
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Track not found.")
	}
	return a[0], nil
}

// FindTracks implements talks.Store.
func (s *Store) FindTracks(ctx context.Context, f talks.TrackFilter) ([]*talks.Track, error) {
	var a []*talks.Track
	err := s.view(ctx, func(tx *readTx) error {
		q, args := `SELECT id, talk_id, name, kind FROM tracks WHERE talk_id = $1`, []any{f.TalkID}
		if f.ID != nil {
			q, args = q+` AND id = $2`, append(args, *f.ID)
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY id`, args...)
		if err != nil {
			return fmt.Errorf("find tracks: %w", err)
		}
		defer rows.Close()
		byID := map[int64]*talks.Track{}
		for rows.Next() {
			var t talks.Track
			if err := rows.Scan(&t.ID, &t.TalkID, &t.Name, &t.Kind); err != nil {
				return err
			}
			a = append(a, &t)
			byID[t.ID] = &t
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		rows, err = tx.QueryContext(ctx, `SELECT track_id, member_id FROM track_members WHERE talk_id = $1 ORDER BY track_id, member_id`, f.TalkID)
		if err != nil {
			return fmt.Errorf("find track members: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var tr, m int64
			if err := rows.Scan(&tr, &m); err != nil {
				return err
			}
			if t := byID[tr]; t != nil {
				t.MemberIDs = append(t.MemberIDs, m)
			}
		}
		return rows.Err()
	})
	return a, err
}

// currentMembers returns EINVALID unless every member in ids is a member
// of talk talkID that is not removed.
func currentMembers(ctx context.Context, tx *txn, talkID int64, ids []int64) error {
	for _, id := range ids {
		if err := exists(ctx, tx, "", `SELECT 1 FROM members WHERE talk_id = $1 AND id = $2 AND NOT removed`, talkID, id); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.EINVALID, "Member %d is not in this talk.", id)
		} else if err != nil {
			return fmt.Errorf("find member: %w", err)
		}
	}
	return nil
}

// backchannelTalk returns the talk of back-channel trackID: ENOTFOUND for
// an unknown track, EINVALID for an official one.
func backchannelTalk(ctx context.Context, tx *txn, trackID int64) (int64, error) {
	var talkID int64
	var kind talks.TrackKind
	err := tx.QueryRowContext(ctx, `SELECT talk_id, kind FROM tracks WHERE id = $1`, trackID).Scan(&talkID, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, talks.Errorf(talks.ENOTFOUND, "Track not found.")
	} else if err != nil {
		return 0, fmt.Errorf("find track: %w", err)
	} else if kind == talks.TrackOfficial {
		return 0, talks.Errorf(talks.EINVALID, "Every member is on the official track.")
	}
	return talkID, nil
}
