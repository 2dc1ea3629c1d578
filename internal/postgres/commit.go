package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/talks"
)

// Group commit.
//
// Every writer of a talk locks the talk's head (event_heads) first and
// holds it until its transaction commits, so with one transaction per
// write the writers of one talk take turns at one durable commit each, and
// each hand-over of the lock wakes another backend. So Store does not give
// each write a transaction of its own: one goroutine, the committer, takes
// every write queued while the previous batch ran (at most maxBatch), runs
// each inside its own SAVEPOINT in one transaction on one connection, and
// commits once. The first write of a talk in a batch takes the talk's head
// lock; the later ones find it already held by their own transaction and
// do not wait. A write whose function fails (or leaves the transaction
// aborted) is rolled back to its savepoint, so it writes nothing and leaves
// the others alone, and its caller gets its error at once. The callers of
// the writes that succeeded are answered only after COMMIT returns, so a
// write is still acknowledged only once it is durable; if the commit fails,
// they all get that error. A lone write runs without a savepoint.
//
// Writes run in the order they were queued, and each reads the talk's head
// inside the transaction, so it sees the writes run before it as if they
// had committed one by one: a talk's log stays numbered without gaps and
// its hash chain unforked, and the lock still serialises the talk's writers
// against other processes on the same database.
//
// One committer serves a Store. Its batches never overlap, so two batches
// of one process cannot deadlock on two talks' heads; batches of different
// processes (several servers on one database) could, since a batch locks
// its talks in the order its writes come. So once a batch holds locks, it
// sets a short lock_timeout, until its COMMIT (see queueCommit): a later
// write of the batch that would wait for a lock that another transaction
// holds is rolled back to its savepoint and queued again, first in the
// next batch, which runs after this one has committed and released its
// locks; there it waits holding nothing. A write that meets a deadlock or
// serialisation failure anyway is queued again too, at most maxRetries
// times.
//
// Round trips: BEGIN and a write's savepoint commands travel with its
// first statement as one pipelined batch (detached, connTx), and whether a
// write left the transaction aborted is read from the connection's status,
// so a write in a batch costs its own round trips only; the batch adds
// COMMIT. A write after the first to a talk in a batch need not even lock
// and read the talk's head: the batch holds the lock, and the committer
// keeps the head its last write to the talk left (heads), which a failed
// write does not change. So a message or a counter-proposal starts from
// it, with IDs reserved for it under the lock, and sends its checks and
// inserts in one round trip (txn.resume). The first write of a talk in a
// batch starts from the head that the committer's last commit of the talk
// left (keptHead), with IDs that commit reserved under its lock
// (txn.resumeKept): its first statement locks the head and refuses if
// another process has moved it since, and then the write runs again, in a
// later batch, from the head it locks and reads. The statement that locks
// and reads a head reserves the IDs of the later writes of its kind to the
// talk in the batch, and spare ones for the next batches (toReserve). So
// none of them needs a result of another before it is sent, and
// the committer does not wait for each one's round trip before it sends
// the next: it sends the first one's inserts and the later ones, each in a
// savepoint of its own, as one pipelined batch, and then reads their
// results in order (pipeline). A write that fails in the run is rolled
// back with the writes after it, which were built on its head; they run
// again. A run that ends the batch, of writes that can fail only as
// statements (txn.sqlOnly: messages and counter-proposals, whose checks
// fail as statements, see refuse), commits in its own round trip too: the
// batch's tree hashes and checkpoints and COMMIT follow its writes, and
// PostgreSQL skips them if one of the writes fails. So a batch of messages
// or of counter-proposals to one talk takes one round trip however many
// it has, the run with BEGIN and COMMIT, and a lone one too (alone); two
// when the head must be read, the lock (with BEGIN) and the run. A run
// whose writes may share their statements goes fused, one statement for
// each kind of row rather than a few for each write (fuse.go). The
// ledger signs one checkpoint per talk of the batch, at the talk's head
// after the batch, instead of one per event (issue 7 allows either), and
// inserts them in COMMIT's round trip, after the tree hashes of the
// batch's writes that stand, in one statement: a write's event statement
// leaves both out.
//
// The committer also keeps, across batches, each talk's head as its last
// commit left it, and how far back from it no event breaks a view
// (keptHead): a write that locks the head and finds it there knows that
// nothing has been written since, so it need not read the events after
// the view its Service decided by (talks.ViewCheck) to check them.
//
// A write that panics fails alone and its panic is re-raised in its
// caller, unless it panicked in the middle of a statement and left the
// connection busy: then the rollback to its savepoint fails, and with it
// the whole batch. Every write may share a batch: none locks two talks,
// and one that did would still be correct (a second talk's lock is taken
// under lock_timeout, see above).
//
// A write's function sees its ctx's values but not its cancellation: once
// the committer has taken the write, it runs to the end on a context that
// is never cancelled, since pgx answers a cancelled context by interrupting
// the statement or closing the connection, which would fail the whole
// batch. A write whose ctx is done while it is still queued is not run.

