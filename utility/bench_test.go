package utility_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// benchUtility evaluates f on a fixed set of random outcomes.
func benchUtility(b *testing.B, f utility.Func) {
	s := f.Space()
	r := rand.New(rand.NewPCG(1, 1))
	outcomes := make([]outcome.Outcome, 1024)
	for k := range outcomes {
		o := make(outcome.Outcome, len(s.Issues))
		for i, is := range s.Issues {
			o[i] = r.IntN(is.Len())
		}
		outcomes[k] = o
	}
	b.ReportAllocs()
	var sink float64
	k := 0
	for b.Loop() {
		sink += f.Utility(outcomes[k&1023])
		k++
	}
	_ = sink
}

func BenchmarkUtility(b *testing.B) {
	for _, tt := range []struct{ name, dir string }{
		{"LinearAdditive/Energy", "Energy"},
		{"LinearAdditive/KillerRobot", "KillerRobot"},
		{"HyperRectangle/ANAC2014", "ANAC2014_10issues"},
	} {
		sc, err := genius.LoadDir(filepath.Join("..", "examples", "domains", tt.dir))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tt.name, func(b *testing.B) { benchUtility(b, sc.Profiles[0].Func) })
	}
}
