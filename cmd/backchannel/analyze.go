package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"

	"github.com/backchannel/backchannel/analysis"
	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/utility"
)

const analyzeUsage = `Usage:
  backchannel analyze DIR [flags]
  backchannel analyze DOMAIN PROFILE PROFILE... [flags]

Analyse a negotiation domain: the Pareto frontier over the outcomes every
party prefers to its reserved value, and the Nash, Kalai-Smorodinsky,
egalitarian and max-welfare points. DIR is a folder in GENIUS layout (one
domain file and its profiles, all of them parties, in file-name order).
Otherwise the profiles given are the parties, in that order. GENIUS XML and
GeniusWeb JSON files are both accepted.

Flags:
`

type analyzeFlags struct {
	json         bool
	plot         string
	frontier     int
	workers      int
	outcome      string
	improvements int
}

func (m *Main) runAnalyze(ctx context.Context, args []string) error {
	var f analyzeFlags
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	fs.StringVar(&f.plot, "plot", "", "draw the utility space of the first two parties to `FILE` (.svg, .png or .pdf)")
	fs.IntVar(&f.frontier, "frontier", 20, "list at most `N` frontier points in the table (0 for all)")
	fs.IntVar(&f.workers, "workers", 0, "goroutines for exact enumeration of non-additive utilities (0: one per core)")
	fs.StringVar(&f.outcome, "outcome", "", "also assess the draft `\"issue=value,issue=value\"` (or a JSON object): its utilities, distance to the frontier and the outcomes every party prefers to it")
	fs.IntVar(&f.improvements, "improvements", 10, "list at most `N` outcomes that Pareto-dominate the --outcome draft, best first by Nash product of the gains (0 for all)")
	fs.Usage = func() {
		fmt.Fprint(m.Stderr, analyzeUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case f.frontier < 0:
		return usagef("analyze: --frontier %d: give 0 (all) or more", f.frontier)
	case f.improvements < 0:
		return usagef("analyze: --improvements %d: give 0 (all) or more", f.improvements)
	case f.workers < 0:
		return usagef("analyze: --workers %d: give 0 (one per core) or more", f.workers)
	}
	if f.plot != "" {
		switch strings.ToLower(filepath.Ext(f.plot)) {
		case ".svg", ".png", ".pdf":
		default:
			return usagef("analyze: --plot %s: the file must end in .svg, .png or .pdf", f.plot)
		}
	}

	var sc *genius.Scenario
	switch {
	case len(pos) == 0:
		fs.Usage()
		return usagef("analyze: give a domain folder, or a domain file and its profiles")
	case len(pos) == 1:
		st, err := os.Stat(pos[0])
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return usagef("analyze: %s is a file: give its profiles after it, or give its folder", pos[0])
		}
		sc, err = genius.LoadDir(pos[0])
		if err != nil {
			return err
		}
	default:
		sc, err = genius.LoadFiles(pos[0], pos[1:]...)
		if err != nil {
			return err
		}
	}
	if len(sc.Profiles) == 0 {
		return fmt.Errorf("analyze: %s has no profiles, so there are no parties", sc.DomainFile)
	}

	funcs := make([]utility.Func, len(sc.Profiles))
	reserved := make([]float64, len(sc.Profiles))
	for i, p := range sc.Profiles {
		funcs[i], reserved[i] = p.Func, p.Reserved
	}
	opt := analysis.Options{Workers: f.workers}
	if m.Terminal && !f.json {
		bar := newBar(m.Stderr, "enumerating outcomes")
		defer bar.Finish()
		opt.Progress = bar.update
	}
	var draft *draftResult
	if flagSet(fs, "outcome") {
		o, err := parseOutcome(sc.Space, f.outcome)
		if err != nil {
			return usagef("analyze: --outcome: %v", err)
		}
		draft = &draftResult{Outcome: o}
	}
	res, err := analysis.Analyze(ctx, funcs, reserved, opt)
	if err != nil {
		return fmt.Errorf("analyze %s: %w", sc.DomainFile, err)
	}
	if draft != nil {
		if err := draft.assess(ctx, funcs, res, f.improvements); err != nil {
			return fmt.Errorf("analyze %s: %w", sc.DomainFile, err)
		}
	}

	if f.plot != "" {
		if err := plotSpace(f.plot, sc, res, draft); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	if f.json {
		return writeJSON(m.Stdout, sc, res, draft)
	}
	writeTable(m.Stdout, sc, res, f.frontier)
	if draft != nil {
		draft.writeTable(m.Stdout, sc)
	}
	if f.plot != "" {
		fmt.Fprintf(m.Stdout, "\nPlot written to %s\n", f.plot)
	}
	return nil
}

// progress draws a progress bar with an ETA on a terminal, for long
// enumerations and tournaments. It appears on the first update, so work
// that reports no progress draws nothing.
type progress struct {
	w    io.Writer
	desc string
	bar  *progressbar.ProgressBar
}

func newBar(w io.Writer, desc string) *progress { return &progress{w: w, desc: desc} }

func (p *progress) update(done, total uint64) {
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.desc),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100_000_000),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.bar.Set64(int64(done))
}

