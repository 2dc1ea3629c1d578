// Package server is the HTTP face of the talks service: a JSON API under
// /api/v1, described by an OpenAPI 3.1 document it serves, with sessions,
// API tokens and CSRF protection, and Server-Sent Events of a talk's log.
//
// Handlers are thin: they decode a request, call talks.Service, which holds
// every access rule, and map its result to API types that have no field for
// a password hash or a token hash. Errors are talks.Error codes, mapped to
// HTTP status by one table (errors.go).
package server

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// Options configure a Server.
type Options struct {
	Logger  *slog.Logger // nil logs to slog.Default()
	CSRFKey []byte       // 32 secret bytes that CSRF tokens derive from
	// LedgerKey signs the checkpoints of record bundles; the record routes
	// answer 404 without it.
	LedgerKey *ledger.Key
	Secure    bool // set the Secure flag of the session cookie (HTTPS)
	// MaxWrites bounds the API's write requests handled at once; the
	// others wait their turn, first come first served. 0 means
	// DefaultMaxWrites.
	MaxWrites int
}

// Server is the HTTP handler of the API. It is safe for concurrent use.
type Server struct {
	svc     *talks.Service
	logger  *slog.Logger
	csrfKey []byte
	ledger  *ledger.Key
	secure  bool
	mux     *http.ServeMux
	broker  *broker
	origin  *http.CrossOriginProtection
	writes  chan struct{} // a token per write request being handled

	heartbeat time.Duration // of event streams; tests shorten it
	streams   atomic.Int64  // event streams open now

	closeOnce sync.Once
	done      chan struct{} // closed by Close: event streams end
}

// New returns a Server over svc.
func New(svc *talks.Service, opt Options) *Server {
	s := &Server{
		svc:     svc,
		logger:  opt.Logger,
		csrfKey: opt.CSRFKey,
		ledger:  opt.LedgerKey,
		secure:  opt.Secure,
		mux:     http.NewServeMux(),
		broker:  newBroker(),
		origin:  http.NewCrossOriginProtection(),
		done:    make(chan struct{}),

		heartbeat: HeartbeatInterval,
	}
	if opt.MaxWrites <= 0 {
		opt.MaxWrites = DefaultMaxWrites
	}
	s.writes = make(chan struct{}, opt.MaxWrites)
	if s.logger == nil {
		s.logger = slog.Default()
	}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Path, s.handle(rt))
	}
	s.mux.HandleFunc("/api/", s.handleNoRoute)
	if svc != nil {
		go s.sweepSessions(SessionSweepInterval)
	}
	return s
}

// SessionSweepInterval is how often a Server deletes expired sessions and
// sign-in links.
const SessionSweepInterval = time.Hour

// sweepSessions deletes expired sessions and sign-in links every interval
// until Close.
func (s *Server) sweepSessions(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			n, links, err := s.svc.DeleteExpiredSessions(ctx)
			cancel()
			if err != nil {
				s.logger.Error("sessions: sweep", "err", err)
			} else if n > 0 || links > 0 {
				s.logger.Info("sessions: swept expired", "count", n, "sign_in_links", links)
			}
		}
	}
}

// handleNoRoute answers a request that no route matches: 405 with Allow if
// the path has routes for other methods, else 404, both as JSON errors.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/api/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, talks.Errorf(EMETHOD, "%s is not allowed here; use %s.", r.Method, strings.Join(allow, " or ")))
		return
	}
	s.writeError(w, r, talks.Errorf(talks.ENOTFOUND, "No such API route."))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Streams returns how many event streams are open.
func (s *Server) Streams() int64 { return s.streams.Load() }

// Close ends every event stream, so that a graceful shutdown of the
// http.Server need not wait for them, and stops the sweep of expired
// sessions. Requests that are not streams are unaffected. Call it before
// http.Server.Shutdown.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}

// access is who may call a route.
type access int

const (
	public access = iota // anyone; the handler checks what it needs
	user                 // a signed-in user (session or API token)
)

// route is one API route. routes() is the single list that both the mux and
// the tests (OpenAPI document, access matrix) read.
type route struct {
	Method string
	Path   string
	Access access
	// Param names the kind of resource the path's {id} names ("talk",
	// "track", "message", "proposal", "version", "answer", "token"), or ""
	// for a route without one. The access matrix test reads it.
	Param  string
	Handle func(w http.ResponseWriter, r *http.Request) error
}

