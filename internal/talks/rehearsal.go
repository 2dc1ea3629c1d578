package talks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/backchannel/backchannel/agent"
	"github.com/backchannel/backchannel/mechanism"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Rehearsal (issue 6, part 8): a party simulates the rest of the
// negotiation from the current state, many times, to see where it is
// likely to end. Its own preferences play against a model of the other
// side fitted to the offers the other parties have made so far, never
// against their real preferences:
//
//   - The model is agent.Frequency (HardHeaded's frequency model) fitted,
//     in the order they were proposed, to the versions of the text that
//     members of other parties authored in the tracks the acting member
//     may see. A facilitator's draft speaks for no party and is left out.
//     With several other parties, their offers feed one model: the
//     rehearsal is bilateral, the party against "the others".
//   - The runs play against the fitted model and perturbations of it
//     (modelVariants), so that the spread of outcomes reflects how little
//     a handful of offers says about the other side.
//   - Other parties' preferences are never read: the code path reads the
//     store's FindPreferences for the acting member's own party only.
//   - The model does not know the other side's reserved value; it is
//     taken as 0, so the modelled opponent accepts anything its strategy
//     accepts.
//   - Everything shown is in the party's own utility, and an estimate.
//
// A rehearsal is computed on request and never stored: nothing is
// written, so no event is appended.

// Limits and defaults of a rehearsal.
const (
	DefaultRehearsalRuns   = 300
	MaxRehearsalRuns       = 1000
	DefaultRehearsalRounds = 100
	MaxRehearsalRounds     = 1000
	// MaxRehearsalSteps bounds runs × rounds, the work a request may ask
	// for; the default is a tenth of it.
	MaxRehearsalSteps = 500_000
	// RehearsalTimeout bounds the time a rehearsal may take, whatever its
	// size: a large outcome space makes each step dearer.
	RehearsalTimeout = 10 * time.Second
	// RehearsalBins is the number of bins of Rehearsal.Histogram, each
	// 1/RehearsalBins wide over [0, 1].
	RehearsalBins = 10
)

// RehearsalRequest is what a party asks to rehearse. Zero fields take
// their defaults: "boulware" for both agents, DefaultRehearsalRuns runs,
// DefaultRehearsalRounds rounds, seed 1.
type RehearsalRequest struct {
	OwnAgent      string // the party's strategy, a name agent.New knows
	OpponentAgent string // the modelled opponent's strategy
	Runs          int    // number of negotiations, each with its own seed
	Rounds        int    // the deadline in rounds
	// Seed is the seed of the first run; run i has seed Seed+i. The same
	// request on the same state gives the same rehearsal.
	Seed uint64
}

// RehearsalOutcome is one agreement the rehearsal reached, with how often.
type RehearsalOutcome struct {
	Values  map[string]string // issue name to value name
	Utility float64           // the party's own utility of it
	Count   int               // runs that agreed on it
}

// Rehearsal is the result of a rehearsal, in the acting party's own utility
// only. It is an estimate: the other side is a model fitted to its offers.
type Rehearsal struct {
	PartyID            int64
	PreferencesVersion int64 // the version of the party's preferences used
	Reserved           float64
	OwnAgent           string
	OpponentAgent      string
	Runs, Rounds       int
	Seed               uint64
	// OpponentOffers is the number of other parties' versions the model
	// learnt from; with 0 the model is uninformed (every package looks
	// the same to it) and the estimate says little.
	OpponentOffers int

	Agreements int // runs that ended with an agreement
	// Histogram counts the runs that agreed by the party's utility of
	// the agreement: bin i holds [i/RehearsalBins, (i+1)/RehearsalBins),
	// the last bin including 1.
	Histogram [RehearsalBins]int
	// NoAgreementShare is the share of runs without agreement, in [0, 1].
	NoAgreementShare float64
	// Median and Mean are of the party's utility over the runs that
	// agreed; 0 without any.
	Median, Mean float64
	// Likely is the most frequent agreement (ties: the better one for the
	// party), nil if no run agreed.
	Likely *RehearsalOutcome
	// MeanRounds is the mean number of rounds the runs took.
	MeanRounds float64
}

// errNoPreferences is the error of a rehearsal for a party that has not
// entered preferences: the engine does not guess them.
var errNoPreferences = Errorf(ECONFLICT, "Your party has not entered preferences; a rehearsal needs them. Enter them on “My preferences” first.")

