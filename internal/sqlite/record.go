package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// The verifiable record: appendEvent appends each event's leaf to its
// talk's tree (tlog_hashes), and the committer signs a checkpoint of each
// talk a batch changed, before the batch commits (commit.go).

// SetNotary makes the store sign a checkpoint of every talk a write
// changes, once per group-commit batch, with n. Call it before the first
// write; nil signs none.
func (s *Store) SetNotary(n talks.Notary) {
	s.commits.mu.Lock()
	s.commits.notary = n
	s.commits.mu.Unlock()
}

// DisableLedger makes the store write neither tree hashes nor checkpoints.
// It is for benchmarks that measure what the ledger costs: a database
// written so has no verifiable record.
func (s *Store) DisableLedger() {
	s.commits.mu.Lock()
	s.commits.noLedger = true
	s.commits.mu.Unlock()
}

// txHashes reads a talk's stored hashes inside a write transaction, which
// sees the hashes the transaction wrote: from the committer's cache where
// it can, else from tlog_hashes.
type txHashes struct {
	ctx    context.Context
	tx     *txn
	talkID int64
}

func (r txHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if h, ok := r.tx.hashes.get(r.talkID, x); ok {
			out[i] = h
			continue
		}
		var h []byte
		if err := r.tx.QueryRowContext(r.ctx, `SELECT hash FROM tlog_hashes WHERE talk_id = $1 AND idx = $2`, r.talkID, x).Scan(&h); err != nil {
			return nil, fmt.Errorf("read stored hash %d of talk %d: %w", x, r.talkID, err)
		}
		copy(out[i][:], h)
		// Not written by this batch (that would be cached), so committed.
		r.tx.hashes.keep(r.talkID, x, out[i])
	}
	return out, nil
}

// hashCache keeps stored hashes of talks' trees for the committer, so that
// appending a leaf and hashing a root read no rows: committed hashes,
// which never change once written (only the frontier of each talk's tree
// at its last known head is kept), those the batch's earlier writes wrote,
// and those the running write wrote. Only the committer's goroutine uses
// it. A nil *hashCache caches nothing.
type hashCache struct {
	committed map[int64]map[int64]tlog.Hash // by talk, then index
	batch     map[[2]int64]tlog.Hash
	cur       map[[2]int64]tlog.Hash // emptied, not dropped, between writes
	writing   bool                   // between beginWrite and endWrite
}

// maxCachedTalks bounds the talks whose frontier the cache keeps.
const maxCachedTalks = 4096

func newHashCache() *hashCache {
	return &hashCache{committed: make(map[int64]map[int64]tlog.Hash), cur: make(map[[2]int64]tlog.Hash)}
}

func (c *hashCache) get(talkID, idx int64) (tlog.Hash, bool) {
	if c == nil {
		return tlog.Hash{}, false
	}
	k := [2]int64{talkID, idx}
	if h, ok := c.cur[k]; ok {
		return h, true
	}
	if h, ok := c.batch[k]; ok {
		return h, true
	}
	h, ok := c.committed[talkID][idx]
	return h, ok
}

// keep caches a committed hash.
func (c *hashCache) keep(talkID, idx int64, h tlog.Hash) {
	if c == nil {
		return
	}
	m := c.committed[talkID]
	if m == nil {
		if len(c.committed) >= maxCachedTalks {
			clear(c.committed)
		}
		m = make(map[int64]tlog.Hash)
		c.committed[talkID] = m
	}
	m[idx] = h
}

// wrote caches a hash the running write wrote.
func (c *hashCache) wrote(talkID, idx int64, h tlog.Hash) {
	if c != nil && c.writing {
		c.cur[[2]int64{talkID, idx}] = h
	}
}

// beginBatch, beginWrite, endWrite, endBatch follow the committer.
func (c *hashCache) beginBatch() {
	if c != nil {
		c.batch = make(map[[2]int64]tlog.Hash)
	}
}

func (c *hashCache) beginWrite() {
	if c != nil {
		c.writing = true
		clear(c.cur)
	}
}

