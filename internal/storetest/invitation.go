package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// newInvitation stores an invitation to party p (nil: as facilitator)
// with role r, made by the convener at second i, that expires ttl later.
func newInvitation(t *testing.T, s talks.Store, f *fixture, p *talks.Party, r talks.Role, i int, ttl time.Duration) (*talks.Invitation, []byte) {
	t.Helper()
	hash := talks.HashToken("bci_test_" + string(r) + time.Duration(i).String())
	inv := &talks.Invitation{TalkID: f.talk.ID, Role: r, TokenHash: hash, ExpiresAt: stamp(0, i).Time.Add(ttl)}
	if p != nil {
		inv.PartyID = p.ID
	}
	must(t, "CreateInvitation", s.CreateInvitation(context.Background(), inv, stamp(f.convener.ID, i)))
	return inv, hash
}

// checkInvitations compares a talk's invitations with the fold of its
// events.
func checkInvitations(t *testing.T, s talks.Store, talkID int64, want *talks.State) {
	t.Helper()
	got, err := s.FindInvitations(context.Background(), talks.InvitationFilter{TalkID: talkID})
	must(t, "FindInvitations", err)
	if !reflect.DeepEqual(got, want.Invitations) {
		t.Errorf("invitations projection = %v, fold of events = %v", got, want.Invitations)
	}
}

func testInvitations(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	inv, hash := newInvitation(t, s, f, f.north, talks.RoleAdvisor, 100, time.Hour)
	if inv.ID == 0 || inv.CreatedBy != f.convener.ID || !inv.CreatedAt.Equal(talks.Timestamp(stamp(0, 100).Time)) {
		t.Fatalf("CreateInvitation set %+v", inv)
	}
	want := *inv
	want.TokenHash = nil
	for _, find := range []func() (*talks.Invitation, error){
		func() (*talks.Invitation, error) { return s.FindInvitationByID(ctx, inv.ID) },
		func() (*talks.Invitation, error) { return s.FindInvitationByTokenHash(ctx, hash) },
	} {
		got, err := find()
		must(t, "FindInvitation", err)
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("FindInvitation() = %+v, want %+v", got, &want)
		}
	}
	_, err := s.FindInvitationByID(ctx, inv.ID+100)
	wantCode(t, "FindInvitationByID(unknown)", err, talks.ENOTFOUND)
	_, err = s.FindInvitationByTokenHash(ctx, talks.HashToken("bci_nope"))
	wantCode(t, "FindInvitationByTokenHash(unknown)", err, talks.ENOTFOUND)
	wantCode(t, "CreateInvitation(same hash)", s.CreateInvitation(ctx, &talks.Invitation{TalkID: f.talk.ID, Role: talks.RoleObserver,
		PartyID: f.south.ID, TokenHash: hash, ExpiresAt: stamp(0, 200).Time}, stamp(f.convener.ID, 101)), talks.ECONFLICT)
	wantCode(t, "CreateInvitation(unknown talk)", s.CreateInvitation(ctx, &talks.Invitation{TalkID: f.talk.ID + 100, Role: talks.RoleFacilitator,
		TokenHash: talks.HashToken("x"), ExpiresAt: stamp(0, 200).Time}, stamp(f.convener.ID, 101)), talks.ENOTFOUND)

	fac, _ := newInvitation(t, s, f, nil, talks.RoleFacilitator, 102, time.Hour)
	u := newUser(t, s, "invitee")
	m, err := s.AcceptInvitation(ctx, inv.ID, u.ID, stamp(u.ID, 103))
	must(t, "AcceptInvitation", err)
	if m.ID == 0 || m.TalkID != f.talk.ID || m.UserID != u.ID || m.PartyID != f.north.ID || m.Role != talks.RoleAdvisor {
		t.Errorf("AcceptInvitation() = %+v", m)
	}
	got, err := s.FindMemberByID(ctx, m.ID)
	must(t, "FindMemberByID", err)
	if !reflect.DeepEqual(got, m) {
		t.Errorf("FindMemberByID() = %+v, want %+v", got, m)
	}
	acc, err := s.FindInvitationByID(ctx, inv.ID)
	must(t, "FindInvitationByID", err)
	if acc.AcceptedBy != u.ID || acc.MemberID != m.ID || !acc.AcceptedAt.Equal(talks.Timestamp(stamp(0, 103).Time)) {
		t.Errorf("accepted invitation = %+v", acc)
	}
	// Single use; the user is already a member; the convener too.
	_, err = s.AcceptInvitation(ctx, inv.ID, f.southE.ID, stamp(f.southE.ID, 104))
	wantCode(t, "AcceptInvitation(used)", err, talks.ECONFLICT)
	_, err = s.AcceptInvitation(ctx, fac.ID, f.southE.ID, stamp(f.southE.ID, 105))
	wantCode(t, "AcceptInvitation(already a member)", err, talks.ECONFLICT)
	_, err = s.AcceptInvitation(ctx, fac.ID+100, u.ID, stamp(u.ID, 105))
	wantCode(t, "AcceptInvitation(unknown)", err, talks.ENOTFOUND)
	wantCode(t, "RevokeInvitation(accepted)", s.RevokeInvitation(ctx, inv.ID, stamp(f.convener.ID, 106)), talks.ECONFLICT)
	wantCode(t, "RevokeInvitation(unknown)", s.RevokeInvitation(ctx, fac.ID+100, stamp(f.convener.ID, 106)), talks.ENOTFOUND)

	// A facilitator invitation makes a facilitator without a party.
	v := newUser(t, s, "mediator")
	m2, err := s.AcceptInvitation(ctx, fac.ID, v.ID, stamp(v.ID, 107))
	must(t, "AcceptInvitation(facilitator)", err)
	if m2.PartyID != 0 || m2.Role != talks.RoleFacilitator {
		t.Errorf("AcceptInvitation(facilitator) = %+v", m2)
	}

	// No event carries a token hash.
	evs := events(t, s, f.talk.ID)
	for _, e := range evs {
		if bytes.Contains(e.Payload, hash) || bytes.Contains(e.Payload, mustJSON(t, hash)) {
			t.Errorf("event %d (%s) carries the token hash: %s", e.ID, e.Type, e.Payload)
		}
	}
	last := evs[len(evs)-2:]
	if last[0].Type != talks.EventMemberAdded || last[1].Type != talks.EventInvitationAccepted || last[1].ActorID != v.ID {
		t.Errorf("AcceptInvitation appended %s, %s; want member.added, invitation.accepted", last[0].Type, last[1].Type)
	}
	checkProjection(t, s, f.talk.ID)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, "json.Marshal", err)
	return bytes.Trim(b, `"`)
}

