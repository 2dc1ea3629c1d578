package storetest

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// textFixture is a fixture with a proposal in the back-channel: version v1
// by the north envoy, v2 countering it by the south envoy (with south's
// counter answer), and v3 countering v1 by the north envoy without an
// answer.
type textFixture struct {
	*fixture
	prop       *talks.Proposal
	v1, v2, v3 *talks.Version
	counter    *talks.Answer
}

func newTextFixture(t *testing.T, s talks.Store) *textFixture {
	t.Helper()
	ctx := context.Background()
	f := &textFixture{fixture: newFixture(t, s)}
	f.prop = &talks.Proposal{TrackID: f.back.ID, Title: "Draft", AuthorID: f.mNorthE.ID}
	f.v1 = &talks.Version{Values: map[string]string{"line": "river", "prisoners": "10"},
		Clauses: map[string]string{"line": "The line follows the river."}, Rationale: "A start.", AuthorID: f.mNorthE.ID}
	must(t, "CreateProposal", s.CreateProposal(ctx, f.prop, f.v1, stamp(f.northE.ID, 200)))
	f.v2 = &talks.Version{ParentID: f.v1.ID, Values: map[string]string{"line": "ridge", "prisoners": "10"}, AuthorID: f.mSouthE.ID}
	f.counter = &talks.Answer{PartyID: f.south.ID, MemberID: f.mSouthE.ID}
	st := stamp(f.southE.ID, 201)
	st.Appended = new(talks.Appended)
	must(t, "ProposeVersion", s.ProposeVersion(ctx, f.v2, f.counter, st))
	if head, err := s.TalkHead(ctx, f.talk.ID); err != nil || *st.Appended != (talks.Appended{First: head - 1, Last: head}) {
		t.Fatalf("ProposeVersion(counter) reported Stamp.Appended %+v, want the last two events (head %d, %v)", *st.Appended, head, err)
	}
	f.v3 = &talks.Version{ParentID: f.v1.ID, Values: map[string]string{"line": "river", "prisoners": "20"}, AuthorID: f.mNorthE.ID}
	must(t, "ProposeVersion", s.ProposeVersion(ctx, f.v3, nil, stamp(f.northE.ID, 202)))
	return f
}

func (f *textFixture) answer(t *testing.T, s talks.Store, v *talks.Version, m *talks.Member, kind talks.AnswerKind, i int) (*talks.Answer, error) {
	t.Helper()
	a := &talks.Answer{VersionID: v.ID, PartyID: m.PartyID, MemberID: m.ID, Kind: kind}
	return a, s.AnswerVersion(context.Background(), a, stamp(m.UserID, i))
}

