package talks_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// agreedWorld is a text world whose envoys' version envV1 both parties
// accepted: the talk is agreed in the back-channel "envoys", which NE, SE,
// NP and SP see. Its service's clock stands still until moved.
type agreedWorld struct {
	*textWorld
	now time.Time
}

func newAgreedWorld(t *testing.T) *agreedWorld {
	t.Helper()
	tw := newTextWorld(t)
	mustOK(t, "AnswerVersion", tw.svc.AnswerVersion(tw.as("SE"), &talks.Answer{VersionID: tw.envV1.ID, Kind: talks.AnswerAccept}))
	aw := &agreedWorld{textWorld: tw, now: time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC)}
	aw.svc = talks.NewService(tw.store, talks.ClockFunc(func() time.Time { return aw.now }))
	return aw
}

func with(m map[string]string, u, code string) map[string]string {
	m[u] = code
	return m
}

func (w *agreedWorld) plan(embargo time.Time) *talks.Disclosure {
	return &talks.Disclosure{TalkID: w.talk.ID, Embargo: embargo,
		Terms: []talks.DisclosureTerm{{Issue: "prisoners", Clause: "Released in June."}, {Issue: "line"}}}
}

// TestServiceDisclosureAccess: who sees the agreement sees the plan; only
// principals propose, consent and see the read record; the rest get
// ENOTFOUND, even of the talk.
func TestServiceDisclosureAccess(t *testing.T) {
	others := map[string]string{"F": talks.ENOTFOUND, "NA": talks.ENOTFOUND, "SA": talks.ENOTFOUND, "O": talks.ENOTFOUND, "": talks.EUNAUTHORIZED}
	want := func(envoys string) map[string]string {
		m := map[string]string{"NP": "", "SP": "", "NE": envoys, "SE": envoys}
		for k, v := range others {
			m[k] = v
		}
		return m
	}
	ops := []struct {
		name string
		do   func(ctx context.Context, w *agreedWorld) error
		want map[string]string
	}{
		{"ReadAgreement", func(ctx context.Context, w *agreedWorld) error {
			return errOf(w.svc.ReadAgreement(ctx, w.talk.ID))
		}, want("")},
		{"FindAgreementReads", func(ctx context.Context, w *agreedWorld) error {
			return errOf(w.svc.FindAgreementReads(ctx, w.talk.ID))
		}, want(talks.EFORBIDDEN)},
		{"ProposeDisclosure", func(ctx context.Context, w *agreedWorld) error {
			return w.svc.ProposeDisclosure(ctx, w.plan(w.now))
		}, want(talks.EFORBIDDEN)},
		{"ConsentDisclosure", func(ctx context.Context, w *agreedWorld) error {
			return errOf(w.svc.ConsentDisclosure(ctx, w.talk.ID, 1))
		}, want(talks.EFORBIDDEN)},
		{"FindDisclosure", func(ctx context.Context, w *agreedWorld) error {
			return errOf(w.svc.FindDisclosure(ctx, w.talk.ID))
		}, want("")},
		{"CarryAgreement", func(ctx context.Context, w *agreedWorld) error {
			return errOf(w.svc.CarryAgreement(ctx, w.talk.ID, "Carried"))
		}, with(want(talks.EFORBIDDEN), "SP", talks.ECONFLICT)}, // NP carried it first
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			w := newAgreedWorld(t)
			mustOK(t, "ProposeDisclosure", w.svc.ProposeDisclosure(w.as("NP"), w.plan(w.now)))
			for _, u := range everyone {
				if got := talks.ErrorCode(op.do(w.as(u), w)); got != op.want[u] {
					t.Errorf("%s as %q: code %q, want %q", op.name, u, got, op.want[u])
				}
			}
		})
	}
}

