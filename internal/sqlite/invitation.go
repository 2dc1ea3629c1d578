package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

const invitationColumns = `id, talk_id, COALESCE(party_id, 0), role, created_by, created_at, expires_at,
	COALESCE(revoked_at, ''), COALESCE(accepted_at, ''), COALESCE(accepted_by, 0), COALESCE(member_id, 0)`

// findInvitations returns the invitations that match where, without token
// hashes, in ascending ID order.
func findInvitations(ctx context.Context, q querier, where string, args ...any) ([]*talks.Invitation, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find invitations: %w", err)
	}
	defer rows.Close()
	var a []*talks.Invitation
	for rows.Next() {
		var inv talks.Invitation
		var created, expires, revoked, accepted string
		if err := rows.Scan(&inv.ID, &inv.TalkID, &inv.PartyID, &inv.Role, &inv.CreatedBy, &created, &expires,
			&revoked, &accepted, &inv.AcceptedBy, &inv.MemberID); err != nil {
			return nil, err
		}
		for _, t := range []struct {
			s   string
			dst *time.Time
		}{{created, &inv.CreatedAt}, {expires, &inv.ExpiresAt}, {revoked, &inv.RevokedAt}, {accepted, &inv.AcceptedAt}} {
			if t.s == "" {
				continue
			}
			if *t.dst, err = parseTime(t.s); err != nil {
				return nil, err
			}
		}
		a = append(a, &inv)
	}
	return a, rows.Err()
}

// findInvitation returns the one invitation that matches where, or
// ENOTFOUND.
func findInvitation(ctx context.Context, q querier, where string, args ...any) (*talks.Invitation, error) {
	a, err := findInvitations(ctx, q, where, args...)
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Invitation not found.")
	}
	return a[0], nil
}

// CreateInvitation implements talks.Store.
func (s *Store) CreateInvitation(ctx context.Context, inv *talks.Invitation, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, inv.TalkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, inv.TalkID); err != nil {
			return err
		}
		var party any
		if inv.PartyID != 0 {
			party = inv.PartyID
		}
		at := talks.Timestamp(st.Time)
		exp := talks.Timestamp(inv.ExpiresAt)
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO invitations (talk_id, party_id, role, token_hash, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			inv.TalkID, party, inv.Role, inv.TokenHash, st.ActorID, formatTime(at), formatTime(exp)).Scan(&id); err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		if err := record(ctx, tx, inv.TalkID, 0, talks.EventInvitationCreated, st, talks.InvitationCreated{
			InvitationID: id, PartyID: inv.PartyID, Role: inv.Role, ExpiresAt: exp}); err != nil {
			return err
		}
		inv.ID, inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt = id, st.ActorID, at, exp
		inv.RevokedAt, inv.AcceptedAt, inv.AcceptedBy, inv.MemberID = time.Time{}, time.Time{}, 0, 0
		return nil
	})
}

// FindInvitationByID implements talks.Store.
func (s *Store) FindInvitationByID(ctx context.Context, id int64) (*talks.Invitation, error) {
	inv, err := findInvitation(ctx, s.read, `id = $1`, id)
	return inv, translate(err)
}

// FindInvitationByTokenHash implements talks.Store.
func (s *Store) FindInvitationByTokenHash(ctx context.Context, hash []byte) (*talks.Invitation, error) {
	inv, err := findInvitation(ctx, s.read, `token_hash = $1`, hash)
	return inv, translate(err)
}

// FindInvitations implements talks.Store.
func (s *Store) FindInvitations(ctx context.Context, f talks.InvitationFilter) ([]*talks.Invitation, error) {
	a, err := findInvitations(ctx, s.read, `talk_id = $1`, f.TalkID)
	return a, translate(err)
}

