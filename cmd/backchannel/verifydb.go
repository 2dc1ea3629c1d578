package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
)

// verify --db: the operator's check of a database against the checkpoints
// the server signed.

// dbProblem is one thing verify --db found wrong with a talk.
type dbProblem struct {
	talkID int64
	what   string
}

// verifyDB checks talk ids (every talk if ids is empty) of store against
// verifier v, and against kept, a checkpoint a member kept, if not nil,
// and writes a line per talk to out. It returns the problems.
func verifyDB(ctx context.Context, store talks.Store, v note.Verifier, ids []int64, kept *keptCheckpoint, out io.Writer) ([]dbProblem, error) {
	if len(ids) == 0 {
		all, err := store.FindTalks(ctx, talks.TalkFilter{})
		if err != nil {
			return nil, err
		}
		for _, t := range all {
			ids = append(ids, t.ID)
		}
	}
	var problems []dbProblem
	for _, id := range ids {
		ps, summary, err := verifyTalk(ctx, store, v, id, kept)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			fmt.Fprintf(out, "talk %d: OK: %s\n", id, summary)
			continue
		}
		fmt.Fprintf(out, "talk %d: FAILED: %s\n", id, summary)
		for _, p := range ps {
			fmt.Fprintf(out, "  %s\n", p)
			problems = append(problems, dbProblem{id, p})
		}
	}
	return problems, nil
}

// keptCheckpoint is a signed checkpoint that someone kept (verify --db
// --since), with the file it came from.
type keptCheckpoint struct {
	ledger.Checkpoint
	talkID int64
	file   string
}

// verifyTalk recomputes talk id's tree from its events and compares it
// with the stored hashes and every stored checkpoint, and with kept if it
// is of this talk.
func verifyTalk(ctx context.Context, store talks.Store, v note.Verifier, id int64, kept *keptCheckpoint) (problems []string, summary string, err error) {
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	rec, err := store.FindRecord(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("talk %d: %w", id, err)
	}
	cps, err := store.FindCheckpoints(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("talk %d: %w", id, err)
	}
	evs := rec.Events
	n := int64(len(evs))
	// The hash chain: numbering, each event's hash, each link.
	for i, e := range evs {
		seq := int64(i + 1)
		switch {
		case e.ID != seq:
			fail("event %d: chain: the log's event number %d is %d: an event was deleted, inserted or moved", seq, seq, e.ID)
		case e.ComputeHash() != e.Hash:
			fail("event %d: chain: its hash does not match its contents: the event was edited or moved", e.ID)
		case i > 0 && e.PrevHash != evs[i-1].Hash, i == 0 && e.PrevHash != [32]byte{}:
			fail("event %d: chain: its previous hash is not the hash of event %d", e.ID, e.ID-1)
		}
	}
	// The tree, recomputed from the events.
	tree := new(ledger.Tree)
	for _, e := range evs {
		if _, err := tree.Append(ledger.LeafBytes(e)); err != nil {
			return nil, "", err
		}
	}
	if want := tlog.StoredHashCount(n); int64(len(rec.Hashes)) != want {
		fail("tree: %d stored hashes for %d events, want %d: events were inserted or deleted after their hashes were written", len(rec.Hashes), n, want)
	}
	for i, h := range rec.Hashes {
		if int64(i) >= tlog.StoredHashCount(n) {
			break
		}
		w, _ := tree.ReadHashes([]int64{int64(i)})
		if tlog.Hash(h) != w[0] {
			level, k := tlog.SplitStoredHashIndex(int64(i))
			lo, hi := k<<level+1, (k+1)<<level
			if lo == hi {
				fail("event %d: tree: its stored leaf hash differs from the event's: the event was changed after it was appended", lo)
			} else {
				fail("events %d-%d: tree: a stored hash over them differs from the events'", lo, hi)
			}
		}
	}
	// Every checkpoint: signed by the key, of this talk, of a prefix of
	// this log; no two of one size disagree.
	var latest int64
	bySize := map[int64]tlog.Hash{}
	for i, cp := range cps {
		name := fmt.Sprintf("checkpoint %d (size %d, %s)", i+1, cp.Size, cp.Time.Format("2006-01-02T15:04:05Z"))
		c, err := ledger.OpenCheckpoint(cp.Note, v)
		if err != nil {
			fail("%s: signature: %v", name, err)
			continue
		}
		if want := ledger.Origin(v.Name(), id); c.Origin != want {
			fail("%s: origin %q, want %q", name, c.Origin, want)
			continue
		}
		if c.Size != cp.Size || c.Root != tlog.Hash(cp.Root) {
			fail("%s: the stored size or root differs from the signed note's (size %d, root %s)", name, c.Size, c.Root)
		}
		if r, ok := bySize[c.Size]; ok && r != c.Root {
			fail("%s: fork: another signed checkpoint of size %d has root %s, this one %s", name, c.Size, r, c.Root)
		}
		bySize[c.Size] = c.Root
		latest = max(latest, c.Size)
		if c.Size > n {
			fail("%s: rollback: it covers %d events, the log has %d: events were deleted", name, c.Size, n)
			continue
		}
		root, err := tree.Root(c.Size)
		if err != nil {
			return nil, "", err
		}
		if root != c.Root {
			fail("%s: root: the log's first %d events hash to %s, the server signed %s: events were edited, deleted, reordered or inserted", name, c.Size, root, c.Root)
		}
	}
	// The kept checkpoint: the database's log must extend it. A log cut
	// back with its own checkpoints passes every check above, not this.
	if kept != nil && kept.talkID == id {
		name := fmt.Sprintf("the checkpoint kept in %s (size %d)", kept.file, kept.Size)
		if kept.Size > n {
			fail("%s: rollback: it covers %d events, the log has %d: events were deleted since it was signed", name, kept.Size, n)
		} else if root, err := tree.Root(kept.Size); err != nil {
			return nil, "", err
		} else if root != kept.Root {
			fail("%s: fork: the log's first %d events hash to %s, the kept checkpoint says %s: the log was rewritten since it was signed", name, kept.Size, root, kept.Root)
		}
	}
	switch {
	case len(cps) == 0:
		summary = fmt.Sprintf("%s, no signed checkpoint yet (written before the ledger, or by a server without one)", plural(int(n), "event"))
	case latest < n:
		fail("events %d-%d: no checkpoint with a valid signature covers them (the latest is of size %d): they were inserted, or their checkpoint was", latest+1, n, latest)
		fallthrough
	default:
		root, _ := tree.Root(n)
		summary = fmt.Sprintf("%s, %s, latest of size %d, root %s", plural(int(n), "event"), plural(len(cps), "checkpoint"), latest, root)
	}
	return problems, summary, nil
}

