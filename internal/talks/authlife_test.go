package talks

import (
	"testing"
	"time"
)

// TestAuthCacheSpreadsExpiry checks that entries cached at one moment
// expire at times spread between AuthCacheTTL/2 and AuthCacheTTL, not all
// together.
func TestAuthCacheSpreadsExpiry(t *testing.T) {
	var c authCache
	start := time.Now()
	for i := range 200 {
		c.put(authKey{byte(i)}, authEntry{user: &User{ID: int64(i)}}, c.generation())
	}
	end := time.Now()
	first, last := end.Add(AuthCacheTTL), start
	for k, e := range c.m {
		if e.expires.Before(start.Add(AuthCacheTTL/2)) || e.expires.After(end.Add(AuthCacheTTL)) {
			t.Errorf("entry %x expires %v after it was cached, want between %v and %v", k[0], e.expires.Sub(start), AuthCacheTTL/2, AuthCacheTTL)
		}
		first, last = minTime(first, e.expires), maxTime(last, e.expires)
	}
	// 200 draws from a window of AuthCacheTTL/2 all landing in one
	// quarter of it has a chance below 2^-390.
	if spread := last.Sub(first); spread < AuthCacheTTL/8 {
		t.Errorf("200 entries cached together expire within %v of each other, want them spread over about %v", spread, AuthCacheTTL/2)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
