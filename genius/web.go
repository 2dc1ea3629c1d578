package genius

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// ReadWebDomain reads a GeniusWeb domain:
//
//	{"name": "jobs", "issuesValues": {
//	  "lease car": {"values": ["yes", "no"]},
//	  "salary": {"range": {"low": 2000, "high": 4000, "step": 500}}}}
//
// Issues keep the order of the file. A range of integers with step 1 is an
// integer issue; any other range is a real issue enumerated in its steps.
// Errors are *ParseError values.
func ReadWebDomain(r io.Reader) (*outcome.Space, error) {
	root, err := parseJSON(r)
	if err != nil {
		return nil, err
	}
	if err := root.want('{', "domain"); err != nil {
		return nil, err
	}
	if root.get("LinearAdditiveUtilitySpace") != nil {
		return nil, root.errorf(ErrFormat, "this is a profile, not a domain")
	}
	return webSpace(root)
}

func webSpace(root *jnode) (*outcome.Space, error) {
	s := &outcome.Space{}
	if n := root.get("name"); n != nil {
		if err := n.want('"', "domain name"); err != nil {
			return nil, err
		}
		s.Name = n.str
	}
	iv := root.field("issuesValues")
	if err := iv.want('{', "issuesValues"); err != nil {
		return nil, err
	}
	for i, name := range iv.keys {
		n := iv.vals[i]
		if err := n.want('{', fmt.Sprintf("issue %q", name)); err != nil {
			return nil, err
		}
		is := outcome.Issue{Name: name}
		switch {
		case n.get("values") != nil:
			vs := n.get("values")
			if err := vs.want('[', fmt.Sprintf("values of issue %q", name)); err != nil {
				return nil, err
			}
			is.Kind = outcome.Discrete
			for _, v := range vs.vals {
				if err := v.want('"', fmt.Sprintf("a value of issue %q", name)); err != nil {
					return nil, err
				}
				is.Values = append(is.Values, v.str)
			}
		case n.get("range") != nil:
			rg := n.get("range")
			if err := rg.want('{', fmt.Sprintf("range of issue %q", name)); err != nil {
				return nil, err
			}
			var b [3]float64
			for k, key := range []string{"low", "high", "step"} {
				var err error
				if b[k], err = rg.field(key).float(fmt.Sprintf("%s of issue %q", key, name)); err != nil {
					return nil, err
				}
			}
			if b[0] == math.Trunc(b[0]) && b[1] == math.Trunc(b[1]) && b[2] == 1 && math.Abs(b[0]) < 1<<53 && math.Abs(b[1]) < 1<<53 {
				is.Kind, is.Lower, is.Upper = outcome.Integer, int64(b[0]), int64(b[1])
			} else {
				is.Kind, is.Low, is.High, is.Step = outcome.Real, b[0], b[1], b[2]
			}
		default:
			return nil, n.errorf(ErrFormat, "issue %q has neither values nor range", name)
		}
		if err := checkIssue(is); err != nil {
			return nil, &ParseError{Line: n.line, Err: err}
		}
		s.Issues = append(s.Issues, is)
	}
	if err := s.Validate(); err != nil {
		return nil, &ParseError{Line: iv.line, Err: err}
	}
	return s, nil
}

