package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestBundleRoundTrip(t *testing.T) {
	b, _, _ := testBundle(t, 7, 3)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Errorf("Marshal(ParseBundle(data)) differs from data:\n%s\n%s", data, again)
	}
	// The payload travels as the exact stored text, HTML-sensitive
	// characters and all.
	if e := got.Leaves[0].Event; e == nil || !strings.Contains(string(e.Payload), `"body":"offer \u003ca\u003e \u0026 more"`) {
		t.Errorf("payload of event 1 = %s", e.Payload)
	}
	if got.Leaves[2].Event != nil || got.Leaves[2].Proof != nil {
		t.Errorf("hidden leaf 2 = %+v, want a bare leaf hash", got.Leaves[2])
	}
}

// TestParseBundleErrors checks that each malformed bundle is refused with
// the path to the bad field.
func TestParseBundleErrors(t *testing.T) {
	b, _, _ := testBundle(t, 3, 2)
	data, _ := json.Marshal(b)
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		json.Unmarshal(data, &m)
		f(m)
		out, _ := json.Marshal(m)
		return string(out)
	}
	leaf := func(m map[string]any, i int) map[string]any { return m["leaves"].([]any)[i].(map[string]any) }
	event := func(m map[string]any, i int) map[string]any { return leaf(m, i)["event"].(map[string]any) }
	for _, tc := range []struct{ name, data, path string }{
		{"not JSON", "{", ""},
		{"trailing data", string(data) + "{}", ""},
		{"unknown top field", edit(func(m map[string]any) { m["extra"] = 1 }), ""},
		{"version", edit(func(m map[string]any) { m["version"] = 2 }), "version"},
		{"version type", edit(func(m map[string]any) { m["version"] = "1" }), "version"},
		{"no origin", edit(func(m map[string]any) { delete(m, "origin") }), "origin"},
		{"no key", edit(func(m map[string]any) { delete(m, "server_key") }), "server_key"},
		{"no checkpoint", edit(func(m map[string]any) { delete(m, "checkpoint") }), "checkpoint"},
		{"no leaves", edit(func(m map[string]any) { m["leaves"] = []any{} }), "leaves"},
		{"unknown leaf field", edit(func(m map[string]any) { leaf(m, 1)["x"] = 1 }), "leaves[1]"},
		{"leaf both", edit(func(m map[string]any) { leaf(m, 0)["leaf_hash"] = leaf(m, 2)["leaf_hash"] }), "leaves[0]"},
		{"leaf neither", edit(func(m map[string]any) { delete(leaf(m, 2), "leaf_hash") }), "leaves[2]"},
		{"hidden proof", edit(func(m map[string]any) { leaf(m, 2)["proof"] = leaf(m, 0)["proof"] }), "leaves[2].proof"},
		{"leaf hash", edit(func(m map[string]any) { leaf(m, 2)["leaf_hash"] = "AAAA" }), "leaves[2].leaf_hash"},
		{"proof base64", edit(func(m map[string]any) { leaf(m, 1)["proof"] = "not base64!" }), "leaves[1].proof"},
		{"proof of 31 bytes", edit(func(m map[string]any) { leaf(m, 1)["proof"] = base64.StdEncoding.EncodeToString(make([]byte, 31)) }), "leaves[1].proof"},
		{"proof too long", edit(func(m map[string]any) { leaf(m, 1)["proof"] = base64.StdEncoding.EncodeToString(make([]byte, 64*32)) }), "leaves[1].proof"},
		{"proof missing", edit(func(m map[string]any) { delete(leaf(m, 1), "proof") }), "leaves[1].proof"},
		{"proof array", edit(func(m map[string]any) { leaf(m, 1)["proof"] = []any{leaf(m, 2)["leaf_hash"]} }), "leaves[1].proof"},
		{"unknown event field", edit(func(m map[string]any) { event(m, 0)["signature"] = "x" }), "leaves[0]"},
		{"seq type", edit(func(m map[string]any) { event(m, 1)["seq"] = "2" }), "leaves[1].event.seq"},
		{"seq zero", edit(func(m map[string]any) { event(m, 1)["seq"] = 0 }), "leaves[1].event.seq"},
		{"talk", edit(func(m map[string]any) { event(m, 1)["talk"] = -1 }), "leaves[1].event.talk"},
		{"type", edit(func(m map[string]any) { event(m, 1)["type"] = "" }), "leaves[1].event.type"},
		{"time", edit(func(m map[string]any) { event(m, 0)["time"] = "yesterday" }), "leaves[0].event.time"},
		{"time not canonical", edit(func(m map[string]any) { event(m, 0)["time"] = "2026-11-27T10:00:00.123456+01:00" }), "leaves[0].event.time"},
		{"prev hash", edit(func(m map[string]any) { event(m, 1)["prev_hash"] = "00" }), "leaves[1].event.prev_hash"},
		{"hash upper case", edit(func(m map[string]any) { event(m, 1)["hash"] = strings.ToUpper(event(m, 1)["hash"].(string)) }), "leaves[1].event.hash"},
		{"old size", edit(func(m map[string]any) { m["consistency"].([]any)[0].(map[string]any)["old_size"] = 0 }), "consistency[0].old_size"},
		{"consistency field", edit(func(m map[string]any) { m["consistency"].([]any)[0].(map[string]any)["new_size"] = 3 }), "consistency[0]"},
	} {
		_, err := ParseBundle([]byte(tc.data))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: ParseBundle() = %v, want a *ParseError", tc.name, err)
			continue
		}
		if pe.Path != tc.path {
			t.Errorf("%s: ParseBundle() error %q at path %q, want %q", tc.name, err, pe.Path, tc.path)
		}
	}
}

