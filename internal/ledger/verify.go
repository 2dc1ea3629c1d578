package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/backchannel/backchannel/internal/talks"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checks that Verify reports in a Failure.
const (
	CheckCheckpoint  = "checkpoint"       // the checkpoint is malformed
	CheckSignature   = "signature"        // the checkpoint is not signed by the server key
	CheckOrigin      = "origin"           // the origin does not name this talk on the key's server
	CheckSize        = "size"             // the number of leaves is not the checkpoint's size
	CheckSeq         = "seq"              // an event is not numbered by its position, or not of this talk
	CheckHash        = "hash"             // an event's hash does not match its fields
	CheckChain       = "chain"            // an event's prev_hash is not the previous event's hash
	CheckInclusion   = "inclusion"        // an event's inclusion proof fails against the checkpoint
	CheckRoot        = "root"             // the leaves do not hash to the checkpoint's root
	CheckSince       = "since"            // the earlier checkpoint is malformed, unsigned or of another log
	CheckConsistency = "consistency"      // no consistency proof from the earlier checkpoint
	CheckRollback    = "rollback"         // the earlier checkpoint is larger: the log was rolled back
	CheckFork        = "fork"             // the earlier checkpoint is not a prefix: the log forked
	CheckMemberSig   = "member-signature" // a member signature fails, or is missing
)

// VerifyOptions are the inputs to Verify that the member brings.
type VerifyOptions struct {
	// ServerKey is the server's verifier key, as Key.VerifierKey encodes
	// it, obtained by a channel other than the bundle. Required.
	ServerKey string
	// Since, if not nil, is an earlier signed checkpoint of the same talk
	// that the member kept. The bundle's log must extend it.
	Since []byte
}

// Failure is one check that a bundle failed.
type Failure struct {
	Seq    int64  // the event concerned, or 0 for the bundle as a whole
	Check  string // one of the Check constants
	Detail string
}

// String returns the failure as "event 12: hash: ..." or, for the bundle
// as a whole, "signature: ...".
func (f Failure) String() string {
	if f.Seq > 0 {
		return fmt.Sprintf("event %d: %s: %s", f.Seq, f.Check, f.Detail)
	}
	return f.Check + ": " + f.Detail
}

// Report is the outcome of Verify: what the bundle holds and every check
// it failed. The bundle verifies if and only if Failures is empty.
type Report struct {
	Origin  string
	Size    int64     // the checkpoint's tree size
	Root    tlog.Hash // the checkpoint's root
	KeyName string    // the name of the server key checked against
	Events  int       // events in full
	Hidden  int       // leaves given only as hashes
	// MemberSigs counts the member signatures checked, Signers the
	// signers whose keys the log binds (member.key).
	MemberSigs int
	Signers    int
	SinceSize  int64 // the earlier checkpoint's size, if one was given
	Failures   []Failure
}

// OK reports whether the bundle passed every check.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

func (r *Report) fail(seq int64, check, format string, args ...any) {
	r.Failures = append(r.Failures, Failure{Seq: seq, Check: check, Detail: fmt.Sprintf(format, args...)})
}

// Verify checks a bundle offline and reports every failure:
//
//   - the checkpoint is well formed and signed by opts.ServerKey, and its
//     origin names a talk on that key's server and matches the bundle's;
//   - there is one leaf per leaf of the checkpoint's tree;
//   - each event in full is numbered by its position and belongs to the
//     origin's talk, its hash matches its fields, its prev_hash is the
//     hash of the event before it when that one is in full too (zero for
//     the first), and its inclusion proof holds against the checkpoint;
//   - all leaves together hash to the checkpoint's root;
//   - every member signature an event carries verifies under the key the
//     log bound to its signer (member.key) at that point, signs exactly
//     the action of the event it sits in, by the event's actor, and an
//     event of a signed kind whose actor had a key carries one
//     (talks.SignatureChecker);
//   - given opts.Since, that checkpoint is signed by the same key for the
//     same origin and the bundle's tree extends it: not smaller (rolled
//     back), not a different tree of the same size, and a consistency
//     proof from its size that holds (a fork otherwise).
//
// Verify returns an error only for unusable options: a malformed server
// key, or no key. It takes O(n log n) time for n leaves, plus the size of
// the payloads, and checks the leaves on every core.
func Verify(b *Bundle, opts VerifyOptions) (*Report, error) {
	v, err := serverVerifier(opts)
	if err != nil {
		return nil, err
	}
	lc := newLeafChecks()
	for _, l := range b.Leaves {
		lc.add(l)
	}
	return verify(b, opts, v, lc.wait()), nil
}

