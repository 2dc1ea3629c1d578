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