// ReadWebProfile reads a GeniusWeb linear additive profile:
//
//	{"LinearAdditiveUtilitySpace": {"name": "jobs1", "domain": {...},
//	  "issueWeights": {"lease car": 0.06, ...},
//	  "issueUtilities": {
//	    "lease car": {"discreteutils": {"valueUtilities": {"no": 0, "yes": 1}}},
//	    "salary": {"numberutils": {"lowValue": 2000, "lowUtility": 0,
//	                               "highValue": 4000, "highUtility": 1}}},
//	  "reservationBid": {"issuevalues": {"lease car": "no", "salary": 2000}}}}
//
// The type names DiscreteValueSetUtilities and NumberValueSetUtilities are
// accepted too. Discrete utilities are used as they are (utility.Scores);
// number utilities become a utility.Ramp. The reserved value is the utility
// of the reservation bid, 0 without one; GeniusWeb profiles have no
// discount. If space is nil the profile's own domain is used; otherwise
// the profile's domain, if present, must have the same issues and values.
// Errors are *ParseError values.
func ReadWebProfile(r io.Reader, space *outcome.Space) (*utility.Profile, error) {
	root, err := parseJSON(r)
	if err != nil {
		return nil, err
	}
	if err := root.want('{', "profile"); err != nil {
		return nil, err
	}
	if len(root.keys) != 1 {
		return nil, root.errorf(ErrFormat, "profile object has %d keys, want 1 (the profile type)", len(root.keys))
	}
	if root.keys[0] != "LinearAdditiveUtilitySpace" {
		return nil, root.errorf(ErrUnsupported, "profile type %q", root.keys[0])
	}
	la := root.vals[0]
	if err := la.want('{', "LinearAdditiveUtilitySpace"); err != nil {
		return nil, err
	}
	p := &utility.Profile{Discount: 1}
	if n := la.get("name"); n != nil {
		if err := n.want('"', "profile name"); err != nil {
			return nil, err
		}
		p.Name = n.str
	}
	if dn := la.get("domain"); dn != nil {
		if err := dn.want('{', "domain"); err != nil {
			return nil, err
		}
		own, err := webSpace(dn)
		if err != nil {
			return nil, err
		}
		if space == nil {
			space = own
		} else if err := sameIssues(space, own); err != nil {
			return nil, &ParseError{Line: dn.line, Err: err}
		}
	}
	if space == nil {
		return nil, la.errorf(ErrFormat, "profile has no domain and none was given")
	}
	weights := la.field("issueWeights")
	if err := weights.want('{', "issueWeights"); err != nil {
		return nil, err
	}
	utils := la.field("issueUtilities")
	if err := utils.want('{', "issueUtilities"); err != nil {
		return nil, err
	}
	for _, n := range []*jnode{weights, utils} {
		for _, k := range n.keys {
			if space.IssueIndex(k) < 0 {
				return nil, n.errorf(ErrMismatch, "%w: %q", outcome.ErrUnknownIssue, k)
			}
		}
	}
	ws := make([]float64, len(space.Issues))
	evs := make([]utility.Evaluator, len(space.Issues))
	for i, is := range space.Issues {
		wn := weights.get(is.Name)
		if wn == nil {
			return nil, weights.errorf(ErrFormat, "issue %q has no weight", is.Name)
		}
		if ws[i], err = wn.float(fmt.Sprintf("weight of issue %q", is.Name)); err != nil {
			return nil, err
		}
		if ws[i] < 0 {
			return nil, wn.errorf(ErrInvalid, "issue %q has negative weight %g", is.Name, ws[i])
		}
		un := utils.get(is.Name)
		if un == nil {
			return nil, utils.errorf(ErrFormat, "issue %q has no utilities", is.Name)
		}
		if evs[i], err = webEvaluator(is, un); err != nil {
			return nil, err
		}
	}
	f, err := utility.NewLinearAdditive(space, ws, evs)
	if err != nil {
		return nil, &ParseError{Line: la.line, Err: err}
	}
	if err := checkTerms(f); err != nil {
		return nil, &ParseError{Line: la.line, Err: err}
	}
	p.Func = f
	if rb := la.get("reservationBid"); rb != nil && rb.kind != 'n' {
		o, err := webBid(space, rb)
		if err != nil {
			return nil, err
		}
		p.Reserved = f.Utility(o)
	}
	return p, nil
}

// sameIssues reports whether a and b have the same issues and values, in
// any order.
func sameIssues(a, b *outcome.Space) error {
	if len(a.Issues) != len(b.Issues) {
		return fmt.Errorf("%w: domain has %d issues, profile's domain %d", ErrMismatch, len(a.Issues), len(b.Issues))
	}
	for _, x := range b.Issues {
		i := a.IssueIndex(x.Name)
		if i < 0 {
			return fmt.Errorf("%w: %w: %q", ErrMismatch, outcome.ErrUnknownIssue, x.Name)
		}
		y := a.Issues[i]
		same := x.Kind == y.Kind && x.Len() == y.Len()
		switch {
		case !same:
		case x.Kind == outcome.Discrete:
			for _, v := range x.Values {
				same = same && slices.Contains(y.Values, v)
			}
		default:
			same = x.Float(0) == y.Float(0) && x.Float(x.Len()-1) == y.Float(y.Len()-1)
		}
		if !same {
			return fmt.Errorf("%w: issue %q has other values in the profile's domain", ErrMismatch, x.Name)
		}
	}
	return nil
}

