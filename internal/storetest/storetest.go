// Package storetest is the conformance suite that every talks.Store
// adapter runs: round trips, not-found and conflict errors, the hash chain
// of the event log, projections equal to the fold of the events
// (talks.Project), atomic writes, concurrent appends, and the verifiable
// record: tree hashes equal to those of a ledger.Tree built from the
// events, signed checkpoints of prefixes of that tree, and no hashes left
// by a failed write (record.go).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// Run runs the suite. open returns a new, empty store, which the suite
// does not close: open should close it with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) talks.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s talks.Store)
	}{
		{"Users", testUsers},
		{"Talks", testTalks},
		{"Parties", testParties},
		{"Members", testMembers},
		{"Tracks", testTracks},
		{"TrackMemberRemoval", testTrackMemberRemoval},
		{"MemberRoles", testMemberRoles},
		{"RemovedMembers", testRemovedMembers},
		{"SoleMemberRemoved", testSoleMemberRemoved},
		{"Messages", testMessages},
		{"EventChain", testEventChain},
		{"TalkHead", testTalkHead},
		{"ViewCheck", testViewCheck},
		{"Projection", testProjection},
		{"Atomicity", testAtomicity},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Appender", testAppender},
		{"BatchStats", testBatchStats},
		{"Proposals", testProposals},
		{"Answers", testAnswers},
		{"CounterRefusals", testCounterRefusals},
		{"ViewChecks", testViewChecks},
		{"ManagingViewChecks", testManagingViewChecks},
		{"ConcurrentAgreement", testConcurrentAgreement},
		{"AccountUsers", testAccountUsers},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"SetupTokens", testSetupTokens},
		{"SetupTokenRace", testSetupTokenRace},
		{"LoginTokens", testLoginTokens},
		{"Invitations", testInvitations},
		{"InvitationExpiry", testInvitationExpiry},
		{"InvitationRevocation", testInvitationRevocation},
		{"ConcurrentAccepts", testConcurrentAccepts},
		{"InvitationNewUser", testInvitationNewUser},
		{"Meetings", testMeetings},
		{"MeetingUpdates", testMeetingUpdates},
		{"ConcurrentMeetingUpdates", testConcurrentMeetingUpdates},
		{"Disclosure", testDisclosure},
		{"Handoff", testHandoff},
		{"AgreementReads", testAgreementReads},
		{"Preferences", testPreferences},
		{"ConcurrentPreferences", testConcurrentPreferences},
		{"RecordHashes", testRecordHashes},
		{"RecordAtomicity", testRecordAtomicity},
		{"Mandates", testMandates},
		{"MandateRead", testMandateRead},
		{"Stakeholders", testStakeholders},
		{"Rejection", testRejection},
		{"Reopen", testReopen},
		{"ReopenPublished", testReopenPublished},
		{"MemberSignatures", testMemberSignatures},
		{"ClientKeys", testClientKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var t0 = time.Date(2025, 6, 1, 9, 0, 0, 123456789, time.UTC)

func stamp(actor int64, i int) talks.Stamp {
	return talks.Stamp{ActorID: actor, Time: t0.Add(time.Duration(i) * time.Second)}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := talks.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newUser(t *testing.T, s talks.Store, name string) *talks.User {
	t.Helper()
	u := &talks.User{Name: name, Email: name + "@example.org", PasswordHash: "$argon2id$x", CreatedAt: t0}
	must(t, "CreateUser", s.CreateUser(context.Background(), u))
	return u
}

// fixture is a talk with two parties, a delegation each and a back-channel.
type fixture struct {
	convener, northP, northE, southP, southE *talks.User
	talk                                     *talks.Talk
	north, south                             *talks.Party
	mNorthP, mNorthE, mSouthP, mSouthE       *talks.Member
	official, back                           *talks.Track
}

func newFixture(t *testing.T, s talks.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{
		convener: newUser(t, s, "convener"),
		northP:   newUser(t, s, "north-principal"), northE: newUser(t, s, "north-envoy"),
		southP: newUser(t, s, "south-principal"), southE: newUser(t, s, "south-envoy"),
	}
	space, err := outcome.NewSpace("ceasefire", outcome.NewDiscrete("line", "river", "ridge"), outcome.NewInteger("prisoners", 0, 100))
	must(t, "NewSpace", err)
	f.talk = &talks.Talk{Title: "Ceasefire", Description: "Northland-Southland", Space: space, ConvenerID: f.convener.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, f.talk, stamp(f.convener.ID, 0)))
	f.north = &talks.Party{TalkID: f.talk.ID, Name: "Northland"}
	f.south = &talks.Party{TalkID: f.talk.ID, Name: "Southland"}
	must(t, "AddParty", s.AddParty(ctx, f.north, stamp(f.convener.ID, 1)))
	must(t, "AddParty", s.AddParty(ctx, f.south, stamp(f.convener.ID, 2)))
	add := func(u *talks.User, p *talks.Party, r talks.Role) *talks.Member {
		m := &talks.Member{TalkID: f.talk.ID, UserID: u.ID, PartyID: p.ID, Role: r}
		must(t, "AddMember", s.AddMember(ctx, m, stamp(f.convener.ID, 3)))
		return m
	}
	f.mNorthP = add(f.northP, f.north, talks.RolePrincipal)
	f.mNorthE = add(f.northE, f.north, talks.RoleEnvoy)
	f.mSouthP = add(f.southP, f.south, talks.RolePrincipal)
	f.mSouthE = add(f.southE, f.south, talks.RoleEnvoy)
	tracks, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: f.talk.ID})
	must(t, "FindTracks", err)
	if len(tracks) != 1 || tracks[0].Kind != talks.TrackOfficial {
		t.Fatalf("FindTracks() of a new talk = %v, want its official track alone", tracks)
	}
	f.official = tracks[0]
	f.back = &talks.Track{TalkID: f.talk.ID, Name: "Envoys", Kind: talks.TrackBackchannel, MemberIDs: []int64{f.mSouthE.ID, f.mNorthE.ID}}
	must(t, "CreateTrack", s.CreateTrack(ctx, f.back, stamp(f.convener.ID, 4)))
	return f
}