// routes lists every API route.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/api/v1/openapi.json", public, "", s.handleOpenAPI},

		{"POST", "/api/v1/setup", public, "", s.handleSetup},
		{"POST", "/api/v1/login", public, "", s.handleLogin},
		{"POST", "/api/v1/logout", public, "", s.handleLogout},
		{"GET", "/api/v1/me", user, "", s.handleMe},
		{"GET", "/api/v1/me/talks/events", user, "", s.handleMyTalksEvents},
		{"GET", "/api/v1/tokens", user, "", s.handleTokens},
		{"POST", "/api/v1/tokens", user, "", s.handleCreateToken},
		{"DELETE", "/api/v1/tokens/{id}", user, "token", s.handleRevokeToken},

		{"GET", "/api/v1/talks", user, "", s.handleTalks},
		{"POST", "/api/v1/talks", user, "", s.handleCreateTalk},
		{"GET", "/api/v1/talks/{id}", user, "talk", s.handleTalk},
		{"PATCH", "/api/v1/talks/{id}", user, "talk", s.handleUpdateTalk},
		{"GET", "/api/v1/talks/{id}/parties", user, "talk", s.handleParties},
		{"POST", "/api/v1/talks/{id}/parties", user, "talk", s.handleAddParty},
		{"GET", "/api/v1/talks/{id}/members", user, "talk", s.handleMembers},
		{"POST", "/api/v1/talks/{id}/members", user, "talk", s.handleAddMember},
		{"PATCH", "/api/v1/talks/{id}/members/{member}", user, "talk", s.handleChangeMemberRole},
		{"DELETE", "/api/v1/talks/{id}/members/{member}", user, "talk", s.handleRemoveMember},
		{"GET", "/api/v1/talks/{id}/tracks", user, "talk", s.handleTracks},
		{"POST", "/api/v1/talks/{id}/tracks", user, "talk", s.handleCreateTrack},
		{"GET", "/api/v1/talks/{id}/proposals", user, "talk", s.handleTalkProposals},
		{"GET", "/api/v1/talks/{id}/agreement", user, "talk", s.handleAgreement},
		{"GET", "/api/v1/talks/{id}/diff", user, "talk", s.handleDiff},
		{"GET", "/api/v1/talks/{id}/events", user, "talk", s.handleEvents},
		{"GET", "/api/v1/talks/{id}/preferences", user, "talk", s.handlePreferences},
		{"POST", "/api/v1/talks/{id}/preferences", user, "talk", s.handleSavePreferences},
		{"POST", "/api/v1/talks/{id}/preferences/import", user, "talk", s.handleImportPreferences},
		{"GET", "/api/v1/talks/{id}/standing", user, "talk", s.handleStanding},
		{"GET", "/api/v1/talks/{id}/checkpoint", user, "talk", s.handleCheckpoint},
		{"GET", "/api/v1/talks/{id}/events/{seq}/proof", user, "talk", s.handleInclusionProof},
		{"GET", "/api/v1/talks/{id}/consistency", user, "talk", s.handleConsistencyProof},
		{"GET", "/api/v1/talks/{id}/record", user, "talk", s.handleRecord},
		{"GET", "/api/v1/talks/{id}/key", user, "talk", s.handleKey},
		{"PUT", "/api/v1/talks/{id}/key", user, "talk", s.handleRegisterKey},
		{"GET", "/api/v1/talks/{id}/key/private", user, "talk", s.handleExportKey},
		{"DELETE", "/api/v1/talks/{id}/key/private", user, "talk", s.handleReleaseKey},
		{"POST", "/api/v1/talks/{id}/rehearsals", user, "talk", s.handleRehearse},
		{"GET", "/api/v1/talks/{id}/mandates", user, "talk", s.handleMandates},
		{"GET", "/api/v1/talks/{id}/mandates/{envoy}", user, "talk", s.handleMandate},
		{"PUT", "/api/v1/talks/{id}/mandates/{envoy}", user, "talk", s.handleSaveMandate},
		{"GET", "/api/v1/talks/{id}/invitations", user, "talk", s.handleInvitations},
		{"POST", "/api/v1/talks/{id}/invitations", user, "talk", s.handleCreateInvitation},
		{"DELETE", "/api/v1/invitations/{id}", user, "invitation", s.handleRevokeInvitation},
		{"POST", "/api/v1/invitations/accept", user, "", s.handleAcceptInvitation},
		{"GET", "/api/v1/invitations/preview", public, "", s.handleInvitationPreview},
		{"POST", "/api/v1/invitations/signup", public, "", s.handleSignUp},

		{"GET", "/api/v1/tracks/{id}", user, "track", s.handleTrack},
		{"POST", "/api/v1/tracks/{id}/members", user, "track", s.handleAddTrackMember},
		{"DELETE", "/api/v1/tracks/{id}/members/{member}", user, "track", s.handleRemoveTrackMember},
		{"GET", "/api/v1/tracks/{id}/messages", user, "track", s.handleMessages},
		{"POST", "/api/v1/tracks/{id}/messages", user, "track", s.handlePostMessage},
		{"GET", "/api/v1/tracks/{id}/proposals", user, "track", s.handleTrackProposals},
		{"POST", "/api/v1/tracks/{id}/proposals", user, "track", s.handleCreateProposal},
		{"GET", "/api/v1/tracks/{id}/meetings", user, "track", s.handleMeetings},
		{"POST", "/api/v1/tracks/{id}/meetings", user, "track", s.handleScheduleMeeting},
		{"GET", "/api/v1/meetings/{id}", user, "meeting", s.handleMeeting},
		{"PATCH", "/api/v1/meetings/{id}", user, "meeting", s.handleUpdateMeeting},
		{"POST", "/api/v1/messages/{id}/retract", user, "message", s.handleRetractMessage},

		{"GET", "/api/v1/proposals/{id}", user, "proposal", s.handleProposal},
		{"GET", "/api/v1/proposals/{id}/versions", user, "proposal", s.handleVersions},
		{"GET", "/api/v1/versions/{id}", user, "version", s.handleVersion},
		{"POST", "/api/v1/versions/{id}/counter", user, "version", s.handleCounter},
		{"GET", "/api/v1/versions/{id}/answers", user, "version", s.handleAnswers},
		{"POST", "/api/v1/versions/{id}/answers", user, "version", s.handleAnswer},
		{"GET", "/api/v1/versions/{id}/suggestions", user, "version", s.handleSuggestions},
		{"POST", "/api/v1/answers/{id}/withdraw", user, "answer", s.handleWithdrawAnswer},

		// Disclosure and hand-off (api_disclosure.go).
		{"GET", "/api/v1/talks/{id}/agreement/reads", user, "talk", s.handleAgreementReads},
		{"GET", "/api/v1/talks/{id}/disclosure", user, "talk", s.handleDisclosure},
		{"PUT", "/api/v1/talks/{id}/disclosure", user, "talk", s.handleProposeDisclosure},
		{"POST", "/api/v1/talks/{id}/disclosure/consent", user, "talk", s.handleConsentDisclosure},
		{"GET", "/api/v1/talks/{id}/handoff", user, "talk", s.handleHandoff},
		{"POST", "/api/v1/talks/{id}/handoff", user, "talk", s.handleCarryAgreement},
		{"GET", "/api/v1/public/talks/{id}", public, "", s.handlePublicDisclosure},

		// Stakeholders and ratification (api_stakeholders.go).
		{"GET", "/api/v1/talks/{id}/stakeholders", user, "talk", s.handleStakeholders},
		{"POST", "/api/v1/talks/{id}/stakeholders", user, "talk", s.handleAddStakeholder},
		{"GET", "/api/v1/talks/{id}/red-lines", user, "talk", s.handleRedLines},
		{"POST", "/api/v1/talks/{id}/red-lines", user, "talk", s.handleSaveRedLines},
		{"GET", "/api/v1/talks/{id}/ratification", user, "talk", s.handleRatification},
		{"POST", "/api/v1/talks/{id}/ratification", user, "talk", s.handleRatify},
		{"POST", "/api/v1/talks/{id}/reopen", user, "talk", s.handleReopenTalk},
		{"GET", "/api/v1/talks/{id}/rounds", user, "talk", s.handleRounds},
	}
}

