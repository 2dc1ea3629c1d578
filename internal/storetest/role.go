package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// testMemberRoles checks ChangeMemberRole: the member's role changes and
// the log says so, refused changes write nothing, a party keeps a
// principal, a principal that steps down has the invitations it made
// revoked, and a view taken before a change is stale.
func testMemberRoles(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	head := func() int64 { return talkHead(t, s, f.talk.ID) }
	role := func(m *talks.Member) talks.Role {
		t.Helper()
		got, err := s.FindMemberByID(ctx, m.ID)
		must(t, "FindMemberByID", err)
		return got.Role
	}

	before := head()
	must(t, "ChangeMemberRole", s.ChangeMemberRole(ctx, f.talk.ID, f.mNorthE.ID, talks.RoleAdvisor, stamp(f.northP.ID, 500)))
	if got := role(f.mNorthE); got != talks.RoleAdvisor {
		t.Errorf("role after ChangeMemberRole = %s, want advisor", got)
	}
	last := lastEvent(t, s, f.talk.ID)
	var p talks.MemberRoleChanged
	if last.ID != before+1 || last.Type != talks.EventMemberRoleChanged || last.TrackID != 0 || last.ActorID != f.northP.ID {
		t.Errorf("last event = %d %s on track %d by %d, want %d %s talk-wide by %d",
			last.ID, last.Type, last.TrackID, last.ActorID, before+1, talks.EventMemberRoleChanged, f.northP.ID)
	} else if err := json.Unmarshal(last.Payload, &p); err != nil || p != (talks.MemberRoleChanged{MemberID: f.mNorthE.ID, Role: talks.RoleAdvisor}) {
		t.Errorf("member.role_changed payload %s (%v), want member %d advisor", last.Payload, err, f.mNorthE.ID)
	}

	// A view from before the change decides nothing any more.
	st := stamp(f.southE.ID, 501)
	st.View = &talks.ViewCheck{Head: before}
	if err := s.PostMessage(ctx, &talks.Message{TrackID: f.official.ID, AuthorID: f.mSouthE.ID, Body: "stale"}, st); !errors.Is(err, talks.ErrStaleView) {
		t.Errorf("PostMessage(view before the change) = %v, want ErrStaleView", err)
	}

	facilitator := facilitatorOf(t, s, f.talk.ID)
	elsewhere := &talks.Talk{Title: "Elsewhere", Space: f.talk.Space, ConvenerID: f.convener.ID}
	must(t, "CreateTalk", s.CreateTalk(ctx, elsewhere, stamp(f.convener.ID, 502)))
	others, err := s.FindMembers(ctx, talks.MemberFilter{TalkID: elsewhere.ID})
	must(t, "FindMembers", err)
	h := head()
	for _, c := range []struct {
		what   string
		talkID int64
		member int64
		role   talks.Role
		code   string
	}{
		{"the same role", f.talk.ID, f.mNorthE.ID, talks.RoleAdvisor, talks.ECONFLICT},
		{"a facilitator", f.talk.ID, facilitator.ID, talks.RoleEnvoy, talks.EINVALID},
		{"to facilitator", f.talk.ID, f.mNorthE.ID, talks.RoleFacilitator, talks.EINVALID},
		{"to an unknown role", f.talk.ID, f.mNorthE.ID, "king", talks.EINVALID},
		{"an unknown member", f.talk.ID, 9999, talks.RoleEnvoy, talks.ENOTFOUND},
		{"a member of another talk", f.talk.ID, others[0].ID, talks.RoleAdvisor, talks.ENOTFOUND},
		{"the party's last principal", f.talk.ID, f.mNorthP.ID, talks.RoleEnvoy, talks.ECONFLICT},
	} {
		wantCode(t, "ChangeMemberRole("+c.what+")", s.ChangeMemberRole(ctx, c.talkID, c.member, c.role, stamp(1, 502)), c.code)
	}
	if got := head(); got != h {
		t.Errorf("TalkHead after refused changes = %d, want %d", got, h)
	}
	if got := role(f.mNorthP); got != talks.RolePrincipal {
		t.Errorf("the last principal's role after a refused change = %s", got)
	}

	// With a second principal, the first may step down. The invitations
	// it made as principal are revoked with it; the others' stand.
	must(t, "ChangeMemberRole(second principal)", s.ChangeMemberRole(ctx, f.talk.ID, f.mNorthE.ID, talks.RolePrincipal, stamp(f.northP.ID, 503)))
	invite := func(by *talks.User, token string) *talks.Invitation {
		inv := &talks.Invitation{TalkID: f.talk.ID, PartyID: f.north.ID, Role: talks.RoleAdvisor, TokenHash: talks.HashToken(token), ExpiresAt: t0.Add(time.Hour)}
		must(t, "CreateInvitation", s.CreateInvitation(ctx, inv, stamp(by.ID, 503)))
		return inv
	}
	firsts, seconds, conveners := invite(f.northP, "bci_np"), invite(f.northE, "bci_ne"), invite(f.convener, "bci_conv")
	before = head()
	must(t, "ChangeMemberRole(first steps down)", s.ChangeMemberRole(ctx, f.talk.ID, f.mNorthP.ID, talks.RoleObserver, stamp(f.northP.ID, 504)))
	if got := role(f.mNorthP); got != talks.RoleObserver {
		t.Errorf("role after stepping down = %s, want observer", got)
	}
	evs := events(t, s, f.talk.ID)[before:]
	var r talks.InvitationRevoked
	if len(evs) != 2 || evs[0].Type != talks.EventMemberRoleChanged || evs[1].Type != talks.EventInvitationRevoked {
		t.Errorf("stepping down appended %d events (%v), want member.role_changed then invitation.revoked", len(evs), evs)
	} else if err := json.Unmarshal(evs[1].Payload, &r); err != nil || r.InvitationID != firsts.ID {
		t.Errorf("invitation.revoked payload %s (%v), want invitation %d", evs[1].Payload, err, firsts.ID)
	}
	for _, c := range []struct {
		inv     *talks.Invitation
		revoked bool
	}{{firsts, true}, {seconds, false}, {conveners, false}} {
		got, err := s.FindInvitationByID(ctx, c.inv.ID)
		must(t, "FindInvitationByID", err)
		if got.RevokedAt.IsZero() == c.revoked {
			t.Errorf("invitation %d revoked after the first principal stepped down: %v, want %v", c.inv.ID, !got.RevokedAt.IsZero(), c.revoked)
		}
	}

	// Two principals step down at once: one of them stays.
	must(t, "ChangeMemberRole(back to principal)", s.ChangeMemberRole(ctx, f.talk.ID, f.mNorthP.ID, talks.RolePrincipal, stamp(f.northP.ID, 505)))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, m := range []*talks.Member{f.mNorthP, f.mNorthE} {
		wg.Go(func() { errs[i] = s.ChangeMemberRole(ctx, f.talk.ID, m.ID, talks.RoleEnvoy, stamp(m.UserID, 506)) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), talks.ErrLastPrincipal) {
		t.Errorf("two principals stepping down at once: %v; want one to succeed and one ErrLastPrincipal", errs)
	}
	checkProjection(t, s, f.talk.ID)
}
