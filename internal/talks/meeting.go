package talks

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Meetings: a Meeting belongs to a track, and only those who may see the
// track see it. It is scheduled, then held or cancelled:
//
//	scheduled ──► held       (minutes, attendance and duration recorded,
//	    │  ▲                  and still correctable afterwards)
//	    ▼  │
//	 cancelled               (changes only by being rescheduled)
//
// A held meeting is never cancelled or scheduled again, and a cancelled
// one is brought back only by setting its status to scheduled, which may
// come with a new start in the same update. Minutes belong to a held
// meeting: they may be set in the update that marks it held or later, not
// before. Scheduling and updating are events of the meeting's track
// (meeting.scheduled, meeting.updated), so they are as confidential as the
// track, and whoever may post a message in the track may schedule and
// update its meetings (View.canPost).

// Event types of meetings. Both belong to the meeting's track.
const (
	EventMeetingScheduled = "meeting.scheduled"
	EventMeetingUpdated   = "meeting.updated"
)

// MeetingStatus is the state of a meeting.
type MeetingStatus string

// The states of a meeting.
const (
	MeetingStatusScheduled MeetingStatus = "scheduled"
	MeetingStatusHeld      MeetingStatus = "held"
	MeetingStatusCancelled MeetingStatus = "cancelled"
)

// Valid reports whether s is one of the defined states.
func (s MeetingStatus) Valid() bool {
	return s == MeetingStatusScheduled || s == MeetingStatusHeld || s == MeetingStatusCancelled
}

// Limits on a meeting.
const (
	MaxMeetingTitleLen   = 200
	MaxMeetingPlaceLen   = 200
	MaxMeetingAgendaLen  = 16 << 10
	MaxMeetingMinutesLen = 64 << 10
	MaxMeetingDuration   = 24 * time.Hour
	MaxMeetingAttendees  = 1000
)

// Meeting is a meeting of a track: when and where, who attends, what it is
// about and, once held, its minutes.
type Meeting struct {
	ID      int64
	TalkID  int64
	TrackID int64
	Title   string
	Place   string

	// Start is when it begins (UTC, truncated to the microsecond) and
	// Duration how long it lasts, in whole minutes.
	Start    time.Time
	Duration time.Duration

	// Attendees lists member IDs in ascending order, each of a member who
	// may see the track; nil for none.
	Attendees []int64

	Agenda  string
	Minutes string
	Status  MeetingStatus

	CreatedBy int64 // the user who scheduled it
	CreatedAt time.Time
	UpdatedAt time.Time // of the last change; CreatedAt until then
}

// MeetingUpdate changes a meeting. Nil fields are left as they are; a
// non-nil Attendees replaces the list (an empty one clears it).
type MeetingUpdate struct {
	Title     *string
	Place     *string
	Start     *time.Time
	Duration  *time.Duration
	Attendees *[]int64
	Agenda    *string
	Minutes   *string
	Status    *MeetingStatus
}

// MeetingFilter selects meetings ordered by start, then ID: those of track
// TrackID if it is set, else those of talk TalkID.
type MeetingFilter struct {
	TalkID  int64
	TrackID int64
}

// MeetingScheduled is the payload of a meeting.scheduled event, whose track
// is the meeting's. Its status is scheduled, its scheduler the event's
// actor and its creation time the event's time.
type MeetingScheduled struct {
	MeetingID       int64     `json:"meeting_id"`
	Title           string    `json:"title"`
	Place           string    `json:"place,omitempty"`
	Start           time.Time `json:"start"`
	DurationMinutes int64     `json:"duration_minutes"`
	Attendees       []int64   `json:"attendees,omitempty"`
	Agenda          string    `json:"agenda,omitempty"`
}

// MeetingUpdated is the payload of a meeting.updated event. Absent fields
// are unchanged; attendees, if present, is the whole new list.
type MeetingUpdated struct {
	MeetingID       int64          `json:"meeting_id"`
	Title           *string        `json:"title,omitempty"`
	Place           *string        `json:"place,omitempty"`
	Start           *time.Time     `json:"start,omitempty"`
	DurationMinutes *int64         `json:"duration_minutes,omitempty"`
	Attendees       *[]int64       `json:"attendees,omitempty"`
	Agenda          *string        `json:"agenda,omitempty"`
	Minutes         *string        `json:"minutes,omitempty"`
	Status          *MeetingStatus `json:"status,omitempty"`
}

