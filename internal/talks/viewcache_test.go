package talks_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestViewSeesChangesAtOnce checks that the snapshot of members and tracks
// Service keeps per talk is never stale: a membership change, made through
// this Service, through another Service over the same store or by
// accepting an invitation, is seen by the very next view.
func TestViewSeesChangesAtOnce(t *testing.T) {
	w := newWorld(t)
	other := talks.NewService(w.store, nil) // another process, say
	ctx := context.Background()

	// Warm the cache for the talk.
	for _, n := range []string{"F", "NP", "SA"} {
		if _, err := w.svc.FindTracks(w.as(n), w.talk.ID); err != nil {
			t.Fatalf("FindTracks(%s): %v", n, err)
		}
	}
	_, err := w.svc.FindTrackByID(w.as("SA"), w.envoys.ID)
	wantCode(t, "FindTrackByID(SA, envoys) before", err, talks.ENOTFOUND)
	// Events that change no membership carry the snapshot forward.
	mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "one"}))
	_, err = w.svc.FindTrackByID(w.as("SA"), w.envoys.ID)
	wantCode(t, "FindTrackByID(SA, envoys) after a message", err, talks.ENOTFOUND)
	mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "two"}))
	meet := &talks.Meeting{TrackID: w.envoys.ID, Title: "Lunch", Start: meetAt, Duration: time.Hour}
	mustOK(t, "ScheduleMeeting", w.svc.ScheduleMeeting(w.as("NE"), meet))
	held := talks.MeetingStatusHeld
	_, err = w.svc.UpdateMeeting(w.as("SE"), meet.ID, talks.MeetingUpdate{Status: &held})
	mustOK(t, "UpdateMeeting", err)
	_, err = w.svc.FindTrackByID(w.as("SA"), w.envoys.ID)
	wantCode(t, "FindTrackByID(SA, envoys) after meetings", err, talks.ENOTFOUND)

	// SA joins the envoys' back-channel.
	mustOK(t, "AddTrackMember", w.svc.AddTrackMember(w.as("SP"), w.envoys.ID, w.members["SA"].ID))
	if _, err := w.svc.FindTrackByID(w.as("SA"), w.envoys.ID); err != nil {
		t.Fatalf("FindTrackByID(SA, envoys) after AddTrackMember: %v", err)
	}
	evs, err := w.svc.FindEvents(w.as("SA"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents(SA)", err)
	if !slices.ContainsFunc(evs, func(e *talks.Event) bool { return e.TrackID == w.envoys.ID }) {
		t.Errorf("FindEvents(SA) after AddTrackMember has no event of the envoys' track")
	}

	// NE joins the north-only back-channel through the other Service, and
	// sees it through this one.
	_, err = w.svc.FindTrackByID(w.as("NE"), w.northBC.ID)
	wantCode(t, "FindTrackByID(NE, north) before", err, talks.ENOTFOUND)
	mustOK(t, "AddTrackMember(other)", other.AddTrackMember(w.as("NP"), w.northBC.ID, w.members["NE"].ID))
	if _, err := w.svc.FindTrackByID(w.as("NE"), w.northBC.ID); err != nil {
		t.Fatalf("FindTrackByID(NE, north) after AddTrackMember elsewhere: %v", err)
	}

	// O, an outsider, accepts an invitation and is a member at once.
	_, err = w.svc.FindTalkByID(w.as("O"), w.talk.ID)
	wantCode(t, "FindTalkByID(O) before", err, talks.ENOTFOUND)
	inv, err := w.svc.CreateInvitation(w.as("NP"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleEnvoy})
	mustOK(t, "CreateInvitation", err)
	m, err := w.svc.AcceptInvitation(w.as("O"), inv.Token)
	mustOK(t, "AcceptInvitation", err)
	if _, err := w.svc.FindTalkByID(w.as("O"), w.talk.ID); err != nil {
		t.Fatalf("FindTalkByID(O) after AcceptInvitation: %v", err)
	}
	// and is then put on a new back-channel, which O sees at once.
	tr := &talks.Track{TalkID: w.talk.ID, Name: "New", MemberIDs: []int64{m.ID}}
	mustOK(t, "CreateTrack", other.CreateTrack(w.as("F"), tr))
	ts, err := w.svc.FindTracks(w.as("O"), w.talk.ID)
	mustOK(t, "FindTracks(O)", err)
	if len(ts) != 2 || ts[1].ID != tr.ID {
		t.Fatalf("FindTracks(O) = %d tracks, want the official one and %d", len(ts), tr.ID)
	}

	// A member added directly is a member at once.
	u := &talks.User{Name: "late", Email: "late@example.org"}
	mustOK(t, "CreateUser", w.store.CreateUser(ctx, u))
	w.users["late"] = u
	_, err = w.svc.FindTalkByID(w.as("late"), w.talk.ID)
	wantCode(t, "FindTalkByID(late) before", err, talks.ENOTFOUND)
	mustOK(t, "AddMember", other.AddMember(w.as("SP"), &talks.Member{TalkID: w.talk.ID, UserID: u.ID, PartyID: w.south.ID, Role: talks.RoleObserver}))
	if _, err := w.svc.FindTalkByID(w.as("late"), w.talk.ID); err != nil {
		t.Fatalf("FindTalkByID(late) after AddMember: %v", err)
	}
}

// TestViewResultsAreCopies checks that what a caller does to the tracks
// and membership it is given does not reach the next view.
func TestViewResultsAreCopies(t *testing.T) {
	w := newWorld(t)
	ts, err := w.svc.FindTracks(w.as("NE"), w.talk.ID)
	mustOK(t, "FindTracks", err)
	for _, tr := range ts {
		tr.TalkID = -1
		for i := range tr.MemberIDs {
			tr.MemberIDs[i] = -1
		}
	}
	v, err := w.svc.View(w.as("NE"), w.talk.ID)
	mustOK(t, "View", err)
	v.Member.Role = talks.RolePrincipal
	v.Member.PartyID = w.south.ID
	ts2, err := w.svc.FindTracks(w.as("NE"), w.talk.ID)
	mustOK(t, "FindTracks again", err)
	if len(ts2) != len(ts) {
		t.Fatalf("FindTracks again = %d tracks, want %d", len(ts2), len(ts))
	}
	for _, tr := range ts2 {
		if tr.TalkID != w.talk.ID || slices.Contains(tr.MemberIDs, -1) {
			t.Errorf("FindTracks again = %+v: changed by the caller", tr)
		}
	}
	_, err = w.svc.FindTrackByID(w.as("NE"), w.northBC.ID)
	wantCode(t, "FindTrackByID(NE, north)", err, talks.ENOTFOUND)
}

// TestViewSeesTalkChanges checks that the talk a view holds is never stale
// either: the snapshot keeps it across messages, but an update of the talk,
// through this Service or another, is seen by the next view, and changing
// a talk handed out does not reach the next view.
func TestViewSeesTalkChanges(t *testing.T) {
	w := newWorld(t)
	other := talks.NewService(w.store, nil)
	title := func(who string) string {
		t.Helper()
		tk, err := w.svc.FindTalkByID(w.as(who), w.talk.ID)
		mustOK(t, "FindTalkByID("+who+")", err)
		return tk.Title
	}
	before := title("NE")
	tk, err := w.svc.FindTalkByID(w.as("NE"), w.talk.ID)
	mustOK(t, "FindTalkByID", err)
	tk.Title = "changed by a caller"
	mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.official.ID, Body: "hello"}))
	if got := title("NE"); got != before {
		t.Fatalf("title after a message = %q, want %q", got, before)
	}
	for i, s := range []*talks.Service{w.svc, other} {
		want := fmt.Sprintf("Renamed %d", i)
		_, err := s.UpdateTalk(w.as("F"), w.talk.ID, talks.TalkUpdate{Title: &want})
		mustOK(t, "UpdateTalk", err)
		if got := title("NE"); got != want {
			t.Errorf("title after UpdateTalk %d = %q, want %q", i, got, want)
		}
		mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.official.ID, Body: "again"}))
		if got := title("SE"); got != want {
			t.Errorf("title after UpdateTalk %d and a message = %q, want %q", i, got, want)
		}
	}
}

