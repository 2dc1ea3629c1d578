package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// CreateUser implements talks.Store.
func (s *Store) CreateUser(ctx context.Context, u *talks.User) error {
	at := talks.Timestamp(u.CreatedAt)
	return s.update(ctx, func(tx *txn) error {
		err := tx.QueryRow(ctx, `INSERT INTO users (name, email, password_hash, admin, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			u.Name, u.Email, u.PasswordHash, u.Admin, at).Scan(&u.ID)
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		u.CreatedAt = at
		return nil
	})
}

// FindUserByID implements talks.Store.
func (s *Store) FindUserByID(ctx context.Context, id int64) (*talks.User, error) {
	return s.findUser(ctx, `id = $1`, id)
}

// FindUserByEmail implements talks.Store.
func (s *Store) FindUserByEmail(ctx context.Context, email string) (*talks.User, error) {
	return s.findUser(ctx, `email = $1`, email)
}

func (s *Store) findUser(ctx context.Context, where string, arg any) (*talks.User, error) {
	var u talks.User
	err := s.pool.QueryRow(ctx, `SELECT id, name, email, password_hash, admin, created_at FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &u.Admin, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find user: %w", err))
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// CreateTalk implements talks.Store.
func (s *Store) CreateTalk(ctx context.Context, t *talks.Talk, st talks.Stamp) error {
	var space []byte
	if t.Space != nil {
		var err error
		if space, err = json.Marshal(t.Space); err != nil {
			return fmt.Errorf("encode space: %w", err)
		}
	}
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(tx *txn) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO talks (title, description, space, status, convener_id, created_at)
			VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id`,
			t.Title, t.Description, space, t.ConvenerID, at).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert talk: %w", err)
		}
		// The new head is invisible to other transactions until commit, so
		// it needs no lock.
		if _, err := tx.Exec(ctx, `INSERT INTO event_heads (talk_id, seq, hash) VALUES ($1, 0, $2)`, id, make([]byte, 32)); err != nil {
			return fmt.Errorf("insert event head: %w", err)
		}
		tx.talkID = id
		if err := tx.record(ctx, 0, talks.EventTalkCreated, st, talks.TalkCreated{
			Title: t.Title, Description: t.Description, Space: t.Space, ConvenerID: t.ConvenerID}); err != nil {
			return err
		}
		var trackID int64
		if err := tx.QueryRow(ctx, `INSERT INTO tracks (talk_id, name, kind) VALUES ($1, 'Official', 'official') RETURNING id`, id).Scan(&trackID); err != nil {
			return fmt.Errorf("insert official track: %w", err)
		}
		if err := tx.record(ctx, trackID, talks.EventTrackCreated, st, talks.TrackCreated{Name: "Official", Kind: talks.TrackOfficial}); err != nil {
			return err
		}
		var memberID int64
		if err := tx.QueryRow(ctx, `INSERT INTO members (talk_id, user_id, party_id, role) VALUES ($1, $2, NULL, 'facilitator') RETURNING id`,
			id, t.ConvenerID).Scan(&memberID); err != nil {
			return fmt.Errorf("insert convener: %w", err)
		}
		if err := tx.record(ctx, 0, talks.EventMemberAdded, st, talks.MemberAdded{MemberID: memberID, UserID: t.ConvenerID, Role: talks.RoleFacilitator}); err != nil {
			return err
		}
		t.ID, t.Status, t.CreatedAt = id, talks.StatusOpen, at
		return nil
	})
}

// FindTalkByID implements talks.Store.
func (s *Store) FindTalkByID(ctx context.Context, id int64) (*talks.Talk, error) {
	a, err := s.FindTalks(ctx, talks.TalkFilter{ID: &id})
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Talk not found.")
	}
	return a[0], nil
}

// FindTalks implements talks.Store.
func (s *Store) FindTalks(ctx context.Context, f talks.TalkFilter) ([]*talks.Talk, error) {
	where, args := []string{"true"}, []any{}
	if f.ID != nil {
		args = append(args, *f.ID)
		where = append(where, fmt.Sprintf("id = $%d", len(args)))
	}
	if f.UserID != nil {
		args = append(args, *f.UserID)
		where = append(where, fmt.Sprintf("id IN (SELECT talk_id FROM members WHERE user_id = $%d AND NOT removed)", len(args)))
	}
	q := `SELECT id, title, description, space, status, convener_id, created_at FROM talks WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY id` + limit(f.Offset, f.Limit)
	return scanTalks(ctx, s.pool, q, args...)
}

func scanTalks(ctx context.Context, q querier, query string, args ...any) ([]*talks.Talk, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find talks: %w", err))
	}
	defer rows.Close()
	var a []*talks.Talk
	for rows.Next() {
		var t talks.Talk
		var space []byte
		var created time.Time
		if err := rows.Scan(&t.ID, &t.Title, &t.Description, &space, &t.Status, &t.ConvenerID, &created); err != nil {
			return nil, translate(fmt.Errorf("scan talk: %w", err))
		}
		if space != nil {
			t.Space = new(outcome.Space)
			if err := json.Unmarshal(space, t.Space); err != nil {
				return nil, fmt.Errorf("decode space of talk %d: %w", t.ID, err)
			}
		}
		t.CreatedAt = created.UTC()
		a = append(a, &t)
	}
	return a, translate(rows.Err())
}

// UpdateTalk implements talks.Store.
func (s *Store) UpdateTalk(ctx context.Context, id int64, upd talks.TalkUpdate, st talks.Stamp) (*talks.Talk, error) {
	var t *talks.Talk
	err := s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, id); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		a, err := scanTalks(ctx, tx, `SELECT id, title, description, space, status, convener_id, created_at FROM talks WHERE id = $1`, id)
		if err != nil {
			return err
		} else if len(a) == 0 {
			return talks.Errorf(talks.ENOTFOUND, "Talk not found.")
		}
		t = a[0]
		if upd.Title != nil {
			t.Title = *upd.Title
		}
		if upd.Description != nil {
			t.Description = *upd.Description
		}
		if upd.Status != nil {
			t.Status = *upd.Status
		}
		if _, err := tx.Exec(ctx, `UPDATE talks SET title = $1, description = $2, status = $3 WHERE id = $4`,
			t.Title, t.Description, t.Status, id); err != nil {
			return fmt.Errorf("update talk: %w", err)
		}
		return tx.record(ctx, 0, talks.EventTalkUpdated, st, talks.TalkUpdated(upd))
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// AddParty implements talks.Store.
func (s *Store) AddParty(ctx context.Context, p *talks.Party, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, p.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO parties (talk_id, name) VALUES ($1, $2) RETURNING id`, p.TalkID, p.Name).Scan(&p.ID); err != nil {
			return fmt.Errorf("insert party: %w", err)
		}
		return tx.record(ctx, 0, talks.EventPartyAdded, st, talks.PartyAdded{PartyID: p.ID, Name: p.Name})
	})
}

// FindParties implements talks.Store.
func (s *Store) FindParties(ctx context.Context, f talks.PartyFilter) ([]*talks.Party, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, talk_id, name FROM parties WHERE talk_id = $1 ORDER BY id`, f.TalkID)
	if err != nil {
		return nil, translate(fmt.Errorf("find parties: %w", err))
	}
	defer rows.Close()
	var a []*talks.Party
	for rows.Next() {
		var p talks.Party
		if err := rows.Scan(&p.ID, &p.TalkID, &p.Name); err != nil {
			return nil, translate(err)
		}
		a = append(a, &p)
	}
	return a, translate(rows.Err())
}

// AddMember implements talks.Store.
func (s *Store) AddMember(ctx context.Context, m *talks.Member, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, m.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var stakeholder bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM stakeholders WHERE talk_id = $1 AND user_id = $2)`, m.TalkID, m.UserID).Scan(&stakeholder); err != nil {
			return fmt.Errorf("find stakeholder: %w", err)
		} else if stakeholder {
			return talks.ErrUserIsStakeholder
		}
		if err := insertMember(ctx, tx, m, errUserIsMember); err != nil {
			return err
		}
		return tx.record(ctx, 0, talks.EventMemberAdded, st, talks.MemberAdded{MemberID: m.ID, UserID: m.UserID, PartyID: m.PartyID, Role: m.Role})
	})
}

