package postgres

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestTx is a write transaction for tests of group commit.
type TestTx struct{ tx *txn }

// AddParty locks talk talkID, inserts a party named name and appends its
// event.
func (t TestTx) AddParty(ctx context.Context, talkID, actorID int64, name string) error {
	if err := t.tx.lock(ctx, talkID); err != nil {
		return err
	}
	var id int64
	if err := t.tx.QueryRow(ctx, `INSERT INTO parties (talk_id, name) VALUES ($1, $2) RETURNING id`, talkID, name).Scan(&id); err != nil {
		return fmt.Errorf("insert party: %w", err)
	}
	return t.tx.record(ctx, 0, talks.EventPartyAdded, talks.Stamp{ActorID: actorID}, talks.PartyAdded{PartyID: id, Name: name})
}

// Exec runs a statement.
func (t TestTx) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := t.tx.Exec(ctx, sql, args...)
	return err
}

// SendBatch sends the statements as one pipelined batch.
func (t TestTx) SendBatch(ctx context.Context, sqls ...string) error {
	b := &pgx.Batch{}
	for _, q := range sqls {
		b.Queue(q)
	}
	return t.tx.SendBatch(ctx, b).Close()
}

// Write runs fn as one write of s.
func Write(ctx context.Context, s *Store, fn func(TestTx) error) error {
	return s.update(ctx, func(tx *txn) error { return fn(TestTx{tx}) })
}

// Queued returns how many writes of s wait for its committer.
func Queued(s *Store) int {
	s.commits.mu.Lock()
	defer s.commits.mu.Unlock()
	return len(s.commits.queue)
}

// OpenTraced is Open with tracer told of every statement and batch that
// the store's connections send.
func OpenTraced(ctx context.Context, dsn string, tracer pgx.QueryTracer) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = tracer
	return open(ctx, cfg)
}

// SetFusing turns s's fused runs on (the default) or off.
func SetFusing(s *Store, on bool) { s.commits.unfused.Store(!on) }

// Fused returns how many runs s's committer has sent fused that stood,
// and how many it sent again unfused since a statement failed.
func Fused(s *Store) (stood, fellBack int64) {
	return s.commits.fusedRuns.Load(), s.commits.fusedFallbacks.Load()
}

// MigrateTo migrates the database at dsn up or down to version.
func MigrateTo(ctx context.Context, dsn string, version int64) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		return err
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	if version < cur {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	return err
}
