package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// testRemovedMembers checks RemoveMember: the member is marked removed
// and off every track, the log says so, its talk leaves its user's list,
// refused calls write nothing, a view from before is stale, nothing puts
// it on a track or changes its role, and adding its user again, directly
// or by an invitation, makes it the same member once more.
func testRemovedMembers(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	head := func() int64 { return talkHead(t, s, f.talk.ID) }
	member := func(id int64) *talks.Member {
		t.Helper()
		m, err := s.FindMemberByID(ctx, id)
		must(t, "FindMemberByID", err)
		return m
	}
	talksOf := func(u *talks.User) int {
		t.Helper()
		a, err := s.FindTalks(ctx, talks.TalkFilter{UserID: &u.ID})
		must(t, "FindTalks", err)
		return len(a)
	}

	// Invitations: one NE made, one it made and revoked, one the convener made.
	mine := &talks.Invitation{TalkID: f.talk.ID, PartyID: f.north.ID, Role: talks.RoleAdvisor, TokenHash: talks.HashToken("bci_ne_open"), ExpiresAt: t0.Add(time.Hour)}
	must(t, "CreateInvitation(NE's)", s.CreateInvitation(ctx, mine, stamp(f.northE.ID, 590)))
	revoked := &talks.Invitation{TalkID: f.talk.ID, PartyID: f.north.ID, Role: talks.RoleAdvisor, TokenHash: talks.HashToken("bci_ne_revoked"), ExpiresAt: t0.Add(time.Hour)}
	must(t, "CreateInvitation(NE's)", s.CreateInvitation(ctx, revoked, stamp(f.northE.ID, 591)))
	must(t, "RevokeInvitation", s.RevokeInvitation(ctx, revoked.ID, stamp(f.northE.ID, 592)))
	theirs, _ := newInvitation(t, s, f, f.north, talks.RoleObserver, 593, time.Hour)

	before := head()
	must(t, "RemoveMember", s.RemoveMember(ctx, f.talk.ID, f.mNorthE.ID, stamp(f.northP.ID, 600)))
	if m := member(f.mNorthE.ID); !m.Removed {
		t.Errorf("member after RemoveMember = %+v, want removed", m)
	}
	tr, err := s.FindTrackByID(ctx, f.back.ID)
	must(t, "FindTrackByID", err)
	if want := []int64{f.mSouthE.ID}; !reflect.DeepEqual(tr.MemberIDs, want) {
		t.Errorf("back-channel members after RemoveMember = %v, want %v", tr.MemberIDs, want)
	}
	if n := talksOf(f.northE); n != 0 {
		t.Errorf("FindTalks(removed member's user) = %d talks, want 0", n)
	}
	evs := events(t, s, f.talk.ID)[before:]
	var p talks.MemberRemoved
	var r talks.InvitationRevoked
	if len(evs) != 2 || evs[0].Type != talks.EventMemberRemoved || evs[0].TrackID != 0 || evs[1].Type != talks.EventInvitationRevoked {
		t.Errorf("RemoveMember appended %d events (%v), want member.removed then invitation.revoked", len(evs), evs)
	} else if err := json.Unmarshal(evs[0].Payload, &p); err != nil || p.MemberID != f.mNorthE.ID {
		t.Errorf("member.removed payload %s (%v), want member %d", evs[0].Payload, err, f.mNorthE.ID)
	} else if err := json.Unmarshal(evs[1].Payload, &r); err != nil || r.InvitationID != mine.ID {
		t.Errorf("invitation.revoked payload %s (%v), want invitation %d", evs[1].Payload, err, mine.ID)
	}
	for _, c := range []struct {
		inv     *talks.Invitation
		revoked bool
	}{{mine, true}, {theirs, false}} {
		got, err := s.FindInvitationByID(ctx, c.inv.ID)
		must(t, "FindInvitationByID", err)
		if got.RevokedAt.IsZero() == c.revoked {
			t.Errorf("invitation %d revoked after RemoveMember: %v, want %v", c.inv.ID, !got.RevokedAt.IsZero(), c.revoked)
		}
	}
	st := stamp(f.southE.ID, 601)
	st.View = &talks.ViewCheck{Head: before}
	if err := s.PostMessage(ctx, &talks.Message{TrackID: f.official.ID, AuthorID: f.mSouthE.ID, Body: "stale"}, st); !errors.Is(err, talks.ErrStaleView) {
		t.Errorf("PostMessage(view before the removal) = %v, want ErrStaleView", err)
	}

	facilitator := facilitatorOf(t, s, f.talk.ID)
	h := head()
	wantCode(t, "RemoveMember(twice)", s.RemoveMember(ctx, f.talk.ID, f.mNorthE.ID, stamp(1, 602)), talks.ENOTFOUND)
	wantCode(t, "RemoveMember(unknown)", s.RemoveMember(ctx, f.talk.ID, 9999, stamp(1, 602)), talks.ENOTFOUND)
	wantCode(t, "RemoveMember(facilitator)", s.RemoveMember(ctx, f.talk.ID, facilitator.ID, stamp(1, 602)), talks.EINVALID)
	if err := s.RemoveMember(ctx, f.talk.ID, f.mNorthP.ID, stamp(1, 602)); !errors.Is(err, talks.ErrLastPrincipal) {
		t.Errorf("RemoveMember(last principal) = %v, want ErrLastPrincipal", err)
	}
	wantCode(t, "AddTrackMember(removed)", s.AddTrackMember(ctx, f.back.ID, f.mNorthE.ID, stamp(1, 602)), talks.EINVALID)
	wantCode(t, "CreateTrack(with a removed member)", s.CreateTrack(ctx, &talks.Track{TalkID: f.talk.ID, Name: "x", Kind: talks.TrackBackchannel,
		MemberIDs: []int64{f.mSouthE.ID, f.mNorthE.ID}}, stamp(1, 602)), talks.EINVALID)
	wantCode(t, "ChangeMemberRole(removed)", s.ChangeMemberRole(ctx, f.talk.ID, f.mNorthE.ID, talks.RoleAdvisor, stamp(1, 602)), talks.ENOTFOUND)
	if got := head(); got != h {
		t.Errorf("TalkHead after refused calls = %d, want %d", got, h)
	}

	// Added again, to another party: the same member.
	again := &talks.Member{TalkID: f.talk.ID, UserID: f.northE.ID, PartyID: f.south.ID, Role: talks.RoleObserver}
	must(t, "AddMember(again)", s.AddMember(ctx, again, stamp(f.convener.ID, 603)))
	if again.ID != f.mNorthE.ID {
		t.Errorf("AddMember(again) gave member %d, want %d", again.ID, f.mNorthE.ID)
	}
	if m := member(again.ID); m.Removed || m.PartyID != f.south.ID || m.Role != talks.RoleObserver {
		t.Errorf("member added again = %+v, want a Southland observer", m)
	}
	if n := talksOf(f.northE); n != 1 {
		t.Errorf("FindTalks(member added again) = %d talks, want 1", n)
	}
	wantCode(t, "AddMember(a member)", s.AddMember(ctx, &talks.Member{TalkID: f.talk.ID, UserID: f.northE.ID, PartyID: f.north.ID, Role: talks.RoleEnvoy}, stamp(1, 604)), talks.ECONFLICT)

	// Removed again, and back by an invitation.
	must(t, "RemoveMember(again)", s.RemoveMember(ctx, f.talk.ID, again.ID, stamp(f.convener.ID, 605)))
	inv, _ := newInvitation(t, s, f, f.north, talks.RoleEnvoy, 606, time.Hour)
	m, err := s.AcceptInvitation(ctx, inv.ID, f.northE.ID, stamp(f.northE.ID, 607))
	must(t, "AcceptInvitation(removed member)", err)
	if m.ID != f.mNorthE.ID || member(m.ID).Removed || member(m.ID).Role != talks.RoleEnvoy {
		t.Errorf("AcceptInvitation(removed member) = %+v, want member %d, an envoy again", m, f.mNorthE.ID)
	}
	inv2, _ := newInvitation(t, s, f, f.north, talks.RoleEnvoy, 608, time.Hour)
	_, err = s.AcceptInvitation(ctx, inv2.ID, f.northE.ID, stamp(f.northE.ID, 609))
	if !errors.Is(err, talks.ErrAlreadyMember) {
		t.Errorf("AcceptInvitation(a member) = %v, want ErrAlreadyMember", err)
	}
	checkProjection(t, s, f.talk.ID)
}