func webEvaluator(is outcome.Issue, n *jnode) (utility.Evaluator, error) {
	if err := n.want('{', fmt.Sprintf("utilities of issue %q", is.Name)); err != nil {
		return nil, err
	}
	if len(n.keys) != 1 {
		return nil, n.errorf(ErrFormat, "utilities of issue %q have %d keys, want 1 (the type)", is.Name, len(n.keys))
	}
	body := n.vals[0]
	switch n.keys[0] {
	case "discreteutils", "DiscreteValueSetUtilities":
		if is.Kind != outcome.Discrete {
			return nil, n.errorf(ErrMismatch, "discrete utilities for %s issue %q", is.Kind, is.Name)
		}
		vu := body.field("valueUtilities")
		if err := vu.want('{', fmt.Sprintf("valueUtilities of issue %q", is.Name)); err != nil {
			return nil, err
		}
		us := make([]float64, is.Len())
		have := make([]bool, is.Len())
		for i, v := range vu.keys {
			k, err := is.Index(v)
			if err != nil {
				return nil, &ParseError{Line: vu.vals[i].line, Err: fmt.Errorf("%w: %w", ErrMismatch, err)}
			}
			if us[k], err = vu.vals[i].float(fmt.Sprintf("utility of %q", v)); err != nil {
				return nil, err
			}
			if us[k] < 0 || us[k] > 1 {
				return nil, vu.vals[i].errorf(ErrInvalid, "issue %q value %q has utility %g outside [0, 1]", is.Name, v, us[k])
			}
			have[k] = true
		}
		for k, ok := range have {
			if !ok {
				return nil, vu.errorf(ErrMismatch, "issue %q has no utility for value %q", is.Name, is.Value(k))
			}
		}
		return utility.Scores{Utilities: us}, nil
	case "numberutils", "NumberValueSetUtilities":
		if is.Kind == outcome.Discrete {
			return nil, n.errorf(ErrMismatch, "number utilities for discrete issue %q", is.Name)
		}
		var x [4]float64
		for k, key := range []string{"lowValue", "lowUtility", "highValue", "highUtility"} {
			var err error
			if x[k], err = body.field(key).float(fmt.Sprintf("%s of issue %q", key, is.Name)); err != nil {
				return nil, err
			}
		}
		if x[2] < x[0] || x[1] < 0 || x[1] > 1 || x[3] < 0 || x[3] > 1 {
			return nil, body.errorf(ErrInvalid, "issue %q has utilities from (%g, %g) to (%g, %g)", is.Name, x[0], x[1], x[2], x[3])
		}
		return utility.Ramp{LowValue: x[0], LowUtility: x[1], HighValue: x[2], HighUtility: x[3]}, nil
	}
	return nil, n.errorf(ErrUnsupported, "issue %q has utilities of type %q", is.Name, n.keys[0])
}

// webBid reads a GeniusWeb bid, {"issuevalues": {"issue": value, ...}}.
func webBid(space *outcome.Space, n *jnode) (outcome.Outcome, error) {
	iv := n.field("issuevalues")
	if err := iv.want('{', "issuevalues of the reservation bid"); err != nil {
		return nil, err
	}
	o := make(outcome.Outcome, len(space.Issues))
	for i, is := range space.Issues {
		v := iv.get(is.Name)
		if v == nil {
			return nil, iv.errorf(ErrFormat, "reservation bid has no value for issue %q", is.Name)
		}
		var k int
		var err error
		switch {
		case is.Kind == outcome.Discrete && v.kind == '"':
			k, err = is.Index(v.str)
		case is.Kind != outcome.Discrete && v.kind == '0':
			k, err = is.Index(string(v.num))
			if x, ferr := strconv.ParseFloat(string(v.num), 64); err != nil && ferr == nil && is.Kind == outcome.Integer && x == math.Trunc(x) {
				k, err = is.Index(strconv.FormatFloat(x, 'f', 0, 64))
			}
		default:
			return nil, v.errorf(ErrFormat, "reservation bid value for %s issue %q is %s", is.Kind, is.Name, kindNames[v.kind])
		}
		if err != nil {
			return nil, &ParseError{Line: v.line, Err: fmt.Errorf("%w: %w", ErrMismatch, err)}
		}
		o[i] = k
	}
	if len(iv.keys) > len(space.Issues) {
		for _, k := range iv.keys {
			if space.IssueIndex(k) < 0 {
				return nil, iv.errorf(ErrMismatch, "%w: %q in reservation bid", outcome.ErrUnknownIssue, k)
			}
		}
	}
	return o, nil
}

