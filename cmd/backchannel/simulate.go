package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/backchannel/backchannel/agent"
	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/mechanism"
)

const simulateUsage = `Usage:
  backchannel simulate DIR --agents A,B [flags]
  backchannel simulate DOMAIN PROFILE PROFILE... --agents A,B [flags]

Run one negotiation by stacked alternating offers between automated agents.
DIR is a folder in GENIUS layout (one domain file and its profiles, all of
them parties, in file-name order); otherwise the profiles given are the
parties, in that order. --agents names one agent per party, in the same
order, which is also the turn order. The deadline is --rounds, --time or
both; --time alone lifts the round limit.

Agents: %s

Flags:
`

type simulateFlags struct {
	agents    string
	rounds    int
	time      time.Duration
	turnLimit time.Duration
	seed      uint64
	trace     string
	plot      string
	json      bool
}

func (m *Main) runSimulate(ctx context.Context, args []string) error {
	var f simulateFlags
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&f.agents, "agents", "", "the agents, one per party in party order, comma-separated `A,B`")
	fs.IntVar(&f.rounds, "rounds", 1000, "deadline in `N` rounds (a round is one turn of every party)")
	fs.DurationVar(&f.time, "time", 0, "deadline in wall-clock time, such as 10s (alone, it replaces the round deadline)")
	fs.DurationVar(&f.turnLimit, "turn-limit", 0, "remove an agent that takes longer than this for one turn (0: no limit)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the run: the same seed gives the same negotiation")
	fs.StringVar(&f.trace, "trace", "", "write every action to `FILE` (.csv or .json)")
	fs.StringVar(&f.plot, "plot", "", "draw the offers in the first two parties' utility space to `FILE` (.svg, .png or .pdf)")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, simulateUsage, strings.Join(agent.Names(), ", "))
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg, err := deadline("simulate", fs, f.rounds, f.time)
	if err != nil {
		return err
	}
	if f.turnLimit < 0 {
		return usagef("simulate: --turn-limit must not be negative")
	}
	cfg.TurnLimit, cfg.Seed, cfg.Trace = f.turnLimit, f.seed, f.trace != "" || f.plot != ""
	if f.trace != "" {
		switch strings.ToLower(filepath.Ext(f.trace)) {
		case ".csv", ".json":
		default:
			return usagef("simulate: --trace %s: the file must end in .csv or .json", f.trace)
		}
	}
	if err := checkPlotFile("simulate", f.plot); err != nil {
		return err
	}
	names, err := agentNames("simulate", f.agents)
	if err != nil {
		return err
	}

	if len(pos) == 0 {
		fs.Usage()
		return usagef("simulate: give a domain folder, or a domain file and its profiles")
	}
	sc, err := loadScenario("simulate", pos)
	if err != nil {
		return err
	}
	if len(sc.Profiles) < 2 {
		return usagef("simulate: %s has %d profile: a negotiation needs at least 2 parties", domainName(sc), len(sc.Profiles))
	}
	if len(names) != len(sc.Profiles) {
		return usagef("simulate: %d agents for the %d parties of %s: give one agent per profile, in party order", len(names), len(sc.Profiles), domainName(sc))
	}
	negs := make([]mechanism.Negotiator, len(names))
	for i, name := range names {
		if negs[i], err = agent.New(name); err != nil {
			return err
		}
	}

	res, err := mechanism.Run(ctx, sc.Profiles, negs, cfg)
	if err != nil {
		return fmt.Errorf("simulate %s: %w", sc.DomainFile, err)
	}
	parties := uniqueNames(names)
	if f.trace != "" {
		if err := writeTrace(f.trace, res, sc, parties); err != nil {
			return err
		}
	}
	if f.plot != "" {
		if err := plotNegotiation(ctx, f.plot, sc, res, parties); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	if f.json {
		return writeSimulateJSON(m.Stdout, sc, names, cfg, res)
	}
	writeSimulateTable(m.Stdout, sc, names, cfg, res)
	if f.trace != "" {
		fmt.Fprintf(m.Stdout, "\nTrace written to %s\n", f.trace)
	}
	if f.plot != "" {
		fmt.Fprintf(m.Stdout, "Plot written to %s\n", f.plot)
	}
	return nil
}

// deadline reads --rounds and --time: a deadline given must be positive,
// and --time alone replaces the default deadline in rounds.
func deadline(cmd string, fs *flag.FlagSet, rounds int, limit time.Duration) (mechanism.Config, error) {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if rounds <= 0 && (set["rounds"] || !set["time"]) {
		return mechanism.Config{}, usagef("%s: --rounds must be positive, not %d", cmd, rounds)
	}
	if set["time"] && limit <= 0 {
		return mechanism.Config{}, usagef("%s: --time must be positive, not %v", cmd, limit)
	}
	if set["time"] && !set["rounds"] {
		rounds = 0
	}
	return mechanism.Config{Rounds: rounds, Time: limit}, nil
}

func checkPlotFile(cmd, file string) error {
	if file == "" {
		return nil
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".svg", ".png", ".pdf":
		return nil
	}
	return usagef("%s: --plot %s: the file must end in .svg, .png or .pdf", cmd, file)
}