// NewMeetingUpdated returns the payload of the meeting.updated event of
// update upd to meeting id.
func NewMeetingUpdated(id int64, upd MeetingUpdate) MeetingUpdated {
	p := MeetingUpdated{MeetingID: id, Title: upd.Title, Place: upd.Place, Agenda: upd.Agenda, Minutes: upd.Minutes, Status: upd.Status}
	if upd.Start != nil {
		st := Timestamp(*upd.Start)
		p.Start = &st
	}
	if upd.Duration != nil {
		n := int64(*upd.Duration / time.Minute)
		p.DurationMinutes = &n
	}
	if upd.Attendees != nil {
		a := normaliseAttendees(*upd.Attendees)
		if a == nil {
			a = []int64{}
		}
		p.Attendees = &a
	}
	return p
}

// Update returns the update that payload p records.
func (p *MeetingUpdated) Update() MeetingUpdate {
	upd := MeetingUpdate{Title: p.Title, Place: p.Place, Start: p.Start, Attendees: p.Attendees,
		Agenda: p.Agenda, Minutes: p.Minutes, Status: p.Status}
	if p.DurationMinutes != nil {
		d := time.Duration(*p.DurationMinutes) * time.Minute
		upd.Duration = &d
	}
	return upd
}

// MeetingStore persists meetings. It is part of Store, with the same
// conventions: every write is one transaction that appends its event on
// the meeting's track; errors are *Error values. It knows nothing of who
// may see or change a meeting, but it does hold the status rule
// (CheckMeetingUpdate), under the talk's write lock, so that two
// concurrent updates cannot, say, both hold and cancel a meeting. It is
// safe for concurrent use.
type MeetingStore interface {
	// CreateMeeting stores m in track m.TrackID with status scheduled,
	// appending meeting.scheduled. It sets m.ID, m.TalkID, m.Status,
	// m.CreatedBy (s.ActorID), m.CreatedAt and m.UpdatedAt (s.Time), and
	// sorts m.Attendees. ENOTFOUND for an unknown track; EINVALID if an
	// attendee is not a member of the track's talk.
	CreateMeeting(ctx context.Context, m *Meeting, s Stamp) error

	// UpdateMeeting applies upd to meeting id, appending meeting.updated,
	// and returns the updated meeting, its UpdatedAt s.Time. ENOTFOUND
	// for an unknown meeting; ECONFLICT if CheckMeetingUpdate refuses the
	// update in the meeting's current state; EINVALID if an attendee is
	// not a member of the talk.
	UpdateMeeting(ctx context.Context, id int64, upd MeetingUpdate, s Stamp) (*Meeting, error)

	// FindMeetingByID returns the meeting with the given ID, or ENOTFOUND.
	FindMeetingByID(ctx context.Context, id int64) (*Meeting, error)

	// FindMeetings returns the meetings that match f, ordered by start,
	// then ID.
	FindMeetings(ctx context.Context, f MeetingFilter) ([]*Meeting, error)
}

var errMeetingNotFound = Errorf(ENOTFOUND, "Meeting not found.")

// normaliseAttendees returns ids sorted, without duplicates; nil if empty.
func normaliseAttendees(ids []int64) []int64 {
	if len(ids) == 0 {
		return nil
	}
	a := slices.Clone(ids)
	slices.Sort(a)
	return slices.Compact(a)
}

func checkMeetingTitle(title string) error {
	if strings.TrimSpace(title) == "" {
		return Errorf(EINVALID, "Meeting title required.")
	} else if len(title) > MaxMeetingTitleLen {
		return Errorf(EINVALID, "Meeting title longer than %d bytes.", MaxMeetingTitleLen)
	}
	return nil
}

func checkMeetingStart(t time.Time) error {
	if y := t.UTC().Year(); t.IsZero() || y < 1900 || y > 9999 {
		return Errorf(EINVALID, "Meeting start required, between the years 1900 and 9999.")
	}
	return nil
}

func checkMeetingDuration(d time.Duration) error {
	switch {
	case d <= 0:
		return Errorf(EINVALID, "Meeting duration must be more than zero.")
	case d > MaxMeetingDuration:
		return Errorf(EINVALID, "Meeting duration must be at most %d minutes (24 hours).", int64(MaxMeetingDuration/time.Minute))
	case d%time.Minute != 0:
		return Errorf(EINVALID, "Meeting duration must be a whole number of minutes.")
	}
	return nil
}