func testUsers(t *testing.T, s talks.Store) {
	ctx := context.Background()
	u := newUser(t, s, "ada")
	if u.ID == 0 {
		t.Fatal("CreateUser did not set ID")
	}
	for _, find := range []func() (*talks.User, error){
		func() (*talks.User, error) { return s.FindUserByID(ctx, u.ID) },
		func() (*talks.User, error) { return s.FindUserByEmail(ctx, u.Email) },
	} {
		got, err := find()
		must(t, "FindUser", err)
		if !reflect.DeepEqual(got, u) {
			t.Errorf("FindUser() = %+v, want %+v", got, u)
		}
	}
	_, err := s.FindUserByID(ctx, u.ID+100)
	wantCode(t, "FindUserByID(unknown)", err, talks.ENOTFOUND)
	_, err = s.FindUserByEmail(ctx, "nobody@example.org")
	wantCode(t, "FindUserByEmail(unknown)", err, talks.ENOTFOUND)
	wantCode(t, "CreateUser(same email)", s.CreateUser(ctx, &talks.User{Name: "other", Email: u.Email, CreatedAt: t0}), talks.ECONFLICT)
}

func testTalks(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	got, err := s.FindTalkByID(ctx, f.talk.ID)
	must(t, "FindTalkByID", err)
	if !reflect.DeepEqual(got, f.talk) {
		t.Errorf("FindTalkByID() = %+v, want %+v", got, f.talk)
	}
	if f.talk.Status != talks.StatusOpen || !f.talk.CreatedAt.Equal(talks.Timestamp(t0)) {
		t.Errorf("CreateTalk set status %q, time %v; want open, %v", f.talk.Status, f.talk.CreatedAt, talks.Timestamp(t0))
	}
	_, err = s.FindTalkByID(ctx, f.talk.ID+100)
	wantCode(t, "FindTalkByID(unknown)", err, talks.ENOTFOUND)

	// The convener is a facilitator; a talk without space round-trips too.
	other := &talks.Talk{Title: "Other", ConvenerID: f.southE.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(f.southE.ID, 5)))
	ms, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: other.ID})
	must(t, "FindMembers", err)
	if len(ms) != 1 || ms[0].UserID != f.southE.ID || ms[0].Role != talks.RoleFacilitator || ms[0].PartyID != 0 {
		t.Errorf("members of a new talk = %+v, want its convener as facilitator", ms)
	}
	for _, tt := range []struct {
		user int64
		want []int64
	}{
		{f.southE.ID, []int64{f.talk.ID, other.ID}},
		{f.convener.ID, []int64{f.talk.ID}},
		{f.southE.ID + 1000, nil},
	} {
		a, err := s.FindTalks(ctx, talks.TalkFilter{UserID: &tt.user})
		must(t, "FindTalks", err)
		var ids []int64
		for _, x := range a {
			ids = append(ids, x.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("FindTalks(user %d) = %v, want %v", tt.user, ids, tt.want)
		}
	}
	a, err := s.FindTalks(ctx, talks.TalkFilter{Offset: 1, Limit: 1})
	must(t, "FindTalks", err)
	if len(a) != 1 || a[0].ID != other.ID {
		t.Errorf("FindTalks(offset 1, limit 1) = %v, want talk %d", a, other.ID)
	}

	title, closed := "Ceasefire (closed)", talks.StatusClosed
	upd, err := s.UpdateTalk(ctx, f.talk.ID, talks.TalkUpdate{Title: &title, Status: &closed}, stamp(f.convener.ID, 6))
	must(t, "UpdateTalk", err)
	if upd.Title != title || upd.Status != closed || upd.Description != f.talk.Description {
		t.Errorf("UpdateTalk() = %+v", upd)
	}
	got, err = s.FindTalkByID(ctx, f.talk.ID)
	must(t, "FindTalkByID", err)
	if !reflect.DeepEqual(got, upd) {
		t.Errorf("FindTalkByID() after update = %+v, want %+v", got, upd)
	}
	_, err = s.UpdateTalk(ctx, f.talk.ID+100, talks.TalkUpdate{Title: &title}, stamp(1, 7))
	wantCode(t, "UpdateTalk(unknown)", err, talks.ENOTFOUND)
	wantCode(t, "CreateTalk(unknown convener)", s.CreateTalk(ctx, &talks.Talk{Title: "x", ConvenerID: 9999}, stamp(9999, 8)), talks.EINVALID)
}

