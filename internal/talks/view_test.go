package talks_test

import (
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestCanSeeTrack checks the access rule alone, without a store. Parties 1
// (north) and 2 (south); member IDs: 1 facilitator, 2 north principal, 3
// north envoy, 4 north advisor, 5 south principal, 6 south envoy.
func TestCanSeeTrack(t *testing.T) {
	talk := &talks.Talk{ID: 1, ConvenerID: 100}
	members := []*talks.Member{
		{ID: 1, TalkID: 1, UserID: 100, Role: talks.RoleFacilitator},
		{ID: 2, TalkID: 1, UserID: 101, PartyID: 1, Role: talks.RolePrincipal},
		{ID: 3, TalkID: 1, UserID: 102, PartyID: 1, Role: talks.RoleEnvoy},
		{ID: 4, TalkID: 1, UserID: 103, PartyID: 1, Role: talks.RoleAdvisor},
		{ID: 5, TalkID: 1, UserID: 104, PartyID: 2, Role: talks.RolePrincipal},
		{ID: 6, TalkID: 1, UserID: 105, PartyID: 2, Role: talks.RoleEnvoy},
	}
	official := &talks.Track{ID: 10, TalkID: 1, Kind: talks.TrackOfficial}
	envoys := &talks.Track{ID: 11, TalkID: 1, Kind: talks.TrackBackchannel, MemberIDs: []int64{3, 6}}
	north := &talks.Track{ID: 12, TalkID: 1, Kind: talks.TrackBackchannel, MemberIDs: []int64{3}}
	other := &talks.Track{ID: 13, TalkID: 2, Kind: talks.TrackOfficial}
	tracks := []*talks.Track{official, envoys, north}
	tests := []struct {
		name   string
		member int64
		track  *talks.Track
		want   bool
	}{
		{"facilitator official", 1, official, true},
		{"facilitator off back-channel", 1, envoys, false},
		{"principal whose envoy is on it", 2, envoys, true},
		{"envoy on it", 3, envoys, true},
		{"advisor of a party on it", 4, envoys, false},
		{"other principal whose envoy is on it", 5, envoys, true},
		{"other principal, own party not on it", 5, north, false},
		{"other envoy, not on it", 6, north, false},
		{"another talk's track", 2, other, false},
		{"nil track", 2, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var me *talks.Member
			for _, m := range members {
				if m.ID == tt.member {
					me = m
				}
			}
			v := talks.NewView(&talks.User{ID: me.UserID}, talk, me, members, tracks)
			if got := v.CanSeeTrack(tt.track); got != tt.want {
				t.Errorf("member %d: CanSeeTrack(%v) = %v, want %v", tt.member, tt.track, got, tt.want)
			}
			if tt.track != nil && tt.track.TalkID == 1 {
				e := &talks.Event{TalkID: 1, TrackID: tt.track.ID}
				if got := v.CanSeeEvent(e); got != tt.want {
					t.Errorf("member %d: CanSeeEvent(track %d) = %v, want %v", tt.member, tt.track.ID, got, tt.want)
				}
			}
		})
	}
}
