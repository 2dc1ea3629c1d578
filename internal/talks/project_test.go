package talks_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

func TestProject(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	space := &outcome.Space{Name: "s", Issues: []outcome.Issue{outcome.NewDiscrete("line", "a", "b")}}
	var evs []*talks.Event
	var prev [32]byte
	add := func(track int64, typ string, p any) {
		e, err := talks.NewEvent(1, track, typ, talks.Stamp{ActorID: 9, Time: at.Add(time.Duration(len(evs)) * time.Minute)}, p)
		if err != nil {
			t.Fatal(err)
		}
		e.Seal(int64(len(evs)+1), prev)
		prev = e.Hash
		evs = append(evs, e)
	}
	title := "Renamed"
	agreed := talks.StatusAgreed
	add(0, talks.EventTalkCreated, talks.TalkCreated{Title: "T", Description: "D", Space: space, ConvenerID: 9})
	add(5, talks.EventTrackCreated, talks.TrackCreated{Name: "Official", Kind: talks.TrackOfficial})
	add(0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 3, UserID: 9, Role: talks.RoleFacilitator})
	add(0, talks.EventPartyAdded, talks.PartyAdded{PartyID: 2, Name: "North"})
	add(0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 4, UserID: 10, PartyID: 2, Role: talks.RoleEnvoy})
	add(6, talks.EventTrackCreated, talks.TrackCreated{Name: "Back", Kind: talks.TrackBackchannel, MemberIDs: []int64{4}})
	add(6, talks.EventTrackMemberAdded, talks.TrackMemberAdded{MemberID: 3})
	add(6, talks.EventMessagePosted, talks.MessagePosted{MessageID: 8, AuthorID: 4, Body: "hi"})
	add(6, talks.EventMessageRetracted, talks.MessageRetracted{MessageID: 8})
	add(0, talks.EventTalkUpdated, talks.TalkUpdated{Title: &title, Status: &agreed})

	got, err := talks.Project(evs)
	if err != nil {
		t.Fatal(err)
	}
	want := &talks.State{
		Talk:    &talks.Talk{ID: 1, Title: "Renamed", Description: "D", Space: space, Status: talks.StatusAgreed, ConvenerID: 9, CreatedAt: at},
		Parties: []*talks.Party{{ID: 2, TalkID: 1, Name: "North"}},
		Members: []*talks.Member{
			{ID: 3, TalkID: 1, UserID: 9, Role: talks.RoleFacilitator},
			{ID: 4, TalkID: 1, UserID: 10, PartyID: 2, Role: talks.RoleEnvoy},
		},
		Tracks: []*talks.Track{
			{ID: 5, TalkID: 1, Name: "Official", Kind: talks.TrackOfficial},
			{ID: 6, TalkID: 1, Name: "Back", Kind: talks.TrackBackchannel, MemberIDs: []int64{3, 4}},
		},
		Messages: []*talks.Message{{ID: 8, TrackID: 6, AuthorID: 4, Body: "hi", CreatedAt: at.Add(7 * time.Minute), Retracted: true}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Project() =\n%+v, want\n%+v", got, want)
	}

	bad := []struct {
		name   string
		events []*talks.Event
	}{
		{"before talk.created", evs[1:]},
		{"unknown type", append(evs[:1:1], &talks.Event{ID: 2, TalkID: 1, Type: "talk.exploded", Payload: []byte("{}")})},
		{"malformed payload", append(evs[:1:1], &talks.Event{ID: 2, TalkID: 1, Type: talks.EventPartyAdded, Payload: []byte("{")})},
		{"unknown track", append(evs[:1:1], evs[7])},
	}
	for _, tt := range bad {
		if _, err := talks.Project(tt.events); err == nil {
			t.Errorf("%s: Project() = nil error, want one", tt.name)
		}
	}
}

