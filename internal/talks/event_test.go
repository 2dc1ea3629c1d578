package talks_test

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

func chain(t *testing.T, n int) []*talks.Event {
	t.Helper()
	var prev [32]byte
	var evs []*talks.Event
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	for i := range n {
		e, err := talks.NewEvent(7, int64(i%2), talks.EventMessagePosted, talks.Stamp{ActorID: 3, Time: at.Add(time.Duration(i) * time.Second)},
			talks.MessagePosted{MessageID: int64(i + 1), AuthorID: 2, Body: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		e.Seal(int64(i+1), prev)
		prev = e.Hash
		evs = append(evs, e)
	}
	return evs
}

// TestCanonicalBytes pins encoding v1: a change here breaks every stored
// hash chain and Merkle tree.
func TestCanonicalBytes(t *testing.T) {
	e := chain(t, 1)[0]
	if got, want := e.TimeString(), "2025-01-02T02:04:05.123456Z"; got != want {
		t.Errorf("TimeString() = %q, want %q", got, want)
	}
	want := "6261636b6368616e6e656c2f6576656e742f76310a" + // domain
		"0000000000000007" + "0000000000000001" + // talk, seq
		"0000001b" + hex.EncodeToString([]byte("2025-01-02T02:04:05.123456Z")) +
		"0000000000000003" + "0000000000000000" + // actor, track
		"0000000e" + hex.EncodeToString([]byte("message.posted")) +
		"0000002d" + hex.EncodeToString([]byte(`{"message_id":1,"author_id":2,"body":"hello"}`)) +
		"0000000000000000000000000000000000000000000000000000000000000000"
	if got := hex.EncodeToString(e.CanonicalBytes()); got != want {
		t.Errorf("CanonicalBytes() =\n%s, want\n%s", got, want)
	}
}

func TestVerifyChain(t *testing.T) {
	tests := []struct {
		name   string
		tamper func([]*talks.Event) []*talks.Event
		seq    int64 // 0: valid
	}{
		{"intact", func(e []*talks.Event) []*talks.Event { return e }, 0},
		{"empty", func(e []*talks.Event) []*talks.Event { return nil }, 0},
		{"payload byte", func(e []*talks.Event) []*talks.Event { e[2].Payload[5] ^= 1; return e }, 3},
		{"time", func(e []*talks.Event) []*talks.Event { e[1].Time = e[1].Time.Add(time.Microsecond); return e }, 2},
		{"actor", func(e []*talks.Event) []*talks.Event { e[0].ActorID = 4; return e }, 1},
		{"track", func(e []*talks.Event) []*talks.Event { e[3].TrackID = 9; return e }, 4},
		{"deleted", func(e []*talks.Event) []*talks.Event { return append(e[:1], e[2:]...) }, 2},
		{"deleted last rehashed", func(e []*talks.Event) []*talks.Event {
			e = append(e[:3], e[4:]...)
			e[3].Seal(4, e[2].Hash)
			return e
		}, 0},
		{"swapped", func(e []*talks.Event) []*talks.Event { e[1], e[2] = e[2], e[1]; return e }, 2},
		{"renumbered after swap", func(e []*talks.Event) []*talks.Event {
			e[1], e[2] = e[2], e[1]
			e[1].ID, e[2].ID = 2, 3
			return e
		}, 2},
		{"inserted", func(e []*talks.Event) []*talks.Event {
			x := *e[1]
			return append(e[:2], append([]*talks.Event{&x}, e[2:]...)...)
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := talks.VerifyChain(tt.tamper(chain(t, 5)))
			var ce *talks.ChainError
			switch {
			case tt.seq == 0 && err != nil:
				t.Errorf("VerifyChain() = %v, want nil", err)
			case tt.seq != 0 && !errors.As(err, &ce):
				t.Errorf("VerifyChain() = %v, want a *ChainError", err)
			case tt.seq != 0 && ce.Seq != tt.seq:
				t.Errorf("VerifyChain() fails at %d (%v), want %d", ce.Seq, err, tt.seq)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err        error
		code, mesg string
	}{
		{nil, "", ""},
		{errors.New("disk on fire"), talks.EINTERNAL, "Internal error."},
		{talks.Errorf(talks.ENOTFOUND, "Track %d not found.", 3), talks.ENOTFOUND, "Track 3 not found."},
	}
	for _, tt := range tests {
		wrapped := tt.err
		if tt.err != nil {
			wrapped = errors.Join(errors.New("context"), tt.err)
		}
		if got := talks.ErrorCode(wrapped); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", wrapped, got, tt.code)
		}
		if got := talks.ErrorMessage(wrapped); got != tt.mesg {
			t.Errorf("ErrorMessage(%v) = %q, want %q", wrapped, got, tt.mesg)
		}
	}
}
