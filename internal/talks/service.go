package talks

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Service is the talks service as users see it. Every method acts for the
// user in ctx (NewContextWithUser) and enforces the access rules:
//
//   - Someone who is not a member of a talk is told that the talk, and
//     everything in it, does not exist (ENOTFOUND).
//   - A member sees a track if View.CanSeeTrack says so; any other track
//     does not exist for it (ENOTFOUND, never EFORBIDDEN), and lists and
//     event logs leave it and its events out.
//   - A member that may see something but not change it gets EFORBIDDEN.
//
// A method called without a user returns EUNAUTHORIZED. Service is safe for
// concurrent use if its Store is.
type Service struct {
	store Store
	clock Clock
	acct  accountState // account.go
	views viewCache    // snapshots of talks' members and tracks
	heads headReads    // coalesced reads of talks' heads (eventcache.go)
	tails eventTails   // the latest events of talks (eventcache.go)
	texts textCache    // proposals and versions (textcache.go)
}

// NewService returns a Service over store that stamps events with clock.
func NewService(store Store, clock Clock) *Service {
	if clock == nil {
		clock = SystemClock
	}
	s := &Service{store: store, clock: clock}
	if a, ok := store.(Appender); ok {
		a.OnAppend(s.appended)
	}
	return s
}

// Appender is a Store that reports the events each commit appended, so
// that a Service keeps its latest events without reading them back.
type Appender interface {
	// OnAppend makes the store call fn with the events of each commit,
	// in the order they were appended, once they are durable and before
	// their writes return. fn must not block, nor keep evs' slice; the
	// events themselves are never changed again. A later call replaces
	// fn.
	OnAppend(fn func(evs []*Event))
}

// View is what one member may see of one talk. Service builds it once per
// call from the member's membership, and every read and write asks it. A
// View is never changed once built; views of the same talk at the same
// point in its log share one read-only snapshot of its members and tracks.
type View struct {
	User   *User
	Talk   *Talk
	Member *Member // the user's membership

	snap *snapshot
}

// snapshot is every member and track of one talk as of event head, and
// the talk itself once a view has read it. It is read-only once built, so
// views and goroutines may share it.
type snapshot struct {
	head    int64
	talk    *Talk             // nil until read
	members map[int64]*Member // by ID, those removed too (their names)
	byUser  map[int64]*Member // by user ID, not those removed
	tracks  map[int64]*Track  // by ID
	order   []*Track          // the same, in ascending ID order

	// keys caches signers' keys (*SignerKey by signer) as read since the
	// snapshot was loaded. A member.key event, which any change of a key
	// appends, makes Service load a new snapshot (keepsSnapshot), so a
	// key kept here is the signer's key at head. Snapshots carried
	// forward share it.
	keys *sync.Map

	// mandates caches envoys' mandates (*Mandate by envoy ID) as read
	// since the snapshot was loaded or last carried forward over a
	// mandate.saved or preferences.saved event, each of which starts an
	// empty one. A write still checks inside its transaction that the
	// mandate it was checked against is the current one (Stamp.Mandate).
	mandates *sync.Map
}

func newSnapshot(head int64, members []*Member, tracks []*Track) *snapshot {
	sn := &snapshot{head: head, members: make(map[int64]*Member, len(members)), byUser: make(map[int64]*Member, len(members)),
		tracks: make(map[int64]*Track, len(tracks)), order: tracks, keys: new(sync.Map),
		mandates: new(sync.Map)}
	for _, m := range members {
		sn.members[m.ID] = m
		if !m.Removed {
			sn.byUser[m.UserID] = m
		}
	}
	for _, tr := range tracks {
		sn.tracks[tr.ID] = tr
	}
	return sn
}

// member returns member id of the talk, or nil if there is none or it was
// removed.
func (sn *snapshot) member(id int64) *Member {
	if m := sn.members[id]; m != nil && !m.Removed {
		return m
	}
	return nil
}

// viewCacheSize bounds the number of talks whose snapshot Service keeps.
const viewCacheSize = 4096

// viewCache keeps the latest snapshot of each recently viewed talk, and
// the talk of each recently used track.
type viewCache struct {
	mu     sync.Mutex
	m      map[int64]*snapshot // by talk ID
	talkOf map[int64]int64     // talk ID by track ID
}

// trackTalk returns the talk of track id, if kept. A track never moves to
// another talk and is never deleted, so this never goes stale.
func (c *viewCache) trackTalk(id int64) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	talkID, ok := c.talkOf[id]
	return talkID, ok
}