func checkMeetingText(field string, s string, max int) error {
	if len(s) > max {
		return Errorf(EINVALID, "Meeting %s longer than %d bytes.", field, max)
	}
	return nil
}

// Validate reports an EINVALID error, naming the field, for a meeting
// without a title, start or positive duration, with a duration over 24
// hours or not in whole minutes, with text over its limit, too many
// attendees, or an unknown status. Who attends is checked by Service.
func (m *Meeting) Validate() error {
	if err := checkMeetingTitle(m.Title); err != nil {
		return err
	} else if err := checkMeetingText("place", m.Place, MaxMeetingPlaceLen); err != nil {
		return err
	} else if err := checkMeetingStart(m.Start); err != nil {
		return err
	} else if err := checkMeetingDuration(m.Duration); err != nil {
		return err
	} else if err := checkMeetingText("agenda", m.Agenda, MaxMeetingAgendaLen); err != nil {
		return err
	} else if err := checkMeetingText("minutes", m.Minutes, MaxMeetingMinutesLen); err != nil {
		return err
	} else if len(m.Attendees) > MaxMeetingAttendees {
		return Errorf(EINVALID, "A meeting has at most %d attendees.", MaxMeetingAttendees)
	}
	if m.Status != "" && !m.Status.Valid() {
		return Errorf(EINVALID, "Meeting status %q is not scheduled, held or cancelled.", m.Status)
	}
	return nil
}

// Validate reports an EINVALID error, naming the field, for a change that
// would make an invalid meeting (see Meeting.Validate).
func (upd *MeetingUpdate) Validate() error {
	if upd.Title != nil {
		if err := checkMeetingTitle(*upd.Title); err != nil {
			return err
		}
	}
	if upd.Place != nil {
		if err := checkMeetingText("place", *upd.Place, MaxMeetingPlaceLen); err != nil {
			return err
		}
	}
	if upd.Start != nil {
		if err := checkMeetingStart(*upd.Start); err != nil {
			return err
		}
	}
	if upd.Duration != nil {
		if err := checkMeetingDuration(*upd.Duration); err != nil {
			return err
		}
	}
	if upd.Agenda != nil {
		if err := checkMeetingText("agenda", *upd.Agenda, MaxMeetingAgendaLen); err != nil {
			return err
		}
	}
	if upd.Minutes != nil {
		if err := checkMeetingText("minutes", *upd.Minutes, MaxMeetingMinutesLen); err != nil {
			return err
		}
	}
	if upd.Attendees != nil && len(*upd.Attendees) > MaxMeetingAttendees {
		return Errorf(EINVALID, "A meeting has at most %d attendees.", MaxMeetingAttendees)
	}
	if upd.Status != nil && !upd.Status.Valid() {
		return Errorf(EINVALID, "Meeting status %q is not scheduled, held or cancelled.", *upd.Status)
	}
	return nil
}

// empty reports whether upd changes nothing.
func (upd *MeetingUpdate) empty() bool {
	return upd.Title == nil && upd.Place == nil && upd.Start == nil && upd.Duration == nil &&
		upd.Attendees == nil && upd.Agenda == nil && upd.Minutes == nil && upd.Status == nil
}

// CheckMeetingUpdate reports an ECONFLICT error if upd may not be applied
// to meeting m in its current state: a held meeting is never scheduled or
// cancelled again; a cancelled one changes only by being rescheduled
// (status scheduled, with any other fields); minutes are recorded only for
// a meeting that is, or in the same update becomes, held. Setting the
// status a meeting already has is no transition and is allowed.
func CheckMeetingUpdate(m *Meeting, upd MeetingUpdate) error {
	to := m.Status
	if upd.Status != nil {
		to = *upd.Status
	}
	switch {
	case m.Status == MeetingStatusHeld && to != MeetingStatusHeld:
		return Errorf(ECONFLICT, "The meeting has been held; it can no longer be %s.", to)
	case m.Status == MeetingStatusCancelled && to == MeetingStatusHeld:
		return Errorf(ECONFLICT, "The meeting was cancelled; reschedule it before recording it as held.")
	case m.Status == MeetingStatusCancelled && to == MeetingStatusCancelled && !onlyStatus(upd):
		return Errorf(ECONFLICT, "The meeting was cancelled; it changes only by being rescheduled (status scheduled).")
	case upd.Minutes != nil && to != MeetingStatusHeld:
		return Errorf(ECONFLICT, "Minutes are recorded for a held meeting; set status held first or in the same update.")
	}
	return nil
}

