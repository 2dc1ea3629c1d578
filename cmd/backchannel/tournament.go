package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/backchannel/backchannel/agent"
	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/tournament"
)

const tournamentUsage = `Usage:
  backchannel tournament --domains DIR[,DIR...] --agents A,B,C [flags]

Run every agent against every other in every role of every domain, and
rank the agents by mean normalised score (u − rv)/(max − rv). Each DIR is a
folder in GENIUS layout; the parties are its first --parties profiles in
file-name order. Every ordered tuple of agents (with --self-play, of
agents with repetition) negotiates once per rotation of the profiles over
the parties and per repetition, so each agent plays each role, moving
first and last. With n agents, 2 parties, d domains and r repetitions
that is d·2·r·n·(n−1) negotiations, or d·2·r·n² with --self-play.

Agents: %s

Flags:
`

type tournamentFlags struct {
	domains  string
	agents   string
	reps     int
	rounds   int
	parties  int
	selfPlay bool
	out      string
	json     bool
	seed     uint64
	workers  int
}

func (m *Main) runTournament(ctx context.Context, args []string) error {
	var f tournamentFlags
	fs := flag.NewFlagSet("tournament", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&f.domains, "domains", "", "the domain folders, comma-separated `DIR,DIR`")
	fs.StringVar(&f.agents, "agents", "", "the agents, comma-separated `A,B,C`")
	fs.IntVar(&f.reps, "reps", 1, "repetitions of each negotiation")
	fs.IntVar(&f.rounds, "rounds", 1000, "deadline of each negotiation in `N` rounds")
	fs.IntVar(&f.parties, "parties", 2, "parties in each negotiation: the first `N` profiles of each domain")
	fs.BoolVar(&f.selfPlay, "self-play", false, "let agents negotiate with copies of themselves")
	fs.StringVar(&f.out, "out", "", "write results.json, negotiations.csv, agents.csv and scores.svg to `DIR`")
	fs.BoolVar(&f.json, "json", false, "print the per-agent results as JSON")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the tournament, from which each negotiation's seed is derived")
	fs.IntVar(&f.workers, "workers", 0, "negotiations run at once (0: one per core)")
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, tournamentUsage, strings.Join(agent.Names(), ", "))
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("tournament: unexpected argument %q: give the domains with --domains", pos[0])
	case f.reps <= 0:
		return usagef("tournament: --reps must be positive, not %d", f.reps)
	case f.workers < 0:
		return usagef("tournament: --workers must not be negative")
	case f.parties < 2:
		return usagef("tournament: --parties must be at least 2, not %d", f.parties)
	}
	mc, err := deadline("tournament", fs, f.rounds, 0)
	if err != nil {
		return err
	}
	names, err := agentNames("tournament", f.agents)
	if err != nil {
		return err
	}
	agents := make([]tournament.Agent, len(names))
	for i, name := range names {
		if slices.Contains(names[:i], name) {
			return usagef("tournament: agent %q is given twice (use --self-play to let it meet itself)", name)
		}
		agents[i] = tournament.Agent{Name: name, New: func() (mechanism.Negotiator, error) { return agent.New(name) }}
	}
	if len(agents) < f.parties && !f.selfPlay {
		return usagef("tournament: %d agents for %d parties: give more agents, or --self-play", len(agents), f.parties)
	}
	domains, err := loadDomains(f.domains, f.parties)
	if err != nil {
		return err
	}

	cfg := tournament.Config{
		Agents:    agents,
		Domains:   domains,
		Parties:   f.parties,
		Reps:      f.reps,
		SelfPlay:  f.selfPlay,
		Mechanism: mc,
		Seed:      f.seed,
		Workers:   f.workers,
	}
	if m.Terminal && !f.json {
		bar := newBar(m.Stderr, "negotiating")
		defer bar.Finish()
		cfg.Progress = func(done, total int) { bar.update(uint64(done), uint64(total)) }
	}
	res, err := tournament.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := writeResults(f.out, res); err != nil {
			return err
		}
	}
	workers := f.workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if f.json {
		return writeTournamentJSON(m.Stdout, cfg, workers, res)
	}
	writeTournamentTable(m.Stdout, cfg, workers, res)
	if f.out != "" {
		fmt.Fprintf(m.Stdout, "\nResults written to %s (results.json, negotiations.csv, agents.csv, scores.svg)\n", f.out)
	}
	return nil
}

