package main

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/backchannel/backchannel/analysis"
	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/tournament"
	"github.com/backchannel/backchannel/utility"
)

// cloudMax is the most outcomes drawn in the cloud; larger spaces are
// sampled uniformly with a fixed seed, so the same domain gives the same
// picture.
const cloudMax = 50_000

// plotSpace draws the utility space of the first two parties: every
// outcome as a light cloud, the Pareto frontier, the reserved values and
// the named points. With more than two parties it draws the projection on
// the first two.
func plotSpace(file string, sc *genius.Scenario, res *analysis.Result, draft *draftResult) error {
	names := partyNames(sc)
	if len(names) < 2 {
		return fmt.Errorf("a plot needs two parties, %s has %d", sc.DomainFile, len(names))
	}
	u0, u1 := sc.Profiles[0].Func, sc.Profiles[1].Func

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s outcomes", domainName(sc), groupDigits(res.Outcomes.String()))
	if len(names) > 2 {
		p.Title.Text += fmt.Sprintf(" (first 2 of %d parties)", len(names))
	}
	p.X.Label.Text = "utility of " + names[0]
	p.Y.Label.Text = "utility of " + names[1]
	p.Add(plotter.NewGrid())

	var cloud plotter.XYs
	sample(sc.Space, cloudMax, func(o outcome.Outcome) {
		cloud = append(cloud, plotter.XY{X: u0.Utility(o), Y: u1.Utility(o)})
	})
	sc0, err := plotter.NewScatter(cloud)
	if err != nil {
		return err
	}
	sc0.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(0.8), Color: color.RGBA{R: 190, G: 198, B: 212, A: 255}}
	p.Add(sc0)
	label := "outcomes"
	if n, ok := sc.Space.Size(); !ok || n > cloudMax {
		label = fmt.Sprintf("outcomes (%s sampled)", groupDigits(strconv.Itoa(len(cloud))))
	}
	p.Legend.Add(label, sc0)

	lo0, hi0, lo1, hi1 := bounds(cloud)
	rv0, rv1 := res.Reserved[0], res.Reserved[1]
	dashed := func(xys plotter.XYs) (*plotter.Line, error) {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{R: 200, G: 60, B: 40, A: 255}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		return l, nil
	}
	vline, err := dashed(plotter.XYs{{X: rv0, Y: math.Min(lo1, rv1)}, {X: rv0, Y: math.Max(hi1, 1)}})
	if err != nil {
		return err
	}
	hline, err := dashed(plotter.XYs{{X: math.Min(lo0, rv0), Y: rv1}, {X: math.Max(hi0, 1), Y: rv1}})
	if err != nil {
		return err
	}
	p.Add(vline, hline)
	p.Legend.Add("reserved values", vline)

	if len(res.Frontier) > 0 {
		front := make(plotter.XYs, len(res.Frontier))
		for i, pt := range res.Frontier {
			front[i] = plotter.XY{X: pt.Utilities[0], Y: pt.Utilities[1]}
		}
		line, points, err := plotter.NewLinePoints(front)
		if err != nil {
			return err
		}
		frontColor := color.RGBA{R: 30, G: 90, B: 200, A: 255}
		line.Color = frontColor
		line.Width = vg.Points(1.2)
		points.Color = frontColor
		points.Shape = draw.CircleGlyph{}
		points.Radius = vg.Points(2)
		if len(names) > 2 {
			// A projected n-party frontier is not a curve in two dimensions.
			p.Add(points)
		} else {
			p.Add(line, points)
		}
		p.Legend.Add(fmt.Sprintf("Pareto frontier (%d)", len(res.Frontier)), line, points)
	}

	named := []struct {
		name  string
		pt    *analysis.Point
		shape draw.GlyphDrawer
		color color.Color
	}{
		{"Nash", res.Nash, draw.BoxGlyph{}, color.RGBA{R: 220, G: 40, B: 40, A: 255}},
		{"Kalai-Smorodinsky", res.KalaiSmorodinsky, draw.TriangleGlyph{}, color.RGBA{G: 150, B: 60, A: 255}},
		{"egalitarian", res.Egalitarian, draw.PyramidGlyph{}, color.RGBA{R: 150, B: 170, A: 255}},
		{"max welfare", res.MaxWelfare, draw.CrossGlyph{}, color.RGBA{R: 20, G: 20, B: 20, A: 255}},
	}
	if draft != nil {
		named = append(named, struct {
			name  string
			pt    *analysis.Point
			shape draw.GlyphDrawer
			color color.Color
		}{"draft", &analysis.Point{Outcome: draft.Outcome, Utilities: draft.Utilities}, draw.RingGlyph{}, color.RGBA{R: 230, G: 120, A: 255}})
		if len(draft.Dominating) > 0 {
			best := draft.Dominating[0]
			arrow, err := plotter.NewLine(plotter.XYs{{X: draft.Utilities[0], Y: draft.Utilities[1]}, {X: best.Utilities[0], Y: best.Utilities[1]}})
			if err != nil {
				return err
			}
			arrow.Color = color.RGBA{R: 230, G: 120, A: 255}
			arrow.Width = vg.Points(1.5)
			p.Add(arrow)
			p.Legend.Add("best improvement on the draft", arrow)
		}
	}
	for k, np := range named {
		if np.pt == nil {
			continue
		}
		s, err := plotter.NewScatter(plotter.XYs{{X: np.pt.Utilities[0], Y: np.pt.Utilities[1]}})
		if err != nil {
			return err
		}
		// Points often coincide: shrink each next glyph so all stay visible.
		s.GlyphStyle = draw.GlyphStyle{Shape: np.shape, Color: np.color, Radius: vg.Points(max(7-1.2*float64(k), 4))}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%.3f, %.3f)", np.name, np.pt.Utilities[0], np.pt.Utilities[1]), s)
	}
	if !res.ZOPA {
		p.Title.Text += ": no ZOPA"
	}
	p.Legend.Left = true
	p.Legend.Top = false
	p.Legend.YOffs = vg.Points(4)
	p.Legend.XOffs = vg.Points(4)
	return p.Save(7*vg.Inch, 6*vg.Inch, file)
}

