package server

import (
	"net/http"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Handlers of stakeholders and ratification (issue 6, part 5). A
// stakeholder is no member: every other route answers it 404. These
// routes are its own: its red lines (which no one else reads) and the
// agreed text once the parties agree, to ratify or reject.

// Stakeholder is an account attached to a talk that is not at the table,
// with its decision on the agreement ("" until it gives one).
type Stakeholder struct {
	TalkID    int64      `json:"talk_id"`
	UserID    int64      `json:"user_id"`
	AddedAt   time.Time  `json:"added_at"`
	Decision  string     `json:"decision"`
	Comment   string     `json:"comment"`
	DecidedAt *time.Time `json:"decided_at"`
}

func apiStakeholder(st *talks.Stakeholder) Stakeholder {
	out := Stakeholder{TalkID: st.TalkID, UserID: st.UserID, AddedAt: st.AddedAt, Decision: string(st.Decision), Comment: st.Comment}
	if !st.DecidedAt.IsZero() {
		at := st.DecidedAt
		out.DecidedAt = &at
	}
	return out
}

// RedLines is one version of the caller's red lines.
type RedLines struct {
	TalkID    int64                         `json:"talk_id"`
	UserID    int64                         `json:"user_id"`
	Version   int64                         `json:"version"`
	Weights   map[string]float64            `json:"weights"`
	Scores    map[string]map[string]float64 `json:"scores"`
	Reserved  float64                       `json:"reserved"`
	Digest    string                        `json:"digest"`
	CreatedAt time.Time                     `json:"created_at"`
}

func apiRedLines(r *talks.RedLines) RedLines {
	return RedLines{TalkID: r.TalkID, UserID: r.UserID, Version: r.Version, Weights: r.Weights, Scores: r.Scores,
		Reserved: r.Reserved, Digest: talks.DigestHex(r.Digest), CreatedAt: r.CreatedAt}
}

// RedLinesHistory is every version of the caller's red lines.
type RedLinesHistory struct {
	UserID   int64      `json:"user_id"`
	Versions []RedLines `json:"versions"`
}

// Ratification is what a stakeholder sees of an agreed talk: the agreed
// version, and its own decision.
type Ratification struct {
	TalkID    int64       `json:"talk_id"`
	Status    string      `json:"status"`
	Agreement Agreement   `json:"agreement"`
	Version   Version     `json:"version"`
	Own       Stakeholder `json:"own"`
}

// VersionFlagged is a version with the one bit the parties learn of the
// stakeholders' red lines.
type VersionFlagged struct {
	Version
	CrossesRedLine bool `json:"crosses_red_line"`
}

type stakeholderRequest struct {
	UserID int64 `json:"user_id"`
}

type ratifyRequest struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
	signedBody
}

func (s *Server) handleStakeholders(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sts, err := s.svc.FindStakeholders(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(sts, apiStakeholder))
	return nil
}

func (s *Server) handleAddStakeholder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req stakeholderRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	st, err := s.svc.AddStakeholder(r.Context(), id, req.UserID)
	if err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusCreated, apiStakeholder(st))
	return nil
}

func (s *Server) handleRedLines(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rs, err := s.svc.FindRedLines(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, RedLinesHistory{UserID: talks.UserFromContext(r.Context()).ID, Versions: mapAll(rs, apiRedLines)})
	return nil
}

func (s *Server) handleSaveRedLines(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req preferencesRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Reserved == nil {
		return talks.Errorf(talks.EINVALID, "Reserved value required.")
	}
	rl := &talks.RedLines{Preferences: talks.Preferences{TalkID: id, Weights: req.Weights, Scores: req.Scores, Reserved: *req.Reserved}}
	if err := s.svc.SaveRedLines(r.Context(), rl); err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusCreated, apiRedLines(rl))
	return nil
}

func (s *Server) ratification(r *http.Request, id int64) (*Ratification, error) {
	ag, ver, err := s.svc.AgreementForRatification(r.Context(), id)
	if err != nil {
		return nil, err
	}
	t, own, err := s.svc.StakeholderTalk(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return &Ratification{TalkID: id, Status: string(t.Status), Agreement: apiAgreement(ag), Version: apiVersion(ver), Own: apiStakeholder(own)}, nil
}

func (s *Server) handleRatification(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	out, err := s.ratification(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleRatify(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req ratifyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.Ratify(req.context(r), id, talks.Decision(req.Decision), req.Comment); err != nil {
		return err
	}
	s.broker.Notify(id)
	out, err := s.ratification(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleReopenTalk reopens an agreed talk whose agreement a stakeholder
// has rejected.
func (s *Server) handleReopenTalk(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	// The body is optional: only a signer that holds its own key sends
	// one, with its signature (backchannel sign reopen).
	var req signedBody
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	t, err := s.svc.ReopenTalk(req.context(r), id)
	if err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusOK, apiTalk(t))
	return nil
}

// RatificationRound is a round of ratification that a reopening ended.
type RatificationRound struct {
	ReopenedAt time.Time  `json:"reopened_at"`
	ReopenedBy int64      `json:"reopened_by"`
	Decisions  []Decision `json:"decisions"`
}

// Decision is a stakeholder's decision in an earlier round.
type Decision struct {
	UserID    int64     `json:"user_id"`
	Decision  string    `json:"decision"`
	Comment   string    `json:"comment"`
	DecidedAt time.Time `json:"decided_at"`
}

func (s *Server) handleRounds(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rounds, err := s.svc.EarlierRounds(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]RatificationRound, 0, len(rounds))
	for _, rd := range rounds {
		o := RatificationRound{ReopenedAt: rd.ReopenedAt, ReopenedBy: rd.ReopenedBy, Decisions: make([]Decision, 0, len(rd.Decisions))}
		for _, d := range rd.Decisions {
			o.Decisions = append(o.Decisions, Decision{UserID: d.UserID, Decision: string(d.Decision), Comment: d.Comment, DecidedAt: d.DecidedAt})
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