func TestServiceDisclosure(t *testing.T) {
	w := newAgreedWorld(t)
	ctx := context.Background()
	_, err := w.svc.PublicDisclosure(ctx, w.talk.ID)
	if talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Fatalf("PublicDisclosure without a plan: %v, want ENOTFOUND", err)
	}
	for name, d := range map[string]*talks.Disclosure{
		"no terms":      {TalkID: w.talk.ID, Embargo: w.now},
		"unknown issue": {TalkID: w.talk.ID, Embargo: w.now, Terms: []talks.DisclosureTerm{{Issue: "flags"}}},
		"twice":         {TalkID: w.talk.ID, Embargo: w.now, Terms: []talks.DisclosureTerm{{Issue: "line"}, {Issue: "line"}}},
		"no embargo":    {TalkID: w.talk.ID, Terms: []talks.DisclosureTerm{{Issue: "line"}}},
		"long clause":   {TalkID: w.talk.ID, Embargo: w.now, Terms: []talks.DisclosureTerm{{Issue: "line", Clause: strings.Repeat("x", talks.MaxClauseLen+1)}}},
	} {
		if err := w.svc.ProposeDisclosure(w.as("NP"), d); talks.ErrorCode(err) != talks.EINVALID {
			t.Errorf("ProposeDisclosure(%s): %v, want EINVALID", name, err)
		}
	}
	embargo := w.now.Add(time.Hour)
	d := w.plan(embargo)
	mustOK(t, "ProposeDisclosure", w.svc.ProposeDisclosure(w.as("NP"), d))
	if d.Terms[0].Issue != "line" || d.Revision != 1 || d.VersionID != w.envV1.ID {
		t.Errorf("plan = %+v, want terms in space order, revision 1, the agreed version", d)
	}
	got, err := w.svc.ConsentDisclosure(w.as("NP"), w.talk.ID, 1)
	mustOK(t, "ConsentDisclosure", err)
	if len(got.Consents) != 1 {
		t.Errorf("consents = %+v", got.Consents)
	}
	if _, err := w.svc.ConsentDisclosure(w.as("NP"), w.talk.ID, 1); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("second consent: %v, want ECONFLICT", err)
	}
	// A changed plan resets the consents.
	d.ShowTitle = true
	mustOK(t, "ProposeDisclosure", w.svc.ProposeDisclosure(w.as("SP"), d))
	if _, err := w.svc.ConsentDisclosure(w.as("SP"), w.talk.ID, 1); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("consent to an old plan: %v, want ECONFLICT", err)
	}
	for _, u := range []string{"SP", "NP"} {
		_, err := w.svc.ConsentDisclosure(w.as(u), w.talk.ID, 2)
		mustOK(t, "ConsentDisclosure "+u, err)
	}
	if _, err := w.svc.PublicDisclosure(ctx, w.talk.ID); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Errorf("PublicDisclosure under embargo: %v, want ENOTFOUND", err)
	}
	w.now = embargo
	pd, err := w.svc.PublicDisclosure(ctx, w.talk.ID)
	mustOK(t, "PublicDisclosure", err)
	want := []talks.PublicTerm{{Issue: "line", Value: "ridge"}, {Issue: "prisoners", Value: "10", Clause: "Released in June."}}
	if pd.Title != "Ceasefire" || !slices.Equal(pd.Terms, want) || !pd.PublishedAt.Equal(embargo) {
		t.Errorf("PublicDisclosure = %+v, want title, terms %v, published at the embargo", pd, want)
	}
	// Every event of the plan is in the agreement's track: members who do
	// not see it see none of them.
	evs, err := w.svc.FindEvents(w.as("NA"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "disclosure.") {
			t.Errorf("NA sees event %s", e.Type)
		}
	}
}

func TestServiceAgreementReads(t *testing.T) {
	w := newAgreedWorld(t)
	for _, u := range []string{"NE", "SE", "NE"} {
		w.now = w.now.Add(time.Minute)
		mustOK(t, "ReadAgreement "+u, errOf(w.svc.ReadAgreement(w.as(u), w.talk.ID)))
	}
	mustOK(t, "FindAgreement", errOf(w.svc.FindAgreement(w.as("SE"), w.talk.ID))) // not a recorded read
	rs, err := w.svc.FindAgreementReads(w.as("SP"), w.talk.ID)
	mustOK(t, "FindAgreementReads", err)
	if len(rs) != 3 || rs[0].MemberID != w.members["NE"].ID || rs[1].MemberID != w.members["SE"].ID || !rs[0].ReadAt.Equal(w.now) {
		t.Errorf("reads = %+v, want NE, SE, NE newest first", rs)
	}
}