// FuzzParseBundle checks that ParseBundle never panics, and that what it
// accepts marshals back to a bundle that parses to the same encoding, and
// that Verify never panics on it.
func FuzzParseBundle(f *testing.F) {
	b, _, _ := testBundle(f, 5, 2)
	data, _ := json.Marshal(b)
	f.Add(data)
	f.Add([]byte(`{"version":1,"origin":"o","server_key":"k","checkpoint":"c","leaves":[{"leaf_hash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}]}`))
	f.Add([]byte(`{"version":1,"leaves":[{"event":{"talk":1,"seq":1,"time":"2026-01-02T03:04:05Z","actor":0,"track":0,"type":"t","payload":"{}","prev_hash":"","hash":""},"proof":""}]}`))
	f.Add([]byte(`{}`))
	if golden, err := os.ReadFile(filepath.Join("testdata", "bundle-v1.json")); err == nil {
		f.Add(golden)
	}
	f.Add([]byte(`{"leaves":[{"leaf_hash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}],"version":1,"origin":"o\u00e9\n","server_key":"k","checkpoint":"c\u2028"}`))
	f.Add([]byte(`{"version":1,"origin":"o","server_key":"k","checkpoint":"c","leaves":[{"event":{"talk":1,"seq":1,"time":"2026-01-02T03:04:05.1Z","actor":0,"track":0,"type":"t","payload":"{\"a\":\"\\u003c\ud83d\ude00\"}","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":"00000000000000000000000000000000000000000000000000000000000000ff"},"proof":""}],"consistency":[{"old_size":1,"proof":""}]}`))
	key := testKey(f, "bc.example").VerifierKey()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScan(t, data)
		b, err := ParseBundle(data)
		checkRead(t, data, b, err)
		if err != nil {
			return
		}
		out, err := json.Marshal(b)
		if err != nil {
			// Only a payload that is not UTF-8 cannot go back out, and
			// JSON strings decode to UTF-8.
			t.Fatalf("Marshal(ParseBundle(%q)): %v", data, err)
		}
		b2, err := ParseBundle(out)
		if err != nil {
			t.Fatalf("ParseBundle(Marshal(ParseBundle(%q))): %v", data, err)
		}
		out2, _ := json.Marshal(b2)
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip is not stable:\n%s\n%s", out, out2)
		}
		if _, err := Verify(b, VerifyOptions{ServerKey: key}); err != nil {
			t.Fatal(err)
		}
	})
}

// checkScan checks that scanBundle, ParseBundle's fast path, accepts only
// what parseBundleJSON accepts, and returns the same bundle.
func checkScan(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	got, ok := scanBundle(data)
	if !ok {
		return false
	}
	want, err := parseBundleJSON(data)
	if err != nil {
		t.Fatalf("scanBundle(%q) succeeds, parseBundleJSON fails: %v", data, err)
	}
	if !bundlesEqual(got, want) {
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		t.Fatalf("scanBundle(%q) =\n%s\nparseBundleJSON =\n%s", data, gotJSON, wantJSON)
	}
	return true
}

