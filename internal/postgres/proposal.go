package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backchannel/backchannel/internal/talks"
)

// settled returns ECONFLICT if the locked talk has an agreement.
func (tx *txn) settled(ctx context.Context) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM agreements WHERE talk_id = $1`, tx.talkID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("find agreement: %w", err)
	}
	return errSettled
}

var (
	errSettled    = talks.Errorf(talks.ECONFLICT, "The talk is agreed; its text no longer changes.")
	errNotOfParty = talks.Errorf(talks.EINVALID, "The answering member is not of the answering party.")
	errAnswered   = talks.Errorf(talks.ECONFLICT, "The party has already answered this version; withdraw that answer first.")

	// counterChecks are the errors of a counter-proposal's checks, by the
	// reasons they refuse it with (refuse).
	counterChecks = map[string]error{
		"stale":       talks.ErrStaleView,
		"settled":     errSettled,
		"party":       errNotOfParty,
		"answered":    errAnswered,
		"mandate":     talks.ErrMandateChanged,
		"preferences": talks.ErrPreferencesChanged,
		"key":         talks.ErrKeyReleased,
	}
)

func encodeText(m map[string]string) (string, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode version: %w", err)
	}
	return string(b), nil
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

// encodeVersion returns v's values and clauses as stored, and drops v's
// clauses if there are none.
func encodeVersion(v *talks.Version) (vals, clauses string, err error) {
	if len(v.Clauses) == 0 {
		v.Clauses = nil
	}
	if vals, err = encodeText(v.Values); err != nil {
		return "", "", err
	}
	if clauses, err = encodeText(v.Clauses); err != nil {
		return "", "", err
	}
	return vals, clauses, nil
}

// insertVersion inserts v into proposal v.ProposalID of the locked talk and
// appends version.proposed on track trackID.
func (tx *txn) insertVersion(ctx context.Context, trackID int64, v *talks.Version, st talks.Stamp) error {
	vals, clauses, err := encodeVersion(v)
	if err != nil {
		return err
	}
	var parent *int64
	if v.ParentID != 0 {
		parent = &v.ParentID
	}
	at := talks.Timestamp(st.Time)
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO versions (talk_id, proposal_id, parent_id, vals, clauses, rationale, author_id, created_at)
		VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8) RETURNING id`,
		tx.talkID, v.ProposalID, parent, vals, clauses, v.Rationale, v.AuthorID, at).Scan(&id); err != nil {
		return fmt.Errorf("insert version: %w", err)
	}
	if err := tx.record(ctx, trackID, talks.EventVersionProposed, st, talks.VersionProposed{
		VersionID: id, ProposalID: v.ProposalID, ParentID: v.ParentID, Values: v.Values,
		Clauses: v.Clauses, Rationale: v.Rationale, AuthorID: v.AuthorID}); err != nil {
		return err
	}
	v.ID, v.CreatedAt = id, at
	return nil
}

// insertAnswer inserts a into the locked talk and appends answer.given on
// track trackID. The member must belong to a's party.
func (tx *txn) insertAnswer(ctx context.Context, trackID int64, a *talks.Answer, st talks.Stamp) error {
	var party *int64
	err := tx.QueryRow(ctx, `SELECT party_id FROM members WHERE id = $1 AND talk_id = $2`, a.MemberID, tx.talkID).Scan(&party)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (party == nil || *party != a.PartyID)) {
		return errNotOfParty
	} else if err != nil {
		return fmt.Errorf("find member: %w", err)
	}
	// The unique index backs this up; the check gives the reason.
	var one int
	err = tx.QueryRow(ctx, `SELECT 1 FROM answers WHERE version_id = $1 AND party_id = $2 AND withdrawn_at IS NULL`, a.VersionID, a.PartyID).Scan(&one)
	if err == nil {
		return errAnswered
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("find answer: %w", err)
	}
	var counter *int64
	if a.CounterID != 0 {
		counter = &a.CounterID
	}
	at := talks.Timestamp(st.Time)
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO answers (talk_id, proposal_id, version_id, party_id, member_id, kind, counter_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		tx.talkID, a.ProposalID, a.VersionID, a.PartyID, a.MemberID, string(a.Kind), counter, at).Scan(&id); err != nil {
		return fmt.Errorf("insert answer: %w", err)
	}
	if err := tx.record(ctx, trackID, talks.EventAnswerGiven, st, talks.AnswerGiven{
		AnswerID: id, VersionID: a.VersionID, PartyID: a.PartyID, MemberID: a.MemberID, Kind: a.Kind, CounterID: a.CounterID}); err != nil {
		return err
	}
	a.ID, a.CreatedAt, a.WithdrawnAt = id, at, time.Time{}
	return nil
}

