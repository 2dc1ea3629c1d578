package loadtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/backchannel/backchannel/internal/pgtest"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestRoundTrips counts the round trips to PostgreSQL of one API write,
// a message and a counter-proposal, each posted by one client alone with
// the caches warm (the steady state of BenchmarkAPI with one client), and
// logs the statements of each (go test -v). The store talks to the server
// through a proxy that counts a round trip each time the client sends
// after the server has answered, and reads the statements from the
// protocol's Query, Parse and Bind messages. It fails if a write takes more
// round trips than it did when this test was written, so that a change that
// adds one is noticed. A counter-proposal alone pays a round trip for
// locking the talk's head; a message starts from the head the last commit
// left, which it checks in its insert's round trip, and one that shares a
// batch with earlier writes to its talk does not lock either:
// internal/postgres's TestLoneCommit and TestBatchedWrites count those.
func TestRoundTrips(t *testing.T) {
	if os.Getenv("BACKCHANNEL_TEST_POSTGRES") == "" {
		t.Skip("BACKCHANNEL_TEST_POSTGRES not set")
	}
	dsn := pgtest.NewDatabase(t)
	p := startProxy(t, dsn)
	st, err := postgres.Open(context.Background(), p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := newWorld(t, withLedger(t, st, "on"), 2)
	p2 := &talks.Proposal{TrackID: w.official.ID, Title: "draft"}
	v := &talks.Version{Values: map[string]string{"line": "1967", "prisoners": "500"}}
	if err := w.svc.CreateProposal(w.convener, p2, v); err != nil {
		t.Fatal(err)
	}
	parent := v.ID
	msgPath := fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID)
	message := func(i int) error {
		return w.post(0, msgPath, fmt.Appendf(nil, `{"body":"message %d"}`, i), nil)
	}
	counter := func(i int) error {
		var v server.Version
		body := fmt.Appendf(nil, `{"values":{"line":"current","prisoners":"%d"},"rationale":"counter %d"}`, i, i)
		if err := w.post(0, fmt.Sprintf("/api/v1/versions/%d/counter", parent), body, &v); err != nil {
			return err
		}
		parent = v.ID
		return nil
	}
	for _, c := range []struct {
		name  string
		write func(int) error
		max   int
	}{
		{"message", message, 1},
		{"counter", counter, 2},
	} {
		// Warm the caches (statements prepared, views and keys read).
		for i := range 5 {
			if err := c.write(i); err != nil {
				t.Fatal(err)
			}
		}
		// Counted write by write: the median is what every write costs.
		// An occasional extra (the auth cache's 2 s running out on a slow
		// machine, the pool's ping of an idle connection) does not move it;
		// a round trip more in every write does.
		const n = 21
		counts := make([]int, n)
		var last []string
		for i := range n {
			p.start()
			if err := c.write(100 + i); err != nil {
				t.Fatal(err)
			}
			last = p.stop()
			counts[i] = len(last)
		}
		slices.Sort(counts)
		median := counts[n/2]
		t.Logf("%s: %d round trips per write (median of %d writes, from %d to %d); the last write's:", c.name, median, n, counts[0], counts[n-1])
		for _, tr := range last {
			t.Logf("  %s", tr)
		}
		if median > c.max {
			t.Errorf("%s: %d round trips per write, want at most %d", c.name, median, c.max)
		}
	}
}

// proxy forwards connections to a PostgreSQL server and, while counting,
// records each round trip with the statements sent in it.
type proxy struct {
	dsn string // the DSN through the proxy

	mu       sync.Mutex
	counting bool
	turns    []string
}

func startProxy(t *testing.T, dsn string) *proxy {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	u.Host = l.Addr().String()
	p := &proxy{dsn: u.String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.serve(c, s)
		}
	}()
	return p
}

func (p *proxy) start() {
	p.mu.Lock()
	p.counting, p.turns = true, nil
	p.mu.Unlock()
}

func (p *proxy) stop() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counting = false
	return p.turns
}

// serve forwards between client c and server s. A client message that
// follows an answer of the server starts a round trip.
func (p *proxy) serve(c, s net.Conn) {
	defer c.Close()
	defer s.Close()
	var mu sync.Mutex
	answered := true // the server has sent since the client last did
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 {
				mu.Lock()
				answered = true
				mu.Unlock()
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	stmts := map[string]string{} // prepared statements by name
	first := true
	turn := -1
	for {
		var hdr [5]byte
		hl := 5
		if first {
			hl = 4 // the startup message has no type byte
		}
		if _, err := io.ReadFull(c, hdr[:hl]); err != nil {
			return
		}
		var typ byte
		var ln uint32
		if first {
			ln = binary.BigEndian.Uint32(hdr[:4])
		} else {
			typ, ln = hdr[0], binary.BigEndian.Uint32(hdr[1:5])
		}
		first = false
		body := make([]byte, ln-4)
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		mu.Lock()
		newTurn := answered
		answered = false
		mu.Unlock()
		var what string
		switch typ {
		case 'Q':
			what = cstring(body)
		case 'P':
			name := cstring(body)
			q := cstring(body[len(name)+1:])
			stmts[name] = q
			what = "prepare " + q
		case 'B':
			portal := cstring(body)
			what = stmts[cstring(body[len(portal)+1:])]
		}
		p.mu.Lock()
		// The pool pings a connection idle for more than a second before
		// handing it out: that is not the write's.
		if p.counting && typ != 0 && what != "-- ping" {
			if newTurn {
				p.turns = append(p.turns, "")
				turn = len(p.turns) - 1
			}
			if what != "" && turn >= 0 && turn < len(p.turns) {
				if p.turns[turn] != "" {
					p.turns[turn] += " | "
				}
				p.turns[turn] += squeeze(what)
			}
		}
		p.mu.Unlock()
		msg := append(hdr[:hl:hl], body...)
		if _, err := s.Write(msg); err != nil {
			return
		}
	}
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// squeeze shortens a statement for the log: one line, at most 90 bytes.
func squeeze(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 90 {
		q = q[:90] + "…"
	}
	return q
}
