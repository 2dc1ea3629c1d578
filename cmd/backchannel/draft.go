package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/backchannel/backchannel/analysis"
	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// draftResult assesses one outcome, a draft agreement, against the deal
// space: what each party gets, whether all of them prefer it to no
// agreement, how far it is from the frontier, and which outcomes every
// party prefers to it.
type draftResult struct {
	Outcome    outcome.Outcome
	Utilities  []float64
	Rational   bool
	Distance   float64 // +Inf when the frontier is empty
	Dominating []analysis.Point
}

func (d *draftResult) assess(ctx context.Context, funcs []utility.Func, res *analysis.Result, limit int) error {
	d.Utilities = make([]float64, len(funcs))
	d.Rational = true
	for i, f := range funcs {
		d.Utilities[i] = f.Utility(d.Outcome)
		if d.Utilities[i] < res.Reserved[i] {
			d.Rational = false
		}
	}
	d.Distance = analysis.Distance(res.Frontier, d.Utilities)
	dom, err := analysis.Dominating(ctx, funcs, d.Outcome, limit)
	if err != nil {
		return fmt.Errorf("outcomes that dominate the draft: %w", err)
	}
	d.Dominating = dom
	return nil
}

// parseOutcome reads "issue=value,issue=value" or a JSON object of issue
// names to value names. Every issue needs a value.
func parseOutcome(s *outcome.Space, text string) (outcome.Outcome, error) {
	values := make(map[string]string)
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") {
		if err := json.Unmarshal([]byte(t), &values); err != nil {
			return nil, fmt.Errorf("not a JSON object of issue names to value names: %v", err)
		}
	} else {
		for _, pair := range strings.Split(text, ",") {
			name, value, ok := strings.Cut(pair, "=")
			if !ok {
				return nil, fmt.Errorf("%q is not issue=value (use a JSON object if a name holds a comma)", strings.TrimSpace(pair))
			}
			name = strings.TrimSpace(name)
			if _, dup := values[name]; dup {
				return nil, fmt.Errorf("issue %q is given twice", name)
			}
			values[name] = strings.TrimSpace(value)
		}
	}
	return s.Parse(values)
}

func (d *draftResult) writeTable(w io.Writer, sc *genius.Scenario) {
	names := partyNames(sc)
	fmt.Fprintf(w, "\nDraft     %s\n", sc.Space.Format(d.Outcome))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "\t"+strings.Join(names, "\t")+"\n")
	fmt.Fprintf(tw, "\tutility\t%s\n", utilities(d.Utilities))
	tw.Flush()
	switch {
	case !d.Rational:
		fmt.Fprintln(w, "Rational  no: some party gets less than its reserved value")
	default:
		fmt.Fprintln(w, "Rational  yes")
	}
	if !math.IsInf(d.Distance, 0) {
		fmt.Fprintf(w, "Distance  %.4f to the nearest frontier point\n", d.Distance)
	}
	if len(d.Dominating) == 0 {
		fmt.Fprintln(w, "Efficient yes: no outcome is at least as good for every party and better for one")
		return
	}
	fmt.Fprintf(w, "Efficient no: every party prefers these outcomes (best first by Nash product of the gains)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "#\t"+strings.Join(names, "\t")+"\toutcome\n")
	for k, p := range d.Dominating {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", k+1, utilities(p.Utilities), sc.Space.Format(p.Outcome))
	}
	tw.Flush()
}
