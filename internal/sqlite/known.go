package sqlite

import "github.com/backchannel/backchannel/internal/talks"

// known is what the committer learnt from its writes and keeps across
// batches, so that a write reads fewer rows: each talk's last event and
// where its last view-breaking event may be, and each version's place.
// It holds only while the committer's connection is the database's only
// writer, and only what is committed or written by the batch so far: the
// committer drops it when another connection has committed (PRAGMA
// data_version changed) and when a batch is rolled back, and leaves out
// what a write that failed appended (txn.cur).
type known struct {
	version int64 // data_version when it was learnt
	heads   map[int64]eventHead
	places  map[int64]place // by version ID
}

// eventHead is a talk's last event.
type eventHead struct {
	seq  int64 // 0 if the talk has none
	hash [32]byte
	// No event after quiet, up to seq, breaks a view (checkView); quiet
	// is seq when that is not known.
	quiet int64
}

// place is where a version is: versions never move.
type place struct{ talkID, proposalID, trackID int64 }

// maxKnown bounds the talks and versions known.
const maxKnown = 1 << 16

func newKnown() known {
	return known{heads: make(map[int64]eventHead), places: make(map[int64]place)}
}

func (k known) keepHead(talkID int64, h eventHead) {
	if _, ok := k.heads[talkID]; !ok && len(k.heads) >= maxKnown {
		clear(k.heads)
	}
	k.heads[talkID] = h
}

func (k known) keepPlace(versionID int64, p place) {
	if len(k.places) >= maxKnown {
		clear(k.places)
	}
	k.places[versionID] = p
}

// keepsView reports whether an event of type typ leaves a view as it was
// (talks.ViewKeepingTypes).
func keepsView(typ string) bool { return viewKeeping[typ] }

var viewKeeping = func() map[string]bool {
	m := make(map[string]bool)
	for _, t := range talks.ViewKeepingTypes() {
		m[t] = true
	}
	return m
}()
