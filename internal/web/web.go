// Package web is the browser face of the talks service: server-rendered
// pages (html/template) with htmx for interaction, live updates from the
// API's event stream, and vendored static assets, all embedded in the
// binary. No asset comes from another host.
//
// Handlers are thin, as in package server: they read a form, call
// talks.Service, which holds every access rule, and render a template. What
// the Service says does not exist is a 404 page, never a 403. A form that
// fails validation is rendered again with what was typed and the error
// next to its field.
package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// SessionCookie is the name of the session cookie, the same one the JSON
// API (package server) reads, so that the pages' scripts can call the API.
const SessionCookie = "backchannel_session"

// MaxFormSize bounds the body of any request to a page or form action:
// an imported profile (talks.MaxProfileLen) with room for the form around it.
const MaxFormSize = talks.MaxProfileLen + 1<<20

// CSRFField is the form field that carries the CSRF token; htmx requests
// send it as the X-CSRF-Token header instead.
const CSRFField = "csrf"

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Handler.
type Options struct {
	Logger  *slog.Logger // nil logs to slog.Default()
	CSRFKey []byte       // the same key the API uses
	Secure  bool         // set the Secure flag of the session cookie (HTTPS)

	// Notifier wakes the talk's event streams after a write, so that live
	// pages update; nil wakes none (pages then update on their next load).
	Notifier Notifier
}

// Notifier wakes the event streams that live pages follow. The JSON API's
// server.Server is one.
type Notifier interface {
	Notify(talkID int64) // after a write to talk talkID
}

// Handler serves the web UI. It is safe for concurrent use.
type Handler struct {
	svc     *talks.Service
	logger  *slog.Logger
	csrfKey []byte
	secure  bool
	mux     *http.ServeMux
	origin  *http.CrossOriginProtection
	pages   map[string]*template.Template
	static  *staticFiles
	notify  Notifier
}

// New returns the web UI over svc.
func New(svc *talks.Service, opt Options) *Handler {
	h := &Handler{
		svc:     svc,
		logger:  opt.Logger,
		csrfKey: opt.CSRFKey,
		secure:  opt.Secure,
		mux:     http.NewServeMux(),
		origin:  http.NewCrossOriginProtection(),
		pages:   parsePages(),
		static:  assets,
		notify:  opt.Notifier,
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	h.mux.Handle("GET /static/", h.static)
	for _, rt := range h.routes() {
		h.mux.Handle(rt.Method+" "+rt.Path, h.handle(rt))
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// access is who may open a page.
type access int

const (
	public   access = iota // anyone
	signedIn               // a signed-in user; others are sent to /login
)

// route is one page or form action. routes() is the single list that the mux
// and the tests read.
type route struct {
	Method string
	Path   string
	Access access
	Handle func(w http.ResponseWriter, r *http.Request) error
}

// handle wraps a route with the cross-origin check, authentication, the CSRF
// check and error pages.
func (h *Handler) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		if err := h.origin.Check(r); err != nil {
			h.renderError(w, r, talks.Errorf(talks.EFORBIDDEN, "Cross-origin request refused."))
			return
		}
		// Bound every form, a profile upload included, before anything
		// parses it (the CSRF check below does).
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormSize)
		r = h.authenticate(w, r)
		if rt.Access == signedIn && talks.UserFromContext(r.Context()) == nil {
			h.redirectToLogin(w, r)
			return
		}
		if err := h.checkCSRF(r); err != nil {
			h.renderError(w, r, err)
			return
		}
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		var wrote wroteTalk
		if write {
			r = r.WithContext(context.WithValue(r.Context(), wroteKey{}, &wrote))
		}
		err := rt.Handle(w, r)
		if err != nil {
			h.renderError(w, r, err)
		}
		if wrote.id != 0 && err == nil && h.notify != nil {
			// Wake the streams of the talk written to, so every page that
			// follows it updates at once. Every handler that writes to a
			// talk names it; other writes (sign-in, account) wake none.
			h.notify.Notify(wrote.id)
		}
	})
}

