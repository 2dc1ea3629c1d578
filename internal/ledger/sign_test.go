package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// signedLog returns a sealed log in which member 1 (user 7) gets a key and
// signs two answers, and the key's private half.
func signedLog(t testing.TB) ([]*talks.Event, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var events []*talks.Event
	add := func(typ string, s talks.Stamp, p any) {
		e, err := talks.NewEvent(testTalk, 0, typ, s, p)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	at := func(i int) talks.Stamp {
		return talks.Stamp{ActorID: 7, Time: base.Add(time.Duration(i) * time.Second)}
	}
	add(talks.EventMemberAdded, at(0), talks.MemberAdded{MemberID: 1, UserID: 7, Role: talks.RoleFacilitator})
	add(talks.EventMemberKey, at(1), talks.MemberKey{Signer: talks.MemberSigner(1), Key: pub, Holder: talks.KeyHolderServer})
	for i, v := range []int64{10, 11} {
		s := at(2 + i)
		st := &talks.Statement{Talk: testTalk, Signer: talks.MemberSigner(1), Action: talks.ActionAnswer, Version: v,
			Kind: talks.AnswerAccept, At: s.Time.Format(time.RFC3339)}
		if s.Signed, err = talks.Sign(priv, st); err != nil {
			t.Fatal(err)
		}
		add(talks.EventAnswerGiven, s, talks.AnswerGiven{AnswerID: v, VersionID: v, PartyID: 1, MemberID: 1, Kind: talks.AnswerAccept})
	}
	add(talks.EventMessagePosted, at(5), talks.MessagePosted{MessageID: 1, AuthorID: 1, Body: "hello"})
	return reseal(events), priv
}

// verifyLog seals events into a tree, bundles them for a member who sees
// everything and verifies the bundle: a server that rewrites its log and
// re-signs it passes every check but the member signatures'.
func verifyLog(t *testing.T, events []*talks.Event) *Report {
	t.Helper()
	events = reseal(events)
	key := testKey(t, "bc.example")
	b, err := NewBundle(events, allVisible, testTree(t, events), key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(copyBundle(t, b), VerifyOptions{ServerKey: key.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// setSigned returns a copy of e whose payload carries sg (none if nil).
func setSigned(t *testing.T, e *talks.Event, sg *talks.Signed) *talks.Event {
	t.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	delete(p, "signed")
	if sg != nil {
		b, _ := json.Marshal(sg)
		p["signed"] = b
	}
	c := *e
	c.Payload, _ = json.Marshal(p)
	return &c
}

func TestVerifyMemberSignatures(t *testing.T) {
	events, _ := signedLog(t)
	r := verifyLog(t, slices.Clone(events))
	if !r.OK() || r.MemberSigs != 2 || r.Signers != 1 {
		t.Fatalf("Verify(signed log) = %+v", r)
	}
	sig := func(i int) *talks.Signed {
		sg, err := talks.EventSignature(events[i])
		if err != nil || sg == nil {
			t.Fatalf("event %d carries no signature: %v", i+1, err)
		}
		return sg
	}
	_, other, _ := ed25519.GenerateKey(nil)
	tests := []struct {
		name   string
		tamper func(evs []*talks.Event)
		seq    int64
	}{
		{"replace a signature", func(evs []*talks.Event) {
			sg := *sig(2)
			sg.Sig = ed25519.Sign(other, append([]byte("backchannel/action/v1\n"), sg.Statement...))
			evs[2] = setSigned(t, evs[2], &sg)
		}, 3},
		{"corrupt a signature", func(evs []*talks.Event) {
			sg := *sig(2)
			sg.Sig = bytes.Clone(sg.Sig)
			sg.Sig[0] ^= 1
			evs[2] = setSigned(t, evs[2], &sg)
		}, 3},
		{"move a signature to another event", func(evs []*talks.Event) { evs[3] = setSigned(t, evs[3], sig(2)) }, 4},
		{"drop a signature", func(evs []*talks.Event) { evs[3] = setSigned(t, evs[3], nil) }, 4},
		{"claim another signer", func(evs []*talks.Event) {
			sg := *sig(2)
			sg.Signer = talks.MemberSigner(2)
			evs[2] = setSigned(t, evs[2], &sg)
		}, 3},
		{"swap the key", func(evs []*talks.Event) {
			c := *evs[1]
			c.Payload, _ = json.Marshal(talks.MemberKey{Signer: talks.MemberSigner(1), Key: other.Public().(ed25519.PublicKey), Holder: talks.KeyHolderServer})
			evs[1] = &c
		}, 3},
		{"sign before the key", func(evs []*talks.Event) { evs[1], evs[2] = evs[2], evs[1] }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := slices.Clone(events)
			tt.tamper(evs)
			r := verifyLog(t, evs)
			if !slices.ContainsFunc(r.Failures, func(f Failure) bool { return f.Seq == tt.seq && f.Check == CheckMemberSig }) {
				t.Errorf("Verify() failures %v lack %s for event %d", r.Failures, CheckMemberSig, tt.seq)
			}
			for _, f := range r.Failures {
				if f.Check != CheckMemberSig {
					t.Errorf("Verify() fails %v, want only member signatures (the log was re-sealed)", f)
				}
			}
		})
	}
}

func BenchmarkSignAction(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	st := &talks.Statement{Talk: 42, Signer: talks.MemberSigner(1), Action: talks.ActionCounter, Parent: 12,
		Values: map[string]string{"line": "river", "prisoners": "10"}, At: "2026-11-27T09:00:00Z"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := talks.Sign(priv, st); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMemberSignature(b *testing.B) {
	events, _ := signedLog(b)
	b.ReportAllocs()
	for b.Loop() {
		c := talks.NewSignatureChecker()
		for _, e := range events[:3] {
			if _, err := c.Check(e); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// signedBenchBundle returns a bundle of 100,000 events, all but two of
// them signed answers: the worst case for member signatures.
func signedBenchBundle(b testing.TB) (*Bundle, *Key) {
	b.Helper()
	const n = 100_000
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 7
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	s := talks.Stamp{ActorID: 7, Time: base}
	events := make([]*talks.Event, 0, n)
	add := func(typ string, s talks.Stamp, p any) {
		e, err := talks.NewEvent(testTalk, 0, typ, s, p)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, e)
	}
	add(talks.EventMemberAdded, s, talks.MemberAdded{MemberID: 1, UserID: 7, Role: talks.RoleFacilitator})
	add(talks.EventMemberKey, s, talks.MemberKey{Signer: talks.MemberSigner(1), Key: pub, Holder: talks.KeyHolderServer})
	for v := int64(3); v <= n; v++ {
		s := talks.Stamp{ActorID: 7, Time: base.Add(time.Duration(v) * time.Millisecond)}
		st := &talks.Statement{Talk: testTalk, Signer: talks.MemberSigner(1), Action: talks.ActionAnswer, Version: v,
			Kind: talks.AnswerAccept, At: s.Time.Format(time.RFC3339Nano)}
		var err error
		if s.Signed, err = talks.Sign(priv, st); err != nil {
			b.Fatal(err)
		}
		add(talks.EventAnswerGiven, s, talks.AnswerGiven{AnswerID: v, VersionID: v, PartyID: 1, MemberID: 1, Kind: talks.AnswerAccept})
	}
	events = reseal(events)
	key := testKey(b, "bc.example")
	bundle, err := NewBundle(events, allVisible, testTree(b, events), key)
	if err != nil {
		b.Fatal(err)
	}
	return bundle, key
}

// BenchmarkVerifySigned verifies a parsed bundle of 100,000 events, all
// but two of them signed answers.
func BenchmarkVerifySigned(b *testing.B) {
	bundle, key := signedBenchBundle(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Verify(bundle, VerifyOptions{ServerKey: key.VerifierKey()})
		if err != nil || !r.OK() || r.MemberSigs != len(bundle.Leaves)-2 {
			b.Fatalf("Verify = %d signatures, %v", r.MemberSigs, err)
		}
	}
}

// BenchmarkParseVerifySigned is BenchmarkVerifySigned with the parsing
// of the bundle's JSON, as backchannel verify does.
func BenchmarkParseVerifySigned(b *testing.B) {
	bundle, key := signedBenchBundle(b)
	data, err := json.Marshal(bundle)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		parsed, err := ParseBundle(data)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Verify(parsed, VerifyOptions{ServerKey: key.VerifierKey()})
		if err != nil || !r.OK() || r.MemberSigs != len(parsed.Leaves)-2 {
			b.Fatalf("Verify = %d signatures, %v", r.MemberSigs, err)
		}
	}
}

// BenchmarkReadVerifySigned is BenchmarkParseVerifySigned as backchannel
// verify does it: reading the JSON and checking the leaves read while it
// reads the rest (ReadVerify).
func BenchmarkReadVerifySigned(b *testing.B) {
	bundle, key := signedBenchBundle(b)
	data, err := json.Marshal(bundle)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, r, err := ReadVerify(bytes.NewReader(data), VerifyOptions{ServerKey: key.VerifierKey()})
		if err != nil || !r.OK() || r.MemberSigs != len(bundle.Leaves)-2 {
			b.Fatalf("ReadVerify = %v, %v", r, err)
		}
	}
}
