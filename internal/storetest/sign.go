package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// testMemberSignatures runs the service's member signatures over the
// store: a key for every signer at join, bound by member.key; every action
// of a signed kind signed; a signer that took its key signs itself, and a
// bad, mismatched, late, foreign or replayed signature writes nothing.
func testMemberSignatures(t *testing.T, s talks.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc := talks.NewService(s, talks.ClockFunc(func() time.Time { now = now.Add(time.Second); return now }))
	users := map[string]*talks.User{}
	as := func(n string) context.Context { return talks.NewContextWithUser(ctx, users[n]) }
	for _, n := range []string{"conv", "np", "ne", "sp", "stk"} {
		users[n] = newUser(t, s, "sig-"+n)
	}
	space, err := outcome.NewSpace("ceasefire", outcome.NewDiscrete("line", "river", "ridge"), outcome.NewInteger("prisoners", 0, 100))
	must(t, "NewSpace", err)
	tk := &talks.Talk{Title: "Signed", Space: space}
	must(t, "CreateTalk", svc.CreateTalk(as("conv"), tk))
	north, south := &talks.Party{TalkID: tk.ID, Name: "North"}, &talks.Party{TalkID: tk.ID, Name: "South"}
	must(t, "AddParty", svc.AddParty(as("conv"), north))
	must(t, "AddParty", svc.AddParty(as("conv"), south))
	members := map[string]*talks.Member{}
	for _, m := range []struct {
		n string
		p *talks.Party
		r talks.Role
	}{{"np", north, talks.RolePrincipal}, {"ne", north, talks.RoleEnvoy}, {"sp", south, talks.RolePrincipal}} {
		members[m.n] = &talks.Member{TalkID: tk.ID, UserID: users[m.n].ID, PartyID: m.p.ID, Role: m.r}
		must(t, "AddMember", svc.AddMember(as("conv"), members[m.n]))
	}
	_, err = svc.AddStakeholder(as("conv"), tk.ID, users["stk"].ID)
	must(t, "AddStakeholder", err)

	// Every signer got a key when it joined, and the log binds it.
	c := talks.NewSignatureChecker()
	for _, e := range events(t, s, tk.ID) {
		if _, err := c.Check(e); err != nil {
			t.Fatalf("event %d (%s): %v", e.ID, e.Type, err)
		}
	}
	ms, err := svc.FindMembers(as("conv"), tk.ID)
	must(t, "FindMembers", err)
	signers := []string{talks.StakeholderSigner(users["stk"].ID)}
	for _, m := range ms {
		signers = append(signers, talks.MemberSigner(m.ID))
	}
	for _, sg := range signers {
		k, err := s.FindSignerKey(ctx, tk.ID, sg)
		must(t, "FindSignerKey "+sg, err)
		if !k.Public.Equal(c.Keys()[sg]) || k.Holder != talks.KeyHolderServer || len(k.Private) != ed25519.PrivateKeySize {
			t.Errorf("key of %s: %x held by %s, log binds %x", sg, k.Public, k.Holder, c.Keys()[sg])
		}
	}
	wantCode(t, "FindSignerKey(none)", errOf(s.FindSignerKey(ctx, tk.ID, "member/999999")), talks.ENOTFOUND)
	// FindSignerKeys gives each of them as FindSignerKey does, by signer.
	all, err := s.FindSignerKeys(ctx, tk.ID)
	must(t, "FindSignerKeys", err)
	slices.Sort(signers)
	if len(all) != len(signers) {
		t.Fatalf("FindSignerKeys: %d keys, want %d", len(all), len(signers))
	}
	for i, k := range all {
		one, err := s.FindSignerKey(ctx, tk.ID, signers[i])
		must(t, "FindSignerKey "+signers[i], err)
		if k.Signer != signers[i] || k.TalkID != tk.ID || !k.Public.Equal(one.Public) || !bytes.Equal(k.Private, one.Private) ||
			k.Holder != one.Holder || !k.CreatedAt.Equal(one.CreatedAt) {
			t.Errorf("FindSignerKeys[%d] = %+v, FindSignerKey(%s) = %+v", i, k, signers[i], one)
		}
	}
	if ks, err := s.FindSignerKeys(ctx, 999999); err != nil || len(ks) != 0 {
		t.Errorf("FindSignerKeys(unknown talk) = %v, %v; want none", ks, err)
	}
	wantCode(t, "CreateSignerKey(again)", s.CreateSignerKey(ctx, &talks.SignerKey{TalkID: tk.ID, Signer: signers[0],
		Public: make([]byte, 32), Private: make([]byte, 64)}, stamp(0, 0)), talks.ECONFLICT)

	// Server-signed actions: a proposal, a counter, a mandate.
	tracks, err := svc.FindTracks(as("conv"), tk.ID)
	must(t, "FindTracks", err)
	p := &talks.Proposal{TrackID: tracks[0].ID, Title: "Draft"}
	v1 := &talks.Version{Values: map[string]string{"line": "river", "prisoners": "10"}, Clauses: map[string]string{"line": "The river <b>"}, Rationale: "A start."}
	must(t, "CreateProposal", svc.CreateProposal(as("ne"), p, v1))
	v2 := &talks.Version{ParentID: v1.ID, Values: map[string]string{"line": "ridge", "prisoners": "10"}}
	must(t, "ProposeVersion", svc.ProposeVersion(as("sp"), v2))
	must(t, "SaveMandate", svc.SaveMandate(as("np"), &talks.Mandate{TalkID: tk.ID, PartyID: north.ID, EnvoyID: members["ne"].ID,
		Allowed: map[string][]string{"line": {"river", "ridge"}}}))

	// North's principal takes its key.
	k, err := svc.ExportKey(as("np"), tk.ID)
	must(t, "ExportKey", err)
	kf, _, err := talks.ParseKeyFile(talks.FormatKeyFile(k, "https://bc.example.org"))
	must(t, "ParseKeyFile", err)
	must(t, "ReleaseKey", svc.ReleaseKey(as("np"), tk.ID))
	wantCode(t, "ReleaseKey(again)", svc.ReleaseKey(as("np"), tk.ID), talks.ECONFLICT)
	wantCode(t, "ExportKey(released)", errOf(svc.ExportKey(as("np"), tk.ID)), talks.ECONFLICT)
	if k, err := s.FindSignerKey(ctx, tk.ID, kf.Signer); err != nil || k.Private != nil || k.Holder != talks.KeyHolderClient {
		t.Fatalf("FindSignerKey after release = %+v, %v", k, err)
	}
	head := func() int64 {
		h, err := s.TalkHead(ctx, tk.ID)
		must(t, "TalkHead", err)
		return h
	}
	before := head()
	accept := func(c *talks.ClientSignature) error {
		return svc.AnswerVersion(talks.NewContextWithSignature(as("np"), c), &talks.Answer{VersionID: v2.ID, Kind: talks.AnswerAccept})
	}
	sign := func(key ed25519.PrivateKey, st *talks.Statement) *talks.ClientSignature {
		sg, err := talks.Sign(key, st)
		must(t, "Sign", err)
		return &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}
	}
	stmt := func(kind talks.AnswerKind, at time.Time) *talks.Statement {
		return &talks.Statement{Talk: tk.ID, Signer: kf.Signer, Action: talks.ActionAnswer, Version: v2.ID, Kind: kind, At: at.Format(time.RFC3339)}
	}
	good := sign(kf.Private, stmt(talks.AnswerAccept, now))
	bad := *good
	bad.Sig = append([]byte(nil), good.Sig...)
	bad.Sig[5] ^= 1
	_, other, _ := ed25519.GenerateKey(nil)
	foreign := stmt(talks.AnswerAccept, now)
	foreign.Signer = talks.MemberSigner(members["sp"].ID)
	for _, tt := range []struct {
		name string
		err  error
		code string
	}{
		{"unsigned", svc.AnswerVersion(as("np"), &talks.Answer{VersionID: v2.ID, Kind: talks.AnswerAccept}), talks.EFORBIDDEN},
		{"bad signature", accept(&bad), talks.EFORBIDDEN},
		{"another key", accept(sign(other, stmt(talks.AnswerAccept, now))), talks.EFORBIDDEN},
		{"another action", accept(sign(kf.Private, stmt(talks.AnswerReject, now))), talks.EINVALID},
		{"too late", accept(sign(kf.Private, stmt(talks.AnswerAccept, now.Add(-11*time.Minute)))), talks.EINVALID},
		{"another signer", accept(sign(kf.Private, foreign)), talks.EFORBIDDEN},
	} {
		wantCode(t, tt.name, tt.err, tt.code)
		if tt.name == "unsigned" && !strings.Contains(talks.ErrorMessage(tt.err), "backchannel sign") {
			t.Errorf("unsigned: %q does not say to sign", talks.ErrorMessage(tt.err))
		}
		if h := head(); h != before {
			t.Fatalf("%s: the log grew from %d to %d events", tt.name, before, h)
		}
	}
	must(t, "AnswerVersion(client-signed)", accept(good))
	as2, err := svc.FindAnswers(as("np"), talks.AnswerFilter{VersionID: v2.ID})
	must(t, "FindAnswers", err)
	var mine *talks.Answer
	for _, a := range as2 {
		if a.MemberID == members["np"].ID && a.WithdrawnAt.IsZero() {
			mine = a
		}
	}
	if mine == nil {
		t.Fatal("no standing answer of north's principal")
	}
	_, err = svc.WithdrawAnswer(as("np"), mine.ID)
	must(t, "WithdrawAnswer", err)
	before = head()
	err = accept(good)
	wantCode(t, "replay", err, talks.ECONFLICT)
	if !strings.Contains(talks.ErrorMessage(err), "submitted already") || head() != before {
		t.Errorf("replay: %q, log %d → %d events", talks.ErrorMessage(err), before, head())
	}
	must(t, "AnswerVersion(signed again)", accept(sign(kf.Private, stmt(talks.AnswerAccept, now))))

	// South accepts too: agreed. Both principals consent to a plan (north
	// signs its consent itself), and the stakeholder ratifies.
	must(t, "AnswerVersion(south)", svc.AnswerVersion(as("sp"), &talks.Answer{VersionID: v2.ID, Kind: talks.AnswerAccept}))
	d := &talks.Disclosure{TalkID: tk.ID, Terms: []talks.DisclosureTerm{{Issue: "line"}}, Embargo: now.Add(time.Hour)}
	must(t, "ProposeDisclosure", svc.ProposeDisclosure(as("sp"), d))
	must(t, "ConsentDisclosure(south)", errOf(svc.ConsentDisclosure(as("sp"), tk.ID, d.Revision)))
	consent := sign(kf.Private, &talks.Statement{Talk: tk.ID, Signer: kf.Signer, Action: talks.ActionConsent, Revision: d.Revision, At: now.Format(time.RFC3339)})
	must(t, "ConsentDisclosure(north, client-signed)", errOf(svc.ConsentDisclosure(talks.NewContextWithSignature(as("np"), consent), tk.ID, d.Revision)))
	must(t, "Ratify", svc.Ratify(as("stk"), tk.ID, talks.DecisionRatify, "Fine."))

	// Every action of a signed kind carries a signature that checks.
	c = talks.NewSignatureChecker()
	kinds := map[string]int{}
	for _, e := range events(t, s, tk.ID) {
		signed, err := c.Check(e)
		if err != nil {
			t.Errorf("event %d (%s): %v", e.ID, e.Type, err)
		}
		if _, ok := talks.SignerKind(e); ok && !signed {
			t.Errorf("event %d (%s) is not signed", e.ID, e.Type)
		}
		if signed {
			sg, _ := talks.EventSignature(e)
			st, _ := sg.ParseStatement()
			kinds[st.Action]++
		}
	}
	want := map[string]int{talks.ActionPropose: 1, talks.ActionCounter: 1, talks.ActionMandate: 1, talks.ActionAnswer: 3,
		talks.ActionConsent: 2, talks.ActionRatify: 1}
	for a, n := range want {
		if kinds[a] != n {
			t.Errorf("%d signed %s actions, want %d (all: %v)", kinds[a], a, n, kinds)
		}
	}
	checkProjection(t, s, tk.ID)
}