func TestServiceHandoff(t *testing.T) {
	w := newAgreedWorld(t)
	if _, err := w.svc.CarryAgreement(w.as("NP"), w.talk.ID, " "); talks.ErrorCode(err) != talks.EINVALID {
		t.Errorf("CarryAgreement without a title: %v, want EINVALID", err)
	}
	mustOK(t, "ProposeDisclosure", w.svc.ProposeDisclosure(w.as("NP"), w.plan(w.now)))
	p, err := w.svc.CarryAgreement(w.as("NP"), w.talk.ID, "Carried text")
	mustOK(t, "CarryAgreement", err)
	if p.TrackID != w.official.ID {
		t.Errorf("carried into track %d, want the official %d", p.TrackID, w.official.ID)
	}
	// Everyone sees the carried proposal, its text and its provenance,
	// and nothing of the back-channel.
	vs, err := w.svc.FindVersions(w.as("NA"), talks.VersionFilter{ProposalID: p.ID})
	mustOK(t, "FindVersions as NA", err)
	if len(vs) != 1 || vs[0].Values["line"] != "ridge" || vs[0].Rationale != "" || vs[0].AuthorID != w.members["NP"].ID {
		t.Errorf("carried versions = %+v", vs)
	}
	h, err := w.svc.FindHandoff(w.as("SA"), w.talk.ID)
	mustOK(t, "FindHandoff", err)
	if h.ProposalID != p.ID {
		t.Errorf("hand-off = %+v", h)
	}
	if _, err := w.svc.CarryAgreement(w.as("SP"), w.talk.ID, "Again"); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("second CarryAgreement: %v, want ECONFLICT", err)
	}
	if err := w.svc.ProposeVersion(w.as("SE"), &talks.Version{ParentID: vs[0].ID, Values: values("river", "10")}); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("counter to the carried text: %v, want ECONFLICT", err)
	}
	// The talk stays agreed on the back-channel agreement until every
	// party accepts the carried text in the official track.
	for i, u := range []string{"NE", "SP"} {
		mustOK(t, "AnswerVersion "+u, w.svc.AnswerVersion(w.as(u), &talks.Answer{VersionID: vs[0].ID, Kind: talks.AnswerAccept}))
		ag, err := w.svc.FindAgreement(w.as("NA"), w.talk.ID)
		if i == 0 && talks.ErrorCode(err) != talks.ENOTFOUND {
			t.Errorf("NA finds the back-channel agreement: %+v, %v", ag, err)
		} else if i == 1 && (err != nil || ag.TrackID != w.official.ID) {
			t.Errorf("agreement after both accept = %+v, %v; want the official one", ag, err)
		}
	}
	// The plan made on the back-channel agreement names, to those who do
	// not see the back-channel, the official version of the same text.
	d, err := w.svc.FindDisclosure(w.as("NA"), w.talk.ID)
	mustOK(t, "FindDisclosure as NA", err)
	if d.VersionID != vs[0].ID {
		t.Errorf("plan names version %d to NA, want the official %d", d.VersionID, vs[0].ID)
	}
	tk, err := w.svc.FindTalkByID(w.as("NA"), w.talk.ID)
	mustOK(t, "FindTalkByID", err)
	if tk.Status != talks.StatusAgreed {
		t.Errorf("talk status %s, want agreed", tk.Status)
	}
	if _, err := w.svc.CarryAgreement(w.as("NP"), w.talk.ID, "Again"); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("CarryAgreement of an official agreement: %v, want ECONFLICT", err)
	}
	evs, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	if _, err := talks.Project(evs); err != nil {
		t.Errorf("Project: %v", err)
	}
}