// readCounter is a Store that counts the reads a write may skip.
type readCounter struct {
	talks.Store
	events, versions, proposals, mandates int
	heads                                 int
	key, keys                             int // of one signer's key, of a talk's
}

func (s *readCounter) FindSignerKey(ctx context.Context, talkID int64, signer string) (*talks.SignerKey, error) {
	s.key++
	return s.Store.FindSignerKey(ctx, talkID, signer)
}

func (s *readCounter) FindSignerKeys(ctx context.Context, talkID int64) ([]*talks.SignerKey, error) {
	s.keys++
	return s.Store.FindSignerKeys(ctx, talkID)
}

func (s *readCounter) TalkHead(ctx context.Context, talkID int64) (int64, error) {
	s.heads++
	return s.Store.TalkHead(ctx, talkID)
}

func (s *readCounter) FindEvents(ctx context.Context, f talks.EventFilter) ([]*talks.Event, error) {
	s.events++
	return s.Store.FindEvents(ctx, f)
}

func (s *readCounter) FindVersionByID(ctx context.Context, id int64) (*talks.Version, error) {
	s.versions++
	return s.Store.FindVersionByID(ctx, id)
}

func (s *readCounter) FindProposalByID(ctx context.Context, id int64) (*talks.Proposal, error) {
	s.proposals++
	return s.Store.FindProposalByID(ctx, id)
}

