package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/pgtest"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// maxWrites is the servers' server.Options.MaxWrites, to compare limits.
var maxWrites = flag.Int("max-writes", 0, "the API's `limit` of writes handled at once (0: as serve sets it, server.DefaultMaxWrites or server.PostgreSQLMaxWrites)")

// cheapArgon2 keeps the set-up of many users fast; logins are not measured.
var cheapArgon2 = talks.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type store interface {
	talks.Store
	SetNotary(talks.Notary)
	DisableLedger()
	Close() error
}

// withLedger sets st's verifiable record to mode: "off" (no tree hashes,
// no checkpoints), "hashes" (tree hashes only) or "on" (tree hashes and a
// signed checkpoint per group-commit batch, or per write that runs alone),
// and returns st.
func withLedger(b testing.TB, st store, mode string) store {
	b.Helper()
	switch mode {
	case "off":
		st.DisableLedger()
	case "on":
		key, _, err := ledger.GenerateKey("bench.example")
		if err != nil {
			b.Fatal(err)
		}
		st.SetNotary(key)
	}
	return st
}

// backends are the stores to measure: SQLite always, PostgreSQL when
// BACKCHANNEL_TEST_POSTGRES is set.
func backends() []string {
	if os.Getenv("BACKCHANNEL_TEST_POSTGRES") != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

func openStore(b testing.TB, kind string) store {
	st, _ := openStoreAt(b, kind)
	return st
}

// openStoreAt is openStore, and returns the database too, as serve's --db
// takes it: a SQLite file or a PostgreSQL URL.
func openStoreAt(b testing.TB, kind string) (store, string) {
	b.Helper()
	ctx := context.Background()
	var st store
	var db string
	var err error
	switch kind {
	case "sqlite":
		db = filepath.Join(b.TempDir(), "bc.db")
		st, err = sqlite.Open(ctx, db)
	case "postgres":
		db = pgtest.NewDatabase(b)
		st, err = postgres.Open(ctx, db)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, db
}

// run calls op b.N times from c goroutines, each as soon as a goroutine
// is free (a closed loop), and reports the rate and the p50/p99 latency
// of the calls.
func run(b *testing.B, c int, unit string, op func(g, i int) error) {
	load(b, c, unit, 0, op)
}

// runPaced calls op b.N times from c goroutines, call i due at
// start + i/rate (an open loop), and reports the rate reached and the
// p50/p99 latency from each call's due time. A goroutine takes the next
// call when it is free, so more than c calls are never in flight.
func runPaced(b *testing.B, c, rate int, op func(g, i int) error) {
	load(b, c, "writes/s", time.Second/time.Duration(rate), op)
}

// load is run with calls due every interval if interval > 0: it then
// measures each call's latency from its due time.
func load(b *testing.B, c int, unit string, interval time.Duration, op func(g, i int) error) {
	durs := make([]time.Duration, b.N)
	// The calls' timeline (-timeline), of runs long enough to show one:
	// not of the first run of one call that the testing package makes.
	var calls []call
	if *timeline != "" && b.N >= 100 {
		calls = make([]call, b.N)
	}
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	cpu0 := cpuTime(b)
	mach0, machOK := machineTimes()
	b.ResetTimer()
	start := time.Now()
	for g := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for nth := 0; ; nth++ {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if interval > 0 {
					t0 = start.Add(time.Duration(i) * interval)
					time.Sleep(time.Until(t0))
				}
				if err := op(g, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(b.N))
					return
				}
				durs[i] = time.Since(t0)
				if calls != nil {
					calls[i] = call{end: time.Since(start), dur: durs[i], client: g, nth: nth}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	mach1, _ := machineTimes()
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit)
	b.ReportMetric(float64(cpu/time.Microsecond)/float64(b.N), "cpu-µs/op")
	if machOK {
		cores := elapsed.Seconds() * float64(runtime.NumCPU())
		busy := mach1.busy - mach0.busy
		b.ReportMetric(100*(mach1.steal-mach0.steal).Seconds()/cores, "steal-%")
		b.ReportMetric(100*busy.Seconds()/cores, "machine-busy-%")
		b.ReportMetric(float64(busy/time.Microsecond)/float64(b.N), "machine-cpu-µs/op")
	}
	reportPercentiles(b, "", durs)
	if calls != nil {
		sum, err := writeTimeline(*timeline, b.Name(), calls)
		if err != nil {
			b.Fatalf("timeline: %v", err)
		}
		b.Log(sum)
	}
}

// cpuTimes are the machine's CPU times, summed over its CPUs, from the
// first line of /proc/stat.
type cpuTimes struct {
	// busy is the time the CPUs ran anything: this process, the
	// PostgreSQL server's backends, the kernel's work for them and
	// everything else on the machine (user, nice, system, irq, softirq).
	// With cpu-µs/op (this process alone) it says what a write costs the
	// database server, and machine-busy-% near 100 says that the cores,
	// not the disk, bound the rate.
	busy time.Duration
	// steal is the time the CPUs were ready to run but the hypervisor ran
	// something else. On a virtual machine whose host is busy it takes a
	// share of the CPU that varies from one minute to the next, and the
	// rates with it: steal-% says how much of a run's CPU time it took.
	steal time.Duration
}

// machineTimes returns the machine's CPU times, or false where the kernel
// does not give them.
func machineTimes() (cpuTimes, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTimes{}, false
	}
	// user nice system idle iowait irq softirq steal, in clock ticks.
	var ticks [8]int64
	for i := range ticks {
		n, err := strconv.ParseInt(f[1+i], 10, 64)
		if err != nil {
			return cpuTimes{}, false
		}
		ticks[i] = n
	}
	busy := ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
	return cpuTimes{busy: time.Duration(busy) * clockTick, steal: time.Duration(ticks[7]) * clockTick}, true
}

// clockTick is USER_HZ's tick, the unit of /proc's CPU times, which Linux
// fixes at 100 a second.
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user and system) the process has used:
// per call, it is what a call costs the client and the server together,
// which other load on the machine changes less than it changes the rate.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportPercentiles(b *testing.B, prefix string, durs []time.Duration) {
	slices.Sort(durs)
	pct := func(p float64) float64 { return float64(percentile(durs, p)) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), prefix+"p50-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
	b.ReportMetric(pct(1), prefix+"max-ms")
}

