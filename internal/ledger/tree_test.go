package ledger

import (
	"encoding/hex"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestTreeProofsCheckWithTlog checks every inclusion and consistency proof
// of trees of up to 33 leaves with tlog's own checkers.
func TestTreeProofsCheckWithTlog(t *testing.T) {
	var tree Tree
	var leaves []tlog.Hash
	for n := int64(1); n <= 33; n++ {
		leaf := fmt.Appendf(nil, "leaf %d", n-1)
		i, err := tree.Append(leaf)
		if err != nil || i != n-1 {
			t.Fatalf("Append(leaf %d) = %d, %v", n-1, i, err)
		}
		leaves = append(leaves, tlog.RecordHash(leaf))
		if tree.Size() != n {
			t.Fatalf("Size() = %d, want %d", tree.Size(), n)
		}
	}
	for n := int64(1); n <= tree.Size(); n++ {
		root, err := tree.Root(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			p, err := tree.InclusionProof(i, n)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, n, err)
			}
			if err := tlog.CheckRecord(p, n, root, i, leaves[i]); err != nil {
				t.Errorf("CheckRecord(InclusionProof(%d, %d)): %v", i, n, err)
			}
			if err := tlog.CheckRecord(p, n, root, i, leaves[(i+1)%n]); n > 1 && err == nil {
				t.Errorf("CheckRecord(InclusionProof(%d, %d)) accepts another leaf", i, n)
			}
		}
		for old := int64(1); old <= n; old++ {
			oldRoot, _ := tree.Root(old)
			p, err := tree.ConsistencyProof(old, n)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", old, n, err)
			}
			if err := tlog.CheckTree(p, n, root, old, oldRoot); err != nil {
				t.Errorf("CheckTree(ConsistencyProof(%d, %d)): %v", old, n, err)
			}
		}
	}
}

// TestTreeRFC6962 checks roots against RFC 6962 hashing computed by hand.
func TestTreeRFC6962(t *testing.T) {
	var tree Tree
	empty, _ := tree.Root(0)
	if got, want := hex.EncodeToString(empty[:]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("Root(0) = %s, want %s", got, want)
	}
	a, b, c := []byte("a"), []byte("b"), []byte("c")
	for _, l := range [][]byte{a, b, c} {
		tree.Append(l)
	}
	want := tlog.NodeHash(tlog.NodeHash(tlog.RecordHash(a), tlog.RecordHash(b)), tlog.RecordHash(c))
	if got, _ := tree.Root(3); got != want {
		t.Errorf("Root(3) = %v, want %v", got, want)
	}
}

func TestTreeRangeErrors(t *testing.T) {
	var tree Tree
	tree.Append([]byte("x"))
	tree.Append([]byte("y"))
	if _, err := tree.Root(3); err == nil {
		t.Error("Root(3) of 2 leaves: no error")
	}
	if _, err := tree.InclusionProof(2, 2); err == nil {
		t.Error("InclusionProof(2, 2): no error")
	}
	if _, err := tree.ConsistencyProof(0, 2); err == nil {
		t.Error("ConsistencyProof(0, 2): no error")
	}
	if _, err := tree.ConsistencyProof(1, 3); err == nil {
		t.Error("ConsistencyProof(1, 3): no error")
	}
	if _, err := tree.ReadHashes([]int64{99}); err == nil {
		t.Error("ReadHashes(99): no error")
	}
}

// TestTreeCTVectors checks roots against the RFC 6962 test vectors of
// Certificate Transparency's reference implementations.
func TestTreeCTVectors(t *testing.T) {
	leaves := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	roots := []string{
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	var tree Tree
	for i, l := range leaves {
		b, _ := hex.DecodeString(l)
		tree.Append(b)
		root, err := tree.Root(int64(i + 1))
		if got := hex.EncodeToString(root[:]); err != nil || got != roots[i] {
			t.Errorf("Root(%d) = %s, %v; want %s", i+1, got, err, roots[i])
		}
	}
}

func TestNewTree(t *testing.T) {
	var tree Tree
	for i := range 13 {
		tree.Append(fmt.Appendf(nil, "leaf %d", i))
	}
	stored, err := tree.ReadHashes(func() []int64 {
		idx := make([]int64, tlog.StoredHashCount(13))
		for i := range idx {
			idx[i] = int64(i)
		}
		return idx
	}())
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := NewTree(13, stored)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tree.Root(13)
	if got, err := loaded.Root(13); err != nil || got != want {
		t.Errorf("NewTree(13, stored).Root(13) = %v, %v; want %v", got, err, want)
	}
	// It keeps growing like any tree.
	tree.Append([]byte("leaf 13"))
	loaded.Append([]byte("leaf 13"))
	want, _ = tree.Root(14)
	if got, _ := loaded.Root(14); got != want {
		t.Errorf("after Append, Root(14) = %v, want %v", got, want)
	}
	if _, err := NewTree(12, stored); err == nil {
		t.Error("NewTree(12, hashes of 13 leaves): no error")
	}
}

// TestMerkleTree checks the tree Verify builds against Tree: the same
// root for every size up to 300 and some larger, built in chunks of
// several sizes, and every leaf's inclusion proof, and nothing else, is
// its path. Verify compares proofs with paths (falling back on
// tlog.CheckRecord), so a mistake here would make it slow, not wrong.
func TestMerkleTree(t *testing.T) {
	var tree Tree
	var leaves []tlog.Hash
	sizes := []int{0}
	for n := 1; n <= 300; n++ {
		sizes = append(sizes, n)
	}
	for _, n := range append(sizes, 1023, 1024, 1025, 4097) {
		for tree.Size() < int64(n) {
			leaf := fmt.Appendf(nil, "leaf %d", tree.Size())
			tree.Append(leaf)
			leaves = append(leaves, tlog.RecordHash(leaf))
		}
		want, err := tree.Root(int64(n))
		if err != nil {
			t.Fatal(err)
		}
		var m merkleTree
		for _, chunkLog := range []int{0, 1, 3, 10} {
			m = newMerkleTree(n)
			copy(m.leaves(), leaves)
			for lo := 0; lo < n; lo += 1 << chunkLog {
				m.hashLevels(1, chunkLog, lo, min(lo+1<<chunkLog, n))
			}
			if got := m.root(chunkLog + 1); got != want {
				t.Fatalf("merkleTree(%d leaves, chunks of %d).root = %x, want %x", n, 1<<chunkLog, got, want)
			}
		}
		for i := range n {
			p, err := tree.InclusionProof(int64(i), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			if !m.isPath(i, p) {
				t.Errorf("isPath(%d, InclusionProof(%d, %d)) = false", i, i, n)
			}
			if n > 1 && m.isPath((i+1)%n, p) {
				t.Errorf("isPath(%d, InclusionProof(%d, %d)) = true", (i+1)%n, i, n)
			}
			if len(p) > 0 && m.isPath(i, p[:len(p)-1]) {
				t.Errorf("isPath(%d, InclusionProof(%d, %d) shortened) = true", i, i, n)
			}
		}
	}
}