// putTrackTalk keeps talkID as the talk of track id.
func (c *viewCache) putTrackTalk(id, talkID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.talkOf == nil || len(c.talkOf) >= 4*viewCacheSize {
		c.talkOf = make(map[int64]int64)
	}
	c.talkOf[id] = talkID
}

// get returns the latest snapshot kept of talk talkID, or nil.
func (c *viewCache) get(talkID int64) *snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[talkID]
}

// keepsSnapshot lists the event types that change no member and no track:
// a snapshot stays exact across them. Any other type, including one added
// later, makes Service reload the snapshot.
var keepsSnapshot = map[string]bool{
	EventTalkUpdated:       true,
	EventPartyAdded:        true,
	EventMessagePosted:     true,
	EventMessageRetracted:  true,
	EventInvitationCreated: true,
	EventInvitationRevoked: true,
	EventProposalCreated:   true,
	EventVersionProposed:   true,
	EventAnswerGiven:       true,
	EventAnswerWithdrawn:   true,
	EventTalkAgreed:        true,
	EventMeetingScheduled:  true,
	EventMeetingUpdated:    true,

	EventDisclosureProposed:  true,
	EventDisclosureConsented: true,
	EventProposalCarried:     true,
	EventPreferencesSaved:    true,
	EventMandateSaved:        true,

	EventStakeholderAdded:  true,
	EventRedLinesSaved:     true,
	EventRatificationGiven: true,
	EventTalkRatified:      true,
}

// keepsTalk lists the event types that leave the talk's own row (title,
// description, status) as it was: a snapshot carried forward across them
// keeps its talk. Any other type makes Service read the talk again.
var keepsTalk = map[string]bool{
	EventPartyAdded:        true,
	EventMessagePosted:     true,
	EventMessageRetracted:  true,
	EventInvitationCreated: true,
	EventInvitationRevoked: true,
	EventProposalCreated:   true,
	EventVersionProposed:   true,
	EventAnswerGiven:       true,
	EventAnswerWithdrawn:   true,
	EventMeetingScheduled:  true,
	EventMeetingUpdated:    true,

	EventDisclosureProposed:  true,
	EventDisclosureConsented: true,
	EventProposalCarried:     true,
	EventPreferencesSaved:    true,
	EventMandateSaved:        true,

	EventStakeholderAdded:  true,
	EventRedLinesSaved:     true,
	EventRatificationGiven: true,
	EventMemberKey:         true,
}

// maxSnapshotCatchUp is the most events Service reads to carry a snapshot
// forward rather than reload it. A store that groups commits moves a
// talk's head by a whole batch at once (PostgreSQL: up to 64 writes of one
// to three events each), and a reload reads the members, the tracks, the
// talk and then every signer's key again, so catching up over a batch
// (from the event tail, read once for all callers) is the cheaper.
const maxSnapshotCatchUp = 256

// put keeps sn as the snapshot of talk talkID unless a later one is kept.
func (c *viewCache) put(talkID int64, sn *snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64]*snapshot)
	}
	if old := c.m[talkID]; old != nil {
		if old.head > sn.head {
			return
		}
	} else if len(c.m) >= viewCacheSize {
		for id := range c.m { // evict an arbitrary talk
			delete(c.m, id)
			break
		}
	}
	c.m[talkID] = sn
}

// NewView returns the view of member me of talk t, which has the given
// members and tracks.
func NewView(u *User, t *Talk, me *Member, members []*Member, tracks []*Track) *View {
	return &View{User: u, Talk: t, Member: me, snap: newSnapshot(0, members, tracks)}
}

// CanSeeTrack reports whether the member may see track t: t is the talk's
// official track, or the member is on t, or the member is the principal
// of a party that has a member on t. This is the one rule; everything
// else derives from it.
func (v *View) CanSeeTrack(t *Track) bool {
	switch {
	case t == nil || t.TalkID != v.Talk.ID:
		return false
	case t.HasMember(v.Member.ID):
		return true
	case v.Member.Role != RolePrincipal:
		return false
	}
	for _, id := range t.MemberIDs {
		if m := v.snap.member(id); m != nil && m.PartyID == v.Member.PartyID {
			return true
		}
	}
	return false
}

// CanSeeEvent reports whether the member may see event e: a talk-wide event
// of its talk, or an event of a track it may see. A party-scoped event
// (partyScoped: a save of a party's private preferences) is seen only by
// those who may read that party's preferences (CanReadPreferences), not
// by other parties and not by facilitators. This is the one place that
// scopes events to a party.
func (v *View) CanSeeEvent(e *Event) bool {
	if e.TalkID != v.Talk.ID || hiddenFromMembers[e.Type] {
		return false
	} else if party, ok := eventParty(e); ok {
		return v.CanReadPreferences(party)
	} else if e.TrackID == 0 {
		return true
	}
	return v.CanSeeTrack(v.snap.tracks[e.TrackID])
}

