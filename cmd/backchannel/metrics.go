package main

import (
	"fmt"
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
	fmt.Fprint(w, "# HELP backchannel_http_requests_in_flight HTTP requests being served, this one included.\n")
	fmt.Fprint(w, "# TYPE backchannel_http_requests_in_flight gauge\n")
	fmt.Fprintf(w, "backchannel_http_requests_in_flight %d\n", m.inFlight.Load())
	fmt.Fprint(w, "# HELP backchannel_uptime_seconds Seconds since the server started.\n")
	fmt.Fprint(w, "# TYPE backchannel_uptime_seconds gauge\n")
	fmt.Fprintf(w, "backchannel_uptime_seconds %.3f\n", time.Since(m.start).Seconds())
	if m.batches != nil {
		st := m.batches()
		fmt.Fprint(w, "# HELP backchannel_store_batches_total Write transactions the store ran, each grouping the writes queued meanwhile into one durable commit.\n")
		fmt.Fprint(w, "# TYPE backchannel_store_batches_total counter\n")
		fmt.Fprintf(w, "backchannel_store_batches_total %d\n", st.Batches)
		fmt.Fprint(w, "# HELP backchannel_store_batch_writes_total Writes run in those transactions.\n")
		fmt.Fprint(w, "# TYPE backchannel_store_batch_writes_total counter\n")
		fmt.Fprintf(w, "backchannel_store_batch_writes_total %d\n", st.Writes)
		fmt.Fprint(w, "# HELP backchannel_store_batch_seconds_total Seconds spent running them; one a second means the store's one committer bounds the write rate.\n")
		fmt.Fprint(w, "# TYPE backchannel_store_batch_seconds_total counter\n")
		fmt.Fprintf(w, "backchannel_store_batch_seconds_total %.6f\n", st.Busy.Seconds())
	}
	if m.streams != nil {
		fmt.Fprint(w, "# HELP backchannel_event_streams Event streams (/api/v1/talks/{id}/events) open now.\n")
		fmt.Fprint(w, "# TYPE backchannel_event_streams gauge\n")
		fmt.Fprintf(w, "backchannel_event_streams %d\n", m.streams())
	}
	fmt.Fprint(w, "# HELP go_goroutines Number of goroutines that currently exist.\n")
	fmt.Fprint(w, "# TYPE go_goroutines gauge\n")
	fmt.Fprintf(w, "go_goroutines %d\n", runtime.NumGoroutine())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprint(w, "# HELP go_memstats_heap_inuse_bytes Bytes in heap spans in use.\n")
	fmt.Fprint(w, "# TYPE go_memstats_heap_inuse_bytes gauge\n")
	fmt.Fprintf(w, "go_memstats_heap_inuse_bytes %d\n", ms.HeapInuse)
	fmt.Fprint(w, "# HELP go_memstats_sys_bytes Bytes of memory obtained from the system by the Go runtime.\n")
	fmt.Fprint(w, "# TYPE go_memstats_sys_bytes gauge\n")
	fmt.Fprintf(w, "go_memstats_sys_bytes %d\n", ms.Sys)
	if rss, ok := residentBytes(); ok {
		fmt.Fprint(w, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n")
		fmt.Fprint(w, "# TYPE process_resident_memory_bytes gauge\n")
		fmt.Fprintf(w, "process_resident_memory_bytes %d\n", rss)
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