func (s *readCounter) FindMandates(ctx context.Context, talkID, partyID int64) ([]*talks.Mandate, error) {
	s.mandates++
	return s.Store.FindMandates(ctx, talkID, partyID)
}

// TestWritesCarryTheirSnapshot checks that a member who writes again and
// again reads neither its own events back, nor the version it counters
// and its proposal, nor its mandate (textcache.go, Stamp.Appended,
// snapshot.mandates), and that the snapshot so carried is still exact: a
// write through another Service in between is read, and a mandate saved
// in between is applied.
func TestWritesCarryTheirSnapshot(t *testing.T) {
	w := newTextWorld(t)
	spy := &readCounter{Store: w.store}
	svc := talks.NewService(spy, nil)
	post := func(who, body string) {
		t.Helper()
		mustOK(t, "PostMessage", svc.PostMessage(w.as(who), &talks.Message{TrackID: w.envoys.ID, Body: body}))
	}
	// NE counters its own last counter, which counters SE's, and so on.
	last := w.envV1.ID
	counter := func(who, prisoners string) error {
		v := &talks.Version{ParentID: last, Values: map[string]string{"line": "ridge", "prisoners": prisoners}}
		if err := svc.ProposeVersion(w.as(who), v); err != nil {
			return err
		}
		last = v.ID
		return nil
	}
	post("NE", "warm")
	mustOK(t, "counter", counter("SE", "11"))
	mustOK(t, "counter", counter("NE", "12"))
	*spy = readCounter{Store: w.store}
	for i := range 3 {
		post("NE", fmt.Sprint("again ", i))
		post("SE", fmt.Sprint("and again ", i))
		mustOK(t, "counter", counter("SE", fmt.Sprint(20+2*i)))
		mustOK(t, "counter", counter("NE", fmt.Sprint(21+2*i)))
	}
	if *spy != (readCounter{Store: w.store}) {
		t.Errorf("reads by 12 writes in a row: %d of events, %d of versions, %d of proposals, %d of mandates, %d of the head; want none",
			spy.events, spy.versions, spy.proposals, spy.mandates, spy.heads)
	}

	// A message or a counter after a message through another Service reads
	// no events either: the store checks them (Stamp.View).
	mustOK(t, "PostMessage(other)", w.svc.PostMessage(w.as("SE"), &talks.Message{TrackID: w.envoys.ID, Body: "elsewhere"}))
	post("NE", "after")
	if spy.events != 0 {
		t.Errorf("reads of events by a message after a write elsewhere = %d, want 0", spy.events)
	}
	mustOK(t, "PostMessage(other)", w.svc.PostMessage(w.as("SE"), &talks.Message{TrackID: w.envoys.ID, Body: "elsewhere again"}))
	mustOK(t, "counter", counter("SE", "29"))
	if spy.events != 0 || spy.heads != 0 {
		t.Errorf("reads by a counter after a write elsewhere: %d of events, %d of the head; want none", spy.events, spy.heads)
	}
	// A mandate saved elsewhere holds at once.
	mustOK(t, "SaveMandate", w.svc.SaveMandate(w.as("NP"), &talks.Mandate{TalkID: w.talk.ID, PartyID: w.north.ID, EnvoyID: w.members["NE"].ID,
		Allowed: map[string][]string{"line": {"river"}}}))
	wantCode(t, "counter outside the new mandate", counter("NE", "30"), talks.EFORBIDDEN)

	// Whatever the snapshot kept says, a change made elsewhere decides:
	// SA, put on the envoys' track through the other Service, posts there
	// at once; a member added elsewhere does not stop NE; and once the
	// talk is closed elsewhere, no one counters.
	mustOK(t, "AddTrackMember(other)", w.svc.AddTrackMember(w.as("SP"), w.envoys.ID, w.members["SA"].ID))
	post("SA", "joined")
	u := &talks.User{Name: "late", Email: "late@example.org"}
	mustOK(t, "CreateUser", w.store.CreateUser(context.Background(), u))
	mustOK(t, "AddMember(other)", w.svc.AddMember(w.as("SP"), &talks.Member{TalkID: w.talk.ID, UserID: u.ID, PartyID: w.south.ID, Role: talks.RoleObserver}))
	post("NE", "welcome")
	closed := talks.StatusClosed
	_, err := w.svc.UpdateTalk(w.as("F"), w.talk.ID, talks.TalkUpdate{Status: &closed})
	mustOK(t, "UpdateTalk(closed)", err)
	wantCode(t, "counter in a closed talk", counter("SE", "31"), talks.ECONFLICT)
}