func testProposals(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newTextFixture(t, s)
	if f.prop.ID == 0 || f.prop.TalkID != f.talk.ID || !f.prop.CreatedAt.Equal(talks.Timestamp(stamp(0, 200).Time)) {
		t.Fatalf("CreateProposal set %+v", f.prop)
	}
	if f.v1.ID == 0 || f.v1.ProposalID != f.prop.ID || f.v1.ParentID != 0 {
		t.Fatalf("CreateProposal set first version %+v", f.v1)
	}
	got, err := s.FindProposalByID(ctx, f.prop.ID)
	must(t, "FindProposalByID", err)
	if !reflect.DeepEqual(got, f.prop) {
		t.Errorf("FindProposalByID() = %+v, want %+v", got, f.prop)
	}
	v, err := s.FindVersionByID(ctx, f.v1.ID)
	must(t, "FindVersionByID", err)
	if !reflect.DeepEqual(v, f.v1) {
		t.Errorf("FindVersionByID() = %+v, want %+v", v, f.v1)
	}

	// The lineage is a tree: v2 and v3 both counter v1, v4 counters v2.
	v4 := &talks.Version{ParentID: f.v2.ID, Values: map[string]string{"line": "ridge", "prisoners": "15"}, Clauses: map[string]string{}, AuthorID: f.mNorthP.ID}
	must(t, "ProposeVersion", s.ProposeVersion(ctx, v4, nil, stamp(f.northP.ID, 203)))
	vs, err := s.FindVersions(ctx, talks.VersionFilter{ProposalID: f.prop.ID})
	must(t, "FindVersions", err)
	if want := []*talks.Version{f.v1, f.v2, f.v3, v4}; !reflect.DeepEqual(vs, want) {
		t.Errorf("FindVersions() = %v, want %v", vs, want)
	}
	var parents []int64
	for _, v := range vs {
		parents = append(parents, v.ParentID)
	}
	if want := []int64{0, f.v1.ID, f.v1.ID, f.v2.ID}; !reflect.DeepEqual(parents, want) {
		t.Errorf("parents = %v, want %v", parents, want)
	}

	// A counter is recorded as the countering party's answer to the parent.
	if f.counter.ID == 0 || f.counter.Kind != talks.AnswerCounter || f.counter.VersionID != f.v1.ID || f.counter.CounterID != f.v2.ID || f.counter.ProposalID != f.prop.ID {
		t.Errorf("ProposeVersion set counter answer %+v", f.counter)
	}
	as, err := s.FindAnswers(ctx, talks.AnswerFilter{VersionID: f.v1.ID})
	must(t, "FindAnswers", err)
	if len(as) != 1 || !reflect.DeepEqual(as[0], f.counter) {
		t.Errorf("FindAnswers(v1) = %v, want [%+v]", as, f.counter)
	}
	a, err := s.FindAnswerByID(ctx, f.counter.ID)
	must(t, "FindAnswerByID", err)
	if !reflect.DeepEqual(a, f.counter) {
		t.Errorf("FindAnswerByID() = %+v, want %+v", a, f.counter)
	}

	ps, err := s.FindProposals(ctx, talks.ProposalFilter{TalkID: f.talk.ID})
	must(t, "FindProposals", err)
	if len(ps) != 1 || ps[0].ID != f.prop.ID {
		t.Errorf("FindProposals(talk) = %v, want [%v]", ps, f.prop)
	}
	ps, err = s.FindProposals(ctx, talks.ProposalFilter{TalkID: f.talk.ID, TrackID: f.official.ID})
	must(t, "FindProposals", err)
	if len(ps) != 0 {
		t.Errorf("FindProposals(official track) = %v, want none", ps)
	}

	_, err = s.FindProposalByID(ctx, 9999)
	wantCode(t, "FindProposalByID(unknown)", err, talks.ENOTFOUND)
	_, err = s.FindVersionByID(ctx, 9999)
	wantCode(t, "FindVersionByID(unknown)", err, talks.ENOTFOUND)
	_, err = s.FindAnswerByID(ctx, 9999)
	wantCode(t, "FindAnswerByID(unknown)", err, talks.ENOTFOUND)
	_, err = s.FindAgreement(ctx, f.talk.ID)
	wantCode(t, "FindAgreement(none)", err, talks.ENOTFOUND)
	vals := map[string]string{"line": "river", "prisoners": "1"}
	wantCode(t, "CreateProposal(unknown track)", s.CreateProposal(ctx, &talks.Proposal{TrackID: 9999, Title: "x", AuthorID: f.mNorthE.ID},
		&talks.Version{Values: vals, AuthorID: f.mNorthE.ID}, stamp(1, 210)), talks.ENOTFOUND)
	wantCode(t, "ProposeVersion(unknown parent)", s.ProposeVersion(ctx, &talks.Version{ParentID: 9999, Values: vals, AuthorID: f.mNorthE.ID}, nil, stamp(1, 211)), talks.ENOTFOUND)
	_, err = f.answer(t, s, &talks.Version{ID: 9999}, f.mNorthE, talks.AnswerAccept, 212)
	wantCode(t, "AnswerVersion(unknown version)", err, talks.ENOTFOUND)
	wantCode(t, "WithdrawAnswer(unknown)", s.WithdrawAnswer(ctx, 9999, stamp(1, 213)), talks.ENOTFOUND)
	wantCode(t, "CreateProposal(author not in talk)", s.CreateProposal(ctx, &talks.Proposal{TrackID: f.back.ID, Title: "x", AuthorID: 9999},
		&talks.Version{Values: vals, AuthorID: 9999}, stamp(1, 214)), talks.EINVALID)
	_, err = f.answer(t, s, f.v1, &talks.Member{ID: f.mNorthE.ID, PartyID: f.south.ID, UserID: f.northE.ID}, talks.AnswerAccept, 215)
	wantCode(t, "AnswerVersion(member of another party)", err, talks.EINVALID)
	_, err = f.answer(t, s, f.v1, f.mNorthE, talks.AnswerCounter, 216)
	wantCode(t, "AnswerVersion(counter)", err, talks.EINVALID)
	checkProjection(t, s, f.talk.ID)
}