// errUserIsMember refuses to add a user that is a member of the talk.
var errUserIsMember = talks.Errorf(talks.ECONFLICT, "The user is already a member of this talk.")

// insertMember inserts m, or makes the removed member of its user a member
// again with m's party and role, and sets m.ID; already if the user is a
// member of the talk.
func insertMember(ctx context.Context, tx *txn, m *talks.Member, already error) error {
	var party *int64
	if m.PartyID != 0 {
		party = &m.PartyID
	}
	err := tx.QueryRow(ctx, `INSERT INTO members (talk_id, user_id, party_id, role) VALUES ($1, $2, $3, $4)
		ON CONFLICT (talk_id, user_id) DO UPDATE SET party_id = excluded.party_id, role = excluded.role, removed = FALSE WHERE members.removed
		RETURNING id`, m.TalkID, m.UserID, party, string(m.Role)).Scan(&m.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return already
	} else if err != nil {
		return fmt.Errorf("insert member: %w", err)
	}
	return nil
}

// RemoveMember implements talks.Store.
func (s *Store) RemoveMember(ctx context.Context, talkID, memberID int64, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		party, role, err := partyMember(ctx, tx, talkID, memberID, "A facilitator is not removed from a talk.")
		if err != nil {
			return err
		}
		if role == talks.RolePrincipal {
			if err := otherPrincipal(ctx, tx, talkID, party, memberID); err != nil {
				return err
			}
		}
		sole, err := tx.ids(ctx, `SELECT m.track_id FROM track_members m JOIN tracks t ON t.id = m.track_id
			WHERE m.member_id = $1 AND t.kind = 'backchannel'
			AND NOT EXISTS (SELECT 1 FROM track_members o WHERE o.track_id = m.track_id AND o.member_id <> $1) ORDER BY m.track_id`, memberID)
		if err != nil {
			return fmt.Errorf("find back-channels: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE members SET removed = TRUE WHERE id = $1`, memberID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM track_members WHERE member_id = $1`, memberID); err != nil {
			return fmt.Errorf("delete track members: %w", err)
		}
		if err := tx.record(ctx, 0, talks.EventMemberRemoved, st, talks.MemberRemoved{MemberID: memberID}); err != nil {
			return err
		}
		if err := tx.passOn(ctx, talkID, party, memberID, sole, st); err != nil {
			return err
		}
		return revokeInvitationsBy(ctx, tx, talkID, memberID, st)
	})
}

