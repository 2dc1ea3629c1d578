package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// checkPreferences compares the stamps of a talk's stored preferences
// with the fold of its events.
func checkPreferences(t *testing.T, s talks.Store, talkID int64, want *talks.State) {
	t.Helper()
	ctx := context.Background()
	parties, err := s.FindParties(ctx, talks.PartyFilter{TalkID: talkID})
	must(t, "FindParties", err)
	var got []*talks.PreferencesStamp
	for _, p := range parties {
		a, err := s.FindPreferences(ctx, talkID, p.ID)
		must(t, "FindPreferences", err)
		for _, pr := range a {
			got = append(got, pr.Stamp())
		}
	}
	if len(got) != len(want.Preferences) || (len(got) > 0 && !reflect.DeepEqual(got, want.Preferences)) {
		t.Errorf("preferences projected = %v, fold of events = %v", got, want.Preferences)
	}
}

func newPreferences(talkID, partyID int64, line float64, reserved float64) *talks.Preferences {
	p := &talks.Preferences{TalkID: talkID, PartyID: partyID, Reserved: reserved,
		Weights: map[string]float64{"line": 0.6, "prisoners": 0.4},
		Scores:  map[string]map[string]float64{"line": {"river": line, "ridge": 1 - line}, "prisoners": {}},
		Salt:    []byte("0123456789abcdef0123456789abcdef")}
	for i := 0; i <= 100; i++ {
		p.Scores["prisoners"][itoa(i)] = float64(i) / 100
	}
	p.Digest = talks.PreferencesDigest(p.Salt, p.Body())
	return p
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

func testPreferences(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)

	none, err := s.FindPreferences(ctx, f.talk.ID, f.north.ID)
	must(t, "FindPreferences (none)", err)
	if len(none) != 0 {
		t.Fatalf("FindPreferences before any save = %v, want none", none)
	}
	p1 := newPreferences(f.talk.ID, f.north.ID, 1, 0.3)
	must(t, "SavePreferences", s.SavePreferences(ctx, p1, stamp(f.northP.ID, 10)))
	if p1.Version != 1 || p1.CreatedBy != f.northP.ID || !p1.CreatedAt.Equal(talks.Timestamp(stamp(0, 10).Time)) {
		t.Errorf("SavePreferences set version %d by %d at %v, want 1 by %d at %v", p1.Version, p1.CreatedBy, p1.CreatedAt, f.northP.ID, stamp(0, 10).Time)
	}
	p2 := newPreferences(f.talk.ID, f.north.ID, 0.8, 0.4)
	must(t, "SavePreferences v2", s.SavePreferences(ctx, p2, stamp(f.northE.ID, 11)))
	q1 := newPreferences(f.talk.ID, f.south.ID, 0, 0.2)
	must(t, "SavePreferences south", s.SavePreferences(ctx, q1, stamp(f.southP.ID, 12)))
	if p2.Version != 2 || q1.Version != 1 {
		t.Errorf("versions = %d, %d, want 2 and 1 (numbered per party)", p2.Version, q1.Version)
	}

	got, err := s.FindPreferences(ctx, f.talk.ID, f.north.ID)
	must(t, "FindPreferences", err)
	if !reflect.DeepEqual(got, []*talks.Preferences{p1, p2}) {
		t.Errorf("FindPreferences = %+v, want %+v", got, []*talks.Preferences{p1, p2})
	}
	latest, err := s.FindLatestPreferences(ctx, f.talk.ID)
	must(t, "FindLatestPreferences", err)
	if !reflect.DeepEqual(latest, []*talks.Preferences{p2, q1}) {
		t.Errorf("FindLatestPreferences = %+v, want %+v", latest, []*talks.Preferences{p2, q1})
	}

	// The event carries the party, version and digest, and nothing of
	// the preferences.
	evs := events(t, s, f.talk.ID)
	last := evs[len(evs)-1]
	if last.Type != talks.EventPreferencesSaved || last.TrackID != 0 {
		t.Fatalf("last event = %s on track %d, want %s talk-wide", last.Type, last.TrackID, talks.EventPreferencesSaved)
	}
	if want := `{"party_id":` + itoa(int(f.south.ID)) + `,"version":1,"digest":"` + talks.DigestHex(q1.Digest) + `"}`; string(last.Payload) != want {
		t.Errorf("payload = %s, want %s", last.Payload, want)
	}

	head, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	defer func() {
		// A failed save writes nothing: no event, no version.
		if now, err := s.TalkHead(ctx, f.talk.ID); err != nil || now != head {
			t.Errorf("failed saves moved the head from %d to %d (%v)", head, now, err)
		}
		if a, _ := s.FindPreferences(ctx, f.talk.ID, f.north.ID); len(a) != 2 {
			t.Errorf("failed saves left %d versions, want 2", len(a))
		}
	}()
	wantCode(t, "SavePreferences (unknown talk)", s.SavePreferences(ctx, newPreferences(f.talk.ID+999, f.north.ID, 1, 0), stamp(f.northP.ID, 13)), talks.ENOTFOUND)
	other := &talks.Talk{Title: "Other", ConvenerID: f.convener.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(f.convener.ID, 13)))
	op := &talks.Party{TalkID: other.ID, Name: "Elsewhere"}
	must(t, "AddParty", s.AddParty(ctx, op, stamp(f.convener.ID, 13)))
	wantCode(t, "SavePreferences (party of another talk)", s.SavePreferences(ctx, newPreferences(f.talk.ID, op.ID, 1, 0), stamp(f.northP.ID, 13)), talks.EINVALID)
	checkProjection(t, s, f.talk.ID)
}

// testConcurrentPreferences saves many versions at once: they are numbered
// 1..n without a gap or a duplicate.
func testConcurrentPreferences(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.SavePreferences(ctx, newPreferences(f.talk.ID, f.north.ID, float64(i)/n, 0), stamp(f.northP.ID, 20+i))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, "SavePreferences", err)
	}
	got, err := s.FindPreferences(ctx, f.talk.ID, f.north.ID)
	must(t, "FindPreferences", err)
	for i, p := range got {
		if p.Version != int64(i+1) {
			t.Fatalf("version %d numbered %d", i+1, p.Version)
		}
	}
	if len(got) != n {
		t.Fatalf("%d versions, want %d", len(got), n)
	}
	checkProjection(t, s, f.talk.ID)
}