func onlyStatus(upd MeetingUpdate) bool {
	upd.Status = nil
	return upd.empty()
}

// Apply returns a copy of m with upd applied. It checks nothing.
func (m *Meeting) Apply(upd MeetingUpdate) *Meeting {
	c := *m
	c.Attendees = slices.Clone(m.Attendees)
	if upd.Title != nil {
		c.Title = *upd.Title
	}
	if upd.Place != nil {
		c.Place = *upd.Place
	}
	if upd.Start != nil {
		c.Start = Timestamp(*upd.Start)
	}
	if upd.Duration != nil {
		c.Duration = *upd.Duration
	}
	if upd.Attendees != nil {
		c.Attendees = normaliseAttendees(*upd.Attendees)
	}
	if upd.Agenda != nil {
		c.Agenda = *upd.Agenda
	}
	if upd.Minutes != nil {
		c.Minutes = *upd.Minutes
	}
	if upd.Status != nil {
		c.Status = *upd.Status
	}
	return &c
}

// canPost returns nil if the member may post in track t, which it may
// see, and schedule or update the track's meetings: it must be on the
// track and not an observer. A principal that sees a back-channel through
// its party's members reads it but does not post. Otherwise EFORBIDDEN.
func (v *View) canPost(t *Track) error {
	if !t.HasMember(v.Member.ID) {
		return Errorf(EFORBIDDEN, "Only members on this track may post in it or schedule its meetings.")
	} else if v.Member.Role == RoleObserver {
		return Errorf(EFORBIDDEN, "Observers do not post or schedule meetings.")
	}
	return nil
}

// checkAttendees returns EINVALID, naming the first member in ids that is
// not a member of the talk who may see track t (View.CanSeeTrack, asked as
// that member).
func (v *View) checkAttendees(t *Track, ids []int64) error {
	for _, id := range ids {
		m := v.snap.member(id)
		if m == nil || !(&View{User: &User{ID: m.UserID}, Talk: v.Talk, Member: m, snap: v.snap}).CanSeeTrack(t) {
			return Errorf(EINVALID, "Attendee %d is not a member who may see this track.", id)
		}
	}
	return nil
}

// viewOfMeeting returns the view of the talk of meeting id, its track and
// the meeting, or ENOTFOUND if it does not exist for the acting user.
func (s *Service) viewOfMeeting(ctx context.Context, id int64) (*View, *Track, *Meeting, error) {
	if _, err := currentUser(ctx); err != nil {
		return nil, nil, nil, err
	}
	m, err := s.store.FindMeetingByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, nil, errMeetingNotFound
	} else if err != nil {
		return nil, nil, nil, err
	}
	v, t, err := s.viewOfTrack(ctx, m.TrackID, errMeetingNotFound)
	if err != nil {
		return nil, nil, nil, err
	}
	return v, t, m, nil
}

// ScheduleMeeting schedules meeting m in track m.TrackID. Whoever may post
// a message in the track may (View.canPost); others who see it get
// EFORBIDDEN. m must be valid (Meeting.Validate) and its attendees members
// who may see the track (else EINVALID, naming the first that is not). It
// sets m's ID, TalkID, Status (scheduled), CreatedBy, CreatedAt and
// UpdatedAt; Minutes must be empty, as a scheduled meeting has none.
func (s *Service) ScheduleMeeting(ctx context.Context, m *Meeting) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.scheduleMeeting(ctx, m) })
}

func (s *Service) scheduleMeeting(ctx context.Context, m *Meeting) error {
	v, t, err := s.viewOfTrack(ctx, m.TrackID, errTrackNotFound)
	if err != nil {
		return err
	} else if err := v.canPost(t); err != nil {
		return err
	}
	m.Status = MeetingStatusScheduled
	m.Start = Timestamp(m.Start)
	m.Attendees = normaliseAttendees(m.Attendees)
	if err := m.Validate(); err != nil {
		return err
	} else if m.Minutes != "" {
		return Errorf(EINVALID, "Meeting minutes are recorded once it is held, not when it is scheduled.")
	} else if err := v.checkAttendees(t, m.Attendees); err != nil {
		return err
	}
	m.TalkID = v.Talk.ID
	st := s.stamp(v)
	return s.store.CreateMeeting(ctx, m, st)
}

