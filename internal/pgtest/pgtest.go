// Package pgtest gives a test a PostgreSQL database of its own, on the
// server that BACKCHANNEL_TEST_POSTGRES names (a DSN of any database on it):
// created with a random name, and dropped when the test ends, with any
// connections the test left open. Only tests import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env is the environment variable that names the server.
const Env = "BACKCHANNEL_TEST_POSTGRES"

// DSN returns the server's DSN from Env, or "" if it is not set.
func DSN() string { return os.Getenv(Env) }

// NewDatabase creates bc_test_<random hex> on the server, drops it when tb
// and its subtests end, and returns the new database's DSN. It skips tb if
// Env is not set.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	dsn := DSN()
	if dsn == "" {
		tb.Skip(Env + " is not set; to run the PostgreSQL tests, set it to a server's DSN, " +
			"e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	}
	ctx := context.Background()
	server, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect to %s: %v", Env, err)
	}
	name := "bc_test_" + hex.EncodeToString(randomBytes(8))
	if _, err := server.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		server.Close(ctx)
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// FORCE ends the connections left open.
		if _, err := server.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
		server.Close(ctx)
	})
	out, err := WithParam(dsn, "dbname", name)
	if err != nil {
		tb.Fatalf("parse %s: %v", Env, err)
	}
	return out
}

// WithParam returns dsn, a URL or a keyword/value string, with key set to
// value: dbname names the database, anything else is a run-time parameter.
func WithParam(dsn, key, value string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " " + key + "=" + value, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	if key == "dbname" {
		u.Path = "/" + value
		return u.String(), nil
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
