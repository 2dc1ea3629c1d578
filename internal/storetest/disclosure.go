package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// checkDisclosure compares a talk's disclosure plan and hand-off with the
// fold of its events.
func checkDisclosure(t *testing.T, s talks.Store, talkID int64, want *talks.State) {
	t.Helper()
	ctx := context.Background()
	d, err := s.FindDisclosure(ctx, talkID)
	if want.Disclosure == nil {
		wantCode(t, "FindDisclosure without a plan", err, talks.ENOTFOUND)
	} else if must(t, "FindDisclosure", err); !reflect.DeepEqual(d, want.Disclosure) {
		t.Errorf("disclosure projection = %+v, fold of events = %+v", d, want.Disclosure)
	}
	h, err := s.FindHandoff(ctx, talkID)
	if want.Handoff == nil {
		wantCode(t, "FindHandoff without a hand-off", err, talks.ENOTFOUND)
	} else if must(t, "FindHandoff", err); !reflect.DeepEqual(h, want.Handoff) {
		t.Errorf("hand-off projection = %+v, fold of events = %+v", h, want.Handoff)
	}
}

// agreedFixture is a text fixture whose v3, in the back-channel, both
// parties accepted.
func agreedFixture(t *testing.T, s talks.Store) *textFixture {
	t.Helper()
	f := newTextFixture(t, s)
	_, err := f.answer(t, s, f.v3, f.mNorthE, talks.AnswerAccept, 300)
	must(t, "AnswerVersion", err)
	_, err = f.answer(t, s, f.v3, f.mSouthE, talks.AnswerAccept, 301)
	must(t, "AnswerVersion", err)
	return f
}

