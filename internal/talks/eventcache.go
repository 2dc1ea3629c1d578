package talks

import (
	"context"
	"slices"
	"sync"
)

// A write to a talk wakes every event stream of the talk at once, and each
// stream asks the Service for the events after its last one: a thousand
// streams would read the talk's head a thousand times, and the same new
// events a thousand times. Two things make that one or two reads:
//
//   - headReads coalesces concurrent reads of a talk's head. A caller
//     never shares a read that began before it arrived, so the head it
//     gets is at least as new as any write committed before its call,
//     exactly as if it had read alone.
//   - eventTails keeps the latest events of each recently read talk.
//     Events never change once appended, so the only question is whether
//     the events wanted are there, which the head (read as above) answers.

// headReads coalesces concurrent reads of talks' heads.
type headReads struct {
	mu sync.Mutex
	m  map[int64]*headFlight // by talk ID
}

// headFlight is the read of a talk's head under way, if any, and the
// round that callers who arrived during it share next.
type headFlight struct{ cur, next *headRound }

// headRound is one read of a talk's head and its outcome.
type headRound struct {
	done chan struct{} // closed when head and err are set
	head int64
	err  error
}

// read returns talk talkID's head as read by read, called after this call
// began: at once if no read of the talk is under way, else in the round
// that starts when the current one ends, shared with every caller that
// arrived meanwhile. read serves other callers too, so it gets a context
// that is never cancelled.
func (h *headReads) read(ctx context.Context, talkID int64, read func(context.Context) (int64, error)) (int64, error) {
	h.mu.Lock()
	if h.m == nil {
		h.m = make(map[int64]*headFlight)
	}
	f := h.m[talkID]
	if f == nil {
		f = &headFlight{}
		h.m[talkID] = f
	}
	var r *headRound
	if f.cur == nil {
		r = &headRound{done: make(chan struct{})}
		f.cur = r
		h.mu.Unlock()
		h.run(talkID, f, r, read)
	} else {
		if f.next == nil {
			f.next = &headRound{done: make(chan struct{})}
		}
		r = f.next
		h.mu.Unlock()
	}
	select {
	case <-r.done:
		return r.head, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run reads the head for round r of flight f, then starts the round that
// gathered callers meanwhile, if any.
func (h *headReads) run(talkID int64, f *headFlight, r *headRound, read func(context.Context) (int64, error)) {
	r.head, r.err = read(context.Background())
	h.mu.Lock()
	next := f.next
	f.cur, f.next = next, nil
	if next == nil {
		delete(h.m, talkID)
	}
	h.mu.Unlock()
	close(r.done)
	if next != nil {
		go h.run(talkID, f, next, read)
	}
}

// eventTailLen bounds the events kept per talk, and eventTailTalks the
// talks kept.
const (
	eventTailLen   = 1024
	eventTailTalks = 256
)

// eventTails keeps, per talk, a run of consecutive events ending at the
// latest one read.
type eventTails struct {
	mu sync.Mutex
	m  map[int64][]*Event // by talk ID; evs[i].ID == evs[0].ID + i
}

// get returns the kept events of talk talkID numbered after+1 to head, if
// every one of them is kept.
func (c *eventTails) get(talkID, after, head int64) ([]*Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	evs := c.m[talkID]
	if len(evs) == 0 || after+1 < evs[0].ID || head > evs[len(evs)-1].ID {
		return nil, false
	}
	first := evs[0].ID
	return evs[after+1-first : head+1-first : head+1-first], true
}

// put keeps evs, consecutive events of talk talkID, if they extend or
// renew what is kept.
func (c *eventTails) put(talkID int64, evs []*Event) {
	if len(evs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64][]*Event)
	}
	old, ok := c.m[talkID]
	var run []*Event
	switch {
	case ok && len(old) > 0 && evs[0].ID <= old[len(old)-1].ID+1 && evs[len(evs)-1].ID > old[len(old)-1].ID:
		// Overlaps or follows the kept run: extend it, in place while its
		// array has room. get hands out only what the run holds already,
		// with no room to append, so no reader sees the new events land.
		run = append(old, evs[old[len(old)-1].ID+1-evs[0].ID:]...)
	case ok && len(old) > 0 && evs[len(evs)-1].ID <= old[len(old)-1].ID:
		return // older than what is kept
	default:
		if !ok && len(c.m) >= eventTailTalks {
			for id := range c.m { // evict an arbitrary talk
				delete(c.m, id)
				break
			}
		}
		run = evs[:len(evs):len(evs)]
	}
	if len(run) > eventTailLen {
		run = run[len(run)-eventTailLen:]
	}
	c.m[talkID] = run
}

// events returns the events of talk talkID numbered after+1 to head, at
// most limit of them if limit > 0, from the kept tail or else the store.
// The events are shared: callers must not change them.
func (s *Service) events(ctx context.Context, talkID, after, head int64, limit int) ([]*Event, error) {
	if after >= head {
		return nil, nil
	}
	if evs, ok := s.tails.get(talkID, after, head); ok {
		if limit > 0 && len(evs) > limit {
			evs = evs[:limit]
		}
		return evs, nil
	}
	n := head - after
	if limit > 0 && int64(limit) < n {
		n = int64(limit)
	}
	evs, err := s.store.FindEvents(ctx, EventFilter{TalkID: talkID, AfterSeq: after, Limit: int(n)})
	if err != nil {
		return nil, err
	}
	// Keep them only if they are the run the store promises, so that a
	// gap never hides in the cache.
	for i, e := range evs {
		if e.ID != after+1+int64(i) {
			return evs, nil
		}
	}
	s.tails.put(talkID, evs)
	return evs, nil
}

// appended keeps the events a commit appended (see Appender).
func (s *Service) appended(evs []*Event) {
	for len(evs) > 0 {
		n := 1
		for n < len(evs) && evs[n].TalkID == evs[0].TalkID && evs[n].ID == evs[n-1].ID+1 {
			n++
		}
		s.tails.put(evs[0].TalkID, slices.Clone(evs[:n]))
		evs = evs[n:]
	}
}
