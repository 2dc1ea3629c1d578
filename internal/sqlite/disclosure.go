package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// Disclosure plans, hand-offs and agreement reads (see talks/disclosure.go).

// settledFor returns ECONFLICT if talk talkID has an agreement and proposal
// proposalID is not the carried proposal still waiting for answers: the
// one text of an agreed talk that still changes.
func settledFor(ctx context.Context, tx *txn, talkID, proposalID int64) error {
	err := exists(ctx, tx, "", `SELECT 1 FROM agreements a WHERE a.talk_id = $1 AND NOT EXISTS (
		SELECT 1 FROM handoffs h WHERE h.talk_id = a.talk_id AND h.proposal_id = $2 AND a.proposal_id <> $2)`, talkID, proposalID)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("find agreement: %w", err)
	}
	return talks.Errorf(talks.ECONFLICT, "The talk is agreed; its text no longer changes.")
}

// nextRevision is the revision of a talk's next disclosure plan ($1): one
// more than its current plan's or, if it has none (none yet, or its
// agreement was reopened), than the number of plans ever proposed, so that
// a revision, which a consent's signed statement names, is never used twice
// in a talk.
const nextRevision = `SELECT COALESCE((SELECT revision FROM disclosures WHERE talk_id = $1),
	(SELECT COUNT(*) FROM events WHERE talk_id = $1 AND type = 'disclosure.proposed')) + 1`

// ProposeDisclosure implements talks.Store.
func (s *Store) ProposeDisclosure(ctx context.Context, d *talks.Disclosure, trackID int64, st talks.Stamp) error {
	terms, err := json.Marshal(d.Terms)
	if err != nil {
		return fmt.Errorf("encode terms: %w", err)
	}
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, d.TalkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "Talk not found.", `SELECT 1 FROM talks WHERE id = $1`, d.TalkID); err != nil {
			return err
		}
		var rev int64
		if err := tx.QueryRowContext(ctx, nextRevision, d.TalkID).Scan(&rev); err != nil {
			return fmt.Errorf("find disclosure: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM disclosure_consents WHERE talk_id = $1`, d.TalkID); err != nil {
			return fmt.Errorf("clear consents: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO disclosures (talk_id, revision, version_id, terms, show_title, embargo, proposed_by, proposed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (talk_id) DO UPDATE SET revision = excluded.revision, version_id = excluded.version_id, terms = excluded.terms,
				show_title = excluded.show_title, embargo = excluded.embargo, proposed_by = excluded.proposed_by, proposed_at = excluded.proposed_at`,
			d.TalkID, rev, d.VersionID, terms, d.ShowTitle, formatTime(d.Embargo), d.ProposedBy, formatTime(at)); err != nil {
			return fmt.Errorf("store disclosure: %w", err)
		}
		if err := record(ctx, tx, d.TalkID, trackID, talks.EventDisclosureProposed, st, talks.DisclosureProposed{
			Revision: rev, VersionID: d.VersionID, Terms: d.Terms, ShowTitle: d.ShowTitle,
			Embargo: talks.Timestamp(d.Embargo), MemberID: d.ProposedBy}); err != nil {
			return err
		}
		d.Revision, d.ProposedAt, d.Consents, d.Embargo = rev, at, nil, talks.Timestamp(d.Embargo)
		return nil
	})
}

// ConsentDisclosure implements talks.Store.
func (s *Store) ConsentDisclosure(ctx context.Context, talkID, rev int64, c *talks.DisclosureConsent, trackID int64, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM disclosures WHERE talk_id = $1`, talkID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Disclosure plan not found.")
		} else if err != nil {
			return fmt.Errorf("find disclosure: %w", err)
		} else if cur != rev {
			return talks.Errorf(talks.ECONFLICT, "The plan has changed (now revision %d); read it again before consenting.", cur)
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM disclosure_consents WHERE talk_id = $1 AND party_id = $2`, talkID, c.PartyID); err == nil {
			return talks.Errorf(talks.ECONFLICT, "Your party has already consented to this plan.")
		} else if talks.ErrorCode(err) != talks.ENOTFOUND {
			return fmt.Errorf("find consent: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO disclosure_consents (talk_id, party_id, member_id, consented_at) VALUES ($1, $2, $3, $4)`,
			talkID, c.PartyID, c.MemberID, formatTime(at)); err != nil {
			return fmt.Errorf("insert consent: %w", err)
		}
		if err := record(ctx, tx, talkID, trackID, talks.EventDisclosureConsented, st, talks.DisclosureConsented{
			Revision: rev, PartyID: c.PartyID, MemberID: c.MemberID}); err != nil {
			return err
		}
		c.ConsentedAt = at
		return nil
	})
}

