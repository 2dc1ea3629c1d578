package storetest

import (
	"context"
	"reflect"
	"testing"

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