func testAnswers(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newTextFixture(t, s)
	acc, err := f.answer(t, s, f.v1, f.mNorthE, talks.AnswerAccept, 220)
	must(t, "AnswerVersion", err)
	if acc.ID == 0 || acc.ProposalID != f.prop.ID || !acc.Standing() {
		t.Errorf("AnswerVersion set %+v", acc)
	}
	// A party answers a version once until it withdraws, whoever speaks.
	_, err = f.answer(t, s, f.v1, f.mNorthP, talks.AnswerReject, 221)
	wantCode(t, "AnswerVersion(twice)", err, talks.ECONFLICT)
	versions, err := s.FindVersions(ctx, talks.VersionFilter{ProposalID: f.prop.ID})
	must(t, "FindVersions", err)
	err = s.ProposeVersion(ctx, &talks.Version{ParentID: f.v1.ID, Values: f.v1.Values, AuthorID: f.mNorthE.ID},
		&talks.Answer{PartyID: f.north.ID, MemberID: f.mNorthE.ID}, stamp(f.northE.ID, 222))
	wantCode(t, "ProposeVersion(counter after accepting)", err, talks.ECONFLICT)
	if after, err := s.FindVersions(ctx, talks.VersionFilter{ProposalID: f.prop.ID}); err != nil || len(after) != len(versions) {
		t.Errorf("a refused counter left versions %v (%v)", after, err)
	}

	must(t, "WithdrawAnswer", s.WithdrawAnswer(ctx, acc.ID, stamp(f.northE.ID, 223)))
	wantCode(t, "WithdrawAnswer(twice)", s.WithdrawAnswer(ctx, acc.ID, stamp(f.northE.ID, 224)), talks.ECONFLICT)
	rej, err := f.answer(t, s, f.v1, f.mNorthP, talks.AnswerReject, 225)
	must(t, "AnswerVersion(after withdrawal)", err)
	as, err := s.FindAnswers(ctx, talks.AnswerFilter{ProposalID: f.prop.ID})
	must(t, "FindAnswers", err)
	if len(as) != 3 || as[1].ID != acc.ID || as[1].Standing() || !as[1].WithdrawnAt.Equal(talks.Timestamp(stamp(0, 223).Time)) || as[2].ID != rej.ID || !as[2].Standing() {
		t.Errorf("FindAnswers(proposal) = %+v, want the counter, the withdrawn acceptance and the rejection", as)
	}
	checkProjection(t, s, f.talk.ID)

	// A withdrawn acceptance does not count towards the agreement; the
	// acceptance of another version neither.
	_, err = f.answer(t, s, f.v2, f.mNorthE, talks.AnswerAccept, 226)
	must(t, "AnswerVersion", err)
	_, err = f.answer(t, s, f.v3, f.mSouthE, talks.AnswerAccept, 227)
	must(t, "AnswerVersion", err)
	_, err = s.FindAgreement(ctx, f.talk.ID)
	wantCode(t, "FindAgreement(no version accepted by all)", err, talks.ENOTFOUND)

	// South accepting v2, which north accepted, is the agreement.
	last, err := f.answer(t, s, f.v2, f.mSouthP, talks.AnswerAccept, 228)
	// South's counter to v1 is an answer to v1, not to v2.
	must(t, "AnswerVersion(last acceptance)", err)
	ag, err := s.FindAgreement(ctx, f.talk.ID)
	must(t, "FindAgreement", err)
	want := &talks.Agreement{TalkID: f.talk.ID, ProposalID: f.prop.ID, VersionID: f.v2.ID, TrackID: f.back.ID, AgreedAt: talks.Timestamp(stamp(0, 228).Time)}
	if !reflect.DeepEqual(ag, want) {
		t.Errorf("FindAgreement() = %+v, want %+v", ag, want)
	}
	tk, err := s.FindTalkByID(ctx, f.talk.ID)
	must(t, "FindTalkByID", err)
	if tk.Status != talks.StatusAgreed {
		t.Errorf("talk status after agreement = %q, want agreed", tk.Status)
	}
	evs := events(t, s, f.talk.ID)
	must(t, "VerifyChain", talks.VerifyChain(evs))
	n := len(evs)
	if evs[n-2].Type != talks.EventAnswerGiven || evs[n-1].Type != talks.EventTalkAgreed || evs[n-1].TrackID != f.back.ID || !evs[n-1].Time.Equal(last.CreatedAt) {
		t.Errorf("last events = %s, %s (track %d), want answer.given then talk.agreed on the back-channel", evs[n-2].Type, evs[n-1].Type, evs[n-1].TrackID)
	}

	// The agreed text is settled.
	wantCode(t, "WithdrawAnswer(after agreement)", s.WithdrawAnswer(ctx, last.ID, stamp(f.southP.ID, 229)), talks.ECONFLICT)
	_, err = f.answer(t, s, f.v3, f.mNorthE, talks.AnswerReject, 230)
	wantCode(t, "AnswerVersion(after agreement)", err, talks.ECONFLICT)
	wantCode(t, "ProposeVersion(after agreement)", s.ProposeVersion(ctx, &talks.Version{ParentID: f.v2.ID, Values: f.v2.Values, AuthorID: f.mNorthE.ID}, nil, stamp(1, 231)), talks.ECONFLICT)
	wantCode(t, "CreateProposal(after agreement)", s.CreateProposal(ctx, &talks.Proposal{TrackID: f.official.ID, Title: "x", AuthorID: f.mNorthP.ID},
		&talks.Version{Values: f.v2.Values, AuthorID: f.mNorthP.ID}, stamp(1, 232)), talks.ECONFLICT)
	if after := events(t, s, f.talk.ID); len(after) != n {
		t.Errorf("refused writes after the agreement appended %d events", len(after)-n)
	}
	checkProjection(t, s, f.talk.ID)
}

