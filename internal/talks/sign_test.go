package talks_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
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
		{"key", func() *talks.Statement {
			st := talks.KeyStatement(3, "stakeholder/9", bytes.Repeat([]byte{0xfb}, 32))
			st.At = "x"
			return st
		}(), `{"talk":3,"signer":"stakeholder/9","action":"key","key":"+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=","at":"x"}`},
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

// TestKeyProofInLog checks the proof of possession a registered key's
// member.key event carries: the checker binds the key, and reports a proof
// that is bad, of another key, for another signer or talk, or of another
// action.
func TestKeyProofInLog(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	sign := func(key ed25519.PrivateKey, st *talks.Statement) *talks.Signed {
		st.At = "2026-11-27T09:00:00Z"
		sg, err := talks.Sign(key, st)
		if err != nil {
			t.Fatal(err)
		}
		return sg
	}
	event := func(sg *talks.Signed) *talks.Event {
		p, err := json.Marshal(talks.MemberKey{Signer: "member/5", Key: pub, Holder: talks.KeyHolderClient, Signed: sg})
		if err != nil {
			t.Fatal(err)
		}
		return &talks.Event{TalkID: 3, Type: talks.EventMemberKey, Payload: p}
	}
	flipped := sign(priv, talks.KeyStatement(3, "member/5", pub))
	flipped.Sig[0] ^= 1
	forOther := sign(priv, talks.KeyStatement(3, "member/6", pub))
	forOther.Signer = "member/6"
	for _, tt := range []struct {
		name string
		sg   *talks.Signed
		want string // in the error; "" for none
	}{
		{"no proof (a released key)", nil, ""},
		{"valid", sign(priv, talks.KeyStatement(3, "member/5", pub)), ""},
		{"bad signature", flipped, "does not verify"},
		{"by another key", sign(other, talks.KeyStatement(3, "member/5", pub)), "does not verify"},
		{"of another key", sign(priv, talks.KeyStatement(3, "member/5", other.Public().(ed25519.PublicKey))), "does not match"},
		{"for another talk", sign(priv, talks.KeyStatement(4, "member/5", pub)), "does not match"},
		{"for another signer", forOther, "signed for member/6"},
		{"another action", sign(priv, &talks.Statement{Talk: 3, Signer: "member/5", Action: talks.ActionConsent, Revision: 1}), "does not match"},
	} {
		c := talks.NewSignatureChecker()
		_, err := c.Check(event(tt.sg))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Check = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Check = %v, want an error saying %q", tt.name, err, tt.want)
		}
		if !c.Keys()["member/5"].Equal(pub) {
			t.Errorf("%s: the checker binds %x, want the key", tt.name, c.Keys()["member/5"])
		}
	}
}
