package server

import (
	"net/http"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// Handlers of talks, parties, members and tracks.

type createTalkRequest struct {
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Issues      []Issue `json:"issues"`
	// Domain, instead of Issues, is the text of a GENIUS XML or GeniusWeb
	// JSON domain file (Format, or guessed), which the engine reads.
	Domain string `json:"domain"`
	Format string `json:"format"`
}

func (s *Server) handleTalks(w http.ResponseWriter, r *http.Request) error {
	offset, err := queryInt(r, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	ts, err := s.svc.FindTalks(r.Context(), talks.TalkFilter{Offset: int(offset), Limit: int(limit)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ts, apiTalk))
	return nil
}

func (s *Server) handleCreateTalk(w http.ResponseWriter, r *http.Request) error {
	var req createTalkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	var sp *outcome.Space
	var err error
	switch {
	case req.Domain != "" && req.Issues != nil:
		return talks.Errorf(talks.EINVALID, "Give the outcome space as issues or as a domain file, not both.")
	case req.Domain != "":
		sp, err = talks.ImportSpace(req.Format, []byte(req.Domain))
	case req.Format != "":
		return talks.Errorf(talks.EINVALID, "A format needs a domain.")
	default:
		sp, err = space(req.Title, req.Issues)
	}
	if err != nil {
		return err
	}
	t := &talks.Talk{Title: req.Title, Description: req.Description, Space: sp}
	if err := s.svc.CreateTalk(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiTalk(t))
	return nil
}

func (s *Server) handleTalk(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.svc.FindTalkByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiTalk(t))
	return nil
}

type updateTalkRequest struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	Status      *string `json:"status"`
}

func (s *Server) handleUpdateTalk(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req updateTalkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	upd := talks.TalkUpdate{Title: req.Title, Description: req.Description}
	if req.Status != nil {
		st := talks.Status(*req.Status)
		upd.Status = &st
	}
	t, err := s.svc.UpdateTalk(r.Context(), id, upd)
	if err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusOK, apiTalk(t))
	return nil
}

func (s *Server) handleParties(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ps, err := s.svc.FindParties(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ps, apiParty))
	return nil
}

type partyRequest struct {
	Name string `json:"name"`
}

func (s *Server) handleAddParty(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req partyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p := &talks.Party{TalkID: id, Name: req.Name}
	if err := s.svc.AddParty(r.Context(), p); err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusCreated, apiParty(p))
	return nil
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ms, err := s.svc.FindMembers(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ms, apiMember))
	return nil
}

type memberRequest struct {
	UserID  int64  `json:"user_id"`
	PartyID int64  `json:"party_id"`
	Role    string `json:"role"`
}

func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req memberRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m := &talks.Member{TalkID: id, UserID: req.UserID, PartyID: req.PartyID, Role: talks.Role(req.Role)}
	if err := s.svc.AddMember(r.Context(), m); err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusCreated, apiMember(m))
	return nil
}

type roleRequest struct {
	Role string `json:"role"`
}

func (s *Server) handleChangeMemberRole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	member, err := pathID(r, "member")
	if err != nil {
		return err
	}
	var req roleRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m, err := s.svc.ChangeMemberRole(r.Context(), id, member, talks.Role(req.Role))
	if err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusOK, apiMember(m))
	return nil
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	member, err := pathID(r, "member")
	if err != nil {
		return err
	}
	if err := s.svc.RemoveMember(r.Context(), id, member); err != nil {
		return err
	}
	s.broker.Notify(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleTracks(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ts, err := s.svc.FindTracks(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ts, apiTrack))
	return nil
}

type trackRequest struct {
	Name      string  `json:"name"`
	MemberIDs []int64 `json:"member_ids"`
}

func (s *Server) handleCreateTrack(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req trackRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t := &talks.Track{TalkID: id, Name: req.Name, Kind: talks.TrackBackchannel, MemberIDs: req.MemberIDs}
	if err := s.svc.CreateTrack(r.Context(), t); err != nil {
		return err
	}
	s.broker.Notify(id)
	// The creator gave the name and members, so answering with them shows
	// nothing new, even if it is not on the track.
	writeJSON(w, http.StatusCreated, apiTrack(t))
	return nil
}

func (s *Server) handleTrack(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.svc.FindTrackByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiTrack(t))
	return nil
}

type trackMemberRequest struct {
	MemberID int64 `json:"member_id"`
}

func (s *Server) handleAddTrackMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req trackMemberRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.AddTrackMember(r.Context(), id, req.MemberID); err != nil {
		return err
	}
	t, err := s.svc.FindTrackByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.broker.Notify(t.TalkID)
	writeJSON(w, http.StatusOK, apiTrack(t))
	return nil
}

func (s *Server) handleRemoveTrackMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	member, err := pathID(r, "member")
	if err != nil {
		return err
	}
	// Read first: a member that leaves no longer sees the track's talk
	// through it.
	t, err := s.svc.FindTrackByID(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.svc.RemoveTrackMember(r.Context(), id, member); err != nil {
		return err
	}
	s.broker.Notify(t.TalkID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	latest, err := queryBool(r, "latest")
	if err != nil {
		return err
	}
	ms, err := s.svc.FindMessages(r.Context(), talks.MessageFilter{TrackID: id, AfterID: after, Limit: int(limit), Latest: latest})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ms, apiMessage))
	return nil
}

type messageRequest struct {
	Body string `json:"body"`
}

func (s *Server) handlePostMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req messageRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m := &talks.Message{TrackID: id, Body: req.Body}
	if err := s.svc.PostMessage(r.Context(), m); err != nil {
		return err
	}
	s.notifyTrack(r, id)
	writeJSON(w, http.StatusCreated, apiMessage(m))
	return nil
}

func (s *Server) handleRetractMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := s.svc.RetractMessage(r.Context(), id)
	if err != nil {
		return err
	}
	s.notifyTrack(r, m.TrackID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// notifyTrack wakes the event streams of the talk of track id, which the
// acting user has just written to and so may see.
func (s *Server) notifyTrack(r *http.Request, id int64) {
	s.broker.notifyVia(&s.broker.trackTalk, id, func() (int64, error) {
		t, err := s.svc.FindTrackByID(r.Context(), id)
		if err != nil {
			return 0, err
		}
		return t.TalkID, nil
	})
}