// endWrite keeps what the write wrote if it succeeded, and forgets it if
// it was rolled back.
func (c *hashCache) endWrite(ok bool) {
	if c == nil {
		return
	}
	if ok {
		for k, h := range c.cur {
			c.batch[k] = h
		}
	}
	c.writing = false
	clear(c.cur)
}

// endBatch keeps, if the batch committed, the frontier of each talk it
// changed at its new head (heads: talk ID to head).
func (c *hashCache) endBatch(committed bool, heads map[int64]int64) {
	if c == nil {
		return
	}
	if committed {
		for talkID, seq := range heads {
			keep := make(map[int64]tlog.Hash)
			for _, x := range frontier(seq) {
				if h, ok := c.get(talkID, x); ok {
					keep[x] = h
				}
			}
			if len(c.committed) >= maxCachedTalks {
				clear(c.committed)
			}
			c.committed[talkID] = keep
		}
	}
	c.batch, c.writing = nil, false
	clear(c.cur)
}

// frontier returns the indexes of the stored hashes that tlog.TreeHash
// reads for a tree of n leaves, which are also all that appending leaf n
// reads.
func frontier(n int64) []int64 {
	var r recorder
	tlog.TreeHash(n, &r)
	return r
}

// recorder is a HashReader that records what is read.
type recorder []int64

func (r *recorder) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	*r = append(*r, indexes...)
	return make([]tlog.Hash, len(indexes)), nil
}

// insertHashes returns the statement that inserts n rows of tlog_hashes,
// ($1, $2, $3), ($4, $5, $6), ...
func insertHashes(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO tlog_hashes (talk_id, idx, hash) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d)", 1+3*i, 2+3*i, 3+3*i)
	}
	return b.String()
}

// hashRows is how many rows of tlog_hashes one statement inserts at most.
const hashRows = 32

