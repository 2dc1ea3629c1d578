// Package tournament runs many negotiations between automated agents, in
// parallel, and scores the agents.
//
// A tournament is the cartesian product of
//
//	domains × agent tuples × profile assignments × repetitions
//
// For each domain the parties are the first Config.Parties profiles (2 by
// default: a bilateral tournament on a domain with three profiles uses the
// first two, in the order the domain lists them). An agent tuple gives the
// agent of each party position, which is also the turn order: every ordered
// tuple of distinct agents, or every ordered tuple with repetition when
// Config.SelfPlay is set. A profile assignment is a rotation of the
// profiles over the positions, so that each agent plays every role and
// moves first and second in each: for two parties, both role orders. With n
// agents, k parties, d domains and r repetitions there are
//
//	d · k · r · n^k                 negotiations with self-play
//	d · k · r · n!/(n−k)!           without
//
// For n = 3 agents on 3 bilateral domains with self-play that is 54, the
// tournament NegMAS's cartesian_tournament runs with rotated profiles.
//
// # Scores
//
// Each negotiation gives every party its final utility u (discounted, and
// its discounted reserved value without agreement, as the mechanism
// reports it). The normalised score of a party is
//
//	(u − rv) / (max − rv)
//
// where rv is its reserved value and max its best utility anywhere in the
// outcome space, both undiscounted: 1 for its best outcome, 0 for no
// agreement without discounting, and negative for a deal below its reserved
// value. A profile whose best utility is its reserved value scores 0.
//
// The distance to the Pareto frontier is analysis.Distance of the vector of
// final utilities to the frontier of the rational outcomes, and the
// distance to the Nash point is the Euclidean distance to the Nash point's
// utilities; both are computed once per domain and undefined (NaN, left
// out of the means) when the domain has no zone of agreement. Welfare is
// the sum of the final utilities, and the partner utility is the mean of
// the other parties' final utilities.
//
// An agent's summary averages over every seat it took: a self-play
// negotiation counts twice for its agent.
//
// # Reproducibility
//
// Negotiation i runs with the mechanism seed Seed(cfg.Seed, i) whatever
// the number of workers or the order in which they finish, and its record
// is stored at index i. With a deadline in rounds, and agents that take
// their randomness from mechanism.Info.Seed, the same configuration gives
// the same records, except for the wall-clock fields.
package tournament

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backchannel/backchannel/analysis"
	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Errors returned by Run. Wrapped errors carry the details.
var (
	ErrNoAgents  = errors.New("tournament: not enough agents")
	ErrNoDomains = errors.New("tournament: no domains")
	ErrParties   = errors.New("tournament: bad number of parties")
	ErrAgent     = errors.New("tournament: agent")
)

// Agent is a contestant: a name, unique in the tournament, and a
// constructor called for every seat the agent takes.
type Agent struct {
	Name string
	// New returns a fresh negotiator. It is called from several
	// goroutines at once.
	New func() (mechanism.Negotiator, error)
}

// Domain is an outcome space with the profiles of its roles.
type Domain struct {
	Name string
	// Profiles are the roles; a tournament uses the first Config.Parties.
	// They must share one outcome space.
	Profiles []*utility.Profile
}

// Config describes a tournament. Only Agents, Domains and a deadline in
// Mechanism are required.
type Config struct {
	Agents  []Agent
	Domains []Domain
	// Parties is the number of parties in each negotiation; 0 means 2.
	Parties int
	// Reps is the number of repetitions of each negotiation; 0 means 1.
	Reps int
	// SelfPlay lets an agent negotiate with copies of itself.
	SelfPlay bool
	// Mechanism configures every negotiation. Its Seed is replaced by each
	// negotiation's own seed, and Trace is ignored.
	Mechanism mechanism.Config
	// Seed is the tournament's seed, from which every negotiation's is
	// derived.
	Seed uint64
	// Workers is the number of negotiations run at once; 0 means
	// GOMAXPROCS.
	Workers int
	// Progress, if not nil, is called after each negotiation with the
	// number done and the total. Calls never overlap.
	Progress func(done, total int)
}

