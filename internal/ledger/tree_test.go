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
