package ledger

import (
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// Tree is a Merkle tree held in memory: the stored hashes of its leaves
// (tlog.StoredHashIndex), appended as leaves are. It implements
// tlog.HashReader. Appending a leaf costs O(log n) time and, on average,
// under two hashes of memory; proofs and roots cost O(log n).
//
// A Tree is not safe for concurrent use.
type Tree struct {
	n      int64
	hashes []tlog.Hash
}

var _ tlog.HashReader = (*Tree)(nil)

// NewTree returns the tree of size leaves whose stored hashes are stored,
// in stored-hash order (tlog.StoredHashIndex), as a database keeps them.
// It checks only their number: a wrong hash shows in the root.
func NewTree(size int64, stored []tlog.Hash) (*Tree, error) {
	if size < 0 || tlog.StoredHashCount(size) != int64(len(stored)) {
		return nil, errorf("tree of %d leaves: %d stored hashes, want %d", size, len(stored), tlog.StoredHashCount(max(size, 0)))
	}
	// Clip, so that appending never writes into the caller's array.
	return &Tree{n: size, hashes: slices.Clip(stored)}, nil
}

// Size returns the number of leaves in t.
func (t *Tree) Size() int64 { return t.n }

// Append adds a leaf with the given bytes and returns its index.
func (t *Tree) Append(leaf []byte) (int64, error) {
	return t.AppendHash(tlog.RecordHash(leaf))
}

// AppendHash adds a leaf whose hash (tlog.RecordHash of its bytes) is h and
// returns its index.
func (t *Tree) AppendHash(h tlog.Hash) (int64, error) {
	hs, err := tlog.StoredHashesForRecordHash(t.n, h, t)
	if err != nil {
		return 0, fmt.Errorf("ledger: append leaf %d: %w", t.n, err)
	}
	t.hashes = append(t.hashes, hs...)
	t.n++
	return t.n - 1, nil
}

// ReadHashes returns the stored hashes at the given indexes, as
// tlog.HashReader requires.
func (t *Tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, errorf("no stored hash %d in a tree of %d leaves", x, t.n)
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

// Root returns the root hash of the tree of the first size leaves; the
// empty tree's is SHA-256 of nothing.
func (t *Tree) Root(size int64) (tlog.Hash, error) {
	if size < 0 || size > t.n {
		return tlog.Hash{}, errorf("root of size %d: tree has %d leaves", size, t.n)
	}
	return tlog.TreeHash(size, t)
}

// InclusionProof returns the proof that leaf index is in the tree of the
// first size leaves, for tlog.CheckRecord.
func (t *Tree) InclusionProof(index, size int64) (tlog.RecordProof, error) {
	if index < 0 || index >= size || size > t.n {
		return nil, errorf("inclusion proof of leaf %d in size %d: tree has %d leaves", index, size, t.n)
	}
	return tlog.ProveRecord(size, index, t)
}

// ConsistencyProof returns the proof that the tree of the first oldSize
// leaves is a prefix of the tree of the first newSize, for tlog.CheckTree.
func (t *Tree) ConsistencyProof(oldSize, newSize int64) (tlog.TreeProof, error) {
	if oldSize < 1 || oldSize > newSize || newSize > t.n {
		return nil, errorf("consistency proof from size %d to %d: tree has %d leaves", oldSize, newSize, t.n)
	}
	return tlog.ProveTree(newSize, oldSize, t)
}

// merkleTree holds every node of the RFC 6962 tree of n leaves, level by
// level: level 0 is the leaf hashes, and node k of level j+1 is the
// tlog.NodeHash of nodes 2k and 2k+1 of level j, or node 2k itself where
// level j ends at 2k. (RFC 6962 splits a tree at the largest power of two
// below its size; this pairing from the bottom up, carrying an odd last
// node up unchanged, gives the same tree.) The last level is the root.
// Verify fills one in parallel, chunk by chunk, and checks an inclusion
// proof by comparing it with the leaf's path in it, with no hashing. It
// takes about 2n hashes of memory.
type merkleTree [][]tlog.Hash

func newMerkleTree(n int) merkleTree {
	t := merkleTree{make([]tlog.Hash, n)}
	for m := n; m > 1; {
		m = (m + 1) / 2
		t = append(t, make([]tlog.Hash, m))
	}
	return t
}

// leaves returns level 0, for the caller to fill in.
func (t merkleTree) leaves() []tlog.Hash { return t[0] }

// hashLevels computes the nodes of levels from to to (inclusive) above
// leaves [lo, hi). Calls for disjoint ranges of leaves, each aligned to
// 2^to leaves, may run at once.
func (t merkleTree) hashLevels(from, to, lo, hi int) {
	for j := max(from, 1); j <= to && j < len(t) && lo < hi; j++ {
		below := t[j-1]
		for k := lo >> j; k <= (hi-1)>>j; k++ {
			if 2*k+1 < len(below) {
				t[j][k] = tlog.NodeHash(below[2*k], below[2*k+1])
			} else {
				t[j][k] = below[2*k]
			}
		}
	}
}

// root computes the levels that hashLevels has not, and returns the root
// (SHA-256 of nothing for the empty tree, as tlog.TreeHash has it).
func (t merkleTree) root(from int) tlog.Hash {
	n := len(t[0])
	if n == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return h
	}
	t.hashLevels(from, len(t)-1, 0, n)
	return t[len(t)-1][0]
}

// isPath reports whether proof is leaf i's inclusion proof in t: the
// siblings of the nodes on its path to the root, from the bottom up, as
// tlog.ProveRecord gives it.
func (t merkleTree) isPath(i int, proof tlog.RecordProof) bool {
	k := 0
	for j := 0; j < len(t)-1; j, i = j+1, i/2 {
		if s := i ^ 1; s < len(t[j]) {
			if k == len(proof) || proof[k] != t[j][s] {
				return false
			}
			k++
		}
	}
	return k == len(proof)
}
