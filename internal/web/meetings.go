package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

func (h *Handler) meetingRoutes() []route {
	return []route{
		{"GET", "/tracks/{id}/meetings", signedIn, h.handleMeetings},
		{"POST", "/tracks/{id}/meetings", signedIn, h.handleScheduleMeeting},
		{"GET", "/meetings/{id}", signedIn, h.handleMeeting},
		{"POST", "/meetings/{id}", signedIn, h.handleUpdateMeeting},
	}
}

// meetingForm is what a meeting form holds, as typed: on an error it is
// shown again as it was.
type meetingForm struct {
	Title, Place, Start, Duration, Agenda, Minutes, Status string
	Attendees                                              map[int64]bool
}

// Attends reports whether member id is ticked.
func (f meetingForm) Attends(id int64) bool { return f.Attendees[id] }

// formOf returns the form of meeting m as it stands.
func formOf(m *talks.Meeting) meetingForm {
	f := meetingForm{Title: m.Title, Place: m.Place, Start: m.Start.UTC().Format(startLayout),
		Duration: strconv.Itoa(int(m.Duration / time.Minute)), Agenda: m.Agenda, Minutes: m.Minutes,
		Status: string(m.Status), Attendees: map[int64]bool{}}
	for _, id := range m.Attendees {
		f.Attendees[id] = true
	}
	return f
}

// startLayout is the value of an <input type="datetime-local">; the pages
// show and take times in UTC, and say so.
const startLayout = "2006-01-02T15:04"

// readMeetingForm reads a meeting form, checking what the service cannot
// (that the start and duration are a time and a number); errs gets an
// error per field.
func readMeetingForm(r *http.Request, errs formErrors) (meetingForm, *time.Time, *time.Duration, []int64) {
	f := meetingForm{
		Title: r.PostFormValue("title"), Place: r.PostFormValue("place"),
		Start: strings.TrimSpace(r.PostFormValue("start")), Duration: strings.TrimSpace(r.PostFormValue("duration")),
		Agenda: r.PostFormValue("agenda"), Minutes: r.PostFormValue("minutes"), Status: r.PostFormValue("status"),
		Attendees: map[int64]bool{},
	}
	var ids []int64
	for _, v := range r.PostForm["attendee"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			errs["attendee"] = "Choose attendees from the list."
			continue
		}
		f.Attendees[id] = true
		ids = append(ids, id)
	}
	var start *time.Time
	if f.Start == "" {
		errs["start"] = "Enter when the meeting starts."
	} else if t, err := time.Parse(startLayout, f.Start); err != nil {
		errs["start"] = "Enter a date and time, such as 2026-12-01T09:30 (UTC)."
	} else {
		start = &t
	}
	var dur *time.Duration
	if f.Duration == "" {
		errs["duration"] = "Enter how long it lasts, in minutes."
	} else if n, err := strconv.Atoi(f.Duration); err != nil || n <= 0 || n > int(talks.MaxMeetingDuration/time.Minute) {
		errs["duration"] = "Enter a whole number of minutes from 1 to 1440."
	} else {
		d := time.Duration(n) * time.Minute
		dur = &d
	}
	return f, start, dur, ids
}

// meetingErrorFields maps words of the service's messages to form fields.
var meetingErrorFields = map[string]string{
	"title": "title", "place": "place", "start": "start", "duration": "duration",
	"attendee": "attendee", "agenda": "agenda", "minutes": "minutes", "status": "status",
	"held": "status", "cancelled": "status", "scheduled": "status",
}

// meetingsPanel is the meetings of a track, shown on the track's page.
type meetingsPanel struct {
	Meetings []*talks.Meeting
	Form     meetingForm
	Errors   formErrors
	Open     bool // the schedule form is open (it had an error)
}

func (h *Handler) loadMeetings(r *http.Request, p *trackPage) error {
	ms, err := h.svc.FindMeetings(r.Context(), talks.MeetingFilter{TrackID: p.Track.ID})
	if err != nil {
		return err
	}
	p.Meetings.Meetings = ms
	p.Attendable = p.View.MembersWhoSee(p.Track)
	if p.Meetings.Form.Attendees == nil {
		p.Meetings.Form = meetingForm{Duration: "60", Attendees: map[int64]bool{}}
	}
	return nil
}

// handleMeetings renders a track's meetings panel, the region live updates
// refresh.
func (h *Handler) handleMeetings(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadTrack(r)
	if err != nil {
		return err
	}
	return h.renderFragment(w, http.StatusOK, "track", "meetings", h.trackPageFrame(r, p))
}