// maxBatch bounds the writes in one transaction. Each write that changes a
// row gets a subtransaction; PostgreSQL caches at most 64 of them per
// backend (PGPROC_MAX_CACHED_SUBXIDS), and past that every snapshot taken
// by other sessions meanwhile looks subtransactions up in pg_subtrans.
const maxBatch = 64

// maxRetries bounds how often a write is queued again after a deadlock or
// serialisation failure.
const maxRetries = 3

// errClosed is returned for writes after Close.
var errClosed = errors.New("postgres: store closed")

// A write is one call of update waiting for the committer.
type write struct {
	ctx context.Context
	fn  func(tx *txn) error

	// pipe, if set, is fn's pipelined form (see pipeline): it queues the
	// write's statements on b, starting from a head that the batch holds
	// (txn.resume), and returns the function that reads their results
	// and returns the write's error; errNotPiped if tx cannot resume. talk
	// and tables say, if known before the write runs, which talk it writes
	// and from the sequences of which tables it takes IDs (txn.reserve).
	pipe   func(tx *txn, b *pgx.Batch) (func(pgx.BatchResults) error, error)
	talk   int64
	tables string

	state   atomic.Int32 // queued, taken or abandoned
	err     error
	panic   any    // what fn panicked with, re-raised in the caller
	retries int    // deadlocks and serialisation failures met
	code    string // the SQLSTATE of its last run's failure, if any
	done    chan struct{}
}

const (
	queued int32 = iota
	taken
	abandoned
)

// committer runs the queued writes of a Store in batches.
type committer struct {
	s *Store

	mu     sync.Mutex
	cond   sync.Cond
	queue  []*write
	closed bool
	done   chan struct{} // closed when run returns

	// kept holds, by talk, the head that the committer's last commit of
	// the talk left. Only the committer's goroutine uses it.
	kept map[int64]keptHead

	// unfused turns fused runs off (fuse.go), for tests.
	unfused atomic.Bool
	fusedStats
	batches talks.BatchCounter
}

// A keptHead is a talk's head as a commit left it, and how far back from
// it no event breaks a view (talks.ViewKeepingTypes). A write that locks
// the talk's head and finds it there knows that the log has not changed
// since (txn.locked); otherwise another Store has written to the talk.
//
// It also holds the head's frontier and the IDs that the talk's last
// write in the commit left reserved (txn.spare), with which the first
// write of the talk in a later batch may start there without reading the
// head (txn.resumeKept).
type keptHead struct {
	seq      int64
	hash     [32]byte
	quiet    int64
	frontier []byte
	spare    spare
}

// maxKept bounds committer.kept.
const maxKept = 1 << 14

// keep records the heads of the talks in heads, as a commit left them.
// If that would hold more than maxKept, it first forgets half of those it
// holds, at random (as a map's iteration gives them): a write to a talk
// whose head it forgot reads the head, in a round trip of its own.
func (c *committer) keep(heads map[int64]*txn) {
	if len(c.kept)+len(heads) > maxKept {
		n := len(c.kept) / 2
		for id := range c.kept {
			if n == 0 {
				break
			}
			delete(c.kept, id)
			n--
		}
	}
	for id, t := range heads {
		c.kept[id] = keptHead{seq: t.seq, hash: t.hash, quiet: t.quietAt(), frontier: t.frontier, spare: t.spare}
	}
}

func newCommitter(s *Store) *committer {
	c := &committer{s: s, done: make(chan struct{}), kept: make(map[int64]keptHead)}
	c.cond.L = &c.mu
	go c.run()
	return c
}

// update runs fn in a write transaction, possibly shared with other
// writes, and returns once the transaction has committed (nil) or fn or
// the commit failed.
func (c *committer) update(ctx context.Context, fn func(tx *txn) error) error {
	return c.submit(ctx, &write{fn: fn})
}

// submit is update of w, whose fn and pipelined form, if any, are set.
func (c *committer) submit(ctx context.Context, w *write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.ctx, w.done = ctx, make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, w)
	c.cond.Signal()
	c.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		if w.state.CompareAndSwap(queued, abandoned) {
			return ctx.Err()
		}
		<-w.done
	}
	if w.panic != nil {
		panic(w.panic)
	}
	return w.err
}

// close runs the writes already queued, refuses new ones and waits for
// the committer to stop.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.cond.Wait()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		n := min(len(c.queue), maxBatch)
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		start := time.Now()
		c.commit(batch)
		c.batches.Add(len(batch), time.Since(start))
	}
}

// requeue puts ws at the head of the queue, for the next batch.
func (c *committer) requeue(ws []*write) {
	if len(ws) == 0 {
		return
	}
	for _, w := range ws {
		w.state.Store(queued)
	}
	c.mu.Lock()
	c.queue = append(ws[:len(ws):len(ws)], c.queue...)
	c.mu.Unlock()
}