func testParties(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	ps, err := s.FindParties(ctx, talks.PartyFilter{TalkID: f.talk.ID})
	must(t, "FindParties", err)
	if want := []*talks.Party{f.north, f.south}; !reflect.DeepEqual(ps, want) {
		t.Errorf("FindParties() = %v, want %v", ps, want)
	}
	wantCode(t, "AddParty(same name)", s.AddParty(ctx, &talks.Party{TalkID: f.talk.ID, Name: "Northland"}, stamp(1, 9)), talks.ECONFLICT)
	wantCode(t, "AddParty(unknown talk)", s.AddParty(ctx, &talks.Party{TalkID: f.talk.ID + 100, Name: "X"}, stamp(1, 9)), talks.ENOTFOUND)
}

func testMembers(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	got, err := s.FindMemberByID(ctx, f.mNorthE.ID)
	must(t, "FindMemberByID", err)
	if !reflect.DeepEqual(got, f.mNorthE) {
		t.Errorf("FindMemberByID() = %+v, want %+v", got, f.mNorthE)
	}
	_, err = s.FindMemberByID(ctx, 9999)
	wantCode(t, "FindMemberByID(unknown)", err, talks.ENOTFOUND)
	ms, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: f.talk.ID, UserID: f.southP.ID})
	must(t, "FindMembers", err)
	if len(ms) != 1 || !reflect.DeepEqual(ms[0], f.mSouthP) {
		t.Errorf("FindMembers(talk, user) = %v, want [%v]", ms, f.mSouthP)
	}
	wantCode(t, "AddMember(twice)", s.AddMember(ctx, &talks.Member{TalkID: f.talk.ID, UserID: f.northE.ID, PartyID: f.south.ID, Role: talks.RoleAdvisor}, stamp(1, 9)), talks.ECONFLICT)
	wantCode(t, "AddMember(unknown talk)", s.AddMember(ctx, &talks.Member{TalkID: f.talk.ID + 100, UserID: f.northE.ID, PartyID: f.south.ID, Role: talks.RoleAdvisor}, stamp(1, 9)), talks.ENOTFOUND)
	wantCode(t, "AddMember(unknown user)", s.AddMember(ctx, &talks.Member{TalkID: f.talk.ID, UserID: 9999, PartyID: f.south.ID, Role: talks.RoleAdvisor}, stamp(1, 9)), talks.EINVALID)

	// A party of another talk is refused.
	u := newUser(t, s, "stray")
	other := &talks.Talk{Title: "Other", ConvenerID: u.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(u.ID, 9)))
	wantCode(t, "AddMember(party of another talk)", s.AddMember(ctx, &talks.Member{TalkID: other.ID, UserID: f.northE.ID, PartyID: f.north.ID, Role: talks.RoleEnvoy}, stamp(1, 9)), talks.EINVALID)
}

func testTracks(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	if want := []int64{f.mNorthE.ID, f.mSouthE.ID}; !reflect.DeepEqual(f.back.MemberIDs, want) {
		t.Errorf("CreateTrack set MemberIDs %v, want sorted %v", f.back.MemberIDs, want)
	}
	got, err := s.FindTrackByID(ctx, f.back.ID)
	must(t, "FindTrackByID", err)
	if !reflect.DeepEqual(got, f.back) {
		t.Errorf("FindTrackByID() = %+v, want %+v", got, f.back)
	}
	_, err = s.FindTrackByID(ctx, 9999)
	wantCode(t, "FindTrackByID(unknown)", err, talks.ENOTFOUND)

	must(t, "AddTrackMember", s.AddTrackMember(ctx, f.back.ID, f.mNorthP.ID, stamp(1, 10)))
	got, err = s.FindTrackByID(ctx, f.back.ID)
	must(t, "FindTrackByID", err)
	if want := []int64{f.mNorthP.ID, f.mNorthE.ID, f.mSouthE.ID}; !reflect.DeepEqual(got.MemberIDs, want) {
		t.Errorf("track members after AddTrackMember = %v, want %v", got.MemberIDs, want)
	}
	wantCode(t, "AddTrackMember(twice)", s.AddTrackMember(ctx, f.back.ID, f.mNorthP.ID, stamp(1, 11)), talks.ECONFLICT)
	wantCode(t, "AddTrackMember(unknown track)", s.AddTrackMember(ctx, 9999, f.mNorthP.ID, stamp(1, 11)), talks.ENOTFOUND)
	wantCode(t, "AddTrackMember(official)", s.AddTrackMember(ctx, f.official.ID, f.mNorthP.ID, stamp(1, 11)), talks.EINVALID)
	wantCode(t, "AddTrackMember(unknown member)", s.AddTrackMember(ctx, f.back.ID, 9999, stamp(1, 11)), talks.EINVALID)
	wantCode(t, "CreateTrack(official)", s.CreateTrack(ctx, &talks.Track{TalkID: f.talk.ID, Name: "x", Kind: talks.TrackOfficial}, stamp(1, 11)), talks.EINVALID)
	wantCode(t, "CreateTrack(unknown talk)", s.CreateTrack(ctx, &talks.Track{TalkID: 9999, Name: "x", Kind: talks.TrackBackchannel}, stamp(1, 11)), talks.ENOTFOUND)

	ts, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: f.talk.ID})
	must(t, "FindTracks", err)
	if len(ts) != 2 || ts[0].ID != f.official.ID || ts[1].ID != f.back.ID {
		t.Errorf("FindTracks() = %v, want official then back-channel", ts)
	}
}

