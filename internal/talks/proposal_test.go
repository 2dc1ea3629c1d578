package talks_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

func textSpace(t *testing.T) *outcome.Space {
	t.Helper()
	s, err := outcome.NewSpace("ceasefire", outcome.NewDiscrete("line", "river", "ridge", "coast"), outcome.NewInteger("prisoners", 0, 100))
	mustOK(t, "NewSpace", err)
	return s
}

func TestDiff(t *testing.T) {
	space := textSpace(t)
	v := func(line, prisoners string, clauses ...string) *talks.Version {
		ver := &talks.Version{Values: map[string]string{"line": line, "prisoners": prisoners}}
		for i := 0; i+1 < len(clauses); i += 2 {
			if ver.Clauses == nil {
				ver.Clauses = map[string]string{}
			}
			ver.Clauses[clauses[i]] = clauses[i+1]
		}
		return ver
	}
	tests := []struct {
		name string
		a, b *talks.Version
		want []talks.IssueDiff
	}{
		{"same", v("river", "10"), v("river", "10"), nil},
		{"one value", v("river", "10"), v("ridge", "10"), []talks.IssueDiff{{Issue: "line", From: "river", To: "ridge"}}},
		{"both values in space order", v("river", "10"), v("coast", "20"),
			[]talks.IssueDiff{{Issue: "line", From: "river", To: "coast"}, {Issue: "prisoners", From: "10", To: "20"}}},
		{"clause added", v("river", "10"), v("river", "10", "prisoners", "All at once."),
			[]talks.IssueDiff{{Issue: "prisoners", From: "10", To: "10", ClauseChanged: true}}},
		{"clause reworded and value", v("river", "10", "line", "a"), v("ridge", "10", "line", "b"),
			[]talks.IssueDiff{{Issue: "line", From: "river", To: "ridge", ClauseChanged: true}}},
		{"same clause", v("river", "10", "line", "a"), v("river", "10", "line", "a"), nil},
		{"clause of an issue outside the space", v("river", "10"), v("river", "10", "flags", "x"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := talks.Diff(space, tt.a, tt.b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff(%v, %v) = %+v, want %+v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestProjectText(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []*talks.Event
	var prev [32]byte
	add := func(track int64, typ string, p any) {
		e, err := talks.NewEvent(1, track, typ, talks.Stamp{ActorID: 9, Time: at.Add(time.Duration(len(evs)) * time.Minute)}, p)
		mustOK(t, "NewEvent", err)
		e.Seal(int64(len(evs)+1), prev)
		prev = e.Hash
		evs = append(evs, e)
	}
	minute := func(i int) time.Time { return at.Add(time.Duration(i) * time.Minute) }
	v1 := map[string]string{"line": "river"}
	v2 := map[string]string{"line": "ridge"}
	add(0, talks.EventTalkCreated, talks.TalkCreated{Title: "T", ConvenerID: 9})
	add(5, talks.EventTrackCreated, talks.TrackCreated{Name: "Official", Kind: talks.TrackOfficial})
	add(0, talks.EventPartyAdded, talks.PartyAdded{PartyID: 2, Name: "North"})
	add(0, talks.EventPartyAdded, talks.PartyAdded{PartyID: 3, Name: "South"})
	add(5, talks.EventProposalCreated, talks.ProposalCreated{ProposalID: 7, Title: "Draft", AuthorID: 4})
	add(5, talks.EventVersionProposed, talks.VersionProposed{VersionID: 8, ProposalID: 7, Values: v1, Clauses: map[string]string{"line": "c"}, Rationale: "r", AuthorID: 4})
	add(5, talks.EventAnswerGiven, talks.AnswerGiven{AnswerID: 10, VersionID: 8, PartyID: 2, MemberID: 4, Kind: talks.AnswerAccept})
	add(5, talks.EventVersionProposed, talks.VersionProposed{VersionID: 9, ProposalID: 7, ParentID: 8, Values: v2, AuthorID: 6})
	add(5, talks.EventAnswerGiven, talks.AnswerGiven{AnswerID: 11, VersionID: 8, PartyID: 3, MemberID: 6, Kind: talks.AnswerCounter, CounterID: 9})
	add(5, talks.EventAnswerWithdrawn, talks.AnswerWithdrawn{AnswerID: 10})
	add(5, talks.EventAnswerGiven, talks.AnswerGiven{AnswerID: 12, VersionID: 9, PartyID: 2, MemberID: 4, Kind: talks.AnswerAccept})
	add(5, talks.EventTalkAgreed, talks.TalkAgreed{ProposalID: 7, VersionID: 9})

	got, err := talks.Project(evs)
	mustOK(t, "Project", err)
	want := &talks.State{
		Proposals: []*talks.Proposal{{ID: 7, TalkID: 1, TrackID: 5, Title: "Draft", AuthorID: 4, CreatedAt: minute(4)}},
		Versions: []*talks.Version{
			{ID: 8, ProposalID: 7, Values: v1, Clauses: map[string]string{"line": "c"}, Rationale: "r", AuthorID: 4, CreatedAt: minute(5)},
			{ID: 9, ProposalID: 7, ParentID: 8, Values: v2, AuthorID: 6, CreatedAt: minute(7)},
		},
		Answers: []*talks.Answer{
			{ID: 10, ProposalID: 7, VersionID: 8, PartyID: 2, MemberID: 4, Kind: talks.AnswerAccept, CreatedAt: minute(6), WithdrawnAt: minute(9)},
			{ID: 11, ProposalID: 7, VersionID: 8, PartyID: 3, MemberID: 6, Kind: talks.AnswerCounter, CounterID: 9, CreatedAt: minute(8)},
			{ID: 12, ProposalID: 7, VersionID: 9, PartyID: 2, MemberID: 4, Kind: talks.AnswerAccept, CreatedAt: minute(10)},
		},
		Agreement: &talks.Agreement{TalkID: 1, ProposalID: 7, VersionID: 9, TrackID: 5, AgreedAt: minute(11)},
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{{"proposals", got.Proposals, want.Proposals}, {"versions", got.Versions, want.Versions}, {"answers", got.Answers, want.Answers}, {"agreement", got.Agreement, want.Agreement}} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("Project() %s = %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if got.Talk.Status != talks.StatusAgreed {
		t.Errorf("Project() talk status = %q, want agreed", got.Talk.Status)
	}

	bad := []struct {
		name   string
		events []*talks.Event
	}{
		{"proposal in an unknown track", append(evs[:1:1], evs[4])},
		{"version of an unknown proposal", append(evs[:4:4], evs[5])},
		{"answer to an unknown version", append(evs[:5:5], evs[6])},
		{"parent of an unknown version", append(evs[:5:5], evs[7])},
		{"withdrawal of an unknown answer", append(evs[:6:6], evs[9])},
		{"withdrawn twice", append(evs[:10:10], evs[9])},
		{"agreed twice", append(evs[:12:12], evs[11])},
	}
	for _, tt := range bad {
		if _, err := talks.Project(tt.events); err == nil {
			t.Errorf("%s: Project() = nil error, want one", tt.name)
		}
	}
}

// textWorld is the world of service_test.go on a talk with an outcome
// space, and three proposals: offProp in the official track by F, envProp
// in the envoys' back-channel by NE (which NE has accepted for the north),
// and northProp in the north back-channel by NP.
type textWorld struct {
	*world
	offProp, envProp, northProp *talks.Proposal
	offV1, envV1, northV1       *talks.Version
	envAccept                   *talks.Answer
}

func newTextWorld(t *testing.T) *textWorld {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bc.db"))
	mustOK(t, "Open", err)
	t.Cleanup(func() { st.Close() })
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := talks.ClockFunc(func() time.Time { now = now.Add(time.Second); return now })
	w := &world{svc: talks.NewService(st, clock), store: st, users: map[string]*talks.User{}, members: map[string]*talks.Member{}}
	for _, n := range []string{"F", "NP", "NE", "NA", "SP", "SE", "SA", "O"} {
		u := &talks.User{Name: n, Email: n + "@example.org"}
		mustOK(t, "CreateUser", st.CreateUser(ctx, u))
		w.users[n] = u
	}
	w.talk = &talks.Talk{Title: "Ceasefire", Space: textSpace(t)}
	mustOK(t, "CreateTalk", w.svc.CreateTalk(w.as("F"), w.talk))
	mustOK(t, "CreateTalk", w.svc.CreateTalk(w.as("O"), &talks.Talk{Title: "Elsewhere", Space: textSpace(t)}))
	ms, err := w.svc.FindMembers(w.as("F"), w.talk.ID)
	mustOK(t, "FindMembers", err)
	w.members["F"] = ms[0]
	w.north = &talks.Party{TalkID: w.talk.ID, Name: "Northland"}
	w.south = &talks.Party{TalkID: w.talk.ID, Name: "Southland"}
	mustOK(t, "AddParty", w.svc.AddParty(w.as("F"), w.north))
	mustOK(t, "AddParty", w.svc.AddParty(w.as("F"), w.south))
	for _, m := range []struct {
		name  string
		party *talks.Party
		role  talks.Role
	}{{"NP", w.north, talks.RolePrincipal}, {"SP", w.south, talks.RolePrincipal}, {"NE", w.north, talks.RoleEnvoy},
		{"NA", w.north, talks.RoleAdvisor}, {"SE", w.south, talks.RoleEnvoy}, {"SA", w.south, talks.RoleAdvisor}} {
		mem := &talks.Member{TalkID: w.talk.ID, UserID: w.users[m.name].ID, PartyID: m.party.ID, Role: m.role}
		mustOK(t, "AddMember "+m.name, w.svc.AddMember(w.as("F"), mem))
		w.members[m.name] = mem
	}
	tracks, err := w.svc.FindTracks(w.as("F"), w.talk.ID)
	mustOK(t, "FindTracks", err)
	w.official = tracks[0]
	w.envoys = &talks.Track{TalkID: w.talk.ID, Name: "Envoys", MemberIDs: []int64{w.members["NE"].ID, w.members["SE"].ID}}
	mustOK(t, "CreateTrack", w.svc.CreateTrack(w.as("F"), w.envoys))
	w.northBC = &talks.Track{TalkID: w.talk.ID, Name: "North only", MemberIDs: []int64{w.members["NA"].ID}}
	mustOK(t, "CreateTrack", w.svc.CreateTrack(w.as("F"), w.northBC))

	tw := &textWorld{world: w}
	propose := func(by string, track *talks.Track, line string) (*talks.Proposal, *talks.Version) {
		p := &talks.Proposal{TrackID: track.ID, Title: "Draft " + track.Name}
		v := &talks.Version{Values: map[string]string{"line": line, "prisoners": "10"}, Rationale: "A start."}
		mustOK(t, "CreateProposal by "+by, w.svc.CreateProposal(w.as(by), p, v))
		return p, v
	}
	tw.offProp, tw.offV1 = propose("F", w.official, "river")
	tw.envProp, tw.envV1 = propose("NE", w.envoys, "ridge")
	tw.northProp, tw.northV1 = propose("NP", w.northBC, "coast")
	tw.envAccept = &talks.Answer{VersionID: tw.envV1.ID, Kind: talks.AnswerAccept}
	mustOK(t, "AnswerVersion", w.svc.AnswerVersion(w.as("NE"), tw.envAccept))
	return tw
}

func values(line, prisoners string) map[string]string {
	return map[string]string{"line": line, "prisoners": prisoners}
}

// TestServiceTextAccess runs every Service method of the negotiating text
// as every user: what is in a track a user may not see answers ENOTFOUND;
// advisors, observers and facilitators who see it but may not answer get
// EFORBIDDEN.
func TestServiceTextAccess(t *testing.T) {
	members := []string{"F", "NP", "NE", "NA", "SP", "SE", "SA"}
	notFound := func(except ...string) map[string]string {
		m := map[string]string{"": talks.EUNAUTHORIZED}
		for _, u := range everyone[:len(everyone)-1] {
			if !slices.Contains(except, u) {
				m[u] = talks.ENOTFOUND
			}
		}
		return m
	}
	with := func(m map[string]string, code string, users ...string) map[string]string {
		for _, u := range users {
			m[u] = code
		}
		return m
	}
	ops := []struct {
		name string
		do   func(ctx context.Context, w *textWorld) error
		want map[string]string
	}{
		{"CreateProposal official", func(ctx context.Context, w *textWorld) error {
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.official.ID, Title: "x"}, &talks.Version{Values: values("river", "1")})
		}, with(notFound(members...), talks.EFORBIDDEN, "NA", "SA")},
		{"CreateProposal envoys", func(ctx context.Context, w *textWorld) error {
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.envoys.ID, Title: "x"}, &talks.Version{Values: values("river", "1")})
		}, notFound(seesEnvoys...)},
		{"CreateProposal north", func(ctx context.Context, w *textWorld) error {
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.northBC.ID, Title: "x"}, &talks.Version{Values: values("river", "1")})
		}, with(notFound(seesNorth...), talks.EFORBIDDEN, "NA")},
		{"FindProposals", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindProposals(ctx, talks.ProposalFilter{TalkID: w.talk.ID})
			return err
		}, notFound(members...)},
		{"FindProposals envoys", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindProposals(ctx, talks.ProposalFilter{TrackID: w.envoys.ID})
			return err
		}, notFound(seesEnvoys...)},
		{"FindProposalByID envoys", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindProposalByID(ctx, w.envProp.ID)
			return err
		}, notFound(seesEnvoys...)},
		{"FindProposalByID north", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindProposalByID(ctx, w.northProp.ID)
			return err
		}, notFound(seesNorth...)},
		{"FindProposalByID unknown", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindProposalByID(ctx, 9999)
			return err
		}, notFound()},
		{"FindVersions envoys", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindVersions(ctx, talks.VersionFilter{ProposalID: w.envProp.ID})
			return err
		}, notFound(seesEnvoys...)},
		{"FindVersionByID north", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindVersionByID(ctx, w.northV1.ID)
			return err
		}, notFound(seesNorth...)},
		{"FindAnswers envoys version", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindAnswers(ctx, talks.AnswerFilter{VersionID: w.envV1.ID})
			return err
		}, notFound(seesEnvoys...)},
		{"FindAnswers envoys proposal", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindAnswers(ctx, talks.AnswerFilter{ProposalID: w.envProp.ID})
			return err
		}, notFound(seesEnvoys...)},
		{"ProposeVersion official", func(ctx context.Context, w *textWorld) error {
			return w.svc.ProposeVersion(ctx, &talks.Version{ParentID: w.offV1.ID, Values: values("ridge", "1")})
		}, with(notFound(members...), talks.EFORBIDDEN, "NA", "SA")},
		{"ProposeVersion envoys", func(ctx context.Context, w *textWorld) error {
			return w.svc.ProposeVersion(ctx, &talks.Version{ParentID: w.envV1.ID, Values: values("river", "1")})
		}, with(notFound(seesEnvoys...), talks.ECONFLICT, "NE", "NP")}, // north has accepted it
		{"ProposeVersion north", func(ctx context.Context, w *textWorld) error {
			return w.svc.ProposeVersion(ctx, &talks.Version{ParentID: w.northV1.ID, Values: values("river", "1")})
		}, with(notFound(seesNorth...), talks.EFORBIDDEN, "NA")},
		{"ProposeVersion unknown", func(ctx context.Context, w *textWorld) error {
			return w.svc.ProposeVersion(ctx, &talks.Version{ParentID: 9999, Values: values("river", "1")})
		}, notFound()},
		{"AnswerVersion official", func(ctx context.Context, w *textWorld) error {
			return w.svc.AnswerVersion(ctx, &talks.Answer{VersionID: w.offV1.ID, Kind: talks.AnswerReject})
		}, with(notFound(members...), talks.EFORBIDDEN, "F", "NA", "SA")},
		{"AnswerVersion envoys", func(ctx context.Context, w *textWorld) error {
			return w.svc.AnswerVersion(ctx, &talks.Answer{VersionID: w.envV1.ID, Kind: talks.AnswerAccept})
		}, with(notFound(seesEnvoys...), talks.ECONFLICT, "NE", "NP")},
		{"AnswerVersion north", func(ctx context.Context, w *textWorld) error {
			return w.svc.AnswerVersion(ctx, &talks.Answer{VersionID: w.northV1.ID, Kind: talks.AnswerAccept})
		}, with(notFound(seesNorth...), talks.EFORBIDDEN, "NA")},
		{"WithdrawAnswer envoys", func(ctx context.Context, w *textWorld) error {
			return errOf(w.svc.WithdrawAnswer(ctx, w.envAccept.ID))
		}, with(notFound(seesEnvoys...), talks.EFORBIDDEN, "SE", "SP")},
		{"WithdrawAnswer unknown", func(ctx context.Context, w *textWorld) error { return errOf(w.svc.WithdrawAnswer(ctx, 9999)) }, notFound()},
		{"FindAgreement none", func(ctx context.Context, w *textWorld) error {
			_, err := w.svc.FindAgreement(ctx, w.talk.ID)
			return err
		}, notFound()},
	}
	for _, o := range ops {
		for _, u := range everyone {
			t.Run(fmt.Sprintf("%s/%s", o.name, u), func(t *testing.T) {
				w := newTextWorld(t)
				before, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
				mustOK(t, "FindEvents", err)
				opErr := o.do(w.as(u), w)
				want := o.want[u]
				if got := talks.ErrorCode(opErr); got != want {
					t.Fatalf("%s as %q: error %v (code %q), want code %q", o.name, u, opErr, got, want)
				}
				if want == "" {
					return
				}
				after, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
				mustOK(t, "FindEvents", err)
				if len(after) != len(before) {
					t.Errorf("%s as %q failed but appended %d events", o.name, u, len(after)-len(before))
				}
				if want == talks.ENOTFOUND {
					msg := talks.ErrorMessage(opErr)
					if !slices.Contains([]string{"Talk not found.", "Track not found.", "Proposal not found.", "Version not found.", "Answer not found.", "Agreement not found."}, msg) {
						t.Errorf("%s as %q: message %q names more than absence", o.name, u, msg)
					}
				}
			})
		}
	}
}