// answer ends the waits of ws with err.
func answer(ws []*write, err error) {
	for _, w := range ws {
		w.err = err
		close(w.done)
	}
}

// commit runs the writes of queue in one transaction and answers every
// write in it.
func (c *committer) commit(queue []*write) {
	// Drop the writes abandoned while queued.
	ws := queue[:0:0]
	for _, w := range queue {
		if w.state.CompareAndSwap(queued, taken) {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return
	}
	ctx := context.Background()
	conn, err := c.s.pool.Acquire(ctx)
	if err != nil {
		answer(ws, translate(fmt.Errorf("begin: %w", err)))
		return
	}
	// Release destroys a connection that is still in a transaction (its
	// rollback failed) rather than reuse it.
	defer conn.Release()
	tx := &connTx{conn: conn.Conn()}
	// A rollback after a commit does nothing; on a broken connection it
	// closes it, which rolls back too.
	defer tx.Rollback(ctx)
	if len(ws) == 1 {
		w := ws[0]
		d := &detached{Tx: tx, ctx: context.WithoutCancel(w.ctx), pending: []string{`BEGIN`}}
		err := w.call(c.s, d, nil, nil, w.fn)
		if d.broken != nil {
			err = translate(fmt.Errorf("begin: %w", d.broken))
		}
		tx.begun = len(d.pending) == 0
		if d.txn != nil && d.txn.committed {
			tx.closed = true
		}
		if errors.Is(err, errHeadMoved) {
			c.requeue(ws)
			return
		}
		if err != nil {
			answer(ws, err)
			return
		}
		if err := tx.Commit(ctx); err != nil {
			answer(ws, translate(fmt.Errorf("commit: %w", err)))
			return
		}
		if t := d.txn; t != nil {
			if t.appended {
				c.keep(map[int64]*txn{t.talkID: t})
			}
			c.s.appended(t.events)
		}
		answer(ws, nil)
		return
	}

	// The savepoint commands of each write go in the same round trip as
	// its first statement (see detached): the first write's SAVEPOINT, and
	// after a write that succeeded, RELEASE and a new SAVEPOINT (and, once,
	// a short lock_timeout: from then on the batch holds locks, so a later
	// write must not wait for a lock that another process holds; see
	// retry). A write that failed is rolled back to its savepoint, which
	// stays for the next write. COMMIT releases the last one.
	r := &batch{tx: tx, pending: []string{`BEGIN`, `SAVEPOINT w`}, heads: make(map[int64]*txn), quiet: make(map[int64]int64)}
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		var d *detached
		var err error
		if w.pipe != nil {
			var n int
			var done bool
			n, d, err, done = c.pipeline(ctx, r, ws[i:])
			if done {
				return
			} else if n > 0 {
				i += n - 1
				continue
			}
		}
		if d == nil {
			d = &detached{Tx: tx, ctx: context.WithoutCancel(w.ctx), pending: r.pending}
			err = w.call(c.s, d, r, ws[i+1:], w.fn)
		}
		tx.begun = tx.begun || len(d.pending) == 0
		if d.broken != nil {
			// A savepoint command failed: the connection is lost.
			err := translate(fmt.Errorf("savepoint: %w", d.broken))
			answer(r.ok, err)
			answer(ws[i:], err)
			c.requeue(r.again)
			return
		}
		if len(d.pending) > 0 {
			// w ran no statement: nothing to release or undo.
			r.pending = d.pending
			c.finish(r, w, err)
			continue
		}
		if err == nil && tx.Conn().PgConn().TxStatus() == 'E' {
			// w ignored a statement that failed, which aborted the
			// transaction: it is undone as if it had failed.
			err = errIgnored
		}
		if err == nil {
			r.stand(d.txn)
			continue
		}
		// Undo w alone. If that fails (the connection broke, or a panic
		// left it busy), so does the whole batch.
		if _, rerr := tx.Exec(ctx, `ROLLBACK TO w`); rerr != nil {
			c.abort(r, w, err, ws[i+1:], rerr)
			return
		}
		r.pending = nil
		c.finish(r, w, err)
	}
	// Those to try again wait for this batch to release its locks.
	defer c.requeue(r.again)
	if len(r.ok) == 0 {
		return
	}
	if !r.committed {
		if err := c.commitWith(ctx, tx, r.heads, &r.tree, r.timeout); err != nil {
			answer(r.ok, translate(err))
			return
		}
	}
	c.keep(r.heads)
	c.s.appended(r.events)
	answer(r.ok, nil)
}

// A batch is the state of a batch's transaction between its writes.
type batch struct {
	tx      *connTx
	pending []string       // savepoint commands to send before the next statement
	ok      []*write       // writes that stand, or ran no statement
	again   []*write       // writes to queue again, in the next batch
	events  []*talks.Event // of the writes in ok, in order
	timeout bool           // lock_timeout is set: the batch holds locks
	heads   map[int64]*txn // by talk, the last write that appended to it
	// quiet holds, by talk, how far back from the head that the last
	// write to it that stands left no event breaks a view.
	quiet map[int64]int64
	tree  treeRows // the tree hashes of the writes that stand
	// committed is set once the batch has committed, in the round trip of
	// its last run (pipeline).
	committed bool
}

