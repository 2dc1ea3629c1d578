package talks_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/internal/pgtest"
	"github.com/backchannel/backchannel/internal/postgres"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// prefStore is a store the preference tests run on and close.
type prefStore interface {
	talks.Store
	Close() error
}

// prefBackends opens a fresh store of each kind: SQLite always, PostgreSQL
// (a new database) when BACKCHANNEL_TEST_POSTGRES is set.
func prefBackends(t *testing.T) map[string]func(t *testing.T) prefStore {
	m := map[string]func(t *testing.T) prefStore{
		"sqlite": func(t *testing.T) prefStore {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bc.db"))
			mustOK(t, "sqlite.Open", err)
			return st
		},
	}
	if pgtest.DSN() == "" {
		return m
	}
	m["postgres"] = func(t *testing.T) prefStore {
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		mustOK(t, "postgres.Open", err)
		return st
	}
	return m
}

// deal is a talk with an outcome space: Northland and Southland, each
// with a principal, an envoy, an advisor and an observer (NP NE NA NO, SP
// SE SA SO), a facilitator F, an outsider O, and version 1 on the table
// (hills, north, 5000), which both parties would trade for (river, south).
type deal struct {
	svc          *talks.Service
	users        map[string]*talks.User
	talk         *talks.Talk
	north, south *talks.Party
	version      *talks.Version
}

func (d *deal) as(name string) context.Context {
	if name == "" {
		return context.Background()
	}
	return talks.NewContextWithUser(context.Background(), d.users[name])
}

func dealSpace(t *testing.T) *outcome.Space {
	sp, err := outcome.NewSpace("border",
		outcome.NewDiscrete("line", "river", "ridge", "hills"),
		outcome.NewDiscrete("water", "north", "shared", "south"),
		outcome.NewDiscrete("troops", "0", "5000", "10000"))
	mustOK(t, "NewSpace", err)
	return sp
}

func northPrefs(d *deal) *talks.Preferences {
	return &talks.Preferences{TalkID: d.talk.ID, PartyID: d.north.ID, Reserved: 0.3,
		Weights: map[string]float64{"line": 5, "water": 2, "troops": 3},
		Scores: map[string]map[string]float64{"line": {"river": 1, "ridge": 0.5, "hills": 0},
			"water": {"north": 1, "shared": 0.6, "south": 0}, "troops": {"0": 0, "5000": 0.5, "10000": 1}}}
}

func southPrefs(d *deal) *talks.Preferences {
	return &talks.Preferences{TalkID: d.talk.ID, PartyID: d.south.ID, Reserved: 0.2,
		Weights: map[string]float64{"line": 0.2, "water": 0.5, "troops": 0.3},
		Scores: map[string]map[string]float64{"line": {"river": 0, "ridge": 0.5, "hills": 1},
			"water": {"north": 0, "shared": 0.6, "south": 1}, "troops": {"0": 1, "5000": 0.5, "10000": 0}}}
}

