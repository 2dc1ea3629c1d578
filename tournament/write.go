package tournament

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
)

// number is a float64 that is JSON null when it is NaN or infinite.
type number float64

func (x number) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// MarshalJSON writes s flat, one field per mean with "_std" and "_se"
// fields beside it; undefined values are null.
func (s Summary) MarshalJSON() ([]byte, error) {
	m := struct {
		Name          string `json:"name"`
		Negotiations  int    `json:"negotiations"`
		Agreements    int    `json:"agreements"`
		Errors        int    `json:"errors"`
		AgreementRate number `json:"agreement_rate"`
		Score         number `json:"score"`
		ScoreStd      number `json:"score_std"`
		ScoreSE       number `json:"score_se"`
		Utility       number `json:"utility"`
		UtilityStd    number `json:"utility_std"`
		UtilitySE     number `json:"utility_se"`
		Partner       number `json:"partner_utility"`
		PartnerStd    number `json:"partner_utility_std"`
		PartnerSE     number `json:"partner_utility_se"`
		Welfare       number `json:"welfare"`
		WelfareStd    number `json:"welfare_std"`
		WelfareSE     number `json:"welfare_se"`
		Pareto        number `json:"pareto_distance"`
		ParetoStd     number `json:"pareto_distance_std"`
		ParetoSE      number `json:"pareto_distance_se"`
		Nash          number `json:"nash_distance"`
		NashStd       number `json:"nash_distance_std"`
		NashSE        number `json:"nash_distance_se"`
		Rounds        number `json:"rounds"`
		RoundsStd     number `json:"rounds_std"`
		RoundsSE      number `json:"rounds_se"`
	}{
		s.Agent, s.Negotiations, s.Agreements, s.Errors, number(s.AgreementRate),
		number(s.Score.Mean), number(s.Score.Std), number(s.Score.SE),
		number(s.Utility.Mean), number(s.Utility.Std), number(s.Utility.SE),
		number(s.Partner.Mean), number(s.Partner.Std), number(s.Partner.SE),
		number(s.Welfare.Mean), number(s.Welfare.Std), number(s.Welfare.SE),
		number(s.Pareto.Mean), number(s.Pareto.Std), number(s.Pareto.SE),
		number(s.Nash.Mean), number(s.Nash.Std), number(s.Nash.SE),
		number(s.Rounds.Mean), number(s.Rounds.Std), number(s.Rounds.SE),
	}
	return json.Marshal(m)
}

// MarshalJSON writes the agreement as issue names to value names (null
// without one) and undefined distances as null.
func (r Record) MarshalJSON() ([]byte, error) {
	var agreement map[string]string
	if r.Agreement != nil && r.Space != nil {
		agreement = r.Space.Values(r.Agreement)
	}
	m := struct {
		Index     int               `json:"index"`
		Domain    string            `json:"domain"`
		Rep       int               `json:"rep"`
		Seed      uint64            `json:"seed"`
		Agents    []string          `json:"agents"`
		Profiles  []string          `json:"profiles"`
		Agreement map[string]string `json:"agreement"`
		Utilities []number          `json:"utilities"`
		Scores    []number          `json:"scores"`
		Welfare   number            `json:"welfare"`
		Pareto    number            `json:"pareto_distance"`
		Nash      number            `json:"nash_distance"`
		Reason    string            `json:"reason"`
		Error     string            `json:"error,omitempty"`
		Failed    *int              `json:"failed"`
		Rounds    int               `json:"rounds"`
		Steps     int               `json:"steps"`
		Time      float64           `json:"time"`
		Seconds   float64           `json:"seconds"`
	}{
		r.Index, r.Domain, r.Rep, r.Seed, r.Agents, r.Profiles, agreement,
		numbers(r.Utilities), numbers(r.Scores), number(r.Welfare), number(r.Pareto), number(r.Nash),
		string(r.Reason), r.Error, nil, r.Rounds, r.Steps, r.Time, r.Elapsed.Seconds(),
	}
	if r.Failed >= 0 {
		m.Failed = &r.Failed
	}
	return json.Marshal(m)
}

func numbers(xs []float64) []number {
	ns := make([]number, len(xs))
	for i, x := range xs {
		ns[i] = number(x)
	}
	return ns
}

// WriteJSON writes the whole result, summaries and records, as one
// indented JSON object:
//
//	{"negotiations": N, "seconds": S, "parties": k, "agents": [...], "records": [...]}
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Negotiations int       `json:"negotiations"`
		Seconds      float64   `json:"seconds"`
		Parties      int       `json:"parties"`
		Agents       []Summary `json:"agents"`
		Records      []Record  `json:"records"`
	}{r.Negotiations, r.Elapsed.Seconds(), r.Parties, r.Agents, r.Records})
}

// WriteAgentsCSV writes one row per agent, best first, with the columns of
// the JSON summary. Undefined values are empty.
func (r *Result) WriteAgentsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"rank", "agent", "negotiations", "agreements", "errors", "agreement_rate"}
	for _, m := range []string{"score", "utility", "partner_utility", "welfare", "pareto_distance", "nash_distance", "rounds"} {
		header = append(header, m, m+"_std", m+"_se")
	}
	cw.Write(header)
	for i, s := range r.Agents {
		row := []string{strconv.Itoa(i + 1), s.Agent, strconv.Itoa(s.Negotiations), strconv.Itoa(s.Agreements), strconv.Itoa(s.Errors), format(s.AgreementRate)}
		for _, st := range []Stat{s.Score, s.Utility, s.Partner, s.Welfare, s.Pareto, s.Nash, s.Rounds} {
			row = append(row, format(st.Mean), format(st.Std), format(st.SE))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// WriteNegotiationsCSV writes one row per negotiation, in index order.
// Per-party columns are numbered from 1 in turn order (agent1, profile1,
// utility1, score1, agent2, ...); the agreement is "issue=value, ..." in
// issue order, empty without one; failed numbers the party whose failure
// ended the negotiation, empty if none did.
func (r *Result) WriteNegotiationsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"index", "domain", "rep", "seed"}
	for p := range r.Parties {
		n := strconv.Itoa(p + 1)
		header = append(header, "agent"+n, "profile"+n, "utility"+n, "score"+n)
	}
	header = append(header, "agreement", "welfare", "pareto_distance", "nash_distance", "reason", "rounds", "steps", "time", "seconds", "failed", "error")
	cw.Write(header)
	for _, rec := range r.Records {
		row := []string{strconv.Itoa(rec.Index), rec.Domain, strconv.Itoa(rec.Rep), strconv.FormatUint(rec.Seed, 10)}
		for p := range rec.Agents {
			row = append(row, rec.Agents[p], rec.Profiles[p], format(rec.Utilities[p]), format(rec.Scores[p]))
		}
		failed := ""
		if rec.Failed >= 0 {
			failed = strconv.Itoa(rec.Failed + 1)
		}
		agreement := ""
		if rec.Agreement != nil && rec.Space != nil {
			agreement = rec.Space.Format(rec.Agreement)
		}
		row = append(row, agreement, format(rec.Welfare), format(rec.Pareto), format(rec.Nash), string(rec.Reason),
			strconv.Itoa(rec.Rounds), strconv.Itoa(rec.Steps), format(rec.Time), format(rec.Elapsed.Seconds()),
			failed, strings.ReplaceAll(rec.Error, "\n", " "))
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func format(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