type wroteKey struct{}

// wroteTalk is where a write handler names the talk it wrote to.
type wroteTalk struct{ id int64 }

// wrote records that the request wrote to talk talkID, whose event streams
// handle then wakes.
func wrote(r *http.Request, talkID int64) {
	if w, ok := r.Context().Value(wroteKey{}).(*wroteTalk); ok {
		w.id = talkID
	}
}

type sessionKey struct{}

func sessionFromContext(ctx context.Context) *talks.Session {
	sess, _ := ctx.Value(sessionKey{}).(*talks.Session)
	return sess
}

// authenticate sets the user of r from the session cookie; a bad or expired
// cookie is as good as none, and is cleared.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) *http.Request {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return r
	}
	sess, err := h.svc.FindSession(r.Context(), c.Value)
	if err != nil {
		if talks.ErrorCode(err) == talks.EUNAUTHORIZED {
			h.clearCookie(w)
		} else {
			h.logger.Error("web: find session", "err", err)
		}
		return r
	}
	ctx := talks.NewContextWithUser(r.Context(), sess.User)
	ctx = context.WithValue(ctx, sessionKey{}, sess)
	return r.WithContext(ctx)
}

// checkCSRF requires the session's CSRF token, in the form or the
// X-CSRF-Token header, on every state-changing request of a session.
func (h *Handler) checkCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	sess := sessionFromContext(r.Context())
	if sess == nil {
		return nil
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostFormValue(CSRFField)
	}
	if !talks.CheckCSRFToken(h.csrfKey, sess, tok) {
		return talks.Errorf(talks.EFORBIDDEN, "This form has expired or did not come from this site. Reload the page and try again.")
	}
	return nil
}

func (h *Handler) setCookie(w http.ResponseWriter, sess *talks.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sess.Token, Path: "/",
		Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt).Seconds()),
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
}

// startSession sets the cookie of new session sess and ends the session
// that authenticated r, if any: signing in as someone else (a sign-in
// link, a sign-up, the login form) leaves no session behind that the
// browser no longer names. The new session is open already, so a failure
// to end the old one is logged, not returned.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, sess *talks.Session) {
	if tok := sessionToken(r); tok != "" {
		if err := h.svc.Logout(r.Context(), tok); err != nil {
			h.logger.Error("web: end the session replaced", "err", err)
		}
	}
	h.setCookie(w, sess)
}

// sessionToken returns the token of the session cookie of r if that
// session authenticated r, or "".
func sessionToken(r *http.Request) string {
	// FindSession leaves the token out of the session it returns.
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" && sessionFromContext(r.Context()) != nil {
		return c.Value
	}
	return ""
}

func (h *Handler) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
}

// redirectToLogin sends a visitor who is not signed in to the login page,
// which brings it back afterwards. An htmx request is told to reload the
// whole page there.
func (h *Handler) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// isHTMX reports whether r came from htmx (a fragment is wanted).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// safeNext returns next if it is a path on this site, else "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// Page is what every page template receives: the common frame and the page's
// own data.
type Page struct {
	Title string
	User  *talks.User
	CSRF  string // the CSRF token of the session, for forms and htmx

	// Live, if set, is the talk whose events the page follows, from event
	// Head on; the layout then opens the event stream.
	Live *Live
	// Stream, if set, is an event stream of the user's own (not a talk's)
	// that the page follows: My talks follows the list of its talks.
	Stream string

	// Back marks a page of a back-channel: the layout shows its banner.
	Back bool

	Data any
}

// Live names the event stream a page follows.
type Live struct {
	TalkID int64
	Head   int64
	// TrackID, if set, is the track the page is of: the stream is bound
	// to it (?require_track=), so that the page learns when the track is
	// gone for its reader.
	TrackID int64
}

