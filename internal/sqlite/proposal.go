package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// settled returns ECONFLICT if talk talkID has an agreement.
func settled(ctx context.Context, tx *txn, talkID int64) error {
	agreed, ok := lookup(tx.learnt.agreed, tx.known.agreed, talkID)
	if !ok {
		err := exists(ctx, tx, "", `SELECT 1 FROM agreements WHERE talk_id = $1`, talkID)
		if err != nil && talks.ErrorCode(err) != talks.ENOTFOUND {
			return fmt.Errorf("find agreement: %w", err)
		}
		agreed = err == nil
		tx.learnt.agreed[talkID] = agreed
	}
	if agreed {
		return talks.Errorf(talks.ECONFLICT, "The talk is agreed; its text no longer changes.")
	}
	return nil
}

func encodeText(m map[string]string) ([]byte, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode version: %w", err)
	}
	return b, nil
}

func decodeText(b []byte) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode version: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// insertVersion inserts v into proposal v.ProposalID of talk talkID and
// appends version.proposed on track trackID.
func insertVersion(ctx context.Context, tx *txn, talkID, trackID int64, v *talks.Version, st talks.Stamp) error {
	if len(v.Clauses) == 0 {
		v.Clauses = nil
	}
	vals, err := encodeText(v.Values)
	if err != nil {
		return err
	}
	clauses, err := encodeText(v.Clauses)
	if err != nil {
		return err
	}
	var parent any
	if v.ParentID != 0 {
		parent = v.ParentID
	}
	at := talks.Timestamp(st.Time)
	id, err := tx.insert(ctx, `INSERT INTO versions (talk_id, proposal_id, parent_id, vals, clauses, rationale, author_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		talkID, v.ProposalID, parent, vals, clauses, v.Rationale, v.AuthorID, formatTime(at))
	if err != nil {
		return fmt.Errorf("insert version: %w", err)
	}
	if err := record(ctx, tx, talkID, trackID, talks.EventVersionProposed, st, talks.VersionProposed{
		VersionID: id, ProposalID: v.ProposalID, ParentID: v.ParentID, Values: v.Values,
		Clauses: v.Clauses, Rationale: v.Rationale, AuthorID: v.AuthorID}); err != nil {
		return err
	}
	v.ID, v.CreatedAt = id, at
	tx.learnt.places[id] = place{talkID, v.ProposalID, trackID} // countered next, as likely as not
	return nil
}

// insertAnswer inserts a into talk talkID and appends answer.given on
// track trackID. The member must belong to a's party.
func insertAnswer(ctx context.Context, tx *txn, talkID, trackID int64, a *talks.Answer, st talks.Stamp) error {
	party, err := memberParty(ctx, tx, a.MemberID, talkID)
	if talks.ErrorCode(err) == talks.ENOTFOUND || (err == nil && party != a.PartyID) {
		return talks.Errorf(talks.EINVALID, "The answering member is not of the answering party.")
	} else if err != nil {
		return err
	}
	var counter any
	if a.CounterID != 0 {
		counter = a.CounterID
	}
	at := talks.Timestamp(st.Time)
	id, err := tx.insert(ctx, `INSERT INTO answers (talk_id, proposal_id, version_id, party_id, member_id, kind, counter_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		talkID, a.ProposalID, a.VersionID, a.PartyID, a.MemberID, a.Kind, counter, formatTime(at))
	if err != nil {
		if talks.ErrorCode(translate(err)) == talks.ECONFLICT {
			// answers_one_standing: a party's one standing answer.
			return talks.Errorf(talks.ECONFLICT, "The party has already answered this version; withdraw that answer first.")
		}
		return fmt.Errorf("insert answer: %w", err)
	}
	if err := record(ctx, tx, talkID, trackID, talks.EventAnswerGiven, st, talks.AnswerGiven{
		AnswerID: id, VersionID: a.VersionID, PartyID: a.PartyID, MemberID: a.MemberID, Kind: a.Kind, CounterID: a.CounterID}); err != nil {
		return err
	}
	a.ID, a.CreatedAt, a.WithdrawnAt = id, at, time.Time{}
	return nil
}

// CreateProposal implements talks.Store.
func (s *Store) CreateProposal(ctx context.Context, p *talks.Proposal, v *talks.Version, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		talkID, err := trackTalk(ctx, tx, p.TrackID)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		} else if err := settled(ctx, tx, talkID); err != nil {
			return err
		} else if err := checkMandateRead(ctx, tx, st); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO proposals (talk_id, track_id, title, author_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
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
		p.ID, p.TalkID, p.CreatedAt = id, talkID, at
		return nil
	})
}