// openStore opens the store a DSN names, as serve does.
func openStore(ctx context.Context, dsn string) (storeCloser, string, string, error) {
	kind, target, err := parseDSN(dsn)
	if err != nil {
		return nil, "", "", err
	}
	var s storeCloser
	switch kind {
	case "sqlite":
		if _, err := os.Stat(target); err != nil {
			return nil, "", "", fmt.Errorf("verify: --db: %w", err)
		}
		s, err = sqlite.Open(ctx, target)
	case "postgres":
		s, err = postgres.Open(ctx, target)
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("verify: open %s database: %w", kind, err)
	}
	return s, kind, target, nil
}

// dbVerifier returns the verifier of the server's key: --key, or the
// ledger key in --key-dir or next to a SQLite database.
func dbVerifier(key, keyDir, kind, target string) (note.Verifier, error) {
	if key != "" {
		k, err := verifierKey(key)
		if err != nil {
			return nil, err
		}
		return note.NewVerifier(k)
	}
	var path string
	switch {
	case keyDir != "":
		path = filepath.Join(keyDir, "ledger-key")
	case kind == "sqlite":
		path = target + ".ledger-key"
	default:
		return nil, usagef("verify: give the server's key with --key or --key-dir")
	}
	k, err := ledger.LoadKey(path, "")
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return k.Verifier(), nil
}

func (m *Main) runVerifyDB(ctx context.Context, dsn, key, keyDir string, talkID int64, since string) error {
	store, kind, target, err := openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := dbVerifier(key, keyDir, kind, target)
	if err != nil {
		return err
	}
	var kept *keptCheckpoint
	if since != "" {
		msg, err := os.ReadFile(since)
		if err != nil {
			return fmt.Errorf("verify: --since: %w", err)
		}
		c, err := ledger.OpenCheckpoint(msg, v)
		if err != nil {
			fmt.Fprintf(m.Stdout, "FAILED: the checkpoint in %s: %v\n", since, err)
			return errors.New("verify: verification failed")
		}
		id, ok := ledger.TalkOfOrigin(v.Name(), c.Origin)
		if !ok {
			fmt.Fprintf(m.Stdout, "FAILED: the checkpoint in %s is of %q, not of a talk on %s\n", since, c.Origin, v.Name())
			return errors.New("verify: verification failed")
		} else if talkID > 0 && talkID != id {
			return usagef("verify: --since holds a checkpoint of talk %d, not of --talk %d", id, talkID)
		}
		kept, talkID = &keptCheckpoint{Checkpoint: c, talkID: id, file: since}, id
	}
	var ids []int64
	if talkID > 0 {
		ids = []int64{talkID}
	}
	problems, err := verifyDB(ctx, store, v, ids, kept, m.Stdout)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if len(problems) > 0 {
		fmt.Fprintf(m.Stdout, "FAILED: %s in %s\n", plural(len(problems), "problem"), redactDSN(dsn))
		return errors.New("verify: verification failed")
	}
	fmt.Fprintf(m.Stdout, "OK: every talk's log matches its stored tree and the checkpoints signed by %s\n", v.Name())
	return nil
}
