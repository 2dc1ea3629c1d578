package mechanism

import "time"

// A call asks the helper goroutine to run Init (init set) or Act of a
// party.
type call struct {
	party int
	init  bool
	info  Info
	state State
}

type reply struct {
	action Action
	err    error
}

// The ways a call ends.
const (
	replied = iota
	timedOut
	canceled
)

// startWorker starts the helper goroutine that runs the negotiators'
// calls when there is a TurnLimit. One goroutine serves every party:
// turns are sequential, and the channels order each call before the next.
func (r *run) startWorker() {
	r.calls = make(chan call)
	// The reply channel has room for one reply, so that a call that
	// returns after it was abandoned does not block the goroutine, which
	// then finds calls closed and exits.
	r.replies = make(chan reply, 1)
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	go work(r.negs, r.calls, r.replies)
}

func (r *run) stopWorker() {
	close(r.calls)
	r.timer.Stop()
}

func work(negs []Negotiator, calls <-chan call, replies chan<- reply) {
	for c := range calls {
		var rep reply
		if c.init {
			rep.err = initSafely(negs[c.party], c.info)
		} else {
			rep.action, rep.err = actSafely(negs[c.party], c.state)
		}
		replies <- rep
	}
}

// call runs c on the helper goroutine and waits for its reply at most
// limit, and no longer than the run's context allows. A call that does
// not reply in time is abandoned, and the run must end: the goroutine is
// busy until the negotiator returns.
func (r *run) call(c call, limit time.Duration) (reply, int) {
	r.calls <- c
	// Since Go 1.23 a stopped or reset timer delivers no stale value, so
	// one timer serves every call.
	r.timer.Reset(limit)
	select {
	case rep := <-r.replies:
		r.timer.Stop()
		return rep, replied
	case <-r.timer.C:
		return reply{}, timedOut
	case <-r.done:
		r.timer.Stop()
		return reply{}, canceled
	}
}
