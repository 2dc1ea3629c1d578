package genius

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// RealSteps is the number of intervals a real issue is cut into when its
// file gives no step: the grid has RealSteps+1 points, both bounds
// included. GENIUS itself uses 21 points to enumerate real issues.
const RealSteps = 20

// ReadDomain reads a GENIUS domain: a <negotiation_template> document whose
// <utility_space> holds an <objective> with one <issue> per issue. Errors
// are *ParseError values.
func ReadDomain(r io.Reader) (*outcome.Space, error) {
	root, err := parseXML(r)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(root.name, "negotiation_template") {
		hint := ""
		if strings.EqualFold(root.name, "utility_space") {
			hint = " (this is a profile)"
		}
		return nil, root.errorf(ErrFormat, "root element is <%s>, want <negotiation_template>%s", root.name, hint)
	}
	us := root.first("utility_space")
	if us == nil {
		return nil, root.errorf(ErrFormat, "no <utility_space>")
	}
	obj := us.first("objective")
	if obj == nil {
		return nil, us.errorf(ErrFormat, "no <objective>")
	}
	decl, err := readIssues(obj)
	if err != nil {
		return nil, err
	}
	return declSpace(obj, decl)
}

// declIssue is an issue as a file declares it.
type declIssue struct {
	el    *element
	index int64 // the index attribute, which weights and bounds refer to
	issue outcome.Issue
}

// readIssues reads the <issue> children of an objective.
func readIssues(obj *element) ([]declIssue, error) {
	if sub := obj.first("objective"); sub != nil {
		return nil, sub.errorf(ErrUnsupported, "nested objectives")
	}
	var out []declIssue
	seen := make(map[int64]bool)
	for _, el := range obj.all("issue") {
		d, err := readIssue(el)
		if err != nil {
			return nil, err
		}
		if seen[d.index] {
			return nil, el.errorf(ErrFormat, "two issues have index %d", d.index)
		}
		seen[d.index] = true
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, obj.errorf(ErrFormat, "no <issue>")
	}
	return out, nil
}

func readIssue(el *element) (declIssue, error) {
	name, ok := el.attr("name")
	if !ok {
		return declIssue{}, el.errorf(ErrFormat, "missing attribute name")
	}
	index, err := el.int("index")
	if err != nil {
		return declIssue{}, err
	}
	// GENIUS prefers vtype and falls back to type; no type means discrete.
	kind, _ := el.attr("vtype")
	if kind == "" {
		kind, _ = el.attr("type")
	}
	is := outcome.Issue{Name: name}
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "", "discrete":
		is.Kind = outcome.Discrete
		for _, item := range el.all("item") {
			v, ok := item.attr("value")
			if !ok {
				return declIssue{}, item.errorf(ErrFormat, "missing attribute value")
			}
			is.Values = append(is.Values, v)
		}
	case "integer":
		is.Kind = outcome.Integer
		if is.Lower, is.Upper, err = bounds(el, (*element).int); err != nil {
			return declIssue{}, err
		}
	case "real":
		is.Kind = outcome.Real
		if is.Low, is.High, err = bounds(el, (*element).float); err != nil {
			return declIssue{}, err
		}
		is.Step = (is.High - is.Low) / RealSteps
		if is.Step == 0 {
			is.Step = 1
		}
		if is.Step, err = el.floatOr("step", is.Step); err != nil {
			return declIssue{}, err
		}
	default:
		return declIssue{}, el.errorf(ErrUnsupported, "issue %q has type %q", name, kind)
	}
	if err := checkIssue(is); err != nil {
		return declIssue{}, &ParseError{Line: el.line, Err: err}
	}
	return declIssue{el: el, index: index, issue: is}, nil
}