// versionPlace returns the talk, proposal and track of version id, or
// ENOTFOUND.
func versionPlace(ctx context.Context, tx *txn, id int64) (talkID, proposalID, trackID int64, err error) {
	if p, ok := lookup(tx.learnt.places, tx.known.places, id); ok {
		return p.talkID, p.proposalID, p.trackID, nil
	}
	err = tx.QueryRowContext(ctx, `SELECT p.talk_id, p.id, p.track_id FROM versions v JOIN proposals p ON p.id = v.proposal_id WHERE v.id = $1`, id).
		Scan(&talkID, &proposalID, &trackID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, 0, talks.Errorf(talks.ENOTFOUND, "Version not found.")
	} else if err != nil {
		return 0, 0, 0, fmt.Errorf("find version: %w", err)
	}
	tx.learnt.places[id] = place{talkID, proposalID, trackID}
	return talkID, proposalID, trackID, nil
}

// ProposeVersion implements talks.Store.
func (s *Store) ProposeVersion(ctx context.Context, v *talks.Version, counter *talks.Answer, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		talkID, proposalID, trackID, err := versionPlace(ctx, tx, v.ParentID)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		} else if err := settled(ctx, tx, talkID); err != nil {
			return err
		} else if err := checkMandateRead(ctx, tx, st); err != nil {
			return err
		}
		v.ProposalID = proposalID
		if err := insertVersion(ctx, tx, talkID, trackID, v, st); err != nil {
			return err
		}
		if counter == nil {
			return nil
		}
		counter.ProposalID, counter.VersionID, counter.Kind, counter.CounterID = proposalID, v.ParentID, talks.AnswerCounter, v.ID
		return insertAnswer(ctx, tx, talkID, trackID, counter, st)
	})
}

// AnswerVersion implements talks.Store.
func (s *Store) AnswerVersion(ctx context.Context, a *talks.Answer, st talks.Stamp) error {
	if a.Kind != talks.AnswerAccept && a.Kind != talks.AnswerReject {
		return talks.Errorf(talks.EINVALID, "Answer %q is not accept or reject.", a.Kind)
	}
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		talkID, proposalID, trackID, err := versionPlace(ctx, tx, a.VersionID)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		} else if err := settledFor(ctx, tx, talkID, proposalID); err != nil {
			return err
		} else if err := checkMandateRead(ctx, tx, st); err != nil {
			return err
		}
		a.ProposalID, a.CounterID = proposalID, 0
		if err := insertAnswer(ctx, tx, talkID, trackID, a, st); err != nil {
			return err
		}
		if a.Kind != talks.AnswerAccept {
			return nil
		}
		// The agreement is decided in the transaction of the last
		// acceptance, so two parties accepting at once cannot both miss it.
		var parties, pending int
		if err := tx.QueryRowContext(ctx, `
			SELECT COUNT(*), COUNT(*) FILTER (WHERE id NOT IN (
				SELECT party_id FROM answers WHERE version_id = $2 AND kind = 'accept' AND withdrawn_at IS NULL))
			FROM parties WHERE talk_id = $1`, talkID, a.VersionID).Scan(&parties, &pending); err != nil {
			return fmt.Errorf("count acceptances: %w", err)
		}
		if parties == 0 || pending > 0 {
			return nil
		}
		// A carried proposal's agreement replaces the back-channel's.
		tx.forgetAgreed(talkID)
		if _, err := tx.ExecContext(ctx, `INSERT INTO agreements (talk_id, proposal_id, version_id, track_id, agreed_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (talk_id) DO UPDATE SET proposal_id = excluded.proposal_id, version_id = excluded.version_id,
				track_id = excluded.track_id, agreed_at = excluded.agreed_at`,
			talkID, proposalID, a.VersionID, trackID, formatTime(st.Time)); err != nil {
			return fmt.Errorf("insert agreement: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE talks SET status = 'agreed' WHERE id = $1 AND status <> 'ratified'`, talkID); err != nil {
			return fmt.Errorf("update talk: %w", err)
		}
		return record(ctx, tx, talkID, trackID, talks.EventTalkAgreed, st, talks.TalkAgreed{ProposalID: proposalID, VersionID: a.VersionID})
	})
}

// WithdrawAnswer implements talks.Store.
func (s *Store) WithdrawAnswer(ctx context.Context, id int64, st talks.Stamp) error {
	return s.update(ctx, func(ctx context.Context, tx *txn) error {
		var talkID, trackID, proposalID int64
		var withdrawn sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT a.talk_id, p.track_id, a.withdrawn_at, p.id FROM answers a JOIN proposals p ON p.id = a.proposal_id WHERE a.id = $1`, id).
			Scan(&talkID, &trackID, &withdrawn, &proposalID)
		if errors.Is(err, sql.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Answer not found.")
		} else if err != nil {
			return fmt.Errorf("find answer: %w", err)
		} else if withdrawn.Valid {
			return talks.Errorf(talks.ECONFLICT, "Answer already withdrawn.")
		}
		if err := checkView(ctx, tx, talkID, st); err != nil {
			return err
		} else if err := settledFor(ctx, tx, talkID, proposalID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE answers SET withdrawn_at = $1 WHERE id = $2`, formatTime(st.Time), id); err != nil {
			return fmt.Errorf("withdraw answer: %w", err)
		}
		return record(ctx, tx, talkID, trackID, talks.EventAnswerWithdrawn, st, talks.AnswerWithdrawn{AnswerID: id})
	})
}

