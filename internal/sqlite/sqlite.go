// Package sqlite implements talks.Store on SQLite (modernc.org/sqlite, pure
// Go), in one file.
//
// The database runs in WAL mode with synchronous=FULL, so a write is
// acknowledged only once it is durable, and with foreign keys on. All
// writes go through one connection and begin with BEGIN IMMEDIATE, so they
// are serialised even across processes and a talk's event sequence and
// hash chain never fork; reads use a separate pool and run alongside.
// Concurrent writes share a transaction, each in its own savepoint, and one
// durable commit (commit.go). Statements are prepared once per connection.
// The schema is embedded under migrations/ and applied by goose on Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/backchannel/backchannel/internal/talks"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ talks.Store = (*Store)(nil)

// Store is a talks.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	write   *sql.DB    // one connection: every write transaction
	commits *committer // the one user of write, once migrated
	read    *pool      // a pool for reads
}

// Open opens (creating if need be) the database at path and migrates it to
// the latest schema.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := func(txlock string) string {
		q := url.Values{}
		// temp_store(MEMORY) keeps the sub-journal, which each write's
		// savepoint in a batch fills with the pages it changes, in memory;
		// by default it spills to a temporary file at 64 KiB. Durability
		// is the WAL's, which this does not touch.
		for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "temp_store(MEMORY)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", txlock)
		q.Set("_time_format", "sqlite")
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{write: w}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		w.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, w, sub)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if _, err := p.Up(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Idle connections stay open, so statements prepared on them stay too.
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	s.read = &pool{DB: r, stmts: make(map[string]*sql.Stmt)}
	if err := s.backfill(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.commits = newCommitter(w)
	return s, nil
}

// Close waits for the writes already made to commit, refuses new ones and
// closes the database.
func (s *Store) Close() error {
	return errors.Join(s.commits.close(), s.read.Close(), s.write.Close())
}

// update runs fn in a write transaction and returns once that has
// committed, or fn or the commit failed; a failed fn writes nothing. The
// transaction may hold other writes too (see commit.go), so fn must use
// its own ctx and tx, and must not keep anything of tx.
func (s *Store) update(ctx context.Context, fn func(ctx context.Context, tx *txn) error) error {
	return s.commits.update(ctx, fn)
}

// view runs fn in one read transaction, a consistent snapshot.
func (s *Store) view(ctx context.Context, fn func(tx *readTx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(fmt.Errorf("begin: %w", err))
	}
	rt := &readTx{Tx: tx, pool: s.read}
	err = fn(rt)
	tx.Rollback()
	// Prepare what the pool lacked now that tx's connection is free: to
	// prepare while holding it could wait forever for another one.
	for _, q := range rt.unprepared {
		s.read.stmt(ctx, q)
	}
	return translate(err)
}

// translate turns driver errors into talks errors, so that no driver type
// crosses into talks.
func translate(err error) error {
	var serr *msqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return talks.Errorf(talks.ENOTFOUND, "Not found.")
	case errors.As(err, &serr):
		switch serr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return talks.Errorf(talks.ECONFLICT, "Already exists.")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return talks.Errorf(talks.EINVALID, "Refers to something that does not exist.")
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return talks.Errorf(talks.EINVALID, "Invalid value.")
		}
		// The driver's text may name tables: keep it out of Message.
		return fmt.Errorf("sqlite: %s", serr.Error())
	}
	return err
}

// appendEvent seals e as the next event of its talk and inserts it.
func appendEvent(ctx context.Context, tx *txn, e *talks.Event) error {
	h, err := tx.head(ctx, e.TalkID)
	if err != nil {
		return err
	}
	e.Seal(h.seq+1, h.hash)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO events (talk_id, seq, time, actor_id, track_id, type, payload, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.TalkID, e.ID, e.TimeString(), e.ActorID, e.TrackID, e.Type, []byte(e.Payload), e.PrevHash[:], e.Hash[:]); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	if err := appendLeaf(ctx, tx, e); err != nil {
		return err
	}
	quiet := e.ID
	if keepsView(e.Type) {
		quiet = h.quiet
	}
	tx.cur[e.TalkID] = eventHead{seq: e.ID, hash: e.Hash, quiet: quiet}
	tx.appended = append(tx.appended, e)
	return nil
}

// OnAppend implements talks.Appender.
func (s *Store) OnAppend(fn func(evs []*talks.Event)) {
	s.commits.mu.Lock()
	defer s.commits.mu.Unlock()
	s.commits.onAppend = fn
}

// BatchStats implements talks.Batcher.
func (s *Store) BatchStats() talks.BatchStats { return s.commits.batches.Stats() }

// checkView returns talks.ErrStaleView unless every event of talk talkID
// after st.View's head (talks.ViewCheck), at most talks.MaxViewLag of
// them, is of a type in talks.ViewKeepingTypes. The write transaction is
// the only one, so what it reads stays so until it commits.
func checkView(ctx context.Context, tx *txn, talkID int64, st talks.Stamp) error {
	if st.View == nil {
		return nil
	}
	h, err := tx.head(ctx, talkID)
	if err != nil {
		return err
	}
	if h.seq < st.View.Head || h.seq-st.View.Head > talks.MaxViewLag {
		return talks.ErrStaleView
	} else if st.View.Head >= h.quiet {
		return nil
	}
	args := []any{talkID, st.View.Head}
	for _, t := range talks.ViewKeepingTypes() {
		args = append(args, t)
	}
	var last int64
	err = tx.QueryRowContext(ctx, `SELECT seq FROM events WHERE talk_id = $1 AND seq > $2 AND type NOT IN (`+viewTypes+`) ORDER BY seq DESC LIMIT 1`,
		args...).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		tx.setQuiet(talkID, st.View.Head)
		return nil
	case err != nil:
		return fmt.Errorf("check view: %w", err)
	}
	tx.setQuiet(talkID, last)
	return talks.ErrStaleView
}

// viewTypes is the list of parameters $3, $4, ... that checkView binds to
// talks.ViewKeepingTypes.
var viewTypes = func() string {
	ps := make([]string, len(talks.ViewKeepingTypes()))
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", i+3)
	}
	return strings.Join(ps, ", ")
}()

// record builds an event and appends it.
func record(ctx context.Context, tx *txn, talkID, trackID int64, typ string, st talks.Stamp, payload any) error {
	e, err := talks.NewEvent(talkID, trackID, typ, st, payload)
	if err != nil {
		return err
	}
	if sg := st.SignatureFor(typ); sg != nil && sg.ByClient() {
		if err := useSignature(ctx, tx, talkID, sg); err != nil {
			return err
		}
	} else if sg != nil {
		if err := serverHoldsKey(ctx, tx, talkID, sg.Signer); err != nil {
			return err
		}
	}
	if err := appendEvent(ctx, tx, e); err != nil {
		return err
	}
	st.NoteAppended(e.ID)
	return nil
}

func formatTime(t time.Time) string { return talks.Timestamp(t).Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// exists returns ENOTFOUND with msg unless query returns a row.
func exists(ctx context.Context, tx *txn, msg, query string, args ...any) error {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return talks.Errorf(talks.ENOTFOUND, "%s", msg)
	}
	return err
}

// scanIDs reads every row of rows, a query's single int64 column, and
// closes them; err is the query's error, so that a query's two results can
// be passed straight in.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
