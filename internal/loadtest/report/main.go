// Command report turns the output of issue 4's benchmarks (BenchmarkRawCommit,
// BenchmarkAPI and BenchmarkServeAPI with the ledger on, BenchmarkHTTPFloor,
// BenchmarkSSEFanout and BenchmarkSSEFanoutServe; one or more runs of each)
// into the tables that docs/benchmarks.md keeps, measured against the
// issue's goals, and draws each case's API write rate as a share of the raw
// commit rate.
//
// Usage (docs/table.sh runs the benchmarks and this):
//
//	go run ./internal/loadtest/report [-png FILE] < bench.txt
//
// The i-th run of each API case is set against the i-th run of the raw
// benchmark: one client against one raw writer, 16 and 200 clients against
// 16 raw writers (each run against its own raw rate, as the tables do).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// The goals of issue 4.
const (
	shareGoal = 50  // % of the raw rate
	p99Goal   = 50  // ms, at 200 clients
	sseGoal   = 100 // ms, p99 of an event's delivery to 1,000 subscribers
)

var (
	stores  = []string{"sqlite", "postgres"}
	writes  = []string{"message", "counter"}
	clients = []int{1, 16, 200}
)

// runs holds every run of each benchmark, by name without its -N suffix:
// each run's metrics, by unit.
type runs map[string][]map[string]float64

var suffix = regexp.MustCompile(`-\d+$`)

// parse reads go test -bench output, skipping every line that is not a
// benchmark's result.
func parse(r io.Reader) (runs, error) {
	out := make(runs)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		m := make(map[string]float64)
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: metric %q: %v", f[0], f[i+1], err)
			}
			m[f[i+1]] = v
		}
		name := suffix.ReplaceAllString(f[0], "")
		out[name] = append(out[name], m)
	}
	return out, sc.Err()
}

// rates returns the unit values of every run of name.
func (rs runs) rates(name, unit string) []float64 {
	var a []float64
	for _, m := range rs[name] {
		if v, ok := m[unit]; ok {
			a = append(a, v)
		}
	}
	return a
}

func rawName(store string, writers int) string {
	return fmt.Sprintf("BenchmarkRawCommit/%s/writers=%d", store, writers)
}

func apiName(store, write string, c int) string {
	return fmt.Sprintf("BenchmarkAPI/%s/ledger=on/%s/clients=%d", store, write, c)
}

// shares returns each run's API rate of a case as a % of its raw rate.
func (rs runs) shares(store, write string, c int) []float64 {
	writers := 16
	if c == 1 {
		writers = 1
	}
	raw, api := rs.rates(rawName(store, writers), "commits/s"), rs.rates(apiName(store, write, c), "writes/s")
	var a []float64
	for i := range min(len(raw), len(api)) {
		if raw[i] > 0 {
			a = append(a, 100*api[i]/raw[i])
		}
	}
	return a
}

// list formats vs with the format f, comma-separated; "—" if there are none.
func list(f string, vs []float64) string {
	if len(vs) == 0 {
		return "—"
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = group(fmt.Sprintf(f, v))
	}
	return strings.Join(s, ", ")
}

// group puts thousands separators in the integer part of a formatted number.
func group(s string) string {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		i = len(s)
	}
	for j := i - 3; j > 0; j -= 3 {
		s = s[:j] + "," + s[j:]
	}
	return s
}

// verdict says whether every, some or none of vs meet the goal (≥ goal, or
// < goal if below).
func verdict(vs []float64, goal float64, below bool) string {
	n := 0
	for _, v := range vs {
		if below && v < goal || !below && v >= goal {
			n++
		}
	}
	switch {
	case len(vs) == 0:
		return "not run"
	case n == len(vs):
		return "met"
	case n == 0:
		return "missed"
	}
	return fmt.Sprintf("met in %d of %d", n, len(vs))
}

