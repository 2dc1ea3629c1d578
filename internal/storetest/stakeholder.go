package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// checkStakeholders compares a talk's stored stakeholders with the fold of
// its events.
func checkStakeholders(t *testing.T, s talks.Store, talkID int64) {
	t.Helper()
	want, err := talks.Project(events(t, s, talkID))
	must(t, "Project", err)
	got, err := s.FindStakeholders(context.Background(), talkID)
	must(t, "FindStakeholders", err)
	if len(got) != len(want.Stakeholders) || (len(got) > 0 && !reflect.DeepEqual(got, want.Stakeholders)) {
		t.Errorf("stakeholders projected = %+v, fold of events = %+v", got, want.Stakeholders)
	}
	checkProjection(t, s, talkID)
}

func testStakeholders(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newTextFixture(t, s)
	chair, mayor := newUser(t, s, "chair"), newUser(t, s, "mayor")
	st := &talks.Stakeholder{TalkID: f.talk.ID, UserID: chair.ID}
	must(t, "AddStakeholder", s.AddStakeholder(ctx, st, stamp(f.convener.ID, 400)))
	if !st.AddedAt.Equal(talks.Timestamp(stamp(0, 400).Time)) {
		t.Errorf("AddStakeholder set AddedAt %v", st.AddedAt)
	}
	must(t, "AddStakeholder 2", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: mayor.ID}, stamp(f.convener.ID, 401)))
	wantCode(t, "AddStakeholder (again)", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: chair.ID}, stamp(f.convener.ID, 402)), talks.ECONFLICT)
	wantCode(t, "AddStakeholder (a member)", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: f.northP.ID}, stamp(f.convener.ID, 402)), talks.ECONFLICT)
	wantCode(t, "AddMember (a stakeholder)", s.AddMember(ctx, &talks.Member{TalkID: f.talk.ID, UserID: chair.ID, Role: talks.RoleFacilitator}, stamp(f.convener.ID, 402)), talks.ECONFLICT)
	wantCode(t, "AddStakeholder (unknown user)", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: 1 << 40}, stamp(f.convener.ID, 402)), talks.EINVALID)
	wantCode(t, "AddStakeholder (unknown talk)", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID + 999, UserID: chair.ID}, stamp(f.convener.ID, 402)), talks.ENOTFOUND)

	// Red lines: numbered per stakeholder, the event carries a digest only.
	p := newPreferences(f.talk.ID, 0, 1, 0.5)
	r1 := &talks.RedLines{UserID: chair.ID, Preferences: *p}
	must(t, "SaveRedLines", s.SaveRedLines(ctx, r1, stamp(chair.ID, 403)))
	r2 := &talks.RedLines{UserID: chair.ID, Preferences: *newPreferences(f.talk.ID, 0, 0, 0.6)}
	must(t, "SaveRedLines v2", s.SaveRedLines(ctx, r2, stamp(chair.ID, 404)))
	if r1.Version != 1 || r2.Version != 2 || r2.CreatedBy != chair.ID {
		t.Errorf("versions %d, %d by %d; want 1, 2 by %d", r1.Version, r2.Version, r2.CreatedBy, chair.ID)
	}
	wantCode(t, "SaveRedLines (not a stakeholder)", s.SaveRedLines(ctx, &talks.RedLines{UserID: f.northP.ID, Preferences: *newPreferences(f.talk.ID, 0, 1, 0)}, stamp(f.northP.ID, 405)), talks.EINVALID)
	all, err := s.FindRedLines(ctx, f.talk.ID, chair.ID)
	must(t, "FindRedLines", err)
	if !reflect.DeepEqual(all, []*talks.RedLines{r1, r2}) {
		t.Errorf("FindRedLines = %+v, want %+v", all, []*talks.RedLines{r1, r2})
	}
	latest, err := s.FindLatestRedLines(ctx, f.talk.ID)
	must(t, "FindLatestRedLines", err)
	if !reflect.DeepEqual(latest, []*talks.RedLines{r2}) {
		t.Errorf("FindLatestRedLines = %+v, want [v2]", latest)
	}
	evs := events(t, s, f.talk.ID)
	if last := evs[len(evs)-1]; last.Type != talks.EventRedLinesSaved || string(last.Payload) != `{"user_id":`+itoa(int(chair.ID))+`,"version":2,"digest":"`+talks.DigestHex(r2.Digest)+`"}` {
		t.Errorf("last event = %s %s", last.Type, last.Payload)
	}

	// Ratification needs an agreed talk.
	wantCode(t, "Ratify (open talk)", s.Ratify(ctx, f.talk.ID, chair.ID, talks.DecisionRatify, "", stamp(chair.ID, 406)), talks.ECONFLICT)
	_, err = f.answer(t, s, f.v3, f.mNorthE, talks.AnswerAccept, 407)
	must(t, "AnswerVersion", err)
	_, err = f.answer(t, s, f.v3, f.mSouthE, talks.AnswerAccept, 408)
	must(t, "AnswerVersion", err)
	wantCode(t, "Ratify (not a stakeholder)", s.Ratify(ctx, f.talk.ID, f.northP.ID, talks.DecisionRatify, "", stamp(f.northP.ID, 409)), talks.EINVALID)
	must(t, "Ratify", s.Ratify(ctx, f.talk.ID, chair.ID, talks.DecisionRatify, "Within our lines.", stamp(chair.ID, 410)))
	wantCode(t, "Ratify (again)", s.Ratify(ctx, f.talk.ID, chair.ID, talks.DecisionReject, "No.", stamp(chair.ID, 411)), talks.ECONFLICT)
	if tk, err := s.FindTalkByID(ctx, f.talk.ID); err != nil || tk.Status != talks.StatusAgreed {
		t.Fatalf("status after one of two ratifications = %v (%v), want agreed", tk, err)
	}
	checkStakeholders(t, s, f.talk.ID)
	ts, err := s.FindStakeholderTalks(ctx, chair.ID)
	must(t, "FindStakeholderTalks", err)
	if len(ts) != 1 || ts[0].ID != f.talk.ID {
		t.Errorf("FindStakeholderTalks = %v, want the talk", ts)
	}
	if ts, err := s.FindStakeholderTalks(ctx, f.northP.ID); err != nil || len(ts) != 0 {
		t.Errorf("FindStakeholderTalks(a member) = %v, %v; want none", ts, err)
	}
	must(t, "Ratify 2", s.Ratify(ctx, f.talk.ID, mayor.ID, talks.DecisionRatify, "", stamp(mayor.ID, 412)))
	if tk, err := s.FindTalkByID(ctx, f.talk.ID); err != nil || tk.Status != talks.StatusRatified {
		t.Fatalf("status after every ratification = %v (%v), want ratified", tk, err)
	}
	evs = events(t, s, f.talk.ID)
	if a, b := evs[len(evs)-2], evs[len(evs)-1]; a.Type != talks.EventRatificationGiven || b.Type != talks.EventTalkRatified {
		t.Errorf("last events = %s, %s; want %s, %s", a.Type, b.Type, talks.EventRatificationGiven, talks.EventTalkRatified)
	}
	sts, err := s.FindStakeholders(ctx, f.talk.ID)
	must(t, "FindStakeholders", err)
	if len(sts) != 2 || sts[0].Decision != talks.DecisionRatify || sts[0].Comment != "Within our lines." || !sts[0].DecidedAt.Equal(talks.Timestamp(stamp(0, 410).Time)) {
		t.Errorf("FindStakeholders = %+v", sts)
	}
	checkStakeholders(t, s, f.talk.ID)
}