// staleHead is a Store whose TalkHead answers lag events behind, as a read
// transaction begun before this process's last writes would, and that
// counts the reads of members a snapshot is built from.
type staleHead struct {
	talks.Store
	lag     int64
	members int
}

func (s *staleHead) TalkHead(ctx context.Context, talkID int64) (int64, error) {
	h, err := s.Store.TalkHead(ctx, talkID)
	return max(h-s.lag, 1), err
}

func (s *staleHead) FindMembers(ctx context.Context, f talks.MemberFilter) ([]*talks.Member, error) {
	s.members++
	return s.Store.FindMembers(ctx, f)
}

// TestViewAheadOfHeadRead checks that a view whose head read is older than
// the snapshot this Service keeps (its own writes carried that snapshot
// past it) uses the snapshot, which holds every change the head read does,
// rather than building one again from the store.
func TestViewAheadOfHeadRead(t *testing.T) {
	w := newWorld(t)
	spy := &staleHead{Store: w.store}
	svc := talks.NewService(spy, nil)
	if _, err := svc.FindTracks(w.as("NE"), w.talk.ID); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "PostMessage", svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "one"}))
	mustOK(t, "PostMessage", svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "two"}))
	spy.lag, spy.members = 1, 0
	ts, err := svc.FindTracks(w.as("NE"), w.talk.ID)
	mustOK(t, "FindTracks (head read one behind)", err)
	if spy.members != 0 {
		t.Errorf("members read %d times for a view behind the kept snapshot, want 0", spy.members)
	}
	if !slices.ContainsFunc(ts, func(tr *talks.Track) bool { return tr.ID == w.envoys.ID }) {
		t.Errorf("FindTracks(NE) = %d tracks, without the envoys' back-channel", len(ts))
	}
}

