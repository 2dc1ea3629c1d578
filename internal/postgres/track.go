package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

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
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, t.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		if err := currentMembers(ctx, tx, t.TalkID, ids); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO tracks (talk_id, name, kind) VALUES ($1, $2, $3) RETURNING id`,
			t.TalkID, t.Name, t.Kind).Scan(&id); err != nil {
			return fmt.Errorf("insert track: %w", err)
		}
		if err := tx.record(ctx, id, talks.EventTrackCreated, st, talks.TrackCreated{Name: t.Name, Kind: t.Kind, MemberIDs: ids}); err != nil {
			return err
		}
		if len(ids) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO track_members (talk_id, track_id, member_id) SELECT $1, $2, unnest($3::bigint[])`,
				t.TalkID, id, ids); err != nil {
				return fmt.Errorf("insert track members: %w", err)
			}
		}
		t.ID, t.MemberIDs = id, ids
		return nil
	})
}

// AddTrackMember implements talks.Store.
func (s *Store) AddTrackMember(ctx context.Context, trackID, memberID int64, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		talkID, err := tx.lockBackchannel(ctx, trackID)
		if err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		if err := currentMembers(ctx, tx, talkID, []int64{memberID}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO track_members (talk_id, track_id, member_id) VALUES ($1, $2, $3)`, talkID, trackID, memberID); err != nil {
			return fmt.Errorf("insert track member: %w", err)
		}
		return tx.record(ctx, trackID, talks.EventTrackMemberAdded, st, talks.TrackMemberAdded{MemberID: memberID})
	})
}

// RemoveTrackMember implements talks.Store.
func (s *Store) RemoveTrackMember(ctx context.Context, trackID, memberID int64, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		if _, err := tx.lockBackchannel(ctx, trackID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM track_members WHERE track_id = $1 AND member_id = $2`, trackID, memberID)
		if err != nil {
			return fmt.Errorf("delete track member: %w", err)
		} else if tag.RowsAffected() == 0 {
			return talks.Errorf(talks.ECONFLICT, "Member %d is not on this track.", memberID)
		}
		return tx.record(ctx, trackID, talks.EventTrackMemberRemoved, st, talks.TrackMemberRemoved{MemberID: memberID})
	})
}

// FindTrackByID implements talks.Store.
func (s *Store) FindTrackByID(ctx context.Context, id int64) (*talks.Track, error) {
	var talkID int64
	err := s.pool.QueryRow(ctx, `SELECT talk_id FROM tracks WHERE id = $1`, id).Scan(&talkID)
	if errors.Is(err, pgx.ErrNoRows) {
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

// FindTracks implements talks.Store. The tracks and their members come in
// one statement, which sees one snapshot, so it needs no read transaction.
func (s *Store) FindTracks(ctx context.Context, f talks.TrackFilter) ([]*talks.Track, error) {
	q, args := `SELECT t.id, t.talk_id, t.name, t.kind,
			COALESCE((SELECT array_agg(m.member_id ORDER BY m.member_id) FROM track_members m WHERE m.track_id = t.id), '{}')
		FROM tracks t WHERE t.talk_id = $1`, []any{f.TalkID}
	if f.ID != nil {
		q, args = q+` AND t.id = $2`, append(args, *f.ID)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find tracks: %w", err))
	}
	defer rows.Close()
	var a []*talks.Track
	for rows.Next() {
		var t talks.Track
		if err := rows.Scan(&t.ID, &t.TalkID, &t.Name, &t.Kind, &t.MemberIDs); err != nil {
			return nil, translate(err)
		}
		if len(t.MemberIDs) == 0 {
			t.MemberIDs = nil
		}
		a = append(a, &t)
	}
	return a, translate(rows.Err())
}

// currentMembers returns EINVALID unless every member in ids is a member
// of talk talkID that is not removed. The caller holds the talk's lock.
func currentMembers(ctx context.Context, tx *txn, talkID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM members WHERE talk_id = $1 AND id = ANY($2) AND NOT removed`, talkID, ids).Scan(&n); err != nil {
		return fmt.Errorf("find members: %w", err)
	} else if n != len(ids) {
		return talks.Errorf(talks.EINVALID, "A member is not in this talk.")
	}
	return nil
}

// lockBackchannel locks the talk of back-channel trackID and returns it:
// ENOTFOUND for an unknown track, EINVALID for an official one. A track
// never moves to another talk or changes kind, so reading it before the
// lock is safe.
func (tx *txn) lockBackchannel(ctx context.Context, trackID int64) (int64, error) {
	var talkID int64
	var kind talks.TrackKind
	err := tx.QueryRow(ctx, `SELECT talk_id, kind FROM tracks WHERE id = $1`, trackID).Scan(&talkID, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, talks.Errorf(talks.ENOTFOUND, "Track not found.")
	} else if err != nil {
		return 0, fmt.Errorf("find track: %w", err)
	} else if kind == talks.TrackOfficial {
		return 0, talks.Errorf(talks.EINVALID, "Every member is on the official track.")
	}
	return talkID, tx.lock(ctx, talkID)
}
