package talks

import (
	"sync/atomic"
	"time"
)

// A Batcher is a Store that groups the writes queued while its last
// transaction ran into one transaction, one durable commit (group
// commit), and counts those batches.
type Batcher interface {
	BatchStats() BatchStats
}

// BatchStats counts a store's batches since it opened. Writes over
// Batches is how many writes share a commit; Busy over the time elapsed is
// how much of it the store spent running batches, which, near all of it,
// bounds the write rate.
type BatchStats struct {
	Batches int64         // batches run, committed or not
	Writes  int64         // writes taken into them: one that failed counts, one run again counts again
	Busy    time.Duration // time spent running them
}

// BatchCounter counts batches for a Batcher. Its zero value is ready to
// use, and it is safe for concurrent use.
type BatchCounter struct {
	batches, writes, busy atomic.Int64
}

// Add counts a batch of n writes that ran for d.
func (c *BatchCounter) Add(n int, d time.Duration) {
	c.batches.Add(1)
	c.writes.Add(int64(n))
	c.busy.Add(int64(d))
}

// Stats returns the counts so far.
func (c *BatchCounter) Stats() BatchStats {
	return BatchStats{Batches: c.batches.Load(), Writes: c.writes.Load(), Busy: time.Duration(c.busy.Load())}
}
