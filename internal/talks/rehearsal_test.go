package talks_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

func TestRehearsal(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("Access", func(t *testing.T) { testRehearsalAccess(t, open(t)) })
			t.Run("Result", func(t *testing.T) { testRehearsalResult(t, open(t)) })
			t.Run("Privacy", func(t *testing.T) { testRehearsalPrivacy(t, open(t)) })
			t.Run("Tracks", func(t *testing.T) { testRehearsalTracks(t, open(t)) })
		})
	}
}

var smallRehearsal = talks.RehearsalRequest{OwnAgent: "boulware", OpponentAgent: "conceder", Runs: 40, Rounds: 30}

func testRehearsalAccess(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	if _, err := d.svc.Rehearse(d.as("NP"), d.talk.ID, smallRehearsal); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("Rehearse without preferences = %v, want ECONFLICT", err)
	}
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	want := map[string]string{"NP": "", "NE": "", "NA": "", "NO": talks.EFORBIDDEN,
		"SP": talks.ECONFLICT, "SE": talks.ECONFLICT, "SA": talks.ECONFLICT, // Southland has none
		"SO": talks.EFORBIDDEN, "F": talks.EFORBIDDEN, "O": talks.ENOTFOUND, "": talks.EUNAUTHORIZED}
	for who, code := range want {
		r, err := d.svc.Rehearse(d.as(who), d.talk.ID, smallRehearsal)
		if got := talks.ErrorCode(err); got != code {
			t.Errorf("Rehearse as %q: %v (code %q), want code %q", who, err, got, code)
		} else if code == "" && r.PartyID != d.north.ID {
			t.Errorf("Rehearse as %q: party %d, want Northland %d", who, r.PartyID, d.north.ID)
		}
	}
	for _, c := range []struct {
		name string
		req  talks.RehearsalRequest
	}{
		{"unknown own agent", talks.RehearsalRequest{OwnAgent: "oracle"}},
		{"unknown opponent agent", talks.RehearsalRequest{OpponentAgent: "oracle"}},
		{"negative runs", talks.RehearsalRequest{Runs: -1}},
		{"too many runs", talks.RehearsalRequest{Runs: talks.MaxRehearsalRuns + 1}},
		{"too many rounds", talks.RehearsalRequest{Rounds: talks.MaxRehearsalRounds + 1}},
		{"too many steps", talks.RehearsalRequest{Runs: talks.MaxRehearsalRuns, Rounds: talks.MaxRehearsalRounds}},
	} {
		if _, err := d.svc.Rehearse(d.as("NP"), d.talk.ID, c.req); talks.ErrorCode(err) != talks.EINVALID {
			t.Errorf("Rehearse(%s) = %v, want EINVALID", c.name, err)
		}
	}
}

func testRehearsalResult(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	r, err := d.svc.Rehearse(d.as("NE"), d.talk.ID, talks.RehearsalRequest{})
	mustOK(t, "Rehearse", err)
	if r.Runs != talks.DefaultRehearsalRuns || r.Rounds != talks.DefaultRehearsalRounds || r.OwnAgent != "boulware" || r.Seed != 1 {
		t.Errorf("Rehearse(defaults) = %d runs, %d rounds, %q, seed %d", r.Runs, r.Rounds, r.OwnAgent, r.Seed)
	}
	if r.OpponentOffers != 0 {
		t.Errorf("OpponentOffers = %d with only Northland's own version, want 0", r.OpponentOffers)
	}
	// Southland counters; a facilitator's redraft speaks for no party.
	c := &talks.Version{ParentID: d.version.ID, Values: map[string]string{"line": "ridge", "water": "south", "troops": "0"}}
	mustOK(t, "ProposeVersion", d.svc.ProposeVersion(d.as("SE"), c))
	mustOK(t, "ProposeVersion", d.svc.ProposeVersion(d.as("F"), &talks.Version{ParentID: c.ID,
		Values: map[string]string{"line": "hills", "water": "shared", "troops": "0"}}))
	r, err = d.svc.Rehearse(d.as("NA"), d.talk.ID, smallRehearsal)
	mustOK(t, "Rehearse", err)
	if r.OpponentOffers != 1 {
		t.Errorf("OpponentOffers = %d, want 1 (Southland's counter only)", r.OpponentOffers)
	}
	sum := 0
	for _, n := range r.Histogram {
		sum += n
	}
	if sum != r.Agreements || r.Agreements > r.Runs {
		t.Errorf("histogram sums to %d, agreements %d of %d runs", sum, r.Agreements, r.Runs)
	}
	if want := float64(r.Runs-r.Agreements) / float64(r.Runs); r.NoAgreementShare != want {
		t.Errorf("NoAgreementShare = %g, want %g", r.NoAgreementShare, want)
	}
	if r.Agreements > 0 {
		if r.Likely == nil || len(r.Likely.Values) != 3 || r.Likely.Count < 1 || r.Likely.Utility < 0 || r.Likely.Utility > 1 {
			t.Errorf("Likely = %+v, want an outcome of the 3 issues", r.Likely)
		}
		if r.Median < 0 || r.Median > 1 || r.Mean < 0 || r.Mean > 1 {
			t.Errorf("Median %g, Mean %g, want within [0, 1]", r.Median, r.Mean)
		}
	}
	// The same request gives the same rehearsal; another seed may not.
	again, err := d.svc.Rehearse(d.as("NP"), d.talk.ID, smallRehearsal)
	mustOK(t, "Rehearse", err)
	if !reflect.DeepEqual(r, again) {
		t.Errorf("Rehearse twice with seed %d:\n%+v\n%+v", r.Seed, r, again)
	}
}

