package talks

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// Checking a view inside the write.
//
// Every view reads the talk's head first, so that the snapshot of members,
// tracks and the talk it decides by is exact as of the call. A message or
// a counter-proposal does not: it decides by the kept snapshot as it is,
// and names its head in the write's Stamp (ViewCheck). The store, under
// the talk's write lock, refuses the write with ErrStaleView unless every
// event appended since is of a kind that changes nothing the decision
// read (ViewKeepingTypes); Service then makes the whole call again with a
// view read afresh. So the decision is as exact as before, and checked
// later: at the write itself rather than before it. A member who writes
// again and again, whose snapshot the Service carries over its own writes
// (advance), so reads nothing before its write.
//
// A view read afresh names its head too, so a change of members, roles,
// tracks, mandates or keys committed between that read and the write
// (another request's) refuses the write as well, and the call is decided
// again (withKeptView, withFreshView). Every write a view decides does
// so (Service.stamp): the writes to a track's content, and those that
// change the talk, its parties, members and tracks, mandates,
// preferences, invitations, stakeholders, disclosure and keys. Only the
// writes of someone who has no view name none: a stakeholder's red lines
// and ratification, the acceptance of an invitation, and a talk's
// creation.

// ViewCheck, in a Stamp, is the head of the snapshot the Service decided a
// write by (see ErrStaleView).
type ViewCheck struct {
	Head int64
}

// MaxViewLag is the most events after ViewCheck.Head that a store reads to
// check them; with more, it returns ErrStaleView.
const MaxViewLag = maxSnapshotCatchUp

// ErrStaleView is returned by a store, for a write whose Stamp has a
// ViewCheck, if an event appended to the talk after ViewCheck.Head is of a
// type not in ViewKeepingTypes (or there are more than MaxViewLag of
// them). The write has written nothing. Service answers it by making the
// call again with a fresh view; no user sees it.
var ErrStaleView = Errorf(ECONFLICT, "The talk changed while this was being written; nothing was written. Try again.")

// viewKeeping are the event types after which a snapshot still decides
// a write as it did: they change no member, track or talk (keepsSnapshot
// and keepsTalk), no mandate or preferences that snapshot.mandates keeps,
// and no key that snapshot.keys keeps.
var viewKeeping = func() []string {
	var a []string
	for typ := range keepsSnapshot {
		if keepsTalk[typ] && typ != EventMandateSaved && typ != EventPreferencesSaved && typ != EventMemberKey {
			a = append(a, typ)
		}
	}
	slices.Sort(a)
	return a
}()

// ViewKeepingTypes returns the event types that may follow a write's
// ViewCheck.Head without making the store refuse it, sorted. The caller
// must not change the slice.
func ViewKeepingTypes() []string { return viewKeeping }

// optimistic is a call that may decide by the kept snapshot of its talk
// without reading the head (snapshot), and what it then used.
type optimistic struct {
	mu     sync.Mutex
	used   bool  // a kept snapshot was used
	head   int64 // its head
	stored bool  // the call reached the store
}

type optimisticKey struct{}

func optimisticFrom(ctx context.Context) *optimistic {
	o, _ := ctx.Value(optimisticKey{}).(*optimistic)
	return o
}

// kept returns the kept snapshot of talk talkID for an optimistic call,
// if there is one with its talk, and notes it.
func (o *optimistic) kept(c *viewCache, talkID int64) *snapshot {
	sn := c.get(talkID)
	if sn == nil || sn.head == 0 || sn.talk == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.used && o.head != sn.head {
		return nil // one call, one snapshot
	}
	o.used, o.head = true, sn.head
	return sn
}

// viewCheck returns the ViewCheck for the Stamp of a write decided by v,
// kept or read afresh: nil if v's snapshot has no head. Every write
// decided by a view names it (Service.stamp), so a member taken off the
// track or the talk, or a role changed, between the view's read and the
// write makes the store refuse the write as stale, and the call is
// decided again.
func (v *View) viewCheck() *ViewCheck {
	if v.snap.head == 0 {
		return nil // a snapshot of no known head: nothing to check against
	}
	return &ViewCheck{Head: v.snap.head}
}

// storing notes, for an optimistic call (withKeptView), that it is about
// to give its write to the store: an error from then on is the store's,
// and is not answered by deciding the call again, unless it is
// ErrStaleView.
func storing(ctx context.Context) {
	if o := optimisticFrom(ctx); o != nil {
		o.mu.Lock()
		o.stored = true
		o.mu.Unlock()
	}
}

// withKeptView runs call on the kept snapshot of its talk, if any, and
// again with a fresh view if that failed before reaching the store (the
// kept snapshot may have refused what a fresh one allows) or the store
// found the snapshot stale; and again while the store finds a fresh view
// stale too (withFreshView: the talk's members or tracks changed between
// the view's read and the write).
//
// An envoy's write decides by the mandate kept with the snapshot. A
// mandate or preferences saved after the snapshot's head make the store
// find it stale (they are not in ViewKeepingTypes), so the call is made
// again and decided by the mandate as it is then: a mandate narrowed
// while the call ran refuses the write by its new limit (EFORBIDDEN), or
// lets it through if the write keeps within it. A write decided by a view
// read afresh is decided again the same way, since its view names its
// head too. The store's own check of the mandate read (Stamp.Mandate,
// ErrMandateChanged, ECONFLICT) stays as a second guard, for a store
// write that names no view.
func withKeptView(ctx context.Context, call func(ctx context.Context) error) error {
	o := &optimistic{}
	err := call(context.WithValue(ctx, optimisticKey{}, o))
	if !(o.used && !o.stored && err != nil) && !errors.Is(err, ErrStaleView) {
		return err
	}
	return withFreshView(ctx, call)
}

// withFreshView runs call, which decides its write by a view read afresh
// and names its head (viewCheck), again while the store finds that view
// stale, up to freshAttempts times in all.
func withFreshView(ctx context.Context, call func(ctx context.Context) error) error {
	var err error
	for range freshAttempts {
		if err = call(ctx); !errors.Is(err, ErrStaleView) {
			break
		}
	}
	return err
}

// withFreshViewOf is withFreshView for a call that returns a result.
func withFreshViewOf[T any](ctx context.Context, call func(ctx context.Context) (T, error)) (T, error) {
	var out T
	err := withFreshView(ctx, func(ctx context.Context) error {
		var err error
		out, err = call(ctx)
		return err
	})
	return out, err
}

// freshAttempts is how many times a call is decided with a view read
// afresh before the store's ErrStaleView is given to the caller.
const freshAttempts = 3
