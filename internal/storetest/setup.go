package storetest

import (
	"context"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// NewTalk creates the user ada and a talk "T" that she convenes in s. It
// is set-up for the stores' own tests.
func NewTalk(t *testing.T, s talks.Store) (*talks.User, *talks.Talk) {
	t.Helper()
	ctx := context.Background()
	u := &talks.User{Name: "ada", Email: "ada@example.org"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk := &talks.Talk{Title: "T", ConvenerID: u.ID}
	if err := s.CreateTalk(ctx, tk, talks.Stamp{ActorID: u.ID}); err != nil {
		t.Fatal(err)
	}
	return u, tk
}

// TracksAndMembers returns the tracks and the members of talk talkID in s.
func TracksAndMembers(t *testing.T, s talks.Store, talkID int64) ([]*talks.Track, []*talks.Member) {
	t.Helper()
	ctx := context.Background()
	tracks, err := s.FindTracks(ctx, talks.TrackFilter{TalkID: talkID})
	if err != nil {
		t.Fatal(err)
	}
	members, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: talkID})
	if err != nil {
		t.Fatal(err)
	}
	return tracks, members
}
