package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// cheapArgon2 keeps test logins fast; the parameters of a hash travel with
// it, so the server verifies it as any other.
var cheapArgon2 = talks.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "correct horse battery"

// env is a Server over real SQLite behind httptest, with users F
// (facilitator and convener), NP, NE, NA (Northland principal, envoy,
// advisor), SP, SE (Southland principal, envoy) and an outsider O, each with
// the password testPassword and an API token.
type env struct {
	t      *testing.T
	store  *sqlite.Store
	svc    *talks.Service
	srv    *Server
	ts     *httptest.Server
	users  map[string]*talks.User
	tokens map[string]string
	key    *ledger.Key // the server's ledger key
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := talks.NewService(st, talks.SystemClock)
	pol := talks.DefaultAccountPolicy
	pol.Argon2 = cheapArgon2
	svc.SetAccountPolicy(pol)
	e := &env{t: t, store: st, svc: svc, users: map[string]*talks.User{}, tokens: map[string]string{}}
	key, _, err := ledger.GenerateKey("test.example")
	if err != nil {
		t.Fatal(err)
	}
	st.SetNotary(key)
	e.key = key
	e.srv = New(svc, Options{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		CSRFKey:   bytes.Repeat([]byte{7}, 32),
		LedgerKey: key,
	})
	e.ts = httptest.NewServer(e.srv)
	t.Cleanup(func() { e.srv.Close(); e.ts.Close() })
	hash, err := talks.HashPassword(testPassword, cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"F", "NP", "NE", "NA", "SP", "SE", "O"} {
		u := &talks.User{Name: n, Email: strings.ToLower(n) + "@example.org", PasswordHash: hash}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		e.users[n] = u
		tok, err := svc.CreateAPIToken(e.as(n), "test")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[n] = tok.Token
	}
	return e
}

func (e *env) as(name string) context.Context {
	return talks.NewContextWithUser(context.Background(), e.users[name])
}

// do sends a request as user (by bearer token; "" for none) and returns the
// status and body.
func (e *env) do(user, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// must sends a request that must answer status want and decodes its body
// into out (if not nil).
func (e *env) must(want int, user, method, path string, body, out any) {
	e.t.Helper()
	st, data := e.do(user, method, path, body)
	if st != want {
		e.t.Fatalf("%s %s as %q = %d %s, want %d", method, path, user, st, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// eventCount returns the length of talk id's log.
func (e *env) eventCount(id int64) int {
	e.t.Helper()
	evs, err := e.store.FindEvents(context.Background(), talks.EventFilter{TalkID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(evs)
}

// world is a talk seeded through the service: parties Northland and
// Southland; the back-channel "envoys" with NE and SE holding a message, a
// proposal by NE, its first version and SE's rejection of it; a message by F
// in the official track. NA is a member outside the back-channel (its
// principal NP sees it), O outside the talk.
type world struct {
	talk               *talks.Talk
	north, south       *talks.Party
	members            map[string]*talks.Member
	official, envoys   *talks.Track
	bcMsg, officialMsg *talks.Message
	proposal           *talks.Proposal
	version            *talks.Version
	answer             *talks.Answer
	officialProposal   *talks.Proposal
	officialVersion    *talks.Version
}

func testSpace(t *testing.T) *outcome.Space {
	sp, err := outcome.NewSpace("Ceasefire",
		outcome.NewDiscrete("line", "1949", "1967", "current"),
		outcome.NewInteger("prisoners", 0, 1000))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func (e *env) world() *world {
	t := e.t
	t.Helper()
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	w := &world{members: map[string]*talks.Member{}}
	w.talk = &talks.Talk{Title: "Ceasefire", Space: testSpace(t)}
	ok("CreateTalk", e.svc.CreateTalk(e.as("F"), w.talk))
	ok("CreateTalk", e.svc.CreateTalk(e.as("O"), &talks.Talk{Title: "Elsewhere"}))
	ms, err := e.svc.FindMembers(e.as("F"), w.talk.ID)
	ok("FindMembers", err)
	w.members["F"] = ms[0]
	w.north = &talks.Party{TalkID: w.talk.ID, Name: "Northland"}
	w.south = &talks.Party{TalkID: w.talk.ID, Name: "Southland"}
	ok("AddParty", e.svc.AddParty(e.as("F"), w.north))
	ok("AddParty", e.svc.AddParty(e.as("F"), w.south))
	for _, m := range []struct {
		name string
		p    *talks.Party
		r    talks.Role
	}{{"NP", w.north, talks.RolePrincipal}, {"NE", w.north, talks.RoleEnvoy}, {"NA", w.north, talks.RoleAdvisor},
		{"SP", w.south, talks.RolePrincipal}, {"SE", w.south, talks.RoleEnvoy}} {
		mem := &talks.Member{TalkID: w.talk.ID, UserID: e.users[m.name].ID, PartyID: m.p.ID, Role: m.r}
		ok("AddMember "+m.name, e.svc.AddMember(e.as("F"), mem))
		w.members[m.name] = mem
	}
	tracks, err := e.svc.FindTracks(e.as("F"), w.talk.ID)
	ok("FindTracks", err)
	w.official = tracks[0]
	w.envoys = &talks.Track{TalkID: w.talk.ID, Name: "envoys", Kind: talks.TrackBackchannel,
		MemberIDs: []int64{w.members["NE"].ID, w.members["SE"].ID}}
	ok("CreateTrack", e.svc.CreateTrack(e.as("F"), w.envoys))
	w.bcMsg = &talks.Message{TrackID: w.envoys.ID, Body: "secret: we could live with 1967"}
	ok("PostMessage", e.svc.PostMessage(e.as("NE"), w.bcMsg))
	w.officialMsg = &talks.Message{TrackID: w.official.ID, Body: "welcome"}
	ok("PostMessage", e.svc.PostMessage(e.as("F"), w.officialMsg))
	w.proposal = &talks.Proposal{TrackID: w.envoys.ID, Title: "secret draft"}
	w.version = &talks.Version{Values: map[string]string{"line": "1967", "prisoners": "500"}, Rationale: "secret rationale"}
	ok("CreateProposal", e.svc.CreateProposal(e.as("NE"), w.proposal, w.version))
	w.answer = &talks.Answer{VersionID: w.version.ID, Kind: talks.AnswerReject}
	ok("AnswerVersion", e.svc.AnswerVersion(e.as("SE"), w.answer))
	w.officialProposal = &talks.Proposal{TrackID: w.official.ID, Title: "public draft"}
	w.officialVersion = &talks.Version{Values: map[string]string{"line": "current", "prisoners": "100"}}
	ok("CreateProposal", e.svc.CreateProposal(e.as("F"), w.officialProposal, w.officialVersion))
	return w
}

// cookieClient signs user in with a cookie jar and returns the client and
// the CSRF token.
func (e *env) cookieClient(user string) (*http.Client, string) {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(loginRequest{Email: e.users[user].Email, Password: testPassword})
	resp, err := c.Post(e.ts.URL+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sess sessionResponse
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("login %s = %d, %v", user, resp.StatusCode, err)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		e.t.Fatalf("login %s: session cookie %+v, want HttpOnly and SameSite=Lax", user, cookie)
	}
	if sess.CSRFToken == "" || sess.User.ID != e.users[user].ID {
		e.t.Fatalf("login %s = %+v, want the user and a CSRF token", user, sess)
	}
	return c, sess.CSRFToken
}
