package main

import (
	"log/slog"
	"net/http"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/internal/web"
)

// appOptions are the options of the application handler.
type appOptions struct {
	Logger    *slog.Logger
	CSRFKey   []byte
	LedgerKey *ledger.Key // signs record bundles; nil serves no record
	Secure    bool
	MaxWrites int // server.Options.MaxWrites
}

// newApp returns the application's handler, the JSON API (internal/server)
// under /api/ and the web UI (internal/web) everywhere else, and the API
// server, which wakes the event streams of both (Notify) and ends them
// (Close).
func newApp(svc *talks.Service, opt appOptions) (http.Handler, *server.Server) {
	api := server.New(svc, server.Options{Logger: opt.Logger, CSRFKey: opt.CSRFKey, LedgerKey: opt.LedgerKey, Secure: opt.Secure, MaxWrites: opt.MaxWrites})
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", web.New(svc, web.Options{Logger: opt.Logger, CSRFKey: opt.CSRFKey, Secure: opt.Secure, Notifier: api}))
	return mux, api
}