// testSoleMemberRemoved checks that a back-channel whose only member is
// taken off the talk passes to the principals of its party, who saw it
// through that member: each is put on it, with its track.member_added
// naming that member, after member.removed; a back-channel with other members is left to
// them.
func testSoleMemberRemoved(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	add := func(name string, r talks.Role, i int) *talks.Member {
		m := &talks.Member{TalkID: f.talk.ID, UserID: newUser(t, s, name).ID, PartyID: f.north.ID, Role: r}
		must(t, "AddMember", s.AddMember(ctx, m, stamp(f.convener.ID, i)))
		return m
	}
	adviser, second := add("north-adviser", talks.RoleAdvisor, 620), add("north-principal-2", talks.RolePrincipal, 621)
	track := func(name string, i int, members ...int64) *talks.Track {
		tr := &talks.Track{TalkID: f.talk.ID, Name: name, Kind: talks.TrackBackchannel, MemberIDs: members}
		must(t, "CreateTrack", s.CreateTrack(ctx, tr, stamp(f.convener.ID, i)))
		return tr
	}
	alone, shared, secondAlone := track("North only", 622, adviser.ID), track("Shared", 623, adviser.ID, f.mSouthE.ID), track("Second's", 624, second.ID)
	membersOf := func(tr *talks.Track) []int64 {
		t.Helper()
		got, err := s.FindTrackByID(ctx, tr.ID)
		must(t, "FindTrackByID", err)
		return got.MemberIDs
	}
	removed := func(m *talks.Member, i int, want ...*talks.Event) {
		t.Helper()
		before := talkHead(t, s, f.talk.ID)
		must(t, "RemoveMember", s.RemoveMember(ctx, f.talk.ID, m.ID, stamp(f.northP.ID, i)))
		evs := events(t, s, f.talk.ID)[before:]
		if len(evs) != len(want) {
			t.Fatalf("RemoveMember appended %d events (%v), want %d", len(evs), evs, len(want))
		}
		for j, e := range evs {
			if e.Type != want[j].Type || e.TrackID != want[j].TrackID || string(e.Payload) != string(want[j].Payload) {
				t.Errorf("event %d of RemoveMember = %s on track %d %s, want %s on track %d %s",
					j, e.Type, e.TrackID, e.Payload, want[j].Type, want[j].TrackID, want[j].Payload)
			}
		}
	}
	event := func(typ string, track int64, payload any) *talks.Event {
		b, err := json.Marshal(payload)
		must(t, "Marshal", err)
		return &talks.Event{Type: typ, TrackID: track, Payload: b}
	}

	removed(adviser, 625,
		event(talks.EventMemberRemoved, 0, talks.MemberRemoved{MemberID: adviser.ID}),
		event(talks.EventTrackMemberAdded, alone.ID, talks.TrackMemberAdded{MemberID: f.mNorthP.ID, From: adviser.ID}),
		event(talks.EventTrackMemberAdded, alone.ID, talks.TrackMemberAdded{MemberID: second.ID, From: adviser.ID}))
	if got, want := membersOf(alone), []int64{f.mNorthP.ID, second.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("members of the back-channel the adviser was alone on = %v, want its principals %v", got, want)
	}
	if got, want := membersOf(shared), []int64{f.mSouthE.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("members of the shared back-channel = %v, want %v", got, want)
	}

	// A principal alone on one: it passes to the principals that remain.
	removed(second, 626,
		event(talks.EventMemberRemoved, 0, talks.MemberRemoved{MemberID: second.ID}),
		event(talks.EventTrackMemberAdded, secondAlone.ID, talks.TrackMemberAdded{MemberID: f.mNorthP.ID, From: second.ID}))
	if got, want := membersOf(secondAlone), []int64{f.mNorthP.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("members of the back-channel the second principal was alone on = %v, want %v", got, want)
	}
	if got, want := membersOf(alone), []int64{f.mNorthP.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("members of the North-only back-channel = %v, want %v", got, want)
	}

	// A member alone on a back-channel whose party has no principal to
	// keep it: the removal is refused, as the last member's leaving the
	// track is, and writes nothing. Once the party has a principal, it
	// goes through, and the principal keeps the back-channel.
	east := &talks.Party{TalkID: f.talk.ID, Name: "Eastland"}
	must(t, "AddParty", s.AddParty(ctx, east, stamp(f.convener.ID, 627)))
	envoy := &talks.Member{TalkID: f.talk.ID, UserID: newUser(t, s, "east-envoy").ID, PartyID: east.ID, Role: talks.RoleEnvoy}
	must(t, "AddMember", s.AddMember(ctx, envoy, stamp(f.convener.ID, 628)))
	eastAlone := track("East only", 629, envoy.ID)
	before := talkHead(t, s, f.talk.ID)
	err := s.RemoveMember(ctx, f.talk.ID, envoy.ID, stamp(f.convener.ID, 630))
	wantCode(t, "RemoveMember (no principal to keep its back-channel)", err, talks.ECONFLICT)
	if after := talkHead(t, s, f.talk.ID); after != before {
		t.Errorf("the refused removal appended %d events", after-before)
	}
	if got, want := membersOf(eastAlone), []int64{envoy.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("members of the East-only back-channel after the refusal = %v, want %v", got, want)
	}
	if m, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: f.talk.ID}); err != nil || !slices.ContainsFunc(m, func(m *talks.Member) bool { return m.ID == envoy.ID && !m.Removed }) {
		t.Errorf("the envoy is not a member after the refused removal (%v)", err)
	}
	principal := &talks.Member{TalkID: f.talk.ID, UserID: newUser(t, s, "east-principal").ID, PartyID: east.ID, Role: talks.RolePrincipal}
	must(t, "AddMember", s.AddMember(ctx, principal, stamp(f.convener.ID, 631)))
	removed(envoy, 632,
		event(talks.EventMemberRemoved, 0, talks.MemberRemoved{MemberID: envoy.ID}),
		event(talks.EventTrackMemberAdded, eastAlone.ID, talks.TrackMemberAdded{MemberID: principal.ID, From: envoy.ID}))
	checkProjection(t, s, f.talk.ID)
}
