package talks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"time"
)

// signerOf returns the acting user's signer name in talk talkID and the
// stamp of its writes: a member signs as itself, a stakeholder as a
// stakeholder. ENOTFOUND for anyone else.
func (s *Service) signerOf(ctx context.Context, talkID int64) (string, Stamp, error) {
	v, err := s.View(ctx, talkID)
	if err == nil {
		return MemberSigner(v.Member.ID), s.stamp(v), nil
	} else if ErrorCode(err) != ENOTFOUND {
		return "", Stamp{}, err
	}
	_, st, err := s.stakeholderOf(ctx, talkID)
	if err != nil {
		return "", Stamp{}, err
	}
	return StakeholderSigner(st.UserID), Stamp{ActorID: st.UserID, Time: s.clock.Now()}, nil
}

// giveKey creates a server-held key for signer in talk talkID, appending
// member.key. A signer that has one keeps it.
func (s *Service) giveKey(ctx context.Context, talkID int64, signer string, st Stamp) (*SignerKey, error) {
	k, err := NewSignerKey(talkID, signer)
	if err != nil {
		return nil, err
	}
	st = Stamp{ActorID: st.ActorID, Time: st.Time} // a write of its own
	if err := s.store.CreateSignerKey(ctx, k, st); ErrorCode(err) == ECONFLICT {
		return s.store.FindSignerKey(ctx, talkID, signer)
	} else if err != nil {
		return nil, err
	}
	return k, nil
}

// giveKeyOnJoin gives a signer who just joined talk talkID its key. The
// join stands if this fails: the signer then gets its key at its first
// signed action (signAction).
func (s *Service) giveKeyOnJoin(ctx context.Context, talkID int64, signer string, st Stamp) {
	_, _ = s.giveKey(ctx, talkID, signer, st)
}

// signAction signs statement st (its Talk and Signer set) for the write
// stamped *stamp, and sets stamp.Signed. If ctx carries the signer's own
// signature (NewContextWithSignature), it checks that it is a valid
// signature, under the signer's current key, of exactly this action, at a
// time within StatementSkew of the server's; otherwise it signs with the
// key the server holds, creating the key if the signer has none (a signer
// that predates keys). A signer who took its key gets EFORBIDDEN. Every
// refusal happens before anything is written; the store refuses a client
// signature it recorded before.
//
// sn, if not nil, is the snapshot of the talk the caller's view was built
// from, whose cache of keys spares a read.
func (s *Service) signAction(ctx context.Context, sn *snapshot, st *Statement, stamp *Stamp) error {
	c := signatureFromContext(ctx)
	k, err := s.signerKey(ctx, sn, st.Talk, st.Signer)
	if ErrorCode(err) == ENOTFOUND && c == nil {
		k, err = s.giveKey(ctx, st.Talk, st.Signer, *stamp)
	}
	if ErrorCode(err) == ENOTFOUND {
		return Errorf(EINVALID, "You have no key in this talk: download it, or register one of your own (`backchannel keygen`), first.")
	} else if err != nil {
		return err
	}
	if c == nil {
		if k.Private == nil {
			return Errorf(EFORBIDDEN, "Your key is held by you: sign with `backchannel sign`.")
		}
		st.At = Timestamp(stamp.Time).Format(time.RFC3339Nano)
		sg, err := Sign(k.Private, st)
		if err != nil {
			return err
		}
		stamp.Signed = sg
		return nil
	}
	sg, err := checkClientStatement(c, st, stamp.Time)
	if err != nil {
		return err
	}
	if len(c.Sig) == 0 || sg.Verify(k.Public) != nil {
		return Errorf(EFORBIDDEN, "The signature does not verify under your key.")
	}
	sg.key = k.Public
	stamp.Signed = sg
	return nil
}

// checkClientStatement checks that c's statement is exactly st (its Talk,
// Signer and fields set), made at a time within StatementSkew of now, and
// returns c as the signature of st's signer, with st.At set; the caller
// checks the signature itself.
func checkClientStatement(c *ClientSignature, st *Statement, now time.Time) (*Signed, error) {
	sg := &Signed{Signer: st.Signer, Statement: c.Statement, Sig: c.Sig, byClient: true}
	got, err := sg.ParseStatement()
	if err != nil {
		return nil, Errorf(EINVALID, "The signed statement is malformed: %v.", err)
	} else if got.Signer != st.Signer {
		return nil, Errorf(EFORBIDDEN, "The statement is signed for %s, but you are %s.", got.Signer, st.Signer)
	}
	at, err := time.Parse(time.RFC3339Nano, got.At)
	if err != nil {
		return nil, Errorf(EINVALID, "The signed statement's time %q is not RFC 3339.", got.At)
	} else if d := at.Sub(now); d > StatementSkew || d < -StatementSkew {
		return nil, Errorf(EINVALID, "The signed statement's time %s is more than %v from the server's (%s): sign it again.",
			got.At, StatementSkew, Timestamp(now).Format(time.RFC3339))
	}
	st.At = got.At
	sg.action = got.Action
	want, err := st.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(want, c.Statement) {
		return nil, Errorf(EINVALID, "The signed statement does not match the request; it must be exactly %s", want)
	}
	return sg, nil
}

