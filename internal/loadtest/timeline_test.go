package loadtest

import (
	"encoding/csv"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// timeline is the -timeline flag. A run's p99 is 1 % of its calls, and
// which calls those are says why: the first call of each client (a cold
// start: caches it fills once), a few bursts, or a spread over the whole
// run. The percentiles cannot tell these apart; a plot of each call can.
var timeline = flag.String("timeline", "", "write, for each run of 100 calls or more, `dir`/<run>.png and .csv: each call's latency against when it ended")

// A call is one call of a run, for its timeline.
type call struct {
	end    time.Duration // when it ended, since the run started
	dur    time.Duration // its latency
	client int           // the client (goroutine) that made it
	nth    int           // how many calls its client made before it
}

// timelineWindow is the width of the windows of the p99 line.
const timelineWindow = 100 * time.Millisecond

// writeTimeline writes the calls of the run named name to dir, as
// <name>.csv (a row per call, in the order they ended) and <name>.png
// (each call's latency against when it ended; each client's first call
// apart; the p99 of each timelineWindow as a line), and returns a line
// that sums them up: the first calls of the clients against the others.
func writeTimeline(dir, name string, calls []call) (string, error) {
	base := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name))
	calls = slices.Clone(calls)
	slices.SortStableFunc(calls, func(a, b call) int { return int(a.end - b.end) })

	var rows [][]string
	rows = append(rows, []string{"end_ms", "latency_ms", "client", "nth"})
	for _, c := range calls {
		rows = append(rows, []string{ms(c.end), ms(c.dur), strconv.Itoa(c.client), strconv.Itoa(c.nth)})
	}
	f, err := os.Create(base + ".csv")
	if err != nil {
		return "", err
	}
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}

	var first, later plotter.XYs
	var firstDurs, laterDurs []time.Duration
	for _, c := range calls {
		xy := plotter.XY{X: c.end.Seconds(), Y: float64(c.dur) / float64(time.Millisecond)}
		if c.nth == 0 {
			first, firstDurs = append(first, xy), append(firstDurs, c.dur)
		} else {
			later, laterDurs = append(later, xy), append(laterDurs, c.dur)
		}
	}
	p := plot.New()
	p.Title.Text = name
	p.X.Label.Text = "time since the run started (s)"
	p.Y.Label.Text = "latency (ms)"
	p.Add(plotter.NewGrid())
	dots := func(xys plotter.XYs, c color.Color, r vg.Length, label string) error {
		if len(xys) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: r, Color: c}
		p.Add(s)
		p.Legend.Add(label, s)
		return nil
	}
	if err := dots(later, color.RGBA{R: 90, G: 110, B: 150, A: 255}, vg.Points(0.9), "later calls"); err != nil {
		return "", err
	}
	if err := dots(first, color.RGBA{R: 220, G: 110, B: 20, A: 255}, vg.Points(1.8), "each client's first call of the run"); err != nil {
		return "", err
	}
	if line := windowP99(calls); len(line) > 1 {
		l, err := plotter.NewLine(line)
		if err != nil {
			return "", err
		}
		l.Color = color.RGBA{R: 200, G: 30, B: 30, A: 255}
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("p99 of each %v", timelineWindow), l)
	}
	p.Legend.Top = true
	p.Y.Min = 0
	if err := p.Save(9*vg.Inch, 4.5*vg.Inch, base+".png"); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: each client's first call %s; later calls %s", filepath.Base(base), summary(firstDurs), summary(laterDurs)), nil
}

// windowP99 returns the p99 of the latencies of the calls (sorted by when
// they ended) that ended in each timelineWindow, at the window's middle.
func windowP99(calls []call) plotter.XYs {
	var out plotter.XYs
	for i := 0; i < len(calls); {
		w := calls[i].end / timelineWindow
		j := i
		var durs []time.Duration
		for ; j < len(calls) && calls[j].end/timelineWindow == w; j++ {
			durs = append(durs, calls[j].dur)
		}
		slices.Sort(durs)
		mid := (time.Duration(w)*timelineWindow + timelineWindow/2).Seconds()
		out = append(out, plotter.XY{X: mid, Y: float64(percentile(durs, 0.99)) / float64(time.Millisecond)})
		i = j
	}
	return out
}