func testInvitationExpiry(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	inv, _ := newInvitation(t, s, f, f.south, talks.RoleObserver, 100, time.Minute)
	u := newUser(t, s, "late")
	before := events(t, s, f.talk.ID)
	_, err := s.AcceptInvitation(ctx, inv.ID, u.ID, talks.Stamp{ActorID: u.ID, Time: inv.ExpiresAt})
	wantCode(t, "AcceptInvitation(at expiry)", err, talks.EINVALID)
	_, err = s.AcceptInvitation(ctx, inv.ID, u.ID, talks.Stamp{ActorID: u.ID, Time: inv.ExpiresAt.Add(time.Hour)})
	wantCode(t, "AcceptInvitation(after expiry)", err, talks.EINVALID)
	if after := events(t, s, f.talk.ID); len(after) != len(before) {
		t.Errorf("a failed accept appended %d events", len(after)-len(before))
	}
	ms, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: f.talk.ID, UserID: u.ID})
	must(t, "FindMembers", err)
	if len(ms) != 0 {
		t.Errorf("an expired invitation made %v", ms)
	}
	_, err = s.AcceptInvitation(ctx, inv.ID, u.ID, talks.Stamp{ActorID: u.ID, Time: inv.ExpiresAt.Add(-time.Microsecond)})
	must(t, "AcceptInvitation(just before expiry)", err)
	checkProjection(t, s, f.talk.ID)
}

func testInvitationRevocation(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	inv, _ := newInvitation(t, s, f, f.north, talks.RoleEnvoy, 100, time.Hour)
	must(t, "RevokeInvitation", s.RevokeInvitation(ctx, inv.ID, stamp(f.northP.ID, 101)))
	got, err := s.FindInvitationByID(ctx, inv.ID)
	must(t, "FindInvitationByID", err)
	if !got.RevokedAt.Equal(talks.Timestamp(stamp(0, 101).Time)) {
		t.Errorf("revoked invitation = %+v", got)
	}
	wantCode(t, "RevokeInvitation(again)", s.RevokeInvitation(ctx, inv.ID, stamp(f.northP.ID, 102)), talks.ECONFLICT)
	u := newUser(t, s, "too-late")
	_, err = s.AcceptInvitation(ctx, inv.ID, u.ID, stamp(u.ID, 103))
	wantCode(t, "AcceptInvitation(revoked)", err, talks.ECONFLICT)
	if talks.ErrorMessage(err) != talks.ErrorMessage(talks.ErrInvitationRevoked) {
		t.Errorf("AcceptInvitation(revoked) = %q, want %q", talks.ErrorMessage(err), talks.ErrorMessage(talks.ErrInvitationRevoked))
	}
	checkProjection(t, s, f.talk.ID)
}