func errOf[T any](_ T, err error) error { return err }

// testClientKeys runs keys that signers generate themselves over the
// store: a member and a stakeholder register their own public keys, with
// a proof of possession that the log's member.key carries; the server
// then signs nothing for them and takes only their signatures; a bad
// proof, another signer's key, a malformed key, a stale or replayed proof
// and a stranger are refused and write nothing; the log checks.
func testClientKeys(t *testing.T, s talks.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc := talks.NewService(s, talks.ClockFunc(func() time.Time { now = now.Add(time.Second); return now }))
	users := map[string]*talks.User{}
	as := func(n string) context.Context { return talks.NewContextWithUser(ctx, users[n]) }
	for _, n := range []string{"conv", "np", "sp", "stk", "out"} {
		users[n] = newUser(t, s, "ck-"+n)
	}
	space, err := outcome.NewSpace("ceasefire", outcome.NewDiscrete("line", "river", "ridge"))
	must(t, "NewSpace", err)
	tk := &talks.Talk{Title: "Own keys", Space: space}
	must(t, "CreateTalk", svc.CreateTalk(as("conv"), tk))
	members := map[string]*talks.Member{}
	for _, n := range []string{"np", "sp"} {
		p := &talks.Party{TalkID: tk.ID, Name: n}
		must(t, "AddParty", svc.AddParty(as("conv"), p))
		members[n] = &talks.Member{TalkID: tk.ID, UserID: users[n].ID, PartyID: p.ID, Role: talks.RolePrincipal}
		must(t, "AddMember", svc.AddMember(as("conv"), members[n]))
	}
	_, err = svc.AddStakeholder(as("conv"), tk.ID, users["stk"].ID)
	must(t, "AddStakeholder", err)
	tracks, err := svc.FindTracks(as("conv"), tk.ID)
	must(t, "FindTracks", err)
	v := &talks.Version{Values: map[string]string{"line": "river"}}
	must(t, "CreateProposal", svc.CreateProposal(as("sp"), &talks.Proposal{TrackID: tracks[0].ID, Title: "Draft"}, v))

	npSigner := talks.MemberSigner(members["np"].ID)
	stkSigner := talks.StakeholderSigner(users["stk"].ID)
	newKey := func() (ed25519.PublicKey, ed25519.PrivateKey) {
		pub, priv, err := ed25519.GenerateKey(nil)
		must(t, "GenerateKey", err)
		return pub, priv
	}
	proof := func(signer ed25519.PrivateKey, forSigner string, key ed25519.PublicKey, at time.Time) *talks.ClientSignature {
		st := talks.KeyStatement(tk.ID, forSigner, key)
		st.At = at.Format(time.RFC3339)
		sg, err := talks.Sign(signer, st)
		must(t, "Sign", err)
		return &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}
	}
	head := func() int64 {
		h, err := s.TalkHead(ctx, tk.ID)
		must(t, "TalkHead", err)
		return h
	}

	// The stakeholder registers a key of its own.
	stkPub, stkPriv := newKey()
	k, err := svc.RegisterKey(as("stk"), tk.ID, stkPub, proof(stkPriv, stkSigner, stkPub, now))
	must(t, "RegisterKey(stakeholder)", err)
	if k.Signer != stkSigner || k.Holder != talks.KeyHolderClient || k.Private != nil || !k.Public.Equal(stkPub) {
		t.Errorf("RegisterKey(stakeholder) = %+v", k)
	}

	// Refusals, none of which writes anything.
	pub, priv := newKey()
	_, other := newKey()
	bad := proof(priv, npSigner, pub, now)
	bad.Sig = append([]byte(nil), bad.Sig...)
	bad.Sig[7] ^= 1
	before := head()
	for _, tt := range []struct {
		name string
		who  string
		key  ed25519.PublicKey
		c    *talks.ClientSignature
		code string
	}{
		{"bad proof", "np", pub, bad, talks.EFORBIDDEN},
		{"proof by another key", "np", pub, proof(other, npSigner, pub, now), talks.EFORBIDDEN},
		{"proof for another signer", "np", pub, proof(priv, stkSigner, pub, now), talks.EFORBIDDEN},
		{"proof of another key", "np", pub, proof(priv, npSigner, stkPub, now), talks.EINVALID},
		{"stale proof", "np", pub, proof(priv, npSigner, pub, now.Add(-11*time.Minute)), talks.EINVALID},
		{"no proof", "np", pub, nil, talks.EINVALID},
		{"malformed key", "np", pub[:31], proof(priv, npSigner, pub, now), talks.EINVALID},
		{"another signer's key", "np", stkPub, proof(stkPriv, npSigner, stkPub, now), talks.ECONFLICT},
		{"a stranger", "out", pub, proof(priv, npSigner, pub, now), talks.ENOTFOUND},
	} {
		_, err := svc.RegisterKey(as(tt.who), tk.ID, tt.key, tt.c)
		wantCode(t, "RegisterKey("+tt.name+")", err, tt.code)
		if h := head(); h != before {
			t.Fatalf("RegisterKey(%s): the log grew from %d to %d events", tt.name, before, h)
		}
	}
	if k, err := s.FindSignerKey(ctx, tk.ID, npSigner); err != nil || k.Holder != talks.KeyHolderServer {
		t.Fatalf("np's key after the refusals = %+v, %v; want the server's still", k, err)
	}

	// North's principal registers its own key in place of the server's.
	good := proof(priv, npSigner, pub, now)
	_, err = svc.RegisterKey(as("np"), tk.ID, pub, good)
	must(t, "RegisterKey(np)", err)
	_, err = svc.RegisterKey(as("np"), tk.ID, pub, good)
	wantCode(t, "RegisterKey(replayed)", err, talks.ECONFLICT)
	if k, err := s.FindSignerKey(ctx, tk.ID, npSigner); err != nil || k.Holder != talks.KeyHolderClient || k.Private != nil || !k.Public.Equal(pub) {
		t.Fatalf("FindSignerKey after RegisterKey = %+v, %v", k, err)
	}
	wantCode(t, "ExportKey(registered)", errOf(svc.ExportKey(as("np"), tk.ID)), talks.ECONFLICT)
	wantCode(t, "ReleaseKey(registered)", svc.ReleaseKey(as("np"), tk.ID), talks.ECONFLICT)

	// The server signs nothing for it; its own signature is taken.
	before = head()
	wantCode(t, "AnswerVersion(unsigned)", svc.AnswerVersion(as("np"), &talks.Answer{VersionID: v.ID, Kind: talks.AnswerAccept}), talks.EFORBIDDEN)
	answer := func(key ed25519.PrivateKey) error {
		sg, err := talks.Sign(key, &talks.Statement{Talk: tk.ID, Signer: npSigner, Action: talks.ActionAnswer, Version: v.ID,
			Kind: talks.AnswerReject, At: now.Format(time.RFC3339)})
		must(t, "Sign", err)
		c := &talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}
		return svc.AnswerVersion(talks.NewContextWithSignature(as("np"), c), &talks.Answer{VersionID: v.ID, Kind: talks.AnswerReject})
	}
	wantCode(t, "AnswerVersion(signed by the server's old key)", answer(other), talks.EFORBIDDEN)
	if h := head(); h != before {
		t.Fatalf("refused answers: the log grew from %d to %d events", before, h)
	}
	must(t, "AnswerVersion(signed with the registered key)", answer(priv))

	// A lost key is replaced by another registration; the old one no
	// longer signs.
	pub2, priv2 := newKey()
	_, err = svc.RegisterKey(as("np"), tk.ID, pub2, proof(priv2, npSigner, pub2, now))
	must(t, "RegisterKey(np, again)", err)
	as2, err := svc.FindAnswers(as("np"), talks.AnswerFilter{VersionID: v.ID})
	must(t, "FindAnswers", err)
	for _, a := range as2 {
		if a.MemberID == members["np"].ID && a.WithdrawnAt.IsZero() {
			_, err = svc.WithdrawAnswer(as("np"), a.ID)
			must(t, "WithdrawAnswer", err)
		}
	}
	wantCode(t, "AnswerVersion(the replaced key)", answer(priv), talks.EFORBIDDEN)
	must(t, "AnswerVersion(the new key)", answer(priv2))

	// The log binds each key with its proof, and every signature checks.
	c := talks.NewSignatureChecker()
	proofs := 0
	for _, e := range events(t, s, tk.ID) {
		if _, err := c.Check(e); err != nil {
			t.Errorf("event %d (%s): %v", e.ID, e.Type, err)
		}
		if e.Type == talks.EventMemberKey && strings.Contains(string(e.Payload), `"signed"`) {
			proofs++
		}
	}
	if proofs != 3 {
		t.Errorf("%d member.key events carry a proof, want 3", proofs)
	}
	if !c.Keys()[npSigner].Equal(pub2) || !c.Keys()[stkSigner].Equal(stkPub) {
		t.Errorf("the log binds %x to np, %x to the stakeholder; want the registered keys", c.Keys()[npSigner], c.Keys()[stkSigner])
	}
	checkProjection(t, s, tk.ID)
}