// storeHashes inserts the tree hashes that the batch's writes that
// succeeded added (hashCache.batch), hashRows at a time. appendLeaf only
// computes them: every read of them in the batch finds them in the cache,
// and so a batch inserts them in a few statements rather than one per
// event.
func storeHashes(ctx context.Context, tx *txn) error {
	args := make([]any, 0, 3*hashRows)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, insertHashes(len(args)/3), args...)
		args = args[:0]
		return err
	}
	for k, h := range tx.hashes.batch {
		args = append(args, k[0], k[1], h[:])
		if len(args) == cap(args) {
			if err := flush(); err != nil {
				return fmt.Errorf("insert tree hashes: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("insert tree hashes: %w", err)
	}
	return nil
}

// appendLeaf computes the hashes that leaf e.ID-1 adds to its talk's tree,
// for the committer to store (storeHashes).
func appendLeaf(ctx context.Context, tx *txn, e *talks.Event) error {
	if tx.noLedger {
		return nil
	}
	n := e.ID - 1
	hs, err := tlog.StoredHashes(n, ledger.LeafBytes(e), txHashes{ctx, tx, e.TalkID})
	if err != nil {
		return fmt.Errorf("tree hashes of event %d: %w", e.ID, err)
	}
	base := tlog.StoredHashIndex(0, n)
	for i, h := range hs {
		tx.hashes.wrote(e.TalkID, base+int64(i), h)
	}
	return nil
}

// checkpoint signs and stores a checkpoint of talk talkID's tree of size
// leaves.
func checkpoint(ctx context.Context, tx *txn, n talks.Notary, talkID, size int64) error {
	root, err := tlog.TreeHash(size, txHashes{ctx, tx, talkID})
	if err != nil {
		return fmt.Errorf("root of talk %d: %w", talkID, err)
	}
	msg, err := n.SignCheckpoint(talkID, size, root)
	if err != nil {
		return fmt.Errorf("sign checkpoint of talk %d: %w", talkID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (talk_id, size, root, note, time) VALUES ($1, $2, $3, $4, $5)`,
		talkID, size, root[:], string(msg), formatTime(time.Now())); err != nil {
		return fmt.Errorf("insert checkpoint: %w", err)
	}
	return nil
}

// backfill stores the tree hashes of events appended before the ledger
// existed (migration 00006), so that every talk's tree covers its log.
func (s *Store) backfill(ctx context.Context) error {
	ids, err := scanIDs(s.write.QueryContext(ctx, `
		SELECT t.id FROM talks t
		WHERE (SELECT count(*) FROM events e WHERE e.talk_id = t.id) > 0
		  AND NOT EXISTS (SELECT 1 FROM tlog_hashes h WHERE h.talk_id = t.id)`))
	if err != nil {
		return fmt.Errorf("backfill tree hashes: %w", err)
	}
	for _, id := range ids {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		evs, err := findEvents(ctx, tx, talks.EventFilter{TalkID: id})
		if err != nil {
			tx.Rollback()
			return err
		}
		t := new(ledger.Tree)
		for _, e := range evs {
			if _, err := t.Append(ledger.LeafBytes(e)); err != nil {
				tx.Rollback()
				return err
			}
		}
		idx := make([]int64, tlog.StoredHashCount(t.Size()))
		for i := range idx {
			idx[i] = int64(i)
		}
		hs, err := t.ReadHashes(idx)
		if err != nil {
			tx.Rollback()
			return err
		}
		for i, h := range hs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO tlog_hashes (talk_id, idx, hash) VALUES ($1, $2, $3)`, id, i, h[:]); err != nil {
				tx.Rollback()
				return fmt.Errorf("backfill tree hashes of talk %d: %w", id, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("backfill tree hashes of talk %d: %w", id, err)
		}
	}
	return nil
}

// FindRecord implements talks.Store.
func (s *Store) FindRecord(ctx context.Context, talkID int64) (*talks.Record, error) {
	r := new(talks.Record)
	err := s.view(ctx, func(tx *readTx) error {
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM talks WHERE id = $1`, talkID).Scan(new(int)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return talks.Errorf(talks.ENOTFOUND, "Talk not found.")
			}
			return err
		}
		evs, err := findEvents(ctx, tx, talks.EventFilter{TalkID: talkID})
		if err != nil {
			return err
		}
		r.Events = evs
		rows, err := tx.QueryContext(ctx, `SELECT hash FROM tlog_hashes WHERE talk_id = $1 ORDER BY idx`, talkID)
		if err != nil {
			return fmt.Errorf("read tree hashes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				return err
			}
			var x [32]byte
			copy(x[:], h)
			r.Hashes = append(r.Hashes, x)
		}
		if err := rows.Err(); err != nil {
			return err
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
	var out []*talks.Checkpoint
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		out, err = findCheckpoints(ctx, tx, talkID, false)
		return err
	})
	return out, err
}

// FindLatestCheckpoint implements talks.Store.
func (s *Store) FindLatestCheckpoint(ctx context.Context, talkID int64) (*talks.Checkpoint, error) {
	var out []*talks.Checkpoint
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		out, err = findCheckpoints(ctx, tx, talkID, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, talks.Errorf(talks.ENOTFOUND, "No checkpoint yet.")
	}
	return out[0], nil
}

func findCheckpoints(ctx context.Context, tx *readTx, talkID int64, latest bool) ([]*talks.Checkpoint, error) {
	q := `SELECT size, root, note, time FROM checkpoints WHERE talk_id = $1 ORDER BY id`
	if latest {
		q = `SELECT size, root, note, time FROM checkpoints WHERE talk_id = $1 ORDER BY id DESC LIMIT 1`
	}
	rows, err := tx.QueryContext(ctx, q, talkID)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*talks.Checkpoint
	for rows.Next() {
		c := &talks.Checkpoint{TalkID: talkID}
		var root []byte
		var note, at string
		if err := rows.Scan(&c.Size, &root, &note, &at); err != nil {
			return nil, err
		}
		copy(c.Root[:], root)
		c.Note = []byte(note)
		if c.Time, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