// CreateProposal implements talks.Store.
func (s *Store) CreateProposal(ctx context.Context, p *talks.Proposal, v *talks.Version, st talks.Stamp) error {
	at := talks.Timestamp(st.Time)
	var talkID int64
	err := s.update(ctx, func(tx *txn) error {
		// A track never moves to another talk, so reading it before
		// locking the talk is safe.
		err := tx.QueryRow(ctx, `SELECT talk_id FROM tracks WHERE id = $1`, p.TrackID).Scan(&talkID)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Track not found.")
		} else if err != nil {
			return fmt.Errorf("find track: %w", err)
		}
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		} else if err := tx.checkView(ctx, st); err != nil {
			return err
		} else if err := tx.checkMandateRead(ctx, st); err != nil {
			return err
		}
		if err := tx.settled(ctx); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO proposals (talk_id, track_id, title, author_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
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
		p.ID, p.TalkID, p.CreatedAt = id, talkID, at
		return nil
	})
	if err == nil {
		// Committed: the first counter to the version finds its talk
		// without a round trip, as a counter to a counter does.
		s.versions.put(v.ID, place{talk: talkID, proposal: p.ID, track: p.TrackID})
	}
	return err
}

// lockVersion locks the talk of version id and returns its proposal and
// track, or ENOTFOUND. A version never
// moves, so finding its talk in the statement that locks the talk's head
// is safe.
func (tx *txn) lockVersion(ctx context.Context, id int64) (proposalID, trackID int64, err error) {
	var hash, fr []byte
	err = tx.QueryRow(ctx, `
		SELECT h.talk_id, h.seq, h.hash, h.frontier, p.id, p.track_id
		FROM versions v JOIN proposals p ON p.id = v.proposal_id JOIN event_heads h ON h.talk_id = p.talk_id
		WHERE v.id = $1 FOR UPDATE OF h`, id).Scan(&tx.talkID, &tx.seq, &hash, &fr, &proposalID, &trackID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, talks.Errorf(talks.ENOTFOUND, "Version not found.")
	} else if err != nil {
		return 0, 0, fmt.Errorf("lock talk of version %d: %w", id, err)
	}
	tx.locked(hash, fr)
	return proposalID, trackID, nil
}