// writeTable writes the markdown tables of rs and their goals to w.
func writeTable(w io.Writer, rs runs) {
	fmt.Fprintf(w, "| | 1 writer | 16 writers |\n|---|---|---|\n")
	for _, s := range stores {
		fmt.Fprintf(w, "| raw %s commits/s | %s | %s |\n", s, list("%.0f", rs.rates(rawName(s, 1), "commits/s")), list("%.0f", rs.rates(rawName(s, 16), "commits/s")))
	}
	fmt.Fprintf(w, "\n| store | write | 1 client | 16 clients | 200 clients | p99 at 200 | most steal %% |\n|---|---|---|---|---|---|---|\n")
	for _, s := range stores {
		for _, wr := range writes {
			fmt.Fprintf(w, "| %s | %s |", s, wr)
			var steal []float64
			for _, c := range clients {
				fmt.Fprintf(w, " %s |", list("%.0f", rs.rates(apiName(s, wr, c), "writes/s")))
				steal = append(steal, rs.rates(apiName(s, wr, c), "steal-%")...)
			}
			fmt.Fprintf(w, " %s ms | %s |\n", list("%.1f", rs.rates(apiName(s, wr, 200), "p99-ms")), list("%.1f", []float64{slices.Max(append(steal, 0))}))
		}
	}
	fmt.Fprintf(w, "\nAgainst the goals (each run against its own raw rate: 1 writer for 1 client, 16 otherwise):\n\n")
	fmt.Fprintf(w, "| store | write | 1 client | 16 clients | 200 clients | p99 < %d ms at 200 |\n|---|---|---|---|---|---|\n", p99Goal)
	for _, s := range stores {
		for _, wr := range writes {
			fmt.Fprintf(w, "| %s | %s |", s, wr)
			for _, c := range clients {
				sh := rs.shares(s, wr, c)
				fmt.Fprintf(w, " %s %%: %s |", list("%.0f", sh), verdict(sh, shareGoal, false))
			}
			p99 := rs.rates(apiName(s, wr, 200), "p99-ms")
			fmt.Fprintf(w, " %s |\n", verdict(p99, p99Goal, true))
		}
	}
	writeFloor(w, rs)
	writeCeiling(w, rs)
	writeSplit(w, rs)
	writeFanout(w, rs)
}

// writeCeiling writes, for the runs that measured the machine's CPU (all
// processes: the test's, the database server's, the kernel's), what each
// case's rate would be with both cores busy at the same CPU time a write:
// its rate / machine-busy-%. Below the goal, no scheduling of the same
// work reaches it; only less CPU a write does. Its share is set against the
// raw rate as the goals' table does. One client is left out: it writes one
// request at a time and cannot fill two cores, whatever a write costs
// (BenchmarkHTTPFloor bounds it instead).
func writeCeiling(w io.Writer, rs runs) {
	header := fmt.Sprintf("\n| store | write | clients | machine busy | CPU a write: machine (this process) | rate with the cores full | its share of the raw rate | ≥ %d %% |\n|---|---|---|---|---|---|---|---|\n", shareGoal)
	eachCase(w, header, func(s, wr string, c int) (string, bool) {
		name := apiName(s, wr, c)
		ceil, sh := rs.ceilings(s, wr, c)
		if ceil == nil {
			return "", false
		}
		mcpu, pcpu := rs.rates(name, "machine-cpu-µs/op"), rs.rates(name, "cpu-µs/op")
		var both []string
		for i := range min(len(mcpu), len(pcpu)) {
			both = append(both, fmt.Sprintf("%s (%s)", group(fmt.Sprintf("%.0f", mcpu[i])), group(fmt.Sprintf("%.0f", pcpu[i]))))
		}
		return fmt.Sprintf("| %s | %s | %d | %s %% | %s µs | %s | %s %% | %s |\n", s, wr, c, list("%.0f", rs.rates(name, "machine-busy-%")), strings.Join(both, ", "), list("%.0f", ceil), list("%.0f", sh), reach(verdict(sh, shareGoal, false))), true
	})
}

// eachCase writes header and a row for each case at 16 and 200 clients
// that row gives one for (false: none), or nothing if none has one.
func eachCase(w io.Writer, header string, row func(store, write string, c int) (string, bool)) {
	for _, s := range stores {
		for _, wr := range writes {
			for _, c := range clients[1:] {
				r, ok := row(s, wr, c)
				if !ok {
					continue
				}
				fmt.Fprint(w, header)
				header = ""
				fmt.Fprint(w, r)
			}
		}
	}
}

