package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

func decodeErr(t *testing.T, body []byte) apiError {
	t.Helper()
	var ae apiError
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ae); err != nil || ae.Code == "" || ae.Message == "" {
		t.Fatalf("error body %s is not {code, message}: %v", body, err)
	}
	return ae
}

// TestErrors runs one request of every class of error and checks its status,
// its code, and that it wrote nothing.
func TestErrors(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	msgs := fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID)
	big := `{"body": "` + strings.Repeat("x", MaxBodySize) + `"}`
	for _, tc := range []struct {
		name         string
		user         string
		method, path string
		body         any
		status       int
		code         string
		msg          string // a substring of the message, if set
	}{
		{"bad JSON", "F", "POST", msgs, `{"body": `, 400, talks.EINVALID, "ends in the middle"},
		{"not JSON", "F", "POST", msgs, `hello`, 400, talks.EINVALID, "not valid JSON"},
		{"empty body", "F", "POST", msgs, ``, 400, talks.EINVALID, "empty"},
		{"unknown field", "F", "POST", msgs, `{"body": "hi", "author_id": 1}`, 400, talks.EINVALID, `unknown field "author_id"`},
		{"wrong type", "F", "POST", msgs, `{"body": 5}`, 400, talks.EINVALID, `"body" must be a JSON string`},
		{"trailing data", "F", "POST", msgs, `{"body": "hi"} {"body": "again"}`, 400, talks.EINVALID, "after its JSON value"},
		{"too large", "F", "POST", msgs, big, 413, ETOOLARGE, "larger than"},
		{"service refuses", "F", "POST", msgs, `{"body": "   "}`, 400, talks.EINVALID, ""},
		{"bad space", "F", "POST", "/api/v1/talks", `{"title": "x", "issues": [{"name": "a", "kind": "colour"}]}`, 400, talks.EINVALID, "kind"},
		{"unknown talk", "F", "GET", "/api/v1/talks/999999", nil, 404, talks.ENOTFOUND, "Talk not found."},
		{"non-numeric id", "F", "GET", "/api/v1/talks/abc", nil, 404, talks.ENOTFOUND, ""},
		{"unknown route", "F", "GET", "/api/v1/nothing", nil, 404, talks.ENOTFOUND, ""},
		{"wrong method", "F", "PUT", fmt.Sprintf("/api/v1/talks/%d", w.talk.ID), `{}`, 405, EMETHOD, "GET or PATCH"},
		{"unknown track", "NA", "POST", "/api/v1/tracks/999999/messages", `{"body": "hi"}`, 404, talks.ENOTFOUND, "Track not found."},
		{"invisible track", "NA", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.envoys.ID), `{"body": "hi"}`, 404, talks.ENOTFOUND, "Track not found."},
		{"forbidden", "NA", "POST", fmt.Sprintf("/api/v1/tracks/%d/proposals", w.official.ID),
			`{"title": "mine", "values": {"line": "1949", "prisoners": "1"}}`, 403, talks.EFORBIDDEN, ""},
		{"forbidden manage", "NE", "POST", fmt.Sprintf("/api/v1/talks/%d/parties", w.talk.ID), `{"name": "Eastland"}`, 403, talks.EFORBIDDEN, ""},
		{"conflict", "F", "POST", fmt.Sprintf("/api/v1/talks/%d/parties", w.talk.ID), `{"name": "Northland"}`, 409, talks.ECONFLICT, ""},
		{"no auth", "", "GET", "/api/v1/talks", nil, 401, talks.EUNAUTHORIZED, ""},
		{"no auth write", "", "POST", msgs, `{"body": "hi"}`, 401, talks.EUNAUTHORIZED, ""},
		{"bad limit", "F", "GET", msgs + "?limit=0", nil, 400, talks.EINVALID, "limit"},
		{"diff without versions", "F", "GET", fmt.Sprintf("/api/v1/talks/%d/diff", w.talk.ID), nil, 400, talks.EINVALID, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.eventCount(w.talk.ID)
			st, body := e.do(tc.user, tc.method, tc.path, tc.body)
			if st != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, st, body, tc.status)
			}
			ae := decodeErr(t, body)
			if ae.Code != tc.code || !strings.Contains(ae.Message, tc.msg) {
				t.Errorf("%s %s = %+v, want code %q and a message with %q", tc.method, tc.path, ae, tc.code, tc.msg)
			}
			if after := e.eventCount(w.talk.ID); after != before {
				t.Errorf("%s %s appended %d events, want none", tc.method, tc.path, after-before)
			}
		})
	}

	t.Run("invisible equals missing", func(t *testing.T) {
		_, hidden := e.do("NA", "GET", fmt.Sprintf("/api/v1/tracks/%d", w.envoys.ID), nil)
		_, missing := e.do("NA", "GET", "/api/v1/tracks/999999", nil)
		if !bytes.Equal(hidden, missing) {
			t.Errorf("invisible track answers %s, a missing one %s; want the same", hidden, missing)
		}
	})

	t.Run("cross-origin write", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/login", strings.NewReader(`{"email": "f@example.org", "password": "x"}`))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 403 || decodeErr(t, body).Code != talks.EFORBIDDEN {
			t.Errorf("cross-site login = %d %s, want 403", resp.StatusCode, body)
		}
	})

	t.Run("bad bearer", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer bct_nope")
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 401 || decodeErr(t, body).Code != talks.EUNAUTHORIZED {
			t.Errorf("bad bearer token = %d %s, want 401", resp.StatusCode, body)
		}
	})

	t.Run("cookie write needs CSRF", func(t *testing.T) {
		c, csrf := e.cookieClient("F")
		before := e.eventCount(w.talk.ID)
		for _, tok := range []string{"", "wrong", csrf} {
			req, _ := http.NewRequest("POST", e.ts.URL+msgs, strings.NewReader(`{"body": "by cookie"}`))
			if tok != "" {
				req.Header.Set(CSRFHeader, tok)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := 403
			if tok == csrf {
				want = 201
			}
			if resp.StatusCode != want {
				t.Errorf("cookie POST with CSRF token %q = %d %s, want %d", tok, resp.StatusCode, body, want)
			}
		}
		if got := e.eventCount(w.talk.ID) - before; got != 1 {
			t.Errorf("cookie writes appended %d events, want 1 (only the one with the token)", got)
		}
		// A cookie read needs no token.
		resp, err := c.Get(e.ts.URL + msgs)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("cookie GET = %d, want 200", resp.StatusCode)
		}
	})
}

