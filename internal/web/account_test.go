package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/internal/web"
)

// newEmptyEnv is newEnv without the demo: a database with no users, as
// `backchannel serve` first finds it.
func newEmptyEnv(t *testing.T, policy talks.AccountPolicy) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := talks.NewService(store, talks.SystemClock)
	svc.SetAccountPolicy(policy)
	api := server.New(svc, server.Options{CSRFKey: csrfKey})
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", web.New(svc, web.Options{CSRFKey: csrfKey}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { api.Close(); srv.Close() })
	return &env{t: t, srv: srv, store: store, svc: svc}
}

// newUser makes a user with a password who is in no talk, and returns a
// browser signed in as it.
func (e *env) newUser(t *testing.T, name, email string) (*talks.User, *browser) {
	t.Helper()
	ctx := context.Background()
	u := &talks.User{Name: name, Email: email}
	if err := e.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	const pw = "a long enough password"
	hash, err := talks.HashPassword(pw, fastAccounts().Argon2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpdatePassword(ctx, u.ID, hash, 0); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	wantStatus(t, b.post("/login", url.Values{"email": {email}, "password": {pw}}), http.StatusSeeOther)
	b.get("/")
	return u, b
}

// head returns the talk's last event sequence number.
func (e *env) head(t *testing.T) int64 {
	t.Helper()
	h, err := e.store.TalkHead(context.Background(), e.demo.Talk.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// wantUnchanged fails if the demo talk has events after before.
func (e *env) wantUnchanged(t *testing.T, what string, before int64) {
	t.Helper()
	if after := e.head(t); after != before {
		t.Errorf("%s wrote events %d..%d, want none", what, before+1, after)
	}
}

func wantHeader(t *testing.T, res *response, name, want string) {
	t.Helper()
	if got := res.Header.Get(name); got != want {
		t.Errorf("%s: %q, want %q", name, got, want)
	}
}

func wantLocation(t *testing.T, res *response, want string) {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	wantHeader(t, res, "Location", want)
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	b := e.login(t, "n.envoy1")
	other := e.login(t, "n.envoy1") // another browser of the same user
	old := e.demo.Passwords["n.envoy1"]
	const next = "correct horse battery staple"

	res := b.get("/account")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Change your password", `action="/account/password"`, fmt.Sprintf("at least %d characters", talks.MinPasswordLength))

	for _, tc := range []struct {
		name              string
		current, new, rep string
		field, msg        string
	}{
		{"mismatch", old, next, next + "!", "new_password_repeat", "The two new passwords differ."},
		{"wrong current", "not my password", next, next, "current_password", "Current password is incorrect."},
		{"empty current", "", next, next, "current_password", "Enter your current password."},
		{"empty new", old, "", "", "new_password", "Enter a new password."},
		{"too short", old, "short", "short", "new_password", fmt.Sprintf("Password must have at least %d characters.", talks.MinPasswordLength)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.post("/account/password", url.Values{"current_password": {tc.current}, "new_password": {tc.new}, "new_password_repeat": {tc.rep}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="e-`+tc.field+`"`, tc.msg)
			// No password comes back in the page.
			for _, pw := range []string{tc.current, tc.new, tc.rep} {
				if pw != "" {
					wantNotContains(t, res, `value="`+pw+`"`)
				}
			}
		})
	}
	// A wrong current password did not sign anyone out.
	wantStatus(t, other.get("/"), http.StatusOK)

	// Without the CSRF token nothing changes.
	res = b.post("/account/password", url.Values{"current_password": {old}, "new_password": {next}, "new_password_repeat": {next}, "csrf": {"forged"}})
	wantStatus(t, res, http.StatusForbidden)
	wantStatus(t, other.get("/"), http.StatusOK)

	res = b.post("/account/password", url.Values{"current_password": {old}, "new_password": {next}, "new_password_repeat": {next}})
	wantLocation(t, res, "/account?done=password")
	res = b.get("/account?done=password")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `class="flash flash-ok"`, "Your password has been changed.")
	// The other session ended; this one did not.
	wantLocation(t, other.get("/"), "/login")
	wantStatus(t, b.get("/"), http.StatusOK)

	// The new password signs in; the old one does not.
	wantStatus(t, e.browser(t).post("/login", url.Values{"email": {e.demo.Users["n.envoy1"].Email}, "password": {old}}), http.StatusUnauthorized)
	wantStatus(t, e.browser(t).post("/login", url.Values{"email": {e.demo.Users["n.envoy1"].Email}, "password": {next}}), http.StatusSeeOther)

	// An unknown done= shows no message.
	wantNotContains(t, b.get("/account?done=%3Cscript%3E"), "flash-ok", "<script>")
}

var tokenRE = regexp.MustCompile(`value="(bct_[A-Za-z0-9_-]+)" readonly`)

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	b := e.login(t, "n.envoy1")

	wantContains(t, b.get("/account"), "You have no API tokens.")

	// An empty name is refused next to its field.
	res := b.post("/account/tokens", url.Values{"token_name": {"   "}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-token_name"`, "Give the token a name")
	// Too long: the Service's rule, and what was typed stays.
	long := strings.Repeat("n", 201)
	res = b.post("/account/tokens", url.Values{"token_name": {long}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-token_name"`, "at most 200 bytes", `value="`+long+`"`)
	// Without the CSRF token no token is made.
	res = b.post("/account/tokens", url.Values{"token_name": {"forged"}, "csrf": {"nope"}})
	wantStatus(t, res, http.StatusForbidden)
	if ts, _ := e.svc.FindAPITokens(e.demo.As(context.Background(), "n.envoy1")); len(ts) != 0 {
		t.Fatalf("refused forms made %d tokens", len(ts))
	}

	// The token is shown once, in a read-only field, with a warning.
	res = b.post("/account/tokens", url.Values{"token_name": {"laptop CLI"}})
	wantStatus(t, res, http.StatusCreated)
	wantContains(t, res, "will not be shown again", "laptop CLI")
	m := tokenRE.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("no token in a read-only field:\n%s", res.Body)
	}
	secret := m[1]
	// It works against the API.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("GET /api/v1/me with the new token: %v, %v", r, err)
	} else {
		r.Body.Close()
	}
	// The list shows it, never its secret.
	res = b.get("/account")
	wantContains(t, res, "laptop CLI")
	wantNotContains(t, res, secret)

	// A second token of the same name: the Service's conflict, name kept.
	res = b.post("/account/tokens", url.Values{"token_name": {"laptop CLI"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="e-token_name"`, "already have a token named", `value="laptop CLI"`)

	ts, err := e.svc.FindAPITokens(e.demo.As(context.Background(), "n.envoy1"))
	if err != nil || len(ts) != 1 {
		t.Fatalf("FindAPITokens = %d tokens, %v; want 1", len(ts), err)
	}
	revoke := fmt.Sprintf("/account/tokens/%d/revoke", ts[0].ID)

	// Another user cannot revoke it: for them it does not exist.
	wantStatus(t, e.login(t, "s.envoy1").post(revoke, nil), http.StatusNotFound)
	for _, p := range []string{"/account/tokens/999999/revoke", "/account/tokens/abc/revoke"} {
		wantStatus(t, b.post(p, nil), http.StatusNotFound)
	}
	wantStatus(t, b.post(revoke, url.Values{"csrf": {""}}), http.StatusForbidden)
	wantStatus(t, b.post(revoke, url.Values{"csrf": {"nope"}}), http.StatusForbidden)
	wantContains(t, b.get("/account"), "laptop CLI")

	wantLocation(t, b.post(revoke, nil), "/account?done=revoked")
	res = b.get("/account?done=revoked")
	wantContains(t, res, "flash-ok", "The API token has been revoked.", "You have no API tokens.")
	req, _ = http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me with a revoked token: %v, %v; want 401", r, err)
	} else {
		r.Body.Close()
	}
	wantStatus(t, b.post(revoke, nil), http.StatusNotFound)

	// Signed out, the page and its forms send to the sign-in page.
	anon := e.browser(t)
	wantLocation(t, anon.get("/account"), "/login?next=%2Faccount")
	wantStatus(t, anon.post("/account/tokens", url.Values{"token_name": {"x"}}), http.StatusSeeOther)
}

func TestSetup(t *testing.T) {
	e := newEmptyEnv(t, fastAccounts())
	ctx := context.Background()
	tok, err := e.svc.CreateSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)

	// Without a link the page says where to find one.
	res := b.get("/setup")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "backchannel serve", "setup?token=")
	wantNotContains(t, res, `action="/setup"`)

	res = b.get("/setup?token=" + url.QueryEscape(tok))
	wantStatus(t, res, http.StatusOK)
	wantHeader(t, res, "Referrer-Policy", "no-referrer")
	wantContains(t, res, `action="/setup"`, `name="token" value="`+tok+`"`)

	form := func(name, email, pw, rep string) url.Values {
		return url.Values{"token": {tok}, "name": {name}, "email": {email}, "new_password": {pw}, "new_password_repeat": {rep}}
	}
	const pw = "the first admin's password"
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"mismatch", form("Ada Admin", "ada@example.org", pw, pw+"x"), "new_password_repeat", "The two passwords differ."},
		{"no name", form("  ", "ada@example.org", pw, pw), "name", "Enter your name."},
		{"no email", form("Ada Admin", "", pw, pw), "email", "Enter your email address."},
		{"short", form("Ada Admin", "ada@example.org", "short", "short"), "new_password", fmt.Sprintf("at least %d characters", talks.MinPasswordLength)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.post("/setup", tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="e-`+tc.field+`"`, tc.msg, `name="token" value="`+tok+`"`)
			if n := tc.form.Get("name"); strings.TrimSpace(n) != "" {
				wantContains(t, res, `value="`+n+`"`)
			}
			if m := tc.form.Get("email"); m != "" {
				wantContains(t, res, `value="`+m+`"`)
			}
			wantNotContains(t, res, `value="`+tc.form.Get("new_password")+`"`)
		})
	}

	// A wrong token is an error page, and makes nobody.
	bad := form("Ada Admin", "ada@example.org", pw, pw)
	bad.Set("token", "bcsetup_wrong")
	res = b.post("/setup", bad)
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "This setup link does not work")
	if n, _ := e.store.CountUsers(ctx); n != 0 {
		t.Fatalf("a wrong setup token made %d users", n)
	}
	// No token at all: the page that explains the link.
	res = b.post("/setup", url.Values{"name": {"x"}})
	wantStatus(t, res, http.StatusBadRequest)
	wantContains(t, res, "backchannel serve")

	// The right one makes the administrator and signs it in.
	res = b.post("/setup", form("Ada Admin", "ada@example.org", pw, pw))
	wantLocation(t, res, "/")
	res = b.get("/")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Ada Admin")
	u, err := e.store.FindUserByEmail(ctx, "ada@example.org")
	if err != nil || !u.Admin {
		t.Fatalf("after setup: user %+v, %v; want an administrator", u, err)
	}
	wantContains(t, b.get("/setup?token="+url.QueryEscape(tok)), "Setup is complete")

	// The link is spent.
	res = e.browser(t).post("/setup", form("Eve", "eve@example.org", pw, pw))
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "invalid, has been used, or has expired")
	if n, _ := e.store.CountUsers(ctx); n != 1 {
		t.Errorf("a spent setup token: %d users, want 1", n)
	}
}

func TestSetupExpired(t *testing.T) {
	p := fastAccounts()
	p.SetupTokenTTL = -time.Minute // expired as soon as made
	e := newEmptyEnv(t, p)
	tok, err := e.svc.CreateSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const pw = "the first admin's password"
	res := e.browser(t).post("/setup", url.Values{"token": {tok}, "name": {"Ada"}, "email": {"ada@example.org"}, "new_password": {pw}, "new_password_repeat": {pw}})
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "This setup link does not work")
	if n, _ := e.store.CountUsers(context.Background()); n != 0 {
		t.Errorf("an expired setup token made %d users", n)
	}
}

var linkRE = regexp.MustCompile(`value="(http://[^"]+/invite/(bci_[A-Za-z0-9_-]+))" readonly`)

func TestInvitations(t *testing.T) {
	e := newEnv(t)
	talk := fmt.Sprintf("/talks/%d/invitations", e.demo.Talk.ID)
	north, south := e.demo.Parties["Northland"], e.demo.Parties["Southland"]
	fac := e.login(t, "facilitator")

	res := fac.get(talk)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Invitations", "No invitations yet.", `action="`+talk+`"`,
		">Northland</option>", ">Southland</option>", `value="0"`, `value="facilitator"`, `value="7"`, `max="30"`)

	// Bad input: the error next to its field, what was chosen kept, and
	// nothing written.
	for _, tc := range []struct {
		name              string
		party, role, days string
		field, msg        string
	}{
		{"no party", "", "envoy", "7", "party", "Choose one of the talk&#39;s parties"},
		{"party not a number", "x", "envoy", "7", "party", "Choose one of the talk&#39;s parties"},
		{"unknown party", "999999", "envoy", "7", "party", "Choose one of the talk&#39;s parties"},
		{"no role", fmt.Sprint(north.ID), "", "7", "role", "Choose a role."},
		{"unknown role", fmt.Sprint(north.ID), "king", "7", "role", "Choose a role."},
		{"party role without party", "0", "envoy", "7", "party", "A envoy belongs to a party."},
		{"facilitator in a party", fmt.Sprint(north.ID), "facilitator", "7", "party", "A facilitator belongs to no party."},
		{"zero days", fmt.Sprint(north.ID), "envoy", "0", "days", "from 1 to 30"},
		{"too many days", fmt.Sprint(north.ID), "envoy", "31", "days", "from 1 to 30"},
		{"days not a number", fmt.Sprint(north.ID), "envoy", "soon", "days", "from 1 to 30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head(t)
			res := fac.post(talk, url.Values{"party": {tc.party}, "role": {tc.role}, "days": {tc.days}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="e-`+tc.field+`"`, tc.msg, `value="`+tc.days+`"`)
			if tc.role == "envoy" {
				wantContains(t, res, `value="envoy" selected`)
			}
			e.wantUnchanged(t, "a refused invitation", before)
		})
	}

	// Without the CSRF token: refused, nothing written.
	before := e.head(t)
	for _, csrf := range []string{"", "forged"} {
		res = fac.post(talk, url.Values{"party": {fmt.Sprint(north.ID)}, "role": {"envoy"}, "days": {"7"}, "csrf": {csrf}})
		wantStatus(t, res, http.StatusForbidden)
	}
	e.wantUnchanged(t, "a form without its CSRF token", before)

	// Made: the full link is shown once, read-only, and the list has it.
	res = fac.post(talk, url.Values{"party": {fmt.Sprint(south.ID)}, "role": {"advisor"}, "days": {"3"}})
	wantStatus(t, res, http.StatusCreated)
	wantHeader(t, res, "Referrer-Policy", "no-referrer")
	wantContains(t, res, "will not be shown again", "Pending", "Ingrid Halvorsen", "Southland")
	m := linkRE.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("no invitation link in a read-only field:\n%s", res.Body)
	}
	if !strings.HasPrefix(m[1], e.srv.URL+"/invite/") {
		t.Errorf("link %q, want it under %s", m[1], e.srv.URL)
	}
	if e.head(t) != before+1 {
		t.Errorf("making an invitation: head %d, want %d", e.head(t), before+1)
	}
	res = fac.get(talk)
	wantNotContains(t, res, m[2])
	wantContains(t, res, "Pending", "Advisor")

	// A principal is offered only its own party, and may not invite to the
	// other one.
	np := e.login(t, "n.principal")
	res = np.get(talk)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, ">Northland</option>")
	wantNotContains(t, res, ">Southland</option>", `value="facilitator"`, m[2])
	before = e.head(t)
	res = np.post(talk, url.Values{"party": {fmt.Sprint(south.ID)}, "role": {"envoy"}, "days": {"7"}})
	wantStatus(t, res, http.StatusForbidden)
	res = np.post(talk, url.Values{"party": {"0"}, "role": {"facilitator"}, "days": {"7"}})
	wantStatus(t, res, http.StatusForbidden)
	e.wantUnchanged(t, "a principal inviting beyond its party", before)
	res = np.post(talk, url.Values{"party": {fmt.Sprint(north.ID)}, "role": {"observer"}, "days": {"30"}})
	wantStatus(t, res, http.StatusCreated)

	// An advisor sees no form, and the Service refuses it.
	adv := e.login(t, "n.advisor")
	res = adv.get(talk)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Only the convener, a facilitator or a party's principal may invite")
	wantNotContains(t, res, `action="`+talk+`"`, "Southland</td>")
	before = e.head(t)
	res = adv.post(talk, url.Values{"party": {fmt.Sprint(north.ID)}, "role": {"envoy"}, "days": {"7"}})
	wantStatus(t, res, http.StatusForbidden)
	e.wantUnchanged(t, "an advisor's invitation", before)

	// Outside the talk, or no such talk: not found.
	_, out := e.newUser(t, "Out Sider", "out@example.org")
	for _, p := range []string{talk, "/talks/999999/invitations", "/talks/abc/invitations"} {
		res := out.get(p)
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, e.demo.Talk.Title)
	}
	before = e.head(t)
	wantStatus(t, out.post(talk, url.Values{"party": {fmt.Sprint(north.ID)}, "role": {"envoy"}, "days": {"7"}}), http.StatusNotFound)
	e.wantUnchanged(t, "an outsider's invitation", before)
}

// invite makes an invitation as demo user key and returns its token.
func (e *env) invite(t *testing.T, key string, inv *talks.Invitation) (*talks.Invitation, string) {
	t.Helper()
	inv.TalkID = e.demo.Talk.ID
	made, err := e.svc.CreateInvitation(e.demo.As(context.Background(), key), inv)
	if err != nil {
		t.Fatal(err)
	}
	return made, made.Token
}

func TestRevokeInvitation(t *testing.T) {
	e := newEnv(t)
	list := fmt.Sprintf("/talks/%d/invitations", e.demo.Talk.ID)
	north := e.demo.Parties["Northland"]
	inv, _ := e.invite(t, "facilitator", &talks.Invitation{PartyID: north.ID, Role: talks.RoleEnvoy})
	revoke := fmt.Sprintf("%s/%d/revoke", list, inv.ID)

	// Those who may not manage it, and a wrong talk in the path: not found.
	adv := e.login(t, "n.advisor")
	before := e.head(t)
	wantStatus(t, adv.post(revoke, nil), http.StatusNotFound)
	wantStatus(t, e.login(t, "s.principal").post(revoke, nil), http.StatusNotFound)
	fac := e.login(t, "facilitator")
	wantStatus(t, fac.post(fmt.Sprintf("/talks/999999/invitations/%d/revoke", inv.ID), nil), http.StatusNotFound)
	wantStatus(t, fac.post(list+"/999999/revoke", nil), http.StatusNotFound)
	wantStatus(t, fac.post(list+"/abc/revoke", nil), http.StatusNotFound)
	wantStatus(t, fac.post(revoke, url.Values{"csrf": {"forged"}}), http.StatusForbidden)
	e.wantUnchanged(t, "refused revocations", before)

	res := fac.get(list)
	wantContains(t, res, `action="`+revoke+`"`)
	// Northland's principal manages Northland's invitations.
	wantLocation(t, e.login(t, "n.principal").post(revoke, nil), list+"?done=revoked")
	res = fac.get(list + "?done=revoked")
	wantContains(t, res, "flash-ok", "The invitation has been revoked.", "Revoked")
	wantNotContains(t, res, `action="`+revoke+`"`)

	// Twice: the Service's conflict.
	res = fac.post(revoke, nil)
	wantStatus(t, res, http.StatusConflict)
	wantContains(t, res, "already revoked")
}

func TestAcceptInvitation(t *testing.T) {
	e := newEnv(t)
	south := e.demo.Parties["Southland"]
	_, tok := e.invite(t, "facilitator", &talks.Invitation{PartyID: south.ID, Role: talks.RoleObserver})
	page := "/invite/" + tok

	// Not signed in: sign in first, and come back.
	anon := e.browser(t)
	res := anon.get(page)
	wantStatus(t, res, http.StatusOK)
	wantHeader(t, res, "Referrer-Policy", "no-referrer")
	wantContains(t, res, "sign in to accept", `href="/login?next=`+url.QueryEscape(page)+`"`,
		e.demo.Talk.Title, "Observer of <strong>Southland</strong>", `action="`+page+`/signup"`)
	wantNotContains(t, res, `action="`+page+`"`)
	wantLocation(t, anon.post(page, nil), "/login?next="+url.QueryEscape(page))

	// Signed in: what accepting means, and the button.
	u, b := e.newUser(t, "New Comer", "new@example.org")
	res = b.get(page)
	wantStatus(t, res, http.StatusOK)
	wantHeader(t, res, "Referrer-Policy", "no-referrer")
	wantContains(t, res, `action="`+page+`"`, "Accept the invitation", "New Comer")

	before := e.head(t)
	wantStatus(t, b.post(page, url.Values{"csrf": {""}}), http.StatusForbidden)
	wantStatus(t, b.post(page, url.Values{"csrf": {"forged"}}), http.StatusForbidden)
	e.wantUnchanged(t, "a forged acceptance", before)

	res = b.post(page, nil)
	wantLocation(t, res, fmt.Sprintf("/talks/%d", e.demo.Talk.ID))
	wantHeader(t, res, "Referrer-Policy", "no-referrer")
	res = b.get(fmt.Sprintf("/talks/%d", e.demo.Talk.ID))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "New Comer")
	ms, err := e.svc.FindMembers(e.demo.As(context.Background(), "facilitator"), e.demo.Talk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var joined *talks.Member
	for _, m := range ms {
		if m.UserID == u.ID {
			joined = m
		}
	}
	if joined == nil || joined.PartyID != south.ID || joined.Role != talks.RoleObserver {
		t.Errorf("after accepting: member %+v, want a Southland observer", joined)
	}
	// The list says who accepted it.
	wantContains(t, e.login(t, "facilitator").get(fmt.Sprintf("/talks/%d/invitations", e.demo.Talk.ID)), "Accepted", "by New Comer")

	_, other := e.newUser(t, "Late Comer", "late@example.org")
	_, revokedTok := e.invite(t, "facilitator", &talks.Invitation{PartyID: south.ID, Role: talks.RoleEnvoy})
	revoked, _ := e.svc.FindInvitations(e.demo.As(context.Background(), "facilitator"), e.demo.Talk.ID)
	if _, err := e.svc.RevokeInvitation(e.demo.As(context.Background(), "facilitator"), revoked[len(revoked)-1].ID); err != nil {
		t.Fatal(err)
	}
	_, expiredTok := e.invite(t, "facilitator", &talks.Invitation{PartyID: south.ID, Role: talks.RoleEnvoy, ExpiresAt: time.Now().Add(200 * time.Millisecond)})
	_, memberTok := e.invite(t, "facilitator", &talks.Invitation{PartyID: south.ID, Role: talks.RoleEnvoy})
	time.Sleep(300 * time.Millisecond)

	for _, tc := range []struct {
		name   string
		who    *browser
		token  string
		status int
		msg    string
	}{
		{"used", other, tok, http.StatusConflict, "already been used"},
		{"revoked", other, revokedTok, http.StatusConflict, "has been revoked"},
		{"expired", other, expiredTok, http.StatusBadRequest, "has expired"},
		{"already a member", e.login(t, "n.envoy1"), memberTok, http.StatusConflict, "already a member"},
		{"unknown", other, "bci_" + strings.Repeat("A", 43), http.StatusNotFound, "not valid"},
		{"malformed", other, "bci_short", http.StatusNotFound, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head(t)
			res := tc.who.post("/invite/"+tc.token, nil)
			wantStatus(t, res, tc.status)
			wantHeader(t, res, "Referrer-Policy", "no-referrer")
			wantContains(t, res, tc.msg, `class="flash flash-bad"`)
			wantNotContains(t, res, "Accept the invitation")
			e.wantUnchanged(t, "a refused acceptance", before)
			// The page itself says so before anyone tries, and shows
			// nothing of the talk.
			if tc.name != "already a member" {
				res = anon.get("/invite/" + tc.token)
				wantStatus(t, res, tc.status)
				wantContains(t, res, tc.msg)
				wantNotContains(t, res, e.demo.Talk.Title, "signup")
			}
		})
	}
	// The link that the JSON API answers leads to the same page.
	res = anon.get("/invitations/accept?token=" + url.QueryEscape(memberTok))
	wantLocation(t, res, "/invite/"+memberTok)
	wantHeader(t, res, "Referrer-Policy", "no-referrer")
	wantStatus(t, anon.get("/invitations/accept?token=bci_short"), http.StatusNotFound)
	wantStatus(t, anon.get("/invitations/accept"), http.StatusNotFound)

	// A link cut short is known at once, before the button.
	res = other.get("/invite/bci_short")
	wantStatus(t, res, http.StatusNotFound)
	wantContains(t, res, "not valid")
	wantNotContains(t, res, "Accept the invitation")
}

func TestSignUpWithInvitation(t *testing.T) {
	e := newEnv(t)
	south := e.demo.Parties["Southland"]
	_, tok := e.invite(t, "facilitator", &talks.Invitation{PartyID: south.ID, Role: talks.RoleAdvisor})
	signup := "/invite/" + tok + "/signup"
	good := url.Values{"name": {"Nadia Sol"}, "email": {"nadia@southland.example"}, "new_password": {"a long enough password"},
		"repeat_password": {"a long enough password"}}
	with := func(k, v string) url.Values {
		f := cloneForm(good)
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no name", with("name", " "), "name"},
		{"no email", with("email", ""), "email"},
		{"not an email", with("email", "nadia"), "email"},
		{"taken email", with("email", "tomas@northland.example"), "email"},
		{"no password", with("new_password", ""), "new_password"},
		{"passwords differ", with("repeat_password", "another long password"), "repeat_password"},
		{"short password", func() url.Values { f := with("new_password", "short"); f.Set("repeat_password", "short"); return f }(), "new_password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head(t)
			res := e.browser(t).post(signup, tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="e-`+tc.field+`"`, e.demo.Talk.Title)
			if tc.field != "name" {
				wantContains(t, res, `value="Nadia Sol"`)
			}
			wantNotContains(t, res, "a long enough password", "another long password")
			e.wantUnchanged(t, "a refused sign-up", before)
		})
	}

	// Made: signed in, in the talk as a Southland advisor.
	b := e.browser(t)
	res := b.post(signup, good)
	wantLocation(t, res, fmt.Sprintf("/talks/%d", e.demo.Talk.ID))
	res = b.get(fmt.Sprintf("/talks/%d", e.demo.Talk.ID))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "You are Nadia Sol (Southland advisor).")

	// The link is spent: a second sign-up is refused with its reason.
	res = e.browser(t).post(signup, with("email", "other@southland.example"))
	wantStatus(t, res, http.StatusConflict)
	wantContains(t, res, "already been used")
	wantStatus(t, e.browser(t).post("/invite/bci_short/signup", good), http.StatusNotFound)
}
