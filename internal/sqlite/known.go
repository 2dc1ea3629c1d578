package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// known is what the committer learnt from its writes and keeps across
// batches, so that a write reads fewer rows: each talk's last event and
// how far back no event breaks a view, where tracks, versions and members
// are (none of them ever moves), whether a talk is agreed, and who holds a
// signer's key, and the version of each envoy's mandate.
//
// It holds only what is committed or written by the batch's writes that
// succeeded, and only while the committer's connection is the database's
// only writer. So the committer drops it when another connection has
// committed (PRAGMA data_version changed) and when a batch is rolled back;
// what a write learns (txn.learnt, and its appends in txn.cur) is kept only
// if the write succeeds; and a write that changes what is known forgets it
// at once (forgetAgreed, forgetHolder), in both.
type known struct {
	version int64 // data_version when it was learnt
	heads   map[int64]eventHead
	places  map[int64]place    // by version ID
	tracks  map[int64]int64    // talk ID by track ID
	members map[int64]memberOf // by member ID
	agreed  map[int64]bool     // by talk ID
	holders map[signerOf]string
	// The version of an envoy's mandate (0 for none), by talk and envoy.
	mandates map[[2]int64]int64
}

// eventHead is a talk's last event.
type eventHead struct {
	seq  int64 // 0 if the talk has none
	hash [32]byte
	// No event after quiet, up to seq, breaks a view (checkView); quiet
	// is seq when that is not known.
	quiet int64
}

// place is where a version is.
type place struct{ talkID, proposalID, trackID int64 }

// memberOf is a member's talk and party (0 for a facilitator).
type memberOf struct{ talkID, partyID int64 }

type signerOf struct {
	talkID int64
	signer string
}

// maxKnown bounds each map of known.
const maxKnown = 1 << 16

func newKnown() known {
	return known{
		heads:    make(map[int64]eventHead),
		places:   make(map[int64]place),
		tracks:   make(map[int64]int64),
		members:  make(map[int64]memberOf),
		agreed:   make(map[int64]bool),
		holders:  make(map[signerOf]string),
		mandates: make(map[[2]int64]int64),
	}
}

// forget empties k.
func (k known) forget() {
	clear(k.heads)
	clear(k.places)
	clear(k.tracks)
	clear(k.members)
	clear(k.agreed)
	clear(k.holders)
	clear(k.mandates)
}

// keep adds what l holds to k.
func (k known) keep(l known) {
	putAll(k.heads, l.heads)
	putAll(k.places, l.places)
	putAll(k.tracks, l.tracks)
	putAll(k.members, l.members)
	putAll(k.agreed, l.agreed)
	putAll(k.holders, l.holders)
	putAll(k.mandates, l.mandates)
}

func putAll[K comparable, V any](dst, src map[K]V) {
	for k, v := range src {
		put(dst, k, v)
	}
}

// put sets m[k] to v. If m would then hold more than maxKnown, it first
// forgets half of what m holds, at random (as a map's iteration gives
// them), so that what is in use is not all read again at once.
func put[K comparable, V any](m map[K]V, k K, v V) {
	if _, ok := m[k]; !ok && len(m) >= maxKnown {
		n := len(m) / 2
		for k := range m {
			if n == 0 {
				break
			}
			delete(m, k)
			n--
		}
	}
	m[k] = v
}

// lookup returns what the running write learnt of k, else what the
// committer knows.
func lookup[K comparable, V any](learnt, kept map[K]V, k K) (V, bool) {
	if v, ok := learnt[k]; ok {
		return v, true
	}
	v, ok := kept[k]
	return v, ok
}

// head returns talk talkID's last event as the transaction sees it: from
// the running write's appends, else from what the committer knows, else
// from the database.
func (tx *txn) head(ctx context.Context, talkID int64) (eventHead, error) {
	if h, ok := tx.cur[talkID]; ok {
		return h, nil
	} else if h, ok := lookup(tx.learnt.heads, tx.known.heads, talkID); ok {
		return h, nil
	}
	var h eventHead
	var hash []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM events WHERE talk_id = $1 ORDER BY seq DESC LIMIT 1`, talkID).Scan(&h.seq, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return eventHead{}, fmt.Errorf("read last event: %w", err)
	}
	copy(h.hash[:], hash)
	h.quiet = h.seq
	tx.learnt.heads[talkID] = h
	return h, nil
}

// setQuiet records that no event of talk talkID after seq breaks a view
// (talks.ViewKeepingTypes), up to its head.
func (tx *txn) setQuiet(talkID, seq int64) {
	if h, ok := tx.cur[talkID]; ok {
		h.quiet = min(h.quiet, seq)
		tx.cur[talkID] = h
	} else if h, ok := lookup(tx.learnt.heads, tx.known.heads, talkID); ok {
		h.quiet = min(h.quiet, seq)
		tx.learnt.heads[talkID] = h
	}
}

// trackTalk returns the talk of track id, or ENOTFOUND.
func trackTalk(ctx context.Context, tx *txn, id int64) (int64, error) {
	if talkID, ok := lookup(tx.learnt.tracks, tx.known.tracks, id); ok {
		return talkID, nil
	}
	var talkID int64
	err := tx.QueryRowContext(ctx, `SELECT talk_id FROM tracks WHERE id = $1`, id).Scan(&talkID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, talks.Errorf(talks.ENOTFOUND, "Track not found.")
	} else if err != nil {
		return 0, fmt.Errorf("find track: %w", err)
	}
	tx.learnt.tracks[id] = talkID
	return talkID, nil
}

// memberParty returns the party of member id of talk talkID (0 for a
// facilitator), or ENOTFOUND.
func memberParty(ctx context.Context, tx *txn, id, talkID int64) (int64, error) {
	if m, ok := lookup(tx.learnt.members, tx.known.members, id); ok {
		if m.talkID != talkID {
			return 0, talks.Errorf(talks.ENOTFOUND, "Member not found.")
		}
		return m.partyID, nil
	}
	var m memberOf
	var party sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT talk_id, party_id FROM members WHERE id = $1`, id).Scan(&m.talkID, &party)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, talks.Errorf(talks.ENOTFOUND, "Member not found.")
	} else if err != nil {
		return 0, fmt.Errorf("find member: %w", err)
	}
	m.partyID = party.Int64
	tx.learnt.members[id] = m
	if m.talkID != talkID {
		return 0, talks.Errorf(talks.ENOTFOUND, "Member not found.")
	}
	return m.partyID, nil
}

// beginWrite readies tx for the next write of the batch.
func (tx *txn) beginWrite() {
	if tx.cur == nil {
		tx.cur = make(map[int64]eventHead)
		tx.learnt = newKnown()
	}
	clear(tx.cur)
	tx.learnt.forget()
}

// forgetAgreed is for a write that changes whether talk talkID is agreed.
func (tx *txn) forgetAgreed(talkID int64) {
	delete(tx.known.agreed, talkID)
	delete(tx.learnt.agreed, talkID)
}

// forgetHolder is for a write that changes signer's key in talk talkID.
func (tx *txn) forgetHolder(talkID int64, signer string) {
	delete(tx.known.holders, signerOf{talkID, signer})
	delete(tx.learnt.holders, signerOf{talkID, signer})
}

// forgetMandate is for a write that changes envoy's mandate in talk talkID.
func (tx *txn) forgetMandate(talkID, envoy int64) {
	delete(tx.known.mandates, [2]int64{talkID, envoy})
	delete(tx.learnt.mandates, [2]int64{talkID, envoy})
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