// TestLogin checks sign-in, /me, logout and the lockout.
func TestLogin(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.cookieClient("NE")
	resp, err := c.Get(e.ts.URL + "/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	var me sessionResponse
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != 200 || me.User.ID != e.users["NE"].ID || me.CSRFToken != csrf {
		t.Fatalf("GET /me = %d %+v, want NE and the CSRF token", resp.StatusCode, me)
	}
	// Logout needs the token too, so that no other site can sign one out.
	resp, _ = c.Post(e.ts.URL+"/api/v1/logout", "application/json", nil)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("logout without CSRF = %d, want 403", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/logout", nil)
	req.Header.Set(CSRFHeader, csrf)
	resp, _ = c.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("logout = %d, want 204", resp.StatusCode)
	}
	resp, _ = c.Get(e.ts.URL + "/api/v1/me")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("GET /me after logout = %d, want 401", resp.StatusCode)
	}

	for i := range 6 {
		st, body := e.do("", "POST", "/api/v1/login", loginRequest{Email: "np@example.org", Password: "wrong password!"})
		if st != 401 {
			t.Fatalf("bad login %d = %d %s, want 401", i, st, body)
		}
	}
	st, body := e.do("", "POST", "/api/v1/login", loginRequest{Email: "np@example.org", Password: testPassword})
	if st != 401 || !strings.Contains(decodeErr(t, body).Message, "Too many") {
		t.Errorf("login after lockout = %d %s, want 401 Too many attempts", st, body)
	}
}

