package talks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestKeyReleaseRace has an envoy take its key into its own hands between
// the Service's signing of the envoy's answer with the server's copy and
// the answer's write: the write is refused and writes nothing, since the
// server no longer speaks for the envoy.
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
			err = d.svc.AnswerVersion(d.as("NE"), &talks.Answer{VersionID: d.version.ID, Kind: talks.AnswerAccept})
			if !errors.Is(err, talks.ErrKeyReleased) {
				t.Fatalf("AnswerVersion signed by the server as the key was released = %v, want ErrKeyReleased", err)
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