// stand keeps the write of t, which succeeded, and sets the savepoint
// commands for the next.
func (r *batch) stand(t *txn) {
	if t.talkID != 0 {
		// t started from the head that the talk's last write that stands
		// left (a write undone leaves nothing), so how far back from there
		// that write knew no event breaks a view holds for t as well as
		// what t knew or learnt itself: t keeps the earlier of the two.
		if q, ok := r.quiet[t.talkID]; ok {
			t.quiet = min(t.quiet, q)
		}
		r.quiet[t.talkID] = t.quietAt()
	}
	r.tree.addAll(&t.tree)
	r.ok = append(r.ok, t.w)
	r.events = append(r.events, t.events...)
	if t.appended {
		r.heads[t.talkID] = t
	}
	r.pending = []string{`RELEASE w`, `SAVEPOINT w`}
	if !r.timeout {
		r.pending = []string{`RELEASE w`, `SET LOCAL lock_timeout = '` + lockTimeout + `'`, `SAVEPOINT w`}
		r.timeout = true
	}
}

// putBack puts back the heads of run's writes from k on, which were
// undone, last first.
func (r *batch) putBack(run []piped, k int) {
	for j := len(run) - 1; j >= k; j-- {
		if p := run[j]; p.prev == nil {
			delete(r.heads, p.t.talkID)
		} else {
			r.heads[p.t.talkID] = p.prev
		}
	}
}

// abort ends a batch whose rollback of w, which failed with err, failed
// with rerr: every write that stood or follows gets rerr.
func (c *committer) abort(r *batch, w *write, err error, rest []*write, rerr error) {
	rerr = translate(fmt.Errorf("rollback to savepoint: %w", rerr))
	answer(r.ok, rerr)
	answer(rest, rerr)
	r.ok = nil
	c.finish(r, w, err)
	c.requeue(r.again)
}

// alone returns the write function that runs pipe, a write's pipelined
// form, on its own: its statements in one round trip, then its results
// read. what names the write in the error of a statement its reads left
// unread.
//
// A write that has its transaction to itself (txn.lone), and whose
// statements can fail only as statements (txn.sqlOnly), commits in the
// same round trip: COMMIT goes after them. If one of them fails,
// PostgreSQL skips the rest of the round trip, COMMIT with it, and the
// committer rolls the transaction back; if none does, nothing that read
// checks can undo the write. A write that reads its results to decide
// whether it stands commits in a round trip of its own, once it has.
func alone(ctx context.Context, pipe func(tx *txn, b *pgx.Batch) (func(pgx.BatchResults) error, error), what string) func(tx *txn) error {
	return func(tx *txn) error {
		b := &pgx.Batch{}
		tx.signLast = true
		read, err := pipe(tx, b)
		if err == nil {
			err = tx.signCheckpoint()
		}
		if err != nil {
			return err
		}
		commit := tx.lone && tx.sqlOnly
		if commit {
			b.Queue(`COMMIT`)
		}
		br := tx.SendBatch(ctx, b)
		err = read(br)
		if commit && err == nil {
			// Whether it succeeds or fails, COMMIT ends the transaction.
			tx.committed = true
			err = readCommit(br, 0)
		}
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", what, cerr)
		}
		return err
	}
}

// errNotPiped is the error of a write's pipelined form (write.pipe) that
// cannot start from a head the batch holds: it runs on its own.
var errNotPiped = errors.New("postgres: the write cannot be pipelined")

// A piped is a write of a pipelined run (pipeline).
type piped struct {
	t    *txn
	read func(pgx.BatchResults) error
	prev *txn // the head of t's talk before it
}