// testRejection: one rejection keeps the talk agreed.
func testRejection(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := agreedFixture(t, s)
	chair := newUser(t, s, "chair")
	must(t, "AddStakeholder", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: chair.ID}, stamp(f.convener.ID, 420)))
	must(t, "Ratify (reject)", s.Ratify(ctx, f.talk.ID, chair.ID, talks.DecisionReject, "Crosses the river.", stamp(chair.ID, 421)))
	if tk, err := s.FindTalkByID(ctx, f.talk.ID); err != nil || tk.Status != talks.StatusAgreed {
		t.Fatalf("status after a rejection = %v (%v), want agreed", tk, err)
	}
	checkStakeholders(t, s, f.talk.ID)
}

// testReopen: a rejected agreement is undone in one write, the talk is open
// again and agrees anew; an agreement no one rejected stands.
func testReopen(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := agreedFixture(t, s)
	chair, mayor := newUser(t, s, "chair"), newUser(t, s, "mayor")
	must(t, "AddStakeholder", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: chair.ID}, stamp(f.convener.ID, 420)))
	must(t, "AddStakeholder 2", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: mayor.ID}, stamp(f.convener.ID, 421)))
	must(t, "Ratify", s.Ratify(ctx, f.talk.ID, mayor.ID, talks.DecisionRatify, "", stamp(mayor.ID, 422)))
	wantCode(t, "ReopenTalk (no rejection)", s.ReopenTalk(ctx, f.talk.ID, stamp(f.convener.ID, 423)), talks.ECONFLICT)

	// Everything the agreement brought: a disclosure plan with a consent,
	// and a hand-off.
	must(t, "ProposeDisclosure", s.ProposeDisclosure(ctx, &talks.Disclosure{TalkID: f.talk.ID, VersionID: f.v3.ID, Embargo: t0.Add(48 * time.Hour),
		Terms: []talks.DisclosureTerm{{Issue: "line"}}, ProposedBy: f.mNorthP.ID}, f.back.ID, stamp(f.northP.ID, 424)))
	must(t, "ConsentDisclosure", s.ConsentDisclosure(ctx, f.talk.ID, 1, &talks.DisclosureConsent{PartyID: f.north.ID, MemberID: f.mNorthP.ID}, f.back.ID, stamp(f.northP.ID, 425)))
	carried := &talks.Version{Values: f.v3.Values, Clauses: f.v3.Clauses, AuthorID: f.mNorthP.ID}
	cp := &talks.Proposal{TrackID: f.official.ID, Title: "Carried", AuthorID: f.mNorthP.ID}
	must(t, "CarryAgreement", s.CarryAgreement(ctx, cp,
		carried, &talks.Handoff{MemberID: f.mNorthP.ID}, stamp(f.northP.ID, 426)))
	accepted, err := f.answer(t, s, carried, f.mNorthP, talks.AnswerAccept, 427)
	must(t, "AnswerVersion (carried)", err)
	must(t, "Ratify (reject)", s.Ratify(ctx, f.talk.ID, chair.ID, talks.DecisionReject, "Crosses the river.", stamp(chair.ID, 428)))
	_, err = f.answer(t, s, f.v2, f.mNorthE, talks.AnswerReject, 428)
	wantCode(t, "AnswerVersion (settled text)", err, talks.ECONFLICT)
	// Closed since: it opens again all the same.
	closed := talks.StatusClosed
	_, err = s.UpdateTalk(ctx, f.talk.ID, talks.TalkUpdate{Status: &closed}, stamp(f.convener.ID, 428))
	must(t, "UpdateTalk (closed)", err)
	before := events(t, s, f.talk.ID)

	must(t, "ReopenTalk", s.ReopenTalk(ctx, f.talk.ID, stamp(f.convener.ID, 429)))
	if tk, err := s.FindTalkByID(ctx, f.talk.ID); err != nil || tk.Status != talks.StatusOpen {
		t.Fatalf("status after reopening = %v (%v), want open", tk, err)
	}
	_, err = s.FindAgreement(ctx, f.talk.ID)
	wantCode(t, "FindAgreement after reopening", err, talks.ENOTFOUND)
	_, err = s.FindDisclosure(ctx, f.talk.ID)
	wantCode(t, "FindDisclosure after reopening", err, talks.ENOTFOUND)
	_, err = s.FindHandoff(ctx, f.talk.ID)
	wantCode(t, "FindHandoff after reopening", err, talks.ENOTFOUND)
	// The carried proposal stays, and stays carried: its text came from
	// the back-channel whatever became of the agreement.
	if !cp.Carried {
		t.Errorf("CarryAgreement left the proposal's Carried unset")
	}
	ps, err := s.FindProposals(ctx, talks.ProposalFilter{TalkID: f.talk.ID})
	must(t, "FindProposals", err)
	for _, p := range ps {
		if p.Carried != (p.ID == cp.ID) {
			t.Errorf("proposal %d (%q) after reopening: carried %v", p.ID, p.Title, p.Carried)
		}
	}
	sts, err := s.FindStakeholders(ctx, f.talk.ID)
	must(t, "FindStakeholders", err)
	for _, st := range sts {
		if st.Decision != "" || st.Comment != "" || !st.DecidedAt.IsZero() {
			t.Errorf("stakeholder %d after reopening = %+v, want no decision", st.UserID, st)
		}
	}
	// The three acceptances (two of the agreed text, one of the carried
	// one) are withdrawn, each on its track, in order, then talk.reopened.
	as, err := s.FindAnswers(ctx, talks.AnswerFilter{ProposalID: f.prop.ID})
	must(t, "FindAnswers", err)
	more, err := s.FindAnswers(ctx, talks.AnswerFilter{ProposalID: cp.ID})
	must(t, "FindAnswers", err)
	as = append(as, more...)
	var withdrawn []int64
	for _, a := range as {
		if a.Kind == talks.AnswerAccept && a.Standing() {
			t.Errorf("acceptance %d stands after reopening", a.ID)
		} else if a.Kind == talks.AnswerAccept && a.WithdrawnAt.Equal(talks.Timestamp(stamp(0, 429).Time)) {
			withdrawn = append(withdrawn, a.ID)
		}
	}
	evs := events(t, s, f.talk.ID)[len(before):]
	if len(withdrawn) != 3 || len(evs) != 4 {
		t.Fatalf("withdrew %v in %d events, want 3 acceptances in 4 events", withdrawn, len(evs))
	}
	for i, id := range withdrawn {
		track := f.back.ID
		if id == accepted.ID {
			track = f.official.ID
		}
		if e := evs[i]; e.Type != talks.EventAnswerWithdrawn || e.TrackID != track || string(e.Payload) != `{"answer_id":`+itoa(int(id))+`}` {
			t.Errorf("event %d = %s on track %d %s, want %s of answer %d on track %d", i, e.Type, e.TrackID, e.Payload, talks.EventAnswerWithdrawn, id, track)
		}
	}
	if e := evs[3]; e.Type != talks.EventTalkReopened || e.TrackID != 0 || e.ActorID != f.convener.ID || string(e.Payload) != `{}` {
		t.Errorf("last event = %s on track %d by %d %s", e.Type, e.TrackID, e.ActorID, e.Payload)
	}
	checkStakeholders(t, s, f.talk.ID)
	wantCode(t, "ReopenTalk (open)", s.ReopenTalk(ctx, f.talk.ID, stamp(f.convener.ID, 430)), talks.ECONFLICT)

	// The text moves again, and the talk agrees anew, to be decided on
	// afresh.
	must(t, "CreateProposal (reopened)", s.CreateProposal(ctx, &talks.Proposal{TrackID: f.back.ID, Title: "Other", AuthorID: f.mNorthE.ID},
		&talks.Version{Values: f.v3.Values, AuthorID: f.mNorthE.ID}, stamp(f.northE.ID, 430)))
	_, err = f.answer(t, s, f.v3, f.mNorthE, talks.AnswerAccept, 431)
	must(t, "AnswerVersion (again)", err)
	_, err = f.answer(t, s, f.v3, f.mSouthE, talks.AnswerAccept, 432)
	must(t, "AnswerVersion (again)", err)
	if ag, err := s.FindAgreement(ctx, f.talk.ID); err != nil || ag.VersionID != f.v3.ID {
		t.Fatalf("agreement after agreeing again = %+v (%v)", ag, err)
	}
	// The next plan's revision follows the undone one's: a consent's
	// signed statement names a revision, which is never used twice.
	next := &talks.Disclosure{TalkID: f.talk.ID, VersionID: f.v3.ID, Embargo: t0.Add(48 * time.Hour),
		Terms: []talks.DisclosureTerm{{Issue: "line"}}, ProposedBy: f.mNorthP.ID}
	must(t, "ProposeDisclosure (again)", s.ProposeDisclosure(ctx, next, f.back.ID, stamp(f.northP.ID, 432)))
	if next.Revision != 2 {
		t.Errorf("the first plan after a reopening has revision %d, want 2", next.Revision)
	}
	must(t, "Ratify (again)", s.Ratify(ctx, f.talk.ID, chair.ID, talks.DecisionRatify, "Now within our lines.", stamp(chair.ID, 433)))
	must(t, "Ratify 2 (again)", s.Ratify(ctx, f.talk.ID, mayor.ID, talks.DecisionRatify, "", stamp(mayor.ID, 434)))
	if tk, err := s.FindTalkByID(ctx, f.talk.ID); err != nil || tk.Status != talks.StatusRatified {
		t.Fatalf("status after ratifying again = %v (%v), want ratified", tk, err)
	}
	wantCode(t, "ReopenTalk (ratified)", s.ReopenTalk(ctx, f.talk.ID, stamp(f.convener.ID, 435)), talks.ECONFLICT)
	checkStakeholders(t, s, f.talk.ID)
}