// Rehearse simulates the rest of talk talkID's negotiation for the acting
// member's party (see the comment above). The party's principal, envoys
// and advisors may; any other member gets EFORBIDDEN, and one who does not
// see the talk ENOTFOUND. EINVALID for an unknown agent or runs or rounds
// out of range (1..MaxRehearsalRuns, 1..MaxRehearsalRounds, their product
// at most MaxRehearsalSteps), a rehearsal that takes longer than
// RehearsalTimeout, or a talk without an outcome space; ECONFLICT if the party has no preferences.
// It writes nothing. It uses up to GOMAXPROCS goroutines and stops early
// if ctx is done.
func (s *Service) Rehearse(ctx context.Context, talkID int64, req RehearsalRequest) (*Rehearsal, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	me := v.Member.PartyID
	if !v.CanReadPreferences(me) {
		return nil, Errorf(EFORBIDDEN, "Only a party's principal, envoys and advisors may rehearse its negotiation.")
	}
	if err := req.normalise(); err != nil {
		return nil, err
	}
	sp := v.Talk.Space
	if sp == nil {
		return nil, Errorf(EINVALID, "The talk has no outcome space yet.")
	}
	// The party's own preferences, and no one else's.
	hist, err := s.store.FindPreferences(ctx, talkID, me)
	if err != nil {
		return nil, err
	}
	if len(hist) == 0 {
		return nil, errNoPreferences
	}
	prefs := hist[len(hist)-1]
	own, err := prefs.Func(sp)
	if err != nil {
		return nil, err
	}
	offers, err := s.opponentOffers(ctx, v, sp)
	if err != nil {
		return nil, err
	}
	model := agent.NewFrequency(sp)
	for _, o := range offers {
		model.Update(o)
	}
	opp, err := snapshotModel(model)
	if err != nil {
		return nil, Errorf(EINTERNAL, "The opponent model failed.")
	}
	mine := &utility.Profile{Name: "own", Func: memoFunc(own), Reserved: prefs.Reserved, Discount: 1}
	var others []*utility.Profile
	for _, f := range modelVariants(opp, len(offers), req.Seed) {
		others = append(others, &utility.Profile{Name: "opponent model", Func: memoFunc(f), Reserved: 0, Discount: 1})
	}
	rctx, cancel := context.WithTimeout(ctx, RehearsalTimeout)
	defer cancel()
	results, err := rehearse(rctx, mine, others, req)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil, Errorf(EINVALID, "The rehearsal took longer than %s; ask for fewer runs or rounds.", RehearsalTimeout)
	} else if err != nil {
		return nil, err
	}
	r := &Rehearsal{PartyID: me, PreferencesVersion: prefs.Version, Reserved: prefs.Reserved,
		OwnAgent: req.OwnAgent, OpponentAgent: req.OpponentAgent, Runs: req.Runs, Rounds: req.Rounds, Seed: req.Seed,
		OpponentOffers: len(offers)}
	summarise(r, sp, own, results)
	return r, nil
}

func (req *RehearsalRequest) normalise() error {
	req.OwnAgent = strings.ToLower(strings.TrimSpace(cmp.Or(req.OwnAgent, "boulware")))
	req.OpponentAgent = strings.ToLower(strings.TrimSpace(cmp.Or(req.OpponentAgent, "boulware")))
	for _, a := range []string{req.OwnAgent, req.OpponentAgent} {
		if _, err := agent.New(a); err != nil {
			return Errorf(EINVALID, "Unknown agent %q; choose one of %s.", a, strings.Join(agent.Names(), ", "))
		}
	}
	req.Runs = cmp.Or(req.Runs, DefaultRehearsalRuns)
	req.Rounds = cmp.Or(req.Rounds, DefaultRehearsalRounds)
	req.Seed = cmp.Or(req.Seed, 1)
	if req.Runs < 1 || req.Runs > MaxRehearsalRuns {
		return Errorf(EINVALID, "Runs must be between 1 and %d.", MaxRehearsalRuns)
	}
	if req.Rounds < 1 || req.Rounds > MaxRehearsalRounds {
		return Errorf(EINVALID, "Rounds must be between 1 and %d.", MaxRehearsalRounds)
	}
	if req.Runs*req.Rounds > MaxRehearsalSteps {
		return Errorf(EINVALID, "Runs × rounds must be at most %d.", MaxRehearsalSteps)
	}
	return nil
}

