package server

import (
	"encoding/hex"
	"net/http"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Handlers of mandates (issue 6, part 4): the limits a principal sets for
// each of its party's envoys. As for preferences, every route acts for
// the caller's own party: the path names an envoy of it, never another
// party, and the service answers 403 to anyone outside the party's
// principal, envoys and advisors.

// Mandate is the current mandate of one envoy of the caller's party.
// Version 0 means that none was set.
type Mandate struct {
	TalkID     int64               `json:"talk_id"`
	PartyID    int64               `json:"party_id"`
	EnvoyID    int64               `json:"envoy_id"`
	Version    int64               `json:"version"`
	Allowed    map[string][]string `json:"allowed"`
	MinUtility *float64            `json:"min_utility"`
	Digest     string              `json:"digest,omitempty"`
	UpdatedBy  int64               `json:"updated_by,omitempty"`
	UpdatedAt  *time.Time          `json:"updated_at,omitempty"`
}

func apiMandate(m *talks.Mandate) Mandate {
	out := Mandate{TalkID: m.TalkID, PartyID: m.PartyID, EnvoyID: m.EnvoyID, Version: m.Version,
		Allowed: m.Allowed, MinUtility: m.MinUtility, UpdatedBy: m.UpdatedBy}
	if out.Allowed == nil {
		out.Allowed = map[string][]string{}
	}
	if m.Version > 0 {
		out.Digest = talks.DigestHex(m.Digest)
		at := m.UpdatedAt
		out.UpdatedAt = &at
	}
	return out
}

type mandateRequest struct {
	Allowed    map[string][]string `json:"allowed"`
	MinUtility *float64            `json:"min_utility"`
	// Salt is, with a client's signature, the salt (hex, 32 bytes) of the
	// digest it signed; the server picks one otherwise.
	Salt string `json:"salt,omitempty"`
	signedBody
}

func (s *Server) handleMandates(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	party, err := s.svc.MandateParty(r.Context(), id)
	if err != nil {
		return err
	}
	ms, err := s.svc.FindMandates(r.Context(), id, party)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(ms, apiMandate))
	return nil
}

func (s *Server) handleMandate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	envoy, err := pathID(r, "envoy")
	if err != nil {
		return err
	}
	party, err := s.svc.MandateParty(r.Context(), id)
	if err != nil {
		return err
	}
	m, err := s.svc.FindMandate(r.Context(), id, party, envoy)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiMandate(m))
	return nil
}

func (s *Server) handleSaveMandate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	envoy, err := pathID(r, "envoy")
	if err != nil {
		return err
	}
	var req mandateRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	party, err := s.svc.MandateParty(r.Context(), id)
	if err != nil {
		return err
	}
	m := &talks.Mandate{TalkID: id, PartyID: party, EnvoyID: envoy, Allowed: req.Allowed, MinUtility: req.MinUtility}
	if req.Salt != "" {
		if m.Salt, err = hex.DecodeString(req.Salt); err != nil || len(m.Salt) != 32 {
			return talks.Errorf(talks.EINVALID, "The salt must be 32 bytes in hex.")
		}
	}
	if err := s.svc.SaveMandate(req.context(r), m); err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusOK, apiMandate(m))
	return nil
}
