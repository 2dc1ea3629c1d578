package storetest

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// testManagingViewChecks checks, as testViewChecks does for the writes to
// a track's content, that every other write that takes a Stamp checks
// the view it names (talks.ViewCheck): the writes that change the talk,
// its parties, members and tracks, mandates, preferences, invitations,
// stakeholders, disclosure and keys. Each is refused with
// talks.ErrStaleView, writing nothing, once a member was added after the
// head it names, and goes through when it names the head.
func testManagingViewChecks(t *testing.T, s talks.Store) {
	ctx := context.Background()
	f := agreedFixture(t, s)
	leaver := &talks.Member{TalkID: f.talk.ID, UserID: newUser(t, s, "leaver").ID, PartyID: f.south.ID, Role: talks.RoleAdvisor}
	must(t, "AddMember", s.AddMember(ctx, leaver, stamp(f.convener.ID, 800)))
	newcomer, stakeholder := newUser(t, s, "newcomer"), newUser(t, s, "stakeholder")
	revoked := &talks.Invitation{TalkID: f.talk.ID, PartyID: f.north.ID, Role: talks.RoleAdvisor,
		TokenHash: talks.HashToken("bci_view_1"), ExpiresAt: stamp(0, 2000).Time}
	must(t, "CreateInvitation", s.CreateInvitation(ctx, revoked, stamp(f.northP.ID, 801)))
	signer := talks.MemberSigner(f.mNorthE.ID)
	pub, priv, err := ed25519.GenerateKey(nil)
	must(t, "GenerateKey", err)
	must(t, "CreateSignerKey", s.CreateSignerKey(ctx, &talks.SignerKey{TalkID: f.talk.ID, Signer: signer, Public: pub, Private: priv}, stamp(f.northE.ID, 802)))
	early, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)
	msg := &talks.Message{TrackID: f.back.ID, AuthorID: f.mNorthE.ID, Body: "a view keeps"}
	must(t, "PostMessage", s.PostMessage(ctx, msg, stamp(f.northE.ID, 803)))
	kept := stamp(f.convener.ID, 804)
	kept.View = &talks.ViewCheck{Head: early}
	must(t, "AddParty (a message since the view)", s.AddParty(ctx, &talks.Party{TalkID: f.talk.ID, Name: "Westland"}, kept))

	// A change of members: a view from before it is stale.
	extra := &talks.Member{TalkID: f.talk.ID, UserID: newUser(t, s, "extra").ID, PartyID: f.north.ID, Role: talks.RoleObserver}
	must(t, "AddMember", s.AddMember(ctx, extra, stamp(f.convener.ID, 805)))
	head, err := s.TalkHead(ctx, f.talk.ID)
	must(t, "TalkHead", err)

	title := "Ceasefire (revised)"
	key, keyPriv, err := ed25519.GenerateKey(nil)
	must(t, "GenerateKey", err)
	writes := []viewedWrite{
		{"UpdateTalk", func(st talks.Stamp) error {
			return errOf(s.UpdateTalk(ctx, f.talk.ID, talks.TalkUpdate{Title: &title}, st))
		}},
		{"AddParty", func(st talks.Stamp) error {
			return s.AddParty(ctx, &talks.Party{TalkID: f.talk.ID, Name: "Eastland"}, st)
		}},
		{"AddMember", func(st talks.Stamp) error {
			return s.AddMember(ctx, &talks.Member{TalkID: f.talk.ID, UserID: newcomer.ID, PartyID: f.north.ID, Role: talks.RoleAdvisor}, st)
		}},
		{"ChangeMemberRole", func(st talks.Stamp) error {
			return s.ChangeMemberRole(ctx, f.talk.ID, extra.ID, talks.RoleAdvisor, st)
		}},
		{"RemoveMember", func(st talks.Stamp) error { return s.RemoveMember(ctx, f.talk.ID, leaver.ID, st) }},
		{"CreateTrack", func(st talks.Stamp) error {
			return s.CreateTrack(ctx, &talks.Track{TalkID: f.talk.ID, Name: "Principals", Kind: talks.TrackBackchannel,
				MemberIDs: []int64{f.mNorthP.ID, f.mSouthP.ID}}, st)
		}},
		{"AddTrackMember", func(st talks.Stamp) error { return s.AddTrackMember(ctx, f.back.ID, f.mNorthP.ID, st) }},
		{"RemoveTrackMember", func(st talks.Stamp) error { return s.RemoveTrackMember(ctx, f.back.ID, f.mNorthP.ID, st) }},
		{"SaveMandate", func(st talks.Stamp) error {
			return s.SaveMandate(ctx, newMandate(f.talk.ID, f.north.ID, f.mNorthE.ID, map[string][]string{"line": {"river"}}, nil), st)
		}},
		{"SavePreferences", func(st talks.Stamp) error {
			return s.SavePreferences(ctx, newPreferences(f.talk.ID, f.north.ID, 1, 0), st)
		}},
		{"CreateInvitation", func(st talks.Stamp) error {
			return s.CreateInvitation(ctx, &talks.Invitation{TalkID: f.talk.ID, PartyID: f.north.ID, Role: talks.RoleEnvoy,
				TokenHash: talks.HashToken("bci_view_2"), ExpiresAt: stamp(0, 2000).Time}, st)
		}},
		{"RevokeInvitation", func(st talks.Stamp) error { return s.RevokeInvitation(ctx, revoked.ID, st) }},
		{"AddStakeholder", func(st talks.Stamp) error {
			return s.AddStakeholder(ctx, &talks.Stakeholder{TalkID: f.talk.ID, UserID: stakeholder.ID}, st)
		}},
		{"ProposeDisclosure", func(st talks.Stamp) error {
			return s.ProposeDisclosure(ctx, &talks.Disclosure{TalkID: f.talk.ID, VersionID: f.v3.ID, Embargo: t0.Add(48 * time.Hour),
				Terms: []talks.DisclosureTerm{{Issue: "line"}}, ProposedBy: f.mNorthP.ID}, f.back.ID, st)
		}},
		{"ConsentDisclosure", func(st talks.Stamp) error {
			return s.ConsentDisclosure(ctx, f.talk.ID, 1, &talks.DisclosureConsent{PartyID: f.north.ID, MemberID: f.mNorthP.ID}, f.back.ID, st)
		}},
		{"CarryAgreement", func(st talks.Stamp) error {
			return s.CarryAgreement(ctx, &talks.Proposal{TrackID: f.official.ID, Title: "Carried", AuthorID: f.mNorthP.ID},
				&talks.Version{Values: f.v3.Values, AuthorID: f.mNorthP.ID}, &talks.Handoff{MemberID: f.mNorthP.ID}, st)
		}},
		{"ReleaseSignerKey", func(st talks.Stamp) error { return s.ReleaseSignerKey(ctx, f.talk.ID, signer, st) }},
		{"RegisterSignerKey", func(st talks.Stamp) error {
			ks := talks.KeyStatement(f.talk.ID, signer, key)
			ks.At = talks.Timestamp(st.Time).Format(time.RFC3339Nano)
			proof, err := talks.Sign(keyPriv, ks)
			must(t, "Sign", err)
			return s.RegisterSignerKey(ctx, &talks.SignerKey{TalkID: f.talk.ID, Signer: signer, Public: key}, proof, st)
		}},
	}
	checkViewedWrites(t, s, f.talk.ID, writes, f.northP.ID, 810, early, head, "before a member was added")
	checkProjection(t, s, f.talk.ID)
}