// Tracks returns the tracks the member may see, in ascending ID order. They
// are copies, which the caller may change.
func (v *View) Tracks() []*Track {
	var a []*Track
	for _, t := range v.snap.order {
		if v.CanSeeTrack(t) {
			a = append(a, cloneTrack(t))
		}
	}
	return a
}

// Track returns (a copy of) track id if the member may see it, or ENOTFOUND.
func (v *View) Track(id int64) (*Track, error) {
	if t := v.snap.tracks[id]; v.CanSeeTrack(t) {
		return cloneTrack(t), nil
	}
	return nil, errTrackNotFound
}

func cloneTrack(t *Track) *Track {
	c := *t
	c.MemberIDs = slices.Clone(t.MemberIDs)
	return &c
}

// CanManage reports whether the member may shape the talk (add parties,
// members and tracks): the convener and facilitators may.
func (v *View) CanManage() bool {
	return v.Member.Role == RoleFacilitator || v.Talk.ConvenerID == v.User.ID
}

var (
	errTalkNotFound    = Errorf(ENOTFOUND, "Talk not found.")
	errTrackNotFound   = Errorf(ENOTFOUND, "Track not found.")
	errMessageNotFound = Errorf(ENOTFOUND, "Message not found.")
)

// stamp returns the Stamp of a write by v's member, decided by v: the
// store refuses it with ErrStaleView if the talk changed since v in a way
// that could change the decision (ViewCheck).
func (s *Service) stamp(v *View) Stamp {
	return Stamp{ActorID: v.User.ID, Time: s.clock.Now(), View: v.viewCheck()}
}

func currentUser(ctx context.Context) (*User, error) {
	u := UserFromContext(ctx)
	if u == nil || u.ID == 0 {
		return nil, Errorf(EUNAUTHORIZED, "You must be signed in.")
	}
	return u, nil
}

// View returns what the acting user may see of talk talkID. ENOTFOUND if
// there is no such talk or the user is not a member of it.
func (s *Service) View(ctx context.Context, talkID int64) (*View, error) {
	u, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx, talkID)
	if err != nil {
		return nil, err
	}
	me := sn.byUser[u.ID]
	if me == nil {
		return nil, errTalkNotFound
	}
	t := sn.talk
	if t == nil {
		if t, err = s.store.FindTalkByID(ctx, talkID); err != nil {
			return nil, err
		}
		if sn.head > 0 {
			withTalk := *sn
			withTalk.talk = t
			s.views.put(talkID, &withTalk)
		}
	}
	m := *me
	return &View{User: u, Talk: cloneTalk(t), Member: &m, snap: sn}, nil
}

// cloneTalk returns a copy of t for one view. The issues of its space are
// shared: no one changes a talk's space once it is created.
func cloneTalk(t *Talk) *Talk {
	c := *t
	if t.Space != nil {
		sp := *t.Space
		sp.Issues = slices.Clone(sp.Issues)
		c.Space = &sp
	}
	return &c
}

// snapshot returns the members and tracks of talk talkID as they are now.
// It reads the head of the talk's log first and reuses the snapshot kept
// for that head, or carries the kept one forward to the head if the few
// events since are all of types in keepsSnapshot; otherwise it loads one,
// which is then at least as recent as the head, and keeps it. Every change
// of members or tracks appends an event, so a snapshot tagged with the
// current head is exact.
func (s *Service) snapshot(ctx context.Context, talkID int64) (*snapshot, error) {
	if o := optimisticFrom(ctx); o != nil {
		if sn := o.kept(&s.views, talkID); sn != nil {
			return sn, nil
		}
	}
	head, err := s.heads.read(ctx, talkID, func(ctx context.Context) (int64, error) { return s.store.TalkHead(ctx, talkID) })
	if err != nil {
		return nil, err
	}
	if old := s.views.get(talkID); head > 0 && old != nil {
		if old.head >= head {
			// As of the head read, or later: this process's writes carried
			// it past the head that a read transaction begun before them
			// saw. Either way it holds every change made before the call.
			return old, nil
		}
		// Carry old forward if none of the events since changed members
		// or tracks. The events the store reported are at hand; others
		// are read back, a few at most.
		evs, ok := s.tails.get(talkID, old.head, head)
		if n := head - old.head; !ok && n <= maxSnapshotCatchUp {
			var err error
			if evs, err = s.events(ctx, talkID, old.head, head, 0); err != nil {
				return nil, err
			}
			ok = true
		}
		if n := head - old.head; ok {
			keep, keepTalk, keepMandates := len(evs) == int(n), true, true
			for i, e := range evs {
				keep = keep && e.ID == old.head+1+int64(i) && keepsSnapshot[e.Type]
				keepTalk = keepTalk && keepsTalk[e.Type]
				keepMandates = keepMandates && e.Type != EventMandateSaved && e.Type != EventPreferencesSaved
			}
			if keep {
				sn := *old // shares old's read-only maps
				sn.head = head
				if !keepTalk {
					sn.talk = nil
				}
				if !keepMandates {
					sn.mandates = new(sync.Map)
				}
				s.views.put(talkID, &sn)
				return &sn, nil
			}
		}
	}
	members, err := s.store.FindMembers(ctx, MemberFilter{TalkID: talkID})
	if err != nil {
		return nil, err
	}
	tracks, err := s.store.FindTracks(ctx, TrackFilter{TalkID: talkID})
	if err != nil {
		return nil, err
	}
	sn := newSnapshot(head, members, tracks)
	if head > 0 {
		s.views.put(talkID, sn)
	}
	return sn, nil
}

