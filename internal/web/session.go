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
		{"GET", "/login/link", public, h.handleLoginLink},
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
			h.setCookie(w, sess)
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

// handleLoginLink signs in with a one-time sign-in link, such as those
// that --demo prints (Service.CreateLoginLink), and goes to the home page;
// a link that is invalid, used or expired shows the sign-in form.
func (h *Handler) handleLoginLink(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.svc.LoginWithLink(r.Context(), r.URL.Query().Get("token"))
	switch talks.ErrorCode(err) {
	case "":
		h.setCookie(w, sess)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	case talks.EUNAUTHORIZED:
		return h.render(w, r, http.StatusForbidden, "login", h.page(r, "Sign in", loginPage{Next: "/", Errors: formErrors{"": talks.ErrorMessage(err)}}))
	default:
		return err
	}
}

func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) error {
	// The session is the cookie's (FindSession leaves the token out of the
	// session it returns), ended only if it authenticated this request.
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" && sessionFromContext(r.Context()) != nil {
		if err := h.svc.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