// ProposeVersion implements talks.Store. A counter-proposal (counter set)
// takes two round trips while it holds the talk's head, besides the
// commit: one that locks the head (finding the talk from the parent
// version) and reserves the IDs of the version and the answer, and one
// pipelined batch that makes every check (under the lock, so it sees every
// write committed before: the Service's view (Stamp.View), the agreement,
// the member's party, a standing answer, the mandate and preferences read,
// and whether the server still holds the signer's key) and then the
// inserts. The inserts do not wait
// for the checks' answer: if a check fails, the write returns its error
// and what the inserts wrote is undone with the rest of the write (its
// savepoint, or its transaction), so it writes nothing. In a batch that
// already holds the talk's head, a counter-proposal to a version whose
// place the store knows takes only the second round trip: it starts from
// the head the batch's last write to the talk left, with IDs reserved for
// it under the lock (txn.resume): the first counter-proposal of the talk
// in the batch reserves those of every later one in the statement that
// locks the head. So the ones of a run need no result of each other
// before they are sent, and the committer sends their second round trips
// as one (pipeline). The first counter-proposal of a talk in a batch
// takes only the second too, if the store knows the parent's place and
// its last commit of the talk left IDs reserved: it starts from the head
// that commit left, and the statement that locks the head refuses if the
// head has moved since (txn.resumeKept). The parent's place is read
// before the write is queued if the store does not know it
// (versionPlace), so that the write can join a run. A run goes fused, if
// it may (fuse.go).
func (s *Store) ProposeVersion(ctx context.Context, v *talks.Version, counter *talks.Answer, st talks.Stamp) error {
	if counter != nil {
		return s.counter(ctx, v, counter, st)
	}
	return s.update(ctx, func(tx *txn) error {
		proposalID, trackID, err := tx.lockVersion(ctx, v.ParentID)
		if err != nil {
			return err
		} else if err := tx.checkView(ctx, st); err != nil {
			return err
		} else if err := tx.checkMandateRead(ctx, st); err != nil {
			return err
		}
		v.ProposalID = proposalID
		if err := tx.settled(ctx); err != nil {
			return err
		}
		return tx.insertVersion(ctx, trackID, v, st)
	})
}

