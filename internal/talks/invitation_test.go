package talks_test

import (
	"context"
	"fmt"
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
	last := evs[len(evs)-3:]
	if last[0].Type != talks.EventMemberAdded || last[1].Type != talks.EventInvitationAccepted || last[2].Type != talks.EventMemberKey {
		t.Errorf("accept appended %s, %s, %s; want member.added, invitation.accepted, member.key", last[0].Type, last[1].Type, last[2].Type)
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

// TestInvitationPreview checks what a link shows before it is accepted:
// the talk's title, the party, the role and the expiry while it stands,
// and only why not once it does not.
func TestInvitationPreview(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background() // no one is signed in
	inv, err := w.svc.CreateInvitation(w.as("NP"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleAdvisor})
	mustOK(t, "CreateInvitation", err)
	got, err := w.svc.InvitationPreview(ctx, inv.Token)
	mustOK(t, "InvitationPreview", err)
	want := talks.InvitationPreview{TalkTitle: w.talk.Title, PartyName: w.north.Name, Role: talks.RoleAdvisor, ExpiresAt: inv.ExpiresAt}
	if *got != want {
		t.Errorf("InvitationPreview() = %+v, want %+v", *got, want)
	}
	fac, err := w.svc.CreateInvitation(w.as("F"), &talks.Invitation{TalkID: w.talk.ID, Role: talks.RoleFacilitator})
	mustOK(t, "CreateInvitation", err)
	if got, err := w.svc.InvitationPreview(ctx, fac.Token); err != nil || got.PartyName != "" || got.Role != talks.RoleFacilitator {
		t.Errorf("InvitationPreview(facilitator) = %+v, %v", got, err)
	}

	revoked, err := w.svc.CreateInvitation(w.as("F"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.south.ID, Role: talks.RoleEnvoy})
	mustOK(t, "CreateInvitation", err)
	mustOK(t, "RevokeInvitation", errOf(w.svc.RevokeInvitation(w.as("F"), revoked.ID)))
	_, err = w.svc.AcceptInvitation(w.as("O"), inv.Token)
	mustOK(t, "AcceptInvitation", err)
	later := talks.NewService(w.store, talks.ClockFunc(func() time.Time { return fac.ExpiresAt }))
	for _, tc := range []struct {
		name, token string
		svc         *talks.Service
		code, says  string
	}{
		{"unknown", "bci_nope", w.svc, talks.ENOTFOUND, "not valid"},
		{"empty", "", w.svc, talks.ENOTFOUND, "not valid"},
		{"used", inv.Token, w.svc, talks.ECONFLICT, "used"},
		{"revoked", revoked.Token, w.svc, talks.ECONFLICT, "revoked"},
		{"expired", fac.Token, later, talks.EINVALID, "expired"},
	} {
		got, err := tc.svc.InvitationPreview(ctx, tc.token)
		if talks.ErrorCode(err) != tc.code || !strings.Contains(talks.ErrorMessage(err), tc.says) || got != nil {
			t.Errorf("InvitationPreview(%s) = %+v, %v; want only a %s error that says %q", tc.name, got, err, tc.code, tc.says)
		}
	}
}

// TestSignUpWithInvitation checks that a link makes an account, a member
// and a session in one go, and that every failure makes none of them.
func TestSignUpWithInvitation(t *testing.T) {
	w := newWorld(t)
	pol := talks.DefaultAccountPolicy
	pol.Argon2 = talks.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	w.svc.SetAccountPolicy(pol)
	ctx := context.Background()
	newInv := func(p *talks.Party, r talks.Role) *talks.Invitation {
		t.Helper()
		i := &talks.Invitation{TalkID: w.talk.ID, Role: r}
		if p != nil {
			i.PartyID = p.ID
		}
		inv, err := w.svc.CreateInvitation(w.as("F"), i)
		mustOK(t, "CreateInvitation", err)
		return inv
	}
	inv := newInv(w.south, talks.RoleEnvoy)
	used := newInv(w.north, talks.RoleObserver)
	_, err := w.svc.AcceptInvitation(w.as("O"), used.Token)
	mustOK(t, "AcceptInvitation", err)
	revoked := newInv(w.north, talks.RoleObserver)
	mustOK(t, "RevokeInvitation", errOf(w.svc.RevokeInvitation(w.as("F"), revoked.ID)))
	expired := newInv(nil, talks.RoleFacilitator)
	later := talks.NewService(w.store, talks.ClockFunc(func() time.Time { return expired.ExpiresAt.Add(time.Minute) }))
	later.SetAccountPolicy(pol)

	const pw = "a long enough password"
	head := func() int64 {
		h, err := w.store.TalkHead(ctx, w.talk.ID)
		mustOK(t, "TalkHead", err)
		return h
	}
	for _, tc := range []struct {
		name                     string
		svc                      *talks.Service
		token, uname, email, pwd string
		code, says               string
	}{
		{"no name", w.svc, inv.Token, " ", "new@example.org", pw, talks.EINVALID, "name"},
		{"no email", w.svc, inv.Token, "New", "", pw, talks.EINVALID, "email"},
		{"not an email", w.svc, inv.Token, "New", "new.example.org", pw, talks.EINVALID, "not an email"},
		{"weak password", w.svc, inv.Token, "New", "new@example.org", "short", talks.EINVALID, "at least"},
		{"unknown token", w.svc, "bci_nope", "New", "new@example.org", pw, talks.ENOTFOUND, "not valid"},
		{"used", w.svc, used.Token, "New", "new@example.org", pw, talks.ECONFLICT, "used"},
		{"revoked", w.svc, revoked.Token, "New", "new@example.org", pw, talks.ECONFLICT, "revoked"},
		{"expired", later, expired.Token, "New", "new@example.org", pw, talks.EINVALID, "expired"},
		{"email taken", w.svc, inv.Token, "New", w.users["NE"].Email, pw, talks.ECONFLICT, "already exists"},
	} {
		before := head()
		sess, m, err := tc.svc.SignUpWithInvitation(ctx, tc.token, tc.uname, tc.email, tc.pwd, "")
		if talks.ErrorCode(err) != tc.code || !strings.Contains(talks.ErrorMessage(err), tc.says) || sess != nil || m != nil {
			t.Errorf("SignUpWithInvitation(%s) = %v, %v, %v; want a %s error that says %q", tc.name, sess, m, err, tc.code, tc.says)
		}
		if after := head(); after != before {
			t.Errorf("SignUpWithInvitation(%s) appended %d events", tc.name, after-before)
		}
		if _, err := w.store.FindUserByEmail(ctx, "new@example.org"); talks.ErrorCode(err) != talks.ENOTFOUND {
			t.Fatalf("SignUpWithInvitation(%s) left a user behind: %v", tc.name, err)
		}
	}

	sess, m, err := w.svc.SignUpWithInvitation(ctx, inv.Token, " New Envoy ", " new@example.org ", pw, "192.0.2.1")
	mustOK(t, "SignUpWithInvitation", err)
	u := sess.User
	if u == nil || u.ID == 0 || u.Name != "New Envoy" || u.Email != "new@example.org" || u.Admin || u.PasswordHash != "" || sess.Token == "" {
		t.Fatalf("SignUpWithInvitation() session = %+v, user %+v", sess, u)
	}
	if m.UserID != u.ID || m.TalkID != w.talk.ID || m.PartyID != w.south.ID || m.Role != talks.RoleEnvoy {
		t.Errorf("SignUpWithInvitation() member = %+v", m)
	}
	if got, err := w.svc.FindSession(ctx, sess.Token); err != nil || got.UserID != u.ID {
		t.Errorf("FindSession(new session) = %+v, %v", got, err)
	}
	if _, err := w.svc.Login(ctx, "new@example.org", pw, ""); err != nil {
		t.Errorf("Login with the new password: %v", err)
	}
	stored, err := w.store.FindUserByID(ctx, u.ID)
	mustOK(t, "FindUserByID", err)
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Errorf("stored password hash %q, want argon2id", stored.PasswordHash)
	}
	me := talks.NewContextWithUser(ctx, u)
	if _, err := w.svc.FindTalkByID(me, w.talk.ID); err != nil {
		t.Errorf("the new member cannot see the talk: %v", err)
	}
	evs, err := w.svc.FindEvents(w.as("F"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	last := evs[len(evs)-3 : len(evs)-1]
	if k := evs[len(evs)-1]; k.Type != talks.EventMemberKey || k.ActorID != u.ID {
		t.Errorf("sign-up appended %s by %d last, want member.key by the new user", k.Type, k.ActorID)
	}
	if last[0].Type != talks.EventMemberAdded || last[1].Type != talks.EventInvitationAccepted || last[0].ActorID != u.ID || last[1].ActorID != u.ID {
		t.Errorf("sign-up appended %s by %d, %s by %d; want member.added and invitation.accepted by the new user",
			last[0].Type, last[0].ActorID, last[1].Type, last[1].ActorID)
	}
	_, _, err = w.svc.SignUpWithInvitation(ctx, inv.Token, "Another", "another@example.org", pw, "")
	wantCode(t, "SignUpWithInvitation(twice)", err, talks.ECONFLICT)
}

// TestSignUpLimit checks that failed sign-ups are limited like logins,
// per address and per invitation.
func TestSignUpLimit(t *testing.T) {
	w := newWorld(t)
	pol := talks.DefaultAccountPolicy
	pol.Argon2 = talks.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	pol.AddressFailures = 3
	w.svc.SetAccountPolicy(pol)
	ctx := context.Background()
	const pw = "a long enough password"
	for range 3 {
		_, _, err := w.svc.SignUpWithInvitation(ctx, "bci_guess", "G", "g@example.org", pw, "192.0.2.9")
		wantCode(t, "SignUpWithInvitation(guess)", err, talks.ENOTFOUND)
	}
	inv, err := w.svc.CreateInvitation(w.as("F"), &talks.Invitation{TalkID: w.talk.ID, PartyID: w.north.ID, Role: talks.RoleAdvisor})
	mustOK(t, "CreateInvitation", err)
	_, _, err = w.svc.SignUpWithInvitation(ctx, inv.Token, "G", "g@example.org", pw, "192.0.2.9")
	if talks.ErrorCode(err) != talks.EUNAUTHORIZED || !strings.Contains(talks.ErrorMessage(err), "Too many") {
		t.Errorf("SignUpWithInvitation after 3 failures from one address = %v, want Too many attempts", err)
	}
	// Per invitation: the emails one link may try are limited too, and no
	// failed login, whatever email it names, counts against a link.
	for range pol.AccountFailures + 1 {
		_, err := w.svc.Login(ctx, fmt.Sprintf("invitation %d", inv.ID), pw, "")
		wantCode(t, "Login", err, talks.EUNAUTHORIZED)
	}
	for range pol.AccountFailures {
		_, _, err := w.svc.SignUpWithInvitation(ctx, inv.Token, "G", w.users["NE"].Email, pw, "")
		wantCode(t, "SignUpWithInvitation(taken)", err, talks.ECONFLICT)
	}
	_, _, err = w.svc.SignUpWithInvitation(ctx, inv.Token, "G", "g@example.org", pw, "")
	if talks.ErrorCode(err) != talks.EUNAUTHORIZED {
		t.Errorf("SignUpWithInvitation after %d failures with one link = %v, want Too many attempts", pol.AccountFailures, err)
	}
	_, _, err = w.svc.SignUpWithInvitation(ctx, inv.Token, "G", "g@example.org", pw, "192.0.2.10")
	wantCode(t, "SignUpWithInvitation(locked link, other address)", err, talks.EUNAUTHORIZED)
}