// Record is the outcome of one negotiation. Per-party slices are in party
// (turn) order.
type Record struct {
	Index  int
	Domain string
	Rep    int
	// Seed is the mechanism seed the negotiation ran with.
	Seed     uint64
	Agents   []string
	Profiles []string
	// Agreement is nil without one.
	Agreement outcome.Outcome
	Space     *outcome.Space
	// Utilities are the final utilities, Scores the normalised scores.
	Utilities []float64
	Scores    []float64
	Welfare   float64
	// Pareto and Nash are the distances to the frontier and to the Nash
	// point, NaN when the domain has no zone of agreement.
	Pareto, Nash float64
	Reason       mechanism.Reason
	Error        string // the mechanism's error text, for reason "error"
	// Failed is the position of the party whose failure ended the
	// negotiation (reason "error"), -1 if none did.
	Failed  int
	Rounds  int
	Steps   int
	Time    float64 // relative time t ∈ [0, 1] at the end
	Elapsed time.Duration
}

// Stat is the mean of a sample with its spread: the sample standard
// deviation and the standard error of the mean. All are NaN for an empty
// sample, and Std and SE are 0 for a single value.
type Stat struct {
	Mean, Std, SE float64
	N             int
}

// Summary is one agent's results over all the seats it took.
type Summary struct {
	Agent         string
	Negotiations  int // seats taken
	Agreements    int
	Errors        int // seats in which this agent failed and was removed
	AgreementRate float64
	Score         Stat // normalised score (u − rv)/(max − rv)
	Utility       Stat // own final utility
	Partner       Stat // mean final utility of the other parties
	Welfare       Stat // sum of the final utilities
	Pareto        Stat // distance to the Pareto frontier
	Nash          Stat // distance to the Nash point
	Rounds        Stat
}

// Result is a finished tournament.
type Result struct {
	Negotiations int
	Parties      int
	// Agents is sorted by mean score, best first; ties keep the order
	// of Config.Agents.
	Agents []Summary
	// Records holds every negotiation, by index.
	Records []Record
	Elapsed time.Duration
}

// Count returns the number of negotiations cfg describes, or an error if
// it describes none.
func Count(cfg Config) (int, error) {
	k := cfg.parties()
	if k < 2 {
		return 0, fmt.Errorf("%w: %d", ErrParties, k)
	}
	n := len(cfg.Agents)
	if n == 0 || !cfg.SelfPlay && n < k {
		return 0, fmt.Errorf("%w: %d agents for %d parties without self-play", ErrNoAgents, n, k)
	}
	if len(cfg.Domains) == 0 {
		return 0, ErrNoDomains
	}
	return len(cfg.Domains) * k * cfg.reps() * tuples(n, k, cfg.SelfPlay), nil
}

func (cfg Config) parties() int {
	if cfg.Parties > 0 {
		return cfg.Parties
	}
	return 2
}

func (cfg Config) reps() int { return max(cfg.Reps, 1) }