// ReadVerify reads a bundle from r, as ReadBundle does, and verifies it,
// as Verify does, checking each leaf's hashes and signatures on the other
// cores while it reads the next ones. It returns the bundle and the
// report, or ReadBundle's errors and Verify's.
func ReadVerify(r io.Reader, opts VerifyOptions) (*Bundle, *Report, error) {
	v, err := serverVerifier(opts)
	if err != nil {
		return nil, nil, err
	}
	lc := newLeafChecks()
	b, fast, err := readBundle(r, lc.add)
	checked := lc.wait()
	if err != nil {
		return nil, nil, err
	}
	if !fast {
		// The leaves checked are not the bundle's: check its own.
		lc = newLeafChecks()
		for _, l := range b.Leaves {
			lc.add(l)
		}
		checked = lc.wait()
	}
	return b, verify(b, opts, v, checked), nil
}

func serverVerifier(opts VerifyOptions) (note.Verifier, error) {
	if opts.ServerKey == "" {
		return nil, errors.New("ledger: verify: no server key")
	}
	v, err := note.NewVerifier(opts.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("ledger: verify: server key: %w", err)
	}
	return v, nil
}

// verify is Verify, given the server's verifier and the checks of b's
// leaves.
func verify(b *Bundle, opts VerifyOptions, v note.Verifier, lc *leafChecks) *Report {
	r := &Report{KeyName: v.Name()}

	text, ok := noteText(b.Checkpoint)
	if !ok {
		r.fail(0, CheckCheckpoint, "not a signed note")
		return r
	}
	cp, err := ParseCheckpoint(text)
	if err != nil {
		r.fail(0, CheckCheckpoint, "%s", strings.TrimPrefix(err.Error(), "ledger: "))
		return r
	}
	r.Origin, r.Size, r.Root = cp.Origin, cp.Size, cp.Root
	if _, err := OpenCheckpoint(b.Checkpoint, v); err != nil {
		detail := strings.TrimPrefix(err.Error(), "ledger: ")
		if b.ServerKey != opts.ServerKey {
			// Most often the member has the wrong key, or the bundle
			// comes from another server: say what the bundle claims.
			detail += fmt.Sprintf(" (the bundle names key %s)", b.ServerKey)
		}
		r.fail(0, CheckSignature, "%s", detail)
	}
	server, talkID, ok := parseOrigin(cp.Origin)
	switch {
	case cp.Origin != b.Origin:
		r.fail(0, CheckOrigin, "checkpoint origin %q is not the bundle's %q", cp.Origin, b.Origin)
	case !ok:
		r.fail(0, CheckOrigin, "%q does not name a talk (want <server>/talks/<id>)", cp.Origin)
	case server != v.Name():
		r.fail(0, CheckOrigin, "%q is not a talk of server %q, whose key was given", cp.Origin, v.Name())
	}
	if int64(len(b.Leaves)) != cp.Size {
		r.fail(0, CheckSize, "bundle has %d leaves, checkpoint says %d", len(b.Leaves), cp.Size)
	}
	if cp.Size > maxLeaves {
		// No bundle can hold that many leaves, and tlog's proof checkers
		// loop forever on sizes over 2^62: check no proofs against it.
		r.fail(0, CheckSize, "checkpoint size %d is over the limit of %d", cp.Size, maxLeaves)
		return r
	}

	r.verifyLeaves(b, cp, talkID, lc)
	if opts.Since != nil {
		r.verifySince(b, cp, v, opts.Since)
	}
	return r
}

// leafChunk is the number of leaves checked at a time on one core: a
// power of two, so that a chunk holds whole subtrees (merkleTree).
const (
	leafChunkLog = 10
	leafChunk    = 1 << leafChunkLog
)

// sigCheck is what Verify learns of one event's member signature.
type sigCheck struct {
	signer string
	key    ed25519.PublicKey
	kind   bool // of a signed kind
	signed bool
	err    error
}