// TestProjectMembership folds the events that change membership: a role,
// a back-channel's members, a member taken off the talk and added again;
// and refuses what could not have happened.
func TestProjectMembership(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var prev [32]byte
	seal := func(evs []*talks.Event, track int64, typ string, p any) []*talks.Event {
		t.Helper()
		e, err := talks.NewEvent(1, track, typ, talks.Stamp{ActorID: 9, Time: at}, p)
		if err != nil {
			t.Fatal(err)
		}
		e.Seal(int64(len(evs)+1), prev)
		prev = e.Hash
		return append(evs, e)
	}
	var evs []*talks.Event
	evs = seal(evs, 0, talks.EventTalkCreated, talks.TalkCreated{Title: "T", ConvenerID: 9})
	evs = seal(evs, 0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 3, UserID: 9, Role: talks.RoleFacilitator})
	evs = seal(evs, 0, talks.EventPartyAdded, talks.PartyAdded{PartyID: 2, Name: "North"})
	evs = seal(evs, 0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 4, UserID: 10, PartyID: 2, Role: talks.RolePrincipal})
	evs = seal(evs, 0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 5, UserID: 11, PartyID: 2, Role: talks.RoleEnvoy})
	evs = seal(evs, 6, talks.EventTrackCreated, talks.TrackCreated{Name: "Back", Kind: talks.TrackBackchannel, MemberIDs: []int64{4, 5}})
	base := len(evs)
	evs = seal(evs, 0, talks.EventMemberRoleChanged, talks.MemberRoleChanged{MemberID: 5, Role: talks.RoleAdvisor})
	evs = seal(evs, 6, talks.EventTrackMemberRemoved, talks.TrackMemberRemoved{MemberID: 4})
	evs = seal(evs, 0, talks.EventMemberRemoved, talks.MemberRemoved{MemberID: 5})
	removed := len(evs)
	evs = seal(evs, 0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 5, UserID: 11, PartyID: 2, Role: talks.RoleObserver})

	got, err := talks.Project(evs)
	if err != nil {
		t.Fatal(err)
	}
	wantMembers := []*talks.Member{
		{ID: 3, TalkID: 1, UserID: 9, Role: talks.RoleFacilitator},
		{ID: 4, TalkID: 1, UserID: 10, PartyID: 2, Role: talks.RolePrincipal},
		{ID: 5, TalkID: 1, UserID: 11, PartyID: 2, Role: talks.RoleObserver},
	}
	if !reflect.DeepEqual(got.Members, wantMembers) {
		t.Errorf("Project() members = %+v, want %+v", got.Members, wantMembers)
	}
	if len(got.Tracks) != 1 || got.Tracks[0].MemberIDs != nil {
		t.Errorf("Project() tracks = %+v, want the back-channel with no one on it", got.Tracks)
	}
	gone, err := talks.Project(evs[:removed])
	if err != nil {
		t.Fatal(err)
	}
	if m := gone.Members[2]; !m.Removed || m.Role != talks.RoleAdvisor {
		t.Errorf("member 5 after member.removed = %+v, want a removed advisor", m)
	}

	upTo := func(n int) []*talks.Event { return evs[:n:n] }
	bad := []struct {
		name   string
		events []*talks.Event
	}{
		{"a role for an unknown member", seal(upTo(base), 0, talks.EventMemberRoleChanged, talks.MemberRoleChanged{MemberID: 99, Role: talks.RoleEnvoy})},
		{"a facilitator's role", seal(upTo(base), 0, talks.EventMemberRoleChanged, talks.MemberRoleChanged{MemberID: 3, Role: talks.RoleEnvoy})},
		{"the role facilitator", seal(upTo(base), 0, talks.EventMemberRoleChanged, talks.MemberRoleChanged{MemberID: 5, Role: talks.RoleFacilitator})},
		{"off a track it is not on", seal(upTo(base), 6, talks.EventTrackMemberRemoved, talks.TrackMemberRemoved{MemberID: 3})},
		{"off an unknown track", seal(upTo(base), 7, talks.EventTrackMemberRemoved, talks.TrackMemberRemoved{MemberID: 4})},
		{"removed twice", seal(upTo(removed), 0, talks.EventMemberRemoved, talks.MemberRemoved{MemberID: 5})},
		{"a removed member's role", seal(upTo(removed), 0, talks.EventMemberRoleChanged, talks.MemberRoleChanged{MemberID: 5, Role: talks.RoleEnvoy})},
		{"a removed member on a track", seal(upTo(removed), 6, talks.EventTrackMemberAdded, talks.TrackMemberAdded{MemberID: 5})},
		{"a removed member added as another user", seal(upTo(removed), 0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 5, UserID: 12, PartyID: 2, Role: talks.RoleEnvoy})},
		{"a member added twice", seal(upTo(base), 0, talks.EventMemberAdded, talks.MemberAdded{MemberID: 5, UserID: 11, PartyID: 2, Role: talks.RoleEnvoy})},
	}
	for _, tt := range bad {
		if _, err := talks.Project(tt.events); err == nil {
			t.Errorf("%s: Project() = nil error, want one", tt.name)
		}
	}
}