func testDisclosure(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := agreedFixture(t, s)
	_, err := s.FindDisclosure(ctx, f.talk.ID)
	wantCode(t, "FindDisclosure before a plan", err, talks.ENOTFOUND)
	c := &talks.DisclosureConsent{PartyID: f.north.ID, MemberID: f.mNorthP.ID}
	wantCode(t, "ConsentDisclosure before a plan", s.ConsentDisclosure(ctx, f.talk.ID, 1, c, f.back.ID, stamp(f.northP.ID, 310)), talks.ENOTFOUND)

	embargo := t0.Add(48 * time.Hour)
	d := &talks.Disclosure{TalkID: f.talk.ID, VersionID: f.v3.ID, Terms: []talks.DisclosureTerm{{Issue: "line", Clause: "Along the river."}},
		Embargo: embargo, ProposedBy: f.mNorthP.ID}
	must(t, "ProposeDisclosure", s.ProposeDisclosure(ctx, d, f.back.ID, stamp(f.northP.ID, 311)))
	if d.Revision != 1 || !d.ProposedAt.Equal(talks.Timestamp(stamp(0, 311).Time)) {
		t.Errorf("ProposeDisclosure set revision %d, proposed at %v", d.Revision, d.ProposedAt)
	}
	must(t, "ConsentDisclosure", s.ConsentDisclosure(ctx, f.talk.ID, 1, c, f.back.ID, stamp(f.northP.ID, 312)))
	again := &talks.DisclosureConsent{PartyID: f.north.ID, MemberID: f.mNorthP.ID}
	wantCode(t, "ConsentDisclosure twice", s.ConsentDisclosure(ctx, f.talk.ID, 1, again, f.back.ID, stamp(f.northP.ID, 313)), talks.ECONFLICT)
	checkProjection(t, s, f.talk.ID)

	// A new plan clears the consents; consenting to the old one conflicts.
	d2 := &talks.Disclosure{TalkID: f.talk.ID, VersionID: f.v3.ID, ShowTitle: true, Embargo: embargo,
		Terms: []talks.DisclosureTerm{{Issue: "line"}, {Issue: "prisoners"}}, ProposedBy: f.mSouthP.ID}
	must(t, "ProposeDisclosure", s.ProposeDisclosure(ctx, d2, f.back.ID, stamp(f.southP.ID, 314)))
	if d2.Revision != 2 {
		t.Errorf("second plan revision %d, want 2", d2.Revision)
	}
	got, err := s.FindDisclosure(ctx, f.talk.ID)
	must(t, "FindDisclosure", err)
	if len(got.Consents) != 0 || !got.ShowTitle || len(got.Terms) != 2 || !got.Embargo.Equal(talks.Timestamp(embargo)) {
		t.Errorf("FindDisclosure after a new plan = %+v", got)
	}
	cs := &talks.DisclosureConsent{PartyID: f.south.ID, MemberID: f.mSouthP.ID}
	wantCode(t, "ConsentDisclosure(old revision)", s.ConsentDisclosure(ctx, f.talk.ID, 1, cs, f.back.ID, stamp(f.southP.ID, 315)), talks.ECONFLICT)

	// Both parties consent at once: both consents land.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, m := range []*talks.Member{f.mNorthP, f.mSouthP} {
		wg.Go(func() {
			c := &talks.DisclosureConsent{PartyID: m.PartyID, MemberID: m.ID}
			if err := s.ConsentDisclosure(ctx, f.talk.ID, 2, c, f.back.ID, stamp(m.UserID, 320+i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent ConsentDisclosure: %v", err)
	}
	got, err = s.FindDisclosure(ctx, f.talk.ID)
	must(t, "FindDisclosure", err)
	if len(got.Consents) != 2 || got.Consents[0].PartyID != f.north.ID || got.Consents[1].PartyID != f.south.ID {
		t.Errorf("consents = %+v, want north's then south's", got.Consents)
	}
	checkProjection(t, s, f.talk.ID)
}

func testHandoff(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := agreedFixture(t, s)
	carry := func(i int) (*talks.Proposal, *talks.Version, *talks.Handoff, error) {
		p := &talks.Proposal{TrackID: f.official.ID, Title: "Carried", AuthorID: f.mNorthP.ID}
		v := &talks.Version{Values: f.v3.Values, Clauses: f.v3.Clauses, AuthorID: f.mNorthP.ID}
		h := &talks.Handoff{MemberID: f.mNorthP.ID}
		return p, v, h, s.CarryAgreement(ctx, p, v, h, stamp(f.northP.ID, i))
	}
	p, v, h, err := carry(330)
	must(t, "CarryAgreement", err)
	if h.ProposalID != p.ID || h.TalkID != f.talk.ID || p.TrackID != f.official.ID {
		t.Errorf("CarryAgreement set proposal %+v, hand-off %+v", p, h)
	}
	_, _, _, err = carry(331)
	wantCode(t, "CarryAgreement twice", err, talks.ECONFLICT)
	// Other text of the agreed talk stays settled; the carried text is
	// answered.
	_, err = f.answer(t, s, f.v2, f.mNorthE, talks.AnswerReject, 332)
	wantCode(t, "AnswerVersion(back-channel text)", err, talks.ECONFLICT)
	counter := &talks.Version{ParentID: v.ID, Values: v.Values, AuthorID: f.mSouthP.ID}
	wantCode(t, "ProposeVersion(carried)", s.ProposeVersion(ctx, counter, nil, stamp(f.southP.ID, 333)), talks.ECONFLICT)
	a, err := f.answer(t, s, v, f.mNorthP, talks.AnswerAccept, 334)
	must(t, "AnswerVersion(carried)", err)
	must(t, "WithdrawAnswer(carried)", s.WithdrawAnswer(ctx, a.ID, stamp(f.northP.ID, 335)))
	_, err = f.answer(t, s, v, f.mNorthP, talks.AnswerAccept, 336)
	must(t, "AnswerVersion(carried)", err)
	ag, err := s.FindAgreement(ctx, f.talk.ID)
	must(t, "FindAgreement", err)
	if ag.TrackID != f.back.ID {
		t.Errorf("agreement in track %d before every party accepts the carried text, want %d", ag.TrackID, f.back.ID)
	}
	_, err = f.answer(t, s, v, f.mSouthP, talks.AnswerAccept, 337)
	must(t, "AnswerVersion(carried)", err)
	ag, err = s.FindAgreement(ctx, f.talk.ID)
	must(t, "FindAgreement", err)
	if ag.TrackID != f.official.ID || ag.VersionID != v.ID {
		t.Errorf("agreement = %+v, want version %d in the official track", ag, v.ID)
	}
	// Now the official agreement is settled too.
	_, err = f.answer(t, s, v, f.mNorthE, talks.AnswerReject, 338)
	wantCode(t, "AnswerVersion after the official agreement", err, talks.ECONFLICT)
	checkProjection(t, s, f.talk.ID)
}

func testAgreementReads(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := agreedFixture(t, s)
	head, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	for i, m := range []*talks.Member{f.mNorthE, f.mSouthP, f.mNorthE} {
		r := &talks.AgreementRead{TalkID: f.talk.ID, MemberID: m.ID, ReadAt: stamp(0, 350+i).Time}
		must(t, "RecordAgreementRead", s.RecordAgreementRead(ctx, r))
		if r.ID == 0 {
			t.Errorf("RecordAgreementRead set no ID")
		}
	}
	wantCode(t, "RecordAgreementRead(unknown member)", s.RecordAgreementRead(ctx, &talks.AgreementRead{TalkID: f.talk.ID, MemberID: 1 << 40, ReadAt: t0}), talks.EINVALID)
	if h, err := s.TalkHead(ctx, f.talk.ID); err != nil || h != head {
		t.Errorf("TalkHead after reads = %d, %v; want %d: a read is no event", h, err, head)
	}
	rs, err := s.FindAgreementReads(ctx, f.talk.ID, 0)
	must(t, "FindAgreementReads", err)
	if len(rs) != 3 || rs[0].MemberID != f.mNorthE.ID || rs[1].MemberID != f.mSouthP.ID || !rs[0].ReadAt.Equal(talks.Timestamp(stamp(0, 352).Time)) {
		t.Fatalf("FindAgreementReads = %+v, want 3, newest first", rs)
	}
	rs, err = s.FindAgreementReads(ctx, f.talk.ID, 2)
	must(t, "FindAgreementReads(limit 2)", err)
	if len(rs) != 2 {
		t.Errorf("FindAgreementReads(limit 2) returned %d", len(rs))
	}
}
