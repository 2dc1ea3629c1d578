package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/pgtest"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
)

// tamperDB is a database for the tamper table: its DSN, the store, and
// raw SQL on it.
type tamperDB struct {
	kind  string
	dsn   string
	store storeCloser
	exec  func(t *testing.T, q string, args ...any)
}

func sqliteTamperDB(t *testing.T) *tamperDB {
	path := filepath.Join(t.TempDir(), "bc.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close(); st.Close() })
	return &tamperDB{kind: "sqlite", dsn: path, store: st, exec: func(t *testing.T, q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}}
}

func postgresTamperDB(t *testing.T) *tamperDB {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		raw.Close(ctx)
		st.Close()
	})
	return &tamperDB{kind: "postgres", dsn: dsn, store: st, exec: func(t *testing.T, q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}}
}

// TestVerifyDBTamper tampers with one talk per case, on each database, and
// checks that verify --db, or verify of a bundle against a checkpoint a
// member kept, detects it.
func TestVerifyDBTamper(t *testing.T) {
	for _, open := range []struct {
		name string
		fn   func(t *testing.T) *tamperDB
	}{{"sqlite", sqliteTamperDB}, {"postgres", postgresTamperDB}} {
		t.Run(open.name, func(t *testing.T) { testVerifyDBTamper(t, open.fn(t)) })
	}
}