// TestServiceTextLists checks that lists of proposals and the event log
// leave out the text of tracks a member may not see.
func TestServiceTextLists(t *testing.T) {
	w := newTextWorld(t)
	for _, u := range []string{"F", "NP", "NE", "NA", "SP", "SE", "SA"} {
		t.Run(u, func(t *testing.T) {
			ctx := w.as(u)
			want := []int64{w.offProp.ID}
			if slices.Contains(seesEnvoys, u) {
				want = append(want, w.envProp.ID)
			}
			if slices.Contains(seesNorth, u) {
				want = append(want, w.northProp.ID)
			}
			ps, err := w.svc.FindProposals(ctx, talks.ProposalFilter{TalkID: w.talk.ID})
			mustOK(t, "FindProposals", err)
			var got []int64
			for _, p := range ps {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("FindProposals() as %s = %v, want %v", u, got, want)
			}
			evs, err := w.svc.FindEvents(ctx, talks.EventFilter{TalkID: w.talk.ID})
			mustOK(t, "FindEvents", err)
			var texts int
			for _, e := range evs {
				if strings.HasPrefix(e.Type, "proposal.") || strings.HasPrefix(e.Type, "version.") || strings.HasPrefix(e.Type, "answer.") {
					texts++
				}
			}
			// Two events per proposal, and NE's acceptance in the envoys' track.
			wantTexts := 2 * len(want)
			if slices.Contains(seesEnvoys, u) {
				wantTexts++
			}
			if texts != wantTexts {
				t.Errorf("FindEvents() as %s has %d events of the text, want %d", u, texts, wantTexts)
			}
		})
	}
}

