package postgres

import (
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// recorder is a HashReader that records what is read.
type recorder []int64

func (r *recorder) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	*r = append(*r, indexes...)
	return make([]tlog.Hash, len(indexes)), nil
}

// TestFrontier checks frontier against what tlog.TreeHash reads.
func TestFrontier(t *testing.T) {
	ns := []int64{1<<40 - 1, 1 << 40, 1<<40 + 12345}
	for n := range int64(4100) {
		ns = append(ns, n)
	}
	for _, n := range ns {
		var r recorder
		if _, err := tlog.TreeHash(n, &r); err != nil {
			t.Fatal(err)
		}
		if got := frontier(n); !slices.Equal(got, r) && len(got)+len(r) > 0 {
			t.Fatalf("frontier(%d) = %v, want %v", n, got, []int64(r))
		}
	}
}
