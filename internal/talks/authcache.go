package talks

import (
	"crypto/sha256"
	"math/rand/v2"
	"sync"
	"time"
)

// The authentication cache.
//
// Every API request authenticates a bearer token and every web request a
// session, each with two store reads (the token or session, then its
// user). Service keeps what it read, by the token's hash, for at most
// AuthCacheTTL, so that a client making many requests pays them once per
// TTL. Expiry of a session is checked on every use against the Service's
// clock, cached or not.
//
// Revocation through this Service takes effect at once: revoking an API
// token, logging out and changing a password forget the entries they end
// (and every entry of the user whose password changed) before they return,
// and a read that raced with such a change is not cached (a generation
// count, bumped by every change, tells). Another Service, such as another
// server on the same PostgreSQL database, learns of a revocation made
// elsewhere only when its entry is older than AuthCacheTTL: until then it
// may still accept the revoked token or session.

// AuthCacheTTL is the longest an authenticated token or session is
// trusted without reading the store again.
//
// Each entry is trusted for a time drawn between AuthCacheTTL/2 and
// AuthCacheTTL (lifetime), so that entries cached at the same moment
// (every client of a server that just started, say) do not all expire
// together and send all their reads to the store at once. On PostgreSQL,
// 200 API clients authenticating together took 40–165 ms to do so, and
// writes that arrived meanwhile 100–300 ms (docs/benchmarks.md).
const AuthCacheTTL = 2 * time.Second

// authCacheSize bounds the entries kept; when full, an arbitrary one goes.
const authCacheSize = 10_000

type authKey [sha256.Size]byte

type authEntry struct {
	user    *User    // public: no password hash
	sess    *Session // nil for an API token
	expires time.Time
}

type authCache struct {
	mu  sync.Mutex
	gen uint64 // bumped by every revocation
	m   map[authKey]authEntry
}

func keyOf(hash []byte) (k authKey) {
	copy(k[:], hash)
	return k
}

// lifetime returns how long an entry cached now is trusted: between
// AuthCacheTTL/2 and AuthCacheTTL.
func lifetime() time.Duration {
	return AuthCacheTTL - rand.N(AuthCacheTTL/2)
}

// get returns the entry of key if it has not expired.
func (c *authCache) get(key authKey) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if ok && !time.Now().Before(e.expires) {
		delete(c.m, key)
		return authEntry{}, false
	}
	return e, ok
}

// generation returns the count to pass to put for what is read next.
func (c *authCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps e under key, unless a revocation happened since gen was
// taken, before e was read: then e may be stale.
func (c *authCache) put(key authKey, e authEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil {
		c.m = make(map[authKey]authEntry)
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= authCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	e.expires = time.Now().Add(lifetime())
	c.m[key] = e
}

// forget drops the entry of key, if any.
func (c *authCache) forget(key authKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, key)
}

// forgetUser drops every entry of user id: sessions, or API tokens, or
// both.
func (c *authCache) forgetUser(id int64, sessions, tokens bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if e.user.ID == id && (e.sess != nil && sessions || e.sess == nil && tokens) {
			delete(c.m, k)
		}
	}
}
