package postgres

import "testing"

// TestPlacesKeepWhatIsInUse checks that the cache of places forgets the
// places learnt two generations ago, but not one found since: a store
// that has seen many rows keeps those in use rather than forgetting
// everything at once.
func TestPlacesKeepWhatIsInUse(t *testing.T) {
	var p places
	at := func(id int64) place { return place{talk: 1, proposal: id, track: 2} }
	for id := int64(1); id <= maxPlaces; id++ {
		p.put(id, at(id))
	}
	// The newer generation is full: the next place starts another.
	p.put(maxPlaces+1, at(maxPlaces+1))
	if got := p.get(1); got != at(1) {
		t.Fatalf("place 1 after one turn = %v, want %v", got, at(1))
	}
	// Fill the newer generation (which holds maxPlaces+1 and 1, learnt
	// again) and start a third: the first is forgotten.
	for id := int64(maxPlaces + 2); id <= 2*maxPlaces+1; id++ {
		p.put(id, at(id))
	}
	if got := p.get(1); got != at(1) {
		t.Errorf("place 1, in use, after two turns = %v, want %v", got, at(1))
	}
	if got := p.get(2); got != (place{}) {
		t.Errorf("place 2, unused, after two turns = %v, want none", got)
	}
	if got := p.get(2 * maxPlaces); got != at(2*maxPlaces) {
		t.Errorf("place %d = %v, want %v", 2*maxPlaces, got, at(2*maxPlaces))
	}
	if n := len(p.cur) + len(p.old); n > 2*maxPlaces {
		t.Errorf("the cache holds %d places, want at most %d", n, 2*maxPlaces)
	}
}

// TestKeptForgetsHalf checks that the committer's heads, once full, forget
// half of what they hold to make room, not everything.
func TestKeptForgetsHalf(t *testing.T) {
	c := &committer{kept: make(map[int64]keptHead)}
	for id := int64(1); id <= maxKept; id++ {
		c.kept[id] = keptHead{seq: id}
	}
	c.keep(map[int64]*txn{maxKept + 1: {seq: 7}})
	if got, want := len(c.kept), maxKept/2+1; got != want {
		t.Errorf("%d heads kept, want %d", got, want)
	}
	if got := c.kept[maxKept+1]; got.seq != 7 {
		t.Errorf("the new head = %+v, want seq 7", got)
	}
	// A commit that fits forgets nothing.
	n := len(c.kept)
	c.keep(map[int64]*txn{maxKept + 2: {seq: 8}, 1: {seq: 9}})
	if got := len(c.kept); got != n+1 && got != n+2 {
		t.Errorf("%d heads kept after a commit that fits, want %d or %d", got, n+1, n+2)
	}
}