// UpdateMeeting applies upd to meeting id and returns the meeting. Who may
// is as for ScheduleMeeting. EINVALID for an invalid field or attendee;
// ECONFLICT for a change its status does not allow (CheckMeetingUpdate);
// an update that changes nothing is EINVALID.
func (s *Service) UpdateMeeting(ctx context.Context, id int64, upd MeetingUpdate) (*Meeting, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Meeting, error) { return s.updateMeeting(ctx, id, upd) })
}

func (s *Service) updateMeeting(ctx context.Context, id int64, upd MeetingUpdate) (*Meeting, error) {
	v, t, m, err := s.viewOfMeeting(ctx, id)
	if err != nil {
		return nil, err
	} else if err := v.canPost(t); err != nil {
		return nil, err
	}
	if upd.empty() {
		return nil, Errorf(EINVALID, "Nothing to change.")
	} else if err := upd.Validate(); err != nil {
		return nil, err
	}
	if upd.Attendees != nil {
		a := normaliseAttendees(*upd.Attendees)
		if err := v.checkAttendees(t, a); err != nil {
			return nil, err
		}
		upd.Attendees = &a
	}
	if err := CheckMeetingUpdate(m, upd); err != nil {
		return nil, err
	}
	st := s.stamp(v)
	return s.store.UpdateMeeting(ctx, id, upd, st)
}

// FindMeetingByID returns meeting id if the acting user may see its track,
// or ENOTFOUND.
func (s *Service) FindMeetingByID(ctx context.Context, id int64) (*Meeting, error) {
	_, _, m, err := s.viewOfMeeting(ctx, id)
	return m, err
}

// FindMeetings returns the meetings of track f.TrackID if it is set, else
// of talk f.TalkID, in the tracks the acting user may see, ordered by
// start, then ID. ENOTFOUND for a talk or track that does not exist for
// the user.
func (s *Service) FindMeetings(ctx context.Context, f MeetingFilter) ([]*Meeting, error) {
	var v *View
	var err error
	if f.TrackID != 0 {
		if v, _, err = s.viewOfTrack(ctx, f.TrackID, errTrackNotFound); err != nil {
			return nil, err
		}
		f.TalkID = v.Talk.ID
	} else if v, err = s.View(ctx, f.TalkID); err != nil {
		return nil, err
	}
	ms, err := s.store.FindMeetings(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []*Meeting
	for _, m := range ms {
		if v.CanSeeTrack(v.snap.tracks[m.TrackID]) {
			out = append(out, m)
		}
	}
	return out, nil
}

// applyMeeting folds a meeting event into s.
func (s *State) applyMeeting(e *Event, tracks map[int64]*Track, members map[int64]*Member, meetings map[int64]*Meeting) error {
	at := Timestamp(e.Time)
	checkAttendees := func(ids []int64) error {
		for _, id := range ids {
			if members[id] == nil {
				return fmt.Errorf("unknown member %d", id)
			}
		}
		return nil
	}
	switch e.Type {
	case EventMeetingScheduled:
		var p MeetingScheduled
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if tracks[e.TrackID] == nil {
			return fmt.Errorf("unknown track %d", e.TrackID)
		} else if meetings[p.MeetingID] != nil {
			return fmt.Errorf("meeting %d scheduled twice", p.MeetingID)
		} else if err := checkAttendees(p.Attendees); err != nil {
			return err
		}
		m := &Meeting{ID: p.MeetingID, TalkID: e.TalkID, TrackID: e.TrackID, Title: p.Title, Place: p.Place,
			Start: Timestamp(p.Start), Duration: time.Duration(p.DurationMinutes) * time.Minute,
			Attendees: normaliseAttendees(p.Attendees), Agenda: p.Agenda, Status: MeetingStatusScheduled,
			CreatedBy: e.ActorID, CreatedAt: at, UpdatedAt: at}
		meetings[m.ID] = m
		s.Meetings = append(s.Meetings, m)
	case EventMeetingUpdated:
		var p MeetingUpdated
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		m := meetings[p.MeetingID]
		if m == nil || m.TrackID != e.TrackID {
			return fmt.Errorf("unknown meeting %d in track %d", p.MeetingID, e.TrackID)
		} else if p.Attendees != nil {
			if err := checkAttendees(*p.Attendees); err != nil {
				return err
			}
		}
		*m = *m.Apply(p.Update())
		m.UpdatedAt = at
	}
	return nil
}