// trackFrame returns the frame of a page of track tr, titled title: live on
// its talk, bound to tr, and in back-channel colours when tr is one.
func (h *Handler) trackFrame(r *http.Request, title string, data any, v *talks.View, tr *talks.Track) *Page {
	pg := h.page(r, title, data)
	pg.Live = &Live{TalkID: tr.TalkID, Head: v.Head(), TrackID: tr.ID}
	pg.Back = tr.Kind == talks.TrackBackchannel
	return pg
}

// page returns the common frame of a page for r.
func (h *Handler) page(r *http.Request, title string, data any) *Page {
	p := &Page{Title: title, User: talks.UserFromContext(r.Context()), Data: data}
	if sess := sessionFromContext(r.Context()); sess != nil {
		p.CSRF = talks.CSRFToken(h.csrfKey, sess)
	}
	return p
}

// render writes page name (a file under templates/pages) with status. For
// an htmx request that names a target fragment with a template of the same
// name, only that fragment is rendered.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) error {
	t, ok := h.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	return h.execute(w, status, t, "layout", p)
}

// renderFragment writes the template block named block of page name, for
// htmx swaps.
func (h *Handler) renderFragment(w http.ResponseWriter, status int, name, block string, p *Page) error {
	t, ok := h.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	return h.execute(w, status, t, block, p)
}

func (h *Handler) execute(w http.ResponseWriter, status int, t *template.Template, block string, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		return fmt.Errorf("web: render %s: %w", block, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a client that went away cannot be told
	return nil
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Heading string
	Message string
}

// renderError renders err as a page (or a fragment for htmx) with the status
// its code maps to. An internal error is logged, and its text not shown.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	code := talks.ErrorCode(err)
	if code == talks.EUNAUTHORIZED {
		h.redirectToLogin(w, r)
		return
	}
	e := errorPage{Status: statusOf(code), Message: talks.ErrorMessage(err)}
	switch code {
	case talks.ENOTFOUND:
		e.Heading = "Not found"
		e.Message = "There is nothing here, or it is not yours to see."
	case talks.EFORBIDDEN:
		e.Heading = "Not allowed"
	case talks.EINVALID, talks.ECONFLICT:
		e.Heading = "That did not work"
	default:
		h.logger.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e.Heading = "Something went wrong"
		e.Message = "The server could not do this. Nothing was changed; try again in a moment."
	}
	p := h.page(r, e.Heading, e)
	var rerr error
	if isHTMX(r) {
		rerr = h.renderFragment(w, e.Status, "error", "flash", p)
	} else {
		rerr = h.render(w, r, e.Status, "error", p)
	}
	if rerr != nil {
		h.logger.Error("web: render error page", "err", rerr)
		http.Error(w, e.Message, e.Status)
	}
}

// statusOf maps an error code to an HTTP status, as the API does.
func statusOf(code string) int {
	switch code {
	case talks.EINVALID:
		return http.StatusBadRequest
	case talks.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case talks.EFORBIDDEN:
		return http.StatusForbidden
	case talks.ENOTFOUND:
		return http.StatusNotFound
	case talks.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// pathID returns the positive integer path value name, or ENOTFOUND: a
// malformed ID names nothing.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, talks.Errorf(talks.ENOTFOUND, "Not found.")
	}
	return id, nil
}

// formErrors maps a form field to its error message; "" is for the form as
// a whole.
type formErrors map[string]string

// fieldOf returns the form field an error is about, from the error's
// message, or "" for the whole form. fields maps a word that the Service's
// messages use to the field's name; the word that comes first in the
// message wins (the longer one at the same place).
func fieldOf(err error, fields map[string]string) string {
	msg := strings.ToLower(talks.ErrorMessage(err))
	best, at, field := "", -1, ""
	for word, f := range fields {
		i := strings.Index(msg, word)
		if i < 0 {
			continue
		}
		if at < 0 || i < at || i == at && len(word) > len(best) {
			best, at, field = word, i, f
		}
	}
	return field
}

// parsePages parses every page under templates/pages with the layout and the
// shared partials.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html"))
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
		pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/pages/"), ".html")] = t
	}
	return pages
}