// opponentOffers returns the versions that members of other parties
// authored, in the tracks v's member may see, oldest first, as outcomes.
func (s *Service) opponentOffers(ctx context.Context, v *View, sp *outcome.Space) ([]outcome.Outcome, error) {
	props, err := s.FindProposals(ctx, ProposalFilter{TalkID: v.Talk.ID}) // visible tracks only
	if err != nil {
		return nil, err
	}
	var vers []*Version
	for _, p := range props {
		vs, err := s.store.FindVersions(ctx, VersionFilter{ProposalID: p.ID})
		if err != nil {
			return nil, err
		}
		for _, ver := range vs {
			m := v.snap.members[ver.AuthorID]
			if m == nil || m.PartyID == 0 || m.PartyID == v.Member.PartyID {
				continue
			}
			vers = append(vers, ver)
		}
	}
	slices.SortFunc(vers, func(a, b *Version) int { return cmp.Compare(a.ID, b.ID) })
	var out []outcome.Outcome
	for _, ver := range vers {
		o, err := sp.Parse(ver.Values)
		if err != nil {
			continue // a version of an older space; none is written so
		}
		out = append(out, o)
	}
	return out, nil
}

// snapshotModel freezes a Frequency model into a linear additive function,
// so that agents can index it. The model is additive with issue weights
// w_i and per-value terms w_i·e_iv/max_v e_iv, so each term is recovered
// from differences of utilities, the largest term of issue i being w_i.
func snapshotModel(m *agent.Frequency) (*utility.LinearAdditive, error) {
	sp := m.Space()
	w := m.Weights()
	base := make(outcome.Outcome, len(sp.Issues))
	u0 := m.Utility(base)
	weights := make([]float64, len(sp.Issues))
	evs := make([]utility.Evaluator, len(sp.Issues))
	o := make(outcome.Outcome, len(sp.Issues))
	for i, is := range sp.Issues {
		d := make([]float64, is.Len())
		copy(o, base)
		for j := range d {
			o[i] = j
			d[j] = m.Utility(o) - u0
		}
		top := slices.Max(d)
		for j := range d {
			if w[i] > 0 {
				d[j] = min(1, max(0, (w[i]+d[j]-top)/w[i]))
			} else {
				d[j] = 0
			}
		}
		weights[i] = w[i]
		evs[i] = utility.Scores{Utilities: d}
	}
	return utility.NewLinearAdditive(sp, weights, evs)
}

// memo keeps the functions rehearsals used, by content, so that the same
// preferences and the same model are the same pointer next time: agents
// keep an index per function (agent.IndexOf), and a fresh pointer per
// request would build, and keep, a new one each time.
var memo = struct {
	sync.Mutex
	m map[[32]byte]*utility.LinearAdditive
}{m: map[[32]byte]*utility.LinearAdditive{}}

// memoLimit bounds memo; it is emptied when full.
const memoLimit = 256

func memoFunc(f *utility.LinearAdditive) *utility.LinearAdditive {
	h := sha256.New()
	for _, is := range f.Space().Issues {
		fmt.Fprintf(h, "%q %d %q\n", is.Name, is.Kind, is.Values)
		for v := range is.Len() {
			fmt.Fprintf(h, "%q ", is.Value(v))
		}
	}
	fmt.Fprint(h, f.Terms())
	var k [32]byte
	h.Sum(k[:0])
	memo.Lock()
	defer memo.Unlock()
	if g := memo.m[k]; g != nil {
		return g
	}
	if len(memo.m) >= memoLimit {
		clear(memo.m)
	}
	memo.m[k] = f
	return f
}

// RehearsalVariants is the number of opponent models a rehearsal plays
// against: the fitted model and perturbations of it, run i playing
// variant i mod RehearsalVariants.
const RehearsalVariants = 16

