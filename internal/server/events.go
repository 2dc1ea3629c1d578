package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// HeartbeatInterval is how often an idle event stream sends a comment line,
// which keeps proxies from closing it, and reads the log again in case a
// write it was not told of (another process) appended events.
const HeartbeatInterval = 20 * time.Second

// eventBatch is how many events a stream reads from the store at once.
const eventBatch = 500

// broker wakes the event streams of a talk after a write to it. It carries
// no events, only a nudge: each stream then reads the events after its last
// one through the Service, so what a member may see is decided in one place.
// A nudge to a stream already nudged is dropped, so a burst of writes costs
// a stream one read.
type broker struct {
	mu   sync.Mutex
	subs map[int64]map[chan struct{}]struct{} // by talk ID
	any  map[chan struct{}]struct{}           // woken by a write to any talk

	// Tracks and proposals never change talks, so their talks are cached
	// for Notify after writes that name only a track or a proposal.
	trackTalk    sync.Map // track ID → talk ID
	proposalTalk sync.Map // proposal ID → talk ID
}

func newBroker() *broker {
	return &broker{subs: map[int64]map[chan struct{}]struct{}{}, any: map[chan struct{}]struct{}{}}
}

// subscribeAny returns a channel that receives a nudge after each write to
// any talk, and a function that ends the subscription.
func (b *broker) subscribeAny() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.any[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.any, ch)
		b.mu.Unlock()
	}
}

// subscribe returns a channel that receives a nudge after each write to talk
// talkID, and a function that ends the subscription.
func (b *broker) subscribe(talkID int64) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs[talkID] == nil {
		b.subs[talkID] = map[chan struct{}]struct{}{}
	}
	b.subs[talkID][ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs[talkID], ch)
		if len(b.subs[talkID]) == 0 {
			delete(b.subs, talkID)
		}
		b.mu.Unlock()
	}
}

// Notify wakes the streams of talk talkID. It never blocks.
func (b *broker) Notify(talkID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[talkID] {
		nudge(ch)
	}
	for ch := range b.any {
		nudge(ch)
	}
}

// NotifyAll wakes every stream. It never blocks.
func (b *broker) NotifyAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, subs := range b.subs {
		for ch := range subs {
			nudge(ch)
		}
	}
	for ch := range b.any {
		nudge(ch)
	}
}

func nudge(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// notifyVia wakes the streams of the talk that holds the resource id (a
// track or a proposal), looking its talk up in talkOf, or else with find
// and remembering it. If find fails no stream is woken now; each reads the
// log again at its next heartbeat, so a failed look-up costs delay, never
// an event. (find runs right after the acting user wrote to the resource,
// which it therefore sees, so it fails only if the store does.)
func (b *broker) notifyVia(talkOf *sync.Map, id int64, find func() (int64, error)) {
	if v, ok := talkOf.Load(id); ok {
		b.Notify(v.(int64))
		return
	}
	talkID, err := find()
	if err != nil {
		return
	}
	talkOf.Store(id, talkID)
	b.Notify(talkID)
}

// handleEvents streams the events of a talk that the member may see as
// Server-Sent Events: each with id (the event's sequence number), event (its
// type) and data (the Event as JSON). A client resumes after the last id it
// received with the Last-Event-ID header (browsers send it when they
// reconnect) or ?after=. Events it may not see leave gaps in the ids.
//
// With ?require_track=, the stream is bound to that track: it is refused
// (404) if the member may not see the track, and ends (endStream) once the
// member may no longer see it (talks.EventFilter.RequireTrack), so that a
// page of the track learns that the track is gone for it. The events it
// carries are the same.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 0 {
			return talks.Errorf(talks.EINVALID, "Last-Event-ID must be the id of an event.")
		}
		after = n
	}
	track, err := queryInt(r, "require_track", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	ctx := r.Context()

	// Subscribe before the first read, so that no write between the read
	// and the wait goes unnoticed.
	wake, cancel := s.broker.subscribe(id)
	defer cancel()
	next := func() ([]*talks.Event, error) {
		return s.svc.FindEvents(ctx, talks.EventFilter{TalkID: id, AfterSeq: after, Limit: eventBatch, RequireTrack: track})
	}
	evs, err := next()
	if err != nil {
		return err // nothing written yet: a plain JSON error (404 outside the talk or the track)
	}

	rc, err := s.openStream(w)
	defer s.streams.Add(-1)
	if err != nil {
		return nil
	}

	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for {
		for len(evs) > 0 {
			for _, e := range evs {
				data, err := json.Marshal(apiEvent(e))
				if err != nil {
					s.logger.Error("events: encode", "talk", id, "event", e.ID, "err", err)
					return nil
				}
				if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data); err != nil {
					return nil
				}
				after = e.ID
			}
			if len(evs) < eventBatch {
				break
			}
			if evs, err = next(); err != nil {
				return s.endStream(ctx, w, id, err)
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}

		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-wake:
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
		}
		if evs, err = next(); err != nil {
			return s.endStream(ctx, w, id, err)
		}
	}
}

// openStream answers with the headers of an event stream and its retry
// line, counts it among the open streams (the caller subtracts it when it
// ends) and returns its response controller; an error means the client
// is gone.
func (s *Server) openStream(w http.ResponseWriter) (*http.ResponseController, error) {
	rc := http.NewResponseController(w)
	// A stream outlives any write timeout the http.Server sets.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s.streams.Add(1)
	_, err := fmt.Fprint(w, "retry: 2000\n\n")
	return rc, err
}

// endStream ends a stream whose read failed. Headers are sent, so the error
// can only be logged, or, for a member who lost sight of the talk (or of
// the track the stream is bound to), sent as a last event, "gone", with no
// id and the error as its data, so that a client need not reconnect to
// learn that it would be refused.
func (s *Server) endStream(ctx interface{ Err() error }, w http.ResponseWriter, talkID int64, err error) error {
	switch {
	case ctx.Err() != nil:
	case talks.ErrorCode(err) == talks.ENOTFOUND:
		data, _ := json.Marshal(apiError{Code: talks.ENOTFOUND, Message: talks.ErrorMessage(err)})
		if _, err := fmt.Fprintf(w, "event: gone\ndata: %s\n\n", data); err == nil {
			_ = http.NewResponseController(w).Flush()
		}
	case talks.ErrorCode(err) == talks.EINTERNAL:
		s.logger.Error("events: read", "talk", talkID, "err", err)
	}
	return nil
}

// Notify wakes the event streams of talk talkID, for a write made outside
// the API: the web UI's forms, or another server sharing the database. It
// never blocks.
func (s *Server) Notify(talkID int64) { s.broker.Notify(talkID) }

// NotifyAll wakes every event stream, each of which reads its talk's log
// again: for when writes may have gone unannounced (a lost connection to
// the database's notifications). It never blocks.
func (s *Server) NotifyAll() { s.broker.NotifyAll() }
