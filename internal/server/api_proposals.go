package server

import (
	"net/http"

	"github.com/backchannel/backchannel/internal/talks"
)

// Handlers of the single negotiating text: proposals, versions, answers,
// the agreement and the difference of two versions.

func (s *Server) handleTalkProposals(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ps, err := s.svc.FindProposals(r.Context(), talks.ProposalFilter{TalkID: id})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ps, apiProposal))
	return nil
}

func (s *Server) handleTrackProposals(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.svc.FindTrackByID(r.Context(), id)
	if err != nil {
		return err
	}
	ps, err := s.svc.FindProposals(r.Context(), talks.ProposalFilter{TalkID: t.TalkID, TrackID: t.ID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ps, apiProposal))
	return nil
}

type proposalRequest struct {
	Title     string            `json:"title"`
	Values    map[string]string `json:"values"`
	Clauses   map[string]string `json:"clauses"`
	Rationale string            `json:"rationale"`
	signedBody
}

// proposalResponse is a new proposal with its first version.
type proposalResponse struct {
	Proposal Proposal `json:"proposal"`
	Version  Version  `json:"version"`
}

func (s *Server) handleCreateProposal(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req proposalRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p := &talks.Proposal{TrackID: id, Title: req.Title}
	v := &talks.Version{Values: req.Values, Clauses: req.Clauses, Rationale: req.Rationale}
	if err := s.svc.CreateProposal(req.context(r), p, v); err != nil {
		return err
	}
	s.broker.Notify(p.TalkID)
	writeJSON(w, http.StatusCreated, proposalResponse{apiProposal(p), apiVersion(v)})
	return nil
}

func (s *Server) handleProposal(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.svc.FindProposalByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiProposal(p))
	return nil
}

func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	vs, err := s.svc.FindVersions(r.Context(), talks.VersionFilter{ProposalID: id})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(vs, apiVersion))
	return nil
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.svc.FindVersionByID(r.Context(), id)
	if err != nil {
		return err
	}
	crosses, err := s.svc.CrossesRedLine(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, VersionFlagged{Version: apiVersion(v), CrossesRedLine: crosses})
	return nil
}

type counterRequest struct {
	Values    map[string]string `json:"values"`
	Clauses   map[string]string `json:"clauses"`
	Rationale string            `json:"rationale"`
	signedBody
}

func (s *Server) handleCounter(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req counterRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v := &talks.Version{ParentID: id, Values: req.Values, Clauses: req.Clauses, Rationale: req.Rationale}
	if err := s.svc.ProposeVersion(req.context(r), v); err != nil {
		return err
	}
	s.notifyProposal(r, v.ProposalID)
	writeJSON(w, http.StatusCreated, apiVersion(v))
	return nil
}

func (s *Server) handleAnswers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	as, err := s.svc.FindAnswers(r.Context(), talks.AnswerFilter{VersionID: id})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(as, apiAnswer))
	return nil
}

type answerRequest struct {
	Kind string `json:"kind"` // accept or reject
	signedBody
}

func (s *Server) handleAnswer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req answerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a := &talks.Answer{VersionID: id, Kind: talks.AnswerKind(req.Kind)}
	if err := s.svc.AnswerVersion(req.context(r), a); err != nil {
		return err
	}
	s.notifyProposal(r, a.ProposalID)
	writeJSON(w, http.StatusCreated, apiAnswer(a))
	return nil
}

func (s *Server) handleWithdrawAnswer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.svc.WithdrawAnswer(r.Context(), id)
	if err != nil {
		return err
	}
	s.notifyProposal(r, a.ProposalID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleAgreement(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.svc.ReadAgreement(r.Context(), id) // a recorded read
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiAgreement(a))
	return nil
}

// handleDiff compares versions a and b of the talk issue by issue.
func (s *Server) handleDiff(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.svc.FindTalkByID(r.Context(), id)
	if err != nil {
		return err
	}
	var vs [2]*talks.Version
	for i, name := range []string{"a", "b"} {
		vid, err := queryInt(r, name, 0, 1, 1<<62)
		if err != nil {
			return err
		} else if vid == 0 {
			return talks.Errorf(talks.EINVALID, "The query parameters a and b must name two versions.")
		}
		v, err := s.svc.FindVersionByID(r.Context(), vid)
		if err != nil {
			return err
		}
		p, err := s.svc.FindProposalByID(r.Context(), v.ProposalID)
		if err != nil {
			return err
		} else if p.TalkID != t.ID {
			return talks.Errorf(talks.ENOTFOUND, "Version not found.")
		}
		vs[i] = v
	}
	if t.Space == nil {
		writeJSON(w, http.StatusOK, []IssueDiff{})
		return nil
	}
	writeJSON(w, http.StatusOK, mapAll(talks.Diff(t.Space, vs[0], vs[1]), apiIssueDiff))
	return nil
}

// notifyProposal wakes the event streams of the talk of proposal id, which
// the acting user has just written to and so may see.
func (s *Server) notifyProposal(r *http.Request, id int64) {
	s.broker.notifyVia(&s.broker.proposalTalk, id, func() (int64, error) {
		p, err := s.svc.FindProposalByID(r.Context(), id)
		if err != nil {
			return 0, err
		}
		return p.TalkID, nil
	})
}