// bounds reads lowerbound and upperbound from the issue element, as GENIUS
// writes integer issues, or from a <range> child, as it writes real ones.
func bounds[T int64 | float64](el *element, get func(*element, string) (T, error)) (lo, hi T, err error) {
	src := el
	if _, ok := el.attr("lowerbound"); !ok {
		if rg := el.first("range"); rg != nil {
			src = rg
		}
	}
	if lo, err = get(src, "lowerbound"); err != nil {
		return 0, 0, err
	}
	if hi, err = get(src, "upperbound"); err != nil {
		return 0, 0, err
	}
	if rg := el.first("range"); rg != nil && src == el {
		rlo, err1 := get(rg, "lowerbound")
		rhi, err2 := get(rg, "upperbound")
		if err1 == nil && err2 == nil && (rlo != lo || rhi != hi) {
			return 0, 0, rg.errorf(ErrFormat, "range %v..%v disagrees with issue bounds %v..%v", rlo, rhi, lo, hi)
		}
	}
	return lo, hi, nil
}

// checkIssue validates an issue and refuses one too large to evaluate.
func checkIssue(is outcome.Issue) error {
	if err := is.Validate(); err != nil {
		return err
	}
	if n := is.Len(); n > MaxValues {
		return fmt.Errorf("%w: issue %q has %d values, more than %d", ErrTooLarge, is.Name, n, MaxValues)
	}
	return nil
}

// declSpace builds the outcome space of declared issues.
func declSpace(obj *element, decl []declIssue) (*outcome.Space, error) {
	name, _ := obj.attr("name")
	s := &outcome.Space{Name: name}
	for _, d := range decl {
		if s.IssueIndex(d.issue.Name) >= 0 {
			return nil, d.el.errorf(ErrFormat, "two issues are named %q", d.issue.Name)
		}
		s.Issues = append(s.Issues, d.issue)
	}
	if err := s.Validate(); err != nil {
		return nil, &ParseError{Line: obj.line, Err: err}
	}
	return s, nil
}

