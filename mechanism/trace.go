package mechanism

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/backchannel/backchannel/outcome"
)

// WriteJSON writes the result and its trace as one JSON object, one trace
// event a line. Outcomes are objects of issue names to value names, in
// the order of the issues of s, the space the negotiation was on. names
// holds the parties' names, or is nil.
//
// The object has the fields parties (if names is given), agreement (null
// without agreement), utilities, rounds, steps, time, seconds (Elapsed),
// setup_seconds, reason, error (if any) and trace, whose events have
// round, step, time, party, name (if names is given), action (offer,
// accept or end), and outcome and utilities (except for end).
func (r *Result) WriteJSON(w io.Writer, s *outcome.Space, names []string) error {
	if err := r.check(s, names); err != nil {
		return err
	}
	head := struct {
		Parties   []string     `json:"parties,omitempty"`
		Agreement *jsonOutcome `json:"agreement"`
		Utilities []float64    `json:"utilities"`
		Rounds    int          `json:"rounds"`
		Steps     int          `json:"steps"`
		Time      float64      `json:"time"`
		Seconds   float64      `json:"seconds"`
		Setup     float64      `json:"setup_seconds"`
		Reason    Reason       `json:"reason"`
		Error     string       `json:"error,omitempty"`
	}{
		Parties:   names,
		Utilities: r.Utilities,
		Rounds:    r.Rounds,
		Steps:     r.Steps,
		Time:      r.Time,
		Seconds:   r.Elapsed.Seconds(),
		Setup:     r.Setup.Seconds(),
		Reason:    r.Reason,
	}
	if r.Agreement != nil {
		head.Agreement = &jsonOutcome{s, r.Agreement}
	}
	if r.Err != nil {
		head.Error = r.Err.Error()
	}
	b, err := json.Marshal(head)
	if err != nil {
		return fmt.Errorf("mechanism: write JSON: %w", err)
	}
	bw := bufio.NewWriter(w)
	// Open the head object again to append the trace to it.
	bw.Write(b[:len(b)-1])
	bw.WriteString(`,"trace":[`)
	for k := range r.Trace {
		e := &r.Trace[k]
		ev := struct {
			Round     int          `json:"round"`
			Step      int          `json:"step"`
			Time      float64      `json:"time"`
			Party     int          `json:"party"`
			Name      string       `json:"name,omitempty"`
			Action    string       `json:"action"`
			Outcome   *jsonOutcome `json:"outcome,omitempty"`
			Utilities []float64    `json:"utilities,omitempty"`
		}{
			Round:     e.Round,
			Step:      e.Step,
			Time:      e.Time,
			Party:     e.Party,
			Action:    e.Kind.String(),
			Utilities: e.Utilities,
		}
		if names != nil {
			ev.Name = names[e.Party]
		}
		if e.Outcome != nil {
			ev.Outcome = &jsonOutcome{s, e.Outcome}
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("mechanism: write JSON: event %d: %w", e.Step, err)
		}
		if k > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		bw.Write(b)
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("mechanism: write JSON: %w", err)
	}
	return nil
}

// jsonOutcome writes an outcome as an object of issue names to value
// names, in issue order.
type jsonOutcome struct {
	s *outcome.Space
	o outcome.Outcome
}

func (j *jsonOutcome) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, v := range j.o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(j.s.Issues[i].Name)
		b = append(b, k...)
		b = append(b, ':')
		k, _ = json.Marshal(j.s.Issues[i].Value(v))
		b = append(b, k...)
	}
	return append(b, '}'), nil
}

// WriteCSV writes the trace as CSV, one row per event, with the columns
// round, step, time, party, action, one column per issue of s holding the
// value offered or accepted (empty for end), and one column per party,
// utility_<name>, holding that party's undiscounted utility of the offer
// on the table. The party column holds the party's name if names is not
// nil, its position otherwise.
func (r *Result) WriteCSV(w io.Writer, s *outcome.Space, names []string) error {
	if err := r.check(s, names); err != nil {
		return err
	}
	n := len(r.Utilities)
	cw := csv.NewWriter(w)
	row := make([]string, 0, 5+len(s.Issues)+n)
	row = append(row, "round", "step", "time", "party", "action")
	for _, is := range s.Issues {
		row = append(row, is.Name)
	}
	for i := range n {
		row = append(row, "utility_"+partyName(names, i))
	}
	cw.Write(row)
	for _, e := range r.Trace {
		row = row[:0]
		row = append(row,
			strconv.Itoa(e.Round),
			strconv.Itoa(e.Step),
			strconv.FormatFloat(e.Time, 'f', -1, 64),
			partyName(names, e.Party),
			e.Kind.String())
		for i := range s.Issues {
			if e.Outcome == nil {
				row = append(row, "")
			} else {
				row = append(row, s.Issues[i].Value(e.Outcome[i]))
			}
		}
		for i := range n {
			if e.Utilities == nil {
				row = append(row, "")
			} else {
				row = append(row, strconv.FormatFloat(e.Utilities[i], 'f', -1, 64))
			}
		}
		cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("mechanism: write CSV: %w", err)
	}
	return nil
}

func partyName(names []string, i int) string {
	if names != nil {
		return names[i]
	}
	return strconv.Itoa(i)
}

// check reports whether the result's outcomes belong to s and names has
// one name per party, so that writing cannot fail halfway.
func (r *Result) check(s *outcome.Space, names []string) error {
	n := len(r.Utilities)
	if names != nil && len(names) != n {
		return fmt.Errorf("%w: %d names for %d parties", ErrInvalid, len(names), n)
	}
	if r.Agreement != nil {
		if err := s.Check(r.Agreement); err != nil {
			return fmt.Errorf("mechanism: agreement: %w", err)
		}
	}
	for _, e := range r.Trace {
		if e.Party < 0 || e.Party >= n || (e.Utilities != nil && len(e.Utilities) != n) {
			return fmt.Errorf("%w: event %d does not fit %d parties", ErrInvalid, e.Step, n)
		}
		if e.Outcome != nil {
			if err := s.Check(e.Outcome); err != nil {
				return fmt.Errorf("mechanism: event %d: %w", e.Step, err)
			}
		}
	}
	return nil
}