func testMessages(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	var posted []*talks.Message
	for i := range 5 {
		m := &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: fmt.Sprintf("offer %d", i)}
		must(t, "PostMessage", s.PostMessage(ctx, m, stamp(f.northE.ID, 20+i)))
		if m.ID == 0 || !m.CreatedAt.Equal(talks.Timestamp(t0.Add(time.Duration(20+i)*time.Second))) {
			t.Fatalf("PostMessage set ID %d, time %v", m.ID, m.CreatedAt)
		}
		posted = append(posted, m)
	}
	got, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: f.back.ID})
	must(t, "FindMessages", err)
	if !reflect.DeepEqual(got, posted) {
		t.Errorf("FindMessages() = %v, want %v", got, posted)
	}
	got, err = s.FindMessages(ctx, talks.MessageFilter{TrackID: f.back.ID, AfterID: posted[1].ID, Limit: 2})
	must(t, "FindMessages", err)
	if !reflect.DeepEqual(got, posted[2:4]) {
		t.Errorf("FindMessages(after, limit) = %v, want %v", got, posted[2:4])
	}
	got, err = s.FindMessages(ctx, talks.MessageFilter{TrackID: f.back.ID, Limit: 2, Latest: true})
	must(t, "FindMessages", err)
	if !reflect.DeepEqual(got, posted[3:5]) {
		t.Errorf("FindMessages(limit, latest) = %v, want %v", got, posted[3:5])
	}
	got, err = s.FindMessages(ctx, talks.MessageFilter{TrackID: f.back.ID, AfterID: posted[2].ID, Limit: 4, Latest: true})
	must(t, "FindMessages", err)
	if !reflect.DeepEqual(got, posted[3:5]) {
		t.Errorf("FindMessages(after, limit, latest) = %v, want %v", got, posted[3:5])
	}
	got, err = s.FindMessages(ctx, talks.MessageFilter{TrackID: f.official.ID})
	must(t, "FindMessages", err)
	if len(got) != 0 {
		t.Errorf("FindMessages(official) = %v, want none", got)
	}

	must(t, "RetractMessage", s.RetractMessage(ctx, posted[0].ID, stamp(f.northE.ID, 30)))
	m, err := s.FindMessageByID(ctx, posted[0].ID)
	must(t, "FindMessageByID", err)
	if !m.Retracted || m.Body != posted[0].Body {
		t.Errorf("retracted message = %+v, want marked retracted with its body kept", m)
	}
	wantCode(t, "RetractMessage(twice)", s.RetractMessage(ctx, posted[0].ID, stamp(f.northE.ID, 31)), talks.ECONFLICT)
	wantCode(t, "RetractMessage(unknown)", s.RetractMessage(ctx, 9999, stamp(1, 31)), talks.ENOTFOUND)
	_, err = s.FindMessageByID(ctx, 9999)
	wantCode(t, "FindMessageByID(unknown)", err, talks.ENOTFOUND)
	wantCode(t, "PostMessage(unknown track)", s.PostMessage(ctx, &talks.Message{TrackID: 9999, AuthorID: f.mNorthE.ID, Body: "x"}, stamp(1, 32)), talks.ENOTFOUND)
	wantCode(t, "PostMessage(author not in talk)", s.PostMessage(ctx, &talks.Message{TrackID: f.back.ID, AuthorID: 9999, Body: "x"}, stamp(1, 32)), talks.EINVALID)
}

func events(t *testing.T, s talks.Store, talkID int64) []*talks.Event {
	t.Helper()
	evs, err := s.FindEvents(context.Background(), talks.EventFilter{TalkID: talkID})
	must(t, "FindEvents", err)
	return evs
}