func (p *progress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// The JSON shape below is relied on by other tools: change it only by
// adding fields.
type jsonPoint struct {
	Outcome   map[string]string `json:"outcome"`
	Utilities []float64         `json:"utilities"`
}

type jsonResult struct {
	Outcomes         json.RawMessage `json:"outcomes"`
	Parties          []string        `json:"parties"`
	Reserved         []float64       `json:"reserved"`
	Frontier         []jsonPoint     `json:"frontier"`
	Nash             *jsonPoint      `json:"nash"`
	KalaiSmorodinsky *jsonPoint      `json:"kalai_smorodinsky"`
	Egalitarian      *jsonPoint      `json:"egalitarian"`
	MaxWelfare       *jsonPoint      `json:"max_welfare"`
	ZOPA             bool            `json:"zopa"`
	Draft            *jsonDraft      `json:"draft,omitempty"`
}

// jsonDraft is present only with --outcome.
type jsonDraft struct {
	jsonPoint
	Rational bool `json:"rational"`
	// Distance is null when the frontier is empty.
	Distance   *float64    `json:"distance"`
	Dominating []jsonPoint `json:"dominating"`
}

// outcomesJSON prints the count as a number when a JSON reader can hold it
// exactly in a double, and as a decimal string otherwise.
func outcomesJSON(n *big.Int) json.RawMessage {
	if n.IsUint64() && n.Uint64() <= 1<<53 {
		return json.RawMessage(n.String())
	}
	return json.RawMessage(strconv.Quote(n.String()))
}

func writeJSON(w io.Writer, sc *genius.Scenario, res *analysis.Result, draft *draftResult) error {
	point := func(p *analysis.Point) *jsonPoint {
		if p == nil {
			return nil
		}
		return &jsonPoint{Outcome: sc.Space.Values(p.Outcome), Utilities: p.Utilities}
	}
	out := jsonResult{
		Outcomes:         outcomesJSON(res.Outcomes),
		Parties:          partyNames(sc),
		Reserved:         res.Reserved,
		Frontier:         make([]jsonPoint, len(res.Frontier)),
		Nash:             point(res.Nash),
		KalaiSmorodinsky: point(res.KalaiSmorodinsky),
		Egalitarian:      point(res.Egalitarian),
		MaxWelfare:       point(res.MaxWelfare),
		ZOPA:             res.ZOPA,
	}
	for i := range res.Frontier {
		out.Frontier[i] = *point(&res.Frontier[i])
	}
	if draft != nil {
		d := &jsonDraft{
			jsonPoint:  *point(&analysis.Point{Outcome: draft.Outcome, Utilities: draft.Utilities}),
			Rational:   draft.Rational,
			Dominating: make([]jsonPoint, len(draft.Dominating)),
		}
		if !math.IsInf(draft.Distance, 0) {
			d.Distance = &draft.Distance
		}
		for i := range draft.Dominating {
			d.Dominating[i] = *point(&draft.Dominating[i])
		}
		out.Draft = d
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func partyNames(sc *genius.Scenario) []string {
	names := make([]string, len(sc.Profiles))
	for i, p := range sc.Profiles {
		names[i] = p.Name
	}
	return names
}

func writeTable(w io.Writer, sc *genius.Scenario, res *analysis.Result, limit int) {
	names := partyNames(sc)
	fmt.Fprintf(w, "Domain    %s (%s)\n", domainName(sc), sc.DomainFile)
	fmt.Fprintf(w, "Outcomes  %s (%d issues)\n", groupDigits(res.Outcomes.String()), len(sc.Space.Issues))
	fmt.Fprintf(w, "Parties   %d\n", len(names))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tparty\treserved\tdiscount\tbest rational")
	for i, p := range sc.Profiles {
		disc := "none"
		if p.Discount > 0 && p.Discount < 1 {
			disc = strconv.FormatFloat(p.Discount, 'g', 6, 64)
		}
		best := "-"
		if res.Ideal != nil {
			best = fmt.Sprintf("%.4f", res.Ideal[i])
		}
		fmt.Fprintf(tw, "\t%s\t%.4f\t%s\t%s\n", p.Name, p.Reserved, disc, best)
	}
	tw.Flush()
	if !res.ZOPA {
		fmt.Fprintln(w, "\nZOPA      none: no outcome gives every party at least its reserved value")
		return
	}
	fmt.Fprintf(w, "ZOPA      yes\nFrontier  %d points\n\n", len(res.Frontier))

	header := "point\t" + strings.Join(names, "\t") + "\toutcome\n"
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, header)
	for _, np := range []struct {
		name string
		p    *analysis.Point
	}{
		{"Nash", res.Nash},
		{"Kalai-Smorodinsky", res.KalaiSmorodinsky},
		{"Egalitarian", res.Egalitarian},
		{"Max welfare", res.MaxWelfare},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", np.name, utilities(np.p.Utilities), sc.Space.Format(np.p.Outcome))
	}
	tw.Flush()

	n := len(res.Frontier)
	shown := n
	if limit > 0 && limit < n {
		shown = limit
	}
	if shown < n {
		fmt.Fprintf(w, "\nPareto frontier (%d of %d points, evenly spaced; --frontier 0 lists all)\n", shown, n)
	} else {
		fmt.Fprintf(w, "\nPareto frontier (%d points)\n", n)
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "#\t"+strings.Join(names, "\t")+"\toutcome\n")
	for k := range shown {
		i := k
		if shown < n && shown > 1 {
			i = int(math.Round(float64(k) * float64(n-1) / float64(shown-1)))
		}
		p := res.Frontier[i]
		fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, utilities(p.Utilities), sc.Space.Format(p.Outcome))
	}
	tw.Flush()
}

func utilities(u []float64) string {
	s := make([]string, len(u))
	for i, x := range u {
		s[i] = fmt.Sprintf("%.4f", x)
	}
	return strings.Join(s, "\t")
}

// groupDigits writes 5764801 as 5,764,801.
func groupDigits(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// domainName names the domain by its space, unless the file left the
// GENIUS placeholder "root", in which case its folder names it.
func domainName(sc *genius.Scenario) string {
	if n := sc.Space.Name; n != "" && n != "root" {
		return n
	}
	return filepath.Base(filepath.Dir(sc.DomainFile))
}
