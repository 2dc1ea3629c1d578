package talks

import (
	"sync"
	"time"
)

// Limiter counts failures per key (an account, an address) in a sliding
// window: a key with Max failures in the last Window is locked until the
// oldest of them leaves the window. It keeps at most Max timestamps per
// key, so every method but the periodic sweep is O(Max), and it forgets keys whose failures
// have all left the window. It is safe for concurrent use.
//
// It lives in memory: a restart forgets every failure, and several server
// processes each count their own. That bounds online guessing at Max per
// Window per process, which is what it is for.
type Limiter struct {
	Max    int
	Window time.Duration
	Clock  Clock

	mu    sync.Mutex
	fails map[string][]time.Time // ascending, at most Max, all within Window
	ops   int                    // calls since the last sweep
}

// NewLimiter returns a Limiter of max failures per window, timed by clock.
func NewLimiter(max int, window time.Duration, clock Clock) *Limiter {
	if clock == nil {
		clock = SystemClock
	}
	return &Limiter{Max: max, Window: window, Clock: clock, fails: map[string][]time.Time{}}
}

// Allow reports whether key may try again now and, if not, how long it
// must wait.
func (l *Limiter) Allow(key string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.prune(key, now)
	if len(f) < l.Max {
		return true, 0
	}
	return false, f[0].Add(l.Window).Sub(now)
}

// Fail records a failure of key now.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	now := l.now()
	f := append(l.prune(key, now), now)
	if len(f) > l.Max {
		f = f[len(f)-l.Max:]
	}
	l.fails[key] = f
	l.sweep(now)
}

// Take records a failure of key now, before the attempt it stands for is
// made, if key may try again; if not, it records nothing and reports how
// long key must wait. Counting the attempt first means that many
// concurrent attempts cannot all pass before any fails. Release undoes
// the record of an attempt that succeeded.
func (l *Limiter) Take(key string) (ok bool, wait time.Duration, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	now := l.now()
	f := l.prune(key, now)
	if len(f) >= l.Max {
		return false, f[0].Add(l.Window).Sub(now), time.Time{}
	}
	l.fails[key] = append(f, now)
	l.sweep(now)
	return true, 0, now
}

// Release forgets one failure of key recorded at time at, as Take
// returned it.
func (l *Limiter) Release(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[key]
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].Equal(at) {
			f = append(f[:i:i], f[i+1:]...)
			break
		}
	}
	if len(f) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = f
	}
}

// sweep drops, every 1024 calls, the keys whose failures have all left the
// window, so that the map holds only recent keys. l.mu must be held.
func (l *Limiter) sweep(now time.Time) {
	if l.ops++; l.ops >= 1024 {
		l.ops = 0
		for k := range l.fails {
			l.prune(k, now)
		}
	}
}

// Reset forgets the failures of key.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func (l *Limiter) now() time.Time {
	if l.Clock == nil {
		return time.Now()
	}
	return l.Clock.Now()
}

// prune drops the failures of key that have left the window and returns
// the rest. l.mu must be held.
func (l *Limiter) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && !f[i].Add(l.Window).After(now) {
		i++
	}
	if i == len(f) {
		delete(l.fails, key)
		return nil
	}
	f = f[i:]
	l.fails[key] = f
	return f
}