// pipeline runs the longest run of writes at the start of ws that have a
// pipelined form, each from the head the one before it leaves, in one
// round trip: the pending savepoint commands, then each write's
// statements, the first in the savepoint w and each later one in a
// savepoint of its own nested in the one before (SAVEPOINT w1, w2, ...).
// The first may lock and read its talk's head first, in a round trip of
// its own; the later ones must start from a head the batch holds. Then
// pipeline reads each write's results in order. If write k fails, by an
// error of its statements (after which PostgreSQL skips the rest of the
// batch) or of a check that it reads (a stale view), ROLLBACK TO its
// savepoint undoes it and every later write of the run, which were built
// on its head; k gets its error, and the heads are put back as the writes
// before k left them. pipeline returns how many writes it answered or
// kept (the run's, or up to k), so that the committer runs those after k
// again, from the right head. It returns 0 if ws[0] cannot be pipelined,
// and then also ws[0]'s transaction and error if it failed before its
// statements were queued, for the committer to finish as it does a write
// run alone. done is set if the connection failed: then it has answered
// every write of the batch.
//
// A run takes one round trip, and one more to roll back if a write
// fails, however many writes it holds. It has at most maxBatch writes, so
// at most as many subtransactions as the batch would have without it.
func (c *committer) pipeline(ctx context.Context, r *batch, ws []*write) (n int, d0 *detached, err0 error, done bool) {
	var run []piped
	b := &pgx.Batch{}
	var pending []string // of the savepoint commands, those that go with b
	for i, w := range ws {
		if w.pipe == nil {
			break
		}
		mark := len(b.QueuedQueries)
		if len(run) > 0 {
			b.Queue(fmt.Sprintf(`SAVEPOINT w%d`, len(run)))
		}
		d := &detached{Tx: r.tx, ctx: context.WithoutCancel(w.ctx)}
		if len(run) == 0 {
			d.pending = r.pending
		}
		var read func(pgx.BatchResults) error
		err := w.call(c.s, d, r, ws[i+1:], func(t *txn) (err error) {
			t.follows = len(run) > 0
			read, err = w.pipe(t, b)
			return err
		})
		if len(run) == 0 {
			r.tx.begun = r.tx.begun || len(d.pending) == 0
			if err != nil {
				if errors.Is(err, errNotPiped) && len(d.pending) > 0 {
					return 0, nil, nil, false
				}
				return 0, d, err, false
			}
			pending = d.pending
		}
		if err != nil {
			// w runs after the run, which it cannot join.
			b.QueuedQueries = b.QueuedQueries[:mark]
			break
		}
		run = append(run, piped{t: d.txn, read: read, prev: r.heads[d.txn.talkID]})
		r.heads[d.txn.talkID] = d.txn
	}
	if len(run) == 0 {
		return 0, nil, nil, false
	}
	// Only the last statement of a talk in the run moves its head: each
	// UPDATE of the head makes a row version, which the next one in the
	// same transaction has to step over.
	last := make(map[int64]*pgx.QueuedQuery)
	for _, p := range run {
		if m := p.t.moves; len(m) > 0 {
			last[p.t.talkID] = m[len(m)-1]
		}
	}
	for _, p := range run {
		for _, q := range p.t.moves {
			if q != last[p.t.talkID] {
				q.SQL = strings.Replace(q.SQL, moveHead, keepHead, 1)
			}
		}
	}
	// A run that ends the batch, of writes whose statements can fail only
	// as statements (txn.sqlOnly), also commits the batch: the tree hashes
	// and checkpoints of the batch, as if every write of the run stands,
	// and COMMIT go after it, in its round trip. If a write of the run
	// fails, PostgreSQL skips them with the rest of the round trip, and
	// the batch goes on as below and commits in a round trip of its own.
	commits := 0 // how many statements queueCommit queued
	if len(run) == len(ws) && sqlOnly(run) {
		var tree treeRows
		tree.addAll(&r.tree)
		for _, p := range run {
			tree.addAll(&p.t.tree)
		}
		n0 := b.Len()
		if err := c.queueCommit(b, r.heads, &tree, r.timeout); err != nil {
			// The batch commits as usual, and meets the error there.
			b.QueuedQueries = b.QueuedQueries[:n0]
		} else {
			commits = b.Len() - n0
		}
	}

	// broken ends the batch: the connection failed, or a write read no
	// error although the transaction was aborted (errIgnored).
	broken := func(err error) (int, *detached, error, bool) {
		err = translate(fmt.Errorf("pipeline: %w", err))
		answer(r.ok, err)
		answer(ws, err)
		c.requeue(r.again)
		return len(ws), nil, nil, true
	}
	// The run goes fused, if it may (fuse.go); if a statement of it fails,
	// it goes again as below, each write in a savepoint of its own.
	k, err := len(run), error(nil)
	var commitErr error
	isFused := false
	if !c.unfused.Load() {
		lead, tail := b.QueuedQueries[:run[0].t.leading()], b.QueuedQueries[b.Len()-commits:]
		if qs := fuse(run, r.heads, lead, tail); qs != nil {
			ok, moved, cerr, ferr := c.fused(ctx, r, run, pending, qs, commits)
			if ferr != nil {
				return broken(ferr)
			}
			pending, r.pending = nil, nil
			if moved {
				// Unfused, the run would fail at its first write, whose
				// talk's head another process has moved: as there, that
				// write goes again in the next batch, and the others run
				// again now, from the head they lock and read.
				r.putBack(run, 0)
				c.finish(r, run[0].t.w, errHeadMoved)
				return 1, nil, nil, false
			}
			isFused, commitErr = ok, cerr
		}
	}
	if !isFused {
		if len(pending) > 0 {
			qs := make([]*pgx.QueuedQuery, 0, len(pending)+len(b.QueuedQueries))
			for _, q := range pending {
				qs = append(qs, &pgx.QueuedQuery{SQL: q})
			}
			b.QueuedQueries = append(qs, b.QueuedQueries...)
		}
		br := r.tx.SendBatch(ctx, b)
		r.tx.begun = true
		for range pending {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return broken(err)
			}
		}
		r.pending = nil
		for j, p := range run {
			if j > 0 {
				if _, err := br.Exec(); err != nil {
					br.Close()
					return broken(err)
				}
			}
			if err = p.t.w.guard(func() error { return p.read(br) }); err != nil {
				k = j
				break
			}
		}
		if commits > 0 && k == len(run) {
			commitErr = readCommit(br, commits-1)
		}
		if cerr := br.Close(); k == len(run) && commitErr == nil && cerr != nil {
			return broken(cerr)
		}
	}
	if commits > 0 && k == len(run) {
		for _, p := range run {
			r.stand(p.t)
		}
		if commitErr != nil {
			// As the batch's commit would have: every write that stood
			// gets the error.
			answer(r.ok, translate(commitErr))
			c.requeue(r.again)
			return len(ws), nil, nil, true
		}
		r.tx.closed, r.committed = true, true
		return k, nil, nil, false
	}
	if commits > 0 && r.tx.Conn().PgConn().TxStatus() == 'I' {
		// A write of the run failed although none of its statements did,
		// so the batch committed: only a panic in reading its results
		// can do that.
		return broken(errCommittedAnyway)
	}
	if k == len(run) && r.tx.Conn().PgConn().TxStatus() == 'E' {
		return broken(errIgnored)
	}
	r.putBack(run, k)
	for _, p := range run[:k] {
		r.stand(p.t)
	}
	if k == len(run) {
		return k, nil, nil, false
	}
	w := run[k].t.w
	sp := "w"
	if k > 0 {
		sp = fmt.Sprintf("w%d", k)
	}
	// A talk whose head a write from k on was to move is left where the
	// last write before k that stands left it, which did not move it
	// (keepHead): the head is moved there in the rollback's round trip,
	// in statements without parameters, since the transaction is aborted
	// until the rollback, so that none can be prepared before it.
	sql := `ROLLBACK TO ` + sp
	stood := make(map[*txn]bool, k)
	for _, p := range run[:k] {
		stood[p.t] = true
	}
	for _, p := range run[k:] {
		if h := r.heads[p.t.talkID]; stood[h] {
			sql += fmt.Sprintf(`; UPDATE event_heads SET seq = %d, hash = '\x%x', frontier = '\x%x' WHERE talk_id = %d`, h.seq, h.hash[:], h.frontier, h.talkID)
			delete(stood, h)
		}
	}
	if _, rerr := r.tx.Exec(ctx, sql); rerr != nil {
		c.abort(r, w, err, ws[k+1:], rerr)
		return len(ws), nil, nil, true
	}
	if k == 0 {
		r.pending = nil // w stays, for the next write
	}
	c.finish(r, w, err)
	return k + 1, nil, nil, false
}

