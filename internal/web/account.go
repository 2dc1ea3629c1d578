package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backchannel/backchannel/internal/talks"
)

// Account, first-run setup and invitations. Two answers break the rule that
// a successful form redirects (303): creating an API token and creating an
// invitation answer 201 with the page that shows the new secret, because a
// redirect would have to park the secret somewhere (a cookie, the server's
// memory) to show it after. Reloading that page re-posts the form; for a
// token that is a harmless "name taken" error.

func (h *Handler) accountRoutes() []route {
	return []route{
		{"GET", "/account", signedIn, h.handleAccount},
		{"POST", "/account/password", signedIn, h.handleChangePassword},
		{"POST", "/account/tokens", signedIn, h.handleCreateToken},
		{"POST", "/account/tokens/{id}/revoke", signedIn, h.handleRevokeToken},

		{"GET", "/setup", public, h.handleSetupPage},
		{"POST", "/setup", public, h.handleSetup},

		{"GET", "/talks/{id}/invitations", signedIn, h.handleInvitations},
		{"POST", "/talks/{id}/invitations", signedIn, h.handleCreateInvitation},
		{"POST", "/talks/{id}/invitations/{inv}/revoke", signedIn, h.handleRevokeInvitation},

		{"GET", "/invite/{token}", public, h.handleInvitePage},
		{"GET", "/invitations/accept", public, h.handleAPIInviteLink},
		{"POST", "/invite/{token}", public, h.handleAcceptInvitation},
		{"POST", "/invite/{token}/signup", public, h.handleSignUp},
	}
}

// unprocessable is the status of a form shown again with its errors.
const unprocessable = http.StatusUnprocessableEntity

// Flash messages after a redirect, by the "done" query parameter. Only these
// fixed texts are shown, so that a link cannot put words in the page.
var accountFlashes = map[string]string{
	"password": "Your password has been changed. Every other session of yours has been signed out; API tokens still work.",
	"revoked":  "The API token has been revoked. Scripts that use it can no longer sign in.",
}

var invitationFlashes = map[string]string{
	"revoked": "The invitation has been revoked. Its link no longer works.",
}

// accountPage is the data of the account page.
type accountPage struct {
	Flash     string
	Tokens    []*talks.APIToken
	NewToken  *talks.APIToken // just made: its secret is shown this once
	TokenName string          // what was typed, kept on an error
	Errors    formErrors      // password form and token form; names differ
	MinLength int
}

func (h *Handler) accountFrame(r *http.Request, p *accountPage) (*Page, error) {
	ts, err := h.svc.FindAPITokens(r.Context())
	if err != nil {
		return nil, err
	}
	p.Tokens, p.MinLength = ts, talks.MinPasswordLength
	if p.Errors == nil {
		p.Errors = formErrors{}
	}
	return h.page(r, "Your account", p), nil
}

func (h *Handler) handleAccount(w http.ResponseWriter, r *http.Request) error {
	pg, err := h.accountFrame(r, &accountPage{Flash: accountFlashes[r.URL.Query().Get("done")]})
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "account", pg)
}

func (h *Handler) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	current := r.PostFormValue("current_password")
	next := r.PostFormValue("new_password")
	repeat := r.PostFormValue("new_password_repeat")
	errs := formErrors{}
	if current == "" {
		errs["current_password"] = "Enter your current password."
	}
	if next == "" {
		errs["new_password"] = "Enter a new password."
	} else if repeat != next {
		errs["new_password_repeat"] = "The two new passwords differ. Type the same password twice."
	}
	if len(errs) == 0 {
		var keep int64
		if sess := sessionFromContext(r.Context()); sess != nil {
			keep = sess.ID
		}
		err := h.svc.ChangePassword(r.Context(), current, next, keep)
		switch talks.ErrorCode(err) {
		case "":
			http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
			return nil
		case talks.EUNAUTHORIZED:
			// A wrong current password; not a reason to sign out.
			errs["current_password"] = talks.ErrorMessage(err)
		case talks.EINVALID:
			errs["new_password"] = talks.ErrorMessage(err)
		default:
			return err
		}
	}
	// Passwords are never typed back into the form.
	pg, err := h.accountFrame(r, &accountPage{Errors: errs})
	if err != nil {
		return err
	}
	return h.render(w, r, unprocessable, "account", pg)
}