// testTalkHead checks that TalkHead is the sequence number of the talk's
// last event: 0 for an unknown talk, moved by every write to the talk and
// by no failed write or write to another talk.
func testTalkHead(t *testing.T, s talks.Store) {
	ctx := context.Background()
	head := func(id int64) int64 {
		t.Helper()
		h, err := s.TalkHead(ctx, id)
		must(t, "TalkHead", err)
		return h
	}
	if h := head(987654); h != 0 {
		t.Errorf("TalkHead(unknown talk) = %d, want 0", h)
	}
	f := newFixture(t, s)
	evs := events(t, s, f.talk.ID)
	if h := head(f.talk.ID); h != evs[len(evs)-1].ID {
		t.Fatalf("TalkHead = %d, want %d (the last event)", h, evs[len(evs)-1].ID)
	}
	h0 := head(f.talk.ID)
	err := s.PostMessage(ctx, &talks.Message{TrackID: 987654, AuthorID: f.mSouthP.ID, Body: "lost"}, stamp(f.southP.ID, 40))
	wantCode(t, "PostMessage(unknown track)", err, talks.ENOTFOUND)
	if h := head(f.talk.ID); h != h0 {
		t.Errorf("TalkHead after a failed write = %d, want %d", h, h0)
	}
	other := &talks.Talk{Title: "Elsewhere", ConvenerID: f.southP.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(f.southP.ID, 41)))
	if h := head(f.talk.ID); h != h0 {
		t.Errorf("TalkHead after a write to another talk = %d, want %d", h, h0)
	}
	if h := head(other.ID); h != 3 {
		t.Errorf("TalkHead(new talk) = %d, want 3", h)
	}
	must(t, "AddParty", s.AddParty(ctx, &talks.Party{TalkID: f.talk.ID, Name: "Westland"}, stamp(f.southP.ID, 42)))
	if h := head(f.talk.ID); h != h0+1 {
		t.Errorf("TalkHead after AddParty = %d, want %d", h, h0+1)
	}
	// A write reports the run of events it appended (Stamp.Appended).
	st := stamp(f.northE.ID, 43)
	st.Appended = new(talks.Appended)
	must(t, "PostMessage", s.PostMessage(ctx, &talks.Message{TrackID: f.official.ID, AuthorID: f.mNorthE.ID, Body: "noted"}, st))
	if h := head(f.talk.ID); h != h0+2 || *st.Appended != (talks.Appended{First: h, Last: h}) {
		t.Errorf("PostMessage reported Stamp.Appended %+v at head %d, want {First:%d Last:%d}", *st.Appended, h, h0+2, h0+2)
	}
}

