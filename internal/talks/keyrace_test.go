package talks_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestKeyReleaseRace has an envoy take its key into its own hands between
// the Service's signing of the envoy's new proposal with the server's copy
// and the proposal's write: the store refuses it (ErrKeyReleased) and it
// writes nothing, since the server no longer speaks for the envoy. (A
// proposal, unlike an answer, names no view for its store to check, so
// the store's check of the key is what refuses it.)
func TestKeyReleaseRace(t *testing.T) {
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			rs := &racingStore{prefStore: st, before: func() {}}
			d := newDeal(t, rs)
			ctx := context.Background()
			ne := memberOf(t, d, "NE")
			// The envoy signs once with the server's copy, so its key exists.
			mustOK(t, "AnswerVersion (reject)", d.svc.AnswerVersion(d.as("NE"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerReject}))
			as, err := d.svc.FindAnswers(d.as("NE"), talks.AnswerFilter{VersionID: d.version.ID})
			mustOK(t, "FindAnswers", err)
			_, err = d.svc.WithdrawAnswer(d.as("NE"), as[0].ID)
			mustOK(t, "WithdrawAnswer", err)

			rs.before = func() {
				rs.before = func() {}
				mustOK(t, "ReleaseSignerKey (meanwhile)", st.ReleaseSignerKey(ctx, d.talk.ID, talks.MemberSigner(ne),
					talks.Stamp{ActorID: d.users["NE"].ID, Time: time.Now()}))
			}
			head, err := st.TalkHead(ctx, d.talk.ID)
			mustOK(t, "TalkHead", err)
			err = d.svc.CreateProposal(d.as("NE"), &talks.Proposal{TrackID: officialTrack(t, d), Title: "Mine"}, &talks.Version{Values: d.version.Values})
			if !errors.Is(err, talks.ErrKeyReleased) {
				t.Fatalf("CreateProposal signed by the server as the key was released = %v, want ErrKeyReleased", err)
			}
			// Only the release's member.key event was written.
			if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
				t.Errorf("TalkHead = %d, %v; want %d (the release alone)", after, err, head+1)
			}
			// Now the server refuses to sign for the envoy at all.
			err = d.svc.AnswerVersion(d.as("NE"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept})
			if talks.ErrorCode(err) != talks.EFORBIDDEN {
				t.Errorf("AnswerVersion unsigned after the release = %v, want EFORBIDDEN", err)
			}
		})
	}
}

// TestKeyRegisterRace has an envoy register a key of its own between the
// Service's check of a signature and the write it signs: a proposal the
// server signed with its copy of the old key, or one the envoy signed
// with the key the new one replaces, is refused by the store and writes
// nothing.
func TestKeyRegisterRace(t *testing.T) {
	at := time.Date(2025, 6, 1, 9, 3, 0, 0, time.UTC) // near the deal's clock
	for name, open := range prefBackends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			rs := &racingStore{prefStore: st, before: func() {}}
			d := newDeal(t, rs)
			ctx := context.Background()
			signer := talks.MemberSigner(memberOf(t, d, "NE"))
			register := func() ed25519.PrivateKey {
				pub, priv, err := ed25519.GenerateKey(nil)
				mustOK(t, "GenerateKey", err)
				s := talks.KeyStatement(d.talk.ID, signer, pub)
				s.At = at.Format(time.RFC3339)
				sg, err := talks.Sign(priv, s)
				mustOK(t, "Sign", err)
				_, err = d.svc.RegisterKey(d.as("NE"), d.talk.ID, pub, &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig})
				mustOK(t, "RegisterKey", err)
				return priv
			}
			official := officialTrack(t, d)
			propose := func(key ed25519.PrivateKey) error {
				p := &talks.Proposal{TrackID: official, Title: "Mine"}
				v := &talks.Version{Values: d.version.Values}
				if key == nil {
					return d.svc.CreateProposal(d.as("NE"), p, v)
				}
				stmt := talks.VersionStatement(d.talk.ID, signer, official, 0, v.Values, nil, "")
				stmt.At = at.Format(time.RFC3339)
				sg, err := talks.Sign(key, stmt)
				mustOK(t, "Sign", err)
				return d.svc.CreateProposal(talks.NewContextWithSignature(d.as("NE"), &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}), p, v)
			}
			// The envoy signs once with the server's copy first, so a store
			// that keeps who holds a key has learnt that the server does.
			mustOK(t, "AnswerVersion (reject)", d.svc.AnswerVersion(d.as("NE"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerReject}))
			as, err := d.svc.FindAnswers(d.as("NE"), talks.AnswerFilter{VersionID: d.version.ID})
			mustOK(t, "FindAnswers", err)
			_, err = d.svc.WithdrawAnswer(d.as("NE"), as[0].ID)
			mustOK(t, "WithdrawAnswer", err)
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
				if err := propose(signWith); !errors.Is(err, tc.want) {
					t.Fatalf("%s, as a key was registered: CreateProposal = %v, want %v", tc.name, err, tc.want)
				}
				if after, err := st.TalkHead(ctx, d.talk.ID); err != nil || after != head+1 {
					t.Errorf("%s: TalkHead = %d, %v; want %d (the registration alone)", tc.name, after, err, head+1)
				}
			}
			mustOK(t, "CreateProposal (the current key)", propose(key))
		})
	}
}

// officialTrack returns the ID of the official track of d's talk.
func officialTrack(t *testing.T, d *deal) int64 {
	t.Helper()
	tracks, err := d.svc.FindTracks(d.as("F"), d.talk.ID)
	mustOK(t, "FindTracks", err)
	return tracks[0].ID
}