func (h *Handler) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	name := r.PostFormValue("token_name")
	p := &accountPage{TokenName: name, Errors: formErrors{}}
	status := unprocessable
	if strings.TrimSpace(name) == "" {
		p.Errors["token_name"] = "Give the token a name, such as the script or machine that will use it."
	} else {
		t, err := h.svc.CreateAPIToken(r.Context(), name)
		switch talks.ErrorCode(err) {
		case "":
			p.NewToken, p.TokenName, status = t, "", http.StatusCreated
		case talks.EINVALID, talks.ECONFLICT:
			p.Errors["token_name"] = talks.ErrorMessage(err)
		default:
			return err
		}
	}
	pg, err := h.accountFrame(r, p)
	if err != nil {
		return err
	}
	return h.render(w, r, status, "account", pg)
}

func (h *Handler) handleRevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.svc.RevokeAPIToken(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=revoked", http.StatusSeeOther)
	return nil
}

// setupPage is the data of the first-run page.
type setupPage struct {
	// State is "form" (a link with a token), "nolink" (no token), "bad" (a
	// used, expired or wrong token) or "done" (setup is complete).
	State       string
	Token       string
	Name, Email string
	Errors      formErrors
	MinLength   int
}

func (h *Handler) renderSetup(w http.ResponseWriter, r *http.Request, status int, p *setupPage) error {
	// The setup token is in the URL of the page and in its form.
	w.Header().Set("Referrer-Policy", "no-referrer")
	if p.Errors == nil {
		p.Errors = formErrors{}
	}
	p.MinLength = talks.MinPasswordLength
	return h.render(w, r, status, "setup", h.page(r, "Set up backchannel", p))
}

func (h *Handler) handleSetupPage(w http.ResponseWriter, r *http.Request) error {
	if talks.UserFromContext(r.Context()) != nil {
		return h.renderSetup(w, r, http.StatusOK, &setupPage{State: "done"})
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return h.renderSetup(w, r, http.StatusOK, &setupPage{State: "nolink"})
	}
	// The Service can only tell whether a token is good by redeeming it, so
	// a bad one is found out when the form is sent.
	return h.renderSetup(w, r, http.StatusOK, &setupPage{State: "form", Token: tok})
}

