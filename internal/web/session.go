package web

import (
	"net/http"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
)

func (h *Handler) sessionRoutes() []route {
	return []route{
		{"GET", "/login", public, h.handleLoginPage},
		{"POST", "/login", public, h.handleLogin},
		{"GET", "/login/link", public, h.handleLoginLinkPage},
		{"POST", "/login/link", public, h.handleLoginLink},
		{"POST", "/logout", public, h.handleLogout},
	}
}

// loginPage is the data of the sign-in page.
type loginPage struct {
	Email  string
	Next   string
	Errors formErrors
}

func (h *Handler) handleLoginPage(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if talks.UserFromContext(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return h.render(w, r, http.StatusOK, "login", h.page(r, "Sign in", loginPage{Next: next}))
}

func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	errs := formErrors{}
	if email == "" {
		errs["email"] = "Enter your email address."
	}
	if password == "" {
		errs["password"] = "Enter your password."
	}
	if len(errs) == 0 {
		sess, err := h.svc.Login(r.Context(), email, password, r.RemoteAddr)
		if err == nil {
			h.startSession(w, r, sess)
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
		if code := talks.ErrorCode(err); code != talks.EUNAUTHORIZED && code != talks.EINVALID {
			return err
		}
		errs[""] = talks.ErrorMessage(err)
	}
	return h.render(w, r, http.StatusUnauthorized, "login", h.page(r, "Sign in", loginPage{Email: email, Next: next, Errors: errs}))
}

// loginLinkPage is the data of the page that a sign-in link opens.
type loginLinkPage struct {
	Token string
}

// handleLoginLinkPage answers a one-time sign-in link, such as those that
// --demo prints (Service.CreateLoginLink), with a button that uses it: a
// GET changes nothing, so a mail scanner or a link preview that follows the
// link does not spend it.
func (h *Handler) handleLoginLinkPage(w http.ResponseWriter, r *http.Request) error {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return h.refuseLoginLink(w, r, talks.ErrLoginLink)
	}
	return h.render(w, r, http.StatusOK, "loginlink", h.page(r, "Sign in", loginLinkPage{Token: tok}))
}

// handleLoginLink signs in with the token of a sign-in link and goes to the
// home page; a token that is invalid, used or expired shows the sign-in
// form.
func (h *Handler) handleLoginLink(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.svc.LoginWithLink(r.Context(), r.PostFormValue("token"))
	if err != nil {
		return h.refuseLoginLink(w, r, err)
	}
	h.startSession(w, r, sess)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// refuseLoginLink shows the sign-in form with the message of err if err is
// the refusal of a sign-in link, and returns err otherwise.
func (h *Handler) refuseLoginLink(w http.ResponseWriter, r *http.Request, err error) error {
	if talks.ErrorCode(err) != talks.EUNAUTHORIZED {
		return err
	}
	return h.render(w, r, http.StatusForbidden, "login", h.page(r, "Sign in", loginPage{Next: "/", Errors: formErrors{"": talks.ErrorMessage(err)}}))
}

func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) error {
	// The session is the cookie's, ended only if it authenticated this
	// request.
	if tok := sessionToken(r); tok != "" {
		if err := h.svc.Logout(r.Context(), tok); err != nil {
			return err
		}
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
