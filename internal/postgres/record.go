package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// The verifiable record: next appends each event's leaf to its talk's
// tree (tlog_hash_runs) and a signed checkpoint of the tree at the event in
// the statement that inserts the event; in a batch of writes, the batch
// inserts its writes' tree hashes and a checkpoint of each talk in COMMIT's
// round trip instead (commit.go). What that needs of the tree, its
// frontier (the stored hashes of the roots of its complete subtrees, at
// most log2 n), comes with the lock on the head (event_heads.frontier),
// and the same statement moves it: the ledger adds no round trip while the
// talk's head is locked. Without a usable frontier, a transaction reads
// the hashes it needs from tlog_hash_runs once (and those that its batch has
// yet to insert) and keeps those it writes.

// SetNotary makes the store sign a checkpoint of a talk at every event a
// write appends, with n. Call it before the first write; nil signs none.
func (s *Store) SetNotary(n talks.Notary) { s.notary = n }

// DisableLedger makes the store write neither tree hashes nor checkpoints.
// It is for benchmarks that measure what the ledger costs: a database
// written so has no verifiable record.
func (s *Store) DisableLedger() { s.noLedger = true }

// ReadHashes implements tlog.HashReader over the locked talk's stored
// hashes, those written by the transaction included.
func (tx *txn) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if tx.hashes == nil {
		tx.hashes = make(map[int64]tlog.Hash)
		// Fetch the frontier of the tree as of the head, with what was asked.
		indexes := append(frontier(tx.seq), indexes...)
		if err := tx.fetch(indexes); err != nil {
			return nil, err
		}
	}
	var missing []int64
	for _, x := range indexes {
		if _, ok := tx.hashes[x]; !ok {
			missing = append(missing, x)
		}
	}
	if len(missing) > 0 {
		if err := tx.fetch(missing); err != nil {
			return nil, err
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := tx.hashes[x]
		if !ok {
			return nil, fmt.Errorf("talk %d has no stored hash %d", tx.talkID, x)
		}
		out[i] = h
	}
	return out, nil
}

func (tx *txn) fetch(indexes []int64) error {
	if len(indexes) == 0 {
		return nil
	}
	// The run that holds each index is the talk's last that starts at or
	// before it.
	rows, err := tx.Query(tx.ctx, `
		SELECT DISTINCT r.idx, r.hashes FROM unnest($2::bigint[]) AS x(i)
		CROSS JOIN LATERAL (SELECT idx, hashes FROM tlog_hash_runs WHERE talk_id = $1 AND idx <= x.i ORDER BY idx DESC LIMIT 1) r`,
		tx.talkID, indexes)
	if err != nil {
		return fmt.Errorf("read stored hashes: %w", err)
	}
	runs, err := pgx.CollectRows(rows, scanHashRun)
	if err != nil {
		return fmt.Errorf("read stored hashes: %w", err)
	}
	for _, x := range indexes {
		for _, r := range runs {
			if h, ok := r.at(x); ok {
				tx.hashes[x] = h
				break
			}
		}
	}
	// The hashes that the batch's writes before this one appended are
	// not inserted yet.
	if d := tx.deferred; d != nil {
		for i, t := range d.talks {
			if t == tx.talkID {
				tx.hashes[d.idx[i]] = tlog.Hash(d.hashes[i])
			}
		}
	}
	return nil
}

// useFrontier keeps the stored hashes of the frontier read with the head,
// if it is of the head's size (see event_heads.frontier).
func (tx *txn) useFrontier(b []byte) {
	if tx.noLedger || len(b) < 8 || int64(binary.BigEndian.Uint64(b)) != tx.seq {
		return
	}
	idx := frontier(tx.seq)
	if len(b)-8 != len(idx)*tlog.HashSize {
		return
	}
	tx.hashes = make(map[int64]tlog.Hash, len(idx)+4)
	for i, x := range idx {
		var h tlog.Hash
		copy(h[:], b[8+i*tlog.HashSize:])
		tx.hashes[x] = h
	}
}

// encodeFrontier returns the frontier of the tree at the transaction's
// head, for event_heads.frontier: the size, then the hashes.
func (tx *txn) encodeFrontier() ([]byte, error) {
	if tx.noLedger {
		return []byte{}, nil
	}
	idx := frontier(tx.seq)
	hs, err := tx.ReadHashes(idx)
	if err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(hs)*tlog.HashSize), uint64(tx.seq))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b, nil
}