// leafChecks checks what each leaf's own content shows: its hashes, its
// statement and its member signature, given the key the events before it
// bound to its signer. Leaves are added in log order; each chunk of
// leafChunk leaves is checked on the next free core while more are added.
type leafChecks struct {
	sigs   *talks.SignatureChecker
	chunks []*leafChunkChecks
	work   chan *leafChunkChecks
	wg     sync.WaitGroup
}

// leafChunkChecks are the checks of leaves [lo, lo+len(leaves)).
type leafChunkChecks struct {
	lo     int
	leaves []Leaf
	checks []sigCheck // filled in as leaves are added
	hashOK []bool     // the event's hash matches its fields
	tree   merkleTree // of the chunk's leaves, up to its root
}

func newLeafChecks() *leafChecks {
	lc := &leafChecks{sigs: talks.NewSignatureChecker(), work: make(chan *leafChunkChecks, 16)}
	for range runtime.GOMAXPROCS(0) {
		lc.wg.Go(func() {
			for c := range lc.work {
				c.check()
			}
		})
	}
	return lc
}

// add adds the next leaf of the log.
func (lc *leafChecks) add(l Leaf) {
	n := len(lc.chunks)
	if n == 0 || len(lc.chunks[n-1].leaves) == leafChunk {
		lc.chunks = append(lc.chunks, &leafChunkChecks{lo: n * leafChunk,
			leaves: make([]Leaf, 0, leafChunk), checks: make([]sigCheck, 0, leafChunk)})
		n++
	}
	c := lc.chunks[n-1]
	// Which key each signer has at each point depends on the events
	// before it (member.added, member.key): fold them in order, which is
	// cheap.
	var sc sigCheck
	if l.Event != nil {
		sc.signer, sc.key, sc.kind, sc.err = lc.sigs.Key(l.Event)
	}
	c.leaves = append(c.leaves, l)
	c.checks = append(c.checks, sc)
	if len(c.leaves) == leafChunk {
		lc.work <- c
	}
}

// wait returns lc when every leaf added is checked.
func (lc *leafChecks) wait() *leafChecks {
	if n := len(lc.chunks); n > 0 && len(lc.chunks[n-1].leaves) < leafChunk {
		lc.work <- lc.chunks[n-1]
	}
	close(lc.work)
	lc.wg.Wait()
	return lc
}

// check checks the chunk's leaves, and their signatures in batches
// (batch.go).
func (c *leafChunkChecks) check() {
	c.hashOK = make([]bool, len(c.leaves))
	c.tree = newMerkleTree(len(c.leaves))
	buf := []byte{0} // tlog.RecordHash's prefix, then the event's bytes
	var items []sigItem
	var at []int
	for i := range c.leaves {
		l := &c.leaves[i]
		if l.Event == nil {
			c.tree.leaves()[i] = l.LeafHash
			continue
		}
		buf = l.Event.AppendCanonical(buf[:1])
		c.hashOK[i] = sha256.Sum256(buf[1:]) == l.Event.Hash
		c.tree.leaves()[i] = sha256.Sum256(buf)
		if sc := &c.checks[i]; sc.kind && sc.err == nil {
			var sg *talks.Signed
			if sg, sc.signed, sc.err = talks.CheckSignedStatement(l.Event, sc.signer, sc.key); sg != nil {
				items = append(items, sigItem{key: sc.key, msg: sg.Message(), sig: sg.Sig})
				at = append(at, i)
			}
		}
	}
	for j, ok := range verifyBatches(items) {
		if !ok {
			c.checks[at[j]].err = talks.ErrSignatureMismatch(c.checks[at[j]].signer)
		}
	}
	c.tree.root(1)
}

