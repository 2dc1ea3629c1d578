package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// sseEvent is one event read from a stream; comment is set for a comment
// line (a heartbeat) instead.
type sseEvent struct {
	id, typ, data, comment string
}

// stream opens the event stream of talk talkID as user, with header
// Last-Event-ID lastID if not "", and returns its events until it ends.
func (e *env) stream(user string, talkID int64, query, lastID string) (<-chan sseEvent, context.CancelFunc) {
	e.t.Helper()
	return e.streamPath(user, fmt.Sprintf("/api/v1/talks/%d/events%s", talkID, query), lastID)
}

// streamPath opens the event stream at path as user, as stream does.
func (e *env) streamPath(user, path, lastID string) (<-chan sseEvent, context.CancelFunc) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		resp.Body.Close()
		e.t.Fatalf("event stream as %s = %d %s", user, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.id != "" || ev.typ != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ch <- sseEvent{comment: line}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch, cancel
}

// wantGone reads ch to its end, which must come within a while, and wants
// its last event, and only event but heartbeats, to be "gone" with
// message msg: the stream of a member who may no longer see the talk, or
// the track it is bound to.
func wantGone(t *testing.T, who string, ch <-chan sseEvent, msg string) {
	t.Helper()
	var gone []sseEvent
	ended := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				want := `{"code":"not_found","message":"` + msg + `"}`
				if len(gone) != 1 || gone[0].typ != "gone" || gone[0].id != "" || gone[0].data != want {
					t.Errorf("%s's stream ended with %+v, want only a last event gone %s", who, gone, want)
				}
				return
			}
			if ev.comment == "" {
				gone = append(gone, ev)
			}
		case <-ended:
			t.Fatalf("%s's stream did not end", who)
		}
	}
}

// next returns the next event (not a heartbeat) of ch, failing after a while.
func next(t *testing.T, who string, ch <-chan sseEvent) sseEvent {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("%s: stream ended", who)
			}
			if ev.comment == "" {
				return ev
			}
		case <-timeout:
			t.Fatalf("%s: no event in 5s", who)
		}
	}
}

func payload(t *testing.T, ev sseEvent) Event {
	t.Helper()
	var out Event
	if err := json.Unmarshal([]byte(ev.data), &out); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	if fmt.Sprint(out.ID) != ev.id || out.Type != ev.typ {
		t.Fatalf("event %+v: data %+v disagrees with id/event", ev, out)
	}
	return out
}

