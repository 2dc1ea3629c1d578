package server

import (
	"crypto/ed25519"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// FuzzRegisterKeyRequest feeds bodies of PUT /talks/{id}/key to decode and
// the proof's check: no panic, every failure a talks.Error a client can
// read, a body that decodes round-trips, and only the one valid proof
// checks.
func FuzzRegisterKeyRequest(f *testing.F) {
	// A fixed key, so that every fuzzing worker has the same proof.
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	st := talks.KeyStatement(3, "member/5", pub)
	st.At = "2026-11-27T09:00:00Z"
	sg, _ := talks.Sign(priv, st)
	valid, _ := json.Marshal(registerKeyRequest{PublicKey: pub, Signed: &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}})
	for _, s := range []string{
		string(valid), `{"public_key":"AAAA"}`, `{"public_key":"AAAA","signed":{"statement":{},"sig":""}}`,
		`{"public_key":1}`, `{"signed":null}`, `{"public_key":"!!"}`, `{}`, ``, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req registerKeyRequest
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("PUT", "/", strings.NewReader(body)), &req); err != nil {
			if c := talks.ErrorCode(err); c != talks.EINVALID && c != ETOOLARGE {
				t.Fatalf("decode(%q) = %v, want EINVALID", body, err)
			}
			return
		}
		data, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var again registerKeyRequest
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("PUT", "/", strings.NewReader(string(data))), &again); err != nil {
			t.Fatalf("decode(%s) of a re-encoded body = %v", data, err)
		}
		if data2, _ := json.Marshal(again); string(data) != string(data2) {
			t.Fatalf("round trip: %s != %s", data, data2)
		}
		if req.Signed == nil {
			return
		}
		proof := talks.ClientSigned(req.Signed, "member/5")
		err = talks.CheckKeyProof(3, "member/5", req.PublicKey, proof)
		if ok := string(req.Signed.Statement) == string(sg.Statement) && string(req.Signed.Sig) == string(sg.Sig) && pub.Equal(ed25519.PublicKey(req.PublicKey)); ok != (err == nil) {
			t.Fatalf("CheckKeyProof(%s) = %v", body, err)
		}
	})
}
