package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// BenchmarkRehearsal measures a rehearsal of 500 runs on the demo talk as
// a Northland envoy (issue 6 asks for under 2 s): through the Service, and
// through POST /api/v1/talks/{id}/rehearsals on the whole application
// handler (in process, real SQLite, bearer token). Each case runs every
// pair of its agents for 500 negotiations of at most 100 rounds against the
// frequency model fitted to Southland's offers; nothing is cached between
// iterations but the agents' indexes of the same two functions.
//
//	go test ./internal/web -run '^$' -bench Rehearsal -benchtime 10x -count 3
func BenchmarkRehearsal(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	u := e.demo.Users["n.envoy1"]
	as := talks.NewContextWithUser(ctx, u)
	tok, err := e.svc.CreateAPIToken(as, fmt.Sprintf("bench %d", time.Now().UnixNano()))
	if err != nil {
		b.Fatal(err)
	}
	h := e.srv.Config.Handler
	for _, agents := range [][2]string{{"boulware", "boulware"}, {"conceder", "titfortat"}, {"micro", "frequency"}} {
		req := talks.RehearsalRequest{OwnAgent: agents[0], OpponentAgent: agents[1], Runs: 500, Rounds: 100}
		b.Run("service/"+agents[0]+"-"+agents[1], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := e.svc.Rehearse(as, e.demo.Talk.ID, req)
				if err != nil {
					b.Fatal(err)
				}
				if r.Runs != 500 {
					b.Fatalf("Rehearse = %d runs, want 500", r.Runs)
				}
			}
		})
		b.Run("api/"+agents[0]+"-"+agents[1], func(b *testing.B) {
			path := fmt.Sprintf("/api/v1/talks/%d/rehearsals", e.demo.Talk.ID)
			body := fmt.Sprintf(`{"own_agent":%q,"opponent_agent":%q,"runs":500,"rounds":100}`, agents[0], agents[1])
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", path, bytes.NewReader([]byte(body)))
				r.Header.Set("Authorization", "Bearer "+tok.Token)
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("POST %s = %d %s, want 200", path, w.Code, w.Body)
				}
			}
		})
	}
}
