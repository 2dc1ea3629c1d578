package talks

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeadReadsCoalesce has many callers read a head while one read is
// under way: they share the next read, which begins after they arrived.
func TestHeadReadsCoalesce(t *testing.T) {
	var h headReads
	var reads atomic.Int64
	var head atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 100)
	read := func(ctx context.Context) (int64, error) {
		reads.Add(1)
		v := head.Load()
		started <- struct{}{}
		<-release
		return v, nil
	}
	ctx := context.Background()

	// The first caller's read is under way, and sees head 1.
	head.Store(1)
	first := make(chan int64)
	go func() { v, _ := h.read(ctx, 7, read); first <- v }()
	<-started

	// A write moves the head to 2; then 50 callers arrive. None may get
	// the head of the read that began before them.
	head.Store(2)
	const n = 50
	var wg sync.WaitGroup
	got := make([]int64, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = h.read(ctx, 7, read) }()
	}
	// Let the callers queue behind the first read.
	for h.waiting(7) < 1 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	if v := <-first; v != 1 {
		t.Errorf("first caller got head %d, want 1", v)
	}
	wg.Wait()
	for i, v := range got {
		if v != 2 {
			t.Fatalf("caller %d got head %d, want 2: it shared a read that began before it", i, v)
		}
	}
	// The first read and one for the 50 others, or a few more if the
	// scheduler let some arrive only after the second read began; never
	// one each.
	if r := reads.Load(); r > 5 {
		t.Errorf("%d reads for 51 callers, want 2 (at most 5)", r)
	}
	// A read of another talk is its own.
	if v, _ := h.read(ctx, 8, func(context.Context) (int64, error) { return 42, nil }); v != 42 {
		t.Errorf("head of another talk = %d, want 42", v)
	}
}

// waiting reports whether callers are gathered for the next read of a
// talk's head (1) or not (0).
func (h *headReads) waiting(talkID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.m[talkID]; f != nil && f.next != nil {
		return 1
	}
	return 0
}

func TestEventTails(t *testing.T) {
	mk := func(from, to int64) []*Event {
		var evs []*Event
		for i := from; i <= to; i++ {
			evs = append(evs, &Event{ID: i})
		}
		return evs
	}
	ids := func(evs []*Event) (a []int64) {
		for _, e := range evs {
			a = append(a, e.ID)
		}
		return a
	}
	var c eventTails
	if _, ok := c.get(1, 0, 3); ok {
		t.Fatal("an empty cache has events")
	}
	c.put(1, mk(5, 10))
	for _, tc := range []struct {
		after, head int64
		want        []int64
		ok          bool
	}{
		{4, 10, []int64{5, 6, 7, 8, 9, 10}, true},
		{7, 9, []int64{8, 9}, true},
		{3, 10, nil, false}, // event 4 is not kept
		{9, 11, nil, false}, // event 11 is not kept
	} {
		got, ok := c.get(1, tc.after, tc.head)
		if ok != tc.ok || (ok && !equal(ids(got), tc.want)) {
			t.Errorf("get(after %d, head %d) = %v, %v; want %v, %v", tc.after, tc.head, ids(got), ok, tc.want, tc.ok)
		}
	}
	c.put(1, mk(9, 12)) // overlaps: extends
	if got, ok := c.get(1, 4, 12); !ok || len(got) != 8 {
		t.Errorf("after an extension, get(4, 12) = %v, %v", ids(got), ok)
	}
	c.put(1, mk(2, 6)) // older: ignored
	if got, ok := c.get(1, 4, 12); !ok || len(got) != 8 {
		t.Errorf("after an older put, get(4, 12) = %v, %v", ids(got), ok)
	}
	c.put(1, mk(20, 21)) // a gap: starts over
	if _, ok := c.get(1, 10, 12); ok {
		t.Error("events before a gap are still served")
	}
	if got, ok := c.get(1, 19, 21); !ok || len(got) != 2 {
		t.Errorf("after a gap, get(19, 21) = %v, %v", ids(got), ok)
	}
	c.put(1, mk(22, 22+eventTailLen)) // bounded
	if got, _ := c.get(1, 22+eventTailLen-1, 22+eventTailLen); len(got) != 1 || len(c.m[1]) != eventTailLen {
		t.Errorf("kept %d events, want %d", len(c.m[1]), eventTailLen)
	}
	// A caller may append to what get returns without changing the cache.
	got, _ := c.get(1, 30, 31)
	_ = append(got, &Event{ID: 999})
	if again, _ := c.get(1, 30, 32); again[1].ID != 32 {
		t.Errorf("appending to a result changed the cache: %v", ids(again))
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
