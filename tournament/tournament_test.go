package tournament_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/tournament"
	"github.com/backchannel/backchannel/utility"
)

// timeBased is a stand-in for the agent package's time-based concession:
// it aims at rv + (max−rv)(1 − t^(1/e)), offers the outcome just above the
// target, and accepts an offer at least as good as the target.
type timeBased struct {
	e       float64
	profile *utility.Profile
	sorted  []outcome.Outcome // ascending utility
	us      []float64
}

func (a *timeBased) Init(info mechanism.Info) error {
	a.profile = info.Profile
	a.sorted, a.us = nil, nil
	for o := range info.Profile.Space().All() {
		a.sorted = append(a.sorted, o.Clone())
	}
	slices.SortStableFunc(a.sorted, func(x, y outcome.Outcome) int {
		return cmpFloat(a.profile.Utility(x), a.profile.Utility(y))
	})
	for _, o := range a.sorted {
		a.us = append(a.us, a.profile.Utility(o))
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (a *timeBased) Act(s mechanism.State) (mechanism.Action, error) {
	rv, hi := a.profile.Reserved, a.us[len(a.us)-1]
	target := rv + (hi-rv)*(1-math.Pow(s.Time, 1/a.e))
	i, _ := slices.BinarySearch(a.us, target-1e-12)
	i = min(i, len(a.us)-1)
	if s.Offer != nil && a.profile.Utility(s.Offer) >= a.us[i]-1e-12 {
		return mechanism.Action{Kind: mechanism.Accept}, nil
	}
	return mechanism.Action{Kind: mechanism.Offer, Outcome: a.sorted[i]}, nil
}

func standIn(name string, e float64) tournament.Agent {
	return tournament.Agent{Name: name, New: func() (mechanism.Negotiator, error) { return &timeBased{e: e}, nil }}
}

var (
	boulware = standIn("boulware", 0.2)
	linear   = standIn("linear", 1)
	conceder = standIn("conceder", 2)
)

// failing errors on its second turn.
type failing struct{ turns int }

func (f *failing) Init(mechanism.Info) error { return nil }
func (f *failing) Act(mechanism.State) (mechanism.Action, error) {
	if f.turns++; f.turns > 1 {
		return mechanism.Action{}, errors.New("failing: broken")
	}
	return mechanism.Action{Kind: mechanism.Offer, Outcome: outcome.Outcome{0, 0, 0}}, nil
}

func domain(t testing.TB, name string) tournament.Domain {
	t.Helper()
	sc, err := genius.LoadDir(filepath.Join("../examples/domains", name))
	if err != nil {
		t.Fatal(err)
	}
	return tournament.Domain{Name: name, Profiles: sc.Profiles}
}

func TestCount(t *testing.T) {
	three := []tournament.Agent{boulware, linear, conceder}
	tests := []struct {
		name     string
		agents   int
		domains  int
		parties  int
		reps     int
		selfPlay bool
		want     int
	}{
		{"NegMAS cartesian tournament", 3, 3, 2, 1, true, 54},
		{"no self-play", 3, 3, 2, 1, false, 36},
		{"repetitions", 3, 1, 2, 5, false, 60},
		{"two agents", 2, 1, 0, 0, false, 4},
		{"three parties", 3, 1, 3, 1, false, 18},
		{"three parties with self-play", 3, 1, 3, 1, true, 81},
		{"one agent with self-play", 1, 2, 2, 1, true, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tournament.Config{Agents: three[:tt.agents], Domains: make([]tournament.Domain, tt.domains), Parties: tt.parties, Reps: tt.reps, SelfPlay: tt.selfPlay}
			got, err := tournament.Count(cfg)
			if err != nil || got != tt.want {
				t.Errorf("Count = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	laptop := domain(t, "Laptop")
	broken := tournament.Agent{Name: "broken", New: func() (mechanism.Negotiator, error) { return nil, errors.New("no such agent") }}
	tests := []struct {
		name string
		cfg  tournament.Config
		want error
	}{
		{"no agents", tournament.Config{Domains: []tournament.Domain{laptop}}, tournament.ErrNoAgents},
		{"one agent without self-play", tournament.Config{Agents: []tournament.Agent{boulware}, Domains: []tournament.Domain{laptop}}, tournament.ErrNoAgents},
		{"no domains", tournament.Config{Agents: []tournament.Agent{boulware, linear}}, tournament.ErrNoDomains},
		{"one party", tournament.Config{Agents: []tournament.Agent{boulware, linear}, Domains: []tournament.Domain{laptop}, Parties: 1}, tournament.ErrParties},
		{"three parties on Laptop", tournament.Config{Agents: []tournament.Agent{boulware, linear, conceder}, Domains: []tournament.Domain{laptop}, Parties: 3}, tournament.ErrParties},
		{"duplicate name", tournament.Config{Agents: []tournament.Agent{boulware, boulware}, Domains: []tournament.Domain{laptop}}, tournament.ErrAgent},
		{"constructor fails", tournament.Config{Agents: []tournament.Agent{boulware, broken}, Domains: []tournament.Domain{laptop}, Mechanism: mechanism.Config{Rounds: 10}}, tournament.ErrAgent},
		{"no deadline", tournament.Config{Agents: []tournament.Agent{boulware, linear}, Domains: []tournament.Domain{laptop}}, mechanism.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tournament.Run(context.Background(), tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Errorf("Run = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := tournament.Config{
		Agents:    []tournament.Agent{boulware, linear},
		Domains:   []tournament.Domain{domain(t, "Laptop")},
		Reps:      50,
		Mechanism: mechanism.Config{Rounds: 100},
		Workers:   2,
		Progress: func(done, total int) {
			if done == 3 {
				cancel()
			}
		},
	}
	if _, err := tournament.Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
}

// comparable returns the records without their wall-clock times.
func comparable(rs []tournament.Record) []tournament.Record {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Elapsed = 0
	}
	return out
}

func TestRunDeterministic(t *testing.T) {
	cfg := tournament.Config{
		Agents:    []tournament.Agent{boulware, linear, conceder},
		Domains:   []tournament.Domain{domain(t, "Laptop"), domain(t, "ItexvsCypress")},
		SelfPlay:  true,
		Reps:      2,
		Seed:      42,
		Mechanism: mechanism.Config{Rounds: 200},
	}
	var results [][]tournament.Record
	for _, w := range []int{1, 2, 7} {
		cfg.Workers = w
		var calls []int
		cfg.Progress = func(done, total int) {
			if total != 72 {
				t.Errorf("Progress total = %d, want 72", total)
			}
			calls = append(calls, done)
		}
		res, err := tournament.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Negotiations != 72 || len(res.Records) != 72 {
			t.Fatalf("workers %d: %d negotiations, %d records, want 72", w, res.Negotiations, len(res.Records))
		}
		if want := 72; len(calls) != want || !slices.IsSorted(calls) || calls[len(calls)-1] != want {
			t.Errorf("workers %d: progress calls %v, want 1..72 in order", w, calls)
		}
		for i, r := range res.Records {
			if r.Index != i || r.Seed != tournament.Seed(42, i) {
				t.Errorf("record %d has index %d, seed %d", i, r.Index, r.Seed)
			}
		}
		results = append(results, comparable(res.Records))
	}
	for i := 1; i < len(results); i++ {
		a, _ := json.Marshal(results[0])
		b, _ := json.Marshal(results[i])
		if !bytes.Equal(a, b) {
			t.Errorf("records differ between worker counts 1 and %d", []int{1, 2, 7}[i])
		}
	}
}

// TestRunProduct checks that every agent plays every role in every turn
// position equally often.
func TestRunProduct(t *testing.T) {
	cfg := tournament.Config{
		Agents:    []tournament.Agent{boulware, linear, conceder},
		Domains:   []tournament.Domain{domain(t, "Laptop")},
		Mechanism: mechanism.Config{Rounds: 10},
	}
	res, err := tournament.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	seats := make(map[[3]string]int)
	pairs := make(map[[2]string]int)
	for _, r := range res.Records {
		if r.Agents[0] == r.Agents[1] {
			t.Errorf("self-play record %v without SelfPlay", r.Agents)
		}
		pairs[[2]string{r.Agents[0], r.Agents[1]}]++
		for pos := range 2 {
			seats[[3]string{r.Agents[pos], string(rune('0' + pos)), r.Profiles[pos]}]++
		}
	}
	if len(pairs) != 6 {
		t.Errorf("%d ordered pairs, want 6: %v", len(pairs), pairs)
	}
	if len(seats) != 3*2*2 {
		t.Errorf("%d (agent, position, profile) seats, want 12: %v", len(seats), seats)
	}
	for s, n := range seats {
		if n != 2 {
			t.Errorf("seat %v taken %d times, want 2", s, n)
		}
	}
}

// TestScores checks each record's derived numbers against their
// definitions, recomputed from the profiles.
func TestScores(t *testing.T) {
	doms := []tournament.Domain{domain(t, "Laptop"), domain(t, "ItexvsCypress")}
	cfg := tournament.Config{
		Agents:    []tournament.Agent{boulware, conceder},
		Domains:   doms,
		SelfPlay:  true,
		Mechanism: mechanism.Config{Rounds: 50},
	}
	res, err := tournament.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	profiles := make(map[string]*utility.Profile)
	for _, d := range doms {
		for _, p := range d.Profiles {
			profiles[p.Name] = p
		}
	}
	for _, r := range res.Records {
		welfare := 0.0
		for pos, u := range r.Utilities {
			p := profiles[r.Profiles[pos]]
			if r.Agreement != nil {
				if want := p.UtilityAt(r.Agreement, r.Time); math.Abs(u-want) > 1e-12 {
					t.Errorf("record %d party %d: utility %v, want %v", r.Index, pos, u, want)
				}
			}
			_, hi := utility.Bounds(p.Func)
			if want := (u - p.Reserved) / (hi - p.Reserved); math.Abs(r.Scores[pos]-want) > 1e-12 {
				t.Errorf("record %d party %d: score %v, want (%v − %v)/(%v − %v) = %v", r.Index, pos, r.Scores[pos], u, p.Reserved, hi, p.Reserved, want)
			}
			welfare += u
		}
		if math.Abs(r.Welfare-welfare) > 1e-12 {
			t.Errorf("record %d: welfare %v, want %v", r.Index, r.Welfare, welfare)
		}
		if r.Agreement != nil && (r.Pareto < 0 || r.Pareto > math.Sqrt2 || r.Nash < r.Pareto-1e-12) {
			t.Errorf("record %d: distances to the frontier %v and to Nash %v", r.Index, r.Pareto, r.Nash)
		}
	}
	for _, s := range res.Agents {
		if s.Negotiations != 16 { // 2 domains × 2 rotations × 4 pairs × 2 seats / 2 agents
			t.Errorf("%s took %d seats, want 16 (self-play counts twice)", s.Agent, s.Negotiations)
		}
	}
}

// TestOrdering checks the well-known order of time-based agents: the
// tougher an agent concedes, the higher it scores against this population.
func TestOrdering(t *testing.T) {
	cfg := tournament.Config{
		Agents:    []tournament.Agent{conceder, linear, boulware},
		Domains:   []tournament.Domain{domain(t, "Laptop"), domain(t, "ItexvsCypress")},
		SelfPlay:  true,
		Mechanism: mechanism.Config{Rounds: 1000},
	}
	res, err := tournament.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Agents {
		names = append(names, s.Agent)
		if s.AgreementRate != 1 {
			t.Errorf("%s: agreement rate %v, want 1", s.Agent, s.AgreementRate)
		}
	}
	if want := []string{"boulware", "linear", "conceder"}; !slices.Equal(names, want) {
		t.Errorf("ranking %v, want %v", names, want)
	}
}

func TestFailingAgentIsRecorded(t *testing.T) {
	bad := tournament.Agent{Name: "failing", New: func() (mechanism.Negotiator, error) { return &failing{}, nil }}
	cfg := tournament.Config{
		Agents:    []tournament.Agent{boulware, bad},
		Domains:   []tournament.Domain{domain(t, "Laptop")},
		Mechanism: mechanism.Config{Rounds: 100},
	}
	res, err := tournament.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := 0
	for _, r := range res.Records {
		if r.Reason != mechanism.ReasonError {
			if r.Failed != -1 {
				t.Errorf("record %d ended by %s, but party %d failed", r.Index, r.Reason, r.Failed)
			}
			continue
		}
		errs++
		if !strings.Contains(r.Error, "broken") || r.Failed < 0 || r.Agents[r.Failed] != "failing" {
			t.Errorf("record %d: error %q from party %d, want the failing agent's", r.Index, r.Error, r.Failed)
		}
	}
	if errs == 0 {
		t.Error("no negotiation ended in an error")
	}
	for _, s := range res.Agents {
		if want := map[string]int{"failing": errs, "boulware": 0}[s.Agent]; s.Errors != want {
			t.Errorf("%s failed %d times, want %d", s.Agent, s.Errors, want)
		}
	}
}

func TestWrite(t *testing.T) {
	cfg := tournament.Config{
		Agents:    []tournament.Agent{boulware, linear, conceder},
		Domains:   []tournament.Domain{domain(t, "Laptop"), domain(t, "Lunch")}, // Lunch has no ZOPA
		Mechanism: mechanism.Config{Rounds: 100},
	}
	res, err := tournament.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Negotiations int
		Agents       []map[string]any
		Records      []map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatalf("WriteJSON: %v\n%s", err, b.String())
	}
	if out.Negotiations != 24 || len(out.Records) != 24 || len(out.Agents) != 3 {
		t.Errorf("JSON has %d negotiations, %d records, %d agents; want 24, 24, 3", out.Negotiations, len(out.Records), len(out.Agents))
	}
	for _, key := range []string{"name", "score", "score_se", "agreement_rate", "utility", "partner_utility", "welfare", "pareto_distance", "nash_distance", "rounds"} {
		if _, ok := out.Agents[0][key]; !ok {
			t.Errorf("agent JSON lacks %q: %v", key, out.Agents[0])
		}
	}
	nulls := 0
	for _, r := range out.Records {
		if r["domain"] == "Lunch" && r["pareto_distance"] == nil {
			nulls++
		}
	}
	if nulls != 12 {
		t.Errorf("%d Lunch records with a null pareto_distance, want 12", nulls)
	}

	for _, c := range []struct {
		name  string
		write func(*bytes.Buffer) error
		rows  int
		cols  int
	}{
		{"negotiations", func(b *bytes.Buffer) error { return res.WriteNegotiationsCSV(b) }, 25, 4 + 2*4 + 11},
		{"agents", func(b *bytes.Buffer) error { return res.WriteAgentsCSV(b) }, 4, 6 + 7*3},
	} {
		var b bytes.Buffer
		if err := c.write(&b); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatalf("%s CSV: %v", c.name, err)
		}
		if len(rows) != c.rows || len(rows[0]) != c.cols {
			t.Errorf("%s CSV: %d rows of %d columns, want %d of %d", c.name, len(rows), len(rows[0]), c.rows, c.cols)
		}
	}
}

func TestSeed(t *testing.T) {
	seen := make(map[uint64]bool)
	for s := range uint64(4) {
		for i := range 1000 {
			x := tournament.Seed(s, i)
			if seen[x] {
				t.Fatalf("Seed(%d, %d) = %d repeats", s, i, x)
			}
			seen[x] = true
		}
	}
}
