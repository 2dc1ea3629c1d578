package talks_test

import (
	"context"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// rejectedWorld is an agreed world with one stakeholder, K, who has not
// answered yet.
func rejectedWorld(t *testing.T) *agreedWorld {
	t.Helper()
	w := newAgreedWorld(t)
	k := &talks.User{Name: "K", Email: "k@example.org"}
	mustOK(t, "CreateUser", w.store.CreateUser(context.Background(), k))
	w.users["K"] = k
	_, err := w.svc.AddStakeholder(w.as("F"), w.talk.ID, k.ID)
	mustOK(t, "AddStakeholder", err)
	return w
}

// TestServiceReopen: once a stakeholder rejects the agreement, the convener
// reopens the talk; the parties answer again, and the next agreement goes
// to the stakeholders afresh.
func TestServiceReopen(t *testing.T) {
	w := rejectedWorld(t)
	if _, err := w.svc.ReopenTalk(w.as("F"), w.talk.ID); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("ReopenTalk before any rejection = %v, want ECONFLICT", err)
	}
	mustOK(t, "Ratify (reject)", w.svc.Ratify(w.as("K"), w.talk.ID, talks.DecisionReject, "Crosses the river."))
	// A plan the parties consented to, not yet public, goes with the
	// agreement.
	mustOK(t, "ProposeDisclosure", w.svc.ProposeDisclosure(w.as("NP"), w.plan(w.now.Add(time.Hour))))
	for _, p := range []string{"NP", "SP"} {
		_, err := w.svc.ConsentDisclosure(w.as(p), w.talk.ID, 1)
		mustOK(t, "ConsentDisclosure", err)
	}
	for who, code := range map[string]string{"NP": talks.EFORBIDDEN, "SE": talks.EFORBIDDEN, "NA": talks.EFORBIDDEN,
		"O": talks.ENOTFOUND, "K": talks.ENOTFOUND, "": talks.EUNAUTHORIZED} {
		if _, err := w.svc.ReopenTalk(w.as(who), w.talk.ID); talks.ErrorCode(err) != code {
			t.Errorf("ReopenTalk as %q = %v, want %s", who, err, code)
		}
	}
	// Closed after the rejection, it is not opened by a status change,
	// but reopened.
	_, err := w.svc.UpdateTalk(w.as("F"), w.talk.ID, talks.TalkUpdate{Status: ptr(talks.StatusClosed)})
	mustOK(t, "UpdateTalk (closed)", err)
	if _, err := w.svc.UpdateTalk(w.as("F"), w.talk.ID, talks.TalkUpdate{Status: ptr(talks.StatusOpen)}); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("UpdateTalk (open) of a closed agreed talk = %v, want ECONFLICT", err)
	}
	tk, err := w.svc.ReopenTalk(w.as("F"), w.talk.ID)
	mustOK(t, "ReopenTalk", err)
	if tk.Status != talks.StatusOpen {
		t.Errorf("ReopenTalk answered status %s, want open", tk.Status)
	}
	if tk, err := w.svc.FindTalkByID(w.as("SA"), w.talk.ID); err != nil || tk.Status != talks.StatusOpen {
		t.Errorf("FindTalkByID after reopening = %+v, %v; want open", tk, err)
	}
	if _, err := w.svc.ReadAgreement(w.as("NP"), w.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("ReadAgreement after reopening = %v, want ENOTFOUND", err)
	}
	if _, err := w.svc.FindDisclosure(w.as("NP"), w.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("FindDisclosure after reopening = %v, want ENOTFOUND", err)
	}
	sts, err := w.svc.FindStakeholders(w.as("K"), w.talk.ID)
	mustOK(t, "FindStakeholders", err)
	if len(sts) != 1 || sts[0].Decision != "" {
		t.Errorf("stakeholders after reopening = %+v, want no decision", sts)
	}
	if err := w.svc.Ratify(w.as("K"), w.talk.ID, talks.DecisionRatify, ""); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("Ratify of an open talk = %v, want ECONFLICT", err)
	}
	if _, err := w.svc.ReopenTalk(w.as("F"), w.talk.ID); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("ReopenTalk of an open talk = %v, want ECONFLICT", err)
	}

	// Both acceptances were withdrawn: the text is answered again, and
	// agrees only when both parties accept once more.
	mustOK(t, "AnswerVersion", w.svc.AnswerVersion(w.as("SE"), &talks.Answer{VersionID: w.envV1.ID, Kind: talks.AnswerAccept}))
	if tk, _ := w.svc.FindTalkByID(w.as("SA"), w.talk.ID); tk.Status != talks.StatusOpen {
		t.Fatalf("status after one acceptance = %s, want open", tk.Status)
	}
	mustOK(t, "AnswerVersion", w.svc.AnswerVersion(w.as("NE"), &talks.Answer{VersionID: w.envV1.ID, Kind: talks.AnswerAccept}))
	mustOK(t, "Ratify", w.svc.Ratify(w.as("K"), w.talk.ID, talks.DecisionRatify, "Better."))
	if tk, _ := w.svc.FindTalkByID(w.as("SA"), w.talk.ID); tk.Status != talks.StatusRatified {
		t.Errorf("status after agreeing and ratifying again = %s, want ratified", tk.Status)
	}
	if _, err := w.svc.ReopenTalk(w.as("F"), w.talk.ID); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("ReopenTalk of a ratified talk = %v, want ECONFLICT", err)
	}

	// The rejection stays on the record: one earlier round, for members
	// and stakeholders alike; only members learn who reopened the talk.
	for _, who := range []string{"K", "NP", "SA"} {
		rounds, err := w.svc.EarlierRounds(w.as(who), w.talk.ID)
		mustOK(t, "EarlierRounds", err)
		by := w.users["F"].ID
		if who == "K" {
			by = 0
		}
		if len(rounds) != 1 || len(rounds[0].Decisions) != 1 || rounds[0].ReopenedBy != by || rounds[0].ReopenedAt.IsZero() {
			t.Fatalf("EarlierRounds as %s = %+v, want one round with one decision, reopened by user %d", who, rounds, by)
		}
		if d := rounds[0].Decisions[0]; d.UserID != w.users["K"].ID || d.Decision != talks.DecisionReject || d.Comment != "Crosses the river." || d.DecidedAt.IsZero() {
			t.Errorf("EarlierRounds as %s: decision %+v", who, d)
		}
	}
	if _, err := w.svc.EarlierRounds(w.as("O"), w.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("EarlierRounds as an outsider = %v, want ENOTFOUND", err)
	}
	evs, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	if _, err := talks.Project(evs); err != nil {
		t.Errorf("Project: %v", err)
	}
}

