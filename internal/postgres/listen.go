package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// EventsChannel is the channel on which PostgreSQL notifies every
// listening session, at commit, of each talk whose log a transaction
// appended to; the payload is the talk's ID (migration 00013).
const EventsChannel = "backchannel_events"

// Listen calls wrote with the talk's ID after each committed write to a
// talk's log, whichever server or process made it, until ctx is done; it
// then returns. It holds one connection of its own.
//
// It calls listening each time LISTEN has taken effect: first, and again
// after each connection it lost. Notifications sent while it did not
// listen are gone, so listening should treat every talk as written. It
// calls lost with the error of each failed or lost connection, and tries
// again after retry.
func (s *Store) Listen(ctx context.Context, wrote func(talkID int64), listening func(), lost func(error), retry time.Duration) {
	for {
		err := s.listen(ctx, wrote, listening)
		if ctx.Err() != nil {
			return
		}
		lost(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// listen listens on one connection until it fails or ctx is done.
func (s *Store) listen(ctx context.Context, wrote func(int64), listening func()) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The connection may be in any state when this returns: take it out of
	// the pool for good.
	conn := c.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+EventsChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		// Anything else on the channel is not ours to act on.
		if id, err := strconv.ParseInt(n.Payload, 10, 64); err == nil && id > 0 {
			wrote(id)
		}
	}
}