func (r *Report) verifyLeaves(b *Bundle, cp Checkpoint, talkID int64, lc *leafChecks) {
	n := len(b.Leaves)
	// The tree: the chunks' subtrees, and the levels above them.
	tree := newMerkleTree(n)
	for _, c := range lc.chunks {
		for j := 0; j < len(c.tree) && j < len(tree); j++ {
			copy(tree[j][c.lo>>j:], c.tree[j])
		}
		// The last chunk may be smaller: carry its root up.
		tree.hashLevels(len(c.tree), leafChunkLog, c.lo, c.lo+len(c.leaves))
	}
	root := tree.root(leafChunkLog + 1)

	// A proof that is the tree's own path to the leaf, in a tree whose
	// root is the checkpoint's, holds: compare instead of hashing. Any
	// other is checked as tlog does, so the verdict is the same.
	own := n > 0 && int64(n) == cp.Size && root == cp.Root
	proofOK := make([]bool, n)
	forChunks(n, leafChunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			l := &b.Leaves[i]
			if l.Event == nil || int64(i) >= cp.Size {
				continue
			}
			proofOK[i] = own && tree.isPath(i, l.Proof) ||
				tlog.CheckRecord(l.Proof, cp.Size, cp.Root, int64(i), tree.leaves()[i]) == nil
		}
	})

	var prev *talks.Event
	for i, l := range b.Leaves {
		e := l.Event
		if e == nil {
			r.Hidden++
			prev = nil
			continue
		}
		c := lc.chunks[i/leafChunk]
		sc := &c.checks[i%leafChunk]
		r.Events++
		seq := int64(i + 1)
		if e.ID != seq {
			r.fail(e.ID, CheckSeq, "at position %d of the log", seq)
		}
		if talkID != 0 && e.TalkID != talkID {
			r.fail(e.ID, CheckSeq, "belongs to talk %d, not %d", e.TalkID, talkID)
		}
		if !c.hashOK[i%leafChunk] {
			r.fail(e.ID, CheckHash, "hash does not match the event's fields")
		}
		switch {
		case i == 0 && e.PrevHash != [32]byte{}:
			r.fail(e.ID, CheckChain, "first event has a non-zero prev_hash")
		case prev != nil && e.PrevHash != prev.Hash:
			r.fail(e.ID, CheckChain, "prev_hash is not the hash of event %d", prev.ID)
		}
		if int64(i) < cp.Size && !proofOK[i] {
			r.fail(e.ID, CheckInclusion, "not leaf %d of the checkpoint's tree", i)
		}
		if sc.signed {
			r.MemberSigs++
		}
		if sc.err != nil {
			r.fail(e.ID, CheckMemberSig, "%v", sc.err)
		}
		prev = e
	}
	r.Signers = len(lc.sigs.Keys())
	if int64(n) == cp.Size && root != cp.Root {
		r.fail(0, CheckRoot, "the %d leaves do not hash to the checkpoint's root", n)
	}
}

// forChunks calls f on the chunks [0, chunk), [chunk, 2*chunk), ... that
// cover [0, n), each once, on as many goroutines as there are CPUs, each
// taking the next chunk when it is done with one (a core that other work
// slows down takes fewer), and returns when all have returned.
func forChunks(n, chunk int, f func(lo, hi int)) {
	chunks := (n + chunk - 1) / chunk
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), chunks) {
		wg.Go(func() {
			for c := int(next.Add(1) - 1); c < chunks; c = int(next.Add(1) - 1) {
				f(c*chunk, min((c+1)*chunk, n))
			}
		})
	}
	wg.Wait()
}

func (r *Report) verifySince(b *Bundle, cp Checkpoint, v note.Verifier, since []byte) {
	old, err := OpenCheckpoint(since, v)
	if err != nil {
		r.fail(0, CheckSince, "%v", strings.TrimPrefix(err.Error(), "ledger: "))
		return
	}
	r.SinceSize = old.Size
	switch {
	case old.Origin != cp.Origin:
		r.fail(0, CheckSince, "earlier checkpoint is of %q, not %q", old.Origin, cp.Origin)
	case old.Size > cp.Size:
		r.fail(0, CheckRollback, "rolled back: an earlier checkpoint has %d leaves, this one only %d", old.Size, cp.Size)
	case old.Size == cp.Size:
		if old.Root != cp.Root {
			r.fail(0, CheckFork, "fork: two checkpoints of size %d with different roots", cp.Size)
		}
	case old.Size == 0:
		// The empty tree is a prefix of every tree.
	default:
		i := -1
		for j, c := range b.Consistency {
			if c.OldSize == old.Size {
				i = j
				break
			}
		}
		if i < 0 {
			r.fail(0, CheckConsistency, "bundle has no consistency proof from size %d", old.Size)
			return
		}
		if err := tlog.CheckTree(b.Consistency[i].Proof, cp.Size, cp.Root, old.Size, old.Root); err != nil {
			r.fail(0, CheckFork, "fork: the tree of size %d is not a prefix of this one", old.Size)
		}
	}
}
