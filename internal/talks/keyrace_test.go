package talks_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// A member's signed write names the view it was decided by, and a key
// released or registered is not in talks.ViewKeepingTypes: such a write
// is decided again, by the key as it then is (TestManagingViewChecked). A
// stakeholder has no view: its ratification is the signed write that the
// store's own checks of the key refuse, and these tests race it.

// agreedForStakeholder makes user K in st, attaches it to d's talk as a
// stakeholder, and has both principals accept d's version, so that K may
// ratify. It returns K's signer name.
func agreedForStakeholder(t *testing.T, d *deal, st prefStore) string {
	t.Helper()
	k := &talks.User{Name: "K", Email: "k@example.org"}
	mustOK(t, "CreateUser", st.CreateUser(context.Background(), k))
	d.users["K"] = k
	_, err := d.svc.AddStakeholder(d.as("F"), d.talk.ID, k.ID)
	mustOK(t, "AddStakeholder", err)
	for _, p := range []string{"SP", "NP"} {
		mustOK(t, "AnswerVersion", d.svc.AnswerVersion(d.as(p), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept}))
	}
	return talks.StakeholderSigner(k.ID)
}

// TestKeyReleaseRace has a stakeholder take its key into its own hands
// between the Service's signing of its ratification with the server's
// copy and the ratification's write: the store refuses it
// (ErrKeyReleased) and it writes nothing, since the server no longer
// speaks for the stakeholder.
func TestKeyReleaseRace(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			rs := &racingStore{prefStore: st, before: func() {}}
			d := newDeal(t, rs)
			ctx := context.Background()
			signer := agreedForStakeholder(t, d, st)
			rs.before = func() {
				rs.before = func() {}
				mustOK(t, "ReleaseSignerKey (meanwhile)", st.ReleaseSignerKey(ctx, d.talk.ID, signer,
					talks.Stamp{ActorID: d.users["K"].ID, Time: time.Now()}))
			}
			head, err := st.TalkHead(ctx, d.talk.ID)
			mustOK(t, "TalkHead", err)
			err = d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionRatify, "")
			if !errors.Is(err, talks.ErrKeyReleased) {
				t.Fatalf("Ratify signed by the server as the key was released = %v, want ErrKeyReleased", err)
			}
			// Only the release's member.key event was written.
			if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
				t.Errorf("TalkHead = %d, %v; want %d (the release alone)", after, err, head+1)
			}
			// Now the server refuses to sign for the stakeholder at all.
			err = d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionRatify, "")
			if talks.ErrorCode(err) != talks.EFORBIDDEN {
				t.Errorf("Ratify unsigned after the release = %v, want EFORBIDDEN", err)
			}
		})
	}
}

// TestKeyRegisterRace has a stakeholder register a key of its own between
// the Service's check of a signature and the write it signs: a
// ratification the server signed with its copy of the old key, or one the
// stakeholder signed with the key the new one replaces, is refused by the
// store and writes nothing.
func TestKeyRegisterRace(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			rs := &racingStore{prefStore: st, before: func() {}}
			d := newDeal(t, rs)
			ctx := context.Background()
			signer := agreedForStakeholder(t, d, st)
			at := d.svc.Now().Format(time.RFC3339)
			register := func() ed25519.PrivateKey {
				pub, priv, err := ed25519.GenerateKey(nil)
				mustOK(t, "GenerateKey", err)
				s := talks.KeyStatement(d.talk.ID, signer, pub)
				s.At = at
				sg, err := talks.Sign(priv, s)
				mustOK(t, "Sign", err)
				_, err = d.svc.RegisterKey(d.as("K"), d.talk.ID, pub, &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig})
				mustOK(t, "RegisterKey", err)
				return priv
			}
			ratify := func(key ed25519.PrivateKey) error {
				if key == nil {
					return d.svc.Ratify(d.as("K"), d.talk.ID, talks.DecisionRatify, "")
				}
				stmt := &talks.Statement{Talk: d.talk.ID, Signer: signer, Action: talks.ActionRatify, Decision: talks.DecisionRatify, At: at}
				sg, err := talks.Sign(key, stmt)
				mustOK(t, "Sign", err)
				return d.svc.Ratify(talks.NewContextWithSignature(d.as("K"), &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}),
					d.talk.ID, talks.DecisionRatify, "")
			}
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
				if err := ratify(signWith); !errors.Is(err, tc.want) {
					t.Fatalf("%s, as a key was registered: Ratify = %v, want %v", tc.name, err, tc.want)
				}
				if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
					t.Errorf("%s: TalkHead = %d, %v; want %d (the registration alone)", tc.name, after, err, head+1)
				}
			}
			mustOK(t, "Ratify (the current key)", ratify(key))
		})
	}
}
