package genius_test

import (
	"path/filepath"
	"testing"

	"github.com/backchannel/backchannel/genius"
)

func BenchmarkLoadDir(b *testing.B) {
	for _, dir := range []string{"Laptop", "Energy", "KillerRobot", "ANAC2014_10issues"} {
		b.Run(dir, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := genius.LoadDir(filepath.Join(domainsDir, dir)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