func testEventChain(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	must(t, "PostMessage", s.PostMessage(ctx, &talks.Message{TrackID: f.official.ID, AuthorID: f.mSouthP.ID, Body: "opening statement"}, stamp(f.southP.ID, 40)))
	evs := events(t, s, f.talk.ID)
	must(t, "VerifyChain", talks.VerifyChain(evs))
	wantTypes := []string{talks.EventTalkCreated, talks.EventTrackCreated, talks.EventMemberAdded,
		talks.EventPartyAdded, talks.EventPartyAdded,
		talks.EventMemberAdded, talks.EventMemberAdded, talks.EventMemberAdded, talks.EventMemberAdded,
		talks.EventTrackCreated, talks.EventMessagePosted}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("event types = %v, want %v", types, wantTypes)
	}
	last := evs[len(evs)-1]
	if last.TrackID != f.official.ID || last.ActorID != f.southP.ID || !last.Time.Equal(talks.Timestamp(t0.Add(40*time.Second))) {
		t.Errorf("last event = %+v", last)
	}
	if evs[9].TrackID != f.back.ID {
		t.Errorf("track.created of the back-channel has track %d, want %d", evs[9].TrackID, f.back.ID)
	}

	page, err := s.FindEvents(ctx, talks.EventFilter{TalkID: f.talk.ID, AfterSeq: 3, Limit: 2})
	must(t, "FindEvents", err)
	if len(page) != 2 || page[0].ID != 4 || page[1].ID != 5 {
		t.Errorf("FindEvents(after 3, limit 2) = %v, want events 4 and 5", page)
	}
	for _, c := range []struct {
		f    talks.EventFilter
		want []*talks.Event
	}{
		{talks.EventFilter{AfterSeq: 3, BeforeSeq: 6}, evs[3:5]},
		{talks.EventFilter{Limit: 2, Latest: true}, evs[len(evs)-2:]},
		{talks.EventFilter{BeforeSeq: 6, Limit: 2, Latest: true}, evs[3:5]},
		{talks.EventFilter{AfterSeq: 4, BeforeSeq: 7, Limit: 5, Latest: true}, evs[4:6]},
	} {
		c.f.TalkID = f.talk.ID
		got, err := s.FindEvents(ctx, c.f)
		must(t, "FindEvents", err)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("FindEvents(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	typed, err := s.FindEvents(ctx, talks.EventFilter{TalkID: f.talk.ID, Type: talks.EventTrackCreated})
	must(t, "FindEvents(type)", err)
	var want []*talks.Event
	for _, e := range evs {
		if e.Type == talks.EventTrackCreated {
			want = append(want, e)
		}
	}
	if len(want) < 2 || !reflect.DeepEqual(typed, want) {
		t.Errorf("FindEvents(type %s) = %v, want %v", talks.EventTrackCreated, typed, want)
	}
	onTrack, err := s.FindEvents(ctx, talks.EventFilter{TalkID: f.talk.ID, Type: talks.EventTrackCreated, TrackID: f.back.ID, AfterSeq: 1})
	must(t, "FindEvents(type, track)", err)
	if len(onTrack) != 1 || onTrack[0].ID != evs[9].ID {
		t.Errorf("FindEvents(type %s, track %d) = %v, want event %d only", talks.EventTrackCreated, f.back.ID, onTrack, evs[9].ID)
	}
	if none := events(t, s, f.talk.ID+100); len(none) != 0 {
		t.Errorf("FindEvents(unknown talk) = %v, want none", none)
	}

	// Tampering with any stored byte is detectable by recomputation.
	evs[6].Payload = append([]byte(nil), evs[6].Payload...)
	evs[6].Payload[len(evs[6].Payload)-2] ^= 1
	if err := talks.VerifyChain(evs); err == nil {
		t.Error("VerifyChain() after changing a payload byte = nil, want an error")
	}
}

// checkProjection compares a talk's projections with the fold of its events.
func checkProjection(t *testing.T, s talks.Store, talkID int64) {
	t.Helper()
	ctx := context.Background()
	want, err := talks.Project(events(t, s, talkID))
	must(t, "Project", err)
	got := &talks.State{}
	got.Talk, err = s.FindTalkByID(ctx, talkID)
	must(t, "FindTalkByID", err)
	got.Parties, err = s.FindParties(ctx, talks.PartyFilter{TalkID: talkID})
	must(t, "FindParties", err)
	got.Members, err = s.FindMembers(ctx, talks.MemberFilter{TalkID: talkID})
	must(t, "FindMembers", err)
	got.Tracks, err = s.FindTracks(ctx, talks.TrackFilter{TalkID: talkID})
	must(t, "FindTracks", err)
	for _, tr := range got.Tracks {
		ms, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: tr.ID})
		must(t, "FindMessages", err)
		got.Messages = append(got.Messages, ms...)
	}
	if want.Messages == nil {
		want.Messages = got.Messages[:0:0]
	}
	if !reflect.DeepEqual(got.Talk, want.Talk) {
		t.Errorf("talk projection = %+v, fold of events = %+v", got.Talk, want.Talk)
	}
	checkText(t, s, talkID, want)
	checkInvitations(t, s, talkID, want)
	checkMeetings(t, s, talkID, want)
	checkDisclosure(t, s, talkID, want)
	checkPreferences(t, s, talkID, want)
	checkMandates(t, s, talkID, want)
	for _, c := range []struct {
		name      string
		got, want any
	}{{"parties", got.Parties, want.Parties}, {"members", got.Members, want.Members}, {"tracks", got.Tracks, want.Tracks}} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s projection = %v, fold of events = %v", c.name, c.got, c.want)
		}
	}
	if len(got.Messages) != len(want.Messages) {
		t.Fatalf("%d messages projected, fold of events has %d", len(got.Messages), len(want.Messages))
	}
	byID := map[int64]*talks.Message{}
	for _, m := range want.Messages {
		byID[m.ID] = m
	}
	for _, m := range got.Messages {
		if !reflect.DeepEqual(m, byID[m.ID]) {
			t.Errorf("message projection = %+v, fold of events = %+v", m, byID[m.ID])
		}
	}
}

func testProjection(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	for i := range 3 {
		m := &talks.Message{TrackID: f.back.ID, AuthorID: f.mSouthE.ID, Body: fmt.Sprintf("m%d", i)}
		must(t, "PostMessage", s.PostMessage(ctx, m, stamp(f.southE.ID, 50+i)))
		if i == 1 {
			must(t, "RetractMessage", s.RetractMessage(ctx, m.ID, stamp(f.southE.ID, 60)))
		}
	}
	must(t, "PostMessage", s.PostMessage(ctx, &talks.Message{TrackID: f.official.ID, AuthorID: f.mNorthP.ID, Body: "official"}, stamp(f.northP.ID, 61)))
	must(t, "AddTrackMember", s.AddTrackMember(ctx, f.back.ID, f.mSouthP.ID, stamp(f.convener.ID, 62)))
	desc, agreed := "updated", talks.StatusAgreed
	_, err := s.UpdateTalk(ctx, f.talk.ID, talks.TalkUpdate{Description: &desc, Status: &agreed}, stamp(f.convener.ID, 63))
	must(t, "UpdateTalk", err)
	checkProjection(t, s, f.talk.ID)
}