// testConcurrentAccepts checks that an invitation is used once however
// many accept it at the same time: exactly one becomes a member.
func testConcurrentAccepts(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	inv, _ := newInvitation(t, s, f, f.south, talks.RoleAdvisor, 100, time.Hour)
	const n = 8
	users := make([]*talks.User, n)
	for i := range users {
		users[i] = newUser(t, s, "racer"+string(rune('a'+i)))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, u := range users {
		wg.Go(func() {
			_, errs[i] = s.AcceptInvitation(ctx, inv.ID, u.ID, stamp(u.ID, 101+i))
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
		} else if talks.ErrorCode(err) != talks.ECONFLICT {
			t.Errorf("accept %d: %v, want ECONFLICT or success", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent accepts succeeded, want 1", wins)
	}
	ms, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: f.talk.ID})
	must(t, "FindMembers", err)
	joined := 0
	for _, m := range ms {
		for _, u := range users {
			if m.UserID == u.ID {
				joined++
			}
		}
	}
	if joined != 1 {
		t.Errorf("%d racers became members, want 1", joined)
	}
	if err := talks.VerifyChain(events(t, s, f.talk.ID)); err != nil {
		t.Error(err)
	}
	checkProjection(t, s, f.talk.ID)
}

// testInvitationNewUser checks AcceptInvitationAsNewUser: the user, the
// member and the events in one transaction, and nothing at all when the
// invitation cannot be accepted or the email is taken.
func testInvitationNewUser(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	inv, _ := newInvitation(t, s, f, f.south, talks.RoleAdvisor, 100, time.Hour)
	revoked, _ := newInvitation(t, s, f, f.north, talks.RoleObserver, 101, time.Hour)
	must(t, "RevokeInvitation", s.RevokeInvitation(ctx, revoked.ID, stamp(f.convener.ID, 102)))
	newcomer := func(email string) *talks.User {
		return &talks.User{Name: "Newcomer", Email: email, PasswordHash: "$argon2id$x", CreatedAt: t0}
	}
	head := func() int64 {
		h, err := s.TalkHead(ctx, f.talk.ID)
		must(t, "TalkHead", err)
		return h
	}
	before := head()
	for _, tc := range []struct {
		name  string
		id    int64
		email string
		at    int
		want  *talks.Error
	}{
		{"email taken", inv.ID, f.northE.Email, 103, talks.ErrEmailTaken},
		{"revoked", revoked.ID, "new@example.org", 103, talks.ErrInvitationRevoked},
		{"revoked and email taken", revoked.ID, f.northE.Email, 103, talks.ErrInvitationRevoked},
		{"expired", inv.ID, "new@example.org", 100 + 3600, talks.ErrInvitationExpired},
	} {
		u := newcomer(tc.email)
		_, err := s.AcceptInvitationAsNewUser(ctx, tc.id, u, stamp(0, tc.at))
		if talks.ErrorCode(err) != tc.want.Code || talks.ErrorMessage(err) != tc.want.Message || u.ID != 0 {
			t.Errorf("AcceptInvitationAsNewUser(%s) = %v, user ID %d; want %v and none", tc.name, err, u.ID, tc.want)
		}
	}
	_, err := s.AcceptInvitationAsNewUser(ctx, inv.ID+1000, newcomer("new@example.org"), stamp(0, 103))
	wantCode(t, "AcceptInvitationAsNewUser(unknown)", err, talks.ENOTFOUND)
	if _, err := s.FindUserByEmail(ctx, "new@example.org"); talks.ErrorCode(err) != talks.ENOTFOUND {
		t.Fatalf("a failed AcceptInvitationAsNewUser left a user: %v", err)
	}
	if h := head(); h != before {
		t.Fatalf("failed AcceptInvitationAsNewUser appended %d events", h-before)
	}

	u := newcomer("new@example.org")
	m, err := s.AcceptInvitationAsNewUser(ctx, inv.ID, u, stamp(0, 104))
	must(t, "AcceptInvitationAsNewUser", err)
	if u.ID == 0 || m.UserID != u.ID || m.TalkID != f.talk.ID || m.PartyID != f.south.ID || m.Role != talks.RoleAdvisor {
		t.Errorf("AcceptInvitationAsNewUser() = %+v, user %+v", m, u)
	}
	got, err := s.FindUserByEmail(ctx, "new@example.org")
	must(t, "FindUserByEmail", err)
	if got.ID != u.ID || got.PasswordHash != u.PasswordHash || got.Admin {
		t.Errorf("stored user = %+v, want %+v", got, u)
	}
	evs := events(t, s, f.talk.ID)
	last := evs[len(evs)-2:]
	if last[0].Type != talks.EventMemberAdded || last[1].Type != talks.EventInvitationAccepted || last[0].ActorID != u.ID || last[1].ActorID != u.ID {
		t.Errorf("appended %s by %d, %s by %d; want member.added and invitation.accepted by the new user",
			last[0].Type, last[0].ActorID, last[1].Type, last[1].ActorID)
	}
	_, err = s.AcceptInvitationAsNewUser(ctx, inv.ID, newcomer("other@example.org"), stamp(0, 105))
	wantCode(t, "AcceptInvitationAsNewUser(used)", err, talks.ECONFLICT)
	checkProjection(t, s, f.talk.ID)
}