// TestTokens checks API token creation, listing (no secrets) and revocation.
func TestTokens(t *testing.T) {
	e := newEnv(t)
	var tok Token
	e.must(201, "NE", "POST", "/api/v1/tokens", map[string]any{"name": "cli"}, &tok)
	if !strings.HasPrefix(tok.Token, "bct_") {
		t.Fatalf("new token = %+v, want its secret", tok)
	}
	_, list := e.do("NE", "GET", "/api/v1/tokens", nil)
	if strings.Contains(string(list), tok.Token) || strings.Contains(string(list), "hash") {
		t.Errorf("token list %s shows a secret", list)
	}
	e.must(404, "SE", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil, nil)
	e.must(204, "NE", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil, nil)
	e.tokens["cli"] = tok.Token
	e.must(401, "cli", "GET", "/api/v1/me", nil, nil)
}

// TestSetup checks the first administrator's setup on an empty database.
func TestSetup(t *testing.T) {
	e := newEnv(t)
	// newEnv made users; setup is refused then.
	if _, err := e.svc.CreateSetupToken(t.Context()); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Fatalf("CreateSetupToken with users = %v, want ECONFLICT", err)
	}
	e.must(401, "", "POST", "/api/v1/setup", setupRequest{Token: "bcsetup_x", Name: "Ada", Email: "ada@example.org", Password: testPassword}, nil)
}