// commitWith inserts the tree hashes tree, signs a checkpoint of each
// talk in heads at its head (the head of its last write in the batch,
// which read or wrote the stored hashes of the tree's frontier there),
// and inserts them and commits in one round trip.
func (c *committer) commitWith(ctx context.Context, tx *connTx, heads map[int64]*txn, tree *treeRows, timeout bool) error {
	b := &pgx.Batch{}
	if err := c.queueCommit(b, heads, tree, timeout); err != nil {
		return err
	}
	if b.Len() == 1 {
		return tx.Commit(ctx)
	}
	br := tx.SendBatch(ctx, b)
	err := readCommit(br, b.Len()-1)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("commit: %w", cerr)
	}
	tx.closed = true
	return err
}

// queueCommit queues on b what commitWith sends: the inserts of the tree
// hashes and the checkpoints, then COMMIT. If the batch set lockTimeout
// (timeout), it sets no timeout again before COMMIT: a transaction that
// notifies (migration 00013) takes, at COMMIT, a lock that PostgreSQL
// holds for every database of the server until that transaction's commit
// is durable, and waiting for it is the commit's turn, not a cycle with
// another batch; with 5 ms to wait, the commit of a whole batch failed
// whenever another transaction, in any database, took longer to commit.
func (c *committer) queueCommit(b *pgx.Batch, heads map[int64]*txn, tree *treeRows, timeout bool) error {
	if len(tree.idx) > 0 {
		ts, idx, hashes := tree.runs()
		b.Queue(`INSERT INTO tlog_hash_runs (talk_id, idx, hashes) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])`,
			ts, idx, hashes)
	}
	if n := c.s.notary; n != nil && !c.s.noLedger {
		now := talks.Timestamp(time.Now())
		for id, t := range heads {
			root, err := tlog.TreeHash(t.seq, t)
			if err != nil {
				return fmt.Errorf("root of talk %d: %w", id, err)
			}
			msg, err := n.SignCheckpoint(id, t.seq, root)
			if err != nil {
				return fmt.Errorf("sign checkpoint of talk %d: %w", id, err)
			}
			b.Queue(`INSERT INTO checkpoints (talk_id, size, root, note, time) VALUES ($1, $2, $3, $4, $5)`,
				id, t.seq, root[:], string(msg), now)
		}
	}
	if timeout {
		b.Queue(`SET LOCAL lock_timeout = 0`)
	}
	b.Queue(`COMMIT`)
	return nil
}