// ReadProfile reads a GENIUS profile: a <utility_space> document. A linear
// additive profile gives a *utility.LinearAdditive; an ANAC 2014 nonlinear
// one (type="nonlinear") gives a *utility.HyperRectangle. The profile is
// checked against space; if space is nil, it is built from the issues the
// profile declares. Errors are *ParseError values.
func ReadProfile(r io.Reader, space *outcome.Space) (*utility.Profile, error) {
	root, err := parseXML(r)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(root.name, "utility_space") {
		hint := ""
		if strings.EqualFold(root.name, "negotiation_template") {
			hint = " (this is a domain)"
		}
		return nil, root.errorf(ErrFormat, "root element is <%s>, want <utility_space>%s", root.name, hint)
	}
	obj := root.first("objective")
	if obj == nil {
		return nil, root.errorf(ErrFormat, "no <objective>")
	}
	decl, err := readIssues(obj)
	if err != nil {
		return nil, err
	}
	if space == nil {
		if space, err = declSpace(obj, decl); err != nil {
			return nil, err
		}
	}
	byPos, err := matchIssues(space, obj, decl)
	if err != nil {
		return nil, err
	}
	p := &utility.Profile{Discount: 1}
	if el := root.first("reservation"); el != nil {
		if p.Reserved, err = el.float("value"); err != nil {
			return nil, err
		}
	}
	if el := root.first("discount_factor"); el != nil {
		d, err := el.float("value")
		if err != nil {
			return nil, err
		}
		if d < 0 {
			return nil, el.errorf(ErrInvalid, "negative discount factor %g", d)
		}
		if d > 0 && d < 1 {
			p.Discount = d
		}
	}
	typ, _ := root.attr("type")
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "", "linear", "additive":
		p.Func, err = readAdditive(space, obj, byPos)
	case "nonlinear":
		p.Func, err = readNonlinear(space, root, obj, byPos)
	default:
		err = root.errorf(ErrUnsupported, "utility space type %q", typ)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// matchIssues finds, for each issue of space, the issue the profile
// declares for it, by name. Every issue must be declared once, with the
// same kind and bounds.
func matchIssues(space *outcome.Space, obj *element, decl []declIssue) ([]*declIssue, error) {
	byPos := make([]*declIssue, len(space.Issues))
	for k := range decl {
		d := &decl[k]
		i := space.IssueIndex(d.issue.Name)
		if i < 0 {
			// Tolerate stray blanks around a name, as in SmartPhone.
			for j, is := range space.Issues {
				if strings.TrimSpace(is.Name) == strings.TrimSpace(d.issue.Name) {
					i = j
					break
				}
			}
		}
		if i < 0 {
			return nil, &ParseError{Line: d.el.line, Err: fmt.Errorf("%w: %w: %q", ErrMismatch, outcome.ErrUnknownIssue, d.issue.Name)}
		}
		if byPos[i] != nil {
			return nil, d.el.errorf(ErrMismatch, "issue %q is declared twice", space.Issues[i].Name)
		}
		is := space.Issues[i]
		if d.issue.Kind != is.Kind {
			return nil, d.el.errorf(ErrMismatch, "issue %q is %s in the profile, %s in the domain", is.Name, d.issue.Kind, is.Kind)
		}
		switch is.Kind {
		case outcome.Integer:
			if d.issue.Lower != is.Lower || d.issue.Upper != is.Upper {
				return nil, d.el.errorf(ErrMismatch, "issue %q has bounds %d..%d in the profile, %d..%d in the domain", is.Name, d.issue.Lower, d.issue.Upper, is.Lower, is.Upper)
			}
		case outcome.Real:
			if d.issue.Low != is.Low || d.issue.High != is.High {
				return nil, d.el.errorf(ErrMismatch, "issue %q has bounds %g..%g in the profile, %g..%g in the domain", is.Name, d.issue.Low, d.issue.High, is.Low, is.High)
			}
		}
		byPos[i] = d
	}
	for i, d := range byPos {
		if d == nil {
			return nil, obj.errorf(ErrMismatch, "no evaluator for issue %q", space.Issues[i].Name)
		}
	}
	return byPos, nil
}

// readAdditive reads the weights and evaluators of a linear additive profile.
func readAdditive(space *outcome.Space, obj *element, byPos []*declIssue) (utility.Func, error) {
	type weight struct {
		value float64
		el    *element
	}
	weights := make(map[int64]weight)
	for _, el := range obj.all("weight") {
		idx, err := el.int("index")
		if err != nil {
			return nil, err
		}
		w, err := el.float("value")
		if err != nil {
			return nil, err
		}
		if w < 0 {
			return nil, el.errorf(ErrInvalid, "negative weight %g", w)
		}
		if _, dup := weights[idx]; dup {
			return nil, el.errorf(ErrFormat, "two weights for issue index %d", idx)
		}
		weights[idx] = weight{w, el}
	}
	ws := make([]float64, len(space.Issues))
	evs := make([]utility.Evaluator, len(space.Issues))
	for i, d := range byPos {
		w, ok := weights[d.index]
		if !ok {
			return nil, d.el.errorf(ErrFormat, "issue %q (index %d) has no weight", space.Issues[i].Name, d.index)
		}
		delete(weights, d.index)
		ws[i] = w.value
		ev, err := readEvaluator(space.Issues[i], d.el)
		if err != nil {
			return nil, err
		}
		evs[i] = ev
	}
	for idx, w := range weights {
		return nil, w.el.errorf(ErrFormat, "weight for issue index %d, which no issue has", idx)
	}
	f, err := utility.NewLinearAdditive(space, ws, evs)
	if err != nil {
		return nil, &ParseError{Line: obj.line, Err: err}
	}
	if err := checkTerms(f); err != nil {
		return nil, &ParseError{Line: obj.line, Err: err}
	}
	return f, nil
}

// readEvaluator reads how a profile evaluates one issue of the domain.
func readEvaluator(is outcome.Issue, el *element) (utility.Evaluator, error) {
	if is.Kind == outcome.Discrete {
		evals := make([]float64, is.Len())
		have := make([]bool, is.Len())
		for _, item := range el.all("item") {
			v, _ := item.attr("value")
			k, err := valueIndex(is, v)
			if err != nil {
				return nil, &ParseError{Line: item.line, Err: fmt.Errorf("%w: %w", ErrMismatch, err)}
			}
			if have[k] {
				return nil, item.errorf(ErrFormat, "issue %q evaluates value %q twice", is.Name, v)
			}
			e, err := item.float("evaluation")
			if err != nil {
				return nil, err
			}
			if e < 0 {
				return nil, item.errorf(ErrInvalid, "issue %q value %q has negative evaluation %g", is.Name, v, e)
			}
			evals[k], have[k] = e, true
		}
		for k, ok := range have {
			if !ok {
				return nil, el.errorf(ErrMismatch, "issue %q has no evaluation for value %q", is.Name, is.Values[k])
			}
		}
		return utility.Discrete{Evals: evals}, nil
	}
	ev := el.first("evaluator")
	if ev == nil {
		return nil, el.errorf(ErrFormat, "issue %q has no <evaluator>", is.Name)
	}
	ftype, _ := ev.attr("ftype")
	ftype = strings.ToLower(strings.TrimSpace(ftype))
	if is.Kind == outcome.Integer {
		// GENIUS's EvaluatorInteger knows only the linear form.
		if ftype != "" && ftype != "linear" {
			return nil, ev.errorf(ErrUnsupported, "integer issue %q has evaluator type %q", is.Name, ftype)
		}
		slope, err := ev.float("slope")
		if err != nil {
			return nil, err
		}
		offset, err := ev.float("offset")
		if err != nil {
			return nil, err
		}
		return utility.Linear{Slope: slope, Offset: offset}, nil
	}
	// EvaluatorReal: parameter0, parameter1, ... whose meaning depends on
	// ftype. Its linear form is in x itself, not x − lower bound.
	var p [4]float64
	n := map[string]int{"linear": 2, "constant": 1, "triangular": 3, "triangular_variable_top": 4}[ftype]
	if n == 0 {
		return nil, ev.errorf(ErrUnsupported, "real issue %q has evaluator type %q", is.Name, ftype)
	}
	for k := range n {
		var err error
		if p[k], err = ev.float(fmt.Sprintf("parameter%d", k)); err != nil {
			return nil, err
		}
	}
	switch ftype {
	case "linear":
		return utility.Linear{Slope: p[1], Offset: p[0] + p[1]*is.Low}, nil
	case "constant":
		if p[0] < 0 {
			return nil, ev.errorf(ErrUnsupported, "real issue %q has negative constant evaluation %g", is.Name, p[0])
		}
		return utility.Ramp{LowValue: is.Low, LowUtility: p[0], HighValue: is.High, HighUtility: p[0]}, nil
	case "triangular":
		p[3] = 1
	}
	return utility.Triangular{Low: p[0], High: p[1], Top: p[2], TopUtility: p[3]}, nil
}

// valueIndex finds a value of a discrete issue, tolerating stray blanks.
func valueIndex(is outcome.Issue, v string) (int, error) {
	k, err := is.Index(v)
	if err == nil {
		return k, nil
	}
	for j, w := range is.Values {
		if strings.TrimSpace(w) == strings.TrimSpace(v) {
			return j, nil
		}
	}
	return 0, err
}

// readNonlinear reads an ANAC 2014 hyper-rectangle profile:
//
//	<utility maxutility="M"><ufun aggregation="sum" weight="1">
//	  <hyperRectangle utility="u"><INCLUDES index="i" min="a" max="b"/>...
//
// INCLUDES refers to the issue whose index attribute is i, and a..b are
// values of that integer issue.
func readNonlinear(space *outcome.Space, root, obj *element, byPos []*declIssue) (utility.Func, error) {
	u := obj.first("utility")
	if u == nil {
		u = root.first("utility")
	}
	if u == nil {
		return nil, obj.errorf(ErrFormat, "nonlinear profile has no <utility>")
	}
	maxu, err := u.float("maxutility")
	if err != nil {
		return nil, err
	}
	ufuns := u.all("ufun")
	if len(ufuns) != 1 {
		return nil, u.errorf(ErrUnsupported, "%d <ufun> elements, want 1", len(ufuns))
	}
	uf := ufuns[0]
	if agg, _ := uf.attr("aggregation"); !strings.EqualFold(strings.TrimSpace(agg), "sum") {
		return nil, uf.errorf(ErrUnsupported, "aggregation %q, want sum", agg)
	}
	if w, err := uf.floatOr("weight", 1); err != nil {
		return nil, err
	} else if w != 1 {
		return nil, uf.errorf(ErrUnsupported, "ufun weight %g, want 1", w)
	}
	pos := make(map[int64]int, len(byPos))
	for i, d := range byPos {
		pos[d.index] = i
	}
	var rects []utility.Rectangle
	for _, c := range uf.children {
		if !strings.EqualFold(c.name, "hyperRectangle") {
			return nil, c.errorf(ErrUnsupported, "ufun element <%s>", c.name)
		}
		r, err := readRectangle(space, c, pos)
		if err != nil {
			return nil, err
		}
		rects = append(rects, r)
	}
	f, err := utility.NewHyperRectangle(space, maxu, rects)
	if err != nil {
		return nil, &ParseError{Line: u.line, Err: err}
	}
	return f, nil
}

func readRectangle(space *outcome.Space, el *element, pos map[int64]int) (utility.Rectangle, error) {
	var r utility.Rectangle
	util, err := el.float("utility")
	if err != nil {
		return r, err
	}
	w, err := el.floatOr("weight", 1)
	if err != nil {
		return r, err
	}
	r.Utility = util * w
	if math.IsInf(r.Utility, 0) {
		return r, el.errorf(ErrInvalid, "utility %g times weight %g overflows", util, w)
	}
	for _, c := range el.children {
		if !strings.EqualFold(c.name, "INCLUDES") {
			return r, c.errorf(ErrUnsupported, "hyper-rectangle bound <%s>", c.name)
		}
		idx, err := c.int("index")
		if err != nil {
			return r, err
		}
		i, ok := pos[idx]
		if !ok {
			return r, c.errorf(ErrFormat, "no issue has index %d", idx)
		}
		is := space.Issues[i]
		if is.Kind != outcome.Integer {
			return r, c.errorf(ErrUnsupported, "bound on %s issue %q", is.Kind, is.Name)
		}
		lo, err := c.int("min")
		if err != nil {
			return r, err
		}
		hi, err := c.int("max")
		if err != nil {
			return r, err
		}
		if lo > hi || lo < is.Lower || hi > is.Upper {
			return r, c.errorf(ErrInvalid, "bound %d..%d on issue %q with values %d..%d", lo, hi, is.Name, is.Lower, is.Upper)
		}
		r.Ranges = append(r.Ranges, utility.Range{Issue: i, Min: int(lo - is.Lower), Max: int(hi - is.Lower)})
	}
	return r, nil
}

// checkTerms refuses a function whose weighted terms or total overflow.
func checkTerms(f utility.Additive) error {
	sum := 0.0
	for i, term := range f.Terms() {
		m := 0.0
		for _, t := range term {
			if math.IsNaN(t) || math.IsInf(t, 0) {
				return fmt.Errorf("%w: issue %q contributes %g", ErrInvalid, f.Space().Issues[i].Name, t)
			}
			m = math.Max(m, math.Abs(t))
		}
		sum += m
	}
	if math.IsInf(sum, 0) {
		return fmt.Errorf("%w: utilities overflow", ErrInvalid)
	}
	return nil
}