// percentile returns the p-quantile (0 to 1) of sorted, which is not
// empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1))]
}

// BenchmarkRawCommit measures the physical limit: one INSERT of a small
// row per durable transaction into a minimal table, with the settings of
// the stores (SQLite: WAL, synchronous=FULL, one writing connection with
// BEGIN IMMEDIATE; PostgreSQL: defaults, one connection per writer, open
// before the clock starts).
func BenchmarkRawCommit(b *testing.B) {
	for _, kind := range backends() {
		b.Run(kind, func(b *testing.B) {
			insert, warm := rawInserter(b, kind)
			for _, c := range []int{1, 16} {
				b.Run(fmt.Sprintf("writers=%d", c), func(b *testing.B) {
					if err := warm(c); err != nil {
						b.Fatal(err)
					}
					run(b, c, "commits/s", func(int, int) error { return insert() })
				})
			}
		})
	}
}

// rawInserter returns BenchmarkRawCommit's write on a fresh database of
// kind: one small row inserted and committed, durably, as the API's
// stores commit (SQLite: WAL, synchronous FULL, one connection;
// PostgreSQL: its defaults, a pool of 16); and warm, which opens c
// connections first.
func rawInserter(b *testing.B, kind string) (insert func() error, warm func(c int) error) {
	ctx := context.Background()
	warm = func(int) error { return insert() }
	switch kind {
	case "sqlite":
		q := url.Values{}
		for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "raw.db")+"?"+q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		b.Cleanup(func() { db.Close() })
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
			b.Fatal(err)
		}
		insert = func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES ($1)", "a small row"); err != nil {
				tx.Rollback()
				return err
			}
			return tx.Commit()
		}
	case "postgres":
		cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = 16
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		if _, err := pool.Exec(ctx, "CREATE TABLE t (id bigserial PRIMARY KEY, v text NOT NULL)"); err != nil {
			b.Fatal(err)
		}
		insert = func() error {
			_, err := pool.Exec(ctx, "INSERT INTO t (v) VALUES ($1)", "a small row")
			return err
		}
		// c connections open, each with the statement prepared, as
		// the API's are when its runs start (world.warm): opening 15
		// at the start of a run of 16 writers took 70–290 ms, in the
		// run's time (docs/benchmarks.md).
		warm = func(c int) error {
			conns := make([]*pgxpool.Conn, 0, c)
			defer func() {
				for _, conn := range conns {
					conn.Release()
				}
			}()
			for range c {
				conn, err := pool.Acquire(ctx)
				if err != nil {
					return err
				}
				conns = append(conns, conn)
				if _, err := conn.Exec(ctx, "INSERT INTO t (v) VALUES ($1)", "a small row"); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return insert, warm
}

// world is a talk served by the real handler (server.New over
// talks.Service over a store) behind httptest on loopback, with n members
// (envoys of two parties, alternately), each with an API token.
type world struct {
	b        testing.TB
	svc      *talks.Service
	srv      *server.Server
	ts       *httptest.Server
	base     string // the API's server: ts.URL, or a serve process's URL
	pid      int    // the serve process's ID, if base is its URL
	client   *http.Client
	talk     *talks.Talk
	official *talks.Track
	tokens   []string
	convener context.Context
	st       store
}

// batched runs a benchmark's run and reports, if the world's store
// groups writes (talks.Batcher), how many writes shared a commit and how
// much of the run its committer was busy.
//
// Against a serve process (w.pid), whose store is not this process's, it
// reports the server's CPU time a write instead (server-cpu-µs/op): the
// run's own cpu-µs/op is then the clients' alone.
func (w *world) batched(b *testing.B, run func()) {
	if w.pid != 0 {
		cpu0, ok0 := processCPU(w.pid)
		run()
		cpu1, ok1 := processCPU(w.pid)
		if ok0 && ok1 {
			b.ReportMetric(float64((cpu1-cpu0)/time.Microsecond)/float64(b.N), "server-cpu-µs/op")
		}
		return
	}
	bs, ok := w.st.(talks.Batcher)
	if !ok {
		run()
		return
	}
	before, start := bs.BatchStats(), time.Now()
	run()
	elapsed, after := time.Since(start), bs.BatchStats()
	if n := after.Batches - before.Batches; n > 0 {
		b.ReportMetric(float64(after.Writes-before.Writes)/float64(n), "writes/batch")
		b.ReportMetric(100*(after.Busy-before.Busy).Seconds()/elapsed.Seconds(), "committer-busy-%")
	}
}

// counter returns the call by which client g counter-proposes the
// version parent[g], its own latest, and keeps its counter there.
func (w *world) counter(parent []int64) func(g, i int) error {
	return func(g, i int) error {
		body := fmt.Appendf(nil, `{"values":{"line":"current","prisoners":"%d"},"rationale":"counter %d"}`, i%1001, i)
		var v server.Version
		if err := w.post(g, fmt.Sprintf("/api/v1/versions/%d/counter", parent[g]), body, &v); err != nil {
			return err
		}
		parent[g] = v.ID
		return nil
	}
}

func newWorld(b testing.TB, st store, n int) *world {
	b.Helper()
	server.TuneGC()
	ctx := context.Background()
	svc := talks.NewService(st, talks.SystemClock)
	pol := talks.DefaultAccountPolicy
	pol.Argon2 = cheapArgon2
	svc.SetAccountPolicy(pol)
	w := &world{b: b, svc: svc, st: st}
	mw := *maxWrites
	if _, ok := st.(*postgres.Store); ok && mw == 0 {
		mw = server.PostgreSQLMaxWrites // as serve sets it
	}
	w.srv = server.New(svc, server.Options{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		CSRFKey:   bytes.Repeat([]byte{7}, 32),
		MaxWrites: mw,
	})
	w.ts = httptest.NewServer(w.srv)
	w.base = w.ts.URL
	b.Cleanup(func() { w.srv.Close(); w.ts.Close() })
	w.client = &http.Client{Transport: &http.Transport{
		MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute,
	}}
	b.Cleanup(w.client.CloseIdleConnections)

	hash, err := talks.HashPassword("correct horse battery", cheapArgon2)
	if err != nil {
		b.Fatal(err)
	}
	ok := func(what string, err error) {
		b.Helper()
		if err != nil {
			b.Fatalf("%s: %v", what, err)
		}
	}
	user := func(name string) context.Context {
		u := &talks.User{Name: name, Email: name + "@example.org", PasswordHash: hash}
		ok("CreateUser", st.CreateUser(ctx, u))
		return talks.NewContextWithUser(ctx, u)
	}
	w.convener = user("convener")
	sp, err := outcome.NewSpace("Ceasefire",
		outcome.NewDiscrete("line", "1949", "1967", "current"),
		outcome.NewInteger("prisoners", 0, 1000))
	ok("NewSpace", err)
	w.talk = &talks.Talk{Title: "Load", Space: sp}
	ok("CreateTalk", svc.CreateTalk(w.convener, w.talk))
	parties := []*talks.Party{{TalkID: w.talk.ID, Name: "Northland"}, {TalkID: w.talk.ID, Name: "Southland"}}
	for _, p := range parties {
		ok("AddParty", svc.AddParty(w.convener, p))
	}
	tracks, err := svc.FindTracks(w.convener, w.talk.ID)
	ok("FindTracks", err)
	w.official = tracks[0]
	for i := range n {
		uctx := user(fmt.Sprintf("member%04d", i))
		u := talks.UserFromContext(uctx)
		ok("AddMember", svc.AddMember(w.convener, &talks.Member{TalkID: w.talk.ID, UserID: u.ID, PartyID: parties[i%2].ID, Role: talks.RoleEnvoy}))
		tok, err := svc.CreateAPIToken(uctx, "load")
		ok("CreateAPIToken", err)
		w.tokens = append(w.tokens, tok.Token)
	}
	return w
}

// post sends body to path as member g and decodes the 201 answer into out.
func (w *world) post(g int, path string, body []byte, out any) error {
	req, err := http.NewRequest("POST", w.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.tokens[g])
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s = %d %s", path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// warm has clients 0 to c-1 each read the talk once, all at once, before
// a run starts its clock, so that each has its connection open and its
// token authenticated (cached for up to talks.AuthCacheTTL), as a client
// in steady use has. Without it, a run's first moments are its clients
// connecting and authenticating together: on PostgreSQL, authentication
// then took 40–165 ms and the writes queued behind it 100–300 ms, and that
// one burst made the run's p99 (docs/benchmarks.md).
func (w *world) warm(c int) error {
	path := fmt.Sprintf("/api/v1/talks/%d", w.talk.ID)
	errs := make(chan error, c)
	for g := range c {
		go func() { errs <- w.get(g, path) }()
	}
	for range c {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// get reads path as member g and expects 200.
func (w *world) get(g int, path string) error {
	req, err := http.NewRequest("GET", w.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.tokens[g])
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s = %d", path, resp.StatusCode)
	}
	return nil
}

// BenchmarkAPI measures the API's write throughput and latency: members
// posting messages to the official track, and countering versions, with 1,
// 16 and 200 concurrent clients (one member each).
//
// Each client counters its own chain of versions (each counter counters the
// client's previous one), starting from a proposal of its own that the
// convener put on the table, since a party may answer a version only once.
//
// Each runs with the ledger off, with tree hashes only, and on
// (ledger=off, ledger=hashes, ledger=on), each on a database of its own,
// so that one run compares them (issue 7: the ledger may cost at most 20%
// of the write throughput).
func BenchmarkAPI(b *testing.B) {
	const maxClients = 200
	for _, kind := range backends() {
		for _, mode := range []string{"off", "hashes", "on"} {
			b.Run(fmt.Sprintf("%s/ledger=%s", kind, mode), func(b *testing.B) {
				benchmarkAPI(b, withLedger(b, openStore(b, kind), mode), maxClients)
			})
		}
	}
}

// drafts creates n proposals in the official track, one for each client
// to counter, and returns the IDs of their first versions.
func (w *world) drafts(n int) []int64 {
	ids := make([]int64, n)
	for g := range ids {
		p := &talks.Proposal{TrackID: w.official.ID, Title: fmt.Sprintf("draft %d", g)}
		v := &talks.Version{Values: map[string]string{"line": "1967", "prisoners": "500"}}
		if err := w.svc.CreateProposal(w.convener, p, v); err != nil {
			w.b.Fatal(err)
		}
		ids[g] = v.ID
	}
	return ids
}

func benchmarkAPI(b *testing.B, st store, maxClients int) {
	newWorld(b, st, maxClients).writes(b, maxClients)
}

// BenchmarkServeAPI is BenchmarkAPI with the ledger on against the real
// server: backchannel serve, built from ./cmd/backchannel and run as a
// process of its own on the benchmark's database (set up in this process,
// as in BenchmarkSSEFanoutServe). This process is then the clients alone,
// so a write's CPU time splits three ways: the clients' (cpu-µs/op), the
// server's (server-cpu-µs/op, from /proc/PID/stat) and the rest of the
// machine's (machine-cpu-µs/op less both: the database server's, and the
// kernel's work that neither process is charged with). The split says how
// much of the two cores the benchmark's own clients take from the server
// and the database, which the loopback set-up puts on one machine.
func BenchmarkServeAPI(b *testing.B) {
	const maxClients = 200
	bin := buildServe(b)
	for _, kind := range backends() {
		b.Run(kind+"/ledger=on", func(b *testing.B) {
			st, db := openStoreAt(b, kind)
			w := newWorld(b, st, maxClients)
			w.base, w.pid = startServe(b, bin, db)
			w.writes(b, maxClients)
		})
	}
}

// writes runs BenchmarkAPI's cases in w: messages, then counter-proposals,
// each with 1, 16 and 200 clients.
func (w *world) writes(b *testing.B, maxClients int) {
	msgPath := fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID)
	parent := w.drafts(maxClients)
	for _, c := range []int{1, 16, 200} {
		b.Run(fmt.Sprintf("message/clients=%d", c), func(b *testing.B) {
			if err := w.warm(c); err != nil {
				b.Fatal(err)
			}
			w.batched(b, func() {
				run(b, c, "writes/s", func(g, i int) error {
					body := fmt.Appendf(nil, `{"body":"message %d from client %d"}`, i, g)
					return w.post(g, msgPath, body, nil)
				})
			})
		})
	}
	for _, c := range []int{1, 16, 200} {
		b.Run(fmt.Sprintf("counter/clients=%d", c), func(b *testing.B) {
			if err := w.warm(c); err != nil {
				b.Fatal(err)
			}
			w.batched(b, func() {
				run(b, c, "writes/s", w.counter(parent))
			})
		})
	}
}

// BenchmarkService is BenchmarkAPI's message and counter cases at 200
// clients, with ledger on, calling talks.Service directly: no HTTP, no
// JSON. The Service's own work runs on both cores, so the store's one
// committer is the bound, and the rate and cpu-µs/op compare changes to
// the store's write path with less noise than the whole API.
func BenchmarkService(b *testing.B) {
	const clients = 200
	for _, kind := range backends() {
		b.Run(kind, func(b *testing.B) {
			w := newWorld(b, withLedger(b, openStore(b, kind), "on"), clients)
			users := make([]context.Context, clients)
			for g := range users {
				u, err := w.svc.AuthenticateAPIToken(context.Background(), w.tokens[g])
				if err != nil {
					b.Fatal(err)
				}
				users[g] = talks.NewContextWithUser(context.Background(), u)
			}
			parent := w.drafts(clients)
			b.Run("message", func(b *testing.B) {
				run(b, clients, "writes/s", func(g, i int) error {
					return w.svc.PostMessage(users[g], &talks.Message{TrackID: w.official.ID, Body: fmt.Sprintf("message %d from client %d", i, g)})
				})
			})
			b.Run("counter", func(b *testing.B) {
				run(b, clients, "writes/s", func(g, i int) error {
					v := &talks.Version{ParentID: parent[g], Values: map[string]string{"line": "current", "prisoners": strconv.Itoa(i % 1001)}, Rationale: fmt.Sprintf("counter %d", i)}
					if err := w.svc.ProposeVersion(users[g], v); err != nil {
						return err
					}
					parent[g] = v.ID
					return nil
				})
			})
		})
	}
}

// BenchmarkAPIPaced is BenchmarkAPI's message and counter cases with 200
// writers that do not send as fast as the server answers but at a fixed
// total rate (open loop): write i is due at start + i/rate, and its
// latency runs from when it was due, not from when a writer got round to
// it, so a server that falls behind is charged for the wait (no
// coordinated omission). A closed loop of 200 writers measures the
// server saturated, where latency is 200 / throughput by Little's law;
// this measures latency at a given load below that.
func BenchmarkAPIPaced(b *testing.B) {
	const writers = 200
	for _, kind := range backends() {
		b.Run(kind, func(b *testing.B) {
			w := newWorld(b, openStore(b, kind), writers)
			msgPath := fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID)
			parent := w.drafts(writers)
			for _, rate := range []int{500, 1000, 2000} {
				b.Run(fmt.Sprintf("message/writers=%d/rate=%d", writers, rate), func(b *testing.B) {
					if err := w.warm(writers); err != nil {
						b.Fatal(err)
					}
					runPaced(b, writers, rate, func(g, i int) error {
						return w.post(g, msgPath, fmt.Appendf(nil, `{"body":"message %d from client %d"}`, i, g), nil)
					})
				})
				b.Run(fmt.Sprintf("counter/writers=%d/rate=%d", writers, rate), func(b *testing.B) {
					if err := w.warm(writers); err != nil {
						b.Fatal(err)
					}
					runPaced(b, writers, rate, w.counter(parent))
				})
			}
		})
	}
}

// raiseFileLimit lifts the soft limit on open files to the hard one: each
// subscriber holds two descriptors (client and server end).
func raiseFileLimit(b *testing.B, need uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		b.Fatal(err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			b.Fatal(err)
		}
	}
	if rl.Cur < need {
		b.Skipf("open file limit %d < %d", rl.Cur, need)
	}
}