// advance carries the snapshot of v's talk over the n events that a write
// made with v just appended (a, as the store reported it), if they follow
// the snapshot's head directly: then no one else wrote in between, and the
// snapshot stays exact, since the caller's events are of types in both
// keepsSnapshot and keepsTalk. The next view of the talk then finds its
// snapshot at the head and need not read the events back.
//
// With checked set, the store has also checked (Stamp.View) that every
// event between the snapshot's head and the write's is of a type in
// ViewKeepingTypes, so the snapshot is exact after them too, and is carried
// over them and the write's own.
func (s *Service) advance(v *View, a *Appended, n int64, checked bool) {
	sn := v.snap
	if a == nil || sn.head == 0 || a.Last-a.First+1 != n || a.First <= sn.head || (a.First != sn.head+1 && !checked) {
		return
	}
	if cur := s.views.get(v.Talk.ID); cur != nil && cur.head == sn.head {
		sn = cur // it may hold the talk, which v's snapshot did not
	}
	next := *sn // shares sn's read-only maps
	next.head = a.Last
	s.views.put(v.Talk.ID, &next)
}

// viewOfTrack returns the view of the talk of track id and the track, or
// notFound if the track does not exist for the acting user, whether or
// not the user belongs to its talk.
func (s *Service) viewOfTrack(ctx context.Context, id int64, notFound error) (*View, *Track, error) {
	if _, err := currentUser(ctx); err != nil {
		return nil, nil, err
	}
	talkID, ok := s.views.trackTalk(id)
	if !ok {
		t, err := s.store.FindTrackByID(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil, notFound
		} else if err != nil {
			return nil, nil, err
		}
		talkID = t.TalkID
		s.views.putTrackTalk(id, talkID)
	}
	v, err := s.View(ctx, talkID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	t, err := v.Track(id)
	if err != nil {
		return nil, nil, notFound
	}
	return v, t, nil
}

// CreateTalk creates t convened by the acting user, who joins it as its
// facilitator; the talk gets its official track. Any signed-in user may.
func (s *Service) CreateTalk(ctx context.Context, t *Talk) error {
	u, err := currentUser(ctx)
	if err != nil {
		return err
	}
	t.ConvenerID = u.ID
	t.Status = StatusOpen
	if err := t.Validate(); err != nil {
		return err
	}
	st := Stamp{ActorID: u.ID, Time: s.clock.Now()}
	if err := s.store.CreateTalk(ctx, t, st); err != nil {
		return err
	}
	if ms, err := s.store.FindMembers(ctx, MemberFilter{TalkID: t.ID}); err == nil && len(ms) == 1 {
		s.giveKeyOnJoin(ctx, t.ID, MemberSigner(ms[0].ID), st)
	}
	return nil
}

// FindTalkByID returns talk id if the acting user is a member, or ENOTFOUND.
func (s *Service) FindTalkByID(ctx context.Context, id int64) (*Talk, error) {
	v, err := s.View(ctx, id)
	if err != nil {
		return nil, err
	}
	return v.Talk, nil
}

// FindTalks returns the talks of which the acting user is a member and
// that match f; f.UserID is ignored.
func (s *Service) FindTalks(ctx context.Context, f TalkFilter) ([]*Talk, error) {
	u, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	f.UserID = &u.ID
	return s.store.FindTalks(ctx, f)
}

// UpdateTalk changes talk id. The convener and facilitators may.
//
// The status moves between open and closed either way. No one sets it to
// agreed (EINVALID): a talk is agreed when every party accepts one version
// of the text (AnswerVersion), in the write that records the last
// acceptance. An agreed talk may be closed, but neither it nor a closed
// talk that was agreed opens again (ECONFLICT): its agreement stands.
// Sending the status a talk already has changes nothing and is allowed.
func (s *Service) UpdateTalk(ctx context.Context, id int64, upd TalkUpdate) (*Talk, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Talk, error) { return s.updateTalk(ctx, id, upd) })
}