// sample calls fn with every outcome of s if it has at most max outcomes,
// and otherwise with max outcomes drawn uniformly at random (fixed seed).
func sample(s *outcome.Space, max int, fn func(outcome.Outcome)) {
	if n, ok := s.Size(); ok && n <= uint64(max) {
		for o := range s.All() {
			fn(o)
		}
		return
	}
	r := rand.New(rand.NewPCG(1, 2))
	o := make(outcome.Outcome, len(s.Issues))
	for range max {
		for i, is := range s.Issues {
			o[i] = r.IntN(is.Len())
		}
		fn(o)
	}
}

func bounds(xys plotter.XYs) (lo0, hi0, lo1, hi1 float64) {
	lo0, lo1 = math.Inf(1), math.Inf(1)
	hi0, hi1 = math.Inf(-1), math.Inf(-1)
	for _, p := range xys {
		lo0, hi0 = math.Min(lo0, p.X), math.Max(hi0, p.X)
		lo1, hi1 = math.Min(lo1, p.Y), math.Max(hi1, p.Y)
	}
	return lo0, hi0, lo1, hi1
}

// partyColors are the colours of the parties' offers, in party order.
var partyColors = []color.Color{
	color.RGBA{R: 30, G: 110, B: 220, A: 255},
	color.RGBA{R: 235, G: 120, B: 20, A: 255},
	color.RGBA{G: 150, B: 80, A: 255},
	color.RGBA{R: 160, G: 40, B: 170, A: 255},
}