// round is one message on its way to the subscribers.
type round struct {
	marker  string
	start   time.Time
	arrived []time.Duration // by subscriber
	n       atomic.Int32
	done    chan struct{}
}

// fanoutSubs is how many subscribers the SSE benchmarks connect.
const fanoutSubs = 1000

// BenchmarkSSEFanout connects 1,000 subscribers (members who see the
// official track) to the talk's event stream, then posts b.N messages one
// after the other, each once every subscriber has the previous one, and
// reports the time from sending the POST until each subscriber has read
// the event (p50/p99/max over all messages and subscribers), and the heap
// in use before and after connecting. Server and clients share the test
// process, so the heap is both's: BenchmarkSSEFanoutServe measures the
// server's alone.
func BenchmarkSSEFanout(b *testing.B) {
	raiseFileLimit(b, 2*fanoutSubs+200)
	for _, kind := range backends() {
		b.Run(kind, func(b *testing.B) {
			w := newWorld(b, openStore(b, kind), fanoutSubs)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			goroutines := runtime.NumGoroutine()
			cur := w.subscribe(b, fanoutSubs)
			runtime.GC()
			runtime.ReadMemStats(&after)
			heapBefore := float64(before.HeapInuse) / (1 << 20)
			heapAfter := float64(after.HeapInuse) / (1 << 20)
			b.Logf("%s: %d subscribers: HeapInuse %.1f MiB before, %.1f MiB after (%.1f KiB each, clients included); goroutines +%d",
				kind, fanoutSubs, heapBefore, heapAfter, (heapAfter-heapBefore)*1024/fanoutSubs, runtime.NumGoroutine()-goroutines)

			var maxHeap uint64
			w.fanout(b, cur, fanoutSubs, func() {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				maxHeap = max(maxHeap, ms.HeapInuse)
			}, func(b *testing.B) {
				b.ReportMetric(heapBefore, "heap-before-MiB")
				b.ReportMetric(heapAfter, "heap-connected-MiB")
				b.ReportMetric(float64(maxHeap)/(1<<20), "heap-max-MiB")
			})
		})
	}
}

