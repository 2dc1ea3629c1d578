package storetest

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// checkMandates compares the stamps of a talk's stored mandates with the
// fold of its events.
func checkMandates(t *testing.T, s talks.Store, talkID int64, want *talks.State) {
	t.Helper()
	ctx := context.Background()
	parties, err := s.FindParties(ctx, talks.PartyFilter{TalkID: talkID})
	must(t, "FindParties", err)
	var got []*talks.MandateStamp
	for _, p := range parties {
		a, err := s.FindMandates(ctx, talkID, p.ID)
		must(t, "FindMandates", err)
		for _, m := range a {
			got = append(got, m.Stamp())
		}
	}
	slices.SortFunc(got, func(a, b *talks.MandateStamp) int { return int(a.EnvoyID - b.EnvoyID) })
	if len(got) != len(want.Mandates) || (len(got) > 0 && !reflect.DeepEqual(got, want.Mandates)) {
		t.Errorf("mandates projected = %v, fold of events = %v", got, want.Mandates)
	}
}

func newMandate(talkID, partyID, envoyID int64, allowed map[string][]string, min *float64) *talks.Mandate {
	m := &talks.Mandate{TalkID: talkID, PartyID: partyID, EnvoyID: envoyID, Allowed: allowed, MinUtility: min,
		Salt: []byte("0123456789abcdef0123456789abcdef")}
	m.Digest = talks.MandateDigest(m.Salt, m.Body())
	return m
}

func testMandates(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)

	none, err := s.FindMandates(ctx, f.talk.ID, f.north.ID)
	must(t, "FindMandates (none)", err)
	if len(none) != 0 {
		t.Fatalf("FindMandates before any save = %v, want none", none)
	}
	m1 := newMandate(f.talk.ID, f.north.ID, f.mNorthE.ID, map[string][]string{"line": {"river"}}, nil)
	must(t, "SaveMandate", s.SaveMandate(ctx, m1, stamp(f.northP.ID, 10)))
	if m1.Version != 1 || m1.UpdatedBy != f.northP.ID || !m1.UpdatedAt.Equal(talks.Timestamp(stamp(0, 10).Time)) {
		t.Errorf("SaveMandate set version %d by %d at %v, want 1 by %d at %v", m1.Version, m1.UpdatedBy, m1.UpdatedAt, f.northP.ID, stamp(0, 10).Time)
	}
	min := 0.4
	m2 := newMandate(f.talk.ID, f.north.ID, f.mNorthE.ID, map[string][]string{"line": {"river", "ridge"}}, &min)
	must(t, "SaveMandate v2", s.SaveMandate(ctx, m2, stamp(f.northP.ID, 11)))
	q1 := newMandate(f.talk.ID, f.south.ID, f.mSouthE.ID, map[string][]string{}, nil)
	must(t, "SaveMandate south", s.SaveMandate(ctx, q1, stamp(f.southP.ID, 12)))
	if m2.Version != 2 || q1.Version != 1 {
		t.Errorf("versions = %d, %d, want 2 and 1 (numbered per envoy)", m2.Version, q1.Version)
	}
	got, err := s.FindMandates(ctx, f.talk.ID, f.north.ID)
	must(t, "FindMandates", err)
	if !reflect.DeepEqual(got, []*talks.Mandate{m2}) {
		t.Errorf("FindMandates = %+v, want only the current %+v", got, m2)
	}
	got, err = s.FindMandates(ctx, f.talk.ID, f.south.ID)
	must(t, "FindMandates south", err)
	if !reflect.DeepEqual(got, []*talks.Mandate{q1}) {
		t.Errorf("FindMandates south = %+v, want %+v", got, q1)
	}

	evs := events(t, s, f.talk.ID)
	last := evs[len(evs)-1]
	if last.Type != talks.EventMandateSaved || last.TrackID != 0 {
		t.Fatalf("last event = %s on track %d, want %s talk-wide", last.Type, last.TrackID, talks.EventMandateSaved)
	}
	for _, e := range evs {
		if e.Type == talks.EventMandateSaved && (strings.ContainsAny(string(e.Payload), "[]") || strings.Contains(string(e.Payload), "river") || strings.Contains(string(e.Payload), "min_utility")) {
			t.Errorf("mandate.saved payload %s carries the limits", e.Payload)
		}
	}

	// A failed save writes nothing: not an envoy, another party's envoy,
	// an unknown talk.
	head, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	wantCode(t, "SaveMandate (principal as envoy)", s.SaveMandate(ctx, newMandate(f.talk.ID, f.north.ID, f.mNorthP.ID, nil, nil), stamp(f.northP.ID, 13)), talks.EINVALID)
	wantCode(t, "SaveMandate (other party's envoy)", s.SaveMandate(ctx, newMandate(f.talk.ID, f.north.ID, f.mSouthE.ID, nil, nil), stamp(f.northP.ID, 13)), talks.EINVALID)
	wantCode(t, "SaveMandate (unknown talk)", s.SaveMandate(ctx, newMandate(f.talk.ID+100, f.north.ID, f.mNorthE.ID, nil, nil), stamp(f.northP.ID, 13)), talks.ENOTFOUND)
	after, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	if after != head {
		t.Errorf("TalkHead after failed saves = %v, want %v", after, head)
	}
	checkProjection(t, s, f.talk.ID)
}