// RevokeInvitation implements talks.Store.
func (s *Store) RevokeInvitation(ctx context.Context, id int64, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		inv, err := findInvitation(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, inv.TalkID, st); err != nil {
			return err
		}
		switch {
		case inv.AcceptedBy != 0:
			return talks.Errorf(talks.ECONFLICT, "The invitation has been accepted; it can no longer be revoked.")
		case !inv.RevokedAt.IsZero():
			return talks.Errorf(talks.ECONFLICT, "The invitation is already revoked.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = $1 WHERE id = $2`, formatTime(st.Time), id); err != nil {
			return fmt.Errorf("revoke invitation: %w", err)
		}
		return record(ctx, tx, inv.TalkID, 0, talks.EventInvitationRevoked, st, talks.InvitationRevoked{InvitationID: id})
	})
}

// AcceptInvitation implements talks.Store. Writes are serialised, so the
// checks and the update see the same invitation.
func (s *Store) AcceptInvitation(ctx context.Context, id, userID int64, st talks.Stamp) (*talks.Member, error) {
	var m *talks.Member
	err := s.update(ctx, func(ctx context.Context, tx *txn) (err error) {
		m, err = acceptInvitation(ctx, tx, id, nil, userID, st)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// AcceptInvitationAsNewUser implements talks.Store.
func (s *Store) AcceptInvitationAsNewUser(ctx context.Context, id int64, u *talks.User, st talks.Stamp) (*talks.Member, error) {
	var m *talks.Member
	err := s.update(ctx, func(ctx context.Context, tx *txn) (err error) {
		m, err = acceptInvitation(ctx, tx, id, u, 0, st)
		return err
	})
	if err != nil {
		u.ID = 0
		return nil, err
	}
	return m, nil
}

// acceptInvitation makes user userID, or newUser (created here, after the
// invitation is found acceptable) a member of the talk of invitation id.
func acceptInvitation(ctx context.Context, tx *txn, id int64, newUser *talks.User, userID int64, st talks.Stamp) (*talks.Member, error) {
	inv, err := findInvitation(ctx, tx, `id = $1`, id)
	if err != nil {
		return nil, err
	}
	if err := talks.CheckAcceptable(inv, st.Time); err != nil {
		return nil, err
	}
	if newUser != nil {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE email = $1`, newUser.Email).Scan(&one)
		if err == nil {
			return nil, talks.ErrEmailTaken
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("find user: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO users (name, email, password_hash, admin, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			newUser.Name, newUser.Email, newUser.PasswordHash, newUser.Admin, formatTime(newUser.CreatedAt)).Scan(&newUser.ID); err != nil {
			return nil, fmt.Errorf("insert user: %w", err)
		}
		newUser.CreatedAt = talks.Timestamp(newUser.CreatedAt)
		userID, st.ActorID = newUser.ID, newUser.ID
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM members WHERE talk_id = $1 AND user_id = $2 AND NOT removed`, inv.TalkID, userID).Scan(&one)
	if err == nil {
		return nil, talks.ErrAlreadyMember
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("find member: %w", err)
	}
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM stakeholders WHERE talk_id = $1 AND user_id = $2`, inv.TalkID, userID).Scan(&one)
	if err == nil {
		return nil, talks.ErrStakeholder
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("find stakeholder: %w", err)
	}
	mem := &talks.Member{TalkID: inv.TalkID, UserID: userID, PartyID: inv.PartyID, Role: inv.Role}
	if err := insertMember(ctx, tx, mem, talks.ErrAlreadyMember); err != nil {
		return nil, err
	}
	if err := record(ctx, tx, inv.TalkID, 0, talks.EventMemberAdded, st, talks.MemberAdded{
		MemberID: mem.ID, UserID: userID, PartyID: mem.PartyID, Role: mem.Role}); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = $1, accepted_by = $2, member_id = $3 WHERE id = $4`,
		formatTime(st.Time), userID, mem.ID, id); err != nil {
		return nil, fmt.Errorf("accept invitation: %w", err)
	}
	if err := record(ctx, tx, inv.TalkID, 0, talks.EventInvitationAccepted, st, talks.InvitationAccepted{
		InvitationID: id, UserID: userID, MemberID: mem.ID}); err != nil {
		return nil, err
	}
	return mem, nil
}