// BenchmarkSSEFanoutServe is BenchmarkSSEFanout against the real server:
// backchannel serve, built from ./cmd/backchannel and run as a process of
// its own on the benchmark's database (set up in this process, as in
// BenchmarkSSEFanout). So the memory it reports is the server's alone,
// read from its /metrics: the heap in use (go_memstats_heap_inuse_bytes,
// not collected first) and the resident set (process_resident_memory_bytes)
// with nothing connected, with 1,000 subscribers connected, and at their
// highest, read after each message has reached every subscriber.
func BenchmarkSSEFanoutServe(b *testing.B) {
	raiseFileLimit(b, 2*fanoutSubs+200)
	bin := buildServe(b)
	for _, kind := range backends() {
		b.Run(kind, func(b *testing.B) {
			st, db := openStoreAt(b, kind)
			w := newWorld(b, st, fanoutSubs)
			w.base, _ = startServe(b, bin, db)
			idle := w.serverMemory(b)
			cur := w.subscribe(b, fanoutSubs)
			connected := w.serverMemory(b)
			if connected.streams != fanoutSubs {
				b.Fatalf("the server counts %d event streams, want %d", connected.streams, fanoutSubs)
			}
			peak := connected
			w.fanout(b, cur, fanoutSubs, func() {
				m := w.serverMemory(b)
				peak.heap, peak.rss = max(peak.heap, m.heap), max(peak.rss, m.rss)
			}, func(b *testing.B) {
				b.ReportMetric(idle.heap, "server-heap-idle-MiB")
				b.ReportMetric(connected.heap, "server-heap-connected-MiB")
				b.ReportMetric(peak.heap, "server-heap-max-MiB")
				b.ReportMetric(idle.rss, "server-rss-idle-MiB")
				b.ReportMetric(connected.rss, "server-rss-connected-MiB")
				b.ReportMetric(peak.rss, "server-rss-max-MiB")
			})
		})
	}
}