// TestServiceAgreement walks a proposal to an agreement: answers per party,
// counters that reset nothing, withdrawals before the agreement and none
// after it.
func TestServiceAgreement(t *testing.T) {
	w := newTextWorld(t)
	answer := func(who string, v *talks.Version, kind talks.AnswerKind) (*talks.Answer, error) {
		a := &talks.Answer{VersionID: v.ID, Kind: kind}
		return a, w.svc.AnswerVersion(w.as(who), a)
	}
	wantCode := func(what string, err error, code string) {
		t.Helper()
		if got := talks.ErrorCode(err); got != code {
			t.Fatalf("%s: error %v (code %q), want %q", what, err, got, code)
		}
	}
	noAgreement := func(what string) {
		t.Helper()
		_, err := w.svc.FindAgreement(w.as("F"), w.talk.ID)
		wantCode("FindAgreement "+what, err, talks.ENOTFOUND)
		tk, err := w.svc.FindTalkByID(w.as("F"), w.talk.ID)
		mustOK(t, "FindTalkByID", err)
		if tk.Status != talks.StatusOpen {
			t.Fatalf("talk status %s = %q, want open", what, tk.Status)
		}
	}
	v1 := w.offV1

	neAccept, err := answer("NE", v1, talks.AnswerAccept)
	mustOK(t, "NE accepts v1", err)
	if neAccept.PartyID != w.north.ID || neAccept.MemberID != w.members["NE"].ID {
		t.Errorf("NE's answer = %+v, want for the north by NE", neAccept)
	}
	_, err = answer("NP", v1, talks.AnswerReject)
	wantCode("NP answers v1 after NE", err, talks.ECONFLICT)
	seReject, err := answer("SE", v1, talks.AnswerReject)
	mustOK(t, "SE rejects v1", err)
	noAgreement("after one acceptance")

	// South must withdraw its rejection before it counters.
	v2 := &talks.Version{ParentID: v1.ID, Values: values("ridge", "10"), Clauses: map[string]string{"line": "Along the ridge."}}
	wantCode("SE counters v1 while rejecting it", w.svc.ProposeVersion(w.as("SE"), v2), talks.ECONFLICT)
	withdrawn, err := w.svc.WithdrawAnswer(w.as("SE"), seReject.ID)
	mustOK(t, "SE withdraws", err)
	if withdrawn.ID != seReject.ID || withdrawn.ProposalID != w.offProp.ID || withdrawn.Standing() {
		t.Errorf("WithdrawAnswer() = %+v, want answer %d of proposal %d, withdrawn", withdrawn, seReject.ID, w.offProp.ID)
	}
	wantCode("SE withdraws twice", errOf(w.svc.WithdrawAnswer(w.as("SE"), seReject.ID)), talks.ECONFLICT)
	mustOK(t, "SE counters v1", w.svc.ProposeVersion(w.as("SE"), v2))
	if v2.ProposalID != w.offProp.ID || v2.AuthorID != w.members["SE"].ID {
		t.Errorf("counter = %+v", v2)
	}
	as, err := w.svc.FindAnswers(w.as("NA"), talks.AnswerFilter{VersionID: v1.ID})
	mustOK(t, "FindAnswers", err)
	if len(as) != 3 || as[0].ID != neAccept.ID || !as[0].Standing() || as[1].Standing() || as[2].Kind != talks.AnswerCounter || as[2].CounterID != v2.ID || as[2].PartyID != w.south.ID {
		t.Errorf("answers to v1 = %+v, want NE's standing acceptance, SE's withdrawn rejection and SE's counter", as)
	}
	if as, err := w.svc.FindAnswers(w.as("NA"), talks.AnswerFilter{VersionID: v2.ID}); err != nil || len(as) != 0 {
		t.Errorf("answers to the new counter = %v (%v), want none", as, err)
	}
	if d := talks.Diff(w.talk.Space, v1, v2); len(d) != 1 || d[0].Issue != "line" || !d[0].ClauseChanged {
		t.Errorf("Diff(v1, v2) = %+v", d)
	}

	// A facilitator's redraft answers for no party.
	v3 := &talks.Version{ParentID: v2.ID, Values: values("coast", "10")}
	mustOK(t, "F redrafts v2", w.svc.ProposeVersion(w.as("F"), v3))
	if as, _ := w.svc.FindAnswers(w.as("F"), talks.AnswerFilter{VersionID: v2.ID}); len(as) != 0 {
		t.Errorf("answers to v2 after F's redraft = %v, want none", as)
	}

	_, err = answer("NP", v2, talks.AnswerAccept)
	mustOK(t, "NP accepts v2", err)
	_, err = answer("SP", v1, talks.AnswerAccept)
	wantCode("SP accepts v1 that SE countered", err, talks.ECONFLICT)
	_, err = answer("SP", v3, talks.AnswerAccept)
	mustOK(t, "SP accepts v3", err)
	noAgreement("when each party accepted a different version")

	// Withdrawn acceptances do not count: withdraw and accept again.
	mustOK(t, "NE withdraws v1", errOf(w.svc.WithdrawAnswer(w.as("NE"), neAccept.ID)))
	last, err := answer("SP", v2, talks.AnswerAccept)
	mustOK(t, "SP accepts v2", err)
	ag, err := w.svc.FindAgreement(w.as("SA"), w.talk.ID)
	mustOK(t, "FindAgreement", err)
	if ag.VersionID != v2.ID || ag.ProposalID != w.offProp.ID || ag.TrackID != w.official.ID || !ag.AgreedAt.Equal(last.CreatedAt) {
		t.Errorf("FindAgreement() = %+v, want v2 at %v", ag, last.CreatedAt)
	}
	_, err = w.svc.FindTalkByID(w.as("O"), w.talk.ID)
	wantCode("FindTalkByID as outsider", err, talks.ENOTFOUND)
	tk, err := w.svc.FindTalkByID(w.as("SA"), w.talk.ID)
	mustOK(t, "FindTalkByID", err)
	if tk.Status != talks.StatusAgreed {
		t.Errorf("talk status = %q, want agreed", tk.Status)
	}
	evs, err := w.svc.FindEvents(w.as("SA"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	if n := len(evs); evs[n-1].Type != talks.EventTalkAgreed || evs[n-2].Type != talks.EventAnswerGiven || evs[n-1].ID != evs[n-2].ID+1 {
		t.Errorf("last events = %s, %s; want answer.given then talk.agreed", evs[n-2].Type, evs[n-1].Type)
	}

	// The agreed text is settled.
	wantCode("withdraw after agreement", errOf(w.svc.WithdrawAnswer(w.as("SP"), last.ID)), talks.ECONFLICT)
	_, err = answer("NE", v3, talks.AnswerReject)
	wantCode("answer after agreement", err, talks.ECONFLICT)
	wantCode("counter after agreement", w.svc.ProposeVersion(w.as("NE"), &talks.Version{ParentID: v3.ID, Values: values("river", "0")}), talks.ECONFLICT)
	wantCode("propose after agreement", w.svc.CreateProposal(w.as("NE"), &talks.Proposal{TrackID: w.official.ID, Title: "late"}, &talks.Version{Values: values("river", "0")}), talks.ECONFLICT)
}

// TestServiceTextInvalid checks that malformed text is refused with
// EINVALID and a message that names what is wrong.
func TestServiceTextInvalid(t *testing.T) {
	w := newTextWorld(t)
	ctx := w.as("NE")
	tests := []struct {
		name    string
		do      func() error
		mention []string
	}{
		{"unknown value", func() error {
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.official.ID, Title: "x"}, &talks.Version{Values: values("lake", "1")})
		}, []string{"line", "lake"}},
		{"value out of range", func() error {
			return w.svc.ProposeVersion(ctx, &talks.Version{ParentID: w.offV1.ID, Values: values("river", "101")})
		}, []string{"prisoners", "101"}},
		{"missing issue", func() error {
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.official.ID, Title: "x"}, &talks.Version{Values: map[string]string{"line": "river"}})
		}, []string{"prisoners"}},
		{"unknown issue", func() error {
			v := values("river", "1")
			v["flags"] = "white"
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.official.ID, Title: "x"}, &talks.Version{Values: v})
		}, []string{"flags"}},
		{"clause of unknown issue", func() error {
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.official.ID, Title: "x"}, &talks.Version{Values: values("river", "1"), Clauses: map[string]string{"flags": "x"}})
		}, []string{"flags"}},
		{"blank title", func() error {
			return w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.official.ID, Title: " "}, &talks.Version{Values: values("river", "1")})
		}, []string{"title"}},
		{"counter without parent", func() error {
			return w.svc.ProposeVersion(ctx, &talks.Version{Values: values("river", "1")})
		}, []string{"counters"}},
		{"counter as an answer", func() error {
			return w.svc.AnswerVersion(ctx, &talks.Answer{VersionID: w.offV1.ID, Kind: talks.AnswerCounter})
		}, []string{"Counter"}},
		{"unknown answer", func() error {
			return w.svc.AnswerVersion(ctx, &talks.Answer{VersionID: w.offV1.ID, Kind: "maybe"})
		}, []string{"maybe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if talks.ErrorCode(err) != talks.EINVALID {
				t.Fatalf("error %v, want EINVALID", err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(talks.ErrorMessage(err), m) {
					t.Errorf("message %q does not mention %q", talks.ErrorMessage(err), m)
				}
			}
			if strings.Count(talks.ErrorMessage(err), "outcome:") > 1 {
				t.Errorf("message %q keeps the engine's package prefix", talks.ErrorMessage(err))
			}
		})
	}

	// A talk without an outcome space has no text yet.
	bare := &talks.Talk{Title: "Bare"}
	mustOK(t, "CreateTalk", w.svc.CreateTalk(w.as("F"), bare))
	tracks, err := w.svc.FindTracks(w.as("F"), bare.ID)
	mustOK(t, "FindTracks", err)
	err = w.svc.CreateProposal(w.as("F"), &talks.Proposal{TrackID: tracks[0].ID, Title: "x"}, &talks.Version{Values: values("river", "1")})
	if talks.ErrorCode(err) != talks.EINVALID {
		t.Errorf("CreateProposal in a talk without space: %v, want EINVALID", err)
	}
}

