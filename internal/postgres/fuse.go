package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Fused runs.
//
// In a pipelined run (commit.go, pipeline) each write sends statements of
// its own, each write in a savepoint of its own: so the committer's
// backend starts an executor, parses the tables' CHECK constraints and
// opens a subtransaction once per write and statement. A fused run sends
// the same rows as one statement per kind instead: one that checks every
// message's view, one that checks every counter-proposal, one that
// inserts every version, and so on, then every event in one statement and
// each talk's head moved once. The rows cost the same (their foreign keys
// are checked one by one); the statements and savepoints are what it
// saves: at 200 clients, 29 % more messages a second and 42 % more
// counter-proposals (docs/benchmarks.md). A write's checks and inserts
// are bulks (below), each a statement over rows that it queues over its
// own row in the run's pipelined form (queueRow), and records for the
// fused form (addRow).
//
// The fused form gives the same result as the writes one by one only if
// no check of a write reads what an earlier write of the run wrote, since
// every check runs before every insert. Messages and counter-proposals
// change no member, track, talk, mandate, preferences, key or agreement,
// which their checks read; their checks of a view read the events after
// it, which is why a run fuses only if none of its events breaks a view
// (txn.broke); and a counter-proposal's check that its party has not
// answered the version yet reads the answers of the same version and
// party as an earlier counter-proposal's would insert, which is why a run
// fuses only if no two of its rows of a bulk have the same values in its
// distinct columns.
//
// A check that fails, or a row that breaks a constraint, fails the fused
// statement, and PostgreSQL skips the rest of the round trip. Which write
// failed is not known then, so the committer rolls back to the run's
// savepoint and sends the run as it would have without fusing, each write
// in its savepoint, and that finds the write and gives it its own error.
// So a fused run that fails costs two round trips more than one that
// is not fused. But if what failed is the first write's check that its
// talk's head is where the committer's last commit left it (resumeKept),
// the run would fail there unfused too: it does not go again, and the
// committer goes on as it would after that failure unfused.

// A bulk is a statement over rows of values, one value per column: queued
// over one row, or over every row of a fused run as arrays, one per
// column, with unnest.
type bulk struct {
	one  string // the statement over its parameters, one per column
	many string // the statement over arrays, one per column
	// arrays build, for each column, its array from a run's rows.
	arrays []func(rows [][]any, i int) (any, error)
	// distinct are the columns whose values two rows of a fused run may
	// not both have (see above).
	distinct []int
}

// newBulk returns the bulk of sql, whose rows are from %s, a table c with
// cols, each a name and a type ("id bigint"). It panics on a type it has
// no arrays of: a bulk is a package variable, so at start-up.
func newBulk(sql string, cols ...string) *bulk {
	s := &bulk{arrays: make([]func([][]any, int) (any, error), len(cols))}
	names := make([]string, len(cols))
	one := make([]string, len(cols))
	many := make([]string, len(cols))
	for i, c := range cols {
		name, typ, _ := strings.Cut(c, " ")
		names[i] = name
		one[i] = fmt.Sprintf("$%d::%s", i+1, typ)
		many[i] = fmt.Sprintf("$%d::%s[]", i+1, typ)
		switch typ {
		case "bigint":
			s.arrays[i] = column[int64]
		case "text":
			s.arrays[i] = column[string]
		case "boolean":
			s.arrays[i] = column[bool]
		case "bytea":
			s.arrays[i] = column[[]byte]
		case "timestamptz":
			s.arrays[i] = column[time.Time]
		default:
			panic("postgres: no arrays of " + typ)
		}
	}
	as := ` AS c(` + strings.Join(names, ", ") + `)`
	s.one = fmt.Sprintf(sql, `(VALUES (`+strings.Join(one, ", ")+`))`+as)
	s.many = fmt.Sprintf(sql, `unnest(`+strings.Join(many, ", ")+`)`+as)
	return s
}

// A bulkRow is a write's row of a bulk.
type bulkRow struct {
	bulk *bulk
	vals []any
}

// queueRow queues on b the statement of bulk s over the row vals, and
// records the row for the fused form.
func (tx *txn) queueRow(b *pgx.Batch, s *bulk, vals ...any) {
	b.Queue(s.one, vals...)
	tx.addRow(s, vals...)
}

// addRow records the row vals of bulk s for the fused form only: the
// write inserts it otherwise in a statement of its own (queueWith).
func (tx *txn) addRow(s *bulk, vals ...any) {
	tx.rows = append(tx.rows, bulkRow{s, vals})
}

// args returns the parameters of s.many over rows: an array for each
// column. It fails if a value is not of its column's type.
func (s *bulk) args(rows [][]any) ([]any, error) {
	args := make([]any, len(s.arrays))
	for i, array := range s.arrays {
		var err error
		if args[i], err = array(rows, i); err != nil {
			return nil, fmt.Errorf("column %d: %w", i+1, err)
		}
	}
	return args, nil
}

// column returns column i of rows as an array of T.
func column[T any](rows [][]any, i int) (any, error) {
	a := make([]T, len(rows))
	for j, r := range rows {
		v, ok := r[i].(T)
		if !ok {
			return nil, fmt.Errorf("row %d has %T", j, r[i])
		}
		a[j] = v
	}
	return a, nil
}