// partyMember returns the party and role of member memberID of talk
// talkID: ENOTFOUND if there is none or it is removed, EINVALID with
// message facilitator if it is a facilitator.
func partyMember(ctx context.Context, tx *txn, talkID, memberID int64, facilitator string) (int64, talks.Role, error) {
	var party *int64
	var role talks.Role
	err := tx.QueryRow(ctx, `SELECT party_id, role FROM members WHERE talk_id = $1 AND id = $2 AND NOT removed`, talkID, memberID).Scan(&party, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", talks.Errorf(talks.ENOTFOUND, "Member not found.")
	} else if err != nil {
		return 0, "", fmt.Errorf("find member: %w", err)
	} else if party == nil {
		return 0, "", talks.Errorf(talks.EINVALID, "%s", facilitator)
	}
	return *party, role, nil
}

// passOn puts the principals of party partyID of the locked talk talkID
// on each back-channel in tracks, the ones member from of the party, just
// taken off the talk, was alone on: they saw them through it, and go on
// seeing them (talks.Service.RemoveMember). Each addition appends its
// track.member_added, which names from. talks.ErrNoHeir if the party has
// no principal.
func (tx *txn) passOn(ctx context.Context, talkID, partyID, from int64, tracks []int64, st talks.Stamp) error {
	if len(tracks) == 0 {
		return nil
	}
	heirs, err := tx.ids(ctx, `SELECT id FROM members WHERE talk_id = $1 AND party_id = $2 AND role = 'principal' AND NOT removed ORDER BY id`,
		talkID, partyID)
	if err != nil {
		return fmt.Errorf("find principals: %w", err)
	}
	if len(heirs) == 0 {
		return talks.ErrNoHeir
	}
	for _, track := range tracks {
		for _, m := range heirs {
			if _, err := tx.Exec(ctx, `INSERT INTO track_members (talk_id, track_id, member_id) VALUES ($1, $2, $3)`, talkID, track, m); err != nil {
				return fmt.Errorf("insert track member: %w", err)
			}
			if err := tx.record(ctx, track, talks.EventTrackMemberAdded, st, talks.TrackMemberAdded{MemberID: m, From: from}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ids returns the single int64 column of the rows of query.
func (tx *txn) ids(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// revokeInvitationsBy revokes the open invitations to talk talkID that the
// user of member memberID made, each with its invitation.revoked event.
func revokeInvitationsBy(ctx context.Context, tx *txn, talkID, memberID int64, st talks.Stamp) error {
	ids, err := tx.ids(ctx, `UPDATE invitations SET revoked_at = $3 WHERE talk_id = $1 AND accepted_by IS NULL AND revoked_at IS NULL
		AND created_by = (SELECT user_id FROM members WHERE id = $2) RETURNING id`, talkID, memberID, talks.Timestamp(st.Time))
	if err != nil {
		return fmt.Errorf("revoke invitations: %w", err)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := tx.record(ctx, 0, talks.EventInvitationRevoked, st, talks.InvitationRevoked{InvitationID: id}); err != nil {
			return err
		}
	}
	return nil
}

// otherPrincipal returns ErrLastPrincipal unless party partyID of talk
// talkID has a principal other than member memberID. The caller holds the
// talk's lock, which makes the answer exact.
func otherPrincipal(ctx context.Context, tx *txn, talkID, partyID, memberID int64) error {
	var others bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM members WHERE talk_id = $1 AND party_id = $2 AND role = 'principal' AND NOT removed AND id <> $3)`,
		talkID, partyID, memberID).Scan(&others); err != nil {
		return fmt.Errorf("find principals: %w", err)
	} else if !others {
		return talks.ErrLastPrincipal
	}
	return nil
}

// ChangeMemberRole implements talks.Store.
func (s *Store) ChangeMemberRole(ctx context.Context, talkID, memberID int64, r talks.Role, st talks.Stamp) error {
	if !r.Valid() || r == talks.RoleFacilitator {
		return talks.Errorf(talks.EINVALID, "Role %q is not a role in a party.", r)
	}
	return s.update(ctx, func(tx *txn) error {
		// The talk's lock makes the count of principals below exact.
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		party, old, err := partyMember(ctx, tx, talkID, memberID, "A facilitator belongs to no party; its role does not change.")
		if err != nil {
			return err
		} else if old == r {
			return talks.Errorf(talks.ECONFLICT, "Member %d is already %s.", memberID, r)
		}
		if old == talks.RolePrincipal {
			if err := otherPrincipal(ctx, tx, talkID, party, memberID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE members SET role = $1 WHERE id = $2`, r, memberID); err != nil {
			return fmt.Errorf("update member: %w", err)
		}
		if err := tx.record(ctx, 0, talks.EventMemberRoleChanged, st, talks.MemberRoleChanged{MemberID: memberID, Role: r}); err != nil {
			return err
		}
		if old == talks.RolePrincipal {
			// Its invitations were a principal's: it may no longer make
			// them, so they no longer stand.
			return revokeInvitationsBy(ctx, tx, talkID, memberID, st)
		}
		return nil
	})
}

// FindMemberByID implements talks.Store.
func (s *Store) FindMemberByID(ctx context.Context, id int64) (*talks.Member, error) {
	a, err := s.findMembers(ctx, `id = $1`, id)
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Member not found.")
	}
	return a[0], nil
}

// FindMembers implements talks.Store.
func (s *Store) FindMembers(ctx context.Context, f talks.MemberFilter) ([]*talks.Member, error) {
	where, args := []string{"true"}, []any{}
	if f.TalkID != 0 {
		args = append(args, f.TalkID)
		where = append(where, fmt.Sprintf("talk_id = $%d", len(args)))
	}
	if f.UserID != 0 {
		args = append(args, f.UserID)
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	return s.findMembers(ctx, strings.Join(where, " AND "), args...)
}

func (s *Store) findMembers(ctx context.Context, where string, args ...any) ([]*talks.Member, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, talk_id, user_id, COALESCE(party_id, 0), role, removed FROM members WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find members: %w", err))
	}
	defer rows.Close()
	var a []*talks.Member
	for rows.Next() {
		var m talks.Member
		if err := rows.Scan(&m.ID, &m.TalkID, &m.UserID, &m.PartyID, &m.Role, &m.Removed); err != nil {
			return nil, translate(err)
		}
		a = append(a, &m)
	}
	return a, translate(rows.Err())
}