// TestServiceTextObserver checks an observer of a party: it reads the text
// of the tracks it sees, answers nothing there (EFORBIDDEN), and the text
// of the others does not exist for it.
func TestServiceTextObserver(t *testing.T) {
	w := newTextWorld(t)
	u := &talks.User{Name: "NO", Email: "no@example.org"}
	mustOK(t, "CreateUser", w.store.CreateUser(context.Background(), u))
	mustOK(t, "AddMember", w.svc.AddMember(w.as("NP"), &talks.Member{TalkID: w.talk.ID, UserID: u.ID, PartyID: w.north.ID, Role: talks.RoleObserver}))
	ctx := talks.NewContextWithUser(context.Background(), u)
	vs, err := w.svc.FindVersions(ctx, talks.VersionFilter{ProposalID: w.offProp.ID})
	mustOK(t, "FindVersions", err)
	if len(vs) != 1 || vs[0].ID != w.offV1.ID {
		t.Errorf("FindVersions(official) as observer = %v, want [v1]", vs)
	}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"AnswerVersion official", w.svc.AnswerVersion(ctx, &talks.Answer{VersionID: w.offV1.ID, Kind: talks.AnswerAccept}), talks.EFORBIDDEN},
		{"ProposeVersion official", w.svc.ProposeVersion(ctx, &talks.Version{ParentID: w.offV1.ID, Values: values("ridge", "1")}), talks.EFORBIDDEN},
		{"CreateProposal official", w.svc.CreateProposal(ctx, &talks.Proposal{TrackID: w.official.ID, Title: "x"}, &talks.Version{Values: values("ridge", "1")}), talks.EFORBIDDEN},
		{"WithdrawAnswer official", func() error {
			a := &talks.Answer{VersionID: w.offV1.ID, Kind: talks.AnswerReject}
			mustOK(t, "NE rejects", w.svc.AnswerVersion(w.as("NE"), a))
			return errOf(w.svc.WithdrawAnswer(ctx, a.ID))
		}(), talks.EFORBIDDEN},
		{"AnswerVersion envoys", w.svc.AnswerVersion(ctx, &talks.Answer{VersionID: w.envV1.ID, Kind: talks.AnswerAccept}), talks.ENOTFOUND},
		{"WithdrawAnswer envoys", errOf(w.svc.WithdrawAnswer(ctx, w.envAccept.ID)), talks.ENOTFOUND},
		{"FindVersions north", func() error {
			_, err := w.svc.FindVersions(ctx, talks.VersionFilter{ProposalID: w.northProp.ID})
			return err
		}(), talks.ENOTFOUND},
	} {
		if got := talks.ErrorCode(c.err); got != c.want {
			t.Errorf("%s as observer: error %v (code %q), want %q", c.name, c.err, got, c.want)
		}
	}
}

