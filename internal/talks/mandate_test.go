package talks_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

func TestMandates(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("Access", func(t *testing.T) { testMandateAccess(t, open(t)) })
			t.Run("Enforced", func(t *testing.T) { testMandateEnforced(t, open(t)) })
			t.Run("Events", func(t *testing.T) { testMandateEvents(t, open(t)) })
			t.Run("Race", func(t *testing.T) { testMandateRace(t, open(t)) })
		})
	}
}

// memberOf returns the member ID of user name in d's talk.
func memberOf(t *testing.T, d *deal, name string) int64 {
	t.Helper()
	ms, err := d.svc.FindMembers(d.as("F"), d.talk.ID)
	mustOK(t, "FindMembers", err)
	for _, m := range ms {
		if m.UserID == d.users[name].ID {
			return m.ID
		}
	}
	t.Fatalf("no member %s", name)
	return 0
}

func lineMandate(d *deal, envoy int64, allowed ...string) *talks.Mandate {
	return &talks.Mandate{TalkID: d.talk.ID, PartyID: d.north.ID, EnvoyID: envoy, Allowed: map[string][]string{"line": allowed}}
}

func testMandateAccess(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	ne := memberOf(t, d, "NE")
	save := map[string]string{"NP": "", "NE": talks.EFORBIDDEN, "NA": talks.EFORBIDDEN, "NO": talks.EFORBIDDEN, "SP": talks.EFORBIDDEN,
		"SE": talks.EFORBIDDEN, "SA": talks.EFORBIDDEN, "SO": talks.EFORBIDDEN, "F": talks.EFORBIDDEN, "O": talks.ENOTFOUND, "": talks.EUNAUTHORIZED}
	for who, want := range save {
		err := d.svc.SaveMandate(d.as(who), lineMandate(d, ne, "river", "ridge"))
		if got := talks.ErrorCode(err); got != want {
			t.Errorf("SaveMandate(Northland envoy) as %q: %v (code %q), want code %q", who, err, got, want)
		}
	}
	read := map[string]string{"NP": "", "NE": "", "NA": "", "NO": talks.EFORBIDDEN, "SP": talks.EFORBIDDEN,
		"SE": talks.EFORBIDDEN, "SA": talks.EFORBIDDEN, "SO": talks.EFORBIDDEN, "F": talks.EFORBIDDEN, "O": talks.ENOTFOUND, "": talks.EUNAUTHORIZED}
	for who, want := range read {
		m, err := d.svc.FindMandate(d.as(who), d.talk.ID, d.north.ID, ne)
		if got := talks.ErrorCode(err); got != want {
			t.Errorf("FindMandate(NE) as %q: %v (code %q), want code %q", who, err, got, want)
		} else if want == "" && (m.Version != 1 || strings.Join(m.Allowed["line"], ",") != "river,ridge") {
			t.Errorf("FindMandate(NE) as %q = version %d allowed %v, want 1 and river,ridge", who, m.Version, m.Allowed)
		}
		ms, err := d.svc.FindMandates(d.as(who), d.talk.ID, d.north.ID)
		if got := talks.ErrorCode(err); got != want {
			t.Errorf("FindMandates(Northland) as %q: %v (code %q), want code %q", who, err, got, want)
		} else if want == "" && len(ms) != 1 {
			t.Errorf("FindMandates(Northland) as %q = %d mandates, want 1", who, len(ms))
		}
	}
	// Not an envoy of the party; unknown party; invalid limits.
	if err := d.svc.SaveMandate(d.as("NP"), lineMandate(d, memberOf(t, d, "SE"), "river")); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("SaveMandate(Southland's envoy) as NP = %v, want ENOTFOUND", err)
	}
	if err := d.svc.SaveMandate(d.as("NP"), lineMandate(d, memberOf(t, d, "NA"), "river")); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("SaveMandate(an advisor) as NP = %v, want ENOTFOUND", err)
	}
	if _, err := d.svc.FindMandates(d.as("NP"), d.talk.ID, 9999); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("FindMandates(unknown party) = %v, want ENOTFOUND", err)
	}
	min := 0.5
	over := 1.5
	for _, c := range []struct {
		name string
		m    *talks.Mandate
		want string
	}{
		{"unknown issue", &talks.Mandate{Allowed: map[string][]string{"oil": {"x"}}}, `Mandate names unknown issue "oil".`},
		{"unknown value", &talks.Mandate{Allowed: map[string][]string{"line": {"sea"}}}, `Issue "line" has no value "sea".`},
		{"no value", &talks.Mandate{Allowed: map[string][]string{"line": {}}}, `Mandate allows no value of issue "line": allow at least one, or leave the issue open.`},
		{"min above 1", &talks.Mandate{MinUtility: &over}, `Minimum utility must be between 0 and 1.`},
		{"min without preferences", &talks.Mandate{MinUtility: &min}, `A minimum utility needs the party's preferences: enter them first.`},
	} {
		c.m.TalkID, c.m.PartyID, c.m.EnvoyID = d.talk.ID, d.north.ID, ne
		err := d.svc.SaveMandate(d.as("NP"), c.m)
		if talks.ErrorCode(err) != talks.EINVALID || talks.ErrorMessage(err) != c.want {
			t.Errorf("%s: SaveMandate = %v, want EINVALID %q", c.name, err, c.want)
		}
	}
	if m, _ := d.svc.FindMandate(d.as("NP"), d.talk.ID, d.north.ID, ne); m.Version != 1 {
		t.Errorf("invalid saves changed the mandate to version %d", m.Version)
	}
}