func (s *Service) updateTalk(ctx context.Context, id int64, upd TalkUpdate) (*Talk, error) {
	v, err := s.View(ctx, id)
	if err != nil {
		return nil, err
	} else if !v.CanManage() {
		return nil, Errorf(EFORBIDDEN, "Only the convener or a facilitator may change the talk.")
	}
	if upd.Title != nil && strings.TrimSpace(*upd.Title) == "" {
		return nil, Errorf(EINVALID, "Talk title required.")
	}
	if upd.Status != nil && *upd.Status != v.Talk.Status {
		switch *upd.Status {
		case StatusClosed:
		case StatusAgreed:
			return nil, Errorf(EINVALID, "A talk cannot be set to agreed: it is agreed when every party accepts the same version of the text.")
		case StatusOpen:
			if _, err := s.store.FindAgreement(ctx, id); err == nil {
				return nil, Errorf(ECONFLICT, "The talk has an agreement; it cannot open again, unless a stakeholder rejects the agreement and the talk is reopened.")
			} else if ErrorCode(err) != ENOTFOUND {
				return nil, err
			}
		default:
			return nil, Errorf(EINVALID, "Talk status %q is not open or closed.", *upd.Status)
		}
	}
	return s.store.UpdateTalk(ctx, id, upd, s.stamp(v))
}

// AddParty adds party p to talk p.TalkID. The convener and facilitators may.
func (s *Service) AddParty(ctx context.Context, p *Party) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.addParty(ctx, p) })
}

func (s *Service) addParty(ctx context.Context, p *Party) error {
	v, err := s.View(ctx, p.TalkID)
	if err != nil {
		return err
	} else if !v.CanManage() {
		return Errorf(EFORBIDDEN, "Only the convener or a facilitator may add a party.")
	} else if strings.TrimSpace(p.Name) == "" {
		return Errorf(EINVALID, "Party name required.")
	}
	return s.store.AddParty(ctx, p, s.stamp(v))
}

// FindParties returns the parties of talk talkID, which every member sees.
func (s *Service) FindParties(ctx context.Context, talkID int64) ([]*Party, error) {
	if _, err := s.View(ctx, talkID); err != nil {
		return nil, err
	}
	return s.store.FindParties(ctx, PartyFilter{TalkID: talkID})
}

// AddMember adds m to talk m.TalkID. The convener and facilitators may add
// anyone; a principal may add members to its own party.
func (s *Service) AddMember(ctx context.Context, m *Member) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.addMember(ctx, m) })
}

func (s *Service) addMember(ctx context.Context, m *Member) error {
	v, err := s.View(ctx, m.TalkID)
	if err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if !v.CanManage() && (v.Member.Role != RolePrincipal || m.PartyID != v.Member.PartyID) {
		return Errorf(EFORBIDDEN, "Only the convener, a facilitator or the party's principal may add this member.")
	}
	if err := s.checkNotStakeholder(ctx, m.TalkID, m.UserID); err != nil {
		return err
	}
	st := s.stamp(v)
	if err := s.store.AddMember(ctx, m, st); err != nil {
		return err
	}
	s.giveKeyOnJoin(ctx, m.TalkID, MemberSigner(m.ID), st)
	return nil
}

// ErrLastPrincipal refuses to change the role of a party's last principal,
// or to take it off the talk: a party keeps one, who sees all its tracks
// and sets its mandates.
var ErrLastPrincipal = Errorf(ECONFLICT, "This is the party's last principal: make another member its principal first.")

// ChangeMemberRole gives member memberID of talk talkID role r: principal,
// envoy, advisor or observer. The convener and facilitators may change any
// party member's role, and a principal those of its own party's members,
// its own included, but not so as to leave its party without a principal
// (ErrLastPrincipal). A facilitator's role does not change. What the
// member may see and do follows at once: an envoy made an advisor no
// longer answers for its party, a member made principal sees every track
// its party's members are on, and a principal that is one no longer has
// the invitations it made and no one has used revoked, as on leaving the
// talk (it may no longer make them).
func (s *Service) ChangeMemberRole(ctx context.Context, talkID, memberID int64, r Role) (*Member, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Member, error) { return s.changeMemberRole(ctx, talkID, memberID, r) })
}

