package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// BenchmarkPages measures the server time of the main pages over the demo
// talk in real SQLite: the whole application handler (API and pages, as
// cmd/backchannel composes them) called in process with httptest, so no
// network. Besides ns/op it reports the 95th percentile of the iterations
// (p95-ms); the goal is a p95 under 20 ms (docs/web.md has the figures).
//
//	go test ./internal/web -run '^$' -bench Pages -benchtime 2000x -count 3
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	d := e.demo
	h := e.srv.Config.Handler
	cookies := e.sessionCookies(b, "n.envoy1")
	for _, p := range []struct{ name, path string }{
		{"my-talks", "/"},
		{"talk", fmt.Sprintf("/talks/%d", d.Talk.ID)},
		{"track", fmt.Sprintf("/tracks/%d", d.Official.ID)},
		{"back-channel", fmt.Sprintf("/tracks/%d", d.Back.ID)},
		{"proposal", fmt.Sprintf("/proposals/%d", d.Proposal.ID)},
	} {
		b.Run(p.name, func(b *testing.B) { timeGets(b, h, p.path, cookies) })
	}
}

// BenchmarkLongTrack measures the server time of the page of a track with
// 10,000 messages, of which it shows the latest web.MaxMessagesShown.
//
//	go test ./internal/web -run '^$' -bench LongTrack -benchtime 200x -count 3
func BenchmarkLongTrack(b *testing.B) {
	e := newEnv(b)
	d := e.demo
	ctx := d.As(context.Background(), "n.envoy1")
	for i := range 10000 {
		if err := e.svc.PostMessage(ctx, &talks.Message{TrackID: d.Back.ID, Body: fmt.Sprint("note ", i)}); err != nil {
			b.Fatal(err)
		}
	}
	h := e.srv.Config.Handler
	cookies := e.sessionCookies(b, "n.envoy1")
	timeGets(b, h, fmt.Sprintf("/tracks/%d", d.Back.ID), cookies)
}

// sessionCookies logs in as the demo user key and returns the session's
// cookies.
func (e *env) sessionCookies(b *testing.B, key string) []*http.Cookie {
	u, err := url.Parse(e.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	return e.login(b, key).c.Jar.Cookies(u)
}

// timeGets GETs path from h with cookies once an iteration, in process,
// and reports the 95th percentile of the server times (p95-ms) besides
// ns/op.
func timeGets(b *testing.B, h http.Handler, path string, cookies []*http.Cookie) {
	var durs []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(w, req)
		durs = append(durs, time.Since(t0))
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s = %d, want 200", path, w.Code)
		}
	}
	b.ReportMetric(float64(percentile(durs, 0.95))/float64(time.Millisecond), "p95-ms")
}

// percentile returns the q-quantile of ds (nearest rank), sorting ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[max(0, min(i, len(ds)-1))]
}
