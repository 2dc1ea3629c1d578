package talks_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestStatementBytes fixes the bytes of statements: a client and a server
// of another version must build the same ones, or no client signature
// checks.
func TestStatementBytes(t *testing.T) {
	tests := []struct {
		name string
		st   *talks.Statement
		want string
	}{
		{"propose", talks.VersionStatement(3, "member/5", 7, 0, map[string]string{"prisoners": "10", "line": "<river>"},
			map[string]string{"line": "Along the river."}, "A start."),
			`{"talk":3,"signer":"member/5","action":"propose","track":7,"values":{"line":"\u003criver\u003e","prisoners":"10"},` +
				`"clauses_sha256":"99f9166d761ab53f829621525acbdb95833339c606af29251103eb56819be591",` +
				`"rationale_sha256":"45b96770176630f35ca808241ae582073bfc0a8cc43335fb86869bbf3a038022","at":""}`},
		{"counter", talks.VersionStatement(3, "member/5", 7, 12, map[string]string{"line": "ridge"}, nil, ""),
			`{"talk":3,"signer":"member/5","action":"counter","parent":12,"values":{"line":"ridge"},"at":""}`},
		{"answer", &talks.Statement{Talk: 3, Signer: "member/5", Action: talks.ActionAnswer, Version: 12, Kind: talks.AnswerAccept, At: "2026-11-27T09:00:00Z"},
			`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept","at":"2026-11-27T09:00:00Z"}`},
		{"ratify", &talks.Statement{Talk: 3, Signer: "stakeholder/9", Action: talks.ActionRatify, Decision: talks.DecisionReject, Comment: "No & never.", At: "x"},
			`{"talk":3,"signer":"stakeholder/9","action":"ratify","decision":"reject","comment":"No \u0026 never.","at":"x"}`},
		{"consent", &talks.Statement{Talk: 3, Signer: "member/5", Action: talks.ActionConsent, Revision: 2, At: "x"},
			`{"talk":3,"signer":"member/5","action":"consent","revision":2,"at":"x"}`},
		{"mandate", &talks.Statement{Talk: 3, Signer: "member/5", Action: talks.ActionMandate, Envoy: 6, Digest: "ab", At: "x"},
			`{"talk":3,"signer":"member/5","action":"mandate","envoy":6,"digest":"ab","at":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.st.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("Encode() = %s\nwant       %s", b, tt.want)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	st := &talks.Statement{Talk: 3, Signer: "member/5", Action: talks.ActionAnswer, Version: 12, Kind: talks.AnswerAccept, At: "x"}
	sg, err := talks.Sign(priv, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := sg.Verify(pub); err != nil {
		t.Errorf("Verify(own key) = %v", err)
	}
	// The signature is over the domain-separated statement, not the
	// statement alone.
	if ed25519.Verify(pub, sg.Statement, sg.Sig) {
		t.Error("the signature verifies over the bare statement")
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := sg.Verify(other); err == nil {
		t.Error("Verify(another key) = nil")
	}
	if err := sg.Verify(pub[:5]); err == nil {
		t.Error("Verify(short key) = nil")
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	k, err := talks.NewSignerKey(42, "member/7")
	if err != nil {
		t.Fatal(err)
	}
	b := talks.FormatKeyFile(k, "https://bc.example.org")
	got, origin, err := talks.ParseKeyFile(b)
	if err != nil || origin != "https://bc.example.org" || got.TalkID != 42 || got.Signer != "member/7" ||
		!got.Public.Equal(k.Public) || !got.Private.Equal(k.Private) {
		t.Fatalf("ParseKeyFile(FormatKeyFile(k)) = %+v, %q, %v", got, origin, err)
	}
	for name, bad := range map[string]string{
		"another header": strings.Replace(string(b), "v1", "v2", 1),
		"wrong public":   strings.Replace(string(b), "public: ", "public: AAAA", 1),
		"bad signer":     strings.Replace(string(b), "member/7", "admin", 1),
		"truncated":      string(b[:len(b)/2]),
	} {
		if _, _, err := talks.ParseKeyFile([]byte(bad)); err == nil {
			t.Errorf("ParseKeyFile(%s) = nil error", name)
		}
	}
}

// FuzzParseKeyFile checks that ParseKeyFile never panics and that what it
// accepts writes back to a file it reads the same.
func FuzzParseKeyFile(f *testing.F) {
	k, _ := talks.NewSignerKey(42, "member/7")
	f.Add(talks.FormatKeyFile(k, "https://bc.example.org"))
	f.Add([]byte("backchannel member key v1\ntalk: 1\n"))
	f.Add(talks.FormatKeyFile(k, ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, origin, err := talks.ParseKeyFile(b)
		if err != nil {
			return
		}
		k2, origin2, err := talks.ParseKeyFile(talks.FormatKeyFile(k, origin))
		if err != nil || origin2 != origin || !bytes.Equal(k2.Private, k.Private) || k2.Signer != k.Signer || k2.TalkID != k.TalkID {
			t.Fatalf("round trip: %+v %q, %v", k2, origin2, err)
		}
	})
}
