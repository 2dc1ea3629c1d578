package talks_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/internal/talks"
)

// FuzzImportPreferences checks that no profile makes ImportPreferences
// panic, and that what it accepts is valid preferences whose utility
// function builds, and that reads back the same from its canonical body.
func FuzzImportPreferences(f *testing.F) {
	dir := filepath.Join("..", "..", "examples", "domains", "Energy")
	df, err := os.Open(filepath.Join(dir, "energy_domain.xml"))
	if err != nil {
		f.Fatal(err)
	}
	sp, err := genius.ReadDomain(df)
	df.Close()
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"energy_distributor.xml", "energy_consumer.xml"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"LinearAdditiveUtilitySpace": {"issueWeights": {}, "issueUtilities": {}}}`))
	f.Add([]byte("<utility_space>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := talks.ImportPreferences(sp, "", data)
		if err != nil {
			if talks.ErrorCode(err) != talks.EINVALID {
				t.Fatalf("ImportPreferences error %v, want EINVALID", err)
			}
			return
		}
		if err := p.Validate(sp); err != nil {
			t.Fatalf("imported preferences invalid: %v", err)
		}
		if _, err := p.Func(sp); err != nil {
			t.Fatalf("Func of imported preferences: %v", err)
		}
		var q talks.Preferences
		if err := q.SetBody(p.Body()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.Body(), p.Body()) {
			t.Fatalf("body does not round-trip: %s, then %s", p.Body(), q.Body())
		}
	})
}