// signerKey returns the key of signer in talk talkID, from sn's cache if
// it holds it (sn may be nil), or ENOTFOUND. On a miss it reads the keys
// of every signer of the talk, and sn keeps them all: after a snapshot is
// loaded, only the first signed action in the talk reads keys, not the
// first of each member, which matters when many act at once, as after a
// start (docs/benchmarks.md).
func (s *Service) signerKey(ctx context.Context, sn *snapshot, talkID int64, signer string) (*SignerKey, error) {
	if sn == nil {
		return s.store.FindSignerKey(ctx, talkID, signer)
	}
	if k, ok := sn.keys.Load(signer); ok {
		return k.(*SignerKey), nil
	}
	ks, err := s.store.FindSignerKeys(ctx, talkID)
	if err != nil {
		return nil, err
	}
	var mine *SignerKey
	for _, k := range ks {
		kept, _ := sn.keys.LoadOrStore(k.Signer, k)
		if k.Signer == signer {
			mine = kept.(*SignerKey)
		}
	}
	if mine == nil {
		return nil, Errorf(ENOTFOUND, "Key not found.")
	}
	return mine, nil
}

// ExportKey returns the acting member's (or stakeholder's) key in talk
// talkID, private half included, creating it if it has none. ECONFLICT if
// the server no longer holds it; ENOTFOUND for anyone not in the talk.
func (s *Service) ExportKey(ctx context.Context, talkID int64) (*SignerKey, error) {
	signer, st, err := s.signerOf(ctx, talkID)
	if err != nil {
		return nil, err
	}
	k, err := s.store.FindSignerKey(ctx, talkID, signer)
	if ErrorCode(err) == ENOTFOUND {
		k, err = s.giveKey(ctx, talkID, signer, st)
	}
	if err != nil {
		return nil, err
	} else if k.Private == nil {
		return nil, Errorf(ECONFLICT, "The server does not hold your key: you hold it (you dropped its copy, or registered a key of your own).")
	}
	return k, nil
}

// FindKey returns the acting signer's key in talk talkID without its
// private half, or ENOTFOUND if it has none (or is not in the talk).
func (s *Service) FindKey(ctx context.Context, talkID int64) (*SignerKey, error) {
	signer, _, err := s.signerOf(ctx, talkID)
	if err != nil {
		return nil, err
	}
	k, err := s.store.FindSignerKey(ctx, talkID, signer)
	if err != nil {
		return nil, err
	}
	k.Private = nil
	return k, nil
}

// ReleaseKey makes the server forget the acting signer's private key in
// talk talkID, appending member.key with holder client: from then on the
// signer signs its actions itself. Export the key first (ExportKey): the
// server cannot give it back. ECONFLICT if the server no longer holds it.
func (s *Service) ReleaseKey(ctx context.Context, talkID int64) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.releaseKey(ctx, talkID) })
}

func (s *Service) releaseKey(ctx context.Context, talkID int64) error {
	signer, st, err := s.signerOf(ctx, talkID)
	if err != nil {
		return err
	}
	return s.store.ReleaseSignerKey(ctx, talkID, signer, st)
}

// RegisterKey binds pub, a key the acting member (or stakeholder)
// generated itself, to it in talk talkID, in place of any key it had:
// the server never sees the private half, and from then on signs nothing
// for it, exactly as after ReleaseKey. proof must be the signer's
// signature, by pub, of KeyStatement(talkID, signer, pub) at a time within
// StatementSkew of the server's (backchannel keygen makes one); the log's
// member.key event carries it. Every refusal writes nothing: ENOTFOUND for
// anyone not in the talk; EINVALID for a malformed key or statement, or a
// statement that is not exactly that one; EFORBIDDEN for a statement
// signed for another signer, or a signature that does not verify under
// pub; ECONFLICT for a key bound to a signer of the talk already, or a
// proof submitted before. It returns the key (without a private half).
func (s *Service) RegisterKey(ctx context.Context, talkID int64, pub ed25519.PublicKey, proof *ClientSignature) (*SignerKey, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*SignerKey, error) { return s.registerKey(ctx, talkID, pub, proof) })
}

func (s *Service) registerKey(ctx context.Context, talkID int64, pub ed25519.PublicKey, proof *ClientSignature) (*SignerKey, error) {
	signer, st, err := s.signerOf(ctx, talkID)
	if err != nil {
		return nil, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, Errorf(EINVALID, "The public key must be an Ed25519 public key: %d bytes, standard base64.", ed25519.PublicKeySize)
	} else if proof == nil {
		return nil, Errorf(EINVALID, "Prove that you hold the key: sign the statement %s with it (`backchannel keygen` does).", statementToSign(KeyStatement(talkID, signer, pub)))
	}
	sg, err := checkClientStatement(proof, KeyStatement(talkID, signer, pub), st.Time)
	if err != nil {
		return nil, err
	}
	if len(proof.Sig) == 0 || sg.Verify(pub) != nil {
		return nil, Errorf(EFORBIDDEN, "The proof's signature does not verify under the key you register.")
	}
	sg.key = pub
	k := &SignerKey{TalkID: talkID, Signer: signer, Public: pub, Holder: KeyHolderClient}
	st = Stamp{ActorID: st.ActorID, Time: st.Time, View: st.View} // signed by its proof, not as an action
	if err := s.store.RegisterSignerKey(ctx, k, sg, st); err != nil {
		return nil, err
	}
	return k, nil
}

// statementToSign returns st's bytes, with a placeholder for the time the
// signer gives.
func statementToSign(st *Statement) string {
	st.At = "RFC 3339 TIME"
	b, _ := st.Encode()
	return string(b)
}