func (s *Service) changeMemberRole(ctx context.Context, talkID, memberID int64, r Role) (*Member, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	m := v.snap.member(memberID)
	if m == nil {
		return nil, Errorf(EINVALID, "Member %d is not in this talk.", memberID)
	} else if !r.Valid() || r == RoleFacilitator {
		return nil, Errorf(EINVALID, "Role %q is not a role in a party: principal, envoy, advisor or observer.", r)
	} else if m.PartyID == 0 {
		return nil, Errorf(EINVALID, "A facilitator belongs to no party; its role does not change.")
	} else if !v.MayManageMember(m) {
		return nil, Errorf(EFORBIDDEN, "Only the convener, a facilitator or the member's principal may change its role.")
	}
	if err := s.store.ChangeMemberRole(ctx, talkID, memberID, r, s.stamp(v)); err != nil {
		return nil, err
	}
	changed := *m
	changed.Role = r
	return &changed, nil
}

// FindMembers returns the members of talk talkID, which every member sees,
// but those removed.
func (s *Service) FindMembers(ctx context.Context, talkID int64) ([]*Member, error) {
	if _, err := s.View(ctx, talkID); err != nil {
		return nil, err
	}
	all, err := s.store.FindMembers(ctx, MemberFilter{TalkID: talkID})
	return slices.DeleteFunc(all, func(m *Member) bool { return m.Removed }), err
}

// RemoveMember takes member memberID, of a party, off talk talkID: the
// convener and facilitators any, a principal one of its own party, and a
// member itself (it leaves); but not its party's last principal
// (ErrLastPrincipal). A facilitator is not removed. From then on the talk
// does not exist for it; it is on no track, the invitations it made and
// that no one has used are revoked, and what it wrote and answered stays,
// under its name. A back-channel it was alone on passes to its party's
// principals, who saw it through it: they are put on it, so no track is
// left that no one sees. Added again (AddMember, an invitation), it is
// the same member once more.
func (s *Service) RemoveMember(ctx context.Context, talkID, memberID int64) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.removeMember(ctx, talkID, memberID) })
}

func (s *Service) removeMember(ctx context.Context, talkID, memberID int64) error {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return err
	}
	m := v.snap.member(memberID)
	if m == nil {
		return Errorf(EINVALID, "Member %d is not in this talk.", memberID)
	} else if m.PartyID == 0 {
		return Errorf(EINVALID, "A facilitator is not removed from a talk.")
	} else if m.ID != v.Member.ID && !v.MayManageMember(m) {
		return Errorf(EFORBIDDEN, "Only the convener, a facilitator, the member's principal or the member itself may take it off the talk.")
	}
	return s.store.RemoveMember(ctx, talkID, memberID, s.stamp(v))
}

// CreateTrack creates back-channel t in talk t.TalkID. The convener and
// facilitators may. The track is visible to its members and their
// principals, which need not include its creator.
func (s *Service) CreateTrack(ctx context.Context, t *Track) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.createTrack(ctx, t) })
}

func (s *Service) createTrack(ctx context.Context, t *Track) error {
	v, err := s.View(ctx, t.TalkID)
	if err != nil {
		return err
	} else if !v.CanManage() {
		return Errorf(EFORBIDDEN, "Only the convener or a facilitator may open a track.")
	} else if strings.TrimSpace(t.Name) == "" {
		return Errorf(EINVALID, "Track name required.")
	}
	t.Kind = TrackBackchannel
	return s.store.CreateTrack(ctx, t, s.stamp(v))
}

// AddTrackMember puts member memberID on back-channel trackID. Of those who
// may see the track, the convener and facilitators may add any member of
// the talk, and a principal may add a member of its own party.
func (s *Service) AddTrackMember(ctx context.Context, trackID, memberID int64) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.addTrackMember(ctx, trackID, memberID) })
}

func (s *Service) addTrackMember(ctx context.Context, trackID, memberID int64) error {
	v, _, m, err := s.backchannelMember(ctx, trackID, memberID)
	if err != nil {
		return err
	}
	if !v.MayManageMember(m) {
		return Errorf(EFORBIDDEN, "Only the convener, a facilitator or the member's principal may add it to a track.")
	}
	return s.store.AddTrackMember(ctx, trackID, memberID, s.stamp(v))
}

