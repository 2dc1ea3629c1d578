package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestErrorStatus checks the error table: every code of the service has a
// status, and anything unknown is a 500.
func TestErrorStatus(t *testing.T) {
	for code, want := range map[string]int{
		talks.EINVALID: 400, talks.EUNAUTHORIZED: 401, talks.EFORBIDDEN: 403, talks.ENOTFOUND: 404,
		talks.ECONFLICT: 409, ETOOLARGE: 413, EMETHOD: 405, talks.EINTERNAL: 500, "whatever": 500,
	} {
		if got := ErrorStatus(code); got != want {
			t.Errorf("ErrorStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

// FuzzDecode feeds request bodies to decode and the outcome space builder:
// no panic, every failure a talks.Error a client can read, and a body that
// decodes re-encodes to one that decodes and re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"title": "t", "issues": [{"name": "a", "kind": "discrete", "values": ["x", "y"]}]}`,
		`{"title": "t", "issues": [{"name": "n", "kind": "integer", "lower": 0, "upper": 9}]}`,
		`{"title": "t", "issues": [{"name": "r", "kind": "real", "low": 0, "high": 1, "step": 0.5}]}`,
		`{"title": "t"} x`, `{"title": 1}`, `{"nope": 1}`, `[]`, ``, `{"issues": [{}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		var req createTalkRequest
		if err := decode(httptest.NewRecorder(), r, &req); err != nil {
			if c := talks.ErrorCode(err); c != talks.EINVALID && c != ETOOLARGE {
				t.Fatalf("decode(%q) = %v, want EINVALID", body, err)
			}
			return
		}
		if _, err := space(req.Title, req.Issues); err != nil && talks.ErrorCode(err) != talks.EINVALID {
			t.Fatalf("space(%q) = %v, want EINVALID", body, err)
		}
		data, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var again createTalkRequest
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(string(data))), &again); err != nil {
			t.Fatalf("decode(%s) of a re-encoded body = %v", data, err)
		}
		// Compare encodings, not values: an empty list and an absent one
		// (omitempty) are the same request.
		data2, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(data2) {
			t.Fatalf("round trip: %s != %s", data, data2)
		}
	})
}
