// Package postgres implements talks.Store on PostgreSQL with pgx.
//
// The store talks to the server through a pgxpool.Pool, pgx's native
// interface, rather than database/sql: it keeps the server's error codes
// (*pgconn.PgError), binary encodings of bytea and timestamptz, and one
// round trip per statement. Only goose, which needs a *sql.DB, sees the pool
// through pgx's stdlib adapter, while Open migrates. The schema is embedded
// under migrations/ and mirrors internal/sqlite's in PostgreSQL types.
//
// Every write runs in a transaction at READ COMMITTED, which it may share
// with concurrent writes, each in a savepoint of its own (group commit,
// see commit.go). A write that changes a
// talk first locks the talk's row in event_heads (SELECT ... FOR UPDATE),
// which holds the sequence number and hash of its last event, and only then
// reads and writes anything else; it appends its events after that head and
// moves the head in the same statement. So the writers of one talk are
// serialised across connections, processes and machines, its log stays
// numbered 1..n and its hash chain never forks, while writers of different
// talks do not wait for each other. Because every writer of a talk takes
// that one lock first, they cannot deadlock on each other's rows. The
// primary key (talk_id, seq) of events backs this up: a fork could not
// commit.
//
// Durability is PostgreSQL's default (synchronous_commit on): a write is
// acknowledged once its commit record is flushed. Event times are
// timestamptz, which keeps microseconds exactly, as talks.Timestamp
// truncates them, and payloads and hashes are bytea, the exact bytes the
// hash covers; so events read back verify bit for bit.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/talks"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ talks.Store = (*Store)(nil)

// Store is a talks.Store on a PostgreSQL database. It is safe for
// concurrent use, also with other Stores, in this or other processes, on
// the same database.
type Store struct {
	pool     *pgxpool.Pool
	commits  *committer   // runs every write (commit.go)
	notary   talks.Notary // signs checkpoints; nil for none
	noLedger bool         // write no tree hashes (benchmarks)

	// Where rows that never move are, learnt from committed writes or
	// read (trackPlace, versionPlace): a track's talk, and a version's
	// talk, proposal and track. A write in a batch that already holds the
	// talk's head needs them to build its events without reading anything
	// first (see txn.resume).
	tracks, versions places

	onAppend atomic.Pointer[func([]*talks.Event)] // told each commit's events
}

// OnAppend implements talks.Appender.
func (s *Store) OnAppend(fn func(evs []*talks.Event)) {
	if fn == nil {
		s.onAppend.Store(nil)
		return
	}
	s.onAppend.Store(&fn)
}

// BatchStats implements talks.Batcher.
func (s *Store) BatchStats() talks.BatchStats { return s.commits.batches.Stats() }

// appended tells the OnAppend function, if any, the events of a commit.
func (s *Store) appended(evs []*talks.Event) {
	if fn := s.onAppend.Load(); fn != nil && len(evs) > 0 {
		(*fn)(evs)
	}
}

// Open connects to the database at dsn (a postgres:// URL or a
// keyword/value string, as pgx accepts them; pool_max_conns sets the pool
// size) and migrates it to the latest schema. Concurrent Opens of one
// database migrate it once: goose holds an advisory lock meanwhile.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn's message leaves out the password.
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// Concurrent writers of different talks run in parallel, and the
		// server groups their commits; the pgx default (the number of
		// CPUs) would queue them in the pool instead.
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	return open(ctx, cfg)
}