// TestFlow drives a talk from convening to agreement through the API: the
// facilitator by session cookie and CSRF token, the others by API token.
func TestFlow(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.cookieClient("F")
	cookie := func(want int, method, path string, body, out any) {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(data))
		req.Header.Set(CSRFHeader, csrf)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s (cookie) = %d %s, want %d", method, path, resp.StatusCode, got, want)
		}
		if out != nil {
			if err := json.Unmarshal(got, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var talk Talk
	cookie(201, "POST", "/api/v1/talks", map[string]any{
		"title": "Ceasefire", "description": "fictional",
		"issues": []map[string]any{
			{"name": "line", "kind": "discrete", "values": []string{"1949", "1967", "current"}},
			{"name": "prisoners", "kind": "integer", "lower": 0, "upper": 1000},
		}}, &talk)
	if len(talk.Issues) != 2 || talk.Status != "open" || talk.Issues[1].Lower == nil || *talk.Issues[1].Upper != 1000 {
		t.Fatalf("created talk = %+v", talk)
	}
	base := fmt.Sprintf("/api/v1/talks/%d", talk.ID)
	var north, south Party
	cookie(201, "POST", base+"/parties", map[string]any{"name": "Northland"}, &north)
	cookie(201, "POST", base+"/parties", map[string]any{"name": "Southland"}, &south)
	var np, sp Member
	cookie(201, "POST", base+"/members", map[string]any{"user_id": e.users["NP"].ID, "party_id": north.ID, "role": "principal"}, &np)
	cookie(201, "POST", base+"/members", map[string]any{"user_id": e.users["SP"].ID, "party_id": south.ID, "role": "principal"}, &sp)
	var ne Member
	e.must(201, "NP", "POST", base+"/members", map[string]any{"user_id": e.users["NE"].ID, "party_id": north.ID, "role": "envoy"}, &ne)
	var members []Member
	e.must(200, "SP", "GET", base+"/members", nil, &members)
	if len(members) != 4 {
		t.Errorf("members = %+v, want 4", members)
	}
	var bc Track
	cookie(201, "POST", base+"/tracks", map[string]any{"name": "principals", "member_ids": []int64{np.ID, sp.ID}}, &bc)
	e.must(404, "F", "GET", fmt.Sprintf("/api/v1/tracks/%d", bc.ID), nil, nil) // its creator is not on it
	e.must(200, "NP", "POST", fmt.Sprintf("/api/v1/tracks/%d/members", bc.ID), map[string]any{"member_id": ne.ID}, &bc)
	if len(bc.MemberIDs) != 3 {
		t.Errorf("back-channel = %+v, want three members", bc)
	}
	var tracks []Track
	e.must(200, "F", "GET", base+"/tracks", nil, &tracks)
	if len(tracks) != 1 || tracks[0].Kind != "official" {
		t.Errorf("F's tracks = %+v, want only the official one", tracks)
	}
	official := tracks[0]
	var msg Message
	e.must(201, "NP", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", bc.ID), map[string]any{"body": "between us"}, &msg)
	e.must(204, "NP", "POST", fmt.Sprintf("/api/v1/messages/%d/retract", msg.ID), nil, nil)
	var msgs []Message
	e.must(200, "SP", "GET", fmt.Sprintf("/api/v1/tracks/%d/messages?after=0&limit=10", bc.ID), nil, &msgs)
	if len(msgs) != 1 || !msgs[0].Retracted {
		t.Errorf("messages = %+v, want one, retracted", msgs)
	}
	// The latest two, oldest first.
	var posted []Message
	for _, body := range []string{"two", "three"} {
		var m Message
		e.must(201, "NP", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", bc.ID), map[string]any{"body": body}, &m)
		posted = append(posted, m)
	}
	e.must(200, "SP", "GET", fmt.Sprintf("/api/v1/tracks/%d/messages?limit=2&latest=true", bc.ID), nil, &msgs)
	if len(msgs) != 2 || msgs[0].ID != posted[0].ID || msgs[1].ID != posted[1].ID {
		t.Errorf("latest two messages = %+v, want %d and %d", msgs, posted[0].ID, posted[1].ID)
	}
	e.must(400, "SP", "GET", fmt.Sprintf("/api/v1/tracks/%d/messages?latest=yes", bc.ID), nil, nil)

	var created proposalResponse
	e.must(201, "F", "POST", fmt.Sprintf("/api/v1/tracks/%d/proposals", official.ID), map[string]any{
		"title": "First draft", "values": map[string]string{"line": "current", "prisoners": "100"},
		"clauses": map[string]string{"line": "as of today"}, "rationale": "a start"}, &created)
	v1 := created.Version
	var v2 Version
	e.must(201, "NP", "POST", fmt.Sprintf("/api/v1/versions/%d/counter", v1.ID), map[string]any{
		"values": map[string]string{"line": "1967", "prisoners": "100"}, "rationale": "the 1967 line"}, &v2)
	if v2.ParentID != v1.ID {
		t.Errorf("counter = %+v, want parent %d", v2, v1.ID)
	}
	var diff []IssueDiff
	e.must(200, "SP", "GET", fmt.Sprintf("%s/diff?a=%d&b=%d", base, v1.ID, v2.ID), nil, &diff)
	if len(diff) != 1 || diff[0] != (IssueDiff{Issue: "line", From: "current", To: "1967", ClauseChanged: true}) {
		t.Errorf("diff = %+v", diff)
	}
	var versions []Version
	e.must(200, "SP", "GET", fmt.Sprintf("/api/v1/proposals/%d/versions", created.Proposal.ID), nil, &versions)
	if len(versions) != 2 {
		t.Errorf("versions = %+v, want 2", versions)
	}
	e.must(404, "SP", "GET", base+"/agreement", nil, nil)
	var acc Answer
	e.must(201, "SP", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", v2.ID), map[string]any{"kind": "accept"}, &acc)
	e.must(204, "SP", "POST", fmt.Sprintf("/api/v1/answers/%d/withdraw", acc.ID), nil, nil)
	e.must(201, "SP", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", v2.ID), map[string]any{"kind": "accept"}, &acc)
	e.must(400, "NE", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", v2.ID), map[string]any{"kind": "maybe"}, nil)
	e.must(201, "NE", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", v2.ID), map[string]any{"kind": "accept"}, nil)
	var agr Agreement
	e.must(200, "SP", "GET", base+"/agreement", nil, &agr)
	if agr.VersionID != v2.ID {
		t.Errorf("agreement = %+v, want version %d", agr, v2.ID)
	}
	var answers []Answer
	e.must(200, "F", "GET", fmt.Sprintf("/api/v1/versions/%d/answers", v2.ID), nil, &answers)
	if len(answers) != 3 || answers[0].WithdrawnAt == nil {
		t.Errorf("answers = %+v, want a withdrawn one and two acceptances", answers)
	}
	var got Talk
	e.must(200, "NE", "GET", base, nil, &got)
	if got.Status != "agreed" {
		t.Errorf("talk status = %q, want agreed", got.Status)
	}
	var list []Talk
	e.must(200, "O", "GET", "/api/v1/talks", nil, &list)
	if len(list) != 0 {
		t.Errorf("outsider's talks = %+v, want none", list)
	}
	cookie(200, "PATCH", base, map[string]any{"status": "closed"}, &got)
	if got.Status != "closed" {
		t.Errorf("PATCH status = %+v", got)
	}
}
