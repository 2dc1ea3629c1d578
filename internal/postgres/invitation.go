package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

const invitationColumns = `id, talk_id, COALESCE(party_id, 0), role, created_by, created_at, expires_at,
	revoked_at, accepted_at, COALESCE(accepted_by, 0), COALESCE(member_id, 0)`

// findInvitations returns the invitations that match where, without token
// hashes, in ascending ID order.
func findInvitations(ctx context.Context, q querier, where string, args ...any) ([]*talks.Invitation, error) {
	rows, err := q.Query(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find invitations: %w", err)
	}
	defer rows.Close()
	var a []*talks.Invitation
	for rows.Next() {
		var inv talks.Invitation
		var role string
		var revoked, accepted *time.Time
		if err := rows.Scan(&inv.ID, &inv.TalkID, &inv.PartyID, &role, &inv.CreatedBy, &inv.CreatedAt, &inv.ExpiresAt,
			&revoked, &accepted, &inv.AcceptedBy, &inv.MemberID); err != nil {
			return nil, err
		}
		inv.Role = talks.Role(role)
		inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
		if revoked != nil {
			inv.RevokedAt = revoked.UTC()
		}
		if accepted != nil {
			inv.AcceptedAt = accepted.UTC()
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
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, inv.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var party *int64
		if inv.PartyID != 0 {
			party = &inv.PartyID
		}
		at := talks.Timestamp(st.Time)
		exp := talks.Timestamp(inv.ExpiresAt)
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO invitations (talk_id, party_id, role, token_hash, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			inv.TalkID, party, string(inv.Role), inv.TokenHash, st.ActorID, at, exp).Scan(&id); err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		if err := tx.record(ctx, 0, talks.EventInvitationCreated, st, talks.InvitationCreated{
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
	inv, err := findInvitation(ctx, s.pool, `id = $1`, id)
	return inv, translate(err)
}

// FindInvitationByTokenHash implements talks.Store.
func (s *Store) FindInvitationByTokenHash(ctx context.Context, hash []byte) (*talks.Invitation, error) {
	inv, err := findInvitation(ctx, s.pool, `token_hash = $1`, hash)
	return inv, translate(err)
}

// FindInvitations implements talks.Store.
func (s *Store) FindInvitations(ctx context.Context, f talks.InvitationFilter) ([]*talks.Invitation, error) {
	a, err := findInvitations(ctx, s.pool, `talk_id = $1`, f.TalkID)
	return a, translate(err)
}

// lockInvitation locks the log of the talk of invitation id and then
// reads the invitation, so that no other writer of the talk changes it
// before the transaction ends.
func (tx *txn) lockInvitation(ctx context.Context, id int64) (*talks.Invitation, error) {
	var talkID int64
	err := tx.QueryRow(ctx, `SELECT talk_id FROM invitations WHERE id = $1`, id).Scan(&talkID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Invitation not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find invitation: %w", err)
	}
	if err := tx.lock(ctx, talkID); err != nil {
		return nil, err
	}
	return findInvitation(ctx, tx, `id = $1`, id)
}

// RevokeInvitation implements talks.Store.
func (s *Store) RevokeInvitation(ctx context.Context, id int64, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		inv, err := tx.lockInvitation(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		switch {
		case inv.AcceptedBy != 0:
			return talks.Errorf(talks.ECONFLICT, "The invitation has been accepted; it can no longer be revoked.")
		case !inv.RevokedAt.IsZero():
			return talks.Errorf(talks.ECONFLICT, "The invitation is already revoked.")
		}
		if _, err := tx.Exec(ctx, `UPDATE invitations SET revoked_at = $1 WHERE id = $2`, talks.Timestamp(st.Time), id); err != nil {
			return fmt.Errorf("revoke invitation: %w", err)
		}
		return tx.record(ctx, 0, talks.EventInvitationRevoked, st, talks.InvitationRevoked{InvitationID: id})
	})
}

// AcceptInvitation implements talks.Store. The talk's log head is locked
// before the invitation is read, so concurrent accepts take turns and only
// the first finds it pending.
func (s *Store) AcceptInvitation(ctx context.Context, id, userID int64, st talks.Stamp) (*talks.Member, error) {
	var m *talks.Member
	err := s.update(ctx, func(tx *txn) (err error) {
		m, err = tx.acceptInvitation(ctx, id, nil, userID, st)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// AcceptInvitationAsNewUser implements talks.Store, locking as
// AcceptInvitation does.
func (s *Store) AcceptInvitationAsNewUser(ctx context.Context, id int64, u *talks.User, st talks.Stamp) (*talks.Member, error) {
	var m *talks.Member
	err := s.update(ctx, func(tx *txn) (err error) {
		m, err = tx.acceptInvitation(ctx, id, u, 0, st)
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
func (tx *txn) acceptInvitation(ctx context.Context, id int64, newUser *talks.User, userID int64, st talks.Stamp) (*talks.Member, error) {
	inv, err := tx.lockInvitation(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := talks.CheckAcceptable(inv, st.Time); err != nil {
		return nil, err
	}
	if newUser != nil {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE email = $1`, newUser.Email).Scan(&one)
		if err == nil {
			return nil, talks.ErrEmailTaken
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("find user: %w", err)
		}
		at := talks.Timestamp(newUser.CreatedAt)
		if err := tx.QueryRow(ctx, `INSERT INTO users (name, email, password_hash, admin, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			newUser.Name, newUser.Email, newUser.PasswordHash, newUser.Admin, at).Scan(&newUser.ID); err != nil {
			return nil, fmt.Errorf("insert user: %w", err)
		}
		newUser.CreatedAt = at
		userID, st.ActorID = newUser.ID, newUser.ID
	}
	var one int
	err = tx.QueryRow(ctx, `SELECT 1 FROM members WHERE talk_id = $1 AND user_id = $2 AND NOT removed`, inv.TalkID, userID).Scan(&one)
	if err == nil {
		return nil, talks.ErrAlreadyMember
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("find member: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT 1 FROM stakeholders WHERE talk_id = $1 AND user_id = $2`, inv.TalkID, userID).Scan(&one)
	if err == nil {
		return nil, talks.ErrStakeholder
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("find stakeholder: %w", err)
	}
	mem := &talks.Member{TalkID: inv.TalkID, UserID: userID, PartyID: inv.PartyID, Role: inv.Role}
	if err := insertMember(ctx, tx, mem, talks.ErrAlreadyMember); err != nil {
		return nil, err
	}
	if err := tx.record(ctx, 0, talks.EventMemberAdded, st, talks.MemberAdded{
		MemberID: mem.ID, UserID: userID, PartyID: mem.PartyID, Role: mem.Role}); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE invitations SET accepted_at = $1, accepted_by = $2, member_id = $3 WHERE id = $4`,
		talks.Timestamp(st.Time), userID, mem.ID, id); err != nil {
		return nil, fmt.Errorf("accept invitation: %w", err)
	}
	if err := tx.record(ctx, 0, talks.EventInvitationAccepted, st, talks.InvitationAccepted{
		InvitationID: id, UserID: userID, MemberID: mem.ID}); err != nil {
		return nil, err
	}
	return mem, nil
}