// testReopenPublished: a plan every party consented to, past its embargo
// at the write's time, keeps the talk agreed; the same plan before its
// embargo does not.
func testReopenPublished(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := agreedFixture(t, s)
	chair := newUser(t, s, "chair")
	must(t, "AddStakeholder", s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: chair.ID}, stamp(f.convener.ID, 420)))
	must(t, "Ratify (reject)", s.Ratify(ctx, f.talk.ID, chair.ID, talks.DecisionReject, "Crosses the river.", stamp(chair.ID, 421)))
	embargo := stamp(0, 500).Time
	must(t, "ProposeDisclosure", s.ProposeDisclosure(ctx, &talks.Disclosure{TalkID: f.talk.ID, VersionID: f.v3.ID, Embargo: embargo,
		Terms: []talks.DisclosureTerm{{Issue: "line"}}, ProposedBy: f.mNorthP.ID}, f.back.ID, stamp(f.northP.ID, 422)))
	for i, c := range []*talks.DisclosureConsent{{PartyID: f.north.ID, MemberID: f.mNorthP.ID}, {PartyID: f.south.ID, MemberID: f.mSouthP.ID}} {
		must(t, "ConsentDisclosure", s.ConsentDisclosure(ctx, f.talk.ID, 1, c, f.back.ID, stamp(f.northP.ID, 423+i)))
	}
	head := len(events(t, s, f.talk.ID))
	for _, i := range []int{500, 501} { // at the embargo and after it
		if err := s.ReopenTalk(ctx, f.talk.ID, stamp(f.convener.ID, i)); err != talks.ErrTermsPublic {
			t.Errorf("ReopenTalk at embargo%+ds = %v, want ErrTermsPublic", i-500, err)
		}
	}
	if n := len(events(t, s, f.talk.ID)); n != head {
		t.Errorf("the refused reopenings appended %d events", n-head)
	}
	checkStakeholders(t, s, f.talk.ID)
	must(t, "ReopenTalk (before the embargo)", s.ReopenTalk(ctx, f.talk.ID, stamp(f.convener.ID, 499)))
	checkStakeholders(t, s, f.talk.ID)
}
