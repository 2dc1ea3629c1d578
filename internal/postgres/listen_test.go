package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/storetest"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestListen checks that a store hears of the writes another store makes
// to the same database, and listens again after its connection is cut.
func TestListen(t *testing.T) {
	db := newDatabase(t)
	ctx := context.Background()
	dsn := db.schema(t)
	listener, writer := openDSN(t, dsn), openDSN(t, dsn)

	wrote, listening, lost := make(chan int64, 100), make(chan struct{}, 10), make(chan error, 10)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		listener.Listen(lctx, func(id int64) { wrote <- id }, func() { listening <- struct{}{} }, func(err error) { lost <- err }, 10*time.Millisecond)
	}()
	defer func() { stop(); <-done }()
	wait := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case err := <-lost:
			t.Fatalf("waiting for %s: lost the connection: %v", what, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s after 10 s", what)
		}
	}
	heard := func(want int64) {
		t.Helper()
		for {
			select {
			case id := <-wrote:
				if id == want {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no notification of a write to talk %d after 10 s", want)
			}
		}
	}
	wait("first LISTEN", listening)

	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := writer.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
	if err := writer.CreateTalk(ctx, tk, talks.Stamp{ActorID: u.ID, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	heard(tk.ID)
	tracks, members := storetest.TracksAndMembers(t, writer, tk.ID)
	post := func(body string) {
		t.Helper()
		m := &talks.Message{TrackID: tracks[0].ID, AuthorID: members[0].ID, Body: body}
		if err := writer.PostMessage(ctx, m, talks.Stamp{ActorID: u.ID, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	post("one")
	heard(tk.ID)

	// Cut the listening connection: the store says so, listens again, and
	// hears the next write.
	var n int
	if err := db.admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = $1`, "LISTEN "+postgres.EventsChannel).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminate the listening connection: %d terminated, %v", n, err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the cut connection was not reported after 10 s")
	}
	wait("LISTEN again", listening)
	post("two")
	heard(tk.ID)
}