// The bulks of messages and counter-proposals, in the order a fused run
// sends them: every check before every insert, and a row before those
// that refer to it.
var (
	// checkMessage refuses a message whose view is stale
	// (talks.ViewCheck): after is the head that it must be checked from.
	checkMessage = newBulk(`SELECT `+refuse(`WHEN NOT `+viewCheckOn("c.talk", "c.after")+` THEN 'stale'`)+` FROM %s`,
		"talk bigint", "after bigint")

	// checkCounter refuses a counter-proposal whose view is stale, to an
	// agreed talk, by a member not of the answering party, or of a version
	// that the party has answered.
	//
	// At most four index scans a statement: PostgreSQL 15 gives each a
	// buffer of about 27 kB until the statement ends, and glibc hands heap
	// growth of more than 128 kB back to the kernel when it is freed, so a
	// statement of seven took its heap from the kernel and gave it back
	// every time: a quarter to a third of the committer's backend
	// (docs/benchmarks.md). So the checks of a mandate and a key are a
	// bulk of their own, checkMandate.
	//
	// OFFSET 0 keeps each EXISTS a lookup per row: without it, over
	// arrays of rows, PostgreSQL hashes the whole table once per
	// statement instead (an EXISTS of equalities is a hashable ANY), which
	// took the answers' check from 11 µs a row to over 100.
	checkCounter = newBulk(`SELECT `+refuse(`
			WHEN NOT `+viewCheckOn("c.talk", "c.after")+` THEN 'stale'
			WHEN EXISTS (SELECT 1 FROM agreements WHERE talk_id = c.talk OFFSET 0) THEN 'settled'
			WHEN (SELECT party_id FROM members WHERE id = c.member AND talk_id = c.talk) IS DISTINCT FROM c.party THEN 'party'
			WHEN EXISTS (SELECT 1 FROM answers WHERE version_id = c.parent AND party_id = c.party AND withdrawn_at IS NULL OFFSET 0) THEN 'answered'`)+` FROM %s`,
		"talk bigint", "member bigint", "parent bigint", "party bigint", "after bigint")

	// checkMandate refuses a counter-proposal whose envoy's mandate
	// (mandated) or party's preferences changed since the Service read
	// them, or, for one that the server signs on signer's behalf, whose
	// key the server no longer holds.
	checkMandate = newBulk(`SELECT `+refuse(`
			WHEN c.mandated AND COALESCE((SELECT version FROM mandates WHERE talk_id = c.talk AND envoy_id = c.envoy), 0) <> c.version THEN 'mandate'
			WHEN c.mandated AND c.prefs <> 0
				AND COALESCE((SELECT MAX(version) FROM preferences WHERE talk_id = c.talk AND party_id = c.party), 0) <> c.prefs THEN 'preferences'
			WHEN c.signer <> '' AND COALESCE((SELECT holder FROM signer_keys WHERE talk_id = c.talk AND signer = c.signer), '') <> c.holder THEN 'key'`)+` FROM %s`,
		"talk bigint", "envoy bigint", "party bigint", "signer text", "mandated boolean", "version bigint", "prefs bigint", "holder text")

	insertMessage = newBulk(`INSERT INTO messages (id, talk_id, track_id, author_id, body, created_at)
		SELECT id, talk, track, author, body, at FROM %s`,
		"id bigint", "talk bigint", "track bigint", "author bigint", "body text", "at timestamptz")

	insertVersion = newBulk(`INSERT INTO versions (id, talk_id, proposal_id, parent_id, vals, clauses, rationale, author_id, created_at)
		SELECT id, talk, proposal, parent, vals::jsonb, clauses::jsonb, rationale, author, at FROM %s`,
		"id bigint", "talk bigint", "proposal bigint", "parent bigint", "vals text", "clauses text", "rationale text", "author bigint", "at timestamptz")

	insertAnswer = func() *bulk {
		s := newBulk(`INSERT INTO answers (id, talk_id, proposal_id, version_id, party_id, member_id, kind, counter_id, created_at)
			SELECT id, talk, proposal, version, party, member, kind, counter, at FROM %s`,
			"id bigint", "talk bigint", "proposal bigint", "version bigint", "party bigint", "member bigint", "kind text", "counter bigint", "at timestamptz")
		s.distinct = []int{3, 4} // checkCounter's 'answered'
		return s
	}()

	// insertEvents inserts the events of a fused run; they are inserted
	// one by one otherwise, each with its write's other rows (txn.next).
	insertEvents = newBulk(`INSERT INTO events (talk_id, seq, time, actor_id, track_id, type, payload, prev_hash, hash)
		SELECT * FROM %s`,
		"talk bigint", "seq bigint", "time timestamptz", "actor bigint", "track bigint", "type text", "payload bytea", "prev bytea", "hash bytea")

	bulks = []*bulk{checkCounter, checkMandate, checkMessage, insertMessage, insertVersion, insertAnswer}
)

