package ledger

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var (
	benchOut    = flag.String("bench-bundle", "", "write the benchmarks' bundle of 100,000 events to `FILE`, and its server key to FILE.pub")
	benchSigned = flag.Bool("bench-signed", false, "with -bench-bundle: write the bundle of 100,000 signed answers instead")
)

// TestWriteBenchBundle writes the benchmarks' bundle to a file, given
// -bench-bundle, to measure "backchannel verify FILE --key FILE.pub" end
// to end.
func TestWriteBenchBundle(t *testing.T) {
	if *benchOut == "" {
		t.Skip("no -bench-bundle")
	}
	data := benchBundle(t)
	if *benchSigned {
		bundle, _ := signedBenchBundle(t)
		var err error
		if data, err = json.Marshal(bundle); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(*benchOut, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*benchOut+".pub", []byte(testKey(t, "bc.example").VerifierKey()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// benchBundle returns the JSON of a bundle of 100,000 events, all visible,
// so that each has an inclusion proof to check: the worst case.
func benchBundle(b testing.TB) []byte {
	b.Helper()
	events := testLog(b, 100_000)
	bundle, err := NewBundle(events, allVisible, testTree(b, events), testKey(b, "bc.example"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := json.Marshal(bundle)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkVerify verifies a parsed bundle of 100,000 events.
func BenchmarkVerify(b *testing.B) {
	data := benchBundle(b)
	bundle, err := ParseBundle(data)
	if err != nil {
		b.Fatal(err)
	}
	opts := VerifyOptions{ServerKey: testKey(b, "bc.example").VerifierKey()}
	b.ReportAllocs()
	for b.Loop() {
		r, err := Verify(bundle, opts)
		if err != nil || !r.OK() {
			b.Fatalf("Verify() = %v, %v", r.Failures, err)
		}
	}
}

// BenchmarkParseVerify reads and verifies a bundle of 100,000 events from
// its JSON, as "backchannel verify" does.
func BenchmarkParseVerify(b *testing.B) {
	data := benchBundle(b)
	opts := VerifyOptions{ServerKey: testKey(b, "bc.example").VerifierKey()}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		bundle, err := ParseBundle(data)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Verify(bundle, opts)
		if err != nil || !r.OK() {
			b.Fatalf("Verify() = %v, %v", r.Failures, err)
		}
	}
}

// BenchmarkParseBundle parses a bundle of 100,000 events from its JSON.
func BenchmarkParseBundle(b *testing.B) {
	data := benchBundle(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBundle(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadBundle reads a bundle of 100,000 events from its JSON in
// a file, as "backchannel verify" does.
func BenchmarkReadBundle(b *testing.B) {
	data := benchBundle(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadBundle(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignCheckpoint measures what the server spends per checkpoint
// it signs: formatting the note and one Ed25519 signature.
func BenchmarkSignCheckpoint(b *testing.B) {
	k, _, err := GenerateKey("bench.example")
	if err != nil {
		b.Fatal(err)
	}
	var root [32]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.SignCheckpoint(1, 12345, root); err != nil {
			b.Fatal(err)
		}
	}
}
