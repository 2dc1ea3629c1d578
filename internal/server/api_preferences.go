package server

import (
	"net/http"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Handlers of a party's private preferences and what the engine derives
// from them (issue 6). Every route acts for the caller's own party: no
// path names another party, so no request can even ask for another
// party's preferences. The response types of what others may see
// (Suggestion) have no field that could hold a utility.

// Preferences is one version of the caller's party's utility function.
type Preferences struct {
	TalkID    int64                         `json:"talk_id"`
	PartyID   int64                         `json:"party_id"`
	Version   int64                         `json:"version"`
	Weights   map[string]float64            `json:"weights"`
	Scores    map[string]map[string]float64 `json:"scores"`
	Reserved  float64                       `json:"reserved"`
	Digest    string                        `json:"digest"`
	CreatedBy int64                         `json:"created_by"`
	CreatedAt time.Time                     `json:"created_at"`
}

func apiPreferences(p *talks.Preferences) Preferences {
	return Preferences{TalkID: p.TalkID, PartyID: p.PartyID, Version: p.Version, Weights: p.Weights, Scores: p.Scores,
		Reserved: p.Reserved, Digest: talks.DigestHex(p.Digest), CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt}
}

// PreferencesHistory is every version of the caller's party's preferences.
type PreferencesHistory struct {
	PartyID  int64         `json:"party_id"`
	Versions []Preferences `json:"versions"`
}

// VersionStanding is one version of the text under the caller's party's
// latest preferences.
type VersionStanding struct {
	ProposalID    int64     `json:"proposal_id"`
	VersionID     int64     `json:"version_id"`
	Title         string    `json:"title"`
	CreatedAt     time.Time `json:"created_at"`
	Utility       float64   `json:"utility"`
	AboveReserved bool      `json:"above_reserved"`
	Efficiency    string    `json:"efficiency"`
	// CrossesRedLine: the version falls below some stakeholder's red
	// line; whose, and by how much, is not said.
	CrossesRedLine bool `json:"crosses_red_line"`
}

// Standing is the caller's party's view of the text.
type Standing struct {
	PartyID        int64             `json:"party_id"`
	Version        int64             `json:"preferences_version"` // 0: none entered
	Reserved       float64           `json:"reserved"`
	MissingParties []Party           `json:"missing_parties"`
	Versions       []VersionStanding `json:"versions"`
}

// Suggestion is a package the engine proposes, as anyone who may see the
// version sees it: whether every party gains, not by how much.
type Suggestion struct {
	Kind          string            `json:"kind"`
	Values        map[string]string `json:"values"`
	EveryoneGains bool              `json:"everyone_gains"`
}

// OwnSuggestion is a Suggestion with the caller's own party's gain.
type OwnSuggestion struct {
	Suggestion
	Gain float64 `json:"gain"`
}

// Suggestions is the engine's answer for one version. Suggestions holds
// Suggestion values, or OwnSuggestion values for the principal, envoys
// and advisors of a party.
type Suggestions struct {
	VersionID      int64   `json:"version_id"`
	MissingParties []Party `json:"missing_parties"`
	Suggestions    []any   `json:"suggestions"`
}

type preferencesRequest struct {
	Weights  map[string]float64            `json:"weights"`
	Scores   map[string]map[string]float64 `json:"scores"`
	Reserved *float64                      `json:"reserved"`
}

type importRequest struct {
	Format  string `json:"format"`
	Profile string `json:"profile"`
}

func (s *Server) handlePreferences(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	party, err := s.svc.OwnParty(r.Context(), id, false)
	if err != nil {
		return err
	}
	ps, err := s.svc.FindPreferences(r.Context(), id, party)
	if err != nil {
		return err
	}
	out := PreferencesHistory{PartyID: party, Versions: mapAll(ps, apiPreferences)}
	if out.Versions == nil {
		out.Versions = []Preferences{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) savePreferences(w http.ResponseWriter, r *http.Request, talkID int64, p *talks.Preferences) error {
	party, err := s.svc.OwnParty(r.Context(), talkID, true)
	if err != nil {
		return err
	}
	p.TalkID, p.PartyID = talkID, party
	if err := s.svc.SavePreferences(r.Context(), p); err != nil {
		return err
	}
	s.broker.Notify(talkID)
	writeJSON(w, http.StatusCreated, apiPreferences(p))
	return nil
}

func (s *Server) handleSavePreferences(w http.ResponseWriter, r *http.Request) error {
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
	return s.savePreferences(w, r, id, &talks.Preferences{Weights: req.Weights, Scores: req.Scores, Reserved: *req.Reserved})
}

func (s *Server) handleImportPreferences(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req importRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	// Ask who may first, so that a file from someone who may not is
	// never parsed.
	if _, err := s.svc.OwnParty(r.Context(), id, true); err != nil {
		return err
	}
	t, err := s.svc.FindTalkByID(r.Context(), id)
	if err != nil {
		return err
	}
	p, err := talks.ImportPreferences(t.Space, req.Format, []byte(req.Profile))
	if err != nil {
		return err
	}
	return s.savePreferences(w, r, id, p)
}

func (s *Server) handleStanding(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	st, err := s.svc.Standing(r.Context(), id)
	if err != nil {
		return err
	}
	out := Standing{PartyID: st.PartyID, MissingParties: mapAll(st.Missing, apiParty), Versions: []VersionStanding{}}
	if out.MissingParties == nil {
		out.MissingParties = []Party{}
	}
	if st.Preferences != nil {
		out.Version, out.Reserved = st.Preferences.Version, st.Preferences.Reserved
	}
	for _, v := range st.Versions {
		out.Versions = append(out.Versions, VersionStanding{ProposalID: v.Proposal.ID, VersionID: v.Version.ID, Title: v.Proposal.Title,
			CreatedAt: v.Version.CreatedAt, Utility: v.Utility, AboveReserved: v.AboveReserved, Efficiency: string(v.Efficiency), CrossesRedLine: v.CrossesRedLine})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleSuggestions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sg, err := s.svc.Suggestions(r.Context(), id)
	if err != nil {
		return err
	}
	out := Suggestions{VersionID: id, MissingParties: mapAll(sg.Missing, apiParty), Suggestions: []any{}}
	if out.MissingParties == nil {
		out.MissingParties = []Party{}
	}
	for _, it := range sg.Items {
		base := Suggestion{Kind: string(it.Kind), Values: it.Values, EveryoneGains: it.EveryoneGains}
		if it.Gain != nil {
			out.Suggestions = append(out.Suggestions, OwnSuggestion{Suggestion: base, Gain: *it.Gain})
		} else {
			out.Suggestions = append(out.Suggestions, base)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