// modelVariants returns the fitted model f and RehearsalVariants−1
// perturbations of it, so that the runs express what the model does not
// know: each issue weight and each value's evaluation is multiplied by
// exp(σ·z), z standard normal, then the weights are renormalised and each
// issue's evaluations rescaled so that the best is 1. σ = 0.5/√(1+offers),
// so the spread shrinks as the other side makes more offers. The draws
// come from a PCG seeded by seed, so they are the same for the same
// request. Without the variants, deterministic agents (time-based,
// tit-for-tat) would play the same negotiation in every run.
func modelVariants(f *utility.LinearAdditive, offers int, seed uint64) []*utility.LinearAdditive {
	out := []*utility.LinearAdditive{f}
	sigma := 0.5 / math.Sqrt(1+float64(offers))
	rng := rand.New(rand.NewPCG(seed, 0x7265686561727365)) // "rehearse"
	sp := f.Space()
	for range RehearsalVariants - 1 {
		weights := make([]float64, len(sp.Issues))
		evs := make([]utility.Evaluator, len(sp.Issues))
		var sum float64
		for i := range sp.Issues {
			weights[i] = f.Weights[i] * math.Exp(sigma*rng.NormFloat64())
			sum += weights[i]
			base := f.Evaluators[i].(utility.Scores).Utilities
			u := make([]float64, len(base))
			var top float64
			for v, e := range base {
				u[v] = e * math.Exp(sigma*rng.NormFloat64())
				top = max(top, u[v])
			}
			for v := range u {
				if top > 0 {
					u[v] = min(1, u[v]/top)
				}
			}
			evs[i] = utility.Scores{Utilities: u}
		}
		for i := range weights {
			if sum > 0 {
				weights[i] /= sum
			}
		}
		g, err := utility.NewLinearAdditive(sp, weights, evs)
		if err != nil {
			continue // cannot happen: the values stay finite and in [0, 1]
		}
		out = append(out, g)
	}
	return out
}

// rehearse plays req.Runs negotiations, run i with seed req.Seed+i, on up
// to GOMAXPROCS goroutines; results are by run, so the order of work does
// not change them.
func rehearse(ctx context.Context, mine *utility.Profile, others []*utility.Profile, req RehearsalRequest) ([]*mechanism.Result, error) {
	results := make([]*mechanism.Result, req.Runs)
	workers := min(runtime.GOMAXPROCS(0), req.Runs)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		next     int
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := firstErr != nil
				mu.Unlock()
				if i >= req.Runs || stop {
					return
				}
				res, err := rehearseOne(ctx, []*utility.Profile{mine, others[i%len(others)]}, req, i)
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
				results[i] = res
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return results, nil
}

func rehearseOne(ctx context.Context, profiles []*utility.Profile, req RehearsalRequest, i int) (*mechanism.Result, error) {
	a, err := agent.New(req.OwnAgent)
	if err != nil {
		return nil, Errorf(EINVALID, "Unknown agent %q.", req.OwnAgent)
	}
	b, err := agent.New(req.OpponentAgent)
	if err != nil {
		return nil, Errorf(EINVALID, "Unknown agent %q.", req.OpponentAgent)
	}
	res, err := mechanism.Run(ctx, profiles, []mechanism.Negotiator{a, b},
		mechanism.Config{Rounds: req.Rounds, Seed: req.Seed + uint64(i)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, errors.Join(Errorf(EINTERNAL, "The rehearsal was stopped."), ctx.Err())
		}
		return nil, Errorf(EINTERNAL, "The rehearsal failed.")
	}
	return res, nil
}

// summarise fills r's distribution from the runs' results.
func summarise(r *Rehearsal, sp *outcome.Space, own utility.Func, results []*mechanism.Result) {
	type seen struct {
		o     outcome.Outcome
		u     float64
		count int
	}
	counts := map[string]*seen{}
	var us []float64
	rounds := 0
	for _, res := range results {
		rounds += res.Rounds
		if res.Agreement == nil {
			continue
		}
		u := own.Utility(res.Agreement)
		us = append(us, u)
		bin := min(int(u*RehearsalBins), RehearsalBins-1)
		r.Histogram[max(bin, 0)]++
		k := fmt.Sprint(res.Agreement)
		if counts[k] == nil {
			counts[k] = &seen{o: res.Agreement, u: u}
		}
		counts[k].count++
	}
	r.Agreements = len(us)
	r.NoAgreementShare = float64(len(results)-len(us)) / float64(len(results))
	r.MeanRounds = float64(rounds) / float64(len(results))
	if len(us) == 0 {
		return
	}
	slices.Sort(us)
	if n := len(us); n%2 == 1 {
		r.Median = us[n/2]
	} else {
		r.Median = (us[n/2-1] + us[n/2]) / 2
	}
	var sum float64
	for _, u := range us {
		sum += u
	}
	r.Mean = sum / float64(len(us))
	var best *seen
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a fixed order, so ties break the same way every time
	for _, k := range keys {
		c := counts[k]
		if best == nil || c.count > best.count || c.count == best.count && c.u > best.u+1e-12 {
			best = c
		}
	}
	r.Likely = &RehearsalOutcome{Values: sp.Values(best.o), Utility: best.u, Count: best.count}
}
