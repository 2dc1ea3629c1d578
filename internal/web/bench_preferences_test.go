package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/internal/talks"
)

// BenchmarkSuggestions measures GET /api/v1/versions/{id}/suggestions at
// the API (the whole application handler in process, real SQLite, bearer
// token) for the demo talk's current version (Southland's counter), and
// for a talk on the ANAC Energy domain (8 issues of 5 values, 390,625
// outcomes) with its distributor and consumer profiles as the parties'
// preferences. The goal is under 100 ms (issue 6); docs/benchmarks.md has
// the figures.
//
//	go test ./internal/web -run '^$' -bench Suggestions -benchtime 200x -count 3
func BenchmarkSuggestions(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	h := e.srv.Config.Handler
	token := func(u *talks.User) string {
		tok, err := e.svc.CreateAPIToken(talks.NewContextWithUser(ctx, u), fmt.Sprintf("bench %d", time.Now().UnixNano()))
		if err != nil {
			b.Fatal(err)
		}
		return tok.Token
	}
	energy, energyUser := energyTalk(b, e)
	for _, c := range []struct {
		name    string
		version int64
		token   string
	}{
		{"demo", e.demo.Counter.ID, token(e.demo.Users["n.envoy1"])},
		{"energy", energy, token(energyUser)},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := fmt.Sprintf("/api/v1/versions/%d/suggestions", c.version)
			var durs []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Authorization", "Bearer "+c.token)
				w := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(w, req)
				durs = append(durs, time.Since(t0))
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d %s, want 200", path, w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(percentile(durs, 0.95))/float64(time.Millisecond), "p95-ms")
		})
	}
}

// energyTalk creates a talk on the Energy domain whose parties, the
// distributor and the consumer, have the domain's profiles as their
// preferences, with a first version of every issue at 50 kW. It returns the
// version and the distributor's principal.
func energyTalk(b *testing.B, e *env) (int64, *talks.User) {
	ctx := context.Background()
	dir := filepath.Join("..", "..", "examples", "domains", "Energy")
	f, err := os.Open(filepath.Join(dir, "energy_domain.xml"))
	if err != nil {
		b.Fatal(err)
	}
	sp, err := genius.ReadDomain(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	if n, _ := sp.Size(); n != 390625 {
		b.Fatalf("Energy has %d outcomes, want 390,625", n)
	}
	users := map[string]*talks.User{}
	for _, n := range []string{"energy.f", "energy.d", "energy.c"} {
		u := &talks.User{Name: n, Email: n + "@example.org"}
		if err := e.store.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		users[n] = u
	}
	as := func(n string) context.Context { return talks.NewContextWithUser(ctx, users[n]) }
	t := &talks.Talk{Title: "Energy", Space: sp}
	if err := e.svc.CreateTalk(as("energy.f"), t); err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct{ name, user, file string }{
		{"Distributor", "energy.d", "energy_distributor.xml"},
		{"Consumer", "energy.c", "energy_consumer.xml"},
	} {
		party := &talks.Party{TalkID: t.ID, Name: p.name}
		if err := e.svc.AddParty(as("energy.f"), party); err != nil {
			b.Fatal(err)
		}
		if err := e.svc.AddMember(as("energy.f"), &talks.Member{TalkID: t.ID, UserID: users[p.user].ID, PartyID: party.ID, Role: talks.RolePrincipal}); err != nil {
			b.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, p.file))
		if err != nil {
			b.Fatal(err)
		}
		prefs, err := talks.ImportPreferences(sp, talks.FormatGenius, data)
		if err != nil {
			b.Fatal(err)
		}
		prefs.TalkID, prefs.PartyID = t.ID, party.ID
		if err := e.svc.SavePreferences(as(p.user), prefs); err != nil {
			b.Fatal(err)
		}
	}
	tracks, err := e.svc.FindTracks(as("energy.f"), t.ID)
	if err != nil {
		b.Fatal(err)
	}
	v := &talks.Version{Values: map[string]string{}}
	for _, is := range sp.Issues {
		v.Values[is.Name] = "50 kW"
	}
	if err := e.svc.CreateProposal(as("energy.d"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Half load"}, v); err != nil {
		b.Fatal(err)
	}
	return v.ID, users["energy.d"]
}
