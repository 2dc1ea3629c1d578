package talks_test

import (
	"bytes"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// FuzzMandateBody checks that no stored or requested mandate body makes
// SetBody or Validate panic, that Validate answers only EINVALID, and that
// a valid mandate's canonical body is stable: it reads back the same.
func FuzzMandateBody(f *testing.F) {
	sp, err := outcome.NewSpace("border",
		outcome.NewDiscrete("line", "river", "ridge", "hills"),
		outcome.NewInteger("troops", 0, 100))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"allowed":{}}`,
		`{"allowed":{"line":["river","ridge"]},"min_utility":0.4}`,
		`{"allowed":{"line":["hills","river","river"],"troops":["0","100"]}}`,
		`{"allowed":{"line":[]}}`,
		`{"allowed":{"sea":["x"]},"min_utility":2}`,
		`{"min_utility":null}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m talks.Mandate
		if err := m.SetBody(data); err != nil {
			return
		}
		if err := m.Validate(sp); err != nil {
			if talks.ErrorCode(err) != talks.EINVALID {
				t.Fatalf("Validate error %v, want EINVALID", err)
			}
			return
		}
		var q talks.Mandate
		if err := q.SetBody(m.Body()); err != nil {
			t.Fatal(err)
		}
		if err := q.Validate(sp); err != nil {
			t.Fatalf("canonical body %s invalid: %v", m.Body(), err)
		}
		if !bytes.Equal(q.Body(), m.Body()) {
			t.Fatalf("body does not round-trip: %s, then %s", m.Body(), q.Body())
		}
	})
}
