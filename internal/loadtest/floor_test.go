package loadtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHTTPFloor bounds what any HTTP API can write with one client on
// this machine: BenchmarkRawCommit's commit of one small row, inside a
// handler that does nothing else (no JSON, no authentication, no service,
// no log), posted over loopback by a client with the API benchmark's
// transport, one request at a time. Set against BenchmarkRawCommit's one
// writer, it is the highest share of the raw rate that issue 4's goal at
// one client can reach: the round trip around a commit, and the threads
// it wakes, cost what they cost whatever the handler does.
func BenchmarkHTTPFloor(b *testing.B) {
	for _, kind := range backends() {
		b.Run(kind, func(b *testing.B) {
			insert, warm := rawInserter(b, kind)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				if err := insert(); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusCreated)
			}))
			b.Cleanup(srv.Close)
			client := &http.Client{Transport: &http.Transport{
				MaxIdleConns: 16, MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute,
			}}
			body := []byte(`{"body":"a small row"}`)
			post := func(int, int) error {
				resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					return err
				}
				if resp.StatusCode != http.StatusCreated {
					return fmt.Errorf("POST = %d", resp.StatusCode)
				}
				return nil
			}
			b.Run("clients=1", func(b *testing.B) {
				// The connection open and the statement prepared before
				// the clock, as the API benchmark warms its clients.
				if err := warm(1); err != nil {
					b.Fatal(err)
				}
				if err := post(0, 0); err != nil {
					b.Fatal(err)
				}
				run(b, 1, "writes/s", post)
			})
		})
	}
}