func newDeal(t *testing.T, st talks.Store) *deal {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := talks.ClockFunc(func() time.Time { now = now.Add(time.Second); return now })
	d := &deal{svc: talks.NewService(st, clock), users: map[string]*talks.User{}}
	for _, n := range []string{"F", "NP", "NE", "NA", "NO", "SP", "SE", "SA", "SO", "O"} {
		u := &talks.User{Name: n, Email: n + "@example.org"}
		mustOK(t, "CreateUser", st.CreateUser(ctx, u))
		d.users[n] = u
	}
	d.talk = &talks.Talk{Title: "Border", Space: dealSpace(t)}
	mustOK(t, "CreateTalk", d.svc.CreateTalk(d.as("F"), d.talk))
	mustOK(t, "CreateTalk", d.svc.CreateTalk(d.as("O"), &talks.Talk{Title: "Elsewhere"}))
	d.north = &talks.Party{TalkID: d.talk.ID, Name: "Northland"}
	d.south = &talks.Party{TalkID: d.talk.ID, Name: "Southland"}
	mustOK(t, "AddParty", d.svc.AddParty(d.as("F"), d.north))
	mustOK(t, "AddParty", d.svc.AddParty(d.as("F"), d.south))
	for _, m := range []struct {
		name string
		p    *talks.Party
		r    talks.Role
	}{{"NP", d.north, talks.RolePrincipal}, {"NE", d.north, talks.RoleEnvoy}, {"NA", d.north, talks.RoleAdvisor}, {"NO", d.north, talks.RoleObserver},
		{"SP", d.south, talks.RolePrincipal}, {"SE", d.south, talks.RoleEnvoy}, {"SA", d.south, talks.RoleAdvisor}, {"SO", d.south, talks.RoleObserver}} {
		mustOK(t, "AddMember", d.svc.AddMember(d.as("F"), &talks.Member{TalkID: d.talk.ID, UserID: d.users[m.name].ID, PartyID: m.p.ID, Role: m.r}))
	}
	tracks, err := d.svc.FindTracks(d.as("F"), d.talk.ID)
	mustOK(t, "FindTracks", err)
	d.version = &talks.Version{Values: map[string]string{"line": "hills", "water": "north", "troops": "5000"}}
	mustOK(t, "CreateProposal", d.svc.CreateProposal(d.as("NP"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Text"}, d.version))
	return d
}

func TestPreferences(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("Access", func(t *testing.T) { testPreferenceAccess(t, open(t)) })
			t.Run("Invalid", func(t *testing.T) { testPreferenceInvalid(t, open(t)) })
			t.Run("Events", func(t *testing.T) { testPreferenceEvents(t, open(t)) })
			t.Run("Suggestions", func(t *testing.T) { testSuggestions(t, open(t)) })
		})
	}
}

func testPreferenceAccess(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	save := map[string]string{"NP": "", "NE": "", "NA": talks.EFORBIDDEN, "NO": talks.EFORBIDDEN, "SP": talks.EFORBIDDEN,
		"SE": talks.EFORBIDDEN, "SA": talks.EFORBIDDEN, "SO": talks.EFORBIDDEN, "F": talks.EFORBIDDEN, "O": talks.ENOTFOUND, "": talks.EUNAUTHORIZED}
	for who, want := range save {
		err := d.svc.SavePreferences(d.as(who), northPrefs(d))
		if got := talks.ErrorCode(err); got != want {
			t.Errorf("SavePreferences(Northland) as %q: %v (code %q), want code %q", who, err, got, want)
		}
	}
	read := map[string]string{"NP": "", "NE": "", "NA": "", "NO": talks.EFORBIDDEN, "SP": talks.EFORBIDDEN,
		"SE": talks.EFORBIDDEN, "SA": talks.EFORBIDDEN, "SO": talks.EFORBIDDEN, "F": talks.EFORBIDDEN, "O": talks.ENOTFOUND, "": talks.EUNAUTHORIZED}
	for who, want := range read {
		a, err := d.svc.FindPreferences(d.as(who), d.talk.ID, d.north.ID)
		if got := talks.ErrorCode(err); got != want {
			t.Errorf("FindPreferences(Northland) as %q: %v (code %q), want code %q", who, err, got, want)
		} else if want == "" && (len(a) != 2 || a[0].Version != 1 || a[1].Version != 2) {
			t.Errorf("FindPreferences(Northland) as %q = %d versions, want 1 and 2", who, len(a))
		}
		_, err = d.svc.Standing(d.as(who), d.talk.ID)
		wantStanding := want
		if strings.HasPrefix(who, "S") && who != "SO" {
			wantStanding = "" // its own party's standing
		}
		if got := talks.ErrorCode(err); got != wantStanding {
			t.Errorf("Standing as %q: %v (code %q), want code %q", who, err, got, wantStanding)
		}
	}
	if _, err := d.svc.FindPreferences(d.as("NP"), d.talk.ID, 9999); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("FindPreferences(unknown party) = %v, want ENOTFOUND", err)
	}
}

