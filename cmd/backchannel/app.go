package main

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/backchannel/backchannel/internal/talks"
)

// appOptions are the options of the application handler.
type appOptions struct {
	Logger  *slog.Logger
	CSRFKey []byte
	Secure  bool
}

// newApp returns the handler of the web pages and the API, and what stops
// it. Until internal/server lands it answers 503.
func newApp(svc *talks.Service, opt appOptions) (http.Handler, io.Closer) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the web server is not built yet", http.StatusServiceUnavailable)
	})
	return h, io.NopCloser(nil)
}
