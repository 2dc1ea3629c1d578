package talks

import (
	"cmp"
	"context"
	"slices"

	"github.com/backchannel/backchannel/analysis"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// What the engine tells a member, from the parties' private preferences:
// its own party's utility of each version (Standing), and packages that
// would be better for everyone (Suggestions). Every number it returns is
// a utility or gain of the member's own party; of the other parties it
// says only whether each gains, never by how much.

// gainTol is the least gain that counts as a gain: utilities are in [0, 1].
const gainTol = 1e-9

// Efficiency says how far a version is from the Pareto frontier.
type Efficiency string

// The values of Efficiency.
const (
	// Efficient: no package is at least as good for every party and
	// better for one.
	Efficient Efficiency = "efficient"
	// JointGain: some package is better for every party.
	JointGain Efficiency = "joint_gain"
	// WeakGain: some package is better for some party and as good for
	// the others, but none is better for all.
	WeakGain Efficiency = "weak_gain"
	// Unknown: some party has not entered preferences, so the engine
	// cannot tell.
	Unknown Efficiency = "unknown"
)

// VersionStanding is one version of the text as the member's party sees it.
type VersionStanding struct {
	Proposal      *Proposal
	Version       *Version
	Utility       float64 // the party's own utility, by its latest preferences
	AboveReserved bool    // Utility ≥ the party's reserved value
	Efficiency    Efficiency
	// CrossesRedLine: the version falls below some stakeholder's red
	// line (whose, and by how much, is not said).
	CrossesRedLine bool
}

// Standing is what a party's member sees of the versions of the text under
// its party's latest preferences.
type Standing struct {
	PartyID     int64
	Preferences *Preferences // the latest, or nil if the party has none
	Missing     []*Party     // parties without preferences
	Versions    []*VersionStanding
}

// deal is the parties of a talk with their latest preferences.
type deal struct {
	space   *outcome.Space
	parties []*Party
	prefs   []*Preferences // by party, nil for none
	funcs   []utility.Func // set when no party is missing
	missing []*Party
}

func (s *Service) deal(ctx context.Context, v *View) (*deal, error) {
	parties, err := s.store.FindParties(ctx, PartyFilter{TalkID: v.Talk.ID})
	if err != nil {
		return nil, err
	}
	latest, err := s.store.FindLatestPreferences(ctx, v.Talk.ID)
	if err != nil {
		return nil, err
	}
	d := &deal{space: v.Talk.Space, parties: parties, prefs: make([]*Preferences, len(parties))}
	for i, p := range parties {
		for _, pr := range latest {
			if pr.PartyID == p.ID {
				d.prefs[i] = pr
			}
		}
		if d.prefs[i] == nil {
			d.missing = append(d.missing, p)
		}
	}
	if d.space == nil || len(d.missing) > 0 || len(parties) == 0 {
		return d, nil
	}
	for _, pr := range d.prefs {
		f, err := pr.Func(d.space)
		if err != nil {
			return nil, err
		}
		d.funcs = append(d.funcs, f)
	}
	return d, nil
}

func (d *deal) index(partyID int64) int {
	return slices.IndexFunc(d.parties, func(p *Party) bool { return p.ID == partyID })
}

// efficiency says whether some package dominates o.
func (d *deal) efficiency(ctx context.Context, o outcome.Outcome) (Efficiency, error) {
	if d.funcs == nil {
		return Unknown, nil
	}
	better, err := analysis.Dominating(ctx, d.funcs, o, 1)
	if err != nil {
		return "", Errorf(EINTERNAL, "The analysis failed.")
	}
	if len(better) == 0 {
		return Efficient, nil
	}
	base := utilities(d.funcs, o)
	if allGain(better[0].Utilities, base) { // the best by Nash product of gains
		return JointGain, nil
	}
	return WeakGain, nil
}

func utilities(funcs []utility.Func, o outcome.Outcome) []float64 {
	u := make([]float64, len(funcs))
	for i, f := range funcs {
		u[i] = f.Utility(o)
	}
	return u
}

func allGain(u, base []float64) bool {
	for i := range u {
		if u[i]-base[i] <= gainTol {
			return false
		}
	}
	return true
}

// Standing returns, for the acting member's party, its own utility of every
// version of the text it may see (in the order they were proposed), whether
// each is above its reserved value, and whether each is efficient. The
// party's principal, envoys and advisors may ask; everyone else gets
// EFORBIDDEN. A party without preferences gets a Standing with no
// Preferences and no versions.
func (s *Service) Standing(ctx context.Context, talkID int64) (*Standing, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	if !v.CanReadPreferences(v.Member.PartyID) {
		return nil, Errorf(EFORBIDDEN, "Only a party's principal, envoys and advisors have a standing.")
	}
	d, err := s.deal(ctx, v)
	if err != nil {
		return nil, err
	}
	st := &Standing{PartyID: v.Member.PartyID, Missing: d.missing}
	me := d.index(v.Member.PartyID)
	if me < 0 || d.prefs[me] == nil || d.space == nil {
		return st, nil
	}
	st.Preferences = d.prefs[me]
	own, err := st.Preferences.Func(d.space)
	if err != nil {
		return nil, err
	}
	props, err := s.FindProposals(ctx, ProposalFilter{TalkID: talkID})
	if err != nil {
		return nil, err
	}
	lines, err := s.store.FindLatestRedLines(ctx, talkID)
	if err != nil {
		return nil, err
	}
	for _, p := range props {
		vers, err := s.store.FindVersions(ctx, VersionFilter{ProposalID: p.ID})
		if err != nil {
			return nil, err
		}
		for _, ver := range vers {
			o, err := d.space.Parse(ver.Values)
			if err != nil {
				continue // a version of an older space; none is written so
			}
			e, err := d.efficiency(ctx, o)
			if err != nil {
				return nil, err
			}
			u := own.Utility(o)
			st.Versions = append(st.Versions, &VersionStanding{Proposal: p, Version: ver, Utility: u,
				AboveReserved: u >= st.Preferences.Reserved-gainTol, Efficiency: e, CrossesRedLine: crosses(v.Talk, lines, ver)})
		}
	}
	slices.SortStableFunc(st.Versions, func(a, b *VersionStanding) int {
		return cmp.Compare(a.Version.ID, b.Version.ID)
	})
	return st, nil
}

// SuggestionKind names where a suggestion comes from.
type SuggestionKind string

// The kinds of suggestion.
const (
	// SuggestImprovement: a package every party prefers to the version.
	SuggestImprovement SuggestionKind = "improvement"
	// SuggestNash: the Nash bargaining solution of the whole space.
	SuggestNash SuggestionKind = "nash"
	// SuggestKalaiSmorodinsky: the Kalai-Smorodinsky solution.
	SuggestKalaiSmorodinsky SuggestionKind = "kalai_smorodinsky"
)

// Suggestion is one package the engine proposes, as one member may see it.
type Suggestion struct {
	Kind   SuggestionKind
	Values map[string]string

	// Gain is the member's own party's utility of the package minus that
	// of the version; nil for a member who may not read its party's
	// preferences (a facilitator, an observer).
	Gain *float64

	// EveryoneGains reports whether every party prefers the package to
	// the version. It says nothing of how much.
	EveryoneGains bool
}

// Suggestions is the engine's answer for one version.
type Suggestions struct {
	Version *Version
	Missing []*Party // parties without preferences: no suggestion then
	Items   []*Suggestion
}

// MaxSuggestions is how many Pareto improvements Suggestions returns at
// most.
const MaxSuggestions = 5

// Suggestions returns packages that every party prefers to version
// versionID (Pareto improvements, best Nash product of the gains first, at
// most MaxSuggestions), then the Nash and Kalai-Smorodinsky packages of
// the whole space (over the parties' reserved values), when they exist.
// Any member who may see the version may ask; each sees only its own
// party's gain, and a facilitator or observer only whether every party
// gains. If some party has no preferences, Missing names them and there
// are no items: the engine does not guess.
func (s *Service) Suggestions(ctx context.Context, versionID int64) (*Suggestions, error) {
	v, _, ver, err := s.viewOfVersion(ctx, versionID)
	if err != nil {
		return nil, err
	}
	d, err := s.deal(ctx, v)
	if err != nil {
		return nil, err
	}
	out := &Suggestions{Version: ver, Missing: d.missing}
	if d.funcs == nil {
		return out, nil
	}
	o, err := d.space.Parse(ver.Values)
	if err != nil {
		return out, nil
	}
	me := -1
	if v.CanReadPreferences(v.Member.PartyID) {
		me = d.index(v.Member.PartyID)
	}
	base := utilities(d.funcs, o)
	item := func(k SuggestionKind, p analysis.Point) *Suggestion {
		sg := &Suggestion{Kind: k, Values: d.space.Values(p.Outcome), EveryoneGains: allGain(p.Utilities, base)}
		if me >= 0 {
			g := p.Utilities[me] - base[me]
			sg.Gain = &g
		}
		return sg
	}
	better, err := analysis.Dominating(ctx, d.funcs, o, 4*MaxSuggestions)
	if err != nil {
		return nil, Errorf(EINTERNAL, "The analysis failed.")
	}
	for _, p := range better {
		if len(out.Items) < MaxSuggestions && allGain(p.Utilities, base) {
			out.Items = append(out.Items, item(SuggestImprovement, p))
		}
	}
	reserved := make([]float64, len(d.prefs))
	for i, pr := range d.prefs {
		reserved[i] = pr.Reserved
	}
	frontier, err := analysis.Frontier(ctx, d.funcs, reserved, analysis.Options{})
	if err != nil {
		return nil, Errorf(EINTERNAL, "The analysis failed.")
	}
	if p := analysis.Nash(frontier, reserved); p != nil {
		out.Items = append(out.Items, item(SuggestNash, *p))
	}
	if p := analysis.KalaiSmorodinsky(frontier, reserved); p != nil {
		out.Items = append(out.Items, item(SuggestKalaiSmorodinsky, *p))
	}
	return out, nil
}