// frontier returns the indexes of the stored hashes that tlog.TreeHash
// reads for a tree of n leaves, in its order: those of the roots of the
// complete subtrees that the tree splits into, largest (leftmost) first,
// one per bit set in n.
func frontier(n int64) []int64 {
	idx := make([]int64, 0, bits.OnesCount64(uint64(n)))
	var lo int64
	for level := 62; level >= 0; level-- {
		if k := int64(1) << level; n&k != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, lo>>level))
			lo += k
		}
	}
	return idx
}

// appendLeaf returns the indexes and hashes that event e adds to its
// talk's tree, and keeps them for the transaction's later reads.
func (tx *txn) appendLeaf(e *talks.Event) ([]int64, [][]byte, error) {
	if tx.noLedger {
		return []int64{}, [][]byte{}, nil
	}
	if tx.hashes == nil {
		if _, err := tx.ReadHashes(nil); err != nil {
			return nil, nil, err
		}
	}
	n := e.ID - 1
	hs, err := tlog.StoredHashes(n, ledger.LeafBytes(e), tx)
	if err != nil {
		return nil, nil, fmt.Errorf("tree hashes of event %d: %w", e.ID, err)
	}
	base := tlog.StoredHashIndex(0, n)
	idx := make([]int64, len(hs))
	raw := make([][]byte, len(hs))
	for i, h := range hs {
		idx[i] = base + int64(i)
		raw[i] = h[:]
		tx.hashes[idx[i]] = h
	}
	return idx, raw, nil
}

// A hashRun is a row of tlog_hash_runs: the stored hashes of a talk's
// tree at consecutive indexes from idx, concatenated.
type hashRun struct {
	idx    int64
	hashes []byte
}

func scanHashRun(row pgx.CollectableRow) (hashRun, error) {
	var r hashRun
	err := row.Scan(&r.idx, &r.hashes)
	return r, err
}

// at returns the hash at index x, if r holds it.
func (r hashRun) at(x int64) (tlog.Hash, bool) {
	var h tlog.Hash
	if x < r.idx || x >= r.idx+int64(len(r.hashes)/tlog.HashSize) {
		return h, false
	}
	copy(h[:], r.hashes[(x-r.idx)*tlog.HashSize:])
	return h, true
}

// treeRows are stored hashes of talks' trees, one a row, in columns.
type treeRows struct {
	talks, idx []int64
	hashes     [][]byte
}

// add adds the hashes hs at indexes idx of talk talkID's tree.
func (r *treeRows) add(talkID int64, idx []int64, hs [][]byte) {
	for range idx {
		r.talks = append(r.talks, talkID)
	}
	r.idx = append(r.idx, idx...)
	r.hashes = append(r.hashes, hs...)
}

// runs returns r's hashes as rows of tlog_hash_runs, in columns: for each
// talk, those at consecutive indexes in one run.
func (r *treeRows) runs() (ts, idx []int64, hashes [][]byte) {
	last := make(map[int64]int) // by talk, the position of its last run
	for i, t := range r.talks {
		if j, ok := last[t]; ok && idx[j]+int64(len(hashes[j])/tlog.HashSize) == r.idx[i] {
			hashes[j] = append(hashes[j], r.hashes[i]...)
			continue
		}
		last[t] = len(idx)
		ts, idx = append(ts, t), append(idx, r.idx[i])
		hashes = append(hashes, append([]byte(nil), r.hashes[i]...))
	}
	return ts, idx, hashes
}

// addAll adds the rows of o.
func (r *treeRows) addAll(o *treeRows) {
	r.talks = append(r.talks, o.talks...)
	r.idx = append(r.idx, o.idx...)
	r.hashes = append(r.hashes, o.hashes...)
}