// TestEnvoysShareMandateRead checks that the first writes of two envoys of
// a party read the party's mandates once, not once each, and that a
// mandate saved since holds at once for both: the one read for the other
// envoy is not kept past it. The three first writes read the talk's
// signers' keys once too.
func TestEnvoysShareMandateRead(t *testing.T) {
	w := newTextWorld(t)
	ctx := context.Background()
	u := &talks.User{Name: "NE2", Email: "ne2@example.org"}
	mustOK(t, "CreateUser", w.store.CreateUser(ctx, u))
	w.users["NE2"] = u
	ne2 := &talks.Member{TalkID: w.talk.ID, UserID: u.ID, PartyID: w.north.ID, Role: talks.RoleEnvoy}
	mustOK(t, "AddMember NE2", w.svc.AddMember(w.as("F"), ne2))
	mustOK(t, "SaveMandate(NE)", w.svc.SaveMandate(w.as("NP"), &talks.Mandate{TalkID: w.talk.ID, PartyID: w.north.ID, EnvoyID: w.members["NE"].ID,
		Allowed: map[string][]string{"line": {"river", "ridge"}}}))

	// A draft for each counter: a party answers a version once.
	var drafts []int64
	for i := range 8 {
		p := &talks.Proposal{TrackID: w.official.ID, Title: fmt.Sprint("draft ", i)}
		v := &talks.Version{Values: map[string]string{"line": "river", "prisoners": "10"}}
		mustOK(t, "CreateProposal", w.svc.CreateProposal(w.as("F"), p, v))
		drafts = append(drafts, v.ID)
	}

	spy := &readCounter{Store: w.store}
	svc := talks.NewService(spy, nil)
	counter := func(who, line string) error {
		v := &talks.Version{ParentID: drafts[0], Values: map[string]string{"line": line, "prisoners": "10"}}
		drafts = drafts[1:]
		return svc.ProposeVersion(w.as(who), v)
	}
	mustOK(t, "NE's first counter", counter("NE", "ridge"))
	mustOK(t, "NE2's first counter", counter("NE2", "coast"))
	mustOK(t, "SE's first counter", counter("SE", "coast"))
	if spy.mandates != 2 {
		t.Errorf("reads of mandates by the first counters of two envoys of a party and one of another = %d, want 2", spy.mandates)
	}
	if spy.keys != 1 || spy.key != 0 {
		t.Errorf("reads of keys by three first counters: %d of a talk's, %d of one signer's; want 1 and 0", spy.keys, spy.key)
	}
	wantCode(t, "NE's counter outside its mandate", counter("NE", "coast"), talks.EFORBIDDEN)

	// NE2's mandate, saved through the other Service, holds for NE2's next
	// counter, and NE's still holds.
	mustOK(t, "SaveMandate(NE2)", w.svc.SaveMandate(w.as("NP"), &talks.Mandate{TalkID: w.talk.ID, PartyID: w.north.ID, EnvoyID: ne2.ID,
		Allowed: map[string][]string{"line": {"river"}}}))
	wantCode(t, "NE2's counter outside its new mandate", counter("NE2", "coast"), talks.EFORBIDDEN)
	mustOK(t, "NE2's counter inside it", counter("NE2", "river"))
	wantCode(t, "NE's counter outside its mandate", counter("NE", "coast"), talks.EFORBIDDEN)
	if spy.mandates != 3 {
		t.Errorf("reads of mandates after one was saved = %d, want 3", spy.mandates)
	}
}

// TestCounterOfNewProposalReadsNoText checks that a counter of a proposal
// created through the same Service reads neither the proposal nor its
// version, and that the proposal kept is the one a read gives.
func TestCounterOfNewProposalReadsNoText(t *testing.T) {
	w := newTextWorld(t)
	spy := &readCounter{Store: w.store}
	svc := talks.NewService(spy, nil)
	p := &talks.Proposal{TrackID: w.official.ID, Title: "Fresh"}
	v := &talks.Version{Values: map[string]string{"line": "river", "prisoners": "10"}}
	mustOK(t, "CreateProposal", svc.CreateProposal(w.as("F"), p, v))
	*spy = readCounter{Store: w.store}
	mustOK(t, "counter", svc.ProposeVersion(w.as("SE"), &talks.Version{ParentID: v.ID, Values: map[string]string{"line": "ridge", "prisoners": "10"}}))
	if spy.proposals != 0 || spy.versions != 0 {
		t.Errorf("reads by a counter of a new proposal: %d of proposals, %d of versions; want none", spy.proposals, spy.versions)
	}
	got, err := svc.FindProposalByID(w.as("SE"), p.ID)
	mustOK(t, "FindProposalByID", err)
	want, err := w.store.FindProposalByID(context.Background(), p.ID)
	mustOK(t, "store.FindProposalByID", err)
	if *got != *want {
		t.Errorf("kept proposal %+v, read %+v", got, want)
	}
}