// TestServiceReopenPublished: terms already public stay so; the talk does
// not open again.
func TestServiceReopenPublished(t *testing.T) {
	w := rejectedWorld(t)
	mustOK(t, "Ratify (reject)", w.svc.Ratify(w.as("K"), w.talk.ID, talks.DecisionReject, "Crosses the river."))
	mustOK(t, "ProposeDisclosure", w.svc.ProposeDisclosure(w.as("NP"), w.plan(w.now.Add(time.Hour))))
	for _, p := range []string{"NP", "SP"} {
		_, err := w.svc.ConsentDisclosure(w.as(p), w.talk.ID, 1)
		mustOK(t, "ConsentDisclosure", err)
	}
	w.now = w.now.Add(2 * time.Hour)
	if _, err := w.svc.ReopenTalk(w.as("F"), w.talk.ID); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("ReopenTalk with the terms public = %v, want ECONFLICT", err)
	}
	if tk, _ := w.svc.FindTalkByID(w.as("SA"), w.talk.ID); tk.Status != talks.StatusAgreed {
		t.Errorf("status = %s, want agreed", tk.Status)
	}
}

// TestServiceEarlierRounds: two reopenings make two rounds, each with the
// decision given on its agreement; the current round is not among them.
func TestServiceEarlierRounds(t *testing.T) {
	w := rejectedWorld(t)
	agree := func() {
		t.Helper()
		for _, who := range []string{"SE", "NE"} {
			mustOK(t, "AnswerVersion", w.svc.AnswerVersion(w.as(who), &talks.Answer{VersionID: w.envV1.ID, Kind: talks.AnswerAccept}))
		}
	}
	for _, comment := range []string{"First: the river.", "Second: still the river."} {
		w.now = w.now.Add(time.Minute)
		mustOK(t, "Ratify (reject)", w.svc.Ratify(w.as("K"), w.talk.ID, talks.DecisionReject, comment))
		_, err := w.svc.ReopenTalk(w.as("F"), w.talk.ID)
		mustOK(t, "ReopenTalk", err)
		agree()
	}
	mustOK(t, "Ratify (reject)", w.svc.Ratify(w.as("K"), w.talk.ID, talks.DecisionReject, "Third, not yet reopened."))
	rounds, err := w.svc.EarlierRounds(w.as("NP"), w.talk.ID)
	mustOK(t, "EarlierRounds", err)
	if len(rounds) != 2 {
		t.Fatalf("EarlierRounds = %d rounds, want 2", len(rounds))
	}
	for i, want := range []string{"First: the river.", "Second: still the river."} {
		if ds := rounds[i].Decisions; len(ds) != 1 || ds[0].Comment != want {
			t.Errorf("round %d: decisions %+v, want %q", i+1, ds, want)
		}
	}
	if !rounds[0].ReopenedAt.Before(rounds[1].ReopenedAt) {
		t.Errorf("rounds reopened at %v, %v: want oldest first", rounds[0].ReopenedAt, rounds[1].ReopenedAt)
	}
}