func testVerifyDBTamper(t *testing.T, db *tamperDB) {
	ctx := context.Background()
	key, _, err := ledger.GenerateKey("bc.example")
	if err != nil {
		t.Fatal(err)
	}
	db.store.SetNotary(key)
	u := &talks.User{Name: "u", Email: "u@example.org", PasswordHash: "x"}
	if err := db.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// newTalk makes a talk of 8 events: 3 of its creation, a party, 4
	// messages; a checkpoint after each write.
	newTalk := func(t *testing.T) (*talks.Talk, []*talks.Event) {
		tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
		st := talks.Stamp{ActorID: u.ID, Time: time.Now()}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(db.store.CreateTalk(ctx, tk, st))
		must(db.store.AddParty(ctx, &talks.Party{TalkID: tk.ID, Name: "P"}, st))
		trs, err := db.store.FindTracks(ctx, talks.TrackFilter{TalkID: tk.ID})
		must(err)
		ms, err := db.store.FindMembers(ctx, talks.MemberFilter{TalkID: tk.ID})
		must(err)
		for i := range 4 {
			must(db.store.PostMessage(ctx, &talks.Message{TrackID: trs[0].ID, AuthorID: ms[0].ID, Body: fmt.Sprintf("offer %d", i)}, st))
		}
		evs, err := db.store.FindEvents(ctx, talks.EventFilter{TalkID: tk.ID})
		must(err)
		if len(evs) != 8 {
			t.Fatalf("talk has %d events, want 8", len(evs))
		}
		return tk, evs
	}
	verifyTalk := func(t *testing.T, id int64) (string, error) {
		out, stderr, err := run(t, "verify", "--db", db.dsn, "--talk", fmt.Sprint(id), "--key", key.VerifierKey())
		return out + stderr, err
	}
	insertEvent := func(t *testing.T, e *talks.Event) {
		var at any = e.Time
		if db.kind == "sqlite" {
			at = e.TimeString()
		}
		db.exec(t, `INSERT INTO events (talk_id, seq, time, actor_id, track_id, type, payload, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.TalkID, e.ID, at, e.ActorID, e.TrackID, e.Type, []byte(e.Payload), e.PrevHash[:], e.Hash[:])
	}
	other, _, _ := ledger.GenerateKey("bc.example")

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, tk *talks.Talk, evs []*talks.Event)
		want   string // in verify --db's output
	}{
		{"payload byte", func(t *testing.T, tk *talks.Talk, evs []*talks.Event) {
			p := []byte(evs[5].Payload)
			i := strings.Index(string(p), "offer")
			p[i] = 'O'
			db.exec(t, `UPDATE events SET payload = $1 WHERE talk_id = $2 AND seq = 6`, p, tk.ID)
		}, "event 6: chain: its hash does not match its contents"},
		{"delete event", func(t *testing.T, tk *talks.Talk, _ []*talks.Event) {
			db.exec(t, `DELETE FROM events WHERE talk_id = $1 AND seq = 5`, tk.ID)
		}, "event 5: chain: the log's event number 5 is 6"},
		{"swap events", func(t *testing.T, tk *talks.Talk, _ []*talks.Event) {
			db.exec(t, `UPDATE events SET seq = 1000 WHERE talk_id = $1 AND seq = 5`, tk.ID)
			db.exec(t, `UPDATE events SET seq = 5 WHERE talk_id = $1 AND seq = 6`, tk.ID)
			db.exec(t, `UPDATE events SET seq = 6 WHERE talk_id = $1 AND seq = 1000`, tk.ID)
		}, "event 5: chain: its hash does not match its contents"},
		{"insert event", func(t *testing.T, tk *talks.Talk, evs []*talks.Event) {
			// A well-formed event after the last, chained and hashed: only
			// the tree and the checkpoints show it.
			e, err := talks.NewEvent(tk.ID, 0, talks.EventTalkUpdated, talks.Stamp{ActorID: u.ID, Time: time.Now()}, talks.TalkUpdated{})
			if err != nil {
				t.Fatal(err)
			}
			e.Seal(9, evs[7].Hash)
			insertEvent(t, e)
		}, "events 9-9: no checkpoint with a valid signature covers them"},
		{"replace signature", func(t *testing.T, tk *talks.Talk, evs []*talks.Event) {
			tree := new(ledger.Tree)
			for _, e := range evs {
				tree.Append(ledger.LeafBytes(e))
			}
			root, _ := tree.Root(8)
			forged, err := other.SignCheckpoint(tk.ID, 8, root)
			if err != nil {
				t.Fatal(err)
			}
			db.exec(t, `UPDATE checkpoints SET note = $1 WHERE id = (SELECT max(id) FROM checkpoints WHERE talk_id = $2)`, string(forged), tk.ID)
		}, "signature: ledger: checkpoint is not signed by key bc.example"},
		{"corrupt signature", func(t *testing.T, tk *talks.Talk, _ []*talks.Event) {
			cp, err := db.store.FindLatestCheckpoint(ctx, tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Change one base64 digit in the middle of the signature.
			b := []byte(cp.Note)
			i := len(b) - 20
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			db.exec(t, `UPDATE checkpoints SET note = $1 WHERE id = (SELECT max(id) FROM checkpoints WHERE talk_id = $2)`, string(b), tk.ID)
		}, "signature: ledger: checkpoint signature by key bc.example"},
		{"fork", func(t *testing.T, tk *talks.Talk, _ []*talks.Event) {
			var root [32]byte
			root[0] = 1
			note, err := key.SignCheckpoint(tk.ID, 4, root)
			if err != nil {
				t.Fatal(err)
			}
			at := any(time.Now())
			if db.kind == "sqlite" {
				at = time.Now().UTC().Format(time.RFC3339Nano)
			}
			db.exec(t, `INSERT INTO checkpoints (talk_id, size, root, note, time) VALUES ($1, 4, $2, $3, $4)`, tk.ID, root[:], string(note), at)
		}, "fork: another signed checkpoint of size 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, evs := newTalk(t)
			if out, err := verifyTalk(t, tk.ID); err != nil {
				t.Fatalf("verify --db before tampering = %v\n%s", err, out)
			}
			tc.tamper(t, tk, evs)
			out, err := verifyTalk(t, tk.ID)
			if exitCode(err) != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("verify --db after %s = %v (exit %d)\n%s\nwant exit 1 and %q", tc.name, err, exitCode(err), out, tc.want)
			}
		})
	}

	// A rollback cuts the log and its checkpoints back together, which
	// leaves the database consistent: the checkpoint a member kept shows it.
	t.Run("rollback", func(t *testing.T) {
		tk, evs := newTalk(t)
		kept, err := db.store.FindLatestCheckpoint(ctx, tk.ID)
		if err != nil || kept.Size != 8 {
			t.Fatalf("latest checkpoint = %+v, %v; want size 8", kept, err)
		}
		keptFile := filepath.Join(t.TempDir(), "kept")
		os.WriteFile(keptFile, kept.Note, 0o644)
		db.exec(t, `DELETE FROM events WHERE talk_id = $1 AND seq > 6`, tk.ID)
		hashes := "tlog_hashes"
		if db.kind == "postgres" {
			// Each event's hashes are a run of their own there, written
			// alone.
			hashes = "tlog_hash_runs"
		}
		db.exec(t, `DELETE FROM `+hashes+` WHERE talk_id = $1 AND idx >= $2`, tk.ID, tlog.StoredHashCount(6))
		db.exec(t, `DELETE FROM checkpoints WHERE talk_id = $1 AND size > 6`, tk.ID)
		if db.kind == "postgres" {
			db.exec(t, `UPDATE event_heads SET seq = 6, hash = $1 WHERE talk_id = $2`, evs[5].Hash[:], tk.ID)
		}
		rec, err := db.store.FindRecord(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		hs := make([]tlog.Hash, len(rec.Hashes))
		for i, h := range rec.Hashes {
			hs[i] = h
		}
		tree, err := ledger.NewTree(int64(len(rec.Events)), hs)
		if err != nil {
			t.Fatal(err)
		}
		path := writeBundleVisible(t, rec.Events, tree, key)
		out, _, err := run(t, "verify", path, "--key", key.VerifierKey(), "--since", keptFile)
		if exitCode(err) != 1 || !strings.Contains(out, "rollback") {
			t.Errorf("verify BUNDLE --since after a rollback = %v\n%s\nwant exit 1 and a rollback", err, out)
		}
		// The database alone passes; with the kept checkpoint it does not.
		if out, err := verifyTalk(t, tk.ID); err != nil {
			t.Errorf("verify --db after a consistent rollback = %v\n%s\nwant OK: only a kept checkpoint shows it", err, out)
		}
		out, _, err = run(t, "verify", "--db", db.dsn, "--key", key.VerifierKey(), "--since", keptFile)
		if exitCode(err) != 1 || !strings.Contains(out, "rollback: it covers 8 events, the log has 6") {
			t.Errorf("verify --db --since after a rollback = %v\n%s\nwant exit 1 and a rollback", err, out)
		}
		if !strings.Contains(out, fmt.Sprintf("talk %d:", tk.ID)) || strings.Count(out, "talk ") != 1 {
			t.Errorf("verify --db --since checked other talks than the kept checkpoint's:\n%s", out)
		}
	})

	// A fork: the log was rewritten, consistently with its own new
	// checkpoints, after a member kept one.
	t.Run("since fork", func(t *testing.T) {
		tk, _ := newTalk(t)
		kept, err := db.store.FindLatestCheckpoint(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		var root [32]byte
		root[0] = 7
		forged, err := key.SignCheckpoint(tk.ID, kept.Size, root)
		if err != nil {
			t.Fatal(err)
		}
		keptFile := filepath.Join(t.TempDir(), "kept")
		os.WriteFile(keptFile, forged, 0o644)
		out, _, err := run(t, "verify", "--db", db.dsn, "--key", key.VerifierKey(), "--since", keptFile)
		if exitCode(err) != 1 || !strings.Contains(out, "fork: the log's first 8 events hash to") {
			t.Errorf("verify --db --since with a checkpoint of another tree = %v\n%s\nwant exit 1 and a fork", err, out)
		}
		os.WriteFile(keptFile, kept.Note, 0o644)
		if out, _, err := run(t, "verify", "--db", db.dsn, "--key", key.VerifierKey(), "--since", keptFile); err != nil {
			t.Errorf("verify --db --since with the talk's own latest checkpoint = %v\n%s", err, out)
		}
		other, _, err := ledger.GenerateKey("other.example")
		if err != nil {
			t.Fatal(err)
		}
		note, _ := other.SignCheckpoint(tk.ID, kept.Size, root)
		os.WriteFile(keptFile, note, 0o644)
		if out, _, err := run(t, "verify", "--db", db.dsn, "--key", key.VerifierKey(), "--since", keptFile); exitCode(err) != 1 || !strings.Contains(out, "FAILED: the checkpoint in") {
			t.Errorf("verify --db --since with a checkpoint of another key = %v\n%s\nwant exit 1", err, out)
		}
	})

	// Every talk at once: the tampered ones fail the run.
	out, _, err := run(t, "verify", "--db", db.dsn, "--key", key.VerifierKey())
	if exitCode(err) != 1 || !strings.Contains(out, "FAILED:") {
		t.Errorf("verify --db of every talk = %v\n%s", err, out)
	}
}

func writeBundleVisible(t *testing.T, events []*talks.Event, tree *ledger.Tree, key *ledger.Key) string {
	t.Helper()
	b, err := ledger.NewBundle(events, func(*talks.Event) bool { return true }, tree, key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(path, data, 0o644)
	return path
}