// checkRead checks that ReadBundle, from a file and from a pipe, returns
// what ParseBundle does, b and err, and that scanBundleFrom agrees with
// scanBundle even when it gets one byte at a time.
func checkRead(t *testing.T, data []byte, b *Bundle, err error) {
	t.Helper()
	for name, r := range map[string]io.Reader{"file": bytes.NewReader(data), "pipe": iotest.OneByteReader(bytes.NewReader(data))} {
		got, gotErr := ReadBundle(r)
		if (gotErr == nil) != (err == nil) || err != nil && gotErr.Error() != err.Error() || err == nil && !bundlesEqual(got, b) {
			t.Fatalf("ReadBundle(%s of %q) = %v, want %v", name, data, gotErr, err)
		}
	}
	want, wantOK := scanBundle(data)
	got, ok, err := scanBundleFrom(iotest.OneByteReader(bytes.NewReader(data)), nil)
	if err != nil || ok != wantOK || ok && !bundlesEqual(got, want) {
		t.Fatalf("scanBundleFrom(one byte at a time of %q) = %v, %v, scanBundle gives %v", data, ok, err, wantOK)
	}
}

func bundlesEqual(a, b *Bundle) bool {
	if a.Origin != b.Origin || a.ServerKey != b.ServerKey || !bytes.Equal(a.Checkpoint, b.Checkpoint) ||
		len(a.Leaves) != len(b.Leaves) || len(a.Consistency) != len(b.Consistency) {
		return false
	}
	for i, la := range a.Leaves {
		lb := b.Leaves[i]
		if la.LeafHash != lb.LeafHash || !slices.Equal(la.Proof, lb.Proof) || (la.Proof == nil) != (lb.Proof == nil) || (la.Event == nil) != (lb.Event == nil) {
			return false
		}
		if ea, eb := la.Event, lb.Event; ea != nil {
			if ea.ID != eb.ID || ea.TalkID != eb.TalkID || ea.Time != eb.Time || ea.ActorID != eb.ActorID || ea.TrackID != eb.TrackID ||
				ea.Type != eb.Type || !bytes.Equal(ea.Payload, eb.Payload) || ea.PrevHash != eb.PrevHash || ea.Hash != eb.Hash {
				return false
			}
		}
	}
	for i, ca := range a.Consistency {
		cb := b.Consistency[i]
		if ca.OldSize != cb.OldSize || !slices.Equal(ca.Proof, cb.Proof) {
			return false
		}
	}
	return true
}

