// Package ledger makes a talk's event log verifiable by anyone who holds a
// record of it, without trusting the server's database.
//
// # Model
//
// Each talk has its own append-only Merkle tree. Event seq s of the talk
// (talks.Event.ID) is leaf s-1 of that tree, and the tree hashes as RFC
// 6962 does, through golang.org/x/mod/sumdb/tlog: a leaf's hash is
// tlog.RecordHash of the event's leaf bytes (SHA-256 of 0x00 || bytes), an
// interior node's is SHA-256 of 0x01 || left || right. The server signs a
// Checkpoint (origin, tree size, root hash) of a talk's tree with its
// Ed25519 key in the C2SP tlog-checkpoint format, a signed note
// (golang.org/x/mod/sumdb/note). An inclusion proof shows that an event is
// leaf i of the tree a checkpoint commits to; a consistency proof shows
// that a tree of an earlier checkpoint is a prefix of a later one.
//
// # Leaf bytes
//
// A leaf is the event's canonical encoding, version 1, exactly as
// talks.Event.CanonicalBytes returns it: the domain separator
// "backchannel/event/v1\n", then talk id, seq, time (RFC 3339 in UTC, to
// the microsecond), actor, track, type, payload (as stored) and the
// previous event's hash, every number a big-endian uint64 and every
// variable-length field prefixed with its uint32 length (see the talks
// package documentation). It covers every field of the event but its own
// Hash, which is SHA-256 of the same bytes. One encoding serves both the
// hash chain and the tree, so there is one thing to specify and to check:
// it is unambiguous (length-prefixed), it takes the payload as stored
// rather than re-encoding JSON, and its domain separator keeps it from
// colliding with any other byte string this project hashes. Because the
// leaf includes the previous hash, the tree also commits to the chain.
//
// # Storage
//
// A tree is its stored hashes (tlog.StoredHashIndex): about two per leaf,
// written once when the leaf is appended (tlog.StoredHashes) and never
// changed. Tree keeps them in memory. Everything else in this package
// reads hashes through tlog.HashReader, so the server can keep them in a
// table of (talk, index, hash) rows instead, written in the transaction
// that appends the event, and pass a HashReader over that table to
// NewBundle, tlog.TreeHash, tlog.ProveRecord and tlog.ProveTree.
//
// # Bundles
//
// A Bundle is what a member of a talk may take away and check offline: the
// signed checkpoint, the server's verifier key, the events the member may
// see in full with an inclusion proof each, and for every other event only
// its leaf hash. Verify checks it against a server key the member got by
// some other channel and, given an earlier checkpoint the member kept,
// that the log only grew since.
//
// # Trust
//
// A checkpoint proves what the holder of the server's key signed, no more.
// The server holds that key, so the log proves to a member that the server
// committed to these events in this order at the latest by the time the
// member saw the checkpoint, and that it did not later rewrite, drop or
// reorder them without signing two inconsistent checkpoints, which a
// member who kept the older one can show to anyone (see Verify's rollback
// and fork checks). It does not prove that an event's actor really acted:
// the server wrote the event, and a server willing to lie could have
// written it at the time. Only signatures with keys that members hold
// themselves can prove that, and they are not part of this package yet.
// A checkpoint nobody but the server keeps proves little; checkpoints are
// worth most when members, or independent witnesses, keep copies.
//
// Leaf hashes of events outside a member's view are not hiding
// commitments: anyone who can guess all fields of such an event (its time
// to the microsecond, actor, track, type and payload) can confirm the
// guess against the hash. Short, predictable payloads in a narrow time
// window are guessable; message texts are not.
package ledger

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
	"golang.org/x/mod/sumdb/tlog"
)

// LeafBytes returns the bytes that stand for e in its talk's tree: its
// canonical encoding, version 1.
func LeafBytes(e *talks.Event) []byte { return e.CanonicalBytes() }

// LeafHash returns the hash of e's leaf: tlog.RecordHash(LeafBytes(e)).
func LeafHash(e *talks.Event) tlog.Hash { return tlog.RecordHash(e.CanonicalBytes()) }

// Origin returns the checkpoint origin of a talk's tree on the server
// named server: "<server>/talks/<id>". The server's key has the name
// server, so a verifier can tell which key speaks for which talks.
func Origin(server string, talkID int64) string {
	return server + "/talks/" + strconv.FormatInt(talkID, 10)
}

// TalkOfOrigin returns the talk whose tree on server the checkpoint
// origin names, or false if it names none of server's.
func TalkOfOrigin(server, origin string) (int64, bool) {
	s, id, ok := parseOrigin(origin)
	return id, ok && s == server
}

// parseOrigin returns the server name and talk id of an origin Origin
// made, or false.
func parseOrigin(origin string) (server string, talkID int64, ok bool) {
	i := strings.LastIndex(origin, "/talks/")
	if i <= 0 {
		return "", 0, false
	}
	s := origin[i+len("/talks/"):]
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return "", 0, false
	}
	return origin[:i], id, true
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("ledger: "+format, args...)
}
