package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
)

const serveUsage = `Usage:
  backchannel serve [--addr 127.0.0.1:8080] [--db FILE | postgres://...] [--demo] [flags]

Run the talks service: the web pages and the JSON API under /api/v1, with
/healthz (the process is alive), /readyz (the database answers) and /metrics
(Prometheus text format).

--db picks the store by its form: a file path or sqlite:PATH is a SQLite
database (created if missing); postgres://... or postgresql://... is a
PostgreSQL database. On an empty database the server prints a one-time link
that creates the first administrator; --demo instead seeds a fictional talk
with demo users and prints their logins.

The CSRF key (32 random bytes that sign the token of every form) is kept in
a file, so forms stay valid across restarts: <db>.csrf-key next to a SQLite
database, or csrf-key in --key-dir. Without --key-dir, a PostgreSQL server
uses a new key at every start.

The ledger key (Ed25519) signs a checkpoint of a talk's event log after
every write, so that members can verify their record (see "backchannel
verify"). It is kept, readable by its owner only (0600), in ledger-key in
--key-dir or in <db>.ledger-key next to a SQLite database, and created on
first start with the name given by --log-name: by default the host of
--addr, or the machine's host name if --addr has none or listens on every
address. The name begins the origin of every checkpoint
("<name>/talks/<id>"), so once chosen it must not change: an existing key
file is used under its own name, and a --log-name that differs from it is
an error. Without --key-dir, a PostgreSQL server uses a new ledger key at
every start, and checkpoints signed before a restart no longer verify
against the current key: give PostgreSQL servers a --key-dir.

SIGINT or SIGTERM stops the server gracefully: it stops accepting
connections and finishes the requests in flight (for --shutdown-timeout at
most).

Flags:
`

// Serve is the running server of "backchannel serve": configured by its
// fields, started by Open, stopped by Close.
type Serve struct {
	Addr            string // the address to listen on; port 0 picks a free one
	DB              string // the DSN: a path, sqlite:PATH, or postgres://...
	KeyDir          string // where the CSRF and ledger keys are kept; "" for the default
	LogName         string // the name of a new ledger key; "" for the host of Addr
	Demo            bool   // seed the demo talk into an empty database
	TLSCert, TLSKey string // serve HTTPS with this certificate and key
	ShutdownTimeout time.Duration

	Logger *slog.Logger
	// Out receives what the operator must see once: the setup link and the
	// demo logins.
	Out io.Writer

	store     storeCloser
	ledgerKey *ledger.Key
	service   *talks.Service
	app       http.Handler
	api       *server.Server     // wakes and ends the event streams
	unlisten  context.CancelFunc // stops listening for other servers' writes
	listened  chan struct{}      // closed when the listener has stopped
	metrics   *metrics
	http      *http.Server
	ln        net.Listener
	served    chan error
}

// storeCloser is a talks.Store that holds a database open.
type storeCloser interface {
	talks.Store
	SetNotary(talks.Notary)
	Close() error
}

func (m *Main) runServe(ctx context.Context, args []string) error {
	s := &Serve{Out: m.Stderr}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&s.Addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	fs.StringVar(&s.DB, "db", "backchannel.db", "the database: a SQLite `FILE` (or sqlite:FILE), or a postgres:// URL")
	fs.StringVar(&s.KeyDir, "key-dir", "", "keep the CSRF and ledger keys in `DIR`/csrf-key and DIR/ledger-key (default: <db>.csrf-key and <db>.ledger-key next to a SQLite database)")
	fs.StringVar(&s.LogName, "log-name", "", "name a new ledger key, and so the checkpoints it signs, `NAME` (default: the host of --addr)")
	fs.BoolVar(&s.Demo, "demo", false, "seed a fictional demo talk into an empty database and print its logins")
	fs.StringVar(&s.TLSCert, "tls-cert", "", "serve HTTPS with the certificate in `FILE` (PEM; needs --tls-key)")
	fs.StringVar(&s.TLSKey, "tls-key", "", "the private key of --tls-cert in `FILE` (PEM)")
	fs.DurationVar(&s.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGINT or SIGTERM, wait this long for requests in flight")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve: unexpected argument %q", pos[0])
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return usagef("serve: --tls-cert and --tls-key go together")
	}
	if _, _, err := parseDSN(s.DB); err != nil {
		return err
	}
	s.Logger = slog.New(slog.NewTextHandler(m.Stderr, nil))
	server.TuneGC()

	if err := s.Open(ctx); err != nil {
		s.Close()
		return err
	}
	select {
	case <-ctx.Done():
		s.Logger.Info("shutting down", "timeout", s.ShutdownTimeout)
	case err := <-s.served:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	}
	return s.Close()
}