// readCommit reads from br the results of queueCommit's n statements
// before COMMIT and of COMMIT (n is 0 for a COMMIT alone).
func readCommit(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("insert tree hashes and checkpoints: %w", err)
		}
	}
	tag, err := br.Exec()
	if err == nil && tag.String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// sqlOnly reports whether every write of run can fail only as a
// statement (txn.sqlOnly), and appended to its talk's log.
func sqlOnly(run []piped) bool {
	for _, p := range run {
		if !p.t.sqlOnly || !p.t.appended {
			return false
		}
	}
	return true
}

// errCommittedAnyway is the error of the writes of a batch that committed
// although a write of it failed (see pipeline).
var errCommittedAnyway = errors.New("postgres: a write failed after its batch had committed")

// errIgnored is the error of a write that returned nil after a statement
// of it failed.
var errIgnored = errors.New("postgres: a statement failed and the transaction was aborted")

// finish answers w, which ran without writing anything (err is nil) or
// failed with err and was undone, or puts it in again to run in a later
// batch.
func (c *committer) finish(r *batch, w *write, err error) {
	switch {
	case err == nil:
		r.ok = append(r.ok, w)
	case errors.Is(err, errHeadMoved), w.retry(r.timeout):
		r.again = append(r.again, w)
	default:
		answer([]*write{w}, err)
	}
}

// lockTimeout is how long a write waits for a lock once its batch holds
// locks of its own.
const lockTimeout = "5ms"

// retry reports whether w, which failed with SQLSTATE w.code, should be
// run again in a later batch, and counts the retry. A write that timed
// out waiting for a lock while its batch held others (timeout) always is:
// waiting could close a cycle with another process's batch, which
// PostgreSQL would break only after deadlock_timeout (1 s by default).
// Since the write has to wait it is put first in the next batch, where it
// holds no lock while it waits, so it makes progress. A deadlock or
// serialisation failure is retried at most maxRetries times.
func (w *write) retry(timeout bool) bool {
	switch {
	case w.panic != nil:
		return false
	case w.code == "55P03" && timeout: // lock_not_available
		return true
	case (w.code == "40P01" || w.code == "40001") && w.retries < maxRetries: // deadlock_detected, serialization_failure
		w.retries++
		return true
	}
	return false
}

// call runs fn, w's function or its pipelined form, in d, turning a
// panic into an error for the batch and keeping the panic for w's caller.
// A write that shares its transaction with others gets the heads its
// batch's writes so far left (known, not nil) and the writes that follow
// it (later).
func (w *write) call(s *Store, d *detached, r *batch, later []*write, fn func(tx *txn) error) error {
	d.txn = &txn{Tx: d, ctx: d.ctx, noLedger: s.noLedger, notary: s.notary, later: later, w: w, kept: s.commits.kept, lone: r == nil}
	if r != nil {
		d.txn.batched, d.txn.known, d.txn.deferred = true, r.heads, &r.tree
	}
	return w.guard(func() error { return fn(d.txn) })
}

// guard runs fn, a part of w, turning a panic into an error and keeping
// the panic for w's caller, and the SQLSTATE of a server error in w.code.
func (w *write) guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.panic = p
			err = fmt.Errorf("postgres: write panicked: %v", p)
		}
	}()
	w.code, w.panic = "", nil
	err = fn()
	if perr := (*pgconn.PgError)(nil); errors.As(err, &perr) {
		w.code = perr.Code
	}
	return translate(err)
}

// connTx is the transaction of a batch, on one connection of the pool. It
// does not send BEGIN on its own: the committer puts BEGIN before the
// batch's first statement, in the same round trip (detached.pending), and
// sets begun once it has been sent.
type connTx struct {
	conn   *pgx.Conn
	begun  bool // BEGIN has been sent
	closed bool // committed or rolled back
}

var errNested = errors.New("postgres: a write may not open a nested transaction")

func (tx *connTx) Begin(context.Context) (pgx.Tx, error) { return nil, errNested }