// testAtomicity checks that writes failing after some of their statements
// have run leave neither an event nor a projection row behind.
func testAtomicity(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	u := newUser(t, s, "outsider")
	other := &talks.Talk{Title: "Other", ConvenerID: u.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(u.ID, 70)))
	otherMembers, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: other.ID})
	must(t, "FindMembers", err)
	before := events(t, s, f.talk.ID)

	// The track row and its event are written before the bad member.
	err = s.CreateTrack(ctx, &talks.Track{TalkID: f.talk.ID, Name: "Doomed", Kind: talks.TrackBackchannel,
		MemberIDs: []int64{f.mNorthE.ID, otherMembers[0].ID}}, stamp(1, 71))
	wantCode(t, "CreateTrack(member of another talk)", err, talks.EINVALID)
	// The talk row and its first events are written before the convener.
	wantCode(t, "CreateTalk(unknown convener)", s.CreateTalk(ctx, &talks.Talk{Title: "Doomed", ConvenerID: 9999}, stamp(1, 72)), talks.EINVALID)
	wantCode(t, "PostMessage(author of another talk)", s.PostMessage(ctx, &talks.Message{TrackID: f.back.ID, AuthorID: otherMembers[0].ID, Body: "x"}, stamp(1, 73)), talks.EINVALID)
	wantCode(t, "AddTrackMember(member of another talk)", s.AddTrackMember(ctx, f.back.ID, otherMembers[0].ID, stamp(1, 74)), talks.EINVALID)

	if after := events(t, s, f.talk.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("failed writes appended %d events", len(after)-len(before))
	}
	tracks, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: f.talk.ID})
	must(t, "FindTracks", err)
	if len(tracks) != 2 {
		t.Errorf("after a failed CreateTrack, talk has %d tracks, want 2", len(tracks))
	}
	all, err := s.FindTalks(ctx, talks.TalkFilter{})
	must(t, "FindTalks", err)
	if len(all) != 2 {
		t.Errorf("after a failed CreateTalk, %d talks, want 2", len(all))
	}
	if evs := events(t, s, other.ID+1); len(evs) != 0 {
		t.Errorf("a failed CreateTalk left events %v", evs)
	}
	msgs, err := s.FindMessages(ctx, talks.MessageFilter{TrackID: f.back.ID})
	must(t, "FindMessages", err)
	if len(msgs) != 0 {
		t.Errorf("a failed PostMessage left %v", msgs)
	}
	checkProjection(t, s, f.talk.ID)
}

// testConcurrentAppends posts from many goroutines at once, to one talk
// and to another, and checks gap-free sequences and unbroken chains.
func testConcurrentAppends(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := &talks.Talk{Title: "Other", ConvenerID: f.convener.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(f.convener.ID, 80)))
	otherTracks, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: other.ID})
	must(t, "FindTracks", err)
	otherMembers, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: other.ID})
	must(t, "FindMembers", err)

	const workers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: fmt.Sprintf("w%d-%d", w, i)}
				if w%4 == 0 {
					m = &talks.Message{TrackID: otherTracks[0].ID, AuthorID: otherMembers[0].ID, Body: m.Body}
				}
				if err := s.PostMessage(ctx, m, stamp(f.northE.ID, 100+i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent PostMessage: %v", err)
	}
	for _, c := range []struct {
		talk int64
		want int
	}{{f.talk.ID, 10 + workers*3/4*each}, {other.ID, 3 + workers/4*each}} {
		evs := events(t, s, c.talk)
		if len(evs) != c.want {
			t.Errorf("talk %d has %d events, want %d", c.talk, len(evs), c.want)
		}
		if err := talks.VerifyChain(evs); err != nil {
			t.Errorf("talk %d: %v", c.talk, err)
		}
		checkProjection(t, s, c.talk)
	}
}

// testAppender checks a store that reports its commits' events
// (talks.Appender): concurrent writes to two talks, some of which fail
// inside the write, must be reported exactly as stored, each talk's in
// order, and none of a failed write.
func testAppender(t *testing.T, s talks.Store) {
	a, ok := s.(talks.Appender)
	if !ok {
		t.Skip("the store does not implement talks.Appender")
	}
	ctx := context.Background()
	f := newFixture(t, s)
	other := &talks.Talk{Title: "Other", ConvenerID: f.convener.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, other, stamp(f.convener.ID, 80)))
	otherTracks, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: other.ID})
	must(t, "FindTracks", err)
	otherMembers, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: other.ID})
	must(t, "FindMembers", err)
	heads := map[int64]int64{}
	for _, id := range []int64{f.talk.ID, other.ID} {
		heads[id], err = s.TalkHead(ctx, id)
		must(t, "TalkHead", err)
	}

	var mu sync.Mutex
	reported := map[int64][]*talks.Event{}
	a.OnAppend(func(evs []*talks.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			reported[e.TalkID] = append(reported[e.TalkID], e)
		}
	})
	defer a.OnAppend(nil)

	const workers, each = 8, 9
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: fmt.Sprintf("w%d-%d", w, i)}
				switch {
				case w%2 == 1:
					m = &talks.Message{TrackID: otherTracks[0].ID, AuthorID: otherMembers[0].ID, Body: m.Body}
				case i%3 == 2:
					m.AuthorID = otherMembers[0].ID // of another talk: the write fails
				}
				if err := s.PostMessage(ctx, m, stamp(f.northE.ID, 100+i)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if want := int32(workers / 2 * each / 3); failed.Load() != want {
		t.Errorf("%d writes failed, want %d", failed.Load(), want)
	}
	a.OnAppend(nil)
	mu.Lock()
	defer mu.Unlock()
	for _, id := range []int64{f.talk.ID, other.ID} {
		evs, err := s.FindEvents(ctx, talks.EventFilter{TalkID: id, AfterSeq: heads[id]})
		must(t, "FindEvents", err)
		got := reported[id]
		if len(got) != len(evs) {
			t.Errorf("talk %d: %d events reported, %d stored", id, len(got), len(evs))
			continue
		}
		for i, e := range got {
			if e.ID != evs[i].ID || e.Hash != evs[i].Hash || string(e.Payload) != string(evs[i].Payload) {
				t.Errorf("talk %d: reported event %d is %d %x, stored %d %x", id, i, e.ID, e.Hash, evs[i].ID, evs[i].Hash)
			}
		}
	}
}

