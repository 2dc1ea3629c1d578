package genius_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// seedXML adds every example file whose root element is root.
func seedXML(f *testing.F, root string) {
	paths, err := filepath.Glob(filepath.Join(domainsDir, "*", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if bytes.Contains(data, []byte("<"+root)) {
			f.Add(data)
		}
	}
	for _, s := range []string{smallDomain, smallProfile, realDomain, realProfile} {
		f.Add([]byte(s))
	}
}

// seedWeb adds the example scenarios written as GeniusWeb JSON.
func seedWeb(f *testing.F, profiles bool) {
	for _, dir := range []string{"Laptop", "KillerRobot", "FlightBookingA", "EnergyGrid"} {
		sc, err := genius.LoadDir(filepath.Join(domainsDir, dir))
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if profiles {
			err = genius.WriteWebProfile(&buf, sc.Profiles[0])
		} else {
			err = genius.WriteWebDomain(&buf, sc.Space)
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte(webProfile))
}

// fuzzOutcomes yields all outcomes of a small space, or a sample.
func fuzzOutcomes(s *outcome.Space, yield func(outcome.Outcome)) {
	if n, ok := s.Size(); ok && n <= 512 {
		for o := range s.All() {
			yield(o)
		}
		return
	}
	r := rand.New(rand.NewPCG(5, 6))
	o := make(outcome.Outcome, len(s.Issues))
	for range 256 {
		for i, is := range s.Issues {
			o[i] = r.IntN(is.Len())
		}
		yield(o)
	}
}

func sameProfile(t *testing.T, p, q *utility.Profile, reserved bool) {
	t.Helper()
	fuzzOutcomes(p.Space(), func(o outcome.Outcome) {
		if a, b := p.Utility(o), q.Utility(o); !near(a, b) {
			t.Fatalf("Utility(%s) = %v after a round trip, want %v", p.Space().Format(o), b, a)
		}
	})
	if reserved && (!near(p.Reserved, q.Reserved) || p.Discount != q.Discount) {
		t.Fatalf("reserved %v, discount %v after a round trip; want %v, %v", q.Reserved, q.Discount, p.Reserved, p.Discount)
	}
}

// mustParseError fails unless err is a *ParseError.
func mustParseError(t *testing.T, err error) {
	t.Helper()
	var pe *genius.ParseError
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "genius: ") {
		t.Fatalf("error %q (%T) is not a *ParseError", err, err)
	}
}

func FuzzReadDomain(f *testing.F) {
	seedXML(f, "negotiation_template")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := genius.ReadDomain(bytes.NewReader(data))
		if err != nil {
			mustParseError(t, err)
			return
		}
		var buf bytes.Buffer
		if err := genius.WriteDomain(&buf, s); err != nil {
			t.Fatalf("WriteDomain: %v", err)
		}
		s2, err := genius.ReadDomain(&buf)
		if err != nil {
			t.Fatalf("ReadDomain(WriteDomain()): %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("ReadDomain(WriteDomain()) = %+v, want %+v", s2, s)
		}
	})
}

func FuzzReadProfile(f *testing.F) {
	seedXML(f, "utility_space")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := genius.ReadProfile(bytes.NewReader(data), nil)
		if err != nil {
			mustParseError(t, err)
			return
		}
		var buf bytes.Buffer
		if err := genius.WriteProfile(&buf, p); err != nil {
			t.Fatalf("WriteProfile: %v", err)
		}
		q, err := genius.ReadProfile(bytes.NewReader(buf.Bytes()), p.Space())
		if err != nil {
			t.Fatalf("ReadProfile(WriteProfile()): %v\n%s", err, buf.String())
		}
		sameProfile(t, p, q, true)
	})
}

func FuzzReadWebDomain(f *testing.F) {
	seedWeb(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := genius.ReadWebDomain(bytes.NewReader(data))
		if err != nil {
			mustParseError(t, err)
			return
		}
		var buf bytes.Buffer
		if err := genius.WriteWebDomain(&buf, s); err != nil {
			t.Fatalf("WriteWebDomain: %v", err)
		}
		s2, err := genius.ReadWebDomain(&buf)
		if err != nil {
			t.Fatalf("ReadWebDomain(WriteWebDomain()): %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("ReadWebDomain(WriteWebDomain()) = %+v, want %+v", s2, s)
		}
	})
}

func FuzzReadWebProfile(f *testing.F) {
	seedWeb(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := genius.ReadWebProfile(bytes.NewReader(data), nil)
		if err != nil {
			mustParseError(t, err)
			return
		}
		var buf bytes.Buffer
		if err := genius.WriteWebProfile(&buf, p); err != nil {
			t.Fatalf("WriteWebProfile: %v", err)
		}
		q, err := genius.ReadWebProfile(bytes.NewReader(buf.Bytes()), p.Space())
		if err != nil {
			t.Fatalf("ReadWebProfile(WriteWebProfile()): %v\n%s", err, buf.String())
		}
		sameProfile(t, p, q, true)
		// GENIUS XML holds what GeniusWeb does, but for number utilities
		// that are not linear over the whole issue.
		buf.Reset()
		if err := genius.WriteProfile(&buf, p); errors.Is(err, genius.ErrUnsupported) {
			return
		} else if err != nil {
			t.Fatalf("WriteProfile: %v", err)
		}
		x, err := genius.ReadProfile(&buf, p.Space())
		if err != nil {
			t.Fatalf("ReadProfile(WriteProfile()): %v\n%s", err, buf.String())
		}
		sameProfile(t, p, x, true)
	})
}
