package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

// Disclosure plans, hand-offs and agreement reads (see talks/disclosure.go).

// settledFor returns ECONFLICT if the locked talk has an agreement and
// proposal proposalID is not the carried proposal still waiting for
// answers: the one text of an agreed talk that still changes.
func (tx *txn) settledFor(ctx context.Context, proposalID int64) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM agreements a WHERE a.talk_id = $1 AND NOT EXISTS (
		SELECT 1 FROM handoffs h WHERE h.talk_id = a.talk_id AND h.proposal_id = $2 AND a.proposal_id <> $2)`, tx.talkID, proposalID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("find agreement: %w", err)
	}
	return errSettled
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
	embargo := talks.Timestamp(d.Embargo)
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, d.TalkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var rev int64
		if err := tx.QueryRow(ctx, nextRevision, d.TalkID).Scan(&rev); err != nil {
			return fmt.Errorf("find disclosure: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM disclosure_consents WHERE talk_id = $1`, d.TalkID); err != nil {
			return fmt.Errorf("clear consents: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO disclosures (talk_id, revision, version_id, terms, show_title, embargo, proposed_by, proposed_at)
			VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
			ON CONFLICT (talk_id) DO UPDATE SET revision = excluded.revision, version_id = excluded.version_id, terms = excluded.terms,
				show_title = excluded.show_title, embargo = excluded.embargo, proposed_by = excluded.proposed_by, proposed_at = excluded.proposed_at`,
			d.TalkID, rev, d.VersionID, string(terms), d.ShowTitle, embargo, d.ProposedBy, at); err != nil {
			return fmt.Errorf("store disclosure: %w", err)
		}
		if err := tx.record(ctx, trackID, talks.EventDisclosureProposed, st, talks.DisclosureProposed{
			Revision: rev, VersionID: d.VersionID, Terms: d.Terms, ShowTitle: d.ShowTitle,
			Embargo: embargo, MemberID: d.ProposedBy}); err != nil {
			return err
		}
		d.Revision, d.ProposedAt, d.Consents, d.Embargo = rev, at, nil, embargo
		return nil
	})
}

// ConsentDisclosure implements talks.Store.
func (s *Store) ConsentDisclosure(ctx context.Context, talkID, rev int64, c *talks.DisclosureConsent, trackID int64, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var cur int64
		var consented bool
		err := tx.QueryRow(ctx, `SELECT revision, EXISTS (SELECT 1 FROM disclosure_consents WHERE talk_id = $1 AND party_id = $2)
			FROM disclosures WHERE talk_id = $1`, talkID, c.PartyID).Scan(&cur, &consented)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return talks.Errorf(talks.ENOTFOUND, "Disclosure plan not found.")
		case err != nil:
			return fmt.Errorf("find disclosure: %w", err)
		case cur != rev:
			return talks.Errorf(talks.ECONFLICT, "The plan has changed (now revision %d); read it again before consenting.", cur)
		case consented:
			return talks.Errorf(talks.ECONFLICT, "Your party has already consented to this plan.")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO disclosure_consents (talk_id, party_id, member_id, consented_at) VALUES ($1, $2, $3, $4)`,
			talkID, c.PartyID, c.MemberID, at); err != nil {
			return fmt.Errorf("insert consent: %w", err)
		}
		if err := tx.record(ctx, trackID, talks.EventDisclosureConsented, st, talks.DisclosureConsented{
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
	err := s.view(ctx, func(tx pgx.Tx) error {
		d = &talks.Disclosure{TalkID: talkID}
		var terms []byte
		err := tx.QueryRow(ctx, `SELECT revision, version_id, terms, show_title, embargo, proposed_by, proposed_at FROM disclosures WHERE talk_id = $1`, talkID).
			Scan(&d.Revision, &d.VersionID, &terms, &d.ShowTitle, &d.Embargo, &d.ProposedBy, &d.ProposedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Disclosure plan not found.")
		} else if err != nil {
			return fmt.Errorf("find disclosure: %w", err)
		}
		if err := json.Unmarshal(terms, &d.Terms); err != nil {
			return fmt.Errorf("decode terms: %w", err)
		}
		d.Embargo, d.ProposedAt = d.Embargo.UTC(), d.ProposedAt.UTC()
		rows, err := tx.Query(ctx, `SELECT party_id, member_id, consented_at FROM disclosure_consents WHERE talk_id = $1 ORDER BY party_id`, talkID)
		if err != nil {
			return fmt.Errorf("find consents: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c talks.DisclosureConsent
			if err := rows.Scan(&c.PartyID, &c.MemberID, &c.ConsentedAt); err != nil {
				return err
			}
			c.ConsentedAt = c.ConsentedAt.UTC()
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
	return s.update(ctx, func(tx *txn) error {
		var talkID int64
		err := tx.QueryRow(ctx, `SELECT talk_id FROM tracks WHERE id = $1 AND kind = 'official'`, p.TrackID).Scan(&talkID)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Track not found.")
		} else if err != nil {
			return fmt.Errorf("find track: %w", err)
		}
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		}
		if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		var backchannel, carried bool
		if err := tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM agreements a JOIN tracks t ON t.id = a.track_id WHERE a.talk_id = $1 AND t.kind <> 'official'),
				EXISTS (SELECT 1 FROM handoffs WHERE talk_id = $1)`, talkID).Scan(&backchannel, &carried); err != nil {
			return fmt.Errorf("find agreement: %w", err)
		}
		if !backchannel {
			return talks.Errorf(talks.ECONFLICT, "Only a back-channel agreement is carried into the official track.")
		} else if carried {
			return talks.Errorf(talks.ECONFLICT, "The agreement has already been carried into the official track.")
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO proposals (talk_id, track_id, title, author_id, created_at, carried) VALUES ($1, $2, $3, $4, $5, true) RETURNING id`,
			talkID, p.TrackID, p.Title, p.AuthorID, at).Scan(&id); err != nil {
			return fmt.Errorf("insert proposal: %w", err)
		}
		if err := tx.record(ctx, p.TrackID, talks.EventProposalCreated, st, talks.ProposalCreated{ProposalID: id, Title: p.Title, AuthorID: p.AuthorID}); err != nil {
			return err
		}
		v.ProposalID, v.ParentID = id, 0
		if err := tx.insertVersion(ctx, p.TrackID, v, st); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO handoffs (talk_id, proposal_id, member_id, carried_at) VALUES ($1, $2, $3, $4)`,
			talkID, id, h.MemberID, at); err != nil {
			return fmt.Errorf("insert hand-off: %w", err)
		}
		if err := tx.record(ctx, p.TrackID, talks.EventProposalCarried, st, talks.ProposalCarried{ProposalID: id, MemberID: h.MemberID}); err != nil {
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
	err := s.pool.QueryRow(ctx, `SELECT proposal_id, member_id, carried_at FROM handoffs WHERE talk_id = $1`, talkID).Scan(&h.ProposalID, &h.MemberID, &h.CarriedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Hand-off not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find hand-off: %w", err))
	}
	h.CarriedAt = h.CarriedAt.UTC()
	return &h, nil
}

// RecordAgreementRead implements talks.Store. It takes no lock on the
// talk: a read record is no event.
func (s *Store) RecordAgreementRead(ctx context.Context, r *talks.AgreementRead) error {
	err := s.pool.QueryRow(ctx, `INSERT INTO agreement_reads (talk_id, member_id, read_at) VALUES ($1, $2, $3) RETURNING id`,
		r.TalkID, r.MemberID, talks.Timestamp(r.ReadAt)).Scan(&r.ID)
	return translate(err)
}

// FindAgreementReads implements talks.Store.
func (s *Store) FindAgreementReads(ctx context.Context, talkID int64, limit int) ([]*talks.AgreementRead, error) {
	q := `SELECT id, member_id, read_at FROM agreement_reads WHERE talk_id = $1 ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.pool.Query(ctx, q, talkID)
	if err != nil {
		return nil, translate(fmt.Errorf("find reads: %w", err))
	}
	defer rows.Close()
	var a []*talks.AgreementRead
	for rows.Next() {
		r := &talks.AgreementRead{TalkID: talkID}
		if err := rows.Scan(&r.ID, &r.MemberID, &r.ReadAt); err != nil {
			return nil, translate(err)
		}
		r.ReadAt = r.ReadAt.UTC()
		a = append(a, r)
	}
	return a, translate(rows.Err())
}
