package talks_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestKeyReleaseRace has a principal take its key into its own hands
// between the Service's signing of the principal's mandate with the
// server's copy and the mandate's write: the store refuses it
// (ErrKeyReleased) and it writes nothing, since the server no longer
// speaks for the principal. (A mandate, unlike a write to a track's
// content, names no view for its store to check, so the store's check of
// the key is what refuses it.)
func TestKeyReleaseRace(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			rs := &racingStore{prefStore: st, before: func() {}}
			d := newDeal(t, rs)
			ctx := context.Background()
			ne, np := memberOf(t, d, "NE"), memberOf(t, d, "NP")
			// The principal signs once with the server's copy, so its key
			// exists.
			mustOK(t, "SaveMandate", d.svc.SaveMandate(d.as("NP"), lineMandate(d, ne, "river", "ridge")))

			rs.before = func() {
				rs.before = func() {}
				mustOK(t, "ReleaseSignerKey (meanwhile)", st.ReleaseSignerKey(ctx, d.talk.ID, talks.MemberSigner(np),
					talks.Stamp{ActorID: d.users["NP"].ID, Time: time.Now()}))
			}
			head, err := st.TalkHead(ctx, d.talk.ID)
			mustOK(t, "TalkHead", err)
			err = d.svc.SaveMandate(d.as("NP"), lineMandate(d, ne, "river"))
			if !errors.Is(err, talks.ErrKeyReleased) {
				t.Fatalf("SaveMandate signed by the server as the key was released = %v, want ErrKeyReleased", err)
			}
			// Only the release's member.key event was written.
			if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
				t.Errorf("TalkHead = %d, %v; want %d (the release alone)", after, err, head+1)
			}
			// Now the server refuses to sign for the principal at all.
			err = d.svc.SaveMandate(d.as("NP"), lineMandate(d, ne, "river"))
			if talks.ErrorCode(err) != talks.EFORBIDDEN {
				t.Errorf("SaveMandate unsigned after the release = %v, want EFORBIDDEN", err)
			}
		})
	}
}

// TestKeyRegisterRace has a principal register a key of its own between
// the Service's check of a signature and the write it signs: a mandate
// the server signed with its copy of the old key, or one the principal
// signed with the key the new one replaces, is refused by the store and
// writes nothing.
func TestKeyRegisterRace(t *testing.T) {
	at := time.Date(2025, 6, 1, 9, 3, 0, 0, time.UTC) // near the deal's clock
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			rs := &racingStore{prefStore: st, before: func() {}}
			d := newDeal(t, rs)
			ctx := context.Background()
			ne := memberOf(t, d, "NE")
			signer := talks.MemberSigner(memberOf(t, d, "NP"))
			register := func() ed25519.PrivateKey {
				pub, priv, err := ed25519.GenerateKey(nil)
				mustOK(t, "GenerateKey", err)
				s := talks.KeyStatement(d.talk.ID, signer, pub)
				s.At = at.Format(time.RFC3339)
				sg, err := talks.Sign(priv, s)
				mustOK(t, "Sign", err)
				_, err = d.svc.RegisterKey(d.as("NP"), d.talk.ID, pub, &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig})
				mustOK(t, "RegisterKey", err)
				return priv
			}
			save := func(key ed25519.PrivateKey) error {
				m := lineMandate(d, ne, "river")
				if key == nil {
					return d.svc.SaveMandate(d.as("NP"), m)
				}
				m.Salt = make([]byte, 32)
				stmt := &talks.Statement{Talk: d.talk.ID, Signer: signer, Action: talks.ActionMandate, Envoy: ne,
					Digest: talks.DigestHex(talks.MandateDigest(m.Salt, m.Body())), At: at.Format(time.RFC3339)}
				sg, err := talks.Sign(key, stmt)
				mustOK(t, "Sign", err)
				return d.svc.SaveMandate(talks.NewContextWithSignature(d.as("NP"), &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}), m)
			}
			// The principal signs once with the server's copy first, so a
			// store that keeps who holds a key has learnt that the server
			// does.
			mustOK(t, "SaveMandate", save(nil))
			var key ed25519.PrivateKey
			for _, tc := range []struct {
				name string
				key  func() ed25519.PrivateKey
				want error
			}{
				{"signed by the server", func() ed25519.PrivateKey { return nil }, talks.ErrKeyReleased},
				{"signed with the key replaced", func() ed25519.PrivateKey { return key }, talks.ErrKeyChanged},
			} {
				signWith := tc.key()
				rs.before = func() {
					rs.before = func() {}
					key = register()
				}
				head, err := st.TalkHead(ctx, d.talk.ID)
				mustOK(t, "TalkHead", err)
				if err := save(signWith); !errors.Is(err, tc.want) {
					t.Fatalf("%s, as a key was registered: SaveMandate = %v, want %v", tc.name, err, tc.want)
				}
				if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
					t.Errorf("%s: TalkHead = %d, %v; want %d (the registration alone)", tc.name, after, err, head+1)
				}
			}
			mustOK(t, "SaveMandate (the current key)", save(key))
		})
	}
}