// fuse returns the statements of run fused (see above), after lead, the
// statements that the run's first write queued before its own rows
// (txn.leading), and before tail, or nil if run may not be fused.
func fuse(run []piped, heads map[int64]*txn, lead, tail []*pgx.QueuedQuery) []*pgx.QueuedQuery {
	if len(run) < 2 {
		return nil
	}
	rows := make(map[*bulk][][]any)
	seen := make(map[string]bool)
	var events [][]any
	for i, p := range run {
		t := p.t
		if t.apply == nil || !t.sqlOnly || !t.appended || t.broke > 0 || i > 0 && t.leading() > 0 {
			return nil
		}
		for _, r := range t.rows {
			if len(r.bulk.distinct) > 0 {
				key := fmt.Sprintf("%p", r.bulk)
				for _, col := range r.bulk.distinct {
					key += fmt.Sprintf(" %v", r.vals[col])
				}
				if seen[key] {
					return nil
				}
				seen[key] = true
			}
			rows[r.bulk] = append(rows[r.bulk], r.vals)
		}
		for _, e := range t.events {
			events = append(events, []any{e.TalkID, e.ID, e.Time, e.ActorID, e.TrackID, e.Type, []byte(e.Payload), e.PrevHash[:], e.Hash[:]})
		}
	}
	// Copies of lead and tail: pgx keeps on a queued query the prepared
	// statement it used, which it forgets if the batch fails, and the run
	// goes again, unfused, with lead and tail.
	clone := func(qs []*pgx.QueuedQuery) []*pgx.QueuedQuery {
		c := make([]*pgx.QueuedQuery, len(qs))
		for i, q := range qs {
			c[i] = &pgx.QueuedQuery{SQL: q.SQL, Arguments: q.Arguments}
		}
		return c
	}
	qs := clone(lead)
	for _, s := range append(bulks, insertEvents) {
		rs := rows[s]
		if s == insertEvents {
			rs = events
		}
		if len(rs) == 0 {
			continue
		}
		args, err := s.args(rs)
		if err != nil {
			return nil
		}
		qs = append(qs, &pgx.QueuedQuery{SQL: s.many, Arguments: args})
	}
	moved := make(map[int64]bool)
	for _, p := range run {
		id := p.t.talkID
		if moved[id] {
			continue
		}
		moved[id] = true
		h := heads[id]
		qs = append(qs, &pgx.QueuedQuery{SQL: `UPDATE event_heads SET seq = $2, hash = $3, frontier = $4 WHERE talk_id = $1`,
			Arguments: []any{id, h.seq, h.hash[:], h.frontier}})
	}
	return append(qs, clone(tail)...)
}

// fused sends run's statements fused (fuse), qs, after the pending
// savepoint commands, in a savepoint of their own, and reads their
// results; commits is how many of qs's last are the batch's commit
// (queueCommit). ok reports whether the run stood; commitErr is then the
// error of its commit, if it sent one. If not ok and err is nil, a
// statement failed, and the run has been rolled back to its savepoint,
// for the committer to send it again without fusing: a savepoint of its
// own, since the run's first write may have locked its talk's head in the
// write's savepoint before. moved reports that the statement that failed
// was the first write's check of its talk's head (errHeadMoved), which
// would fail unfused too. err is that the connection failed.
func (c *committer) fused(ctx context.Context, r *batch, run []piped, pending []string, qs []*pgx.QueuedQuery, commits int) (ok, moved bool, commitErr, err error) {
	b := &pgx.Batch{}
	for _, q := range pending {
		b.Queue(q)
	}
	b.Queue(`SAVEPOINT f`)
	b.QueuedQueries = append(b.QueuedQueries, qs...)
	br := r.tx.SendBatch(ctx, b)
	r.tx.begun = true
	for range len(pending) + 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return false, false, nil, err
		}
	}
	first := run[0].t
	failed := first.readLead(br)
	for i := 0; failed == nil && i < len(qs)-first.leading()-commits; i++ {
		_, failed = br.Exec()
	}
	if failed == nil && commits > 0 {
		commitErr = readCommit(br, commits-1)
	}
	if cerr := br.Close(); failed == nil && commitErr == nil && cerr != nil {
		failed = cerr
	}
	if failed == nil {
		c.fusedRuns.Add(1)
		for _, p := range run {
			p.t.apply()
		}
		return true, false, commitErr, nil
	}
	var perr *pgconn.PgError
	switch status := r.tx.Conn().PgConn().TxStatus(); {
	case status == 'I':
		return false, false, nil, errCommittedAnyway
	case status != 'E' && status != 'T', !errors.As(failed, &perr) && !errors.Is(failed, errHeadMoved):
		return false, false, nil, failed
	}
	c.fusedFallbacks.Add(1)
	if _, err := r.tx.Exec(ctx, `ROLLBACK TO f`); err != nil {
		return false, false, nil, err
	}
	return false, errors.Is(failed, errHeadMoved), nil, nil
}

// fusedStats counts a committer's fused runs: those that stood, and those
// that a statement failed and that ran again without fusing.
type fusedStats struct {
	fusedRuns, fusedFallbacks atomic.Int64
}