// RemoveTrackMember takes member memberID off back-channel trackID. Of
// those who may see the track, the convener and facilitators may take off
// any member, a principal a member of its own party, and a member itself
// (it leaves), but not the last member: no one would see the track. From
// then on the track does not exist for that member, nor for its principal
// if no one else of its party is on it.
func (s *Service) RemoveTrackMember(ctx context.Context, trackID, memberID int64) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.removeTrackMember(ctx, trackID, memberID) })
}

func (s *Service) removeTrackMember(ctx context.Context, trackID, memberID int64) error {
	v, t, m, err := s.backchannelMember(ctx, trackID, memberID)
	if err != nil {
		return err
	}
	if v.Member.ID != memberID && !v.MayManageMember(m) {
		return Errorf(EFORBIDDEN, "Only the convener, a facilitator, the member's principal or the member itself may take it off a track.")
	} else if !slices.Contains(t.MemberIDs, memberID) {
		return Errorf(ECONFLICT, "Member %d is not on this track.", memberID)
	} else if len(t.MemberIDs) == 1 {
		return Errorf(ECONFLICT, "The last member cannot leave a back-channel: no one would see it any more.")
	}
	return s.store.RemoveTrackMember(ctx, trackID, memberID, s.stamp(v))
}

// backchannelMember returns the view of the talk of back-channel trackID,
// the track, and member memberID of the talk, for a call that puts the
// member on the track or takes it off: ENOTFOUND if the user may not see
// the track, EINVALID for the official track or a member not in the talk.
func (s *Service) backchannelMember(ctx context.Context, trackID, memberID int64) (*View, *Track, *Member, error) {
	v, t, err := s.viewOfTrack(ctx, trackID, errTrackNotFound)
	if err != nil {
		return nil, nil, nil, err
	}
	m := v.snap.member(memberID)
	if m == nil {
		return nil, nil, nil, Errorf(EINVALID, "Member %d is not in this talk.", memberID)
	} else if t.Kind == TrackOfficial {
		return nil, nil, nil, Errorf(EINVALID, "Every member is on the official track.")
	}
	return v, t, m, nil
}

// MayManageMember reports whether the member may change m's role, or put
// m on a back-channel it sees or take m off one: the convener and
// facilitators any member, a principal a member of its own party. (A
// member may also leave a back-channel itself: Service.RemoveTrackMember.)
func (v *View) MayManageMember(m *Member) bool {
	return v.CanManage() || v.Member.Role == RolePrincipal && m.PartyID == v.Member.PartyID
}

// FindTrackByID returns track id if the acting user may see it, or ENOTFOUND.
func (s *Service) FindTrackByID(ctx context.Context, id int64) (*Track, error) {
	_, t, err := s.viewOfTrack(ctx, id, errTrackNotFound)
	return t, err
}

// FindTracks returns the tracks of talk talkID that the acting user may see.
func (s *Service) FindTracks(ctx context.Context, talkID int64) ([]*Track, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	return v.Tracks(), nil
}

// PostMessage posts m in track m.TrackID as the acting member, which must
// be on the track and not an observer (View.canPost). A principal that
// sees a back-channel through its party's members reads it but does not
// post.
func (s *Service) PostMessage(ctx context.Context, m *Message) error {
	return withKeptView(ctx, func(ctx context.Context) error { return s.postMessage(ctx, m) })
}

func (s *Service) postMessage(ctx context.Context, m *Message) error {
	v, t, err := s.viewOfTrack(ctx, m.TrackID, errTrackNotFound)
	if err != nil {
		return err
	}
	if err := v.canPost(t); err != nil {
		return err
	}
	if strings.TrimSpace(m.Body) == "" {
		return Errorf(EINVALID, "Message body required.")
	} else if len(m.Body) > MaxMessageLen {
		return Errorf(EINVALID, "Message longer than %d bytes.", MaxMessageLen)
	}
	m.AuthorID = v.Member.ID
	m.Retracted = false
	st := s.stamp(v)
	st.Appended = new(Appended)
	storing(ctx)
	if err := s.store.PostMessage(ctx, m, st); err != nil {
		return err
	}
	s.advance(v, st.Appended, 1, st.View != nil)
	return nil
}

// RetractMessage retracts message id and returns it, marked retracted
// (its TrackID tells the caller which track, and so which talk, changed).
// Only its author may; the message stays, marked retracted. ECONFLICT if
// it is already retracted.
func (s *Service) RetractMessage(ctx context.Context, id int64) (*Message, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Message, error) { return s.retractMessage(ctx, id) })
}