// backfill stores the tree hashes of events appended before the ledger
// existed (migration 00006), so that every talk's tree covers its log.
func (s *Store) backfill(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `
		SELECT h.talk_id FROM event_heads h
		WHERE h.seq > 0 AND NOT EXISTS (SELECT 1 FROM tlog_hash_runs x WHERE x.talk_id = h.talk_id)`)
	if err != nil {
		return fmt.Errorf("backfill tree hashes: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("backfill tree hashes: %w", err)
	}
	for _, id := range ids {
		err := s.update(ctx, func(tx *txn) error {
			if err := tx.lock(ctx, id); err != nil {
				return err
			}
			evs, err := findEvents(ctx, tx, talks.EventFilter{TalkID: id})
			if err != nil {
				return err
			}
			t := new(ledger.Tree)
			for _, e := range evs {
				if _, err := t.Append(ledger.LeafBytes(e)); err != nil {
					return err
				}
			}
			idx := make([]int64, tlog.StoredHashCount(t.Size()))
			for i := range idx {
				idx[i] = int64(i)
			}
			hs, err := t.ReadHashes(idx)
			if err != nil {
				return err
			}
			run := make([]byte, 0, len(hs)*tlog.HashSize)
			for _, h := range hs {
				run = append(run, h[:]...)
			}
			_, err = tx.Exec(ctx, `
				INSERT INTO tlog_hash_runs (talk_id, idx, hashes) VALUES ($1, 0, $2)
				ON CONFLICT DO NOTHING`, id, run)
			return err
		})
		if err != nil {
			return fmt.Errorf("backfill tree hashes of talk %d: %w", id, err)
		}
	}
	return nil
}

// FindRecord implements talks.Store.
func (s *Store) FindRecord(ctx context.Context, talkID int64) (*talks.Record, error) {
	r := new(talks.Record)
	err := s.view(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT 1 FROM talks WHERE id = $1`, talkID).Scan(new(int)); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return talks.Errorf(talks.ENOTFOUND, "Talk not found.")
			}
			return err
		}
		evs, err := findEvents(ctx, tx, talks.EventFilter{TalkID: talkID})
		if err != nil {
			return err
		}
		r.Events = evs
		rows, err := tx.Query(ctx, `SELECT idx, hashes FROM tlog_hash_runs WHERE talk_id = $1 ORDER BY idx`, talkID)
		if err != nil {
			return fmt.Errorf("read tree hashes: %w", err)
		}
		runs, err := pgx.CollectRows(rows, scanHashRun)
		if err != nil {
			return fmt.Errorf("read tree hashes: %w", err)
		}
		r.Hashes = nil
		for _, run := range runs {
			if run.idx != int64(len(r.Hashes)) {
				// The record shows the tree as it is stored, up to a gap:
				// verify finds it does not match the log.
				break
			}
			for b := run.hashes; len(b) >= tlog.HashSize; b = b[tlog.HashSize:] {
				r.Hashes = append(r.Hashes, tlog.Hash(b))
			}
		}
		cps, err := findCheckpoints(ctx, tx, talkID, true)
		if err != nil {
			return err
		}
		if len(cps) > 0 {
			r.Checkpoint = cps[0]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// FindCheckpoints implements talks.Store.
func (s *Store) FindCheckpoints(ctx context.Context, talkID int64) ([]*talks.Checkpoint, error) {
	cps, err := findCheckpoints(ctx, s.pool, talkID, false)
	return cps, translate(err)
}

// FindLatestCheckpoint implements talks.Store.
func (s *Store) FindLatestCheckpoint(ctx context.Context, talkID int64) (*talks.Checkpoint, error) {
	cps, err := findCheckpoints(ctx, s.pool, talkID, true)
	if err != nil {
		return nil, translate(err)
	}
	if len(cps) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "No checkpoint yet.")
	}
	return cps[0], nil
}

func findCheckpoints(ctx context.Context, q querier, talkID int64, latest bool) ([]*talks.Checkpoint, error) {
	sql := `SELECT size, root, note, time FROM checkpoints WHERE talk_id = $1 ORDER BY id`
	if latest {
		sql = `SELECT size, root, note, time FROM checkpoints WHERE talk_id = $1 ORDER BY id DESC LIMIT 1`
	}
	rows, err := q.Query(ctx, sql, talkID)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*talks.Checkpoint
	for rows.Next() {
		c := &talks.Checkpoint{TalkID: talkID}
		var root []byte
		var note string
		var at time.Time
		if err := rows.Scan(&c.Size, &root, &note, &at); err != nil {
			return nil, err
		}
		copy(c.Root[:], root)
		c.Note, c.Time = []byte(note), at.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
