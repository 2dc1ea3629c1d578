package talks

import (
	"context"
	"time"
)

// The verifiable record.
//
// Each talk's events are the leaves of a Merkle tree (internal/ledger). A
// Store keeps the tree as its stored hashes, appended in the transaction
// that appends each event, and, if it has a Notary, signs a checkpoint of
// the talk's tree in that same transaction: once per group-commit batch
// and talk, or, on PostgreSQL, for a write that runs alone, at its last
// event (or at each, if it sends them one by one). talks knows
// the record only through these types, so that it does not depend on the
// ledger's hashing or signing.

// Notary signs checkpoints of talks' trees. The server's implementation
// is *ledger.Key. It must be safe for concurrent use.
type Notary interface {
	// SignCheckpoint returns the signed checkpoint note of talk talkID's
	// tree of size leaves with the given root hash.
	SignCheckpoint(talkID, size int64, root [32]byte) ([]byte, error)
}

// Checkpoint is a signed checkpoint of a talk's tree as the store keeps it.
type Checkpoint struct {
	TalkID int64
	Size   int64
	Root   [32]byte
	Note   []byte // the signed note (C2SP tlog-checkpoint)
	Time   time.Time
}

// Record is a talk's whole log and tree, read in one snapshot: every event,
// also those the reader may not see, and the tree's stored hashes in index
// order (tlog.StoredHashIndex). Whoever holds a Record must filter it by a
// View before anything of it leaves the server (ledger.NewBundle does).
type Record struct {
	Events []*Event
	Hashes [][32]byte
	// Checkpoint is the talk's latest signed checkpoint, nil if none.
	Checkpoint *Checkpoint
}

// RecordStore reads the verifiable record of talks. Its writes happen in
// the Store's writes.
type RecordStore interface {
	// FindRecord returns talk talkID's events and stored hashes, and its
	// latest checkpoint, from one snapshot. ENOTFOUND for an unknown talk.
	FindRecord(ctx context.Context, talkID int64) (*Record, error)

	// FindCheckpoints returns every checkpoint stored for talk talkID, in
	// the order they were stored. It is for operators (verify --db).
	FindCheckpoints(ctx context.Context, talkID int64) ([]*Checkpoint, error)

	// FindLatestCheckpoint returns talk talkID's latest checkpoint, or
	// ENOTFOUND if it has none.
	FindLatestCheckpoint(ctx context.Context, talkID int64) (*Checkpoint, error)
}

// Record returns talk talkID's record, with its whole log, and the acting
// user's view of the talk, which decides what of it the user may take
// away. ENOTFOUND for a talk the user is not a member of.
func (s *Service) Record(ctx context.Context, talkID int64) (*Record, *View, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.store.FindRecord(ctx, talkID)
	if err != nil {
		return nil, nil, err
	}
	return r, v, nil
}

// LatestCheckpoint returns the latest signed checkpoint of talk talkID if
// the acting user is a member, or ENOTFOUND.
func (s *Service) LatestCheckpoint(ctx context.Context, talkID int64) (*Checkpoint, error) {
	if _, err := s.View(ctx, talkID); err != nil {
		return nil, err
	}
	return s.store.FindLatestCheckpoint(ctx, talkID)
}
