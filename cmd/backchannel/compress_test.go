package main

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCompress(t *testing.T) {
	page := strings.Repeat("<p>Northland and Southland agree.</p>\n", 200)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("/png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		io.WriteString(w, page)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		<-release
	})
	mux.HandleFunc("/flushed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"first":true}`+"\n")
		http.NewResponseController(w).Flush()
		<-release
	})
	srv := httptest.NewServer(compress(mux))
	defer srv.Close()
	defer close(release)

	get := func(path, accept string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		// A Transport that does not ask for gzip itself, so that the
		// response is as the server sent it.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	body := func(resp *http.Response) string {
		t.Helper()
		defer resp.Body.Close()
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	for _, tc := range []struct {
		path, accept string
		gzipped      bool
	}{
		{"/page", "gzip, deflate, br", true},
		{"/page", "br;q=1.0, gzip;q=0.8", true},
		{"/page", "", false},
		{"/page", "gzip;q=0", false},
		{"/page", "deflate", false},
		{"/png", "gzip", false},
	} {
		resp := get(tc.path, tc.accept)
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
			t.Errorf("GET %s with Accept-Encoding %q: gzipped = %v, want %v", tc.path, tc.accept, got, tc.gzipped)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("GET %s: no Vary: Accept-Encoding", tc.path)
		}
		if b := body(resp); b != page {
			t.Errorf("GET %s with Accept-Encoding %q: body of %d bytes differs from the page's %d", tc.path, tc.accept, len(b), len(page))
		}
	}
	if resp := get("/empty", "gzip"); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("GET /empty = %d with Content-Encoding %q, want 204 and none", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}

	// A flushed response reaches the client while the handler still runs:
	// an event stream is sent as it is, JSON compressed and flushed.
	resp := get("/events", "gzip")
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("an event stream was compressed")
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Errorf("first line of the stream = %q, %v", line, err)
	}
	resp.Body.Close()
	resp = get("/flushed", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("JSON was not compressed")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	line, err = bufio.NewReader(zr).ReadString('\n')
	if err != nil || line != `{"first":true}`+"\n" {
		t.Errorf("first line of the flushed JSON = %q, %v", line, err)
	}
	resp.Body.Close()
}
