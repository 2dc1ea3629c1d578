package main

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/backchannel/backchannel/internal/server"
	"github.com/backchannel/backchannel/internal/talks"
)

// appOptions are the options of the application handler.
type appOptions struct {
	Logger  *slog.Logger
	CSRFKey []byte
	Secure  bool
}

// newApp returns the handler of the API (internal/server) and what stops
// it: its Close ends the event streams.
func newApp(svc *talks.Service, opt appOptions) (http.Handler, io.Closer) {
	s := server.New(svc, server.Options{Logger: opt.Logger, CSRFKey: opt.CSRFKey, Secure: opt.Secure})
	return s, s
}