// FindProposalByID implements talks.Store.
func (s *Store) FindProposalByID(ctx context.Context, id int64) (*talks.Proposal, error) {
	a, err := s.findProposals(ctx, `id = $1`, id)
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Proposal not found.")
	}
	return a[0], nil
}

// FindProposals implements talks.Store.
func (s *Store) FindProposals(ctx context.Context, f talks.ProposalFilter) ([]*talks.Proposal, error) {
	if f.TrackID != 0 {
		return s.findProposals(ctx, `talk_id = $1 AND track_id = $2`, f.TalkID, f.TrackID)
	}
	return s.findProposals(ctx, `talk_id = $1`, f.TalkID)
}

func (s *Store) findProposals(ctx context.Context, where string, args ...any) ([]*talks.Proposal, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, talk_id, track_id, title, author_id, created_at, carried FROM proposals WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find proposals: %w", err))
	}
	defer rows.Close()
	var a []*talks.Proposal
	for rows.Next() {
		var p talks.Proposal
		var created string
		if err := rows.Scan(&p.ID, &p.TalkID, &p.TrackID, &p.Title, &p.AuthorID, &created, &p.Carried); err != nil {
			return nil, translate(err)
		}
		if p.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		a = append(a, &p)
	}
	return a, translate(rows.Err())
}

// FindVersionByID implements talks.Store.
func (s *Store) FindVersionByID(ctx context.Context, id int64) (*talks.Version, error) {
	a, err := s.findVersions(ctx, `id = $1`, id)
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Version not found.")
	}
	return a[0], nil
}

// FindVersions implements talks.Store.
func (s *Store) FindVersions(ctx context.Context, f talks.VersionFilter) ([]*talks.Version, error) {
	return s.findVersions(ctx, `proposal_id = $1`, f.ProposalID)
}

func (s *Store) findVersions(ctx context.Context, where string, args ...any) ([]*talks.Version, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, proposal_id, COALESCE(parent_id, 0), vals, clauses, rationale, author_id, created_at FROM versions WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find versions: %w", err))
	}
	defer rows.Close()
	var a []*talks.Version
	for rows.Next() {
		var v talks.Version
		var vals, clauses []byte
		var created string
		if err := rows.Scan(&v.ID, &v.ProposalID, &v.ParentID, &vals, &clauses, &v.Rationale, &v.AuthorID, &created); err != nil {
			return nil, translate(err)
		}
		if v.Values, err = decodeText(vals); err != nil {
			return nil, err
		}
		if v.Clauses, err = decodeText(clauses); err != nil {
			return nil, err
		}
		if v.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		a = append(a, &v)
	}
	return a, translate(rows.Err())
}

// FindAnswerByID implements talks.Store.
func (s *Store) FindAnswerByID(ctx context.Context, id int64) (*talks.Answer, error) {
	a, err := s.findAnswers(ctx, `id = $1`, id)
	if err != nil {
		return nil, err
	} else if len(a) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "Answer not found.")
	}
	return a[0], nil
}

// FindAnswers implements talks.Store.
func (s *Store) FindAnswers(ctx context.Context, f talks.AnswerFilter) ([]*talks.Answer, error) {
	if f.VersionID != 0 {
		return s.findAnswers(ctx, `version_id = $1`, f.VersionID)
	}
	return s.findAnswers(ctx, `version_id IN (SELECT id FROM versions WHERE proposal_id = $1)`, f.ProposalID)
}

func (s *Store) findAnswers(ctx context.Context, where string, args ...any) ([]*talks.Answer, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, proposal_id, version_id, party_id, member_id, kind, COALESCE(counter_id, 0), created_at, withdrawn_at
		FROM answers WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find answers: %w", err))
	}
	defer rows.Close()
	var a []*talks.Answer
	for rows.Next() {
		var an talks.Answer
		var created string
		var withdrawn sql.NullString
		if err := rows.Scan(&an.ID, &an.ProposalID, &an.VersionID, &an.PartyID, &an.MemberID, &an.Kind, &an.CounterID, &created, &withdrawn); err != nil {
			return nil, translate(err)
		}
		if an.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if withdrawn.Valid {
			if an.WithdrawnAt, err = parseTime(withdrawn.String); err != nil {
				return nil, err
			}
		}
		a = append(a, &an)
	}
	return a, translate(rows.Err())
}

// FindAgreement implements talks.Store.
func (s *Store) FindAgreement(ctx context.Context, talkID int64) (*talks.Agreement, error) {
	var ag talks.Agreement
	var at string
	err := s.read.QueryRowContext(ctx, `SELECT talk_id, proposal_id, version_id, track_id, agreed_at FROM agreements WHERE talk_id = $1`, talkID).
		Scan(&ag.TalkID, &ag.ProposalID, &ag.VersionID, &ag.TrackID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Agreement not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find agreement: %w", err))
	}
	if ag.AgreedAt, err = parseTime(at); err != nil {
		return nil, err
	}
	return &ag, nil
}