// subscribe connects subs subscribers, member g as the g-th, to the
// talk's event stream after the set-up's events, and returns where each
// looks for the message under way: a subscriber that reads its marker
// notes when, and the last to read it closes the round.
func (w *world) subscribe(b *testing.B, subs int) *atomic.Pointer[round] {
	var cur atomic.Pointer[round]
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })

	evs, err := w.svc.FindEvents(w.convener, talks.EventFilter{TalkID: w.talk.ID})
	if err != nil || len(evs) == 0 {
		b.Fatalf("FindEvents: %d, %v", len(evs), err)
	}
	last := evs[len(evs)-1].ID
	ready := make(chan error, subs)
	for s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/talks/%d/events?after=%d", w.base, w.talk.ID, last), nil)
			req.Header.Set("Authorization", "Bearer "+w.tokens[s])
			resp, err := w.client.Do(req)
			if err != nil {
				ready <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				ready <- fmt.Errorf("subscriber %d: %d", s, resp.StatusCode)
				return
			}
			ready <- nil
			rd := bufio.NewReader(resp.Body)
			for {
				line, err := rd.ReadSlice('\n')
				if err != nil {
					return
				}
				if !bytes.HasPrefix(line, []byte("data: ")) {
					continue
				}
				r := cur.Load()
				if r != nil && bytes.Contains(line, []byte(r.marker)) {
					r.arrived[s] = time.Since(r.start)
					if r.n.Add(1) == int32(subs) {
						close(r.done)
					}
				}
			}
		}()
	}
	for range subs {
		if err := <-ready; err != nil {
			b.Fatal(err)
		}
	}
	return &cur
}

// fanout runs the sub-benchmark subscribers=subs: b.N messages, each
// posted once the one before has reached every subscriber, and after
// each, sample; then it reports the delivery times, and report's metrics.
func (w *world) fanout(b *testing.B, cur *atomic.Pointer[round], subs int, sample func(), report func(*testing.B)) {
	msgPath := fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID)
	seq := 0
	b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
		var all []time.Duration
		b.ResetTimer()
		for range b.N {
			seq++
			r := &round{marker: "fanout-" + strconv.Itoa(seq) + "-end", arrived: make([]time.Duration, subs), done: make(chan struct{})}
			r.start = time.Now()
			cur.Store(r)
			if err := w.post(0, msgPath, fmt.Appendf(nil, `{"body":"%s"}`, r.marker), nil); err != nil {
				b.Fatal(err)
			}
			select {
			case <-r.done:
			case <-time.After(30 * time.Second):
				b.Fatalf("message %d reached %d of %d subscribers in 30s", seq, r.n.Load(), subs)
			}
			all = append(all, r.arrived...)
			sample()
		}
		b.StopTimer()
		reportPercentiles(b, "deliver-", all)
		report(b)
	})
}