// WriteWebDomain writes s as a GeniusWeb domain.
func WriteWebDomain(w io.Writer, s *outcome.Space) error {
	d, err := webDomain(s)
	if err != nil {
		return err
	}
	return writeJSON(w, d)
}

func webDomain(s *outcome.Space) (ordered, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkUTF8(s.Name); err != nil {
		return nil, err
	}
	var issues ordered
	for _, is := range s.Issues {
		if err := checkUTF8(is.Name); err != nil {
			return nil, err
		}
		switch is.Kind {
		case outcome.Discrete:
			for _, v := range is.Values {
				if err := checkUTF8(v); err != nil {
					return nil, err
				}
			}
			issues = append(issues, member{is.Name, ordered{{"values", is.Values}}})
		case outcome.Integer:
			issues = append(issues, member{is.Name, ordered{{"range", ordered{{"low", is.Lower}, {"high", is.Upper}, {"step", 1}}}}})
		case outcome.Real:
			issues = append(issues, member{is.Name, ordered{{"range", ordered{{"low", is.Low}, {"high", is.High}, {"step", is.Step}}}}})
		}
	}
	return ordered{{"name", s.Name}, {"issuesValues", issues}}, nil
}

// WriteWebProfile writes p as a GeniusWeb LinearAdditiveUtilitySpace with
// its domain. The function must be Additive with terms GeniusWeb can
// express: discrete terms non-negative, numeric terms linear in the value
// (or a utility.Ramp); others return ErrUnsupported, as do hyper-rectangle
// functions. Weights are written as they are, even when they do not add up
// to 1 as GeniusWeb expects.
//
// GeniusWeb has no discount, so Discount is dropped. It has no reserved
// value either, only a reservation bid: WriteWebProfile picks the outcome
// with the lowest utility not below Reserved, so that the outcomes the
// party prefers to no agreement stay the same, and reading the file back
// gives that outcome's utility as the reserved value. A reserved value of
// 0 or less is written as no reservation bid. A reserved value above every
// outcome's utility has no form and is an error.
func WriteWebProfile(w io.Writer, p *utility.Profile) error {
	if p == nil || p.Func == nil {
		return fmt.Errorf("%w: profile has no utility function", ErrInvalid)
	}
	f, ok := p.Func.(utility.Additive)
	if !ok {
		return fmt.Errorf("%w: GeniusWeb has no form for %T", ErrUnsupported, p.Func)
	}
	s := f.Space()
	dom, err := webDomain(s)
	if err != nil {
		return err
	}
	if err := checkUTF8(p.Name); err != nil {
		return err
	}
	la, _ := f.(*utility.LinearAdditive)
	var weights, utils ordered
	for i, is := range s.Issues {
		var ev utility.Evaluator
		var wt float64
		if la != nil {
			ev, wt = la.Evaluators[i], la.Weights[i]
		}
		wt, u, err := webEvaluatorOf(is, wt, ev, f.Terms()[i])
		if err != nil {
			return err
		}
		weights = append(weights, member{is.Name, wt})
		utils = append(utils, member{is.Name, u})
	}
	var bid any
	if p.Reserved > 0 {
		o, ok := reservationBid(f, p.Reserved)
		if !ok {
			return fmt.Errorf("%w: reserved value %g is above every outcome's utility, so no reservation bid has it", ErrUnsupported, p.Reserved)
		}
		var values ordered
		for i, is := range s.Issues {
			var v any
			switch is.Kind {
			case outcome.Discrete:
				v = is.Values[o[i]]
			case outcome.Integer:
				v = is.Int(o[i])
			default:
				v = is.Float(o[i])
			}
			values = append(values, member{is.Name, v})
		}
		bid = ordered{{"issuevalues", values}}
	} else if math.IsNaN(p.Reserved) || math.IsInf(p.Reserved, 0) {
		return fmt.Errorf("%w: reserved value %g", ErrInvalid, p.Reserved)
	}
	return writeJSON(w, ordered{{"LinearAdditiveUtilitySpace", ordered{
		{"name", p.Name},
		{"domain", dom},
		{"issueWeights", weights},
		{"issueUtilities", utils},
		{"reservationBid", bid},
	}}})
}