// summary returns how many durs there are, and their p50 and p99.
func summary(durs []time.Duration) string {
	if len(durs) == 0 {
		return "none"
	}
	durs = slices.Clone(durs)
	slices.Sort(durs)
	return fmt.Sprintf("%d, p50 %s ms, p99 %s ms", len(durs), ms(percentile(durs, 0.5)), ms(percentile(durs, 0.99)))
}

// ms formats d in milliseconds to the microsecond.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func TestWriteTimeline(t *testing.T) {
	// Two clients of 100 calls each, 10 ms apart: each client's first
	// call took 50 ms, its 61st 90 ms, and the others 5 ms.
	var calls []call
	for g := range 2 {
		for n := range 100 {
			c := call{end: time.Duration(n+1) * 10 * time.Millisecond, dur: 5 * time.Millisecond, client: g, nth: n}
			switch {
			case n == 0:
				c.dur = 50 * time.Millisecond
			case n == 60:
				c.dur = 90 * time.Millisecond
			}
			calls = append(calls, c)
		}
	}
	dir := t.TempDir()
	sum, err := writeTimeline(dir, "BenchmarkX/sqlite/clients=2-2", calls)
	if err != nil {
		t.Fatal(err)
	}
	if want := "BenchmarkX_sqlite_clients=2-2: each client's first call 2, p50 50.000 ms, p99 50.000 ms; later calls 198, p50 5.000 ms, p99 5.000 ms"; sum != want {
		t.Errorf("summary\n got %s\nwant %s", sum, want)
	}

	f, err := os.Open(filepath.Join(dir, "BenchmarkX_sqlite_clients=2-2.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 201 || !slices.Equal(rows[0], []string{"end_ms", "latency_ms", "client", "nth"}) {
		t.Fatalf("csv: %d rows, header %v", len(rows), rows[0])
	}
	// In the order the calls ended, and then the order they were made.
	for i, want := range [][]string{{"10.000", "50.000", "0", "0"}, {"10.000", "50.000", "1", "0"}, {"20.000", "5.000", "0", "1"}} {
		if !slices.Equal(rows[1+i], want) {
			t.Errorf("row %d = %v, want %v", 1+i, rows[1+i], want)
		}
	}
	var slow [][]string
	for _, r := range rows[1:] {
		if r[1] == "90.000" {
			slow = append(slow, r)
		}
	}
	if len(slow) != 2 || !slices.Equal(slow[0], []string{"610.000", "90.000", "0", "60"}) || !slices.Equal(slow[1], []string{"610.000", "90.000", "1", "60"}) {
		t.Errorf("slow calls' rows %v", slow)
	}

	// The p99 of each window is 5 ms but in the first (the cold calls)
	// and the one the slow calls ended in.
	slices.SortStableFunc(calls, func(a, b call) int { return int(a.end - b.end) })
	line := windowP99(calls)
	if len(line) != 11 {
		t.Fatalf("p99 line has %d points, want 11 (0 to 1.0 s)", len(line))
	}
	for _, xy := range line {
		want := 5.0
		switch xy.X {
		case 0.05:
			want = 50
		case 0.65:
			want = 90
		}
		if xy.Y != want {
			t.Errorf("p99 of the window at %.2f s = %v ms, want %v", xy.X, xy.Y, want)
		}
	}

	pf, err := os.Open(filepath.Join(dir, "BenchmarkX_sqlite_clients=2-2.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	cfg, err := png.DecodeConfig(pf)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width < 600 || cfg.Height < 300 {
		t.Errorf("plot is %dx%d", cfg.Width, cfg.Height)
	}
}
