package talks

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// signedPayloads returns one payload of each signed kind as the service
// writes it, every field set, and a fresh value of its type for each.
func signedPayloads(t testing.TB) map[string][]byte {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	at := time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC)
	out := map[string][]byte{}
	for typ, p := range map[string]any{
		EventVersionProposed: &VersionProposed{}, EventAnswerGiven: &AnswerGiven{}, EventMandateSaved: &MandateSaved{},
		EventRatificationGiven: &RatificationGiven{}, EventDisclosureConsented: &DisclosureConsented{},
	} {
		// Every field set, so that a field added to the type and not to
		// scanPayload shows.
		v := reflect.ValueOf(p).Elem()
		for i := range v.NumField() {
			switch f := v.Field(i); f.Kind() {
			case reflect.Int64:
				f.SetInt(int64(40 + i))
			case reflect.String:
				f.SetString(fmt.Sprintf("text %d, Südland", i))
			case reflect.Map:
				f.Set(reflect.ValueOf(map[string]string{"line": "ridge", "prisoners": "10"}))
			default:
				t.Fatalf("%s: field %s of kind %s: teach signedPayloads and scanPayload", typ, v.Type().Field(i).Name, f.Kind())
			}
		}
		st := &Statement{Talk: 3, Signer: "member/5", Action: ActionAnswer, Version: 12, Kind: AnswerAccept, At: at.Format(time.RFC3339Nano)}
		sg, err := Sign(priv, st)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if b, err = withSigned(b, sg); err != nil {
			t.Fatal(err)
		}
		out[typ] = b
	}
	return out
}

// newSignedPayload returns a pointer to a zero payload of a signed kind.
func newSignedPayload(typ string) any {
	switch typ {
	case EventVersionProposed:
		return new(signedVersion)
	case EventAnswerGiven:
		return new(signedAnswer)
	case EventMandateSaved:
		return new(signedMandate)
	case EventRatificationGiven:
		return new(signedRatification)
	case EventDisclosureConsented:
		return new(signedConsent)
	}
	return nil
}

// TestScanPayloadFastPath checks that the payloads the service writes
// take the fast path, and decode as encoding/json decodes them.
func TestScanPayloadFastPath(t *testing.T) {
	for typ, b := range signedPayloads(t) {
		got, want := newSignedPayload(typ), newSignedPayload(typ)
		if err := json.Unmarshal(b, want); err != nil {
			t.Fatal(err)
		}
		if !scanPayload(b, got) {
			t.Errorf("scanPayload(%s) gave up on %s", typ, b)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("scanPayload(%s) = %+v, json.Unmarshal %+v", typ, got, want)
		}
	}
}

// FuzzScanPayload checks that scanPayload accepts only payloads that
// json.Unmarshal accepts, and decodes them to the same values.
func FuzzScanPayload(f *testing.F) {
	types := []string{EventVersionProposed, EventAnswerGiven, EventMandateSaved, EventRatificationGiven, EventDisclosureConsented}
	for typ, b := range signedPayloads(f) {
		for i, t := range types {
			if t == typ {
				f.Add(uint8(i), b)
				f.Add(uint8(i), []byte(strings.ReplaceAll(string(b), ",", " ,\n\t")))
				f.Add(uint8(i), []byte(strings.Replace(string(b), `"signed"`, `"Signed"`, 1)))
			}
		}
	}
	f.Add(uint8(1), []byte(`{"version_id":1,"kind":"accept","signed":{"signer":"member/1","statement":{"a":{"b":1}},"sig":""}}`))
	f.Add(uint8(1), []byte(`{"version_id":-0,"kind":"a\u00e9","signed":null}`))
	f.Add(uint8(0), []byte(`{"values":{"a":"1","a":"2"}}`))
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		got, want := newSignedPayload(types[int(typ)%len(types)]), newSignedPayload(types[int(typ)%len(types)])
		if !scanPayload(b, got) {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("scanPayload(%q) gave up and changed its target to %+v", b, got)
			}
			return
		}
		if err := json.Unmarshal(b, want); err != nil {
			t.Fatalf("scanPayload(%q) accepts what json.Unmarshal refuses: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scanPayload(%q) = %+v, json.Unmarshal %+v", b, got, want)
		}
	})
}

// FuzzMatchStatement checks that matchStatement, which reads the time of
// most statements without decoding them, decides as matchStatementJSON.
func FuzzMatchStatement(f *testing.F) {
	want := &Statement{Talk: 3, Signer: "member/5", Action: ActionAnswer, Version: 12, Kind: AnswerAccept}
	for _, s := range []string{
		`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept","at":"2026-11-27T09:00:00Z"}`,
		`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept","at":"\u0032026"}`,
		`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept","at":"<"}`,
		`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept","at":"x","at":"y"}`,
		`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept","at":""}`,
		`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"reject","at":"x"}`,
		`{"at":"x","talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept"}`,
		`{"talk":3,"signer":"member/5","action":"answer","version":12,"kind":"accept","at":"}`,
		`,"at":"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, statement []byte) {
		sg := &Signed{Signer: want.Signer, Statement: statement}
		got, ref := matchStatement(want, sg), matchStatementJSON(want, sg)
		if fmt.Sprint(got) != fmt.Sprint(ref) {
			t.Fatalf("matchStatement(%q) = %v, matchStatementJSON %v", statement, got, ref)
		}
	})
}