// parseDSN tells the store a DSN names: "sqlite" with a file path, or
// "postgres" with the DSN as pgx takes it. A usage error for anything else.
func parseDSN(dsn string) (kind, target string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return "", "", usagef("serve: --db %q names no file", dsn)
		}
		return "sqlite", path, nil
	case dsn == "":
		return "", "", usagef("serve: --db is empty")
	}
	if i := strings.Index(dsn, "://"); i > 0 && !strings.ContainsAny(dsn[:i], `/\`) {
		return "", "", usagef("serve: --db %q: unknown scheme %q (want a file path, sqlite:PATH or postgres://)", dsn, dsn[:i])
	}
	return "sqlite", dsn, nil
}

// Open opens the database, seeds the demo or prints the setup link if it is
// empty, and starts serving on s.Addr. ListenAddr then tells where.
func (s *Serve) Open(ctx context.Context) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.Out == nil {
		s.Out = io.Discard
	}
	kind, target, err := parseDSN(s.DB)
	if err != nil {
		return err
	}
	switch kind {
	case "sqlite":
		s.store, err = sqlite.Open(ctx, target)
	case "postgres":
		s.store, err = postgres.Open(ctx, target)
	}
	if err != nil {
		return fmt.Errorf("open %s database: %w", kind, err)
	}
	s.Logger.Info("database open", "store", kind, "db", redactDSN(s.DB))
	if s.ledgerKey, err = s.loadLedgerKey(kind, target); err != nil {
		return err
	}
	s.store.SetNotary(s.ledgerKey)
	s.service = talks.NewService(s.store, talks.SystemClock)

	key, err := s.csrfKey(kind, target)
	if err != nil {
		return err
	}

	// Listen before seeding, so that the setup link names the bound port.
	s.ln, err = net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}

	users, err := s.store.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	switch {
	case users == 0 && s.Demo:
		if err := seedDemo(ctx, s.store, s.service, s.Out, s.baseURL()); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	case users == 0:
		tok, err := s.service.CreateSetupToken(ctx)
		if err != nil {
			return fmt.Errorf("setup token: %w", err)
		}
		fmt.Fprintf(s.Out, "\nThe database has no users. Create the first administrator (this link works once, for %s):\n\n  %s/setup?token=%s\n\n",
			talks.DefaultAccountPolicy.SetupTokenTTL, s.baseURL(), tok)
	case s.Demo:
		// Seeded before (its passwords printed then): new sign-in links
		// for the demo users it has.
		n, err := printDemoLinks(ctx, s.store, s.service, s.Out, s.baseURL(), "The demo talk is seeded already. Sign in as one of its users with a new link")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if n == 0 {
			s.Logger.Warn("the database has users: --demo seeds only an empty database", "users", users)
		} else {
			fmt.Fprintln(s.Out)
		}
	}

	opt := appOptions{Logger: s.Logger, CSRFKey: key, LedgerKey: s.ledgerKey, Secure: s.TLSCert != ""}
	if kind == "postgres" {
		opt.MaxWrites = server.PostgreSQLMaxWrites
	}
	s.app, s.api = newApp(s.service, opt)
	if pg, ok := s.store.(*postgres.Store); ok {
		s.listen(pg)
	}
	s.metrics = newMetrics()
	if b, ok := s.store.(talks.Batcher); ok {
		s.metrics.batches = b.BatchStats
	}
	s.metrics.streams = s.api.Streams
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics)
	mux.Handle("/", s.app)
	s.http = &http.Server{
		Handler:           s.metrics.wrap(compress(mux)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	s.served = make(chan error, 1)
	go func() {
		var err error
		if s.TLSCert != "" {
			err = s.http.ServeTLS(s.ln, s.TLSCert, s.TLSKey)
		} else {
			err = s.http.Serve(s.ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	s.Logger.Info("serving", "url", s.baseURL())
	return nil
}

// listen wakes this server's event streams after writes that other
// servers sharing the PostgreSQL database make, which PostgreSQL announces
// at each commit (postgres.Store.Listen), until Close. Without it, a
// stream would see another server's writes only at its next heartbeat, as
// it does while the listening connection is down.
func (s *Serve) listen(pg *postgres.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	s.unlisten, s.listened = cancel, make(chan struct{})
	api := s.api // Close clears s.api before it stops listening
	go func() {
		defer close(s.listened)
		pg.Listen(ctx, api.Notify, api.NotifyAll, func(err error) {
			s.Logger.Warn("not listening for other servers' writes: event streams see them at their next heartbeat until it recovers", "err", err)
		}, time.Second)
	}()
}

// readyz answers 200 if the database answers a cheap query within two
// seconds, and 503 if not.
func (s *Serve) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := s.store.CountUsers(ctx); err != nil {
		s.Logger.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "database unavailable\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// ListenAddr returns the address the server listens on, once Open has
// succeeded: with the port the system chose for port 0.
func (s *Serve) ListenAddr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// baseURL is the URL a browser on this machine reaches the server at.
func (s *Serve) baseURL() string {
	scheme := "http"
	if s.TLSCert != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(s.ListenAddr())
	if err != nil {
		return scheme + "://" + s.ListenAddr()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Close stops the server gracefully: event streams end, no new
// connections are accepted, the requests in flight finish (for
// ShutdownTimeout at most, after which their connections are cut), and
// then the database closes.
// It is safe to call after a failed Open.
func (s *Serve) Close() error {
	var errs []error
	// The application ends its event streams first, which would otherwise
	// hold Shutdown until its timeout; other requests are unaffected.
	if s.api != nil {
		if err := s.api.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close server: %w", err))
		}
		s.api = nil
	}
	if s.http != nil {
		timeout := s.ShutdownTimeout
		if timeout <= 0 {
			timeout = 15 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := s.http.Shutdown(ctx)
		cancel()
		if err != nil {
			s.Logger.Warn("requests still in flight at the shutdown timeout; closing their connections", "err", err)
			s.http.Close()
		}
		if err := <-s.served; err != nil {
			errs = append(errs, err)
		}
		s.http = nil
	} else if s.ln != nil {
		s.ln.Close()
	}
	s.ln = nil
	if s.unlisten != nil {
		s.unlisten()
		<-s.listened
		s.unlisten = nil
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
		s.store = nil
		s.Logger.Info("stopped")
	}
	return errors.Join(errs...)
}

// csrfKey reads the CSRF key from its file, creating the file with a new
// random key if there is none. The key signs the CSRF token of every form;
// keeping it across restarts keeps open forms valid. A PostgreSQL server
// without --key-dir has no natural place for it and uses a fresh key.
func (s *Serve) csrfKey(kind, target string) ([]byte, error) {
	var path string
	switch {
	case s.KeyDir != "":
		path = filepath.Join(s.KeyDir, "csrf-key")
	case kind == "sqlite":
		path = target + ".csrf-key"
	default:
		s.Logger.Warn("no --key-dir: using a new CSRF key, so forms opened before a restart must be reloaded")
		key := make([]byte, 32)
		rand.Read(key)
		return key, nil
	}
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		var f *os.File
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			// Another process made it first: use its key.
			key, err = readKey(path)
		} else if err == nil {
			_, err = fmt.Fprintf(f, "%x\n", key)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				s.Logger.Info("new CSRF key", "file", path)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("csrf key: %w", err)
	}
	return key, nil
}

// loadLedgerKey reads the ledger key from its file, creating the file
// with a new key if there is none (see serveUsage).
func (s *Serve) loadLedgerKey(kind, target string) (*ledger.Key, error) {
	name := s.LogName
	if name == "" {
		name = defaultLogName(s.Addr)
	}
	var path string
	switch {
	case s.KeyDir != "":
		path = filepath.Join(s.KeyDir, "ledger-key")
	case kind == "sqlite":
		path = target + ".ledger-key"
	default:
		s.Logger.Warn("no --key-dir: using a new ledger key, so checkpoints signed before a restart no longer verify")
		k, _, err := ledger.GenerateKey(name)
		return k, err
	}
	var k *ledger.Key
	var err error
	if _, serr := os.Stat(path); serr == nil && s.LogName == "" {
		k, err = ledger.LoadKey(path, "")
	} else {
		k, err = ledger.LoadOrCreateKey(path, name)
	}
	if err != nil {
		return nil, err
	}
	s.Logger.Info("ledger key", "file", path, "verifier_key", k.VerifierKey())
	return k, nil
}

// defaultLogName returns the host of addr, or the machine's host name if
// addr has none or names every address.
func defaultLogName(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		} else {
			host = "localhost"
		}
	}
	return strings.Map(func(r rune) rune {
		if r == '+' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return '-'
		}
		return r
	}, host)
}

// readKey reads a key file: 32 bytes in hexadecimal.
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s: want 64 hexadecimal digits (32 bytes)", path)
	}
	return key, nil
}

// redactDSN hides the password of a postgres:// URL, for the log.
func redactDSN(dsn string) string {
	kind, _, err := parseDSN(dsn)
	if err != nil || kind != "postgres" {
		return dsn
	}
	i := strings.Index(dsn, "://")
	at := strings.LastIndex(dsn, "@")
	if at < 0 || at < i {
		return dsn
	}
	cred := dsn[i+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return dsn[:i+3] + user + ":xxxxx" + dsn[at:]
	}
	return dsn
}
