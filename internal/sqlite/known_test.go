package sqlite

import "testing"

// TestKnownForgetsHalf checks that a map of what the committer knows,
// once full, forgets half of what it holds to make room, not everything.
func TestKnownForgetsHalf(t *testing.T) {
	m := make(map[int64]int64)
	for id := int64(1); id <= maxKnown; id++ {
		put(m, id, id)
	}
	put(m, 1, -1) // known already: nothing is forgotten
	if got := len(m); got != maxKnown {
		t.Fatalf("%d known after a put of a known key, want %d", got, maxKnown)
	}
	put(m, maxKnown+1, 7)
	if got, want := len(m), maxKnown/2+1; got != want {
		t.Errorf("%d known, want %d", got, want)
	}
	if got := m[maxKnown+1]; got != 7 {
		t.Errorf("the new entry = %d, want 7", got)
	}
}
