package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// metrics counts what /metrics reports, in the Prometheus text exposition
// format (version 0.0.4), written by hand: a few counters and gauges need no
// client library.
type metrics struct {
	start    time.Time
	inFlight atomic.Int64
	byClass  [6]atomic.Uint64        // responses by status class: 1xx..5xx at 1..5
	batches  func() talks.BatchStats // the store's group commits; nil if it has none
	streams  func() int64            // event streams open; nil if unknown
}

func newMetrics() *metrics { return &metrics{start: time.Now()} }

// wrap counts the requests that h serves.
func (m *metrics) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Add(1)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			m.inFlight.Add(-1)
			code := rec.code
			if code == 0 {
				// Nothing written (or a panic, which net/http answers
				// by closing the connection): count it as a 5xx only
				// if it panicked, else as the implicit 200.
				code = http.StatusOK
				if v := recover(); v != nil {
					m.byClass[5].Add(1)
					panic(v)
				}
			}
			if c := code / 100; c >= 1 && c <= 5 {
				m.byClass[c].Add(1)
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

// ServeHTTP writes the metrics.
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprint(w, "# HELP backchannel_http_requests_total HTTP requests answered, by status class.\n")
	fmt.Fprint(w, "# TYPE backchannel_http_requests_total counter\n")
	for c := 1; c <= 5; c++ {
		fmt.Fprintf(w, "backchannel_http_requests_total{code=\"%dxx\"} %d\n", c, m.byClass[c].Load())
	}
	metric(w, "backchannel_http_requests_in_flight", "gauge", "HTTP requests being served, this one included.", m.inFlight.Load())
	metric(w, "backchannel_uptime_seconds", "gauge", "Seconds since the server started.", time.Since(m.start).Seconds())
	if m.batches != nil {
		st := m.batches()
		metric(w, "backchannel_store_batches_total", "counter", "Write transactions the store ran, each grouping the writes queued meanwhile into one durable commit.", st.Batches)
		metric(w, "backchannel_store_batch_writes_total", "counter", "Writes run in those transactions.", st.Writes)
		metric(w, "backchannel_store_batch_seconds_total", "counter", "Seconds spent running them; one a second means the store's one committer bounds the write rate.", st.Busy.Seconds())
	}
	if m.streams != nil {
		metric(w, "backchannel_event_streams", "gauge", "Event streams (/api/v1/talks/{id}/events) open now.", m.streams())
	}
	metric(w, "go_goroutines", "gauge", "Number of goroutines that currently exist.", runtime.NumGoroutine())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	metric(w, "go_memstats_heap_inuse_bytes", "gauge", "Bytes in heap spans in use.", ms.HeapInuse)
	metric(w, "go_memstats_sys_bytes", "gauge", "Bytes of memory obtained from the system by the Go runtime.", ms.Sys)
	if rss, ok := residentBytes(); ok {
		metric(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss)
	}
}

// metric writes one metric of kind ("counter" or "gauge") with its help
// and value: an integer as is, a float64 in the shortest form that reads
// back exactly.
func metric[V int | int64 | uint64 | float64](w io.Writer, name, kind, help string, v V) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	switch x := any(v).(type) {
	case float64:
		fmt.Fprintf(w, "%s %s\n", name, strconv.FormatFloat(x, 'f', -1, 64))
	default:
		fmt.Fprintf(w, "%s %v\n", name, x)
	}
}

// residentBytes returns the process's resident set size, read from
// /proc/self/statm (its second field, in pages); false where there is no
// such file.
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// statusRecorder remembers the status of a response. It passes Flush on,
// for event streams, and Unwrap lets http.ResponseController reach the
// connection underneath.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