// testRehearsalPrivacy checks that a rehearsal does not depend on the other
// party's preferences: it is the same before Southland saves preferences,
// after, and after it changes them; and that it never asks the store for
// any party's preferences but its own.
func testRehearsalPrivacy(t *testing.T, st prefStore) {
	defer st.Close()
	spy := &prefSpy{Store: st}
	d := newDeal(t, spy)
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	c := &talks.Version{ParentID: d.version.ID, Values: map[string]string{"line": "ridge", "water": "south", "troops": "0"}}
	mustOK(t, "ProposeVersion", d.svc.ProposeVersion(d.as("SE"), c))
	agents := [][2]string{{"boulware", "conceder"}, {"micro", "titfortat"}, {"random", "frequency"}, {"linear", "hardliner"}}
	rehearse := func() []*talks.Rehearsal {
		var out []*talks.Rehearsal
		for _, a := range agents {
			req := smallRehearsal
			req.OwnAgent, req.OpponentAgent = a[0], a[1]
			spy.reset()
			r, err := d.svc.Rehearse(d.as("NP"), d.talk.ID, req)
			mustOK(t, "Rehearse", err)
			if spy.latest > 0 || len(spy.parties) != 1 || spy.parties[0] != d.north.ID {
				t.Errorf("Rehearse(%v) read preferences of parties %v and the latest of all %d times; want Northland's only", a, spy.parties, spy.latest)
			}
			out = append(out, r)
		}
		return out
	}
	without := rehearse()
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("SP"), southPrefs(d)))
	with := rehearse()
	sp := southPrefs(d)
	sp.Weights["line"], sp.Reserved = 10, 0.9
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("SP"), sp))
	changed := rehearse()
	for i, a := range agents {
		if !reflect.DeepEqual(without[i], with[i]) || !reflect.DeepEqual(without[i], changed[i]) {
			t.Errorf("Rehearse(%v) depends on Southland's preferences:\nwithout %+v\nwith    %+v\nchanged %+v", a, without[i], with[i], changed[i])
		}
	}
}

// prefSpy records which preferences a store was asked for.
type prefSpy struct {
	talks.Store
	parties []int64
	latest  int
}

func (s *prefSpy) reset() { s.parties, s.latest = nil, 0 }

func (s *prefSpy) FindPreferences(ctx context.Context, talkID, partyID int64) ([]*talks.Preferences, error) {
	s.parties = append(s.parties, partyID)
	return s.Store.FindPreferences(ctx, talkID, partyID)
}

func (s *prefSpy) FindLatestPreferences(ctx context.Context, talkID int64) ([]*talks.Preferences, error) {
	s.latest++
	return s.Store.FindLatestPreferences(ctx, talkID)
}

// testRehearsalTracks checks that the model learns only from offers in
// tracks the member sees: Southland's offer on a back-channel of NE and SE
// counts for NE and for NP (a principal sees its envoys' back-channels),
// not for NA.
func testRehearsalTracks(t *testing.T, st prefStore) {
	defer st.Close()
	d := newDeal(t, st)
	mustOK(t, "SavePreferences", d.svc.SavePreferences(d.as("NP"), northPrefs(d)))
	members, err := d.svc.FindMembers(d.as("F"), d.talk.ID)
	mustOK(t, "FindMembers", err)
	byUser := map[int64]int64{}
	for _, m := range members {
		byUser[m.UserID] = m.ID
	}
	bc := &talks.Track{TalkID: d.talk.ID, Name: "quiet", MemberIDs: []int64{byUser[d.users["NE"].ID], byUser[d.users["SE"].ID]}}
	mustOK(t, "CreateTrack", d.svc.CreateTrack(d.as("F"), bc))
	mustOK(t, "CreateProposal", d.svc.CreateProposal(d.as("SE"), &talks.Proposal{TrackID: bc.ID, Title: "Quiet"},
		&talks.Version{Values: map[string]string{"line": "ridge", "water": "south", "troops": "0"}}))
	for who, want := range map[string]int{"NE": 1, "NP": 1, "NA": 0} {
		r, err := d.svc.Rehearse(d.as(who), d.talk.ID, smallRehearsal)
		mustOK(t, "Rehearse as "+who, err)
		if r.OpponentOffers != want {
			t.Errorf("Rehearse as %s learnt from %d offers, want %d", who, r.OpponentOffers, want)
		}
	}
}