// counter is ProposeVersion of a counter-proposal: v and counter, the
// party's answer to the parent.
func (s *Store) counter(ctx context.Context, v *talks.Version, counter *talks.Answer, st talks.Stamp) error {
	vals, clauses, err := encodeVersion(v)
	if err != nil {
		return err
	}
	at := talks.Timestamp(st.Time)
	var pl place // the parent's
	// queue queues on b the checks and inserts of the counter-proposal
	// after tx's head, with the IDs given, and returns the function that
	// reads their results.
	queue := func(tx *txn, b *pgx.Batch, proposalID, trackID, versionID, answerID int64) (func(pgx.BatchResults) error, error) {
		after, err := tx.viewLag(st)
		if err != nil {
			return nil, err
		}

		// The checks, made after the lock (a statement of their own, so
		// they see what the lock waited for, or every write committed
		// before the batch took it).
		var mr talks.MandateRead
		if st.Mandate != nil {
			mr = *st.Mandate
		}
		var signer string
		if sg := st.SignatureFor(talks.EventVersionProposed); sg != nil && !sg.ByClient() {
			// The key-release race check (serverHoldsKey) is made here, in
			// the same statement; a client's signature is recorded by next.
			signer, tx.keyChecked = sg.Signer, true
		}
		tx.reserve(b, "versions", "answers")
		// A check that fails fails its statement (refuse), and PostgreSQL
		// skips the rest of the write: so the first that fails, in the
		// order they are written, is the write's error. The envoy's
		// mandate and the key are checked only when the write carries
		// them.
		tx.queueRow(b, checkCounter, tx.talkID, counter.MemberID, v.ParentID, counter.PartyID, after)
		more := st.Mandate != nil || signer != ""
		if more {
			tx.queueRow(b, checkMandate, tx.talkID, mr.EnvoyID, mr.PartyID, signer, st.Mandate != nil, mr.Version, mr.Preferences, talks.KeyHolderServer)
		}
		tx.sqlOnly = true
		tx.queueRow(b, insertVersion, versionID, tx.talkID, proposalID, v.ParentID, vals, clauses, v.Rationale, v.AuthorID, at)
		if err := tx.queue(b, trackID, talks.EventVersionProposed, st, talks.VersionProposed{
			VersionID: versionID, ProposalID: proposalID, ParentID: v.ParentID, Values: v.Values,
			Clauses: v.Clauses, Rationale: v.Rationale, AuthorID: v.AuthorID}); err != nil {
			return nil, err
		}
		tx.queueRow(b, insertAnswer, answerID, tx.talkID, proposalID, v.ParentID, counter.PartyID, counter.MemberID, string(talks.AnswerCounter), versionID, at)
		if err := tx.queue(b, trackID, talks.EventAnswerGiven, st, talks.AnswerGiven{
			AnswerID: answerID, VersionID: v.ParentID, PartyID: counter.PartyID, MemberID: counter.MemberID,
			Kind: talks.AnswerCounter, CounterID: versionID}); err != nil {
			return nil, err
		}
		tx.apply = func() {
			tx.fresh(after)
			counter.ProposalID, counter.VersionID, counter.Kind, counter.CounterID = proposalID, v.ParentID, talks.AnswerCounter, versionID
			v.ProposalID, v.ID, v.CreatedAt = proposalID, versionID, at
			counter.ID, counter.CreatedAt, counter.WithdrawnAt = answerID, at, time.Time{}
		}
		return func(br pgx.BatchResults) error {
			if err := tx.readLead(br); err != nil {
				return err
			}
			if err := br.QueryRow().Scan(new(bool)); err != nil {
				return refused(fmt.Errorf("check counter: %w", err), counterChecks)
			}
			if more {
				if err := br.QueryRow().Scan(new(bool)); err != nil {
					return refused(fmt.Errorf("check counter: %w", err), counterChecks)
				}
			}
			for range 4 {
				if _, err := br.Exec(); err != nil {
					return fmt.Errorf("insert counter-proposal: %w", err)
				}
			}
			tx.apply()
			return nil
		}, nil
	}
	known, err := s.versionPlace(ctx, v.ParentID)
	if err != nil {
		return err
	}
	// pipe locks the head and reserves the IDs of the version and the
	// answer, and those of the later counter-proposals of the talk in the
	// batch, unless the batch holds the head with IDs reserved for it, and
	// then queues the counter-proposal on b.
	pipe := func(tx *txn, b *pgx.Batch) (func(pgx.BatchResults) error, error) {
		pl = known
		if ids, ok := tx.resume(pl.talk, "versions", "answers"); ok {
			return queue(tx, b, pl.proposal, pl.track, ids[0], ids[1])
		} else if tx.follows {
			return nil, errNotPiped
		} else if ids, ok := tx.resumeKept(b, pl.talk, "versions", "answers"); ok {
			return queue(tx, b, pl.proposal, pl.track, ids[0], ids[1])
		}
		// The IDs' subqueries refer to h, so that they run after the
		// lock (see PostMessage).
		var hash, fr []byte
		var proposalID, trackID int64
		var vids, aids []int64
		err := tx.QueryRow(ctx, `
			SELECT h.talk_id, h.seq, h.hash, h.frontier, p.id, p.track_id,
				ARRAY(SELECT nextval((SELECT pg_get_serial_sequence('versions', 'id')::regclass)) FROM generate_series(h.seq, h.seq + $2::int)),
				ARRAY(SELECT nextval((SELECT pg_get_serial_sequence('answers', 'id')::regclass)) FROM generate_series(h.seq, h.seq + $2::int))
			FROM versions v JOIN proposals p ON p.id = v.proposal_id JOIN event_heads h ON h.talk_id = p.talk_id
			WHERE v.id = $1 FOR UPDATE OF h`, v.ParentID, tx.toReserve(known.talk, "versions,answers")).Scan(
			&tx.talkID, &tx.seq, &hash, &fr, &proposalID, &trackID, &vids, &aids)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, talks.Errorf(talks.ENOTFOUND, "Version not found.")
		} else if err != nil {
			return nil, fmt.Errorf("lock talk of version %d: %w", v.ParentID, err)
		}
		tx.locked(hash, fr)
		pl = place{talk: tx.talkID, proposal: proposalID, track: trackID}
		tx.spare = spare{tables: "versions,answers"}
		for i := 1; i < len(vids); i++ {
			tx.spare.ids = append(tx.spare.ids, vids[i], aids[i])
		}
		return queue(tx, b, proposalID, trackID, vids[0], aids[0])
	}
	w := &write{talk: known.talk, tables: "versions,answers"}
	if sg := st.SignatureFor(talks.EventVersionProposed); (sg == nil || !sg.ByClient()) && st.SignatureFor(talks.EventAnswerGiven) == nil {
		// A client's signature is checked in a statement of its own (next).
		w.pipe = pipe
	}
	w.fn = alone(ctx, pipe, "insert counter-proposal")
	if err := s.commits.submit(ctx, w); err != nil {
		return err
	}
	// Both are committed: a counter to the new version, the next in a
	// chain of them, finds its talk without a round trip.
	s.versions.put(v.ParentID, pl)
	s.versions.put(v.ID, pl)
	return nil
}

