package agent

import (
	"reflect"
	"sync"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// cacheLimit bounds the outcomes that the indexes IndexOf keeps hold, about
// 12 bytes each: 2^25 of them is the three EnergyGrid profiles and more.
const cacheLimit = 1 << 25

var cache = struct {
	sync.Mutex
	m     map[utility.Func]*cached
	total uint64
	clock uint64
}{m: make(map[utility.Func]*cached)}

type cached struct {
	done chan struct{}
	ix   *Index
	err  error
	used uint64
}

// IndexOf returns the index of f, building it on first use and keeping it
// for the next negotiation with the same function, as a tournament runs
// many. Functions are told apart by identity, so only pointer types are
// kept; the least recently used indexes are dropped once the kept ones
// hold more than 2^25 outcomes. Concurrent calls for the same function
// build its index once. It returns the errors of NewIndex.
func IndexOf(f utility.Func) (*Index, error) {
	if f == nil || reflect.TypeOf(f).Kind() != reflect.Pointer {
		return NewIndex(f)
	}
	cache.Lock()
	cache.clock++
	if e := cache.m[f]; e != nil {
		e.used = cache.clock
		cache.Unlock()
		<-e.done
		return e.ix, e.err
	}
	e := &cached{done: make(chan struct{}), used: cache.clock}
	cache.m[f] = e
	cache.Unlock()

	ix, err := NewIndex(f)

	// Other callers read e.ix while evicting, under the lock: publish it
	// under the lock too.
	cache.Lock()
	e.ix, e.err = ix, err
	if e.err != nil {
		delete(cache.m, f)
	} else {
		cache.total += e.ix.n
		for cache.total > cacheLimit {
			var old utility.Func
			for g, c := range cache.m {
				if c != e && c.ix != nil && (old == nil || c.used < cache.m[old].used) {
					old = g
				}
			}
			if old == nil {
				break
			}
			cache.total -= cache.m[old].ix.n
			delete(cache.m, old)
		}
	}
	cache.Unlock()
	close(e.done)
	return e.ix, e.err
}

// offers hands out outcomes of an index as slices that stay valid, so a
// negotiator can return them as offers: the mechanism may keep them. They
// are cut from a slab, and a small direct-mapped cache returns the same
// slice for an outcome offered again, so a negotiator in steady state
// allocates nothing.
type offers struct {
	ix   *Index
	slab []int
	ids  [64]uint64
	outs [64]outcome.Outcome
}

func (c *offers) get(id uint64) outcome.Outcome {
	h := (id * 0x9E3779B97F4A7C15) >> 58
	if o := c.outs[h]; o != nil && c.ids[h] == id {
		return o
	}
	k := len(c.ix.radix)
	if len(c.slab) < k {
		c.slab = make([]int, k*128)
	}
	o := outcome.Outcome(c.slab[:k:k])
	c.slab = c.slab[k:]
	c.ix.decode(o, id)
	c.ids[h], c.outs[h] = id, o
	return o
}
