// Command backchannel is the one binary of the project: the analysis of a
// negotiation domain today, and the server and research tools as they land.
//
// Usage:
//
//	backchannel serve [--db FILE | postgres://...] the talks service (--demo: a demo talk)
//	backchannel analyze DIR                        a domain folder in GENIUS layout
//	backchannel analyze DOMAIN PROFILE PROFILE...  a domain file and the parties' profiles
//	backchannel simulate DIR --agents A,B          one negotiation between automated agents
//	backchannel tournament --domains DIR,DIR --agents A,B,C
//	                                               every agent against every other, ranked
//	backchannel verify BUNDLE --key KEY [--since FILE]
//	                                               check a talk's record bundle offline
//	backchannel verify --db FILE|postgres://... [--talk ID]
//	                                               check a database against its signed checkpoints
//	backchannel sign --key FILE ACTION [flags]     sign an action with your own member key
//	backchannel keygen --talk ID [--post URL]      make a member key here and register it
//
// Run "backchannel help" for the commands and "backchannel CMD -h" for the
// flags of one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(m.Stderr, "backchannel:", err)
	}
	os.Exit(exitCode(err))
}

// Main is the program: its input and output, so that tests can run it in
// process exactly as a user would.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Terminal reports whether Stderr is an interactive terminal, which
	// decides whether progress bars are drawn.
	Terminal bool
}

// NewMain returns a Main wired to the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Terminal: isTerminal(os.Stderr)}
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp), errors.As(err, &u):
		return 2
	}
	return 1
}

const usage = `backchannel: confidential negotiation tracks and the engine behind them

Usage:
  backchannel serve [--addr HOST:PORT] [--db FILE | postgres://...] [--demo]
                                                         run the talks service (--demo: with a demo talk)
  backchannel analyze DIR [flags]                        analyse a domain folder (GENIUS layout)
  backchannel analyze DOMAIN PROFILE PROFILE... [flags]  analyse a domain with the given parties
  backchannel simulate DIR --agents A,B [flags]          run one negotiation between agents
  backchannel simulate DOMAIN PROFILE... --agents A,B    the same, with the profiles given
  backchannel tournament --domains DIR,... --agents A,B,C [flags]
                                                         run a tournament and rank the agents
  backchannel verify BUNDLE --key KEY [--since FILE]    check a talk's record bundle offline
  backchannel verify --db FILE|postgres://... [--talk ID]
                                                         check a database against its signed checkpoints
  backchannel sign --key FILE ACTION [flags]             sign an action with your own member key
  backchannel keygen --talk ID [-o FILE] [--post URL]    make a member key here and register it
  backchannel help                                       show this help

Run "backchannel CMD -h" for the flags of a command.
`

// Run runs the command named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return usagef("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "analyze", "analyse":
		return m.runAnalyze(ctx, rest)
	case "simulate":
		return m.runSimulate(ctx, rest)
	case "tournament":
		return m.runTournament(ctx, rest)
	case "serve":
		return m.runServe(ctx, rest)
	case "verify":
		return m.runVerify(ctx, rest)
	case "sign":
		return m.runSign(ctx, rest)
	case "keygen":
		return m.runKeygen(ctx, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return usagef("unknown command %q", cmd)
	}
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, as in "analyze DIR --plot x.svg".
// A bad flag gets the one-line error of main, not the flag package's
// message followed by the whole usage; -h still prints the usage.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usage }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				usage()
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// flagSet reports whether the flag was given on the command line, even as
// an empty string.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