// TestFreshViewChecked checks that a message, its retraction, a meeting
// or its change, a new proposal, a counter-proposal, an answer or its
// withdrawal decided by a view read afresh (a new Service keeps none) is refused if, between that read and the write, another
// Service takes its author off the track or the talk, or makes it an
// observer: the store finds the view stale, and the call, decided again,
// is refused as the change demands. Nothing is written.
func TestFreshViewChecked(t *testing.T) {
	var meeting *talks.Meeting // NE's, on the envoys' track, in each world
	neOffEnvoys := func(w *textWorld, other *talks.Service) error {
		return other.RemoveTrackMember(w.as("NP"), w.envoys.ID, w.members["NE"].ID)
	}
	neObserver := func(w *textWorld, other *talks.Service) error {
		_, err := other.ChangeMemberRole(w.as("NP"), w.talk.ID, w.members["NE"].ID, talks.RoleObserver)
		return err
	}
	for _, c := range []struct {
		name   string
		change func(w *textWorld, other *talks.Service) error
		write  func(w *textWorld, svc *talks.Service) error
		want   string
	}{{
		name:   "NE's message, NE taken off the track",
		change: neOffEnvoys,
		write: func(w *textWorld, svc *talks.Service) error {
			return svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: "raced"})
		},
		want: talks.ENOTFOUND,
	}, {
		name:   "NE's message, NE made an observer",
		change: neObserver,
		write: func(w *textWorld, svc *talks.Service) error {
			return svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.official.ID, Body: "raced"})
		},
		want: talks.EFORBIDDEN,
	}, {
		name: "SE's counter-proposal, SE taken off the talk",
		change: func(w *textWorld, other *talks.Service) error {
			return other.RemoveMember(w.as("SP"), w.talk.ID, w.members["SE"].ID)
		},
		write: func(w *textWorld, svc *talks.Service) error {
			return svc.ProposeVersion(w.as("SE"), &talks.Version{ParentID: w.envV1.ID, Values: map[string]string{"line": "river", "prisoners": "10"}})
		},
		want: talks.ENOTFOUND,
	}, {
		name:   "NE's new proposal, NE taken off the track",
		change: neOffEnvoys,
		write: func(w *textWorld, svc *talks.Service) error {
			return svc.CreateProposal(w.as("NE"), &talks.Proposal{TrackID: w.envoys.ID, Title: "Raced"}, &talks.Version{Values: map[string]string{"line": "river", "prisoners": "10"}})
		},
		want: talks.ENOTFOUND,
	}, {
		name:   "NE's acceptance, NE made an observer",
		change: neObserver,
		write: func(w *textWorld, svc *talks.Service) error {
			return svc.AnswerVersion(w.as("NE"), &talks.Answer{VersionID: w.offV1.ID, Kind: talks.AnswerAccept})
		},
		want: talks.EFORBIDDEN,
	}, {
		name:   "NE's withdrawal, NE taken off the track",
		change: neOffEnvoys,
		write: func(w *textWorld, svc *talks.Service) error {
			_, err := svc.WithdrawAnswer(w.as("NE"), w.envAccept.ID)
			return err
		},
		want: talks.ENOTFOUND,
	}, {
		name:   "NE's retraction, NE taken off the track",
		change: neOffEnvoys,
		write: func(w *textWorld, svc *talks.Service) error {
			_, err := svc.RetractMessage(w.as("NE"), w.msg.ID)
			return err
		},
		want: talks.ENOTFOUND,
	}, {
		name:   "NE's meeting, NE made an observer",
		change: neObserver,
		write: func(w *textWorld, svc *talks.Service) error {
			return svc.ScheduleMeeting(w.as("NE"), &talks.Meeting{TrackID: w.envoys.ID, Title: "Lunch", Place: "Geneva", Start: meetAt, Duration: time.Hour})
		},
		want: talks.EFORBIDDEN,
	}, {
		name:   "NE's change of a meeting, NE taken off the track",
		change: neOffEnvoys,
		write: func(w *textWorld, svc *talks.Service) error {
			title := "Dinner"
			_, err := svc.UpdateMeeting(w.as("NE"), meeting.ID, talks.MeetingUpdate{Title: &title})
			return err
		},
		want: talks.ENOTFOUND,
	}} {
		t.Run(c.name, func(t *testing.T) {
			w := newTextWorld(t)
			w.msg = &talks.Message{TrackID: w.envoys.ID, Body: "to retract"}
			mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), w.msg))
			meeting = &talks.Meeting{TrackID: w.envoys.ID, Title: "Breakfast", Place: "Geneva", Start: meetAt, Duration: time.Hour}
			mustOK(t, "ScheduleMeeting", w.svc.ScheduleMeeting(w.as("NE"), meeting))
			raceWrite(t, w.world, nil,
				func(other *talks.Service) { mustOK(t, "the change", c.change(w, other)) },
				func(svc *talks.Service) error { return c.write(w, svc) }, c.want)
		})
	}
}

