package main

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// compress gzips the responses of h whose type compresses well (HTML,
// JSON, CSS, JavaScript, SVG, plain text) for clients that accept gzip.
// Event streams, images, and responses that are empty or already encoded
// pass through untouched. Flush flushes the compressor first, so a
// flushed response still reaches the client at once.
func compress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if r.Method == http.MethodHead || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w}
		defer cw.close()
		h.ServeHTTP(cw, r)
	})
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip.
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		name, value, _ := strings.Cut(strings.ReplaceAll(params, " ", ""), "=")
		if !strings.EqualFold(name, "q") {
			return true
		}
		q, err := strconv.ParseFloat(value, 64)
		return err == nil && q > 0
	}
	return false
}

// compressible lists the media types worth compressing.
var compressible = map[string]bool{
	"text/html":              true,
	"text/css":               true,
	"text/plain":             true,
	"text/csv":               true,
	"text/javascript":        true,
	"application/javascript": true,
	"application/json":       true,
	"image/svg+xml":          true,
}

// gzipWriters keeps compressors between responses: each holds about
// 800 KB of tables.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// compressWriter decides at the first WriteHeader or Write whether to
// compress, from the response's headers.
type compressWriter struct {
	http.ResponseWriter
	decided bool
	zw      *gzip.Writer // nil if not compressing
}

func (w *compressWriter) decide(status int) {
	if w.decided {
		return
	}
	w.decided = true
	h := w.Header()
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if !compressible[mt] || h.Get("Content-Encoding") != "" || status < 200 || status == http.StatusNoContent ||
		status == http.StatusNotModified || status == http.StatusPartialContent {
		return
	}
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	w.zw = gzipWriters.Get().(*gzip.Writer)
	w.zw.Reset(w.ResponseWriter)
}

func (w *compressWriter) WriteHeader(status int) {
	if status >= 100 && status < 200 {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.decide(status)
	w.ResponseWriter.WriteHeader(status)
}

func (w *compressWriter) Write(b []byte) (int, error) {
	if !w.decided {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.zw == nil {
		return w.ResponseWriter.Write(b)
	}
	return w.zw.Write(b)
}

// Flush sends what the compressor holds, then flushes the connection.
func (w *compressWriter) Flush() {
	if w.zw != nil {
		w.zw.Flush()
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer, for
// deadlines.
func (w *compressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// close ends the compressed stream, if any, and returns the compressor.
func (w *compressWriter) close() {
	if w.zw == nil {
		return
	}
	w.zw.Close()
	w.zw.Reset(io.Discard)
	gzipWriters.Put(w.zw)
	w.zw = nil
}