func (cfg Config) workers() int {
	if cfg.Workers > 0 {
		return cfg.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// tuples returns n^k, or n!/(n−k)! without repetition.
func tuples(n, k int, repeat bool) int {
	t := 1
	for i := range k {
		if repeat {
			t *= n
		} else {
			t *= n - i
		}
	}
	return t
}

// Seed returns the mechanism seed of negotiation i of a tournament with
// seed seed: SplitMix64 (Steele, Lea and Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014) of their combination, so
// that neighbouring negotiations get unrelated seeds.
func Seed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// domainInfo is what the scores of a domain need, computed once.
type domainInfo struct {
	profiles []*utility.Profile
	best     []float64 // each profile's best utility in the space
	frontier []analysis.Point
	nash     []float64 // nil without a ZOPA
}

func prepare(ctx context.Context, d Domain, k int) (*domainInfo, error) {
	if len(d.Profiles) < k {
		return nil, fmt.Errorf("%w: %s has %d profiles, want %d", ErrParties, d.Name, len(d.Profiles), k)
	}
	di := &domainInfo{profiles: d.Profiles[:k]}
	funcs := make([]utility.Func, k)
	reserved := make([]float64, k)
	for i, p := range di.profiles {
		if p == nil || p.Func == nil {
			return nil, fmt.Errorf("tournament: %s: profile %d has no utility function", d.Name, i)
		}
		funcs[i], reserved[i] = p.Func, p.Reserved
	}
	front, err := analysis.Frontier(ctx, funcs, reserved, analysis.Options{})
	if err != nil {
		return nil, fmt.Errorf("tournament: %s: %w", d.Name, err)
	}
	di.frontier = front
	if n := analysis.Nash(front, reserved); n != nil {
		di.nash = n.Utilities
	}
	if di.best, err = best(ctx, funcs); err != nil {
		return nil, fmt.Errorf("tournament: %s: %w", d.Name, err)
	}
	return di, nil
}

// best returns each function's largest utility over the whole space. It
// is exact: additive functions sum their issues' maxima, and otherwise the
// largest utilities are read off the Pareto frontier of all outcomes,
// which holds a best outcome of each party.
func best(ctx context.Context, funcs []utility.Func) ([]float64, error) {
	hi := make([]float64, len(funcs))
	additive := true
	for i, f := range funcs {
		if _, ok := f.(utility.Additive); !ok {
			additive = false
			break
		}
		_, hi[i] = utility.Bounds(f)
	}
	if additive {
		return hi, nil
	}
	floor := make([]float64, len(funcs))
	for i := range floor {
		floor[i] = -math.MaxFloat64
	}
	front, err := analysis.Frontier(ctx, funcs, floor, analysis.Options{})
	if err != nil {
		return nil, err
	}
	for i := range hi {
		hi[i] = math.Inf(-1)
		for _, p := range front {
			hi[i] = math.Max(hi[i], p.Utilities[i])
		}
	}
	return hi, nil
}

// job is one negotiation of the product, before it runs.
type job struct {
	domain int
	agents []int // agent of each position
	rot    int   // position i plays profile (i+rot) mod k
	rep    int
}

// jobs enumerates the product in index order: domain, then agent tuple,
// then rotation, then repetition.
func (cfg Config) jobs() []job {
	k, n := cfg.parties(), len(cfg.Agents)
	var tups [][]int
	var gen func(t []int)
	gen = func(t []int) {
		if len(t) == k {
			tups = append(tups, slices.Clone(t))
			return
		}
		for a := range n {
			if cfg.SelfPlay || !slices.Contains(t, a) {
				gen(append(t, a))
			}
		}
	}
	gen(make([]int, 0, k))
	var js []job
	for d := range cfg.Domains {
		for _, t := range tups {
			for rot := range k {
				for rep := range cfg.reps() {
					js = append(js, job{domain: d, agents: t, rot: rot, rep: rep})
				}
			}
		}
	}
	return js
}

// Run runs the tournament cfg describes. It returns an error if cfg is
// invalid, if an agent's constructor fails, if the mechanism refuses a
// negotiation (such as one without a deadline), or if ctx is done first.
// A negotiation that ends because an agent failed is recorded with
// mechanism's reason "error" and does not stop the tournament.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	total, err := Count(cfg)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool)
	for _, a := range cfg.Agents {
		if a.New == nil {
			return nil, fmt.Errorf("%w %q has no constructor", ErrAgent, a.Name)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("%w %q given twice", ErrAgent, a.Name)
		}
		seen[a.Name] = true
	}
	k := cfg.parties()
	infos := make([]*domainInfo, len(cfg.Domains))
	for i, d := range cfg.Domains {
		if infos[i], err = prepare(ctx, d, k); err != nil {
			return nil, err
		}
	}

	js := cfg.jobs()
	records := make([]Record, total)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	done := make(chan struct{}, cfg.workers())
	for range min(cfg.workers(), total) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total || ctx.Err() != nil {
					return
				}
				if err := cfg.negotiate(ctx, i, js[i], infos[js[i].domain], &records[i]); err != nil {
					errOnce.Do(func() { firstErr = err })
					cancel()
					return
				}
				done <- struct{}{}
			}
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	n := 0
	for range done {
		n++
		if cfg.Progress != nil {
			cfg.Progress(n, total)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if n < total {
		return nil, fmt.Errorf("tournament: %w", context.Cause(ctx))
	}
	res := &Result{Negotiations: total, Parties: k, Records: records}
	res.Agents = summarise(cfg.Agents, records)
	res.Elapsed = time.Since(start)
	return res, nil
}

// negotiate runs job j as negotiation i and fills r.
func (cfg Config) negotiate(ctx context.Context, i int, j job, di *domainInfo, r *Record) error {
	k := len(j.agents)
	d := cfg.Domains[j.domain]
	profiles := make([]*utility.Profile, k)
	negs := make([]mechanism.Negotiator, k)
	r.Agents = make([]string, k)
	r.Profiles = make([]string, k)
	for pos, a := range j.agents {
		ag := cfg.Agents[a]
		neg, err := ag.New()
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrAgent, ag.Name, err)
		}
		negs[pos] = neg
		profiles[pos] = di.profiles[(pos+j.rot)%k]
		r.Agents[pos] = ag.Name
		r.Profiles[pos] = profiles[pos].Name
	}
	mc := cfg.Mechanism
	mc.Seed = Seed(cfg.Seed, i)
	mc.Trace = false
	res, err := mechanism.Run(ctx, profiles, negs, mc)
	if err != nil {
		return fmt.Errorf("tournament: negotiation %d on %s: %w", i, d.Name, err)
	}
	r.Index, r.Domain, r.Rep, r.Seed = i, d.Name, j.rep, mc.Seed
	r.Reason, r.Rounds, r.Steps, r.Time, r.Elapsed = res.Reason, res.Rounds, res.Steps, res.Time, res.Elapsed
	r.Failed = -1
	if res.Err != nil {
		r.Error = res.Err.Error()
		if pe, ok := errors.AsType[*mechanism.PartyError](res.Err); ok {
			r.Failed = pe.Party
		}
	}
	r.Space = profiles[0].Space()
	if res.Agreement != nil {
		r.Agreement = res.Agreement.Clone()
	}
	r.Utilities = slices.Clone(res.Utilities)
	r.Scores = make([]float64, k)
	// inRoles holds the utilities in the domain's profile order, the order
	// of the frontier and the Nash point.
	inRoles := make([]float64, k)
	for pos, u := range r.Utilities {
		role := (pos + j.rot) % k
		inRoles[role] = u
		r.Welfare += u
		if gain := di.best[role] - profiles[pos].Reserved; gain > 0 {
			r.Scores[pos] = (u - profiles[pos].Reserved) / gain
		}
	}
	r.Pareto, r.Nash = math.NaN(), math.NaN()
	if di.nash != nil {
		r.Pareto = analysis.Distance(di.frontier, inRoles)
		r.Nash = dist(di.nash, inRoles)
	}
	return nil
}

