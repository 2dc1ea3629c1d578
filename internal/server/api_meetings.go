package server

import (
	"net/http"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Handlers of meetings. A meeting belongs to a track; the service decides
// who may see and change it.

// Meeting is a meeting of a track. Start is RFC 3339; the duration is in
// whole minutes.
type Meeting struct {
	ID              int64     `json:"id"`
	TalkID          int64     `json:"talk_id"`
	TrackID         int64     `json:"track_id"`
	Title           string    `json:"title"`
	Place           string    `json:"place"`
	Start           time.Time `json:"start"`
	DurationMinutes int64     `json:"duration_minutes"`
	Attendees       []int64   `json:"attendees"`
	Agenda          string    `json:"agenda"`
	Minutes         string    `json:"minutes"`
	Status          string    `json:"status"`
	CreatedBy       int64     `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func apiMeeting(m *talks.Meeting) Meeting {
	return Meeting{ID: m.ID, TalkID: m.TalkID, TrackID: m.TrackID, Title: m.Title, Place: m.Place, Start: m.Start,
		DurationMinutes: int64(m.Duration / time.Minute), Attendees: append([]int64{}, m.Attendees...),
		Agenda: m.Agenda, Minutes: m.Minutes, Status: string(m.Status), CreatedBy: m.CreatedBy,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// meetingStart parses the start of a meeting request.
func meetingStart(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, talks.Errorf(talks.EINVALID, "Meeting start must be a time in RFC 3339, such as 2025-07-01T10:00:00Z.")
	}
	return t, nil
}

// meetingDuration returns n minutes as a duration, clamped so that no
// number overflows into a valid one: the service refuses what is out of
// bounds with its own message.
func meetingDuration(n int64) time.Duration {
	return time.Duration(min(max(n, -1), 1<<20)) * time.Minute
}

func (s *Server) handleMeetings(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ms, err := s.svc.FindMeetings(r.Context(), talks.MeetingFilter{TrackID: id})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ms, apiMeeting))
	return nil
}

type meetingRequest struct {
	Title           string  `json:"title"`
	Place           string  `json:"place"`
	Start           string  `json:"start"`
	DurationMinutes int64   `json:"duration_minutes"`
	Attendees       []int64 `json:"attendees"`
	Agenda          string  `json:"agenda"`
}

func (s *Server) handleScheduleMeeting(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req meetingRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	// A malformed body is refused before the track is looked up, as
	// anywhere else: the answer is the same whether it exists or not.
	start, err := meetingStart(req.Start)
	if err != nil {
		return err
	}
	m := &talks.Meeting{TrackID: id, Title: req.Title, Place: req.Place, Start: start,
		Duration: meetingDuration(req.DurationMinutes), Attendees: req.Attendees, Agenda: req.Agenda}
	if err := s.svc.ScheduleMeeting(r.Context(), m); err != nil {
		return err
	}
	s.broker.Notify(m.TalkID)
	writeJSON(w, http.StatusCreated, apiMeeting(m))
	return nil
}

func (s *Server) handleMeeting(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := s.svc.FindMeetingByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiMeeting(m))
	return nil
}

type updateMeetingRequest struct {
	Title           *string  `json:"title"`
	Place           *string  `json:"place"`
	Start           *string  `json:"start"`
	DurationMinutes *int64   `json:"duration_minutes"`
	Attendees       *[]int64 `json:"attendees"`
	Agenda          *string  `json:"agenda"`
	Minutes         *string  `json:"minutes"`
	Status          *string  `json:"status"`
}

func (s *Server) handleUpdateMeeting(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req updateMeetingRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	upd := talks.MeetingUpdate{Title: req.Title, Place: req.Place, Attendees: req.Attendees, Agenda: req.Agenda, Minutes: req.Minutes}
	if req.Start != nil {
		start, err := meetingStart(*req.Start)
		if err != nil {
			return err
		}
		upd.Start = &start
	}
	if req.DurationMinutes != nil {
		d := meetingDuration(*req.DurationMinutes)
		upd.Duration = &d
	}
	if req.Status != nil {
		st := talks.MeetingStatus(*req.Status)
		upd.Status = &st
	}
	m, err := s.svc.UpdateMeeting(r.Context(), id, upd)
	if err != nil {
		return err
	}
	s.broker.Notify(m.TalkID)
	writeJSON(w, http.StatusOK, apiMeeting(m))
	return nil
}
