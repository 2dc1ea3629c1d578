package talks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := talks.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want %q", what, err, got, code)
	}
}

// TestInvitationRules checks who may invite whom: the convener and
// facilitators to any party or as facilitator, a principal to its own
// party, anyone else of the talk EFORBIDDEN, and outsiders ENOTFOUND.
func TestInvitationRules(t *testing.T) {
	w := newWorld(t)
	inv := func(p *talks.Party, r talks.Role) *talks.Invitation {
		i := &talks.Invitation{TalkID: w.talk.ID, Role: r}
		if p != nil {
			i.PartyID = p.ID
		}
		return i
	}
	for _, tt := range []struct {
		user string
		inv  *talks.Invitation
		code string
	}{
		{"F", inv(w.north, talks.RoleEnvoy), ""},
		{"F", inv(w.south, talks.RolePrincipal), ""},
		{"F", inv(nil, talks.RoleFacilitator), ""},
		{"NP", inv(w.north, talks.RoleAdvisor), ""},
		{"NP", inv(w.south, talks.RoleAdvisor), talks.EFORBIDDEN},
		{"NP", inv(nil, talks.RoleFacilitator), talks.EFORBIDDEN},
		{"NE", inv(w.north, talks.RoleObserver), talks.EFORBIDDEN},
		{"NA", inv(w.north, talks.RoleObserver), talks.EFORBIDDEN},
		{"O", inv(w.north, talks.RoleObserver), talks.ENOTFOUND},
		{"", inv(w.north, talks.RoleObserver), talks.EUNAUTHORIZED},
		{"F", inv(w.north, talks.RoleFacilitator), talks.EINVALID},
		{"F", inv(nil, talks.RoleEnvoy), talks.EINVALID},
		{"F", inv(w.north, "king"), talks.EINVALID},
		{"F", &talks.Invitation{TalkID: w.talk.ID, Role: talks.RoleEnvoy, PartyID: w.north.ID + 100}, talks.EINVALID},
		{"F", &talks.Invitation{TalkID: w.talk.ID, Role: talks.RoleEnvoy, PartyID: w.north.ID, ExpiresAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}, talks.EINVALID},
		{"F", &talks.Invitation{TalkID: w.talk.ID, Role: talks.RoleEnvoy, PartyID: w.north.ID, ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, talks.EINVALID},
	} {
		got, err := w.svc.CreateInvitation(w.as(tt.user), tt.inv)
		wantCode(t, tt.user+" invites "+string(tt.inv.Role), err, tt.code)
		if err != nil {
			continue
		}
		if !strings.HasPrefix(got.Token, "bci_") || len(got.Token) != 4+43 || got.TokenHash != nil || got.ID == 0 {
			t.Errorf("CreateInvitation() = %+v, want a bci_ token shown once and no hash", got)
		}
		if d := got.ExpiresAt.Sub(got.CreatedAt); d != talks.DefaultInvitationTTL {
			t.Errorf("invitation lasts %v, want %v", d, talks.DefaultInvitationTTL)
		}
	}

	// Lists show what each may manage; no list carries a secret.
	for _, tt := range []struct {
		user string
		n    int
		code string
	}{{"F", 4, ""}, {"NP", 2, ""}, {"SP", 1, ""}, {"NE", 0, ""}, {"O", 0, talks.ENOTFOUND}} {
		got, err := w.svc.FindInvitations(w.as(tt.user), w.talk.ID)
		wantCode(t, "FindInvitations as "+tt.user, err, tt.code)
		if len(got) != tt.n {
			t.Errorf("FindInvitations as %s = %d invitations, want %d", tt.user, len(got), tt.n)
		}
		for _, inv := range got {
			if inv.Token != "" || inv.TokenHash != nil {
				t.Errorf("FindInvitations as %s carries a secret: %+v", tt.user, inv)
			}
		}
	}

	// The payload of invitation.created names what, not the secret.
	evs, err := w.svc.FindEvents(w.as("NA"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	n := 0
	for _, e := range evs {
		if e.Type == talks.EventInvitationCreated {
			n++
			if s := string(e.Payload); strings.Contains(s, "bci_") || strings.Contains(s, "hash") || !strings.Contains(s, `"expires_at"`) {
				t.Errorf("invitation.created payload %s", s)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d invitation.created events, want 4", n)
	}
}

func TestInvitationAccept(t *testing.T) {
	w := newWorld(t)
	newUser := func(name string) context.Context {
		u := &talks.User{Name: name, Email: name + "@example.org"}
		mustOK(t, "CreateUser", w.store.CreateUser(context.Background(), u))
		w.users[name] = u
		return w.as(name)
	}
	inv, err := w.svc.CreateInvitation(w.as("NP"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleObserver})
	mustOK(t, "CreateInvitation", err)

	_, err = w.svc.AcceptInvitation(context.Background(), inv.Token)
	wantCode(t, "AcceptInvitation(signed out)", err, talks.EUNAUTHORIZED)
	_, err = w.svc.AcceptInvitation(w.as("O"), inv.Token+"x")
	wantCode(t, "AcceptInvitation(bad token)", err, talks.ENOTFOUND)
	_, err = w.svc.AcceptInvitation(w.as("NE"), inv.Token)
	wantCode(t, "AcceptInvitation(already a member)", err, talks.ECONFLICT)

	m, err := w.svc.AcceptInvitation(w.as("O"), inv.Token)
	mustOK(t, "AcceptInvitation", err)
	if m.UserID != w.users["O"].ID || m.PartyID != w.north.ID || m.Role != talks.RoleObserver {
		t.Errorf("AcceptInvitation() = %+v", m)
	}
	if _, err := w.svc.FindTalkByID(w.as("O"), w.talk.ID); err != nil {
		t.Errorf("the new member cannot see the talk: %v", err)
	}
	_, err = w.svc.AcceptInvitation(newUser("second"), inv.Token)
	wantCode(t, "AcceptInvitation(used)", err, talks.ECONFLICT)
	if msg := talks.ErrorMessage(err); !strings.Contains(msg, "already been used") {
		t.Errorf("AcceptInvitation(used) says %q", msg)
	}
	evs, err := w.svc.FindEvents(w.as("F"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	last := evs[len(evs)-2:]
	if last[0].Type != talks.EventMemberAdded || last[1].Type != talks.EventInvitationAccepted {
		t.Errorf("accept appended %s, %s", last[0].Type, last[1].Type)
	}

	// Expiry: a service whose clock is past the expiry refuses.
	exp, err := w.svc.CreateInvitation(w.as("F"), &talks.Invitation{TalkID: w.talk.ID, Role: talks.RoleFacilitator})
	mustOK(t, "CreateInvitation", err)
	later := talks.NewService(w.store, talks.ClockFunc(func() time.Time { return exp.ExpiresAt.Add(time.Second) }))
	_, err = later.AcceptInvitation(newUser("late"), exp.Token)
	wantCode(t, "AcceptInvitation(expired)", err, talks.EINVALID)
	if msg := talks.ErrorMessage(err); !strings.Contains(msg, "expired") {
		t.Errorf("AcceptInvitation(expired) says %q", msg)
	}

	// Revocation: by those who may invite so; others are told it does not
	// exist.
	rev, err := w.svc.CreateInvitation(w.as("F"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleEnvoy})
	mustOK(t, "CreateInvitation", err)
	for _, u := range []string{"O", "NE", "SP"} {
		wantCode(t, "RevokeInvitation as "+u, errOf(w.svc.RevokeInvitation(w.as(u), rev.ID)), talks.ENOTFOUND)
	}
	wantCode(t, "RevokeInvitation(unknown)", errOf(w.svc.RevokeInvitation(w.as("F"), rev.ID+100)), talks.ENOTFOUND)
	revoked, err := w.svc.RevokeInvitation(w.as("NP"), rev.ID)
	mustOK(t, "RevokeInvitation", err)
	if revoked.ID != rev.ID || revoked.TalkID != w.talk.ID || revoked.RevokedAt.IsZero() || revoked.TokenHash != nil || revoked.Token != "" {
		t.Errorf("RevokeInvitation() = %+v, want invitation %d of talk %d, revoked, without secrets", revoked, rev.ID, w.talk.ID)
	}
	wantCode(t, "RevokeInvitation(again)", errOf(w.svc.RevokeInvitation(w.as("F"), rev.ID)), talks.ECONFLICT)
	_, err = w.svc.AcceptInvitation(w.as("late"), rev.Token)
	wantCode(t, "AcceptInvitation(revoked)", err, talks.ECONFLICT)
	if msg := talks.ErrorMessage(err); !strings.Contains(msg, "revoked") {
		t.Errorf("AcceptInvitation(revoked) says %q", msg)
	}
	facInv, err := w.svc.CreateInvitation(w.as("F"), &talks.Invitation{TalkID: w.talk.ID, Role: talks.RoleFacilitator})
	mustOK(t, "CreateInvitation", err)
	wantCode(t, "RevokeInvitation(facilitator) as NP", errOf(w.svc.RevokeInvitation(w.as("NP"), facInv.ID)), talks.ENOTFOUND)

	// The log still folds.
	all, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	st, err := talks.Project(all)
	mustOK(t, "Project", err)
	if len(st.Invitations) != 4 || st.Invitations[0].MemberID != m.ID || st.Invitations[2].RevokedAt.IsZero() {
		t.Errorf("projected invitations %+v", st.Invitations)
	}
}