// webEvaluatorOf finds the GeniusWeb form of one issue's contribution: a
// weight and its value-set utilities. ev and w are the evaluator and weight
// if known; terms is the weighted contribution of each value.
func webEvaluatorOf(is outcome.Issue, w float64, ev utility.Evaluator, terms []float64) (float64, any, error) {
	if r, ok := ev.(utility.Ramp); ok && is.Kind != outcome.Discrete && inUnit(r.LowUtility) && inUnit(r.HighUtility) {
		return w, numberUtils(r.LowValue, r.LowUtility, r.HighValue, r.HighUtility), nil
	}
	if ev != nil && is.Kind == outcome.Discrete {
		if evals, err := ev.Evaluate(is); err == nil && !slices.ContainsFunc(evals, func(e float64) bool { return !inUnit(e) }) {
			return w, discreteUtils(is, evals), nil
		}
	}
	m := 0.0
	for k, t := range terms {
		if !(t >= 0) || math.IsInf(t, 0) {
			return 0, nil, fmt.Errorf("%w: issue %q value %q contributes %g; GeniusWeb needs a non-negative contribution", ErrUnsupported, is.Name, is.Value(k), t)
		}
		m = math.Max(m, t)
	}
	us := make([]float64, len(terms))
	if m > 0 {
		for k, t := range terms {
			us[k] = t / m
		}
	}
	if is.Kind == outcome.Discrete {
		return m, discreteUtils(is, us), nil
	}
	n := len(us) - 1
	for k, u := range us {
		// A ramp through the end points must reproduce every point.
		y := us[0]
		if n > 0 {
			y += (us[n] - us[0]) * (is.Float(k) - is.Float(0)) / (is.Float(n) - is.Float(0))
		}
		if math.Abs(y-u) > 1e-12 {
			return 0, nil, fmt.Errorf("%w: issue %q is not evaluated linearly, which GeniusWeb needs for a number issue", ErrUnsupported, is.Name)
		}
	}
	return m, numberUtils(is.Float(0), us[0], is.Float(n), us[n]), nil
}

func discreteUtils(is outcome.Issue, us []float64) ordered {
	var vu ordered
	for k, u := range us {
		vu = append(vu, member{is.Values[k], u})
	}
	return ordered{{"discreteutils", ordered{{"valueUtilities", vu}}}}
}

func numberUtils(lv, lu, hv, hu float64) ordered {
	return ordered{{"numberutils", ordered{{"lowValue", lv}, {"lowUtility", lu}, {"highValue", hv}, {"highUtility", hu}}}}
}

func inUnit(x float64) bool { return x >= 0 && x <= 1 }

func checkUTF8(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrUnsupported, s)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// reservationBid returns the outcome with the lowest utility not below r,
// by depth-first branch and bound over the issues: a branch is cut when
// even its best completion stays below r, or its worst completion is no
// better than the best outcome found. It gives up after a few million
// steps and returns the best outcome found so far, which still reaches r.
func reservationBid(f utility.Additive, r float64) (outcome.Outcome, bool) {
	terms := f.Terms()
	n := len(terms)
	order := make([][]int, n) // value indexes by increasing term
	minRest := make([]float64, n+1)
	maxRest := make([]float64, n+1)
	for i := n - 1; i >= 0; i-- {
		order[i] = make([]int, len(terms[i]))
		for v := range order[i] {
			order[i][v] = v
		}
		slices.SortStableFunc(order[i], func(a, b int) int {
			switch {
			case terms[i][a] < terms[i][b]:
				return -1
			case terms[i][a] > terms[i][b]:
				return 1
			}
			return 0
		})
		minRest[i] = minRest[i+1] + terms[i][order[i][0]]
		maxRest[i] = maxRest[i+1] + terms[i][order[i][len(order[i])-1]]
	}
	const slack = 1e-12
	target := r - slack*math.Max(1, math.Abs(r))
	var best outcome.Outcome
	bestU := math.Inf(1)
	budget := 1 << 22
	o := make(outcome.Outcome, n)
	var walk func(i int, partial float64)
	walk = func(i int, partial float64) {
		budget--
		if budget < 0 || partial+maxRest[i] < target-slack || partial+minRest[i] >= bestU {
			return
		}
		if i == n || partial+minRest[i] >= target {
			for j := i; j < n; j++ {
				o[j] = order[j][0]
			}
			if u := f.Utility(o); u >= target && u < bestU {
				best, bestU = o.Clone(), u
			}
			if i == n || partial+minRest[i] >= target+slack {
				return
			}
		}
		for _, v := range order[i] {
			o[i] = v
			walk(i+1, partial+terms[i][v])
		}
	}
	walk(0, 0)
	return best, best != nil
}