// plotNegotiation draws a negotiation in the utility space of the first
// two parties: the outcomes as a light cloud, the Pareto frontier of those
// two parties, each party's offers (the first ringed), and the agreement.
func plotNegotiation(ctx context.Context, file string, sc *genius.Scenario, res *mechanism.Result, parties []string) error {
	u0, u1 := sc.Profiles[0].Func, sc.Profiles[1].Func
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s, %s", domainName(sc), strings.Join(parties, " vs "), res.Reason)
	if len(parties) > 2 {
		p.Title.Text += fmt.Sprintf(" (first 2 of %d parties)", len(parties))
	}
	p.X.Label.Text = "utility of " + parties[0] + " (" + sc.Profiles[0].Name + ")"
	p.Y.Label.Text = "utility of " + parties[1] + " (" + sc.Profiles[1].Name + ")"
	p.Add(plotter.NewGrid())

	var cloud plotter.XYs
	sample(sc.Space, cloudMax/5, func(o outcome.Outcome) {
		cloud = append(cloud, plotter.XY{X: u0.Utility(o), Y: u1.Utility(o)})
	})
	sc0, err := plotter.NewScatter(cloud)
	if err != nil {
		return err
	}
	sc0.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(0.8), Color: color.RGBA{R: 205, G: 210, B: 222, A: 255}}
	p.Add(sc0)
	p.Legend.Add("outcomes", sc0)

	front, err := analysis.Frontier(ctx, []utility.Func{u0, u1}, []float64{sc.Profiles[0].Reserved, sc.Profiles[1].Reserved}, analysis.Options{})
	if err != nil {
		return err
	}
	if len(front) > 0 {
		xys := make(plotter.XYs, len(front))
		for i, pt := range front {
			xys[i] = plotter.XY{X: pt.Utilities[0], Y: pt.Utilities[1]}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		line.Color = color.RGBA{R: 60, G: 60, B: 60, A: 255}
		line.Width = vg.Points(1)
		line.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("Pareto frontier (%d)", len(front)), line)
	}

	offers := make([]plotter.XYs, len(parties))
	for _, e := range res.Trace {
		if e.Kind == mechanism.Offer && len(e.Utilities) >= 2 {
			offers[e.Party] = append(offers[e.Party], plotter.XY{X: e.Utilities[0], Y: e.Utilities[1]})
		}
	}
	for i, xys := range offers {
		if len(xys) == 0 {
			continue
		}
		c := partyColors[i%len(partyColors)]
		points, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		points.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(1.6), Color: c}
		first, err := plotter.NewScatter(xys[:1])
		if err != nil {
			return err
		}
		first.GlyphStyle = draw.GlyphStyle{Shape: draw.RingGlyph{}, Radius: vg.Points(5), Color: c}
		p.Add(points, first)
		p.Legend.Add(fmt.Sprintf("offers of %s (%d, the first ringed)", parties[i], len(xys)), points)
	}

	if res.Agreement != nil {
		a, err := plotter.NewScatter(plotter.XYs{{X: u0.Utility(res.Agreement), Y: u1.Utility(res.Agreement)}})
		if err != nil {
			return err
		}
		a.GlyphStyle = draw.GlyphStyle{Shape: draw.BoxGlyph{}, Radius: vg.Points(6), Color: color.RGBA{R: 220, G: 30, B: 30, A: 255}}
		p.Add(a)
		p.Legend.Add(fmt.Sprintf("agreement (%.3f, %.3f) at t = %.3f", u0.Utility(res.Agreement), u1.Utility(res.Agreement), res.Time), a)
	}
	p.Legend.Left = true
	p.Legend.Top = false
	p.Legend.YOffs = vg.Points(4)
	p.Legend.XOffs = vg.Points(4)
	return p.Save(7*vg.Inch, 6*vg.Inch, file)
}

// plotScores draws each agent's mean normalised score as a bar, best
// first, with the standard error of the mean as error bars.
func plotScores(file string, res *tournament.Result) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Tournament: %d negotiations", res.Negotiations)
	p.Y.Label.Text = "mean normalised score ± s.e."
	p.Add(plotter.NewGrid())
	n := len(res.Agents)
	scores := make(plotter.Values, n)
	errs := make(scoreErrors, n)
	names := make([]string, n)
	for i, s := range res.Agents {
		scores[i] = zeroNaN(s.Score.Mean)
		errs[i].XY = plotter.XY{X: float64(i), Y: scores[i]}
		errs[i].se = zeroNaN(s.Score.SE)
		names[i] = s.Agent
	}
	bars, err := plotter.NewBarChart(scores, vg.Points(28))
	if err != nil {
		return err
	}
	bars.Color = partyColors[0]
	bars.LineStyle.Width = 0
	eb, err := plotter.NewYErrorBars(errs)
	if err != nil {
		return err
	}
	eb.LineStyle.Width = vg.Points(1.2)
	eb.CapWidth = vg.Points(10)
	p.Add(bars, eb)
	p.NominalX(names...)
	p.Y.Min = math.Min(0, p.Y.Min)
	width := vg.Length(max(4, 1+0.8*float64(n))) * vg.Inch
	return p.Save(width, 4*vg.Inch, file)
}

// scoreErrors are bar tops with their standard errors, for YErrorBars.
type scoreErrors []struct {
	plotter.XY
	se float64
}

func (s scoreErrors) Len() int                        { return len(s) }
func (s scoreErrors) XY(i int) (float64, float64)     { return s[i].X, s[i].Y }
func (s scoreErrors) YError(i int) (float64, float64) { return s[i].se, s[i].se }

func zeroNaN(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}
