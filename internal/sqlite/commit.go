package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Group commit.
//
// SQLite has one writer, and a durable commit (an fsync of the WAL) costs
// more than the statements of a typical write. So Store does not give each
// write a transaction of its own: one goroutine, the committer, owns the
// writing connection, takes every write queued while the previous commit
// was running (at most maxBatch), runs each inside its own SAVEPOINT in one
// BEGIN IMMEDIATE transaction, and commits once. A write whose function
// fails is rolled back to its savepoint, so it writes nothing and leaves
// the others alone, and its caller gets its error at once. The callers of
// the writes that succeeded are answered only after the commit, so a write
// is still acknowledged only once it is durable; if the commit fails, they
// all get that error. A lone write runs without a savepoint.
//
// Writes run in the order they were queued, and each sees the writes run
// before it, as if they had committed one by one: appendEvent reads the
// talk's last event inside the transaction, so a talk's log stays numbered
// without gaps and its hash chain unforked.

// maxBatch bounds the writes in one transaction, so a commit's latency
// stays bounded under load.
const maxBatch = 128

// maxStmts bounds the prepared statements kept per connection; past it
// the cache starts over.
const maxStmts = 256

// errClosed is returned for writes after Close.
var errClosed = errors.New("sqlite: store closed")

// A write is one call of update waiting for the committer.
type write struct {
	ctx   context.Context
	fn    func(ctx context.Context, tx *txn) error
	state atomic.Int32 // queued, taken or abandoned
	err   error
	panic any // what fn panicked with, re-raised in the caller
	done  chan struct{}
}

const (
	queued int32 = iota
	taken
	abandoned
)

// committer runs the queued writes in batches on the writing connection.
type committer struct {
	db *sql.DB // one connection

	mu     sync.Mutex
	cond   sync.Cond
	queue  []*write
	closed bool
	done   chan struct{} // closed when run returns

	notary   talks.Notary         // signs checkpoints; nil for none
	noLedger bool                 // write no tree hashes (benchmarks)
	onAppend func([]*talks.Event) // told each commit's events; nil for none
	batches  talks.BatchCounter

	// Only run uses these.
	hashes *hashCache
	conn   *sql.Conn
	stmts  map[string]*sql.Stmt
	known  known
}

func newCommitter(db *sql.DB) *committer {
	c := &committer{db: db, done: make(chan struct{}), stmts: make(map[string]*sql.Stmt), hashes: newHashCache(), known: newKnown()}
	c.cond.L = &c.mu
	go c.run()
	return c
}