// TestUpdateTalkStatus checks the status rules of UpdateTalk: open and
// closed either way; agreed never by hand; no reopening once agreed.
func TestUpdateTalkStatus(t *testing.T) {
	w := newTextWorld(t)
	set := func(st talks.Status) error {
		_, err := w.svc.UpdateTalk(w.as("F"), w.talk.ID, talks.TalkUpdate{Status: &st})
		return err
	}
	for _, tc := range []struct {
		name string
		to   talks.Status
		code string
	}{
		{"agreed by hand", talks.StatusAgreed, talks.EINVALID},
		{"unknown", "paused", talks.EINVALID},
		{"close", talks.StatusClosed, ""},
		{"close again", talks.StatusClosed, ""},
		{"agreed by hand while closed", talks.StatusAgreed, talks.EINVALID},
		{"reopen", talks.StatusOpen, ""},
	} {
		if got := talks.ErrorCode(set(tc.to)); got != tc.code {
			t.Errorf("%s: UpdateTalk(status %q) code %q, want %q", tc.name, tc.to, got, tc.code)
		}
	}
	err := set(talks.StatusAgreed)
	if msg := talks.ErrorMessage(err); !strings.Contains(msg, "every party accepts") {
		t.Errorf("UpdateTalk(status agreed) message %q, want it to say agreements come from accepting the text", msg)
	}
	if tk, _ := w.svc.FindTalkByID(w.as("F"), w.talk.ID); tk.Status != talks.StatusOpen {
		t.Errorf("status after refused updates = %q, want open", tk.Status)
	}

	// Agree on the official text: North and South accept v1.
	for _, who := range []string{"NE", "SE"} {
		mustOK(t, who+" accepts", w.svc.AnswerVersion(w.as(who), &talks.Answer{VersionID: w.offV1.ID, Kind: talks.AnswerAccept}))
	}
	if got := talks.ErrorCode(set(talks.StatusOpen)); got != talks.ECONFLICT {
		t.Errorf("reopen an agreed talk: code %q, want %q", got, talks.ECONFLICT)
	}
	if got := talks.ErrorCode(set(talks.StatusAgreed)); got != "" {
		t.Errorf("resend status agreed to an agreed talk: code %q, want none", got)
	}
	mustOK(t, "close an agreed talk", set(talks.StatusClosed))
	if got := talks.ErrorCode(set(talks.StatusOpen)); got != talks.ECONFLICT {
		t.Errorf("reopen a closed talk that was agreed: code %q, want %q", got, talks.ECONFLICT)
	}
}