func testPreferenceInvalid(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	for _, c := range []struct {
		name   string
		change func(p *talks.Preferences)
		want   string
	}{
		{"missing weight", func(p *talks.Preferences) { delete(p.Weights, "water") }, `Weight of issue "water" required.`},
		{"negative weight", func(p *talks.Preferences) { p.Weights["line"] = -1 }, `Weight of issue "line" must be a number ≥ 0.`},
		{"unknown issue", func(p *talks.Preferences) { p.Weights["oil"] = 1 }, `Weight for unknown issue "oil".`},
		{"missing score", func(p *talks.Preferences) { delete(p.Scores["line"], "ridge") }, `Score of "ridge" for issue "line" required.`},
		{"unknown value", func(p *talks.Preferences) { p.Scores["line"]["sea"] = 1 }, `Issue "line" has no value "sea".`},
		{"reserved above 1", func(p *talks.Preferences) { p.Reserved = 1.5 }, `Reserved value must be between 0 and 1.`},
		{"all weights 0", func(p *talks.Preferences) { p.Weights = map[string]float64{"line": 0, "water": 0, "troops": 0} }, `At least one issue must have a weight above 0.`},
	} {
		p := northPrefs(d)
		c.change(p)
		err := d.svc.SavePreferences(d.as("NP"), p)
		if talks.ErrorCode(err) != talks.EINVALID || talks.ErrorMessage(err) != c.want {
			t.Errorf("%s: SavePreferences = %v, want EINVALID %q", c.name, err, c.want)
		}
	}
	if a, _ := d.svc.FindPreferences(d.as("NP"), d.talk.ID, d.north.ID); len(a) != 0 {
		t.Errorf("invalid saves stored %d versions", len(a))
	}
}

func testPreferenceEvents(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	p := northPrefs(d)
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NE"), p))
	for _, who := range []string{"F", "NP", "NE", "NA", "NO", "SP", "SE", "SA", "SO"} {
		evs, err := d.svc.FindEvents(d.as(who), talks.EventFilter{TalkID: d.talk.ID})
		mustOK(t, "FindEvents", err)
		saw := false
		for _, e := range evs {
			if e.Type == talks.EventPreferencesSaved {
				saw = true
				for _, leak := range []string{"weights", "scores", "reserved", "river", "0.3"} {
					if strings.Contains(string(e.Payload), leak) {
						t.Errorf("preferences.saved payload %s contains %q", e.Payload, leak)
					}
				}
			}
		}
		if want := who == "NP" || who == "NE" || who == "NA"; saw != want {
			t.Errorf("%s sees preferences.saved: %v, want %v", who, saw, want)
		}
		// Selected by type, which the store does, the same rule holds.
		typed, err := d.svc.FindEvents(d.as(who), talks.EventFilter{TalkID: d.talk.ID, Type: talks.EventPreferencesSaved})
		mustOK(t, "FindEvents(type)", err)
		if want := saw; (len(typed) == 1) != want || len(typed) > 1 {
			t.Errorf("%s sees %d preferences.saved events by type, want %v", who, len(typed), want)
		}
	}
	if p.Digest != talks.PreferencesDigest(p.Salt, p.Body()) || len(p.Salt) != 32 {
		t.Errorf("digest does not commit to the salted body")
	}
}