// agentNames splits a comma-separated list of agent names and checks each
// against the agent package.
func agentNames(cmd, list string) ([]string, error) {
	known := agent.Names()
	if strings.TrimSpace(list) == "" {
		return nil, usagef("%s: give the agents with --agents, from: %s", cmd, strings.Join(known, ", "))
	}
	var names []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, k := range known {
			found = found || k == name
		}
		if !found {
			return nil, usagef("%s: unknown agent %q (known: %s)", cmd, name, strings.Join(known, ", "))
		}
		names = append(names, name)
	}
	return names, nil
}

// loadScenario loads a folder or a domain file and profiles. A path that
// does not exist is a usage error.
func loadScenario(cmd string, pos []string) (*genius.Scenario, error) {
	for _, p := range pos {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return nil, usagef("%s: %s does not exist", cmd, p)
		}
	}
	if len(pos) == 1 {
		st, err := os.Stat(pos[0])
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, usagef("%s: %s is a file: give its profiles after it, or give its folder", cmd, pos[0])
		}
		return genius.LoadDir(pos[0])
	}
	return genius.LoadFiles(pos[0], pos[1:]...)
}

// uniqueNames names the parties after their agents, numbering agents that
// play more than one party: boulware-1, boulware-2.
func uniqueNames(names []string) []string {
	count := make(map[string]int)
	for _, n := range names {
		count[n]++
	}
	out := make([]string, len(names))
	seen := make(map[string]int)
	for i, n := range names {
		out[i] = n
		if count[n] > 1 {
			seen[n]++
			out[i] = n + "-" + strconv.Itoa(seen[n])
		}
	}
	return out
}

func writeTrace(file string, res *mechanism.Result, sc *genius.Scenario, parties []string) error {
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if strings.EqualFold(filepath.Ext(file), ".json") {
		err = res.WriteJSON(out, sc.Space, parties)
	} else {
		err = res.WriteCSV(out, sc.Space, parties)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}

// simulateJSON is the --json shape, relied on by other tools
// (docs/simulate.md): change it only by adding fields.
type simulateJSON struct {
	Domain    string            `json:"domain"`
	Agents    []string          `json:"agents"`
	Profiles  []string          `json:"profiles"`
	Seed      uint64            `json:"seed"`
	Deadline  jsonDeadline      `json:"deadline"`
	Agreement map[string]string `json:"agreement"`
	Utilities []float64         `json:"utilities"`
	Rounds    int               `json:"rounds"`
	Steps     int               `json:"steps"`
	Time      float64           `json:"time"`
	Seconds   float64           `json:"seconds"`
	Setup     float64           `json:"setup_seconds"`
	Reason    mechanism.Reason  `json:"reason"`
	Error     string            `json:"error,omitempty"`
}

type jsonDeadline struct {
	Rounds  int     `json:"rounds"`
	Seconds float64 `json:"seconds"`
}

func writeSimulateJSON(w io.Writer, sc *genius.Scenario, names []string, cfg mechanism.Config, res *mechanism.Result) error {
	out := simulateJSON{
		Domain:    domainName(sc),
		Agents:    names,
		Profiles:  partyNames(sc),
		Seed:      cfg.Seed,
		Deadline:  jsonDeadline{Rounds: cfg.Rounds, Seconds: cfg.Time.Seconds()},
		Utilities: res.Utilities,
		Rounds:    res.Rounds,
		Steps:     res.Steps,
		Time:      res.Time,
		Seconds:   res.Elapsed.Seconds(),
		Setup:     res.Setup.Seconds(),
		Reason:    res.Reason,
	}
	if res.Agreement != nil {
		out.Agreement = sc.Space.Values(res.Agreement)
	}
	if res.Err != nil {
		out.Error = res.Err.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeSimulateTable(w io.Writer, sc *genius.Scenario, names []string, cfg mechanism.Config, res *mechanism.Result) {
	fmt.Fprintf(w, "Domain     %s (%s)\n", domainName(sc), sc.DomainFile)
	var dl []string
	if cfg.Rounds > 0 {
		dl = append(dl, fmt.Sprintf("%d rounds", cfg.Rounds))
	}
	if cfg.Time > 0 {
		dl = append(dl, cfg.Time.String())
	}
	fmt.Fprintf(w, "Deadline   %s\nSeed       %d\n\n", strings.Join(dl, " or "), cfg.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tparty\tagent\tprofile\treserved\tutility")
	for i, p := range sc.Profiles {
		fmt.Fprintf(tw, "\t%d\t%s\t%s\t%.4f\t%.4f\n", i+1, names[i], p.Name, p.Reserved, res.Utilities[i])
	}
	tw.Flush()
	fmt.Fprintln(w)
	if res.Agreement != nil {
		fmt.Fprintf(w, "Agreement  %s\n", sc.Space.Format(res.Agreement))
	} else {
		fmt.Fprintln(w, "Agreement  none")
	}
	fmt.Fprintf(w, "Reason     %s\n", res.Reason)
	if res.Err != nil {
		fmt.Fprintf(w, "Error      %v\n", res.Err)
	}
	fmt.Fprintf(w, "Rounds     %d (%d actions, t = %.4f)\n", res.Rounds, res.Steps, res.Time)
	fmt.Fprintf(w, "Seconds    %.6f (agents' setup %.6f)\n", res.Elapsed.Seconds(), res.Setup.Seconds())
}
