package genius

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// WriteDomain writes s as a GENIUS <negotiation_template>. Real issues get
// their bounds both as attributes and as a <range> child (GENIUS reads the
// latter), plus a step attribute that GENIUS ignores and ReadDomain uses.
func WriteDomain(w io.Writer, s *outcome.Space) error {
	if err := s.Validate(); err != nil {
		return err
	}
	x := new(xmlWriter)
	x.line("<negotiation_template>")
	x.line(`<utility_space number_of_issues="%d">`, len(s.Issues))
	x.objective(s)
	for i, is := range s.Issues {
		x.issueOpen(i, is)
		if is.Kind == outcome.Discrete {
			for k, v := range is.Values {
				x.line(`    <item index="%d" value="%s"/>`, k+1, x.esc(v))
			}
		}
		x.line("  </issue>")
	}
	x.line("</objective>")
	x.line("</utility_space>")
	x.line("</negotiation_template>")
	return x.flush(w)
}

// WriteProfile writes p as a GENIUS <utility_space>. A linear additive
// function keeps its evaluators where GENIUS has the same form; any other
// Additive function is written from its terms, which works when each
// discrete term is non-negative and each numeric term is linear in the
// value. A *utility.HyperRectangle on integer issues is written in the
// ANAC 2014 nonlinear form. Other functions return ErrUnsupported.
//
// A utility.Scores evaluator whose largest entry m is below 1 is written
// with weight·m and the entries as they are, so that GENIUS's division by
// the largest evaluation gives back the same function.
func WriteProfile(w io.Writer, p *utility.Profile) error {
	if p == nil || p.Func == nil {
		return fmt.Errorf("%w: profile has no utility function", ErrInvalid)
	}
	if math.IsNaN(p.Reserved) || math.IsInf(p.Reserved, 0) {
		return fmt.Errorf("%w: reserved value %g", ErrInvalid, p.Reserved)
	}
	s := p.Space()
	if err := s.Validate(); err != nil {
		return err
	}
	x := new(xmlWriter)
	switch f := p.Func.(type) {
	case *utility.HyperRectangle:
		x.line(`<utility_space type="nonlinear">`)
		if err := x.nonlinear(f); err != nil {
			return err
		}
	case utility.Additive:
		x.line("<utility_space>")
		if err := x.additive(f); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: GENIUS XML has no form for %T", ErrUnsupported, p.Func)
	}
	// GENIUS's nonlinear reader takes the objective from the first child,
	// so these come after it.
	x.line(`<reservation value="%s"/>`, ftoa(p.Reserved))
	d := 1.0
	if p.Discount > 0 && p.Discount < 1 {
		d = p.Discount
	}
	x.line(`<discount_factor value="%s"/>`, ftoa(d))
	x.line("</utility_space>")
	return x.flush(w)
}

func (x *xmlWriter) additive(f utility.Additive) error {
	s := f.Space()
	la, _ := f.(*utility.LinearAdditive)
	weights := make([]float64, len(s.Issues))
	x.objective(s)
	for i, is := range s.Issues {
		var ev utility.Evaluator
		w := 0.0
		if la != nil {
			ev, w = la.Evaluators[i], la.Weights[i]
		}
		e, err := xmlEvaluator(is, w, ev, f.Terms()[i])
		if err != nil {
			return err
		}
		weights[i] = e.weight
		x.issueOpen(i, is)
		switch is.Kind {
		case outcome.Discrete:
			for k, v := range is.Values {
				x.line(`    <item index="%d" value="%s" evaluation="%s"/>`, k+1, x.esc(v), ftoa(e.params[k]))
			}
		case outcome.Integer:
			x.line(`    <evaluator ftype="linear" slope="%s" offset="%s"/>`, ftoa(e.params[0]), ftoa(e.params[1]))
		case outcome.Real:
			x.buf.WriteString(`    <evaluator ftype="` + e.ftype + `"`)
			for k, p := range e.params {
				fmt.Fprintf(&x.buf, ` parameter%d="%s"`, k, ftoa(p))
			}
			x.buf.WriteString("/>\n")
		}
		x.line("  </issue>")
	}
	for i, w := range weights {
		x.line(`  <weight index="%d" value="%s"/>`, i+1, ftoa(w))
	}
	x.line("</objective>")
	return x.err
}

// xmlEval is one issue's weight and evaluator in GENIUS terms: evaluations
// per value (discrete), slope and offset (integer), or ftype parameters
// (real).
type xmlEval struct {
	weight float64
	ftype  string
	params []float64
}