// ceilings returns, for the runs of a case at 16 or 200 clients that
// measured the machine's CPU, each run's rate with the cores full (its
// rate / machine-busy-%) and that rate as a % of its raw rate with 16
// writers; nil if no run measured the machine.
func (rs runs) ceilings(store, write string, c int) (ceil, shares []float64) {
	name := apiName(store, write, c)
	rate, busy := rs.rates(name, "writes/s"), rs.rates(name, "machine-busy-%")
	if len(busy) == 0 || len(busy) != len(rate) {
		return nil, nil
	}
	for i := range rate {
		if busy[i] > 0 {
			ceil = append(ceil, rate[i]*100/busy[i])
		}
	}
	raw := rs.rates(rawName(store, 16), "commits/s")
	for i := range min(len(ceil), len(raw)) {
		if raw[i] > 0 {
			shares = append(shares, 100*ceil[i]/raw[i])
		}
	}
	return ceil, shares
}

func serveName(store, write string, c int) string {
	return fmt.Sprintf("BenchmarkServeAPI/%s/ledger=on/%s/clients=%d", store, write, c)
}

// writeSplit writes, for the runs of BenchmarkServeAPI (the API in a serve
// process of its own, this process the clients alone), where a write's CPU
// time went: the clients' (cpu-µs/op), the server's (server-cpu-µs/op) and
// the rest of the machine's (the database server and the kernel's work
// charged to neither), and the rate the server and the database would
// reach with both cores full and the clients on another machine
// (elsewhere). Below the goal, moving the load off the machine would not
// reach it either; only less CPU a write in the server or the database
// would.
func writeSplit(w io.Writer, rs runs) {
	header := fmt.Sprintf("\n| store | write | clients | writes/s (serve) | CPU a write: clients, server, database and kernel | rate with the cores full, clients elsewhere | its share of the raw rate | ≥ %d %% |\n|---|---|---|---|---|---|---|---|\n", shareGoal)
	eachCase(w, header, func(s, wr string, c int) (string, bool) {
		name := serveName(s, wr, c)
		ceil, sh := rs.elsewhere(s, wr, c)
		if ceil == nil {
			return "", false
		}
		ccpu, scpu, mcpu := rs.rates(name, "cpu-µs/op"), rs.rates(name, "server-cpu-µs/op"), rs.rates(name, "machine-cpu-µs/op")
		n := func(v float64) string { return group(fmt.Sprintf("%.0f", max(v, 0))) }
		var split []string
		for i := range ceil {
			split = append(split, n(ccpu[i])+" + "+n(scpu[i])+" + "+n(mcpu[i]-ccpu[i]-scpu[i]))
		}
		return fmt.Sprintf("| %s | %s | %d | %s | %s µs | %s | %s %% | %s |\n", s, wr, c, list("%.0f", rs.rates(name, "writes/s")[:len(ceil)]), strings.Join(split, "; "), list("%.0f", ceil), list("%.0f", sh), reach(verdict(sh, shareGoal, false))), true
	})
}

// elsewhere returns, for the runs of a case against a serve process, each
// run's rate with the cores full and the clients on another machine: its
// rate with the cores full (rate / machine-busy-%), scaled by the
// machine's CPU a write over that without the clients'; and that rate as a
// % of its raw rate with 16 writers. It stops at the first run that lacks
// a figure: nil if none has them all.
func (rs runs) elsewhere(store, write string, c int) (ceil, shares []float64) {
	name := serveName(store, write, c)
	rate, busy := rs.rates(name, "writes/s"), rs.rates(name, "machine-busy-%")
	mcpu, ccpu, scpu := rs.rates(name, "machine-cpu-µs/op"), rs.rates(name, "cpu-µs/op"), rs.rates(name, "server-cpu-µs/op")
	raw := rs.rates(rawName(store, 16), "commits/s")
	for i := range min(len(rate), len(busy), len(mcpu), len(ccpu), len(scpu)) {
		if busy[i] <= 0 || mcpu[i] <= ccpu[i] {
			break
		}
		r := rate[i] * 100 / busy[i] * mcpu[i] / (mcpu[i] - ccpu[i])
		ceil = append(ceil, r)
		if i < len(raw) && raw[i] > 0 {
			shares = append(shares, 100*r/raw[i])
		}
	}
	return ceil, shares
}

func floorName(store string) string { return "BenchmarkHTTPFloor/" + store + "/clients=1" }