// open is Open with the pool's configuration parsed.
func open(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	s := &Store{pool: pool}
	s.commits = newCommitter(s)
	if err := s.backfill(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	// Closing db leaves the pool open.
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close lets the writes already queued commit, refuses new ones, and
// closes the pool's connections, waiting for those in use.
func (s *Store) Close() error {
	s.commits.close()
	s.pool.Close()
	return nil
}

// txn is a write transaction. Once lock has locked a talk's log head, it
// holds the head for record to append after.
type txn struct {
	pgx.Tx
	talkID int64 // 0 until lock
	seq    int64
	hash   [32]byte

	ctx      context.Context
	noLedger bool
	notary   talks.Notary        // signs a checkpoint per event; nil for none
	hashes   map[int64]tlog.Hash // stored hashes of the talk read or written so far

	// batched is set for a write that shares its transaction with others:
	// it signs no checkpoint, and the committer signs one per talk of the
	// batch, at the talk's head, before it commits (commit.go).
	batched  bool
	appended bool           // next has appended an event
	events   []*talks.Event // what next appended, in order
	frontier []byte         // of the head, as next encodes it
	// moves are the statements queued by queue and queueWith, each of
	// which moves the head to its event, in order.
	moves []*pgx.QueuedQuery

	// known holds, by talk, the heads that the batch's writes run so far
	// left (commit.go), nil for a lone write; later are the writes that
	// follow this one in the batch. spare holds the IDs reserved for the
	// later writes of this one's kind to its talk (see resume), and
	// reserving is set while a statement that reserves them is queued.
	// follows is set for a write in a pipelined run after its first
	// (commit.go, pipeline): it may send no statement of its own.
	known     map[int64]*txn
	later     []*write
	spare     spare
	reserving bool
	follows   bool
	// checkingHead is set once resumeKept has queued its check of the head.
	checkingHead bool
	// rows are the rows of a pipelined form's statements, for a fused run
	// (fuse.go), and apply what its reads do once they have read every
	// result, which a fused run does for them; nil if it may not be fused.
	rows  []bulkRow
	apply func()
	w     *write // the write tx runs

	// lone is set for a write that has its transaction to itself. A
	// write's pipelined form sets sqlOnly if its statements can fail only
	// as statements, with no result of theirs read to decide whether the
	// write stands: then a lone one commits in their round trip (alone),
	// and sets committed once it has sent COMMIT.
	lone      bool
	sqlOnly   bool
	committed bool

	// keyChecked is set by a write that checks, in a statement of its own,
	// that the server still holds the key of its server-made signature,
	// which next then does not check again.
	keyChecked bool

	// No event of the talk after quiet, up to the head tx started from,
	// breaks a view (talks.ViewKeepingTypes): that head if nothing more is
	// known. broke is the last event tx appended that breaks one, 0 if
	// none. kept is what the committer knows of the heads that its commits
	// left (commit.go).
	quiet int64
	broke int64
	kept  map[int64]keptHead

	// deferred, for a write that shares its transaction, holds the tree
	// hashes that the batch's writes that stand so far have appended
	// (commit.go); tree holds this write's, which the batch inserts once
	// the write stands.
	deferred *treeRows
	tree     treeRows

	// signLast, for a lone write whose statements all go in one round
	// trip (alone), has next leave each event's checkpoint out: unsigned
	// holds the write's last event statement, whose checkpoint signLast
	// fills in before it is sent, one for the whole write.
	signLast bool
	unsigned *pgx.QueuedQuery
}

// update runs fn in a write transaction, possibly shared with other
// writes (see commit.go), and returns once the transaction has committed
// (nil) or fn or the commit failed. fn runs to the end once started,
// whatever happens to ctx; its statements run on a context without ctx's
// cancellation, whichever context fn passes them.
func (s *Store) update(ctx context.Context, fn func(tx *txn) error) error {
	return s.commits.update(ctx, fn)
}

// view runs fn in one read-only transaction that sees one snapshot.
func (s *Store) view(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return translate(fmt.Errorf("begin: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return translate(fn(tx))
}

// lock locks the head of talk talkID's event log until the transaction
// ends, waiting for any other writer of the talk, and reads it. Every write
// transaction of a talk calls it before it reads or writes anything else of
// the talk. ENOTFOUND if there is no such talk.
func (tx *txn) lock(ctx context.Context, talkID int64) error {
	var hash, fr []byte
	err := tx.QueryRow(ctx, `SELECT seq, hash, frontier FROM event_heads WHERE talk_id = $1 FOR UPDATE`, talkID).Scan(&tx.seq, &hash, &fr)
	if errors.Is(err, pgx.ErrNoRows) {
		return talks.Errorf(talks.ENOTFOUND, "Talk not found.")
	} else if err != nil {
		return fmt.Errorf("lock talk %d: %w", talkID, err)
	}
	tx.talkID = talkID
	tx.locked(hash, fr)
	return nil
}

// locked sets tx up at the head of its talk that it has locked and read
// (talkID and seq set, hash and fr, the frontier, as read): and if the
// committer's last commit of the talk left it there, nothing since can
// have changed the log, so what the committer knows of which events after
// quiet break a view still holds.
func (tx *txn) locked(hash, fr []byte) {
	copy(tx.hash[:], hash)
	tx.useFrontier(fr)
	tx.quiet = tx.seq
	if k, ok := tx.kept[tx.talkID]; ok && k.seq == tx.seq && k.hash == tx.hash {
		tx.quiet = k.quiet
	}
}

// quietAt returns how far back from tx's head no event breaks a view.
func (tx *txn) quietAt() int64 {
	if tx.broke > 0 {
		return tx.broke
	}
	return tx.quiet
}

// fresh records that a check of a view at head after passed: no event
// after it, up to the head tx started from, breaks a view.
func (tx *txn) fresh(after int64) {
	tx.quiet = min(tx.quiet, after)
}

// A spare is a list of sets of IDs, one from the sequence of each of its
// tables, in the order the sequences gave them, reserved while the batch
// held its talk's head.
type spare struct {
	tables string  // "messages", say, or "versions,answers"
	ids    []int64 // the first set, then the second, ...
}

// resume starts tx at the head of talk talkID that the batch's last write
// to it left, if the batch holds that head and that write left IDs in
// tables reserved for tx; it returns the first set of them, and keeps the
// rest for the next write of tx's kind, or false if tx must lock the head
// itself. The batch's transaction holds the head's lock from its first
// write to the talk until it commits, so the head cannot have moved since,
// and IDs reserved under the lock are greater than those of every write
// to the talk committed before, as if tx had reserved them itself: rows
// of a talk are still numbered in the order they commit. The head of a
// write that failed is not known (commit.go), so tx starts where the
// writes that stand left the talk, with the IDs that the failed write
// took: its rows were undone, so nothing holds them.
func (tx *txn) resume(talkID int64, tables ...string) ([]int64, bool) {
	h := tx.known[talkID]
	if h == nil || h.spare.tables != strings.Join(tables, ",") || len(h.spare.ids) < len(tables) {
		return nil, false
	}
	tx.talkID, tx.seq, tx.hash, tx.quiet = talkID, h.seq, h.hash, h.quietAt()
	if !tx.noLedger {
		// The frontier is all that next reads of the tree; a copy, so that
		// this write, if it fails, leaves h's as it was.
		idx := frontier(h.seq)
		tx.hashes = make(map[int64]tlog.Hash, len(idx)+4)
		for _, x := range idx {
			if v, ok := h.hashes[x]; ok {
				tx.hashes[x] = v
			}
		}
	}
	tx.spare = spare{tables: h.spare.tables, ids: h.spare.ids[len(tables):]}
	return h.spare.ids[:len(tables)], true
}

// resumeKept starts tx, the first write to talk talkID in its batch, at
// the head that the committer's last commit of the talk left (keptHead),
// if that commit left IDs in tables reserved; it returns the first set
// of them, and keeps the rest for the later writes of tx's kind in the
// batch (resume), or false if tx must lock and read the head itself. It
// queues on b the statement that locks the head and refuses if the head
// is not that one any more (checkedHead reads it): another process has
// written to the talk since. Otherwise nothing has, so the IDs, reserved
// under the lock of the commit that left the head, are still greater
// than those of every row of the talk, and tx saves the round trip that
// reads the head.
func (tx *txn) resumeKept(b *pgx.Batch, talkID int64, tables ...string) ([]int64, bool) {
	k, ok := tx.kept[talkID]
	if !ok || talkID == 0 || tx.known[talkID] != nil || k.spare.tables != strings.Join(tables, ",") || len(k.spare.ids) < len(tables) {
		return nil, false
	}
	tx.talkID, tx.seq = talkID, k.seq
	tx.locked(k.hash[:], k.frontier)
	tx.spare = spare{tables: k.spare.tables, ids: k.spare.ids[len(tables):]}
	tx.checkingHead = true
	b.Queue(`SELECT `+refuse(`WHEN h.seq <> $2 OR h.hash <> $3 THEN 'moved'`)+` FROM event_heads h WHERE h.talk_id = $1 FOR UPDATE OF h`, talkID, k.seq, k.hash[:])
	return k.spare.ids[:len(tables)], true
}

// errHeadMoved is the error of a write that resumeKept started at a head
// that another process has moved since: the committer forgets that head
// and runs the write again, and it then locks and reads the head.
var errHeadMoved = errors.New("postgres: the talk's head moved since the last commit")

// checkedHead reads the result of resumeKept's statement, if it queued
// one: errHeadMoved if the head has moved.
func (tx *txn) checkedHead(br pgx.BatchResults) error {
	if !tx.checkingHead {
		return nil
	}
	err := br.QueryRow().Scan(new(bool))
	if errors.Is(err, pgx.ErrNoRows) || refused(err, headMoved) == errHeadMoved {
		delete(tx.kept, tx.talkID)
		return errHeadMoved
	}
	if err != nil {
		return fmt.Errorf("check head: %w", err)
	}
	return nil
}

var headMoved = map[string]error{"moved": errHeadMoved}

// leading returns how many statements a write's pipelined form queues
// before its own: resumeKept's check of the head and reserve's statement,
// in that order, if it queued them.
func (tx *txn) leading() int {
	n := 0
	if tx.checkingHead {
		n++
	}
	if tx.reserving {
		n++
	}
	return n
}

// readLead reads the results of the statements that leading counts.
func (tx *txn) readLead(br pgx.BatchResults) error {
	if err := tx.checkedHead(br); err != nil {
		return err
	}
	return tx.reserved(br)
}

// toReserve returns how many sets of IDs beyond tx's own the statement
// that locks talk talkID's head reserves from the sequences of tables
// kind: one for each later write of the kind in the batch (wanted), and
// spare ones for the next batches' writes of the kind to the talk
// (resumeKept), at least minSpare and twice the batch's, so that a batch
// as big as this one finds enough.
func (tx *txn) toReserve(talkID int64, kind string) int {
	n := tx.wanted(talkID, kind)
	return n + max(minSpare, 2*(n+1))
}

const minSpare = 32

// reserve queues on b, if the writes that follow tx in its batch include
// more of tx's kind to its talk (by their write.talk) than tx's spare
// holds IDs for, a statement that reserves an ID from the sequence of each
// of tables for each of them (see resume). That is for a write whose
// statement that locks the head reserved none, since its talk was not
// known before: the later ones can then resume, but not in its pipelined
// run (commit.go), since they need the IDs to build their events. It goes
// first, so that reserved reads its result first from b's results.
func (tx *txn) reserve(b *pgx.Batch, tables ...string) {
	kind := strings.Join(tables, ",")
	n := tx.wanted(tx.talkID, kind)
	if n == 0 || tx.spare.tables == kind && len(tx.spare.ids) >= n*len(tables) {
		return
	}
	vals := make([]string, len(tables))
	for i, t := range tables {
		// nextval runs once per row, in the order the rows are made, which
		// ARRAY keeps: each array ascends. The sequence is looked up once,
		// in a subquery of its own: pg_get_serial_sequence scans the
		// catalog, which per row cost as much as the rest of a write.
		// (So too in the statements that lock a head and reserve IDs.)
		vals[i] = `ARRAY(SELECT nextval((SELECT pg_get_serial_sequence('` + t + `', 'id')::regclass)) FROM generate_series(1, $1::int))`
	}
	tx.spare = spare{tables: kind}
	tx.reserving = true
	b.Queue(`SELECT `+strings.Join(vals, ", "), n)
}

// wanted returns how many of the writes that follow tx in its batch will
// write to talk talkID (by their write.talk) with IDs from the sequences of
// tables kind: how many sets of IDs to reserve for them, as the head is
// locked or in reserve.
func (tx *txn) wanted(talkID int64, kind string) int {
	n := 0
	for _, w := range tx.later {
		if talkID != 0 && w.talk == talkID && w.tables == kind {
			n++
		}
	}
	return n
}

// reserved reads the IDs that reserve's statement reserved, if it queued
// one, into tx's spare.
func (tx *txn) reserved(br pgx.BatchResults) error {
	if !tx.reserving {
		return nil
	}
	n := strings.Count(tx.spare.tables, ",") + 1
	cols := make([][]int64, n)
	dest := make([]any, n)
	for i := range cols {
		dest[i] = &cols[i]
	}
	if err := br.QueryRow().Scan(dest...); err != nil {
		return fmt.Errorf("reserve ids: %w", err)
	}
	ids := make([]int64, 0, n*len(cols[0]))
	for j := range cols[0] {
		for i := range cols {
			ids = append(ids, cols[i][j])
		}
	}
	tx.spare.ids = ids
	return nil
}

// places maps the IDs of rows that never move to where they are. It
// keeps what it learnt in two generations of at most maxPlaces each: once
// the newer is full, the older is forgotten and the newer becomes the
// older. A place found in the older is learnt again, so the places in use
// stay, and a store that has seen many rows does not forget every one at
// once (each then read again, all together).
type places struct {
	mu       sync.Mutex
	cur, old map[int64]place
}

// A place is where a track (its talk) or a version (its talk, proposal
// and track) is.
type place struct{ talk, proposal, track int64 }

const maxPlaces = 1 << 14

// trackPlace returns the talk of track id: from s.tracks or, if it is not
// known there, read. A track never moves, so the read need not wait for
// the talk's head, and a write that knows its talk can join a batch's run
// (txn.resume): the committer need not read it in a round trip of its own
// while it holds the head. ENOTFOUND if there is no such track.
func (s *Store) trackPlace(ctx context.Context, id int64) (place, error) {
	return s.placeOf(ctx, &s.tracks, id, "Track", `SELECT talk_id FROM tracks WHERE id = $1`,
		func(row pgx.Row, p *place) error { return row.Scan(&p.talk) })
}

// versionPlace is trackPlace for version id: its talk, proposal and
// track.
func (s *Store) versionPlace(ctx context.Context, id int64) (place, error) {
	return s.placeOf(ctx, &s.versions, id, "Version", `SELECT p.talk_id, p.id, p.track_id FROM versions v JOIN proposals p ON p.id = v.proposal_id WHERE v.id = $1`,
		func(row pgx.Row, p *place) error { return row.Scan(&p.talk, &p.proposal, &p.track) })
}

// placeOf returns the place of row id of kind what: from cache, or read
// by query and scan, and then kept in cache.
func (s *Store) placeOf(ctx context.Context, cache *places, id int64, what, query string, scan func(pgx.Row, *place) error) (place, error) {
	if p := cache.get(id); p.talk != 0 {
		return p, nil
	}
	var p place
	err := scan(s.pool.QueryRow(ctx, query, id), &p)
	if errors.Is(err, pgx.ErrNoRows) {
		return place{}, talks.Errorf(talks.ENOTFOUND, "%s not found.", what)
	} else if err != nil {
		return place{}, translate(fmt.Errorf("find %s: %w", strings.ToLower(what), err))
	}
	cache.put(id, p)
	return p, nil
}

// get returns the place of id, or the zero place if it is not known: no
// talk has ID 0, so resume finds no head there.
func (p *places) get(id int64) place {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl, ok := p.cur[id]; ok {
		return pl
	}
	pl, ok := p.old[id]
	if ok {
		p.learn(id, pl)
	}
	return pl
}

// put records the place of id, which must be of a committed row.
func (p *places) put(id int64, pl place) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.learn(id, pl)
}

// learn puts id in the newer generation, starting a new one if it is
// full. p.mu is held.
func (p *places) learn(id int64, pl place) {
	if p.cur == nil || len(p.cur) >= maxPlaces {
		p.old, p.cur = p.cur, make(map[int64]place)
	}
	p.cur[id] = pl
}

// record builds an event of the locked talk, seals it as the next event
// after the head, inserts it and moves the head to it.
func (tx *txn) record(ctx context.Context, trackID int64, typ string, st talks.Stamp, payload any) error {
	return tx.recordWith(ctx, trackID, typ, st, payload, "")
}

// recordWith is record that also runs the data-modifying statement with
// (an INSERT, say, whose parameters are numbered from $16, args being
// their values) in the same round trip, while the talk's head is locked.
// With may also use the event's talk ($1), sequence number ($2), time ($3),
// actor ($4) and track ($5); $6 to $15 are the event statement's own, and
// an error.
func (tx *txn) recordWith(ctx context.Context, trackID int64, typ string, st talks.Stamp, payload any, with string, args ...any) error {
	b := &pgx.Batch{}
	if err := tx.queueWith(b, trackID, typ, st, payload, with, args...); err != nil {
		return err
	}
	q := b.QueuedQueries[0]
	if _, err := tx.Exec(ctx, q.SQL, q.Arguments...); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

// queueWith is recordWith that queues its statement on b rather than
// running it.
func (tx *txn) queueWith(b *pgx.Batch, trackID int64, typ string, st talks.Stamp, payload any, with string, args ...any) error {
	if _, ok := checkedWith.Load(with); !ok {
		for _, m := range eventParam.FindAllStringSubmatch(with, -1) {
			if n, _ := strconv.Atoi(m[1]); n > 5 && n < firstWithParam {
				return fmt.Errorf("record %s: $%d is a parameter of the event statement; number the statement's own from $%d", typ, n, firstWithParam)
			}
		}
		checkedWith.Store(with, true)
	}
	q, qargs, err := tx.next(trackID, typ, st, payload)
	if err != nil {
		return err
	}
	if with != "" {
		q = `WITH w AS (` + with + `), ` + strings.TrimPrefix(strings.TrimSpace(q), "WITH ")
	}
	tx.queued(b.Queue(q, append(qargs, args...)...))
	return nil
}

// viewLag returns the sequence number after which the events of the
// locked talk must be checked against st.View (talks.ViewCheck): the
// head the Service decided by, or the transaction's head if there is
// nothing to check, as when no event after the head decided by breaks a
// view, as far as tx knows (quiet). talks.ErrStaleView if the check
// cannot pass.
func (tx *txn) viewLag(st talks.Stamp) (int64, error) {
	if st.View == nil {
		return tx.seq, nil
	}
	switch h := st.View.Head; {
	case h > tx.seq || tx.seq-h > talks.MaxViewLag:
		return 0, talks.ErrStaleView
	case h >= tx.quietAt():
		return tx.seq, nil
	default:
		return h, nil
	}
}

// checkView returns talks.ErrStaleView unless the events of the locked
// talk after st.View's head are all of types in talks.ViewKeepingTypes,
// in a statement of its own if there are any.
func (tx *txn) checkView(ctx context.Context, st talks.Stamp) error {
	after, err := tx.viewLag(st)
	if err != nil || after == tx.seq {
		return err
	}
	var fresh bool
	if err := tx.QueryRow(ctx, `SELECT `+viewCheckOn("$1", "$2"), tx.talkID, after).Scan(&fresh); err != nil {
		return fmt.Errorf("check view: %w", err)
	} else if !fresh {
		return talks.ErrStaleView
	}
	tx.fresh(after)
	return nil
}

// refuse is a select list that calls backchannel_refuse (migration 00016)
// with the reason of the first of cases, a CASE's WHEN clauses, that holds:
// if one does, the statement fails with its reason (refused), so that
// PostgreSQL skips the rest of the write's round trip; otherwise it
// selects true.
func refuse(cases string) string {
	return `backchannel_refuse(CASE ` + cases + ` END)`
}

// refusedCode is the SQLSTATE of backchannel_refuse's error.
const refusedCode = "ZB001"

// refused returns the error of reasons for err, if it is a statement's
// failure by refuse; otherwise err.
func refused(err error, reasons map[string]error) error {
	var perr *pgconn.PgError
	if errors.As(err, &perr) && perr.Code == refusedCode {
		if e, ok := reasons[perr.Message]; ok {
			return e
		}
	}
	return err
}

// viewCheckOn returns the condition, for a statement's select list, that
// no event of talk talk after sequence number after is of a type outside
// talks.ViewKeepingTypes: true at once when after is the head.
func viewCheckOn(talk, after string) string {
	return `NOT EXISTS (SELECT 1 FROM events WHERE talk_id = ` + talk + ` AND seq > ` + after + ` AND NOT (type = ANY(` + keepingTypes + `)))`
}

// keepingTypes is talks.ViewKeepingTypes as an SQL array: the names of
// event types, which quote as they are.
var keepingTypes = func() string {
	var q []string
	for _, t := range talks.ViewKeepingTypes() {
		q = append(q, `'`+strings.ReplaceAll(t, `'`, `''`)+`'`)
	}
	return `ARRAY[` + strings.Join(q, ", ") + `]::text[]`
}()

// keepsView holds the event types that leave a view as it was
// (talks.ViewKeepingTypes).
var keepsView = func() map[string]bool {
	m := make(map[string]bool)
	for _, t := range talks.ViewKeepingTypes() {
		m[t] = true
	}
	return m
}()

// firstWithParam is the number of recordWith's first own parameter: the
// event statement (next) takes $1 to $15.
const firstWithParam = 16

var eventParam = regexp.MustCompile(`\$(\d+)`)

// checkedWith holds the statements for queueWith whose parameters it has
// checked: the same few come again with every write.
var checkedWith sync.Map

// queue is record that queues its statement on b rather than running it;
// the caller sends b, and its transaction fails if b does.
func (tx *txn) queue(b *pgx.Batch, trackID int64, typ string, st talks.Stamp, payload any) error {
	q, args, err := tx.next(trackID, typ, st, payload)
	if err != nil {
		return err
	}
	tx.queued(b.Queue(q, args...))
	return nil
}

// queued records q, a statement of next's that moves the head.
func (tx *txn) queued(q *pgx.QueuedQuery) {
	tx.moves = append(tx.moves, q)
	if tx.signLast {
		tx.unsigned = q
	}
}

// signCheckpoint signs the checkpoint of the tree at tx's last event
// queued (signLast), and puts it in that event's statement.
func (tx *txn) signCheckpoint() error {
	q := tx.unsigned
	if q == nil || tx.notary == nil || tx.noLedger || tx.batched {
		return nil
	}
	seq := q.Arguments[1].(int64)
	r, err := tlog.TreeHash(seq, tx)
	if err != nil {
		return fmt.Errorf("root of talk %d: %w", tx.talkID, err)
	}
	msg, err := tx.notary.SignCheckpoint(tx.talkID, seq, r)
	if err != nil {
		return fmt.Errorf("sign checkpoint of talk %d: %w", tx.talkID, err)
	}
	q.Arguments[11], q.Arguments[12] = r[:], string(msg)
	return nil
}

// next builds an event of the locked talk, seals it as the next event
// after the head and moves the transaction's head to it. It returns the
// statement (and its arguments, $1 to $15) that inserts the event, its
// tree hashes and a signed checkpoint of the tree at it, and moves the
// head (and its frontier) in the database.
func (tx *txn) next(trackID int64, typ string, st talks.Stamp, payload any) (string, []any, error) {
	if tx.talkID == 0 {
		return "", nil, fmt.Errorf("record %s: the talk is not locked", typ)
	}
	e, err := talks.NewEvent(tx.talkID, trackID, typ, st, payload)
	if err != nil {
		return "", nil, err
	}
	if sg := st.SignatureFor(typ); sg != nil && sg.ByClient() {
		if err := tx.useSignature(tx.ctx, sg); err != nil {
			return "", nil, err
		}
	} else if sg != nil && !tx.keyChecked {
		if err := tx.serverHoldsKey(tx.ctx, sg.Signer); err != nil {
			return "", nil, err
		}
	}
	e.Seal(tx.seq+1, tx.hash)
	idx, hs, err := tx.appendLeaf(e)
	if err != nil {
		return "", nil, err
	}
	tx.seq, tx.hash = e.ID, e.Hash
	tx.events = append(tx.events, e)
	if !keepsView[typ] {
		tx.broke = e.ID
	}
	st.NoteAppended(e.ID)
	fr, err := tx.encodeFrontier()
	if err != nil {
		return "", nil, err
	}
	tx.frontier = fr
	// The checkpoint of the tree at this event, signed now and inserted in
	// the event's own statement: no round trip more while the talk's head
	// is locked. A lone write of several events that sends them in one
	// round trip (signLast) signs one, at its last; one that sends each as
	// it goes signs one per event; in a batch of writes, the committer
	// signs one per talk instead.
	tx.appended = true
	// In a batch of writes, its tree hashes are inserted with the
	// batch's others, in one statement before COMMIT, and so is the
	// batch's checkpoint of the talk (commit.go): the statement leaves
	// out both inserts, each of which would cost it the setup of a table
	// to insert into, even of no row.
	// The event's hashes are at consecutive indexes: one run.
	hashes := `INSERT INTO tlog_hash_runs (talk_id, idx, hashes) SELECT $1, $10::bigint, $11::bytea WHERE length($11::bytea) > 0`
	checkpoint := `INSERT INTO checkpoints (talk_id, size, root, note, time)
			SELECT $1, $2, $12::bytea, $13::text, $14::timestamptz WHERE $13::text IS NOT NULL`
	var first int64
	run := []byte{}
	if tx.batched {
		tx.tree.add(tx.talkID, idx, hs)
		hashes = `SELECT $10::bigint, $11::bytea`
		checkpoint = `SELECT $12::bytea, $13::text, $14::timestamptz`
	} else if len(idx) > 0 {
		first = idx[0]
		for _, h := range hs {
			run = append(run, h...)
		}
	}
	var root, note any // NULL: no checkpoint
	if tx.notary != nil && !tx.noLedger && !tx.batched && !tx.signLast {
		r, err := tlog.TreeHash(e.ID, tx)
		if err != nil {
			return "", nil, fmt.Errorf("root of talk %d: %w", tx.talkID, err)
		}
		msg, err := tx.notary.SignCheckpoint(tx.talkID, e.ID, r)
		if err != nil {
			return "", nil, fmt.Errorf("sign checkpoint of talk %d: %w", tx.talkID, err)
		}
		root, note = r[:], string(msg)
	}
	return `
		WITH e AS (
			INSERT INTO events (talk_id, seq, time, actor_id, track_id, type, payload, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		), h AS (
			` + hashes + `
		), c AS (
			` + checkpoint + `
		)
		` + moveHead,
		[]any{e.TalkID, e.ID, e.Time, e.ActorID, e.TrackID, e.Type, []byte(e.Payload), e.PrevHash[:], e.Hash[:], first, run,
			root, note, talks.Timestamp(time.Now()), fr}, nil
}

// moveHead is the last part of next's statement, which moves the head;
// keepHead takes its place in a statement of a pipelined run that a later
// one of the run moves the head past (commit.go, pipeline).
const (
	moveHead = `UPDATE event_heads SET seq = $2, hash = $9, frontier = $15 WHERE talk_id = $1`
	keepHead = `SELECT $15::bytea IS NULL`
)

// translate turns driver errors into talks errors, so that no driver type
// crosses into talks: a server error becomes a talks code or, for anything
// else, plain text.
func translate(err error) error {
	var terr *talks.Error
	var perr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &terr), errors.Is(err, errHeadMoved):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return talks.Errorf(talks.ENOTFOUND, "Not found.")
	case errors.As(err, &perr):
		switch perr.Code {
		case "23505": // unique_violation
			return talks.Errorf(talks.ECONFLICT, "Already exists.")
		case "23503": // foreign_key_violation
			return talks.Errorf(talks.EINVALID, "Refers to something that does not exist.")
		case "23514", "23502": // check_violation, not_null_violation
			return talks.Errorf(talks.EINVALID, "Invalid value.")
		case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
			return talks.Errorf(talks.EINVALID, "Text must be UTF-8 without NUL characters.")
		}
	}
	for _, c := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, c) {
			return fmt.Errorf("postgres: %s: %w", err.Error(), c)
		}
	}
	// The server's text may name tables: it stays out of talks.Error's
	// Message, which a user may see.
	return fmt.Errorf("postgres: %s", err.Error())
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// limit returns the LIMIT and OFFSET clauses; n <= 0 means no limit.
func limit(offset, n int) string {
	var s string
	if n > 0 {
		s = fmt.Sprintf(" LIMIT %d", n)
	}
	if offset > 0 {
		s += fmt.Sprintf(" OFFSET %d", offset)
	}
	return s
}