// TestMeetingsKeepViews checks that a meeting scheduled or changed by
// another Service leaves the snapshot this Service kept deciding writes:
// the message after it is written from the kept snapshot, reading the
// talk's head not at all, and the meeting then shows.
func TestMeetingsKeepViews(t *testing.T) {
	w := newTextWorld(t)
	other := talks.NewService(w.store, nil) // another process, say
	spy := &readCounter{Store: w.store}
	svc := talks.NewService(spy, nil)
	post := func(body string) {
		t.Helper()
		mustOK(t, "PostMessage", svc.PostMessage(w.as("NE"), &talks.Message{TrackID: w.envoys.ID, Body: body}))
	}
	post("warm")
	m := &talks.Meeting{TrackID: w.envoys.ID, Title: "Lunch", Place: "Geneva", Start: meetAt, Duration: time.Hour}
	mustOK(t, "ScheduleMeeting", other.ScheduleMeeting(w.as("SE"), m))
	title := "Dinner"
	_, err := other.UpdateMeeting(w.as("SE"), m.ID, talks.MeetingUpdate{Title: &title})
	mustOK(t, "UpdateMeeting", err)
	*spy = readCounter{Store: w.store}
	post("after the meeting")
	if spy.heads != 0 {
		t.Errorf("a message after another's meeting read the talk's head %d times, want none: the kept snapshot decides it", spy.heads)
	}
	got, err := svc.FindMeetingByID(w.as("NE"), m.ID)
	mustOK(t, "FindMeetingByID", err)
	if got.Title != title {
		t.Errorf("meeting title = %q, want %q", got.Title, title)
	}
}