func testSuggestions(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	mustOK(t, "SavePreferences north", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))

	// Southland has none yet: the engine says so rather than guess.
	sg, err := d.svc.Suggestions(d.as("F"), d.version.ID)
	mustOK(t, "Suggestions", err)
	if len(sg.Missing) != 1 || sg.Missing[0].ID != d.south.ID || len(sg.Items) != 0 {
		t.Fatalf("Suggestions without Southland's preferences: missing %v, %d items; want Southland missing and none", sg.Missing, len(sg.Items))
	}
	s1, err := d.svc.Standing(d.as("NA"), d.talk.ID)
	mustOK(t, "Standing", err)
	if len(s1.Versions) != 1 || s1.Versions[0].Efficiency != talks.Unknown {
		t.Fatalf("Standing without Southland's preferences = %+v, want one version of unknown efficiency", s1.Versions)
	}

	mustOK(t, "SavePreferences south", d.svc.SavePreferences(d.as("SE"), southPrefs(d)))
	for _, who := range []string{"NP", "NA", "SP", "F", "NO", "SO"} {
		sg, err := d.svc.Suggestions(d.as(who), d.version.ID)
		mustOK(t, "Suggestions as "+who, err)
		if len(sg.Missing) != 0 || len(sg.Items) < 3 {
			t.Fatalf("Suggestions as %s: missing %v, %d items; want none missing, improvements, Nash and KS", who, sg.Missing, len(sg.Items))
		}
		first := sg.Items[0]
		if first.Kind != talks.SuggestImprovement || !first.EveryoneGains {
			t.Errorf("Suggestions as %s: first = %+v, want an improvement every party gains from", who, first)
		}
		if want := map[string]string{"line": "river", "water": "south", "troops": "5000"}; who == "NP" && !sameValues(first.Values, want) {
			t.Errorf("best improvement = %v, want %v", first.Values, want)
		}
		mayRead := who == "NP" || who == "NA" || who == "SP"
		for _, it := range sg.Items {
			if (it.Gain != nil) != mayRead {
				t.Errorf("Suggestions as %s: gain %v, want a gain only for the party's principal, envoys and advisors", who, it.Gain)
			}
			if it.Kind == talks.SuggestImprovement && it.Gain != nil && *it.Gain <= 0 {
				t.Errorf("Suggestions as %s: improvement with own gain %g", who, *it.Gain)
			}
		}
		if who == "NP" {
			if g := *first.Gain; g < 0.29 || g > 0.31 {
				t.Errorf("Northland's gain = %g, want 0.3 (0.35 to 0.65)", g)
			}
		}
	}
	s2, err := d.svc.Standing(d.as("SP"), d.talk.ID)
	mustOK(t, "Standing", err)
	if len(s2.Versions) != 1 {
		t.Fatalf("Standing = %d versions, want 1", len(s2.Versions))
	}
	v := s2.Versions[0]
	if v.Efficiency != talks.JointGain || !v.AboveReserved || v.Utility < 0.34 || v.Utility > 0.36 {
		t.Errorf("Southland's standing = utility %g above reserved %v %s, want 0.35, true, joint_gain", v.Utility, v.AboveReserved, v.Efficiency)
	}
	if _, err := d.svc.Suggestions(d.as("O"), d.version.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("Suggestions as an outsider = %v, want ENOTFOUND", err)
	}
}

func sameValues(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestImportPreferences writes a profile in both formats and reads it back
// as preferences with the same utility everywhere.
func TestImportPreferences(t *testing.T) {
	sp := dealSpace(t)
	f, err := utility.NewLinearAdditive(sp, []float64{0.5, 0.2, 0.3}, []utility.Evaluator{
		utility.Discrete{Evals: []float64{4, 2, 0}}, utility.Discrete{Evals: []float64{1, 0.6, 0}}, utility.Discrete{Evals: []float64{0, 5, 10}}})
	mustOK(t, "NewLinearAdditive", err)
	prof := &utility.Profile{Name: "north", Func: f, Reserved: 0.25, Discount: 1}
	for _, c := range []struct {
		format string
		write  func(*bytes.Buffer) error
	}{
		{talks.FormatGenius, func(b *bytes.Buffer) error { return genius.WriteProfile(b, prof) }},
		{talks.FormatGeniusWeb, func(b *bytes.Buffer) error { return genius.WriteWebProfile(b, prof) }},
	} {
		var b bytes.Buffer
		mustOK(t, "write "+c.format, c.write(&b))
		p, err := talks.ImportPreferences(sp, "", b.Bytes())
		mustOK(t, "ImportPreferences "+c.format, err)
		g, err := p.Func(sp)
		mustOK(t, "Func", err)
		for o := range sp.All() {
			if x, y := f.Utility(o), g.Utility(o); x-y > 1e-9 || y-x > 1e-9 {
				t.Errorf("%s: utility of %v = %g imported, %g in the file", c.format, o, y, x)
			}
		}
		if p.Reserved != 0.25 {
			t.Errorf("%s: reserved = %g, want 0.25", c.format, p.Reserved)
		}
	}
	for _, c := range []struct{ name, data, want string }{
		{"not xml", "<utility_space><issue", "line"},
		{"unknown issue", `{"LinearAdditiveUtilitySpace": {"issueWeights": {"oil": 1}, "issueUtilities": {}}}`, "oil"},
	} {
		_, err := talks.ImportPreferences(sp, "", []byte(c.data))
		if talks.ErrorCode(err) != talks.EINVALID || !strings.Contains(talks.ErrorMessage(err), c.want) {
			t.Errorf("%s: ImportPreferences = %v, want EINVALID naming %q", c.name, err, c.want)
		}
	}
}