// AnswerVersion implements talks.Store.
func (s *Store) AnswerVersion(ctx context.Context, a *talks.Answer, st talks.Stamp) error {
	if a.Kind != talks.AnswerAccept && a.Kind != talks.AnswerReject {
		return talks.Errorf(talks.EINVALID, "Answer %q is not accept or reject.", a.Kind)
	}
	return s.update(ctx, func(tx *txn) error {
		proposalID, trackID, err := tx.lockVersion(ctx, a.VersionID)
		if err != nil {
			return err
		} else if err := tx.checkView(ctx, st); err != nil {
			return err
		} else if err := tx.checkMandateRead(ctx, st); err != nil {
			return err
		}
		if err := tx.settledFor(ctx, proposalID); err != nil {
			return err
		}
		a.ProposalID, a.CounterID = proposalID, 0
		if err := tx.insertAnswer(ctx, trackID, a, st); err != nil {
			return err
		}
		if a.Kind != talks.AnswerAccept {
			return nil
		}
		// Under the talk's lock, this statement sees every answer committed
		// before it: two parties accepting at once cannot both miss the
		// agreement.
		var parties, pending int
		if err := tx.QueryRow(ctx, `
			SELECT COUNT(*), COUNT(*) FILTER (WHERE id NOT IN (
				SELECT party_id FROM answers WHERE version_id = $2 AND kind = 'accept' AND withdrawn_at IS NULL))
			FROM parties WHERE talk_id = $1`, tx.talkID, a.VersionID).Scan(&parties, &pending); err != nil {
			return fmt.Errorf("count acceptances: %w", err)
		}
		if parties == 0 || pending > 0 {
			return nil
		}
		// A carried proposal's agreement replaces the back-channel's.
		if _, err := tx.Exec(ctx, `INSERT INTO agreements (talk_id, proposal_id, version_id, track_id, agreed_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (talk_id) DO UPDATE SET proposal_id = excluded.proposal_id, version_id = excluded.version_id,
				track_id = excluded.track_id, agreed_at = excluded.agreed_at`,
			tx.talkID, proposalID, a.VersionID, trackID, talks.Timestamp(st.Time)); err != nil {
			return fmt.Errorf("insert agreement: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE talks SET status = 'agreed' WHERE id = $1 AND status <> 'ratified'`, tx.talkID); err != nil {
			return fmt.Errorf("update talk: %w", err)
		}
		return tx.record(ctx, trackID, talks.EventTalkAgreed, st, talks.TalkAgreed{ProposalID: proposalID, VersionID: a.VersionID})
	})
}

// WithdrawAnswer implements talks.Store.
func (s *Store) WithdrawAnswer(ctx context.Context, id int64, st talks.Stamp) error {
	return s.update(ctx, func(tx *txn) error {
		var talkID, trackID, proposalID int64
		err := tx.QueryRow(ctx, `SELECT a.talk_id, p.track_id, p.id FROM answers a JOIN proposals p ON p.id = a.proposal_id WHERE a.id = $1`, id).
			Scan(&talkID, &trackID, &proposalID)
		if errors.Is(err, pgx.ErrNoRows) {
			return talks.Errorf(talks.ENOTFOUND, "Answer not found.")
		} else if err != nil {
			return fmt.Errorf("find answer: %w", err)
		}
		if err := tx.lock(ctx, talkID); err != nil {
			return err
		} else if err := tx.checkView(ctx, st); err != nil {
			return err
		}
		if err := tx.settledFor(ctx, proposalID); err != nil {
			return err
		}
		// Under the lock, this sees any withdrawal committed before it.
		ct, err := tx.Exec(ctx, `UPDATE answers SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL`, talks.Timestamp(st.Time), id)
		if err != nil {
			return fmt.Errorf("withdraw answer: %w", err)
		} else if ct.RowsAffected() == 0 {
			return talks.Errorf(talks.ECONFLICT, "Answer already withdrawn.")
		}
		return tx.record(ctx, trackID, talks.EventAnswerWithdrawn, st, talks.AnswerWithdrawn{AnswerID: id})
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
	rows, err := s.pool.Query(ctx, `SELECT id, talk_id, track_id, title, author_id, created_at, carried FROM proposals WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find proposals: %w", err))
	}
	defer rows.Close()
	var a []*talks.Proposal
	for rows.Next() {
		var p talks.Proposal
		if err := rows.Scan(&p.ID, &p.TalkID, &p.TrackID, &p.Title, &p.AuthorID, &p.CreatedAt, &p.Carried); err != nil {
			return nil, translate(err)
		}
		p.CreatedAt = p.CreatedAt.UTC()
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
	rows, err := s.pool.Query(ctx, `SELECT id, proposal_id, COALESCE(parent_id, 0), vals::text, clauses::text, rationale, author_id, created_at FROM versions WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find versions: %w", err))
	}
	defer rows.Close()
	var a []*talks.Version
	for rows.Next() {
		var v talks.Version
		var vals, clauses string
		if err := rows.Scan(&v.ID, &v.ProposalID, &v.ParentID, &vals, &clauses, &v.Rationale, &v.AuthorID, &v.CreatedAt); err != nil {
			return nil, translate(err)
		}
		if v.Values, err = decodeText([]byte(vals)); err != nil {
			return nil, err
		}
		if v.Clauses, err = decodeText([]byte(clauses)); err != nil {
			return nil, err
		}
		v.CreatedAt = v.CreatedAt.UTC()
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
	rows, err := s.pool.Query(ctx, `SELECT id, proposal_id, version_id, party_id, member_id, kind, COALESCE(counter_id, 0), created_at, withdrawn_at
		FROM answers WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("find answers: %w", err))
	}
	defer rows.Close()
	var a []*talks.Answer
	for rows.Next() {
		var an talks.Answer
		var kind string
		var withdrawn *time.Time
		if err := rows.Scan(&an.ID, &an.ProposalID, &an.VersionID, &an.PartyID, &an.MemberID, &kind, &an.CounterID, &an.CreatedAt, &withdrawn); err != nil {
			return nil, translate(err)
		}
		an.Kind, an.CreatedAt = talks.AnswerKind(kind), an.CreatedAt.UTC()
		if withdrawn != nil {
			an.WithdrawnAt = withdrawn.UTC()
		}
		a = append(a, &an)
	}
	return a, translate(rows.Err())
}

// FindAgreement implements talks.Store.
func (s *Store) FindAgreement(ctx context.Context, talkID int64) (*talks.Agreement, error) {
	var ag talks.Agreement
	err := s.pool.QueryRow(ctx, `SELECT talk_id, proposal_id, version_id, track_id, agreed_at FROM agreements WHERE talk_id = $1`, talkID).
		Scan(&ag.TalkID, &ag.ProposalID, &ag.VersionID, &ag.TrackID, &ag.AgreedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, talks.Errorf(talks.ENOTFOUND, "Agreement not found.")
	} else if err != nil {
		return nil, translate(fmt.Errorf("find agreement: %w", err))
	}
	ag.AgreedAt = ag.AgreedAt.UTC()
	return &ag, nil
}