// xmlEvaluator finds the GENIUS form of one issue's contribution. ev and w
// are the evaluator and weight if known; terms is the weighted contribution
// of each value, which any fallback reproduces.
func xmlEvaluator(is outcome.Issue, w float64, ev utility.Evaluator, terms []float64) (xmlEval, error) {
	switch e := ev.(type) {
	case utility.Discrete:
		if is.Kind == outcome.Discrete {
			return xmlEval{weight: w, params: e.Evals}, nil
		}
	case utility.Scores:
		if is.Kind == outcome.Discrete {
			return xmlEval{weight: w * slicesMax(e.Utilities), params: e.Utilities}, nil
		}
	case utility.Linear:
		switch is.Kind {
		case outcome.Integer:
			return xmlEval{weight: w, params: []float64{e.Slope, e.Offset}}, nil
		case outcome.Real:
			return xmlEval{weight: w, ftype: "linear", params: []float64{e.Offset - e.Slope*is.Low, e.Slope}}, nil
		}
	case utility.Triangular:
		if is.Kind == outcome.Real {
			if e.TopUtility == 1 {
				return xmlEval{weight: w, ftype: "triangular", params: []float64{e.Low, e.High, e.Top}}, nil
			}
			return xmlEval{weight: w, ftype: "triangular_variable_top", params: []float64{e.Low, e.High, e.Top, e.TopUtility}}, nil
		}
	}
	// Fall back on the terms: weight = largest term, evaluations = terms.
	m := 0.0
	for k, t := range terms {
		if !(t >= 0) || math.IsInf(t, 0) {
			return xmlEval{}, fmt.Errorf("%w: issue %q value %q contributes %g; GENIUS XML needs a non-negative contribution", ErrUnsupported, is.Name, is.Value(k), t)
		}
		m = math.Max(m, t)
	}
	if is.Kind == outcome.Discrete {
		return xmlEval{weight: m, params: terms}, nil
	}
	// A numeric issue needs terms linear in the value: fit the line
	// through the end points and check every point.
	var slope, offset float64
	if m > 0 {
		n := len(terms) - 1
		offset = terms[0] / m
		if n > 0 {
			slope = (terms[n]/m - offset) / (is.Float(n) - is.Float(0))
		}
		for k, t := range terms {
			if y := offset + slope*(is.Float(k)-is.Float(0)); math.Abs(y-t/m) > 1e-12 {
				return xmlEval{}, fmt.Errorf("%w: issue %q is not evaluated linearly, which GENIUS XML needs for a %s issue", ErrUnsupported, is.Name, is.Kind)
			}
		}
	}
	if is.Kind == outcome.Integer {
		return xmlEval{weight: m, params: []float64{slope, offset}}, nil
	}
	return xmlEval{weight: m, ftype: "linear", params: []float64{offset - slope*is.Low, slope}}, nil
}

func (x *xmlWriter) nonlinear(f *utility.HyperRectangle) error {
	s := f.Space()
	x.objective(s)
	for i, is := range s.Issues {
		x.issueOpen(i, is)
		if is.Kind == outcome.Discrete {
			for k, v := range is.Values {
				x.line(`    <item index="%d" value="%s"/>`, k+1, x.esc(v))
			}
		}
		x.line("  </issue>")
	}
	x.line(`  <utility maxutility="%s">`, ftoa(f.Max))
	x.line(`    <ufun type="PlainUfun" weight="1" aggregation="sum">`)
	for _, r := range f.Rectangles {
		x.line(`      <hyperRectangle utility="%s">`, ftoa(r.Utility))
		for _, g := range r.Ranges {
			is := s.Issues[g.Issue]
			if is.Kind != outcome.Integer {
				return fmt.Errorf("%w: GENIUS hyper-rectangles bound only integer issues, not %s issue %q", ErrUnsupported, is.Kind, is.Name)
			}
			x.line(`        <INCLUDES index="%d" min="%d" max="%d"/>`, g.Issue+1, is.Int(g.Min), is.Int(g.Max))
		}
		x.line("      </hyperRectangle>")
	}
	x.line("    </ufun>")
	x.line("  </utility>")
	x.line("</objective>")
	return x.err
}

// xmlWriter builds a document in memory; the first error sticks.
type xmlWriter struct {
	buf bytes.Buffer
	err error
}

func (x *xmlWriter) line(format string, args ...any) {
	fmt.Fprintf(&x.buf, format, args...)
	x.buf.WriteByte('\n')
}

func (x *xmlWriter) objective(s *outcome.Space) {
	x.line(`<objective index="0" etype="objective" type="objective" description="" name="%s">`, x.esc(s.Name))
}

// issueOpen writes the start tag of issue i, numbered i+1 as GENIUS does.
func (x *xmlWriter) issueOpen(i int, is outcome.Issue) {
	k := is.Kind.String()
	fmt.Fprintf(&x.buf, `  <issue index="%d" etype="%s" type="%s" vtype="%s" name="%s"`, i+1, k, k, k, x.esc(is.Name))
	switch is.Kind {
	case outcome.Integer:
		fmt.Fprintf(&x.buf, ` lowerbound="%d" upperbound="%d">`+"\n", is.Lower, is.Upper)
	case outcome.Real:
		lo, hi := ftoa(is.Low), ftoa(is.High)
		fmt.Fprintf(&x.buf, ` lowerbound="%s" upperbound="%s" step="%s">`+"\n", lo, hi, ftoa(is.Step))
		x.line(`    <range lowerbound="%s" upperbound="%s"/>`, lo, hi)
	default:
		x.buf.WriteString(">\n")
	}
}

// esc escapes s for an attribute value. Text XML cannot hold is an error,
// not a silent replacement.
func (x *xmlWriter) esc(s string) string {
	ok := utf8.ValidString(s)
	for _, r := range s {
		ok = ok && xmlChar(r)
	}
	if !ok {
		x.setErr(fmt.Errorf("%w: %q cannot be written in XML", ErrUnsupported, s))
		return ""
	}
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (x *xmlWriter) setErr(err error) {
	if x.err == nil {
		x.err = err
	}
}

func (x *xmlWriter) flush(w io.Writer) error {
	if x.err != nil {
		return x.err
	}
	_, err := w.Write(x.buf.Bytes())
	return err
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// ftoa formats x as the shortest decimal that reads back exactly.
func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func slicesMax(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}