// writeFloor writes the table of the HTTP floor's runs, if there are any:
// a raw commit behind a handler that does nothing else, with one client,
// as a share of the raw rate with one writer (the i-th run against the
// i-th), the most that the goal at one client can reach.
func writeFloor(w io.Writer, rs runs) {
	header := false
	for _, s := range stores {
		floor, raw := rs.rates(floorName(s), "writes/s"), rs.rates(rawName(s, 1), "commits/s")
		if len(floor) == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\n| store | HTTP floor, 1 client (writes/s) | share of the raw rate, 1 writer | ≥ %d %% |\n|---|---|---|---|\n", shareGoal)
			header = true
		}
		var sh []float64
		for i := range min(len(floor), len(raw)) {
			if raw[i] > 0 {
				sh = append(sh, 100*floor[i]/raw[i])
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s %% | %s |\n", s, list("%.0f", floor), list("%.0f", sh), verdict(sh, shareGoal, false))
	}
}

// reach says a ceiling's verdict in its own words: a ceiling that meets
// the goal leaves it within reach, no more.
func reach(v string) string {
	switch {
	case v == "met":
		return "within reach"
	case v == "missed":
		return "out of reach"
	case strings.HasPrefix(v, "met in "):
		return "within reach in " + strings.TrimPrefix(v, "met in ")
	}
	return v
}

// writeFanout writes the table of the SSE fan-out's runs, if there are any.
func writeFanout(w io.Writer, rs runs) {
	type fanout struct{ name, label, heap, peak, rss, rssPeak string }
	var fs []fanout
	for _, s := range stores {
		fs = append(fs,
			fanout{"BenchmarkSSEFanout/" + s + "/subscribers=1000", s + ", in the test process (heap: server and clients)", "heap-connected-MiB", "heap-max-MiB", "", ""},
			fanout{"BenchmarkSSEFanoutServe/" + s + "/subscribers=1000", s + ", a serve process (its own memory)", "server-heap-connected-MiB", "server-heap-max-MiB", "server-rss-connected-MiB", "server-rss-max-MiB"})
	}
	header := false
	for _, f := range fs {
		p99, p50 := rs.rates(f.name, "deliver-p99-ms"), rs.rates(f.name, "deliver-p50-ms")
		if len(p99) == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\n| an event to 1,000 subscribers | p99 (p50) | p99 < %d ms | heap in use, connected (peak) | resident set, connected (peak) |\n|---|---|---|---|---|\n", sseGoal)
			header = true
		}
		var both []string
		for i := range min(len(p99), len(p50)) {
			both = append(both, fmt.Sprintf("%.1f (%.1f)", p99[i], p50[i]))
		}
		rss := "—"
		if f.rss != "" {
			rss = pair(rs.rates(f.name, f.rss), rs.rates(f.name, f.rssPeak))
		}
		fmt.Fprintf(w, "| %s | %s ms | %s | %s | %s |\n", f.label, strings.Join(both, ", "), verdict(p99, sseGoal, true),
			pair(rs.rates(f.name, f.heap), rs.rates(f.name, f.peak)), rss)
	}
}

// pair formats runs' values and their peaks, in MiB: "31 (37), 30 (39) MiB".
func pair(vs, peaks []float64) string {
	var a []string
	for i := range min(len(vs), len(peaks)) {
		a = append(a, fmt.Sprintf("%.0f (%.0f)", vs[i], peaks[i]))
	}
	if len(a) == 0 {
		return "—"
	}
	return strings.Join(a, ", ") + " MiB"
}