// FindDisclosure implements talks.Store.
func (s *Store) FindDisclosure(ctx context.Context, talkID int64) (*talks.Disclosure, error) {
	var d *talks.Disclosure
	err := s.view(ctx, func(tx *readTx) error {
		d = &talks.Disclosure{TalkID: talkID}
		var terms []byte
		var embargo, proposed string
		err := tx.QueryRowContext(ctx, `SELECT revision, version_id, terms, show_title, embargo, proposed_by, proposed_at FROM disclosures WHERE talk_id = $1`, talkID).
			Scan(&d.Revision, &d.VersionID, &terms, &d.ShowTitle, &embargo, &d.ProposedBy, &proposed)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Disclosure plan not found.")
		} else if err != nil {
			return fmt.Errorf("find disclosure: %w", err)
		}
		if err := json.Unmarshal(terms, &d.Terms); err != nil {
			return fmt.Errorf("decode terms: %w", err)
		}
		if d.Embargo, err = parseTime(embargo); err != nil {
			return err
		}
		if d.ProposedAt, err = parseTime(proposed); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT party_id, member_id, consented_at FROM disclosure_consents WHERE talk_id = $1 ORDER BY party_id`, talkID)
		if err != nil {
			return fmt.Errorf("find consents: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c talks.DisclosureConsent
			var at string
			if err := rows.Scan(&c.PartyID, &c.MemberID, &at); err != nil {
				return err
			}
			if c.ConsentedAt, err = parseTime(at); err != nil {
				return err
			}
			d.Consents = append(d.Consents, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// CarryAgreement implements talks.Store.
func (s *Store) CarryAgreement(ctx context.Context, p *talks.Proposal, v *talks.Version, h *talks.Handoff, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		var talkID int64
		err := tx.QueryRowContext(ctx, `SELECT talk_id FROM tracks WHERE id = $1 AND kind = 'official'`, p.TrackID).Scan(&talkID)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Track not found.")
		} else if err != nil {
			return fmt.Errorf("find track: %w", err)
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM agreements a JOIN tracks t ON t.id = a.track_id
			WHERE a.talk_id = $1 AND t.kind <> 'official'`, talkID); talks.ErrorCode(err) == talks.ENOTFOUND {
			return talks.Errorf(talks.ECONFLICT, "Only a back-channel agreement is carried into the official track.")
		} else if err != nil {
			return fmt.Errorf("find agreement: %w", err)
		}
		if err := exists(ctx, tx, "", `SELECT 1 FROM handoffs WHERE talk_id = $1`, talkID); err == nil {
			return talks.Errorf(talks.ECONFLICT, "The agreement has already been carried into the official track.")
		} else if talks.ErrorCode(err) != talks.ENOTFOUND {
			return fmt.Errorf("find hand-off: %w", err)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO proposals (talk_id, track_id, title, author_id, created_at, carried) VALUES ($1, $2, $3, $4, $5, 1) RETURNING id`,
			talkID, p.TrackID, p.Title, p.AuthorID, formatTime(at)).Scan(&id); err != nil {
			return fmt.Errorf("insert proposal: %w", err)
		}
		if err := record(ctx, tx, talkID, p.TrackID, talks.EventProposalCreated, st, talks.ProposalCreated{ProposalID: id, Title: p.Title, AuthorID: p.AuthorID}); err != nil {
			return err
		}
		v.ProposalID, v.ParentID = id, 0
		if err := insertVersion(ctx, tx, talkID, p.TrackID, v, st); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO handoffs (talk_id, proposal_id, member_id, carried_at) VALUES ($1, $2, $3, $4)`,
			talkID, id, h.MemberID, formatTime(at)); err != nil {
			return fmt.Errorf("insert hand-off: %w", err)
		}
		if err := record(ctx, tx, talkID, p.TrackID, talks.EventProposalCarried, st, talks.ProposalCarried{ProposalID: id, MemberID: h.MemberID}); err != nil {
			return err
		}
		p.ID, p.TalkID, p.CreatedAt, p.Carried = id, talkID, at, true
		h.TalkID, h.ProposalID, h.CarriedAt = talkID, id, at
		return nil
	})
}

// FindHandoff implements talks.Store.
func (s *Store) FindHandoff(ctx context.Context, talkID int64) (*talks.Handoff, error) {
	h := talks.Handoff{TalkID: talkID}
	var at string
	err := s.read.QueryRowContext(ctx, `SELECT proposal_id, member_id, carried_at FROM handoffs WHERE talk_id = $1`, talkID).Scan(&h.ProposalID, &h.MemberID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Hand-off not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find hand-off: %w", err))
	}
	if h.CarriedAt, err = parseTime(at); err != nil {
		return nil, err
	}
	return &h, nil
}

// RecordAgreementRead implements talks.Store.
func (s *Store) RecordAgreementRead(ctx context.Context, r *talks.AgreementRead) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		return tx.QueryRowContext(ctx, `INSERT INTO agreement_reads (talk_id, member_id, read_at) VALUES ($1, $2, $3) RETURNING id`,
			r.TalkID, r.MemberID, formatTime(r.ReadAt)).Scan(&r.ID)
	})
}

// FindAgreementReads implements talks.Store.
func (s *Store) FindAgreementReads(ctx context.Context, talkID int64, limit int) ([]*talks.AgreementRead, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, member_id, read_at FROM agreement_reads WHERE talk_id = $1 ORDER BY id DESC LIMIT $2`, talkID, limit)
	if err != nil {
		return nil, translate(fmt.Errorf("find reads: %w", err))
	}
	defer rows.Close()
	var a []*talks.AgreementRead
	for rows.Next() {
		r := &talks.AgreementRead{TalkID: talkID}
		var at string
		if err := rows.Scan(&r.ID, &r.MemberID, &at); err != nil {
			return nil, translate(err)
		}
		if r.ReadAt, err = parseTime(at); err != nil {
			return nil, err
		}
		a = append(a, r)
	}
	return a, translate(rows.Err())
}