// testBatchStats checks a store that counts its batches (talks.Batcher):
// concurrent writes are each counted, once or, if the store ran one again
// (after a lock timeout, say), a few times, in at least one batch and at
// most one each, and the batches took time.
func testBatchStats(t *testing.T, s talks.Store) {
	b, ok := s.(talks.Batcher)
	if !ok {
		t.Skip("the store does not implement talks.Batcher")
	}
	ctx := context.Background()
	f := newFixture(t, s)
	before := b.BatchStats()
	const writes = 24
	var wg sync.WaitGroup
	errs := make(chan error, writes)
	for i := range writes {
		wg.Go(func() {
			m := &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: fmt.Sprintf("m%d", i)}
			errs <- s.PostMessage(ctx, m, stamp(f.northE.ID, 100+i))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "PostMessage", err)
	}
	// A committer counts a batch after it has answered the batch's writes,
	// so the last batch may not be counted yet. It takes a next write only
	// once it has counted every batch before: when one more write returns,
	// the counts of the writes above are final.
	must(t, "PostMessage(after)", s.PostMessage(ctx, &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: "after"}, stamp(f.northE.ID, 200)))
	after := b.BatchStats()
	batches, n, busy := after.Batches-before.Batches, after.Writes-before.Writes, after.Busy-before.Busy
	if n < writes || n > 4*(writes+1) || batches < 1 || batches > n || busy <= 0 {
		t.Errorf("%d writes ran in %d batches in %v, want %d to %d writes in 1 to as many batches, in some time", n, batches, busy, writes, 4*(writes+1))
	}
}

// testViewCheck checks Stamp.View: a message or a counter-proposal decided
// by a snapshot at some head is written if every event since is of a type
// in talks.ViewKeepingTypes, and refused with talks.ErrStaleView, writing
// nothing, after any other event (a member added, say).
func testViewCheck(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newTextFixture(t, s)
	head := func() int64 {
		t.Helper()
		h, err := s.TalkHead(ctx, f.talk.ID)
		must(t, "TalkHead", err)
		return h
	}
	viewed := func(h int64, i int) talks.Stamp {
		st := stamp(f.northE.ID, i)
		st.View = &talks.ViewCheck{Head: h}
		return st
	}
	msg := func(body string) *talks.Message {
		return &talks.Message{TrackID: f.official.ID, AuthorID: f.mNorthE.ID, Body: body}
	}
	h0 := head()
	must(t, "PostMessage(view at head)", s.PostMessage(ctx, msg("at head"), viewed(h0, 300)))
	must(t, "PostMessage(view before a message)", s.PostMessage(ctx, msg("after a message"), viewed(h0, 301)))
	parent := f.v2.ID
	counter := func(h int64, i int) error {
		v := &talks.Version{ParentID: parent, Values: map[string]string{"line": "river", "prisoners": fmt.Sprint(i)}, AuthorID: f.mNorthE.ID}
		a := &talks.Answer{PartyID: f.north.ID, MemberID: f.mNorthE.ID}
		err := s.ProposeVersion(ctx, v, a, viewed(h, i))
		if err == nil {
			parent = v.ID
		}
		return err
	}
	must(t, "ProposeVersion(view before messages)", counter(h0, 302))

	// A member joins: a view from before it is stale.
	h1 := head()
	u := newUser(t, s, "late-joiner")
	must(t, "AddMember", s.AddMember(ctx, &talks.Member{TalkID: f.talk.ID, UserID: u.ID, PartyID: f.south.ID, Role: talks.RoleObserver}, stamp(f.convener.ID, 303)))
	h2 := head()
	if err := s.PostMessage(ctx, msg("stale"), viewed(h1, 304)); !errors.Is(err, talks.ErrStaleView) {
		t.Errorf("PostMessage(view before AddMember) = %v, want ErrStaleView", err)
	}
	if err := counter(h1, 305); !errors.Is(err, talks.ErrStaleView) {
		t.Errorf("ProposeVersion(view before AddMember) = %v, want ErrStaleView", err)
	}
	if h := head(); h != h2 {
		t.Errorf("TalkHead after refused writes = %d, want %d", h, h2)
	}
	if err := s.PostMessage(ctx, msg("ahead"), viewed(h2+1, 306)); !errors.Is(err, talks.ErrStaleView) {
		t.Errorf("PostMessage(view ahead of the head) = %v, want ErrStaleView", err)
	}
	must(t, "PostMessage(view after AddMember)", s.PostMessage(ctx, msg("fresh"), viewed(h2, 307)))
	must(t, "ProposeVersion(view after AddMember)", counter(h2, 308))
}