// loadDomains loads each folder of a comma-separated list. A folder that
// does not exist, or has too few profiles, is a usage error.
func loadDomains(list string, parties int) ([]tournament.Domain, error) {
	if strings.TrimSpace(list) == "" {
		return nil, usagef("tournament: give the domain folders with --domains")
	}
	var domains []tournament.Domain
	seen := make(map[string]bool)
	for _, dir := range strings.Split(list, ",") {
		dir = strings.TrimSpace(dir)
		if dir == "" {
			return nil, usagef("tournament: --domains has an empty folder name in %q", list)
		}
		if key := filepath.Clean(dir); seen[key] {
			return nil, usagef("tournament: --domains names %s twice", dir)
		} else {
			seen[key] = true
		}
		st, err := os.Stat(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, usagef("tournament: domain folder %s does not exist", dir)
		case err != nil:
			return nil, err
		case !st.IsDir():
			return nil, usagef("tournament: %s is not a folder: --domains takes folders in GENIUS layout", dir)
		}
		sc, err := genius.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		if len(sc.Profiles) < parties {
			return nil, usagef("tournament: %s has %d profiles, fewer than the %d parties", dir, len(sc.Profiles), parties)
		}
		name := filepath.Base(filepath.Clean(dir))
		for _, d := range domains {
			if d.Name == name {
				name = dir
			}
		}
		domains = append(domains, tournament.Domain{Name: name, Profiles: sc.Profiles})
	}
	return domains, nil
}

func writeResults(dir string, res *tournament.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, w := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"results.json", res.WriteJSON},
		{"negotiations.csv", res.WriteNegotiationsCSV},
		{"agents.csv", res.WriteAgentsCSV},
	} {
		file := filepath.Join(dir, w.name)
		out, err := os.Create(file)
		if err != nil {
			return err
		}
		err = w.write(out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
	}
	if err := plotScores(filepath.Join(dir, "scores.svg"), res); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// tournamentJSON is the --json shape, relied on by other tools
// (docs/tournament.md): change it only by adding fields.
type tournamentJSON struct {
	Negotiations int                  `json:"negotiations"`
	Seconds      float64              `json:"seconds"`
	Workers      int                  `json:"workers"`
	Seed         uint64               `json:"seed"`
	Rounds       int                  `json:"rounds"`
	Parties      int                  `json:"parties"`
	Domains      []string             `json:"domains"`
	Agents       []tournament.Summary `json:"agents"`
}

func writeTournamentJSON(w io.Writer, cfg tournament.Config, workers int, res *tournament.Result) error {
	out := tournamentJSON{
		Negotiations: res.Negotiations,
		Seconds:      res.Elapsed.Seconds(),
		Workers:      workers,
		Seed:         cfg.Seed,
		Rounds:       cfg.Mechanism.Rounds,
		Parties:      res.Parties,
		Agents:       res.Agents,
	}
	for _, d := range cfg.Domains {
		out.Domains = append(out.Domains, d.Name)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeTournamentTable(w io.Writer, cfg tournament.Config, workers int, res *tournament.Result) {
	var domains []string
	for _, d := range cfg.Domains {
		domains = append(domains, d.Name)
	}
	fmt.Fprintf(w, "Domains       %s\n", strings.Join(domains, ", "))
	fmt.Fprintf(w, "Negotiations  %d (%d rounds each, seed %d)\n", res.Negotiations, cfg.Mechanism.Rounds, cfg.Seed)
	fmt.Fprintf(w, "Seconds       %.3f (%d workers)\n\n", res.Elapsed.Seconds(), workers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\tagent\tscore\t± s.e.\tagreements\tutility\tpartner\twelfare\tto Pareto\tto Nash\trounds\t")
	for i, s := range res.Agents {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", i+1, s.Agent,
			num(s.Score.Mean, 4), num(s.Score.SE, 4), percent(s.AgreementRate),
			num(s.Utility.Mean, 4), num(s.Partner.Mean, 4), num(s.Welfare.Mean, 4),
			num(s.Pareto.Mean, 4), num(s.Nash.Mean, 4), num(s.Rounds.Mean, 1))
	}
	tw.Flush()
	failed := 0
	first := ""
	for _, r := range res.Records {
		if r.Failed >= 0 {
			if failed == 0 {
				first = r.Error
			}
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "\nErrors        %d negotiations ended because an agent failed; the first: %s\n", failed, first)
	}
	fmt.Fprintln(w, "\nscore: mean (u − rv)/(max − rv) over all seats; utility, partner and welfare: mean final utilities;")
	fmt.Fprintln(w, "to Pareto, to Nash: mean distance in utility space of the outcome from the frontier and the Nash point.")
}

func num(x float64, prec int) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, x)
}

func percent(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}