// handle wraps a route's handler with authentication, the CSRF check and
// error writing.
func (s *Server) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Browsers say where a request comes from (Sec-Fetch-Site, Origin):
		// refuse cross-origin writes outright, which guards the routes that
		// need no session, such as login, against forgery too.
		if err := s.origin.Check(r); err != nil {
			s.writeError(w, r, talks.Errorf(talks.EFORBIDDEN, "Cross-origin request refused."))
			return
		}
		r, err := s.authenticate(w, r)
		if err == nil && rt.Access == user && talks.UserFromContext(r.Context()) == nil {
			err = talks.Errorf(talks.EUNAUTHORIZED, "Sign in or present an API token.")
		}
		if err == nil {
			err = s.checkCSRF(r)
		}
		if err == nil && rt.Method != http.MethodGet {
			if err = s.admit(r.Context()); err == nil {
				defer func() { <-s.writes }()
			}
		}
		if err == nil {
			err = rt.Handle(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// DefaultMaxWrites is how many API writes a Server handles at once unless
// told otherwise. It is the figure for SQLite, whose one committer shares
// the CPU with the handlers: more writes at once there bought writes per
// second with a longer tail.
const DefaultMaxWrites = 64

// PostgreSQLMaxWrites is the limit that serve gives a Server on
// PostgreSQL. There the committer waits on round trips to the database
// more than on the CPU, so more writes waiting for it make fuller batches
// of the same round trips: at 200 clients, 128 against 64 gave more
// messages per second and a shorter p99 in 6 of 7 alternating pairs, and
// more counter-proposals per second and a shorter p99 in 5 of 7
// (docs/benchmarks.md).
const PostgreSQLMaxWrites = 128

// admit waits for a write's turn. Writes share one durable commit per
// batch, so a few dozen at once keep the disk as busy as hundreds would;
// hundreds would only share the CPU, each slowed by all the others, and
// some would starve while others finished. Go's channels queue blocked
// senders in order, so the writes kept waiting are served first come,
// first served, and each waits about as long as the others.
func (s *Server) admit(ctx context.Context) error {
	select {
	case s.writes <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

//go:embed openapi.json
var openapiDoc []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := w.Write(openapiDoc)
	_ = err // a client that went away cannot be told
	return nil
}
