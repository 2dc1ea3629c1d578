package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"

	"filippo.io/edwards25519"
)

// Batch verification of Ed25519 signatures.
//
// A log holds many signatures by few signers. Checking n signatures one by
// one costs n double scalar multiplications; checking a batch at once costs
// one multi-scalar multiplication over its n R points (with 128-bit random
// coefficients), its few distinct keys and the base point, whose doublings
// all the terms share. For signatures (R_i, S_i) by keys A_i of messages
// M_i, with k_i = SHA-512(R_i || A_i || M_i) and random z_i, the batch is
// valid if
//
//	[8] ( [-Σ z_i S_i] B + Σ z_i R_i + Σ [z_i k_i] A_i ) = 0,
//
// which holds, except with probability 2^-128, only if every signature
// satisfies the cofactored equation [8][S_i]B = [8]R_i + [8][k_i]A_i.
// Every signature that ed25519.Verify accepts satisfies it, so a valid
// batch never fails; a failed batch is checked one by one, to name the
// bad signature. The cofactored check also accepts signatures whose R has
// a small-order component, which ed25519.Verify refuses; only the holder
// of the private key can make one (k_i depends on R_i), so it still shows
// that the key's holder signed. S must be canonical (below the group
// order), as ed25519.Verify requires.

// batchSize is the number of signatures verified together: large enough
// that the shared doublings (256 a batch) cost little per signature (256
// took about 7 % less CPU time than 64 in BenchmarkVerifySignatures),
// small enough that a bad signature costs little to find (256 checks one
// by one, a few milliseconds).
const batchSize = 256

// sigItem is one signature to check.
type sigItem struct {
	key ed25519.PublicKey
	msg []byte
	sig []byte
}

// verifyBatch reports whether every signature in items is valid (see
// above). It returns false for any malformed key or signature.
func verifyBatch(items []sigItem) bool {
	if len(items) == 0 {
		return true
	}
	n := len(items)
	scalars := make([]*edwards25519.Scalar, 0, n+8)
	points := make([]*edwards25519.Point, 0, n+8)
	zs := make([]edwards25519.Scalar, n) // one allocation each for the batch
	rs := make([]edwards25519.Point, n)
	sumS := edwards25519.NewScalar()
	keyIndex := make(map[string]int) // index in scalars/points of each distinct key
	var zb [32]byte
	random := make([]byte, 16*n)
	if _, err := rand.Read(random); err != nil {
		return false
	}
	h := sha512.New()
	var digest [64]byte
	var S, k, zk edwards25519.Scalar
	for i, it := range items {
		if len(it.key) != ed25519.PublicKeySize || len(it.sig) != ed25519.SignatureSize {
			return false
		}
		R, z := &rs[i], &zs[i]
		if _, err := R.SetBytes(it.sig[:32]); err != nil {
			return false
		}
		if _, err := S.SetCanonicalBytes(it.sig[32:]); err != nil {
			return false
		}
		h.Reset()
		h.Write(it.sig[:32])
		h.Write(it.key)
		h.Write(it.msg)
		if _, err := k.SetUniformBytes(h.Sum(digest[:0])); err != nil {
			return false
		}
		copy(zb[:16], random[16*i:16*i+16]) // zb[16:] stays zero: z < 2^128
		if _, err := z.SetCanonicalBytes(zb[:]); err != nil {
			return false
		}
		sumS.MultiplyAdd(z, &S, sumS)
		scalars = append(scalars, z)
		points = append(points, R)
		zk.Multiply(z, &k)
		if j, ok := keyIndex[string(it.key)]; ok {
			scalars[j].Add(scalars[j], &zk)
			continue
		}
		A, err := new(edwards25519.Point).SetBytes(it.key)
		if err != nil {
			return false
		}
		keyIndex[string(it.key)] = len(points)
		scalars = append(scalars, new(edwards25519.Scalar).Set(&zk))
		points = append(points, A)
	}
	scalars = append(scalars, new(edwards25519.Scalar).Negate(sumS))
	points = append(points, edwards25519.NewGeneratorPoint())
	sum := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	return sum.MultByCofactor(sum).Equal(edwards25519.NewIdentityPoint()) == 1
}

// verifyBatches checks items in batches and returns, for each, whether
// its signature is valid.
func verifyBatches(items []sigItem) []bool {
	ok := make([]bool, len(items))
	for from := 0; from < len(items); from += batchSize {
		verifyBatchInto(ok, items, from, min(from+batchSize, len(items)))
	}
	return ok
}

// verifyBatchInto sets ok[i] for the signatures items[from:to], one batch.
func verifyBatchInto(ok []bool, items []sigItem, from, to int) {
	if verifyBatch(items[from:to]) {
		for i := from; i < to; i++ {
			ok[i] = true
		}
		return
	}
	// One by one, by the same (cofactored) equation, so that a signature's
	// verdict never depends on its batch.
	for i := from; i < to; i++ {
		ok[i] = verifyBatch(items[i : i+1])
	}
}