// testMandateRead checks that a write whose Stamp names the mandate and
// preferences versions its check read is refused, writing nothing, once
// either has changed, and goes through while both are as read.
func testMandateRead(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	must(t, "SaveMandate", s.SaveMandate(ctx, newMandate(f.talk.ID, f.north.ID, f.mNorthE.ID, map[string][]string{"line": {"river", "ridge"}}, nil), stamp(f.northP.ID, 10)))
	must(t, "SavePreferences", s.SavePreferences(ctx, newPreferences(f.talk.ID, f.north.ID, 1, 0), stamp(f.northP.ID, 11)))
	values := map[string]string{"line": "river", "prisoners": "10"}
	read := func(mandate, prefs int64, i int) talks.Stamp {
		st := stamp(f.northE.ID, i)
		st.Mandate = &talks.MandateRead{TalkID: f.talk.ID, PartyID: f.north.ID, EnvoyID: f.mNorthE.ID, Version: mandate, Preferences: prefs}
		return st
	}
	head, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	for _, tt := range []struct {
		name           string
		mandate, prefs int64
	}{
		{"no mandate when there is one", 0, 0},
		{"an older mandate", 0, 1},
		{"a newer mandate", 2, 1},
		{"older preferences", 1, 2},
	} {
		p := &talks.Proposal{TrackID: f.back.ID, Title: "Draft", AuthorID: f.mNorthE.ID}
		v := &talks.Version{Values: values, AuthorID: f.mNorthE.ID}
		wantCode(t, "CreateProposal ("+tt.name+")", s.CreateProposal(ctx, p, v, read(tt.mandate, tt.prefs, 12)), talks.ECONFLICT)
	}
	if after, err := s.TalkHead(ctx, f.talk.ID); err != nil || after != head {
		t.Fatalf("TalkHead after refused writes = %v, %v; want %v", after, err, head)
	}

	// As read: the proposal goes in, and its counter and answer are
	// checked the same way.
	p := &talks.Proposal{TrackID: f.back.ID, Title: "Draft", AuthorID: f.mNorthE.ID}
	v := &talks.Version{Values: values, AuthorID: f.mNorthE.ID}
	must(t, "CreateProposal (as read)", s.CreateProposal(ctx, p, v, read(1, 1, 13)))
	south := &talks.Version{ParentID: v.ID, Values: map[string]string{"line": "ridge", "prisoners": "20"}, AuthorID: f.mSouthE.ID}
	must(t, "ProposeVersion (south)", s.ProposeVersion(ctx, south, nil, stamp(f.southE.ID, 14)))
	// (Created last, so that versions by proposal are in ID order.)
	must(t, "CreateProposal (utility not measured)", s.CreateProposal(ctx, &talks.Proposal{TrackID: f.back.ID, Title: "Other", AuthorID: f.mNorthE.ID},
		&talks.Version{Values: values, AuthorID: f.mNorthE.ID}, read(1, 0, 15)))

	// The principal tightens the mandate: writes checked against the old
	// one are refused.
	must(t, "SaveMandate v2", s.SaveMandate(ctx, newMandate(f.talk.ID, f.north.ID, f.mNorthE.ID, map[string][]string{"line": {"river"}}, nil), stamp(f.northP.ID, 16)))
	head, err = s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	counter := &talks.Version{ParentID: south.ID, Values: map[string]string{"line": "ridge", "prisoners": "15"}, AuthorID: f.mNorthE.ID}
	wantCode(t, "ProposeVersion (stale mandate)", s.ProposeVersion(ctx, counter,
		&talks.Answer{VersionID: south.ID, PartyID: f.north.ID, MemberID: f.mNorthE.ID, Kind: talks.AnswerCounter}, read(1, 1, 17)), talks.ECONFLICT)
	wantCode(t, "AnswerVersion (stale mandate)", s.AnswerVersion(ctx,
		&talks.Answer{VersionID: south.ID, PartyID: f.north.ID, MemberID: f.mNorthE.ID, Kind: talks.AnswerAccept}, read(1, 1, 18)), talks.ECONFLICT)
	if after, err := s.TalkHead(ctx, f.talk.ID); err != nil || after != head {
		t.Fatalf("TalkHead after refused writes = %v, %v; want %v", after, err, head)
	}
	must(t, "AnswerVersion (current mandate)", s.AnswerVersion(ctx,
		&talks.Answer{VersionID: south.ID, PartyID: f.north.ID, MemberID: f.mNorthE.ID, Kind: talks.AnswerReject}, read(2, 0, 19)))
	checkProjection(t, s, f.talk.ID)
}