func dist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

func summarise(agents []Agent, records []Record) []Summary {
	type samples struct {
		score, utility, partner, welfare, pareto, nash, rounds []float64
	}
	byName := make(map[string]int, len(agents))
	sums := make([]Summary, len(agents))
	ss := make([]samples, len(agents))
	for i, a := range agents {
		byName[a.Name] = i
		sums[i].Agent = a.Name
	}
	for _, r := range records {
		for pos, name := range r.Agents {
			a := byName[name]
			s, x := &sums[a], &ss[a]
			s.Negotiations++
			if r.Agreement != nil {
				s.Agreements++
			}
			if r.Failed == pos {
				s.Errors++
			}
			partner := 0.0
			for q, u := range r.Utilities {
				if q != pos {
					partner += u
				}
			}
			x.score = append(x.score, r.Scores[pos])
			x.utility = append(x.utility, r.Utilities[pos])
			x.partner = append(x.partner, partner/float64(len(r.Utilities)-1))
			x.welfare = append(x.welfare, r.Welfare)
			x.rounds = append(x.rounds, float64(r.Rounds))
			if !math.IsNaN(r.Pareto) {
				x.pareto = append(x.pareto, r.Pareto)
				x.nash = append(x.nash, r.Nash)
			}
		}
	}
	for i := range sums {
		s, x := &sums[i], &ss[i]
		s.AgreementRate = math.NaN()
		if s.Negotiations > 0 {
			s.AgreementRate = float64(s.Agreements) / float64(s.Negotiations)
		}
		s.Score, s.Utility, s.Partner = stat(x.score), stat(x.utility), stat(x.partner)
		s.Welfare, s.Pareto, s.Nash, s.Rounds = stat(x.welfare), stat(x.pareto), stat(x.nash), stat(x.rounds)
	}
	slices.SortStableFunc(sums, func(a, b Summary) int {
		// NaN (an agent that never played) sorts last.
		switch {
		case a.Score.Mean > b.Score.Mean || math.IsNaN(b.Score.Mean) && !math.IsNaN(a.Score.Mean):
			return -1
		case a.Score.Mean < b.Score.Mean || math.IsNaN(a.Score.Mean) && !math.IsNaN(b.Score.Mean):
			return 1
		}
		return 0
	})
	return sums
}

// stat computes the mean, the sample standard deviation (n − 1) and the
// standard error with Welford's one-pass update (Knuth, TAOCP vol. 2,
// 4.2.2), which does not lose precision on values far from zero.
func stat(xs []float64) Stat {
	s := Stat{N: len(xs), Mean: math.NaN(), Std: math.NaN(), SE: math.NaN()}
	if len(xs) == 0 {
		return s
	}
	mean, m2 := 0.0, 0.0
	for i, x := range xs {
		d := x - mean
		mean += d / float64(i+1)
		m2 += d * (x - mean)
	}
	s.Mean, s.Std, s.SE = mean, 0, 0
	if len(xs) > 1 {
		s.Std = math.Sqrt(m2 / float64(len(xs)-1))
		s.SE = s.Std / math.Sqrt(float64(len(xs)))
	}
	return s
}
