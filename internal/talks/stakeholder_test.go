package talks_test

import (
	"context"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestStakeholders runs the stakeholder rules of the Service on each
// backend: a stakeholder is no member, its red lines are its own, the
// parties learn one bit per version, and ratification follows agreement.
func TestStakeholders(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) { testStakeholders(t, open(t)) })
	}
}

// chairLines wants the river line above all; reserved value 0.6: the
// version on the table (hills) crosses it.
func chairLines(d *deal) *talks.RedLines {
	return &talks.RedLines{Preferences: talks.Preferences{TalkID: d.talk.ID, Reserved: 0.6,
		Weights: map[string]float64{"line": 1, "water": 0, "troops": 0},
		Scores: map[string]map[string]float64{"line": {"river": 1, "ridge": 0.5, "hills": 0},
			"water": {"north": 0, "shared": 0, "south": 0}, "troops": {"0": 0, "5000": 0, "10000": 0}}}}
}

func testStakeholders(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	ctx := context.Background()
	k := &talks.User{Name: "K", Email: "k@example.org"}
	mustOK(t, "CreateUser", st.CreateUser(ctx, k))
	d.users["K"] = k

	// Only the convener and facilitators attach.
	for who, code := range map[string]string{"NP": talks.EFORBIDDEN, "O": talks.ENOTFOUND, "": talks.EUNAUTHORIZED} {
		if _, err := d.svc.AddStakeholder(d.as(who), d.talk.ID, k.ID); talks.ErrorCode(err) != code {
			t.Errorf("AddStakeholder as %q = %v, want %s", who, err, code)
		}
	}
	_, err := d.svc.AddStakeholder(d.as("F"), d.talk.ID, k.ID)
	mustOK(t, "AddStakeholder", err)
	if err := d.svc.AddMember(d.as("F"), &talks.Member{TalkID: d.talk.ID, UserID: k.ID, PartyID: d.north.ID, Role: talks.RoleObserver}); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("AddMember of the stakeholder = %v, want ECONFLICT", err)
	}

	// Not at the table: every member path answers as to a stranger.
	if _, err := d.svc.View(d.as("K"), d.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("View as the stakeholder = %v, want ENOTFOUND", err)
	}
	if _, err := d.svc.FindVersionByID(d.as("K"), d.version.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("FindVersionByID as the stakeholder = %v, want ENOTFOUND", err)
	}
	if _, err := d.svc.FindEvents(d.as("K"), talks.EventFilter{TalkID: d.talk.ID}); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("FindEvents as the stakeholder = %v, want ENOTFOUND", err)
	}

	// Red lines: the stakeholder's own.
	if err := d.svc.SaveRedLines(d.as("NP"), chairLines(d)); talks.ErrorCode(err) != talks.EFORBIDDEN {
		t.Errorf("SaveRedLines as a principal = %v, want EFORBIDDEN", err)
	}
	if err := d.svc.SaveRedLines(d.as("O"), chairLines(d)); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("SaveRedLines as an outsider = %v, want ENOTFOUND", err)
	}
	bad := chairLines(d)
	bad.Reserved = 1.5
	if err := d.svc.SaveRedLines(d.as("K"), bad); talks.ErrorCode(err) != talks.EINVALID {
		t.Errorf("SaveRedLines (reserved 1.5) = %v, want EINVALID", err)
	}
	r := chairLines(d)
	mustOK(t, "SaveRedLines", d.svc.SaveRedLines(d.as("K"), r))
	if r.UserID != k.ID || r.Version != 1 || r.Digest != talks.PreferencesDigest(r.Salt, r.Body()) {
		t.Errorf("saved %+v", r)
	}

	// The parties learn one bit; the redlines.saved event is no member's.
	crosses, err := d.svc.CrossesRedLine(d.as("SE"), d.version.ID)
	mustOK(t, "CrossesRedLine", err)
	if !crosses {
		t.Error("the hills line does not cross the chair's red line")
	}
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	stg, err := d.svc.Standing(d.as("NA"), d.talk.ID)
	mustOK(t, "Standing", err)
	if len(stg.Versions) != 1 || !stg.Versions[0].CrossesRedLine {
		t.Errorf("Standing = %+v, want the version flagged", stg.Versions)
	}
	for _, who := range []string{"F", "NP", "NE", "NA", "NO", "SP", "SE", "SA", "SO"} {
		evs, err := d.svc.FindEvents(d.as(who), talks.EventFilter{TalkID: d.talk.ID})
		mustOK(t, "FindEvents", err)
		for _, e := range evs {
			if e.Type == talks.EventRedLinesSaved {
				t.Errorf("%s sees %s", who, e.Type)
			}
		}
	}

	// Nothing to ratify before agreement.
	if _, _, err := d.svc.AgreementForRatification(d.as("K"), d.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("AgreementForRatification before agreement = %v, want ENOTFOUND", err)
	}
	if err := d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionRatify, ""); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("Ratify before agreement = %v, want ECONFLICT", err)
	}
	mustOK(t, "AnswerVersion", d.svc.AnswerVersion(d.as("SP"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept}))
	mustOK(t, "AnswerVersion", d.svc.AnswerVersion(d.as("NP"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept}))
	ag, ver, err := d.svc.AgreementForRatification(d.as("K"), d.talk.ID)
	mustOK(t, "AgreementForRatification", err)
	if ag.VersionID != d.version.ID || ver.Values["line"] != "hills" {
		t.Errorf("AgreementForRatification = %+v, %+v", ag, ver)
	}
	if _, _, err := d.svc.AgreementForRatification(d.as("NP"), d.talk.ID); talks.ErrorCode(err) != talks.EFORBIDDEN {
		t.Errorf("AgreementForRatification as a principal = %v, want EFORBIDDEN", err)
	}
	for name, c := range map[string]struct {
		who     string
		d       talks.Decision
		comment string
		code    string
	}{
		"member":             {"NP", talks.DecisionRatify, "", talks.EFORBIDDEN},
		"unknown decision":   {"K", "abstain", "", talks.EINVALID},
		"reject, no comment": {"K", talks.DecisionReject, "  ", talks.EINVALID},
		"long comment":       {"K", talks.DecisionRatify, strings.Repeat("x", talks.MaxCommentLen+1), talks.EINVALID},
	} {
		if err := d.svc.Ratify(d.as(c.who), d.talk.ID, c.d, c.comment); talks.ErrorCode(err) != c.code {
			t.Errorf("Ratify (%s) = %v, want %s", name, err, c.code)
		}
	}
	mustOK(t, "Ratify", d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionRatify, "Below our line, but peace first."))
	tk, err := d.svc.FindTalkByID(d.as("SO"), d.talk.ID)
	mustOK(t, "FindTalkByID", err)
	if tk.Status != talks.StatusRatified {
		t.Errorf("status = %s, want ratified", tk.Status)
	}
	if err := d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionReject, "changed my mind"); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("Ratify again = %v, want ECONFLICT", err)
	}
	if _, err := d.svc.UpdateTalk(d.as("F"), d.talk.ID, talks.TalkUpdate{Status: ptr(talks.StatusOpen)}); err == nil {
		t.Error("a ratified talk opened again")
	}
	sts, err := d.svc.FindStakeholders(d.as("SO"), d.talk.ID)
	mustOK(t, "FindStakeholders", err)
	if len(sts) != 1 || sts[0].Decision != talks.DecisionRatify {
		t.Errorf("FindStakeholders = %+v", sts)
	}
	if _, err := d.svc.FindStakeholders(d.as("O"), d.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("FindStakeholders as an outsider = %v, want ENOTFOUND", err)
	}
	// The events, folded, say the same.
	evs, err := st.FindEvents(ctx, talks.EventFilter{TalkID: d.talk.ID})
	mustOK(t, "FindEvents", err)
	state, err := talks.Project(evs)
	mustOK(t, "Project", err)
	if state.Talk.Status != talks.StatusRatified || len(state.Stakeholders) != 1 || state.Stakeholders[0].Comment != "Below our line, but peace first." {
		t.Errorf("Project: status %s, stakeholders %+v", state.Talk.Status, state.Stakeholders)
	}
}

func ptr[T any](x T) *T { return &x }