// TestManagingViewChecked checks that the writes that manage a talk (its
// members, tracks, mandates, preferences, invitations and disclosure) name
// the view they were decided by, as the writes to a track's content do
// (TestFreshViewChecked): a principal demoted to advisor, by a second
// Service, after its view was read and before its write's transaction,
// is refused as an advisor, and nothing is written.
func TestManagingViewChecked(t *testing.T) {
	var inv *talks.Invitation // NP's, in each world that makes one
	for _, c := range []struct {
		name   string
		agreed bool // the world's talk is agreed in the envoys' back-channel
		prep   func(w *agreedWorld)
		write  func(w *agreedWorld, svc *talks.Service) error
		want   string
	}{{
		name: "NP puts NA on the envoys' track",
		write: func(w *agreedWorld, svc *talks.Service) error {
			return svc.AddTrackMember(w.as("NP"), w.envoys.ID, w.members["NA"].ID)
		},
		want: talks.ENOTFOUND, // an advisor not on it does not see it
	}, {
		name: "NP takes NE off the envoys' track",
		write: func(w *agreedWorld, svc *talks.Service) error {
			return svc.RemoveTrackMember(w.as("NP"), w.envoys.ID, w.members["NE"].ID)
		},
		want: talks.ENOTFOUND,
	}, {
		name: "NP makes NE an observer",
		write: func(w *agreedWorld, svc *talks.Service) error {
			_, err := svc.ChangeMemberRole(w.as("NP"), w.talk.ID, w.members["NE"].ID, talks.RoleObserver)
			return err
		},
		want: talks.EFORBIDDEN,
	}, {
		name: "NP takes NE off the talk",
		write: func(w *agreedWorld, svc *talks.Service) error {
			return svc.RemoveMember(w.as("NP"), w.talk.ID, w.members["NE"].ID)
		},
		want: talks.EFORBIDDEN,
	}, {
		name: "NP adds O to Northland",
		write: func(w *agreedWorld, svc *talks.Service) error {
			return svc.AddMember(w.as("NP"), &talks.Member{TalkID: w.talk.ID, UserID: w.users["O"].ID, PartyID: w.north.ID, Role: talks.RoleObserver})
		},
		want: talks.EFORBIDDEN,
	}, {
		name: "NP sets NE's mandate",
		write: func(w *agreedWorld, svc *talks.Service) error {
			return svc.SaveMandate(w.as("NP"), &talks.Mandate{TalkID: w.talk.ID, PartyID: w.north.ID, EnvoyID: w.members["NE"].ID,
				Allowed: map[string][]string{"line": {"river"}}})
		},
		want: talks.EFORBIDDEN,
	}, {
		name: "NP saves Northland's preferences",
		write: func(w *agreedWorld, svc *talks.Service) error {
			prisoners := map[string]float64{}
			for n := range 101 {
				prisoners[fmt.Sprint(n)] = float64(n) / 100
			}
			return svc.SavePreferences(w.as("NP"), &talks.Preferences{TalkID: w.talk.ID, PartyID: w.north.ID,
				Weights: map[string]float64{"line": 1, "prisoners": 1},
				Scores:  map[string]map[string]float64{"line": {"river": 1, "ridge": 0.5, "coast": 0}, "prisoners": prisoners}})
		},
		want: talks.EFORBIDDEN,
	}, {
		name: "NP invites an envoy to Northland",
		write: func(w *agreedWorld, svc *talks.Service) error {
			_, err := svc.CreateInvitation(w.as("NP"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleEnvoy})
			return err
		},
		want: talks.EFORBIDDEN,
	}, {
		name: "NP revokes its invitation",
		prep: func(w *agreedWorld) {
			var err error
			inv, err = w.svc.CreateInvitation(w.as("NP"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleEnvoy})
			mustOK(t, "CreateInvitation", err)
		},
		write: func(w *agreedWorld, svc *talks.Service) error {
			_, err := svc.RevokeInvitation(w.as("NP"), inv.ID)
			return err
		},
		want: talks.ENOTFOUND, // as an invitation it may not manage
	}, {
		name:   "NP proposes what becomes public",
		agreed: true,
		write: func(w *agreedWorld, svc *talks.Service) error {
			return svc.ProposeDisclosure(w.as("NP"), w.plan(w.now))
		},
		want: talks.ENOTFOUND, // the agreement is in a track it no longer sees
	}, {
		name:   "NP consents to SP's plan",
		agreed: true,
		prep: func(w *agreedWorld) {
			mustOK(t, "ProposeDisclosure", w.svc.ProposeDisclosure(w.as("SP"), w.plan(w.now)))
		},
		write: func(w *agreedWorld, svc *talks.Service) error {
			_, err := svc.ConsentDisclosure(w.as("NP"), w.talk.ID, 1)
			return err
		},
		want: talks.ENOTFOUND,
	}, {
		name:   "NP carries the agreement into the official track",
		agreed: true,
		write: func(w *agreedWorld, svc *talks.Service) error {
			_, err := svc.CarryAgreement(w.as("NP"), w.talk.ID, "Carried")
			return err
		},
		want: talks.ENOTFOUND,
	}} {
		t.Run(c.name, func(t *testing.T) {
			var w *agreedWorld
			if c.agreed {
				w = newAgreedWorld(t)
			} else {
				w = &agreedWorld{textWorld: newTextWorld(t), now: time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC)}
			}
			if c.prep != nil {
				c.prep(w)
			}
			// F makes NA Northland's principal, and NP an advisor.
			demote := func(other *talks.Service) {
				for _, ch := range []struct {
					name string
					role talks.Role
				}{{"NA", talks.RolePrincipal}, {"NP", talks.RoleAdvisor}} {
					_, err := other.ChangeMemberRole(w.as("F"), w.talk.ID, w.members[ch.name].ID, ch.role)
					mustOK(t, "ChangeMemberRole "+ch.name, err)
				}
			}
			raceWrite(t, w.world, talks.ClockFunc(func() time.Time { return w.now }), demote,
				func(svc *talks.Service) error { return c.write(w, svc) }, c.want)
		})
	}
}

// raceWrite runs write through a Service (with clock) over a racingStore
// of w's store that makes change, through a second Service over the same
// store, just before the write first reaches the store: after the write's
// view was read and before its transaction. It wants the write refused
// with code want, the store given it once (decided again after the change,
// it is refused before), and the talk's head as the change left it.
func raceWrite(t *testing.T, w *world, clock talks.Clock, change func(other *talks.Service), write func(svc *talks.Service) error, want string) {
	t.Helper()
	ctx := context.Background()
	other := talks.NewService(w.store, nil) // another process, say
	var head int64
	writes := 0 // that reached the store
	rs := &racingStore{prefStore: w.store, before: func() {
		if writes++; writes > 1 {
			return
		}
		change(other)
		var err error
		head, err = w.store.TalkHead(ctx, w.talk.ID)
		mustOK(t, "TalkHead", err)
	}}
	wantCode(t, "the write", write(talks.NewService(rs, clock)), want)
	if writes != 1 {
		t.Errorf("the store was given the write %d times, want once: decided again after the change, it is refused before", writes)
	}
	if got, err := w.store.TalkHead(ctx, w.talk.ID); err != nil || got != head {
		t.Errorf("the talk's head after the refused write = %d, %v; want %d, as the change left it", got, err, head)
	}
}