// testConcurrentAgreement has both parties accept one version at once:
// exactly one agreement and one talk.agreed result, in the transaction of
// whichever acceptance came last.
func testConcurrentAgreement(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newTextFixture(t, s)
	// An acceptance that would complete the agreement but fails writes
	// neither the answer, nor the agreement, nor an event.
	first, err := f.answer(t, s, f.v3, f.mNorthE, talks.AnswerAccept, 235)
	must(t, "AnswerVersion", err)
	before := events(t, s, f.talk.ID)
	_, err = f.answer(t, s, f.v3, &talks.Member{ID: f.mSouthP.ID, PartyID: f.north.ID, UserID: f.southP.ID}, talks.AnswerAccept, 236)
	wantCode(t, "AnswerVersion(member of another party)", err, talks.EINVALID)
	_, err = s.FindAgreement(ctx, f.talk.ID)
	wantCode(t, "FindAgreement after a failed acceptance", err, talks.ENOTFOUND)
	if after := events(t, s, f.talk.ID); len(after) != len(before) {
		t.Errorf("a failed acceptance appended %d events", len(after)-len(before))
	}
	must(t, "WithdrawAnswer", s.WithdrawAnswer(ctx, first.ID, stamp(f.northE.ID, 237)))

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, m := range []*talks.Member{f.mNorthE, f.mSouthP} {
		wg.Go(func() {
			if _, err := f.answer(t, s, f.v3, m, talks.AnswerAccept, 240+i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent AnswerVersion: %v", err)
	}
	ag, err := s.FindAgreement(ctx, f.talk.ID)
	must(t, "FindAgreement", err)
	if ag.VersionID != f.v3.ID {
		t.Errorf("agreement on version %d, want %d", ag.VersionID, f.v3.ID)
	}
	agreed := 0
	for _, e := range events(t, s, f.talk.ID) {
		if e.Type == talks.EventTalkAgreed {
			agreed++
		}
	}
	if agreed != 1 {
		t.Errorf("%d talk.agreed events, want 1", agreed)
	}
	checkProjection(t, s, f.talk.ID)
}

// checkText compares a talk's proposals, versions, answers and agreement
// with the fold of its events.
func checkText(t *testing.T, s talks.Store, talkID int64, want *talks.State) {
	t.Helper()
	ctx := context.Background()
	ps, err := s.FindProposals(ctx, talks.ProposalFilter{TalkID: talkID})
	must(t, "FindProposals", err)
	var vs []*talks.Version
	var as []*talks.Answer
	for _, p := range ps {
		v, err := s.FindVersions(ctx, talks.VersionFilter{ProposalID: p.ID})
		must(t, "FindVersions", err)
		vs = append(vs, v...)
		a, err := s.FindAnswers(ctx, talks.AnswerFilter{ProposalID: p.ID})
		must(t, "FindAnswers", err)
		as = append(as, a...)
	}
	// By ID, as Project has them: answers to two proposals may interleave.
	slices.SortFunc(as, func(a, b *talks.Answer) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range []struct {
		name      string
		got, want any
	}{{"proposals", ps, want.Proposals}, {"versions", vs, want.Versions}, {"answers", as, want.Answers}} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s projection = %v, fold of events = %v", c.name, c.got, c.want)
		}
	}
	ag, err := s.FindAgreement(ctx, talkID)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		ag, err = nil, nil
	}
	must(t, "FindAgreement", err)
	if !reflect.DeepEqual(ag, want.Agreement) {
		t.Errorf("agreement projection = %+v, fold of events = %+v", ag, want.Agreement)
	}
}

// testCounterRefusals checks the checks that a store makes of a
// counter-proposal inside its transaction: each refuses it with its own
// error, the first that fails (in the order: the view, the agreement, the
// party, an answer already given, the mandate, the preferences) wins, and
// a refused counter writes nothing.
func testCounterRefusals(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newTextFixture(t, s)
	early, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	// A mandate's saving breaks a view taken before it.
	must(t, "SaveMandate", s.SaveMandate(ctx, newMandate(f.talk.ID, f.north.ID, f.mNorthE.ID, map[string][]string{"line": {"river", "ridge"}}, nil), stamp(f.northP.ID, 240)))
	must(t, "SavePreferences", s.SavePreferences(ctx, newPreferences(f.talk.ID, f.north.ID, 1, 0), stamp(f.northP.ID, 241)))
	head, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	errOf := func(code, msg string) string { return talks.Errorf(code, "%s", msg).Error() }
	notOfParty := errOf(talks.EINVALID, "The answering member is not of the answering party.")
	answered := errOf(talks.ECONFLICT, "The party has already answered this version; withdraw that answer first.")
	settled := errOf(talks.ECONFLICT, "The talk is agreed; its text no longer changes.")
	counter := func(parent *talks.Version, m *talks.Member, party int64, view int64, mr *talks.MandateRead) error {
		st := stamp(m.UserID, 242)
		if view > 0 {
			st.View = &talks.ViewCheck{Head: view}
		}
		st.Mandate = mr
		v := &talks.Version{ParentID: parent.ID, Values: map[string]string{"line": "river", "prisoners": "30"}, AuthorID: m.ID}
		return s.ProposeVersion(ctx, v, &talks.Answer{PartyID: party, MemberID: m.ID}, st)
	}
	north := func(mandate, prefs int64) *talks.MandateRead {
		return &talks.MandateRead{TalkID: f.talk.ID, PartyID: f.north.ID, EnvoyID: f.mNorthE.ID, Version: mandate, Preferences: prefs}
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{talks.ErrStaleView.Error(), counter(f.v2, f.mNorthE, f.north.ID, early, north(1, 1))},
		{talks.ErrStaleView.Error(), counter(f.v1, f.mSouthE, f.north.ID, early, nil)}, // the view first
		{notOfParty, counter(f.v2, f.mNorthE, f.south.ID, head, nil)},
		{notOfParty, counter(f.v1, f.mSouthE, f.north.ID, head, nil)}, // then the party
		{answered, counter(f.v1, f.mSouthE, f.south.ID, head, nil)},   // south countered v1 with v2
		{talks.ErrMandateChanged.Error(), counter(f.v2, f.mNorthE, f.north.ID, head, north(0, 1))},
		{talks.ErrPreferencesChanged.Error(), counter(f.v2, f.mNorthE, f.north.ID, head, north(1, 2))},
	} {
		if c.err == nil || c.err.Error() != c.name {
			t.Errorf("counter: %v, want %s", c.err, c.name)
		}
	}
	if after, err := s.TalkHead(ctx, f.talk.ID); err != nil || after != head {
		t.Fatalf("TalkHead after refused counters = %v, %v; want %v", after, err, head)
	}
	// A counter that the server signs with a key it no longer holds.
	signer := talks.MemberSigner(f.mNorthE.ID)
	pub, priv, err := ed25519.GenerateKey(nil)
	must(t, "GenerateKey", err)
	must(t, "CreateSignerKey", s.CreateSignerKey(ctx, &talks.SignerKey{TalkID: f.talk.ID, Signer: signer, Public: pub, Private: priv}, stamp(f.northE.ID, 244)))
	must(t, "ReleaseSignerKey", s.ReleaseSignerKey(ctx, f.talk.ID, signer, stamp(f.northE.ID, 245)))
	head, err = s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	values := map[string]string{"line": "ridge", "prisoners": "40"}
	stmt := talks.VersionStatement(f.talk.ID, signer, 0, f.v2.ID, values, nil, "")
	stmt.At = talks.Timestamp(stamp(0, 246).Time).Format(time.RFC3339Nano)
	sg, err := talks.Sign(priv, stmt)
	must(t, "Sign", err)
	st := stamp(f.northE.ID, 246)
	st.Signed = sg
	err = s.ProposeVersion(ctx, &talks.Version{ParentID: f.v2.ID, Values: values, AuthorID: f.mNorthE.ID}, &talks.Answer{PartyID: f.north.ID, MemberID: f.mNorthE.ID}, st)
	if err != talks.ErrKeyReleased {
		t.Errorf("counter signed with a key released: %v, want %v", err, talks.ErrKeyReleased)
	}
	if after, err := s.TalkHead(ctx, f.talk.ID); err != nil || after != head {
		t.Fatalf("TalkHead after a refused counter = %v, %v; want %v", after, err, head)
	}
	must(t, "ProposeVersion (as read)", counter(f.v2, f.mNorthE, f.north.ID, head, north(1, 1)))

	// Once the talk is agreed, that refuses every counter first.
	for _, m := range []*talks.Member{f.mNorthP, f.mSouthP} {
		_, err := f.answer(t, s, f.v3, m, talks.AnswerAccept, 243)
		must(t, "AnswerVersion", err)
	}
	if err := counter(f.v3, f.mNorthE, f.south.ID, 0, nil); err == nil || err.Error() != settled {
		t.Errorf("counter after the agreement: %v, want %s", err, settled)
	}
	checkProjection(t, s, f.talk.ID)
}

// testViewChecks checks that a new proposal, an answer, its withdrawal, a
// message's retraction, a meeting and its change whose Stamp names the head of the
// view they were decided by (talks.ViewCheck) go through if only events
// that keep a view followed that head, and are refused with
// talks.ErrStaleView, writing nothing, once a change of a track's members
// followed it.
func testViewChecks(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newTextFixture(t, s)
	meeting := &talks.Meeting{TrackID: f.back.ID, Title: "Lunch", Place: "Geneva", Start: t0.Add(time.Hour), Duration: time.Hour}
	must(t, "CreateMeeting", s.CreateMeeting(ctx, meeting, stamp(f.northE.ID, 699)))
	early, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	viewed := func(m *talks.Member, i int, head int64) talks.Stamp {
		st := stamp(m.UserID, i)
		st.View = &talks.ViewCheck{Head: head}
		return st
	}
	msg := &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: "a view keeps"}
	must(t, "PostMessage", s.PostMessage(ctx, msg, stamp(f.northE.ID, 700)))
	rejected := &talks.Answer{VersionID: f.v3.ID, PartyID: f.south.ID, MemberID: f.mSouthE.ID, Kind: talks.AnswerReject}
	must(t, "AnswerVersion (a message since the view)", s.AnswerVersion(ctx, rejected, viewed(f.mSouthE, 701, early)))

	must(t, "AddTrackMember", s.AddTrackMember(ctx, f.back.ID, f.mNorthP.ID, stamp(1, 702)))
	head, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	accepted := &talks.Answer{VersionID: f.v3.ID, PartyID: f.north.ID, MemberID: f.mNorthE.ID, Kind: talks.AnswerAccept}
	title := "Dinner"
	writes := []viewedWrite{
		{"CreateProposal", func(st talks.Stamp) error {
			return s.CreateProposal(ctx, &talks.Proposal{TrackID: f.back.ID, Title: "Late", AuthorID: f.mNorthE.ID},
				&talks.Version{Values: map[string]string{"line": "river", "prisoners": "50"}, AuthorID: f.mNorthE.ID}, st)
		}},
		{"AnswerVersion", func(st talks.Stamp) error { return s.AnswerVersion(ctx, accepted, st) }},
		{"WithdrawAnswer", func(st talks.Stamp) error { return s.WithdrawAnswer(ctx, rejected.ID, st) }},
		{"RetractMessage", func(st talks.Stamp) error { return s.RetractMessage(ctx, msg.ID, st) }},
		{"CreateMeeting", func(st talks.Stamp) error {
			return s.CreateMeeting(ctx, &talks.Meeting{TrackID: f.back.ID, Title: "Tea", Place: "Geneva", Start: t0.Add(2 * time.Hour), Duration: time.Hour}, st)
		}},
		{"UpdateMeeting", func(st talks.Stamp) error {
			_, err := s.UpdateMeeting(ctx, meeting.ID, talks.MeetingUpdate{Title: &title}, st)
			return err
		}},
	}
	checkViewedWrites(t, s, f.talk.ID, writes, f.mNorthE.UserID, 710, early, head, "before a member was put on the track")
}