// drawShares plots each case's share of the raw rate (the mean of its runs)
// as bars against the goal's line, to file (PNG or SVG by its extension).
func drawShares(file string, rs runs) error {
	p := plot.New()
	p.Title.Text = "API writes/s as a share of the raw durable commit rate (mean of the runs)"
	p.Y.Label.Text = "% of the raw rate (1 writer for 1 client, 16 otherwise)"
	p.Add(plotter.NewGrid())
	w := vg.Points(20)
	var top float64 = shareGoal
	var outline, elsewhere plot.Thumbnailer // ceilings' outlines, for the legend
	for si, s := range stores {
		for wi, wr := range writes {
			var means plotter.Values
			for _, c := range clients {
				m := mean(rs.shares(s, wr, c))
				means = append(means, m)
				top = max(top, m)
			}
			bars, err := plotter.NewBarChart(means, w)
			if err != nil {
				return err
			}
			k := si*len(writes) + wi
			bars.Offset = w * vg.Length(float64(k)-1.5)
			bars.Color = palette[k]
			bars.LineStyle.Width = 0
			p.Add(bars)
			p.Legend.Add(s+" "+wr+"s", bars)
			// The rate with the cores full, where the runs measured it: an
			// outline over the bar, up to where the same work could go; and
			// with the clients elsewhere, where a serve process was measured.
			ceil := func(c int) []float64 { _, sh := rs.ceilings(s, wr, c); return sh }
			out, err := addOutline(p, ceil, w, bars.Offset, []vg.Length{vg.Points(2), vg.Points(2)}, &top)
			if err != nil {
				return err
			}
			if out != nil {
				outline = out
			}
			apart := func(c int) []float64 { _, sh := rs.elsewhere(s, wr, c); return sh }
			if out, err = addOutline(p, apart, w, bars.Offset, []vg.Length{vg.Points(0.8), vg.Points(1.6)}, &top); err != nil {
				return err
			}
			if out != nil {
				elsewhere = out
			}
		}
	}
	if outline != nil {
		p.Legend.Add("with both cores full (16, 200 clients)", outline)
	}
	if elsewhere != nil {
		p.Legend.Add("the same, clients elsewhere (serve process)", elsewhere)
	}
	goal := plotter.NewFunction(func(float64) float64 { return shareGoal })
	goal.Color = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	goal.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	goal.Width = vg.Points(1.2)
	p.Add(goal)
	p.Legend.Add(fmt.Sprintf("goal: %d %%", shareGoal), goal)
	p.Legend.Top = true
	p.Legend.Padding = vg.Points(1.5)
	p.Legend.Left = true
	p.NominalX("1 client", "16 clients", "200 clients")
	p.X.Min, p.X.Max = -0.8, 2.6
	p.Y.Min, p.Y.Max = 0, top*1.25
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		step := 50.0
		if hi > 400 {
			step = 100
		}
		var ts []plot.Tick
		for v := 0.0; v <= hi; v += step {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
		return ts
	})
	return p.Save(9*vg.Inch, 5*vg.Inch, file)
}

// addOutline adds to p, over the bars at offset, an outline up to each
// client count's mean share from shares, with the dashes given (none for
// one client, which cannot fill the cores), and raises top to the highest
// share drawn. It returns the outline, or nil if shares has none.
func addOutline(p *plot.Plot, shares func(c int) []float64, w, offset vg.Length, dashes []vg.Length, top *float64) (*plotter.BarChart, error) {
	var vs plotter.Values
	measured := false
	for _, c := range clients {
		sh := shares(c)
		if c == 1 || len(sh) == 0 {
			vs = append(vs, 0)
			continue
		}
		vs = append(vs, mean(sh))
		*top = max(*top, mean(sh))
		measured = true
	}
	if !measured {
		return nil, nil
	}
	out, err := plotter.NewBarChart(vs, w)
	if err != nil {
		return nil, err
	}
	out.Offset = offset
	out.Color = color.Transparent
	out.LineStyle.Color = color.Black
	out.LineStyle.Width = vg.Points(0.8)
	out.LineStyle.Dashes = dashes
	p.Add(out)
	return out, nil
}

// mean returns the mean of vs, 0 if there are none.
func mean(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	var sum float64
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

var palette = []color.Color{
	color.RGBA{R: 70, G: 110, B: 180, A: 255},
	color.RGBA{R: 150, G: 180, B: 225, A: 255},
	color.RGBA{R: 220, G: 120, B: 30, A: 255},
	color.RGBA{R: 245, G: 190, B: 130, A: 255},
}

func main() {
	png := flag.String("png", "", "also draw each case's share of the raw rate to `FILE` (.png or .svg)")
	flag.Parse()
	rs, err := parse(os.Stdin)
	if err == nil && len(rs) == 0 {
		err = fmt.Errorf("no benchmark results on standard input")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	writeTable(os.Stdout, rs)
	if *png != "" {
		if err := drawShares(*png, rs); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
}