// update runs fn in a write transaction, possibly shared with other
// writes, and returns once the transaction has committed (nil) or fn or
// the commit failed. fn sees ctx's values but not its cancellation: once
// the committer has taken the write it runs to the end. A write whose ctx
// is done before it is taken is not run.
func (c *committer) update(ctx context.Context, fn func(ctx context.Context, tx *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{ctx: ctx, fn: fn, done: make(chan struct{})}
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
func (c *committer) close() error {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	<-c.done
	return nil
}

func (c *committer) run() {
	defer close(c.done)
	defer c.reset()
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

// reset closes the connection and its statements.
func (c *committer) reset() {
	c.known = newKnown()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// commit runs batch in one transaction and answers every write in it.
func (c *committer) commit(batch []*write) {
	// Drop the writes abandoned while queued.
	ws := batch[:0:0]
	for _, w := range batch {
		if w.state.CompareAndSwap(queued, taken) {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return
	}
	ctx := context.Background()
	fail := func(ws []*write, err error) {
		for _, w := range ws {
			w.err = err
			close(w.done)
		}
	}
	if c.conn == nil {
		conn, err := c.db.Conn(ctx)
		if err != nil {
			fail(ws, translate(fmt.Errorf("begin: %w", err)))
			return
		}
		c.conn = conn
	}
	c.mu.Lock()
	notary, noLedger, onAppend := c.notary, c.noLedger, c.onAppend
	c.mu.Unlock()
	tx := &txn{conn: c.conn, stmts: c.stmts, noLedger: noLedger, known: c.known}
	// The talks the batch's successful writes appended to, and their
	// heads: each gets one checkpoint, signed before the commit.
	touched := make(map[int64]int64)
	if !noLedger {
		tx.hashes = c.hashes
		committed := false
		c.hashes.beginBatch()
		defer func() { c.hashes.endBatch(committed, touched) }()
		defer func() { committed = tx.committed }()
	}
	if _, err := tx.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		// The connection may be broken: start afresh next time.
		c.reset()
		fail(ws, translate(fmt.Errorf("begin: %w", err)))
		return
	}
	// What the committer knows holds only while no other connection
	// commits, which changes data_version.
	var version int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&version); err != nil {
		c.abort(tx)
		fail(ws, translate(fmt.Errorf("data version: %w", err)))
		return
	}
	if version != c.known.version {
		c.known = newKnown()
		c.known.version = version
		tx.known = c.known
	}
	lone := len(ws) == 1
	ok := ws[:0:0]
	for i, w := range ws {
		if !lone {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT w`); err != nil {
				c.abort(tx)
				fail(append(ok, ws[i:]...), translate(fmt.Errorf("savepoint: %w", err)))
				return
			}
		}
		tx.beginWrite()
		tx.hashes.beginWrite()
		appended := len(tx.appended)
		err := w.call(tx)
		tx.hashes.endWrite(err == nil)
		if err != nil {
			tx.appended = tx.appended[:appended]
		}
		if err == nil {
			for id, h := range tx.cur {
				touched[id] = h.seq
				tx.learnt.heads[id] = h
			}
			tx.known.keep(tx.learnt)
			tx.kept = true
			if !lone {
				if _, err := tx.ExecContext(ctx, `RELEASE w`); err != nil {
					c.abort(tx)
					fail(append(ok, ws[i:]...), translate(fmt.Errorf("release savepoint: %w", err)))
					return
				}
			}
			ok = append(ok, w)
			continue
		}
		if lone {
			c.abort(tx)
			fail(ws, err)
			return
		}
		// Undo w alone. If SQLite rolled back the whole transaction (after
		// an I/O error, say), this fails, and so do the writes before w.
		_, rerr := tx.ExecContext(ctx, `ROLLBACK TO w`)
		if rerr == nil {
			_, rerr = tx.ExecContext(ctx, `RELEASE w`)
		}
		if rerr != nil {
			c.abort(tx)
			fail(ok, translate(fmt.Errorf("rollback to savepoint: %w", rerr)))
			fail(ws[i+1:], translate(fmt.Errorf("rollback to savepoint: %w", rerr)))
			fail([]*write{w}, err)
			return
		}
		fail([]*write{w}, err)
	}
	if len(ok) == 0 {
		c.abort(tx)
		return
	}
	if !noLedger {
		if err := storeHashes(ctx, tx); err != nil {
			c.abort(tx)
			fail(ok, translate(err))
			return
		}
	}
	if notary != nil && !noLedger {
		for id, seq := range touched {
			if err := checkpoint(ctx, tx, notary, id, seq); err != nil {
				c.abort(tx)
				fail(ok, translate(err))
				return
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `COMMIT`); err != nil {
		c.abort(tx)
		fail(ok, translate(fmt.Errorf("commit: %w", err)))
		return
	}
	tx.committed = true
	if onAppend != nil && len(tx.appended) > 0 {
		onAppend(tx.appended)
	}
	fail(ok, nil)
}

// abort rolls back the transaction, if SQLite has not already.
func (c *committer) abort(tx *txn) {
	if tx.kept {
		// The batch's writes that succeeded are undone too.
		c.known = newKnown()
	}
	if _, err := tx.ExecContext(context.Background(), `ROLLBACK`); err != nil && !isNoTx(err) {
		c.reset()
	}
}

// isNoTx reports whether err says that no transaction is active.
func isNoTx(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no transaction is active")
}

// call runs w's function, turning a panic into an error for the batch and
// keeping the panic for w's caller.
func (w *write) call(tx *txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.panic = p
			err = fmt.Errorf("sqlite: write panicked: %v", p)
		}
	}()
	return translate(w.fn(context.WithoutCancel(w.ctx), tx))
}

// txn is a write transaction on the committer's connection. Its methods
// are those of sql.Tx that the store uses, on statements prepared once per
// connection.
type txn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt

	noLedger  bool                // write no tree hashes
	known     known               // the committer's: what earlier writes read or left
	learnt    known               // by the running write, from the database
	kept      bool                // known holds what a write of the batch learnt
	cur       map[int64]eventHead // the talks the running write appended to, and their heads
	hashes    *hashCache          // the committer's; nil caches nothing
	committed bool                // the batch committed
	appended  []*talks.Event      // by the batch's writes so far that succeeded
}

func (tx *txn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := tx.stmts[query]; st != nil {
		return st, nil
	}
	st, err := tx.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(tx.stmts) >= maxStmts {
		for q, old := range tx.stmts {
			old.Close()
			delete(tx.stmts, q)
		}
	}
	tx.stmts[query] = st
	return st, nil
}

// ExecContext is sql.Tx.ExecContext.
func (tx *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// insert runs query, an INSERT of one row into a table with an INTEGER
// PRIMARY KEY, and returns the row's id. It is for the writes of every
// request (a message, a version, an answer): without RETURNING, the
// statement yields no row for database/sql to read through Rows.
func (tx *txn) insert(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// QueryContext is sql.Tx.QueryContext.
func (tx *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext is sql.Tx.QueryRowContext.
func (tx *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		// The Row carries the error of preparing query again.
		return tx.conn.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// pool is the pool of reading connections, with statements prepared once
// per connection and reused.
type pool struct {
	*sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// stmt returns query prepared, or nil if it cannot be or the cache is full
// (queries with a literal limit or offset may be many). It prepares
// without holding mu, which may wait for a free connection.
func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	st, full := p.stmts[query], p.stmts == nil || len(p.stmts) >= maxStmts // closed or full
	p.mu.Unlock()
	if st != nil || full {
		return st
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.stmts[query]; old != nil || p.stmts == nil {
		st.Close() // prepared by another caller meanwhile, or closed
		return old
	}
	p.stmts[query] = st
	return st
}

// QueryContext is sql.DB.QueryContext.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.DB.QueryRowContext.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// Close closes the statements and the pool.
func (p *pool) Close() error {
	p.mu.Lock()
	for _, st := range p.stmts {
		st.Close()
	}
	p.stmts = nil
	p.mu.Unlock()
	return p.DB.Close()
}

// readTx is a read transaction that uses the pool's prepared statements,
// so a query is parsed once per connection, not on every call. A query
// the pool has not prepared yet runs unprepared and is noted, for view to
// prepare once the transaction's connection is free again.
type readTx struct {
	*sql.Tx
	pool       *pool
	unprepared []string
}

func (tx *readTx) stmt(query string) *sql.Stmt {
	tx.pool.mu.Lock()
	st := tx.pool.stmts[query]
	tx.pool.mu.Unlock()
	if st == nil {
		tx.unprepared = append(tx.unprepared, query)
	}
	return st
}

// QueryContext is sql.Tx.QueryContext.
func (tx *readTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.Tx.QueryRowContext.
func (tx *readTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.stmt(query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}