// Commit commits the transaction, if BEGIN was sent; ErrTxCommitRollback
// if it had failed, so that PostgreSQL rolled it back.
func (tx *connTx) Commit(ctx context.Context) error {
	if tx.closed || !tx.begun {
		tx.closed = true
		return nil
	}
	tx.closed = true
	tag, err := tx.conn.Exec(ctx, `COMMIT`)
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback rolls the transaction back unless it has ended or never began;
// if that fails it closes the connection, which rolls it back too.
func (tx *connTx) Rollback(ctx context.Context) error {
	if tx.closed || !tx.begun {
		tx.closed = true
		return nil
	}
	tx.closed = true
	if _, err := tx.conn.Exec(ctx, `ROLLBACK`); err != nil {
		tx.conn.Close(ctx)
		return err
	}
	return nil
}

func (tx *connTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return tx.conn.CopyFrom(ctx, table, columns, src)
}

func (tx *connTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return tx.conn.SendBatch(ctx, b)
}

// LargeObjects is not for writes: the store keeps none.
func (tx *connTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (tx *connTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return tx.conn.Prepare(ctx, name, sql)
}

func (tx *connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return tx.conn.Exec(ctx, sql, args...)
}

func (tx *connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return tx.conn.Query(ctx, sql, args...)
}

func (tx *connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return tx.conn.QueryRow(ctx, sql, args...)
}

func (tx *connTx) Conn() *pgx.Conn { return tx.conn }

// detached is a transaction whose statements run on its own context,
// whatever context their caller passes: a write's function uses its
// caller's, whose cancellation must not reach a shared transaction. It
// also sends the savepoint commands that must precede the write's first
// statement (pending) in that statement's round trip, as one pipelined
// batch.
type detached struct {
	pgx.Tx
	ctx     context.Context
	pending []string // sent before the first statement, then nil
	broken  error    // a pending command failed
	txn     *txn     // the write's
}

// flush runs the pending commands on their own.
func (d *detached) flush() error {
	if len(d.pending) == 0 || d.broken != nil {
		return d.broken
	}
	b := &pgx.Batch{}
	for _, q := range d.pending {
		b.Queue(q)
	}
	d.pending = nil
	if err := d.Tx.SendBatch(d.ctx, b).Close(); err != nil {
		d.broken = err
	}
	return d.broken
}

// pipe sends the pending commands and then b's statements in one round
// trip, and returns b's results once the commands' have been read.
func (d *detached) pipe(b *pgx.Batch) pgx.BatchResults {
	if len(d.pending) == 0 || d.broken != nil {
		if d.broken != nil {
			return errResults{d.broken}
		}
		return d.Tx.SendBatch(d.ctx, b)
	}
	nb := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(d.pending)+b.Len())}
	for _, q := range d.pending {
		nb.Queue(q)
	}
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	n := len(d.pending)
	d.pending = nil
	br := d.Tx.SendBatch(d.ctx, nb)
	for range n {
		if _, err := br.Exec(); err != nil {
			d.broken = err
			br.Close()
			return errResults{err}
		}
	}
	return br
}

// Exec is pgx.Tx.Exec on d's context.
func (d *detached) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if len(d.pending) == 0 {
		return d.Tx.Exec(d.ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := d.pipe(b)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query is pgx.Tx.Query on d's context.
func (d *detached) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := d.flush(); err != nil {
		return nil, err
	}
	return d.Tx.Query(d.ctx, sql, args...)
}

// QueryRow is pgx.Tx.QueryRow on d's context.
func (d *detached) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	if len(d.pending) == 0 {
		return d.Tx.QueryRow(d.ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return pipedRow{d.pipe(b)}
}

// SendBatch is pgx.Tx.SendBatch on d's context.
func (d *detached) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	return d.pipe(b)
}

// CopyFrom is pgx.Tx.CopyFrom on d's context.
func (d *detached) CopyFrom(_ context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := d.flush(); err != nil {
		return 0, err
	}
	return d.Tx.CopyFrom(d.ctx, table, columns, src)
}

// Prepare is pgx.Tx.Prepare on d's context.
func (d *detached) Prepare(_ context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := d.flush(); err != nil {
		return nil, err
	}
	return d.Tx.Prepare(d.ctx, name, sql)
}

// Begin is pgx.Tx.Begin (a savepoint) on d's context.
func (d *detached) Begin(context.Context) (pgx.Tx, error) {
	if err := d.flush(); err != nil {
		return nil, err
	}
	return d.Tx.Begin(d.ctx)
}

var errOwnTx = errors.New("postgres: a write may not end its transaction")

// Commit refuses: the committer commits the batch.
func (d *detached) Commit(context.Context) error { return errOwnTx }

// Rollback refuses: the committer rolls back a failed write.
func (d *detached) Rollback(context.Context) error { return errOwnTx }

// pipedRow is the row of a statement sent in a batch after pending
// savepoint commands.
type pipedRow struct{ br pgx.BatchResults }

func (r pipedRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errResults are the results of a batch that could not be sent.
type errResults struct{ err error }

func (r errResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, r.err }
func (r errResults) Query() (pgx.Rows, error)         { return nil, r.err }
func (r errResults) QueryRow() pgx.Row                { return errRow(r) }
func (r errResults) Close() error                     { return r.err }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (r errResults) Tx() pgx.Tx { return nil }