func testMandateEnforced(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	ctx := context.Background()
	ne := memberOf(t, d, "NE")
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	min := 0.6
	m := lineMandate(d, ne, "ridge", "river", "river")
	m.MinUtility = &min
	mustOK(t, "SaveMandate", d.svc.SaveMandate(d.as("NP"), m))
	if got := strings.Join(m.Allowed["line"], ","); got != "river,ridge" {
		t.Errorf("allowed values saved as %s, want river,ridge (the issue's order, once each)", got)
	}
	tracks, err := d.svc.FindTracks(d.as("NE"), d.talk.ID)
	mustOK(t, "FindTracks", err)

	refused := func(what string, err error, want, issue string) {
		t.Helper()
		if talks.ErrorCode(err) != talks.EFORBIDDEN || talks.ErrorMessage(err) != want {
			t.Errorf("%s = %v, want EFORBIDDEN %q", what, err, want)
		} else if got, ok := talks.MandateIssue(err); !ok || got != issue {
			t.Errorf("%s: MandateIssue = %q, %v, want %q, true", what, got, ok, issue)
		}
	}
	head, err := st.TalkHead(ctx, d.talk.ID)
	mustOK(t, "TalkHead", err)
	const lineMsg = "Your mandate allows line: river or ridge."
	refused("AnswerVersion(accept hills) as NE", d.svc.AnswerVersion(d.as("NE"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept}), lineMsg, "line")
	refused("ProposeVersion(hills) as NE", d.svc.ProposeVersion(d.as("NE"), &talks.Version{ParentID: d.version.ID,
		Values: map[string]string{"line": "hills", "water": "north", "troops": "10000"}}), lineMsg, "line")
	refused("CreateProposal(hills) as NE", d.svc.CreateProposal(d.as("NE"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Mine"},
		&talks.Version{Values: map[string]string{"line": "hills", "water": "north", "troops": "10000"}}), lineMsg, "line")
	// river, south, 0: 0.5·1 + 0.2·0 + 0.3·0 = 0.5 < 0.6.
	refused("ProposeVersion(utility 0.5) as NE", d.svc.ProposeVersion(d.as("NE"), &talks.Version{ParentID: d.version.ID,
		Values: map[string]string{"line": "river", "water": "south", "troops": "0"}}),
		"This is below the minimum utility your principal set (0.60): its utility to your party is 0.50.", "")
	if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head {
		t.Errorf("TalkHead after refusals = %d, %v, want %d: a refusal writes nothing", after, err, head)
	}
	if as, _ := d.svc.FindAnswers(d.as("NE"), talks.AnswerFilter{VersionID: d.version.ID}); len(as) != 0 {
		t.Errorf("refusals left %d answers", len(as))
	}

	// A counter inside the mandate passes.
	inside := &talks.Version{ParentID: d.version.ID, Values: map[string]string{"line": "ridge", "water": "north", "troops": "10000"}}
	mustOK(t, "ProposeVersion inside the mandate", d.svc.ProposeVersion(d.as("NE"), inside))
	// A principal is not limited by a mandate.
	hills := &talks.Version{ParentID: inside.ID, Values: map[string]string{"line": "hills", "water": "south", "troops": "0"}}
	mustOK(t, "ProposeVersion(hills) as NP", d.svc.ProposeVersion(d.as("NP"), hills))
	mustOK(t, "AnswerVersion(reject) outside the mandate as SE", d.svc.AnswerVersion(d.as("SE"), &talks.Answer{VersionID: hills.ID, Kind: talks.AnswerReject}))
	// Lifting the mandate lets the envoy accept.
	mustOK(t, "SaveMandate (no limits)", d.svc.SaveMandate(d.as("NP"), &talks.Mandate{TalkID: d.talk.ID, PartyID: d.north.ID, EnvoyID: ne}))
	mustOK(t, "CreateProposal(hills) as NE after lifting", d.svc.CreateProposal(d.as("NE"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Mine"},
		&talks.Version{Values: map[string]string{"line": "hills", "water": "north", "troops": "10000"}}))
}

func testMandateEvents(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	ne := memberOf(t, d, "NE")
	mustOK(t, "SaveMandate", d.svc.SaveMandate(d.as("NP"), lineMandate(d, ne, "ridge")))
	sees := map[string]bool{"NP": true, "NE": true, "NA": true}
	for _, who := range []string{"F", "NP", "NE", "NA", "NO", "SP", "SE", "SA", "SO"} {
		evs, err := d.svc.FindEvents(d.as(who), talks.EventFilter{TalkID: d.talk.ID})
		mustOK(t, "FindEvents", err)
		saw := false
		for _, e := range evs {
			if e.Type == talks.EventMandateSaved {
				saw = true
				if p := string(e.Payload); strings.Contains(p, "ridge") || strings.Contains(p, "line") || strings.Contains(p, "allowed") {
					t.Errorf("mandate.saved payload %s carries the limits", p)
				}
			}
		}
		if saw != sees[who] {
			t.Errorf("%s sees mandate.saved: %v, want %v", who, saw, sees[who])
		}
	}
}

// racingStore runs before just before each write of the text, each answer
// and its withdrawal, each message and its retraction, and each meeting
// reaches the store: after the Service decided it (and checked the
// mandate), before the store's transaction.
type racingStore struct {
	prefStore
	before func()
}

func (s *racingStore) SaveMandate(ctx context.Context, m *talks.Mandate, st talks.Stamp) error {
	s.before()
	return s.prefStore.SaveMandate(ctx, m, st)
}

func (s *racingStore) Ratify(ctx context.Context, talkID, userID int64, d talks.Decision, comment string, st talks.Stamp) error {
	s.before()
	return s.prefStore.Ratify(ctx, talkID, userID, d, comment, st)
}

func (s *racingStore) CreateProposal(ctx context.Context, p *talks.Proposal, v *talks.Version, st talks.Stamp) error {
	s.before()
	return s.prefStore.CreateProposal(ctx, p, v, st)
}

func (s *racingStore) ProposeVersion(ctx context.Context, v *talks.Version, counter *talks.Answer, st talks.Stamp) error {
	s.before()
	return s.prefStore.ProposeVersion(ctx, v, counter, st)
}

func (s *racingStore) AnswerVersion(ctx context.Context, a *talks.Answer, st talks.Stamp) error {
	s.before()
	return s.prefStore.AnswerVersion(ctx, a, st)
}

func (s *racingStore) WithdrawAnswer(ctx context.Context, id int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.WithdrawAnswer(ctx, id, st)
}

func (s *racingStore) PostMessage(ctx context.Context, m *talks.Message, st talks.Stamp) error {
	s.before()
	return s.prefStore.PostMessage(ctx, m, st)
}

func (s *racingStore) RetractMessage(ctx context.Context, id int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.RetractMessage(ctx, id, st)
}

func (s *racingStore) CreateMeeting(ctx context.Context, m *talks.Meeting, st talks.Stamp) error {
	s.before()
	return s.prefStore.CreateMeeting(ctx, m, st)
}

func (s *racingStore) UpdateMeeting(ctx context.Context, id int64, upd talks.MeetingUpdate, st talks.Stamp) (*talks.Meeting, error) {
	s.before()
	return s.prefStore.UpdateMeeting(ctx, id, upd, st)
}

func (s *racingStore) AddMember(ctx context.Context, m *talks.Member, st talks.Stamp) error {
	s.before()
	return s.prefStore.AddMember(ctx, m, st)
}

func (s *racingStore) ChangeMemberRole(ctx context.Context, talkID, memberID int64, r talks.Role, st talks.Stamp) error {
	s.before()
	return s.prefStore.ChangeMemberRole(ctx, talkID, memberID, r, st)
}

func (s *racingStore) RemoveMember(ctx context.Context, talkID, memberID int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.RemoveMember(ctx, talkID, memberID, st)
}

func (s *racingStore) AddTrackMember(ctx context.Context, trackID, memberID int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.AddTrackMember(ctx, trackID, memberID, st)
}

func (s *racingStore) RemoveTrackMember(ctx context.Context, trackID, memberID int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.RemoveTrackMember(ctx, trackID, memberID, st)
}

func (s *racingStore) SavePreferences(ctx context.Context, p *talks.Preferences, st talks.Stamp) error {
	s.before()
	return s.prefStore.SavePreferences(ctx, p, st)
}

func (s *racingStore) CreateInvitation(ctx context.Context, inv *talks.Invitation, st talks.Stamp) error {
	s.before()
	return s.prefStore.CreateInvitation(ctx, inv, st)
}

func (s *racingStore) RevokeInvitation(ctx context.Context, id int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.RevokeInvitation(ctx, id, st)
}

func (s *racingStore) ProposeDisclosure(ctx context.Context, d *talks.Disclosure, trackID int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.ProposeDisclosure(ctx, d, trackID, st)
}

func (s *racingStore) ConsentDisclosure(ctx context.Context, talkID, rev int64, c *talks.DisclosureConsent, trackID int64, st talks.Stamp) error {
	s.before()
	return s.prefStore.ConsentDisclosure(ctx, talkID, rev, c, trackID, st)
}

func (s *racingStore) CarryAgreement(ctx context.Context, p *talks.Proposal, v *talks.Version, h *talks.Handoff, st talks.Stamp) error {
	s.before()
	return s.prefStore.CarryAgreement(ctx, p, v, h, st)
}

// testMandateRace has the principal narrow the mandate, or change the
// preferences it is measured by, between the Service's check of an
// envoy's write and the write: the write is refused and writes nothing.
// Each write's store checks the view it was decided by (talks.ViewCheck),
// finds it stale, and the write is decided again, by the new mandate
// (EFORBIDDEN, naming it). The store's own check of the mandate read
// (ErrMandateChanged) is storetest's.
func testMandateRace(t *testing.T, st prefStore) {
	defer st.Close()
	rs := &racingStore{prefStore: st, before: func() {}}
	d := newDeal(t, rs)
	ctx := context.Background()
	ne := memberOf(t, d, "NE")
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	mustOK(t, "SaveMandate", d.svc.SaveMandate(d.as("NP"), lineMandate(d, ne, "ridge", "river", "hills")))
	tracks, err := d.svc.FindTracks(d.as("NE"), d.talk.ID)
	mustOK(t, "FindTracks", err)
	narrow := func() {
		rs.before = func() {}
		mustOK(t, "SaveMandate (narrowed)", d.svc.SaveMandate(d.as("NP"), lineMandate(d, ne, "river")))
	}
	hills := map[string]string{"line": "hills", "water": "north", "troops": "10000"}
	head, err := st.TalkHead(ctx, d.talk.ID)
	mustOK(t, "TalkHead", err)
	// refused reports whether err is the refusal by the mandate's limit on
	// issue (EFORBIDDEN).
	refused := func(err error, issue string) bool {
		var me *talks.MandateError
		return talks.ErrorCode(err) == talks.EFORBIDDEN && errors.As(err, &me) && me.Issue == issue
	}
	// The envoy's writes, each refused by a change meanwhile, by the new
	// limit when decided again.
	type write struct {
		name  string
		write func() error
	}
	create := write{"CreateProposal", func() error {
		return d.svc.CreateProposal(d.as("NE"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Mine"}, &talks.Version{Values: hills})
	}}
	counter := write{"ProposeVersion", func() error {
		return d.svc.ProposeVersion(d.as("NE"), &talks.Version{ParentID: d.version.ID, Values: hills})
	}}
	accept := write{"AnswerVersion", func() error {
		return d.svc.AnswerVersion(d.as("NE"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept})
	}}
	for _, w := range []write{create, counter, accept} {
		mustOK(t, "SaveMandate (wide)", d.svc.SaveMandate(d.as("NP"), lineMandate(d, ne, "ridge", "river", "hills")))
		head, err = st.TalkHead(ctx, d.talk.ID)
		mustOK(t, "TalkHead", err)
		rs.before = narrow
		if err := w.write(); !refused(err, "line") {
			t.Errorf("%s with the mandate narrowed meanwhile = %v, want its refusal by the limit on line", w.name, err)
		}
		// The narrowing is the only write.
		if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
			t.Errorf("%s: TalkHead = %d, %v, want %d: only the mandate's event", w.name, after, err, head+1)
		}
	}

	// A minimum utility is measured by the party's latest preferences: a
	// change of them meanwhile refuses the write too.
	// Hills is worth 0.5 to the north by northPrefs, and 0 by worse.
	min := 0.1
	m := lineMandate(d, ne, "ridge", "river", "hills")
	m.MinUtility = &min
	mustOK(t, "SaveMandate (min utility)", d.svc.SaveMandate(d.as("NP"), m))
	worse := northPrefs(d)
	worse.Scores["water"]["north"], worse.Scores["troops"]["10000"] = 0, 0
	for _, w := range []write{create, counter} {
		mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
		head, err = st.TalkHead(ctx, d.talk.ID)
		mustOK(t, "TalkHead", err)
		rs.before = func() {
			rs.before = func() {}
			mustOK(t, "SavePreferences (meanwhile)", d.svc.SavePreferences(d.as("NP"), worse))
		}
		if err := w.write(); !refused(err, "") {
			t.Errorf("%s with the preferences changed meanwhile = %v, want its refusal by the minimum utility", w.name, err)
		}
		if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
			t.Errorf("%s: TalkHead = %d, %v, want %d: only the preferences' event", w.name, after, err, head+1)
		}
	}
	// Nothing changed meanwhile: the write goes through.
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	mustOK(t, "ProposeVersion", d.svc.ProposeVersion(d.as("NE"), &talks.Version{ParentID: d.version.ID, Values: hills}))
}