func (s *Service) retractMessage(ctx context.Context, id int64) (*Message, error) {
	if _, err := currentUser(ctx); err != nil {
		return nil, err
	}
	msg, err := s.store.FindMessageByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errMessageNotFound
	} else if err != nil {
		return nil, err
	}
	v, _, err := s.viewOfTrack(ctx, msg.TrackID, errMessageNotFound)
	if err != nil {
		return nil, err
	}
	if msg.AuthorID != v.Member.ID {
		return nil, Errorf(EFORBIDDEN, "Only its author may retract a message.")
	} else if msg.Retracted {
		return nil, Errorf(ECONFLICT, "Message already retracted.")
	}
	st := s.stamp(v)
	if err := s.store.RetractMessage(ctx, id, st); err != nil {
		return nil, err
	}
	msg.Retracted = true
	return msg, nil
}

// FindMessages returns the messages of track f.TrackID if the acting user
// may see the track, or ENOTFOUND.
func (s *Service) FindMessages(ctx context.Context, f MessageFilter) ([]*Message, error) {
	if _, _, err := s.viewOfTrack(ctx, f.TrackID, errTrackNotFound); err != nil {
		return nil, err
	}
	return s.store.FindMessages(ctx, f)
}

// FindEvents returns the events of talk f.TalkID that the acting user may
// see (View.CanSeeEvent), in ascending order, at most f.Limit of them if
// f.Limit > 0 (the last ones if f.Latest), only those before f.BeforeSeq
// if set, and only those of f.Type and f.TrackID if set (which the store
// selects). The IDs of the events left out are gaps in the sequence.
// ENOTFOUND if f.RequireTrack is set and the user may not see it.
// It returns the events up to the talk's head as of the call, read once
// for many callers and kept (eventcache.go): they are shared, and callers
// must not change them.
func (s *Service) FindEvents(ctx context.Context, f EventFilter) ([]*Event, error) {
	v, err := s.View(ctx, f.TalkID)
	if err != nil {
		return nil, err
	} else if f.RequireTrack != 0 {
		if _, err := v.Track(f.RequireTrack); err != nil {
			return nil, err
		}
	}
	// The view is exact as of its head: later events wait for the next
	// call, which a write's wake-up brings.
	head := v.snap.head
	if f.BeforeSeq > 0 {
		head = min(head, f.BeforeSeq-1)
	}
	if f.Latest && f.Limit > 0 {
		return s.latestEvents(ctx, v, f, head)
	}
	var out []*Event
	for f.AfterSeq < head {
		var evs []*Event
		var err error
		if f.Type != "" || f.TrackID != 0 {
			// Selected by the store, which may find none up to head.
			evs, err = s.store.FindEvents(ctx, EventFilter{TalkID: f.TalkID, AfterSeq: f.AfterSeq, Limit: eventPage, Type: f.Type, TrackID: f.TrackID})
			for i, e := range evs {
				if e.ID > head {
					evs = evs[:i]
					break
				}
			}
		} else {
			evs, err = s.events(ctx, f.TalkID, f.AfterSeq, head, eventPage)
		}
		if err != nil {
			return nil, err
		} else if len(evs) == 0 {
			return out, nil
		}
		for _, e := range evs {
			if v.CanSeeEvent(e) {
				out = append(out, e)
				if f.Limit > 0 && len(out) == f.Limit {
					return out, nil
				}
			}
		}
		f.AfterSeq = evs[len(evs)-1].ID
	}
	return out, nil
}

// eventPage is how many events FindEvents reads from the store at a time.
const eventPage = 500

// latestEvents is FindEvents for f.Latest: it reads back from head, a
// page at a time, until it has the last f.Limit events after f.AfterSeq
// that v may see.
func (s *Service) latestEvents(ctx context.Context, v *View, f EventFilter, head int64) ([]*Event, error) {
	var out []*Event // the latest first
	for before := head + 1; len(out) < f.Limit && before > f.AfterSeq+1; {
		evs, err := s.store.FindEvents(ctx, EventFilter{TalkID: f.TalkID, AfterSeq: f.AfterSeq, BeforeSeq: before,
			Limit: eventPage, Type: f.Type, TrackID: f.TrackID, Latest: true})
		if err != nil {
			return nil, err
		} else if len(evs) == 0 {
			break
		}
		for i := len(evs) - 1; i >= 0 && len(out) < f.Limit; i-- {
			if v.CanSeeEvent(evs[i]) {
				out = append(out, evs[i])
			}
		}
		before = evs[0].ID
	}
	slices.Reverse(out)
	return out, nil
}