func (h *Handler) handleSetup(w http.ResponseWriter, r *http.Request) error {
	p := &setupPage{
		State: "form",
		Token: r.PostFormValue("token"),
		Name:  strings.TrimSpace(r.PostFormValue("name")),
		Email: strings.TrimSpace(r.PostFormValue("email")),
	}
	if p.Token == "" {
		p.State = "nolink"
		return h.renderSetup(w, r, http.StatusBadRequest, p)
	}
	password, repeat := r.PostFormValue("new_password"), r.PostFormValue("new_password_repeat")
	errs := formErrors{}
	if p.Name == "" {
		errs["name"] = "Enter your name."
	}
	if p.Email == "" {
		errs["email"] = "Enter your email address."
	}
	if password == "" {
		errs["new_password"] = "Choose a password."
	} else if repeat != password {
		errs["new_password_repeat"] = "The two passwords differ. Type the same password twice."
	}
	if len(errs) > 0 {
		p.Errors = errs
		return h.renderSetup(w, r, unprocessable, p)
	}
	u, err := h.svc.Setup(r.Context(), p.Token, p.Name, p.Email, password)
	switch talks.ErrorCode(err) {
	case "":
	case talks.EINVALID:
		p.Errors = formErrors{fieldOf(err, map[string]string{"name": "name", "email": "email", "password": "new_password"}): talks.ErrorMessage(err)}
		return h.renderSetup(w, r, unprocessable, p)
	case talks.EUNAUTHORIZED:
		return h.renderSetup(w, r, http.StatusForbidden, &setupPage{State: "bad"})
	case talks.ECONFLICT:
		return h.renderSetup(w, r, http.StatusConflict, &setupPage{State: "done"})
	default:
		return err
	}
	sess, err := h.svc.Login(r.Context(), u.Email, password, r.RemoteAddr)
	if err != nil {
		// The account exists; signing in by hand still works.
		h.logger.Error("web: sign in after setup", "user", u.ID, "err", err)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	h.startSession(w, r, sess)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// invitationRow is one invitation in the list.
type invitationRow struct {
	*talks.Invitation
	Party      string // "" for a facilitator
	CreatedBy  string
	AcceptedBy string
	State      string // pending, accepted, revoked or expired
}

// invitationForm is what was typed into the form that makes an invitation.
type invitationForm struct {
	Party, Role, Days string
}

// createdInvitation is an invitation just made, with its link shown once.
type createdInvitation struct {
	Link  string
	Party string
	Role  talks.Role
	Until time.Time
}

// invitationsPage is the data of a talk's invitations.
type invitationsPage struct {
	*talkCtx
	Flash       string
	Invitations []invitationRow
	MayInvite   bool
	Parties     []*talks.Party // those the viewer may invite to
	Facilitator bool           // the viewer may invite facilitators
	Roles       []talks.Role   // those the viewer may give
	Form        invitationForm
	Errors      formErrors
	Created     *createdInvitation
	DefaultDays int
	MaxDays     int
}

// The expiry choices of an invitation, in days.
var (
	defaultInvitationDays = int(talks.DefaultInvitationTTL / (24 * time.Hour))
	maxInvitationDays     = int(talks.MaxInvitationTTL / (24 * time.Hour))
)

// partyRoles are the roles of a party's member, in the order offered.
var partyRoles = []talks.Role{talks.RolePrincipal, talks.RoleEnvoy, talks.RoleAdvisor, talks.RoleObserver}

func (h *Handler) loadInvitations(r *http.Request) (*invitationsPage, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	tc, err := h.loadTalk(r, id)
	if err != nil {
		return nil, err
	}
	invs, err := h.svc.FindInvitations(r.Context(), id)
	if err != nil {
		return nil, err
	}
	p := &invitationsPage{talkCtx: tc, MayInvite: tc.View.MayInvite(), Errors: formErrors{},
		DefaultDays: defaultInvitationDays, MaxDays: maxInvitationDays,
		Form: invitationForm{Days: strconv.Itoa(defaultInvitationDays)}}
	for _, party := range tc.Parties {
		if tc.View.CanInvite(party.ID, talks.RolePrincipal) {
			p.Parties = append(p.Parties, party)
		}
	}
	p.Facilitator = tc.View.CanInvite(0, talks.RoleFacilitator)
	if len(p.Parties) > 0 {
		p.Roles = append(p.Roles, partyRoles...)
	}
	if p.Facilitator {
		p.Roles = append(p.Roles, talks.RoleFacilitator)
	}
	if len(p.Parties) == 1 && !p.Facilitator {
		p.Form.Party = strconv.FormatInt(p.Parties[0].ID, 10)
	}
	now := time.Now()
	for _, inv := range invs {
		row := invitationRow{Invitation: inv, Party: tc.PartyName(inv.PartyID), CreatedBy: tc.userName(inv.CreatedBy)}
		switch {
		case inv.AcceptedBy != 0:
			row.State = "accepted"
			row.AcceptedBy = tc.userName(inv.AcceptedBy)
		case !inv.RevokedAt.IsZero():
			row.State = "revoked"
		case !now.Before(inv.ExpiresAt):
			row.State = "expired"
		default:
			row.State = "pending"
		}
		p.Invitations = append(p.Invitations, row)
	}
	// Newest first: the one just made is at the top.
	for i, j := 0, len(p.Invitations)-1; i < j; i, j = i+1, j-1 {
		p.Invitations[i], p.Invitations[j] = p.Invitations[j], p.Invitations[i]
	}
	return p, nil
}

// userName returns the name of the member of the talk that is user userID,
// or "a former member".
func (c *talkCtx) userName(userID int64) string {
	for _, m := range c.members {
		if m.UserID == userID {
			return c.Names[m.ID]
		}
	}
	return "a former member"
}

func (h *Handler) invitationsFrame(r *http.Request, p *invitationsPage) *Page {
	pg := h.page(r, "Invitations · "+p.Talk.Title, p)
	pg.Live = &Live{TalkID: p.Talk.ID, Head: p.View.Head()}
	return pg
}

func (h *Handler) handleInvitations(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadInvitations(r)
	if err != nil {
		return err
	}
	p.Flash = invitationFlashes[r.URL.Query().Get("done")]
	return h.render(w, r, http.StatusOK, "invitations", h.invitationsFrame(r, p))
}

func (h *Handler) handleCreateInvitation(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadInvitations(r)
	if err != nil {
		return err
	}
	f := invitationForm{
		Party: strings.TrimSpace(r.PostFormValue("party")),
		Role:  strings.TrimSpace(r.PostFormValue("role")),
		Days:  strings.TrimSpace(r.PostFormValue("days")),
	}
	p.Form = f
	party, perr := strconv.ParseInt(f.Party, 10, 64)
	if f.Party == "" || perr != nil || (party != 0 && p.PartyName(party) == "") {
		p.Errors["party"] = "Choose one of the talk's parties, or none for a facilitator."
	}
	role := talks.Role(f.Role)
	if !role.Valid() {
		p.Errors["role"] = "Choose a role."
	}
	days, derr := strconv.Atoi(f.Days)
	if derr != nil || days < 1 || days > maxInvitationDays {
		p.Errors["days"] = "Enter a whole number of days from 1 to " + strconv.Itoa(maxInvitationDays) + "."
	}
	if len(p.Errors) == 0 {
		inv, err := h.svc.CreateInvitation(r.Context(), &talks.Invitation{
			TalkID: p.Talk.ID, PartyID: party, Role: role,
			ExpiresAt: time.Now().Add(time.Duration(days) * 24 * time.Hour),
		})
		switch talks.ErrorCode(err) {
		case "":
			wrote(r, inv.TalkID)
			// The list is read again so that it has the new invitation.
			np, err := h.loadInvitations(r)
			if err != nil {
				return err
			}
			np.Created = &createdInvitation{Link: h.siteOrigin(r) + "/invite/" + inv.Token,
				Party: p.PartyName(inv.PartyID), Role: inv.Role, Until: inv.ExpiresAt}
			// The secret is on this page: keep it out of any Referer.
			w.Header().Set("Referrer-Policy", "no-referrer")
			return h.render(w, r, http.StatusCreated, "invitations", h.invitationsFrame(r, np))
		case talks.EINVALID:
			p.Errors[fieldOf(err, map[string]string{"party": "party", "role": "role", "expire": "days"})] = talks.ErrorMessage(err)
		default:
			// EFORBIDDEN among them: the form offers only what the viewer
			// may do, so this is not a slip of the hand.
			return err
		}
	}
	return h.render(w, r, unprocessable, "invitations", h.invitationsFrame(r, p))
}

// siteOrigin returns "scheme://host" of the site as the browser sees it. Behind
// a TLS-terminating proxy, Options.Secure says https.
func (h *Handler) siteOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || h.secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *Handler) handleRevokeInvitation(w http.ResponseWriter, r *http.Request) error {
	talkID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	id, err := pathID(r, "inv")
	if err != nil {
		return err
	}
	// The invitation must be one of this talk's that the viewer manages,
	// so that the page redirected to is the one it belongs to.
	invs, err := h.svc.FindInvitations(r.Context(), talkID)
	if err != nil {
		return err
	}
	found := false
	for _, inv := range invs {
		found = found || inv.ID == id
	}
	if !found {
		return talks.Errorf(talks.ENOTFOUND, "Invitation not found.")
	}
	if _, err := h.svc.RevokeInvitation(r.Context(), id); err != nil {
		return err
	}
	wrote(r, talkID)
	http.Redirect(w, r, "/talks/"+strconv.FormatInt(talkID, 10)+"/invitations?done=revoked", http.StatusSeeOther)
	return nil
}

// invitePage is the data of the page that accepts an invitation.
type invitePage struct {
	Token   string
	Login   string // the sign-in link that comes back here
	Problem string // why the link cannot be used; "" if it may be
	Heading string

	// Preview is what the invitation offers, from the link alone.
	Preview *talks.InvitationPreview
	// The sign-up form of someone without an account, as typed.
	Name, Email string
	Errors      formErrors
}

// invitationTokenLen is the length of "bci_" and 32 bytes in unpadded
// base64url, the form of every invitation token.
const invitationTokenLen = len("bci_") + 43

// wellFormedInvitation reports whether tok could be an invitation token, so
// that a link cut short when copied is told apart before anything else.
func wellFormedInvitation(tok string) bool {
	if len(tok) != invitationTokenLen || !strings.HasPrefix(tok, "bci_") || !utf8.ValidString(tok) {
		return false
	}
	for _, c := range tok[4:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (h *Handler) renderInvite(w http.ResponseWriter, r *http.Request, status int, p *invitePage) error {
	title := "Join a talk"
	if p.Problem != "" {
		title = p.Heading
	}
	return h.render(w, r, status, "invite", h.page(r, title, p))
}

func (h *Handler) handleInvitePage(w http.ResponseWriter, r *http.Request) error {
	// The secret is in the path: no page reached from here may learn it.
	w.Header().Set("Referrer-Policy", "no-referrer")
	tok := r.PathValue("token")
	p := &invitePage{Token: tok, Login: "/login?next=" + url.QueryEscape("/invite/"+tok)}
	if !wellFormedInvitation(tok) {
		p.Heading, p.Problem = "This link does not work", "This invitation link is not valid. Check that you copied all of it, or ask for a new one."
		return h.renderInvite(w, r, http.StatusNotFound, p)
	}
	pv, err := h.svc.InvitationPreview(r.Context(), tok)
	switch code := talks.ErrorCode(err); code {
	case "":
		p.Preview = pv
	case talks.ENOTFOUND, talks.ECONFLICT, talks.EINVALID:
		p.Heading, p.Problem = "This link does not work", talks.ErrorMessage(err)
		return h.renderInvite(w, r, statusOf(code), p)
	default:
		return err
	}
	return h.renderInvite(w, r, http.StatusOK, p)
}

// handleSignUp makes an account for someone without one from an invitation
// link, makes it a member as the invitation says, signs it in and opens the
// talk. A field error is shown next to its field with what was typed kept
// (but never a password); a link that stopped working gets its reason.
func (h *Handler) handleSignUp(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	tok := r.PathValue("token")
	p := &invitePage{Token: tok, Login: "/login?next=" + url.QueryEscape("/invite/"+tok), Errors: formErrors{},
		Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email"))}
	if !wellFormedInvitation(tok) {
		p.Heading, p.Problem = "This link does not work", "This invitation link is not valid. Check that you copied all of it, or ask for a new one."
		return h.renderInvite(w, r, http.StatusNotFound, p)
	}
	pw, repeat := r.PostFormValue("new_password"), r.PostFormValue("repeat_password")
	if p.Name == "" {
		p.Errors["name"] = "Enter your name, as the other members will see it."
	}
	if p.Email == "" {
		p.Errors["email"] = "Enter your email address; you will sign in with it."
	}
	if pw == "" {
		p.Errors["new_password"] = "Choose a password."
	} else if repeat != pw {
		p.Errors["repeat_password"] = "The two passwords differ."
	}
	if len(p.Errors) == 0 {
		sess, m, err := h.svc.SignUpWithInvitation(r.Context(), tok, p.Name, p.Email, pw, r.RemoteAddr)
		if err == nil {
			h.startSession(w, r, sess)
			wrote(r, m.TalkID)
			http.Redirect(w, r, "/talks/"+strconv.FormatInt(m.TalkID, 10), http.StatusSeeOther)
			return nil
		}
		code, msg := talks.ErrorCode(err), talks.ErrorMessage(err)
		switch {
		case code == talks.EINTERNAL:
			return err
		case code == talks.ENOTFOUND || msg == talks.ErrorMessage(talks.ErrInvitationUsed) ||
			msg == talks.ErrorMessage(talks.ErrInvitationRevoked) || msg == talks.ErrorMessage(talks.ErrInvitationExpired):
			// The link itself no longer works.
			p.Heading, p.Problem = "This link does not work", msg
			return h.renderInvite(w, r, statusOf(code), p)
		default:
			p.Errors[fieldOf(err, map[string]string{"name": "name", "email": "email", "password": "new_password"})] = msg
		}
	}
	pv, err := h.svc.InvitationPreview(r.Context(), tok)
	if err != nil {
		p.Heading, p.Problem = "This link does not work", talks.ErrorMessage(err)
		return h.renderInvite(w, r, statusOf(talks.ErrorCode(err)), p)
	}
	p.Preview = pv
	return h.renderInvite(w, r, http.StatusUnprocessableEntity, p)
}

// handleAPIInviteLink sends the link that the JSON API answers for a new
// invitation (/invitations/accept?token=...) to the page that accepts it.
func (h *Handler) handleAPIInviteLink(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	tok := r.URL.Query().Get("token")
	if !wellFormedInvitation(tok) {
		return h.renderInvite(w, r, http.StatusNotFound, &invitePage{Token: tok, Heading: "This link does not work",
			Problem: "This invitation link is not valid. Check that you copied all of it, or ask for a new one."})
	}
	http.Redirect(w, r, "/invite/"+tok, http.StatusSeeOther)
	return nil
}

func (h *Handler) handleAcceptInvitation(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	tok := r.PathValue("token")
	if talks.UserFromContext(r.Context()) == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/invite/"+tok), http.StatusSeeOther)
		return nil
	}
	p := &invitePage{Token: tok, Heading: "This link does not work"}
	if !wellFormedInvitation(tok) {
		p.Problem = "This invitation link is not valid. Check that you copied all of it, or ask for a new one."
		return h.renderInvite(w, r, http.StatusNotFound, p)
	}
	m, err := h.svc.AcceptInvitation(r.Context(), tok)
	switch code := talks.ErrorCode(err); code {
	case "":
		wrote(r, m.TalkID)
		http.Redirect(w, r, "/talks/"+strconv.FormatInt(m.TalkID, 10), http.StatusSeeOther)
		return nil
	case talks.ENOTFOUND, talks.ECONFLICT, talks.EINVALID:
		// Not found, used, revoked, expired, or already a member: the
		// Service's message says which.
		p.Problem = talks.ErrorMessage(err)
		if talks.ErrorMessage(err) == talks.ErrorMessage(talks.ErrAlreadyMember) {
			p.Heading = "You are already in this talk"
		}
		return h.renderInvite(w, r, statusOf(code), p)
	default:
		return err
	}
}
