package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/backchannel/backchannel/internal/ledger"
	"golang.org/x/mod/sumdb/note"
)

const verifyUsage = `Usage:
  backchannel verify BUNDLE --key KEY [--since FILE]
  backchannel verify --db FILE|postgres://... [--talk ID] [--key KEY | --key-dir DIR] [--since FILE]

Check a talk's record bundle offline: the checkpoint's signature against the
server's key, every event's hash and its link to the one before it, every
inclusion proof against the checkpoint, and that all leaves hash to the
checkpoint's root. BUNDLE is the JSON file a member downloads; - reads it
from standard input.

--key is the server's verifier key (NAME+HASH+BASE64, or a file holding
it). Get it from the server's operator by a channel other than the bundle:
the bundle names a key too, but a forger would name their own.

--since is a checkpoint you kept from an earlier bundle or download. The
bundle must extend it: a smaller tree means the log was rolled back, and a
different tree of the same size, or one that does not contain it, a fork.

With --db (for operators), verify recomputes each talk's tree (or only
talk --talk's) from the events in the database and compares it with the
stored tree hashes and with every checkpoint the server signed: each
signature (against --key, or the ledger key in --key-dir or next to a
SQLite database), each root, the hash chain, and that no two checkpoints
of one size disagree (a fork). It reports each edited, deleted, reordered
or inserted event it can place. A log cut back together with its
checkpoints (a rollback) is consistent in itself: only a checkpoint a
member kept shows it, with --since FILE (of that checkpoint's talk): the
database's log must extend it.

Prints "OK: ..." and exits 0 when every check passes; otherwise lists each
failed check (by event number where one is concerned) and exits 1. Usage
errors exit 2.

Flags:
`

// maxFailuresShown bounds the failures printed; the count says how many
// more there are.
const maxFailuresShown = 100

func (m *Main) runVerify(ctx context.Context, args []string) error {
	var key, since, db, keyDir string
	var talkID int64
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&key, "key", "", "the server's verifier `KEY` (NAME+HASH+BASE64), or a file holding it")
	fs.StringVar(&since, "since", "", "a checkpoint `FILE` kept earlier, which the bundle must extend")
	fs.StringVar(&db, "db", "", "verify the database `DSN` (a SQLite file or a postgres:// URL) instead of a bundle")
	fs.StringVar(&keyDir, "key-dir", "", "with --db: the server's key directory `DIR`, holding ledger-key")
	fs.Int64Var(&talkID, "talk", 0, "with --db: verify only talk `ID`")
	fs.Usage = func() {
		fmt.Fprint(m.Stderr, verifyUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if db != "" {
		if len(pos) > 0 {
			return usagef("verify: --db takes no bundle")
		}
		return m.runVerifyDB(ctx, db, key, keyDir, talkID, since)
	}
	switch {
	case len(pos) == 0:
		fs.Usage()
		return usagef("verify: give a bundle file")
	case len(pos) > 1:
		return usagef("verify: give one bundle file, not %d", len(pos))
	case key == "":
		return usagef("verify: give the server's key with --key")
	}
	key, err = verifierKey(key)
	if err != nil {
		return err
	}

	var opts = ledger.VerifyOptions{ServerKey: key}
	if since != "" {
		if opts.Since, err = os.ReadFile(since); err != nil {
			return fmt.Errorf("verify: --since: %w", err)
		}
	}
	r, err := m.readVerify(pos[0], opts)
	var pe *ledger.ParseError
	if errors.As(err, &pe) {
		fmt.Fprintf(m.Stdout, "FAILED: %s is not a record bundle: %s\n", pos[0], strings.TrimPrefix(err.Error(), "ledger: bundle: "))
		return errors.New("verify: verification failed")
	}
	if err != nil {
		return err
	}
	if r.OK() {
		fmt.Fprintf(m.Stdout, "OK: %s, tree size %d, checkpoint signed by %s\n", plural(r.Events, "event"), r.Size, r.KeyName)
		fmt.Fprintf(m.Stdout, "  origin %s, root %s", r.Origin, r.Root)
		if r.Hidden > 0 {
			fmt.Fprintf(m.Stdout, ", %s outside your view (hashes only)", plural(r.Hidden, "event"))
		}
		fmt.Fprintln(m.Stdout)
		fmt.Fprintf(m.Stdout, "  %s checked, under the keys the log binds to %s\n", plural(r.MemberSigs, "member signature"), plural(r.Signers, "signer"))
		if opts.Since != nil {
			fmt.Fprintf(m.Stdout, "  extends the checkpoint of tree size %d in %s\n", r.SinceSize, since)
		}
		return nil
	}
	fmt.Fprintf(m.Stdout, "FAILED: %s failed for %s (tree size %d, key %s)\n", plural(len(r.Failures), "check"), pos[0], r.Size, r.KeyName)
	for i, f := range r.Failures {
		if i == maxFailuresShown {
			fmt.Fprintf(m.Stdout, "  ... and %d more\n", len(r.Failures)-i)
			break
		}
		fmt.Fprintf(m.Stdout, "  %s\n", f)
	}
	return errors.New("verify: verification failed")
}

// verifierKey returns the verifier key s is, or the one in the file s
// names. A malformed key is a usage error.
func verifierKey(s string) (string, error) {
	if _, err := note.NewVerifier(s); err == nil {
		return s, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return "", usagef("verify: --key %q is neither a verifier key (NAME+HASH+BASE64) nor a readable file", s)
	}
	k := strings.TrimSpace(string(b))
	if _, err := note.NewVerifier(k); err != nil {
		return "", usagef("verify: --key %s: the file holds no verifier key (NAME+HASH+BASE64): %v", s, err)
	}
	return k, nil
}

// readVerify reads, parses and verifies the bundle in the file name, or on
// standard input for "-", checking leaves while it reads the rest
// (ledger.ReadVerify). Reading a file, it never holds all the file's text
// in memory with the bundle. The key in opts is one verifierKey accepted,
// so the errors are reading's and parsing's.
func (m *Main) readVerify(name string, opts ledger.VerifyOptions) (*ledger.Report, error) {
	in := m.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		defer f.Close()
		in = f
	}
	_, r, err := ledger.ReadVerify(in, opts)
	var pe *ledger.ParseError
	if err != nil && !errors.As(err, &pe) {
		return nil, fmt.Errorf("verify: read %s: %w", name, err)
	}
	return r, err
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