// viewedWrite is a write to check with a Stamp that names a view.
type viewedWrite struct {
	name  string
	write func(st talks.Stamp) error
}

// checkViewedWrites wants each of writes, by user actor, refused with
// talks.ErrStaleView when its Stamp names the view at head early (stale:
// the talk's head is at head, after a change that breaks a view, named
// by why), writing nothing; and then each to go through when its Stamp
// names the talk's head as it then is. The writes' Stamps are stamp(actor,
// i) from i on. It ends with checkProjection.
func checkViewedWrites(t *testing.T, s talks.Store, talkID int64, writes []viewedWrite, actor int64, i int, early, head int64, why string) {
	t.Helper()
	ctx := context.Background()
	viewed := func(i int, head int64) talks.Stamp {
		st := stamp(actor, i)
		st.View = &talks.ViewCheck{Head: head}
		return st
	}
	for j, w := range writes {
		if err := w.write(viewed(i+j, early)); err != talks.ErrStaleView {
			t.Errorf("%s decided %s: %v, want %v", w.name, why, err, talks.ErrStaleView)
		}
	}
	if after, err := s.TalkHead(ctx, talkID); err != nil || after != head {
		t.Fatalf("TalkHead after the stale writes = %v, %v; want %v", after, err, head)
	}
	for j, w := range writes {
		now, err := s.TalkHead(ctx, talkID)
		must(t, "TalkHead", err)
		must(t, w.name+" (decided after)", w.write(viewed(i+len(writes)+j, now)))
	}
	checkProjection(t, s, talkID)
}