// TestParseBundleFastPath checks that the bundles this package writes, and
// the golden one, take ParseBundle's fast path: a field added to the
// format but not to scanBundle would send every bundle to encoding/json,
// which is several times slower.
func TestParseBundleFastPath(t *testing.T) {
	b, _, _ := testBundle(t, 20, 3, 7)
	compact, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	json.Indent(&indented, compact, "", "\t")
	golden, err := os.ReadFile(filepath.Join("testdata", "bundle-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"compact": compact, "indented": indented.Bytes(), "golden": golden} {
		if !checkScan(t, data) {
			t.Errorf("%s: scanBundle gives up; want the fast path", name)
		}
		want, err := ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		checkRead(t, data, want, nil)
		// A reader that fails after the first read shows whether
		// ReadBundle had to read again.
		if _, err := ReadBundle(&onceReader{r: bytes.NewReader(data)}); err != nil {
			t.Errorf("%s: ReadBundle read the file twice: %v", name, err)
		}
	}
}

// TestScanBundleGivesUp checks that scanBundle leaves to encoding/json
// what it would read differently, and what is malformed.
func TestScanBundleGivesUp(t *testing.T) {
	b, _, _ := testBundle(t, 3, 2)
	data, _ := json.Marshal(b)
	s := string(data)
	for _, tc := range []struct{ name, data string }{
		{"field in upper case", strings.Replace(s, `"version"`, `"Version"`, 1)},
		{"repeated field", strings.Replace(s, `"version":1`, `"version":1,"version":1`, 1)},
		{"null event", strings.Replace(s, `{"leaf_hash"`, `{"event":null,"leaf_hash"`, 1)},
		{"number with a fraction", strings.Replace(s, `"seq":2`, `"seq":2.0`, 1)},
		{"number with an exponent", strings.Replace(s, `"seq":2`, `"seq":2e0`, 1)},
		{"leading zero", strings.Replace(s, `"seq":2`, `"seq":02`, 1)},
		{"escaped proof", strings.Replace(s, `"proof":"`, `"proof":"\u0041`, 1)},
		{"surrogate", strings.Replace(s, `"type":"`, `"type":"\ud83d\ude00`, 1)},
		{"not UTF-8", strings.Replace(s, `"type":"`, "\"type\":\"\xff", 1)},
		{"no actor", strings.Replace(s, `"actor":2,`, ``, 1)},
		{"empty leaves", s[:strings.Index(s, `"leaves"`)] + `"leaves":[]}`},
		{"trailing data", s + "{}"},
		{"time not canonical", strings.Replace(s, `.123456Z`, `.1234560Z`, 1)},
		{"time 24:00", strings.Replace(s, `T09:00:00`, `T24:00:00`, 1)},
	} {
		if tc.data == s {
			t.Fatalf("%s: the edit changed nothing", tc.name)
		}
		if _, ok := scanBundle([]byte(tc.data)); ok {
			t.Errorf("%s: scanBundle succeeds, want it to give up", tc.name)
		}
		// Whatever encoding/json makes of it, ParseBundle agrees.
		want, errJSON := parseBundleJSON([]byte(tc.data))
		got, err := ParseBundle([]byte(tc.data))
		if (err == nil) != (errJSON == nil) || err == nil && !bundlesEqual(got, want) {
			t.Errorf("%s: ParseBundle() = %v, parseBundleJSON() = %v", tc.name, err, errJSON)
		}
		checkRead(t, []byte(tc.data), got, err)
	}
}

// onceReader is a file that can be read through once: it fails a read
// after a seek back.
type onceReader struct {
	r      *bytes.Reader
	rewind bool
}

func (o *onceReader) Read(p []byte) (int, error) {
	if o.rewind {
		return 0, errors.New("read again")
	}
	return o.r.Read(p)
}

func (o *onceReader) Seek(offset int64, whence int) (int64, error) {
	if pos, _ := o.r.Seek(0, io.SeekCurrent); whence != io.SeekCurrent && pos > 0 {
		o.rewind = true
	}
	return o.r.Seek(offset, whence)
}

func TestReadBundleLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a gigabyte")
	}
	b, _, _ := testBundle(t, 3)
	data, _ := json.Marshal(b)
	// Pad with white space to one byte over the limit, without holding it.
	r := io.MultiReader(bytes.NewReader(data), io.LimitReader(spaces{}, MaxBundleSize+1-int64(len(data))))
	_, err := ReadBundle(&seekless{r})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ReadBundle(%d bytes) = %v, want a *ParseError for size", MaxBundleSize+1, err)
	}
}

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// seekless pretends to seek, to take ReadBundle's streaming path.
type seekless struct{ io.Reader }

func (seekless) Seek(int64, int) (int64, error) { return 0, nil }

// TestScanBundleMutations checks the fast path against encoding/json on
// many small edits of a bundle: each byte replaced, deleted or preceded
// by one of the bytes that matter to JSON.
func TestScanBundleMutations(t *testing.T) {
	b, _, _ := testBundle(t, 3, 2)
	data, _ := json.Marshal(b)
	special := []byte("\"\\{}[],: \n0-1e.nAa=/u\xff\x00")
	rng := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for i := range data {
		edits := [][]byte{
			slices.Delete(slices.Clone(data), i, i+1),
		}
		for range 2 {
			c := special[rng.IntN(len(special))]
			replaced := slices.Clone(data)
			replaced[i] = c
			edits = append(edits, replaced, slices.Insert(slices.Clone(data), i, c))
		}
		for _, e := range edits {
			if checkScan(t, e) {
				accepted++
			}
			if i%16 == 0 {
				// Reading one byte at a time is slow: some.
				want, err := ParseBundle(e)
				checkRead(t, e, want, err)
			}
		}
	}
	t.Logf("%d edits took the fast path", accepted)
}