// TestEvents checks that a member on a back-channel receives its events and
// a member outside it does not, that Last-Event-ID resumes with exactly the
// events missed, and that Close ends streams.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	start := fmt.Sprintf("?after=%d", e.eventCount(w.talk.ID))
	bc := fmt.Sprintf("/api/v1/tracks/%d/messages", w.envoys.ID)
	official := fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID)

	ne, stopNE := e.stream("NE", w.talk.ID, start, "")
	na, stopNA := e.stream("NA", w.talk.ID, start, "")
	defer stopNA()

	e.must(201, "SE", "POST", bc, map[string]any{"body": "secret one"}, nil)
	ev := payload(t, next(t, "NE", ne))
	if ev.Type != talks.EventMessagePosted || ev.TrackID != w.envoys.ID || !strings.Contains(string(ev.Payload), "secret one") {
		t.Fatalf("NE got %+v, want the back-channel message", ev)
	}
	e.must(201, "F", "POST", official, map[string]any{"body": "public one"}, nil)
	got := payload(t, next(t, "NA", na))
	if got.TrackID != w.official.ID || !strings.Contains(string(got.Payload), "public one") {
		t.Fatalf("NA's first event = %+v, want the official message (nothing of the back-channel)", got)
	}
	last := payload(t, next(t, "NE", ne))
	if last.TrackID != w.official.ID {
		t.Fatalf("NE's second event = %+v, want the official message", last)
	}
	stopNE()

	// While NE is away: a back-channel message, an official one and a
	// counter in the back-channel.
	e.must(201, "SE", "POST", bc, map[string]any{"body": "secret two"}, nil)
	e.must(201, "F", "POST", official, map[string]any{"body": "public two"}, nil)
	e.must(201, "NE", "POST", fmt.Sprintf("/api/v1/versions/%d/counter", w.version.ID),
		map[string]any{"values": map[string]string{"line": "1949", "prisoners": "500"}}, nil)
	missed, err := e.svc.FindEvents(e.as("NE"), talks.EventFilter{TalkID: w.talk.ID, AfterSeq: last.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(missed) != 4 { // two messages, version.proposed, answer.given
		t.Fatalf("NE missed %d events, want 4", len(missed))
	}
	ne, stopNE = e.stream("NE", w.talk.ID, "", fmt.Sprint(last.ID))
	defer stopNE()
	for _, want := range missed {
		got := payload(t, next(t, "NE resumed", ne))
		if got.ID != want.ID || got.Type != want.Type {
			t.Fatalf("NE resumed got event %d %s, want %d %s", got.ID, got.Type, want.ID, want.Type)
		}
	}
	// Nothing twice: the next event is the next write.
	e.must(201, "F", "POST", official, map[string]any{"body": "public three"}, nil)
	if got := payload(t, next(t, "NE resumed", ne)); !strings.Contains(string(got.Payload), "public three") {
		t.Fatalf("NE's next event = %+v, want the new message", got)
	}
	// NA saw none of the back-channel's events.
	if got := payload(t, next(t, "NA", na)); !strings.Contains(string(got.Payload), "public two") {
		t.Fatalf("NA's next event = %+v, want the official message", got)
	}
	if got := payload(t, next(t, "NA", na)); !strings.Contains(string(got.Payload), "public three") {
		t.Fatalf("NA's next event = %+v, want the official message", got)
	}

	// An outsider's stream does not exist.
	if st, body := e.do("O", "GET", fmt.Sprintf("/api/v1/talks/%d/events", w.talk.ID), nil); st != 404 {
		t.Errorf("outsider's stream = %d %s, want 404", st, body)
	}

	// Close ends every stream.
	e.srv.Close()
	for _, ch := range []<-chan sseEvent{ne, na} {
		timeout := time.After(5 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					break drain
				}
			case <-timeout:
				t.Fatal("stream still open 5s after Close")
			}
		}
	}
}

// TestEventsHeartbeat checks that an idle stream sends comment lines.
func TestEventsHeartbeat(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	e.srv.heartbeat = 20 * time.Millisecond
	ch, stop := e.stream("NA", w.talk.ID, fmt.Sprintf("?after=%d", e.eventCount(w.talk.ID)), "")
	defer stop()
	select {
	case ev := <-ch:
		if ev.comment == "" {
			t.Fatalf("idle stream sent %+v, want a heartbeat", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat in 5s")
	}
}

// TestNotifyOnlyThatTalk checks that the writes that name a message, an
// answer or an invitation by its own ID wake the streams of that talk and
// no other. It subscribes to the broker as a stream does; a handler nudges
// before it answers, so the nudges are there when the response is.
func TestNotifyOnlyThatTalk(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	other := &talks.Talk{Title: "Elsewhere, too"}
	if err := e.svc.CreateTalk(e.as("F"), other); err != nil {
		t.Fatal(err)
	}
	inv, err := e.svc.CreateInvitation(e.as("F"), &talks.Invitation{TalkID: w.talk.ID, Role: talks.RoleFacilitator})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, method, path string
	}{
		{"retract", "NE", "POST", fmt.Sprintf("/api/v1/messages/%d/retract", w.bcMsg.ID)},
		{"withdraw", "SE", "POST", fmt.Sprintf("/api/v1/answers/%d/withdraw", w.answer.ID)},
		{"revoke", "F", "DELETE", fmt.Sprintf("/api/v1/invitations/%d", inv.ID)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			this, cancelThis := e.srv.broker.subscribe(w.talk.ID)
			defer cancelThis()
			that, cancelThat := e.srv.broker.subscribe(other.ID)
			defer cancelThat()
			e.must(204, tc.user, tc.method, tc.path, nil, nil)
			select {
			case <-this:
			default:
				t.Errorf("%s %s did not wake the streams of its talk", tc.method, tc.path)
			}
			select {
			case <-that:
				t.Errorf("%s %s woke the streams of another talk", tc.method, tc.path)
			default:
			}
		})
	}
}
