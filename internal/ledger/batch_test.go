package ledger

import (
	"crypto/ed25519"
	"fmt"
	"math/big"
	"testing"
)

func TestVerifySignatures(t *testing.T) {
	var keys []ed25519.PrivateKey
	for i := range 3 {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 1)
		keys = append(keys, ed25519.NewKeyFromSeed(seed))
	}
	sign := func(n int) []sigItem {
		items := make([]sigItem, n)
		for i := range items {
			k := keys[i%len(keys)]
			msg := fmt.Appendf(nil, "backchannel/action/v1\n{\"n\":%d}", i)
			items[i] = sigItem{key: k.Public().(ed25519.PublicKey), msg: msg, sig: ed25519.Sign(k, msg)}
		}
		return items
	}
	all := func(ok []bool) bool {
		for _, b := range ok {
			if !b {
				return false
			}
		}
		return true
	}
	for _, n := range []int{0, 1, 2, batchSize - 1, batchSize, 3*batchSize + 5} {
		if ok := verifyBatches(sign(n)); len(ok) != n || !all(ok) {
			t.Errorf("%d valid signatures: verdicts %v, want all true", n, ok)
		}
	}

	// Each kind of bad signature, at one place in a batch of good ones:
	// that one alone fails.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	for name, spoil := range map[string]func(it *sigItem){
		"another message": func(it *sigItem) { it.msg = append([]byte("x"), it.msg...) },
		"another key": func(it *sigItem) {
			it.key = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		},
		"a flipped bit": func(it *sigItem) { it.sig = append([]byte(nil), it.sig...); it.sig[40] ^= 1 },
		"R flipped":     func(it *sigItem) { it.sig = append([]byte(nil), it.sig...); it.sig[3] ^= 4 },
		"short":         func(it *sigItem) { it.sig = it.sig[:63] },
		"a short key":   func(it *sigItem) { it.key = it.key[:31] },
		"S + l (not canonical)": func(it *sigItem) {
			// S' = S + l signs the same point but is refused, as by
			// ed25519.Verify.
			le := make([]byte, 32)
			for i := range 32 {
				le[31-i] = it.sig[32+i]
			}
			s := new(big.Int).Add(new(big.Int).SetBytes(le), l)
			be := s.FillBytes(make([]byte, 32))
			it.sig = append([]byte(nil), it.sig...)
			for i := range 32 {
				it.sig[32+i] = be[31-i]
			}
		},
	} {
		items := sign(2*batchSize + 3)
		const bad = batchSize + 7
		spoil(&items[bad])
		if len(items[bad].key) == ed25519.PublicKeySize && ed25519.Verify(items[bad].key, items[bad].msg, items[bad].sig) {
			t.Fatalf("%s: ed25519.Verify accepts the spoiled signature", name)
		}
		ok := verifyBatches(items)
		for i, v := range ok {
			if v != (i != bad) {
				t.Errorf("%s: signature %d verified %v, want %v", name, i, v, i != bad)
			}
		}
	}
}

func BenchmarkVerifySignatures(b *testing.B) {
	k := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	items := make([]sigItem, 10_000)
	for i := range items {
		msg := fmt.Appendf(nil, "message %d", i)
		items[i] = sigItem{key: k.Public().(ed25519.PublicKey), msg: msg, sig: ed25519.Sign(k, msg)}
	}
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			forChunks(len(items), batchSize, func(lo, hi int) { verifyBatches(items[lo:hi]) })
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(items)), "µs/sig")
	})
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			forChunks(len(items), batchSize, func(lo, hi int) {
				for _, it := range items[lo:hi] {
					ed25519.Verify(it.key, it.msg, it.sig)
				}
			})
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(items)), "µs/sig")
	})
}