func (h *Handler) handleScheduleMeeting(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	errs := formErrors{}
	f, start, dur, ids := readMeetingForm(r, errs)
	if len(errs) == 0 {
		m := &talks.Meeting{TrackID: id, Title: f.Title, Place: f.Place, Start: *start, Duration: *dur, Attendees: ids, Agenda: f.Agenda}
		err := h.svc.ScheduleMeeting(r.Context(), m)
		if err == nil {
			wrote(r, m.TalkID)
			http.Redirect(w, r, "/meetings/"+strconv.FormatInt(m.ID, 10), http.StatusSeeOther)
			return nil
		} else if talks.ErrorCode(err) != talks.EINVALID {
			return err
		}
		errs[fieldOf(err, meetingErrorFields)] = talks.ErrorMessage(err)
	}
	p, err := h.loadTrack(r)
	if err != nil {
		return err
	}
	p.Meetings.Form, p.Meetings.Errors, p.Meetings.Open = f, errs, true
	return h.render(w, r, http.StatusUnprocessableEntity, "track", h.trackPageFrame(r, p))
}

// meetingPage is the data of a meeting's page.
type meetingPage struct {
	*talkCtx
	Track      *talks.Track
	Meeting    *talks.Meeting
	CanEdit    bool
	Attendable []*talks.Member
	Form       meetingForm
	Errors     formErrors
	Saved      bool
}

// Statuses are the states a meeting can be put in.
func (p *meetingPage) Statuses() []talks.MeetingStatus {
	return []talks.MeetingStatus{talks.MeetingStatusScheduled, talks.MeetingStatusHeld, talks.MeetingStatusCancelled}
}

func (h *Handler) loadMeeting(r *http.Request) (*meetingPage, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	m, err := h.svc.FindMeetingByID(ctx, id)
	if err != nil {
		return nil, err
	}
	tr, err := h.svc.FindTrackByID(ctx, m.TrackID)
	if err != nil {
		return nil, err
	}
	tc, err := h.loadTalk(r, tr.TalkID)
	if err != nil {
		return nil, err
	}
	return &meetingPage{talkCtx: tc, Track: tr, Meeting: m, CanEdit: tc.View.CanPost(tr),
		Attendable: tc.View.MembersWhoSee(tr), Form: formOf(m), Errors: formErrors{}}, nil
}

func (h *Handler) meetingFrame(r *http.Request, p *meetingPage) *Page {
	return h.trackFrame(r, p.Meeting.Title+" · "+p.Talk.Title, p, p.View, p.Track)
}

func (h *Handler) handleMeeting(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadMeeting(r)
	if err != nil {
		return err
	}
	p.Saved = r.URL.Query().Get("saved") == "1"
	if isHTMX(r) {
		return h.renderFragment(w, http.StatusOK, "meeting", "meeting-record", h.meetingFrame(r, p))
	}
	return h.render(w, r, http.StatusOK, "meeting", h.meetingFrame(r, p))
}

// handleUpdateMeeting changes a meeting from its form: only the fields that
// differ from the meeting as it stands are sent, so that recording minutes
// does not also "change" the title.
func (h *Handler) handleUpdateMeeting(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadMeeting(r)
	if err != nil {
		return err
	}
	if !p.CanEdit {
		return talks.Errorf(talks.EFORBIDDEN, "Only members on this track may change its meetings.")
	}
	errs := formErrors{}
	f, start, dur, ids := readMeetingForm(r, errs)
	m := p.Meeting
	if len(errs) == 0 {
		var upd talks.MeetingUpdate
		if f.Title != m.Title {
			upd.Title = &f.Title
		}
		if f.Place != m.Place {
			upd.Place = &f.Place
		}
		if !start.Equal(m.Start.UTC().Truncate(time.Minute)) {
			upd.Start = start
		}
		if *dur != m.Duration {
			upd.Duration = dur
		}
		if slices.Sort(ids); !slices.Equal(ids, m.Attendees) {
			upd.Attendees = &ids
		}
		if f.Agenda != m.Agenda {
			upd.Agenda = &f.Agenda
		}
		if f.Minutes != m.Minutes {
			upd.Minutes = &f.Minutes
		}
		if st := talks.MeetingStatus(f.Status); st != m.Status {
			if !st.Valid() {
				errs["status"] = "Choose scheduled, held or cancelled."
			}
			upd.Status = &st
		}
		if len(errs) == 0 {
			_, err := h.svc.UpdateMeeting(r.Context(), m.ID, upd)
			if err == nil {
				wrote(r, m.TalkID)
				http.Redirect(w, r, "/meetings/"+strconv.FormatInt(m.ID, 10)+"?saved=1", http.StatusSeeOther)
				return nil
			} else if c := talks.ErrorCode(err); c != talks.EINVALID && c != talks.ECONFLICT {
				return err
			}
			errs[fieldOf(err, meetingErrorFields)] = talks.ErrorMessage(err)
		}
	}
	p.Form, p.Errors = f, errs
	return h.render(w, r, http.StatusUnprocessableEntity, "meeting", h.meetingFrame(r, p))
}
