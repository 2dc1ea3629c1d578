package server

import (
	"net/http"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Handlers of disclosure, hand-off and the record of agreement reads (see
// talks/disclosure.go). The service decides who may see and do what; the
// public route needs no user and answers only a published plan's terms.

// DisclosureTerm is one term of a disclosure plan: the issue whose agreed
// value becomes public and an optional public wording of its clause.
type DisclosureTerm struct {
	Issue  string `json:"issue"`
	Clause string `json:"clause"`
}

// DisclosureConsent is a party's consent to the current plan.
type DisclosureConsent struct {
	PartyID     int64     `json:"party_id"`
	MemberID    int64     `json:"member_id"`
	ConsentedAt time.Time `json:"consented_at"`
}

// Disclosure is a talk's disclosure plan, its consents, and whether it is
// published (every party consented and the embargo passed).
type Disclosure struct {
	TalkID     int64               `json:"talk_id"`
	Revision   int64               `json:"revision"`
	VersionID  int64               `json:"version_id"`
	Terms      []DisclosureTerm    `json:"terms"`
	ShowTitle  bool                `json:"show_title"`
	Embargo    time.Time           `json:"embargo"`
	ProposedBy int64               `json:"proposed_by"`
	ProposedAt time.Time           `json:"proposed_at"`
	Consents   []DisclosureConsent `json:"consents"`
	Published  bool                `json:"published"`
}

func apiDisclosure(d *talks.Disclosure, published bool) Disclosure {
	out := Disclosure{TalkID: d.TalkID, Revision: d.Revision, VersionID: d.VersionID, Terms: []DisclosureTerm{},
		ShowTitle: d.ShowTitle, Embargo: d.Embargo, ProposedBy: d.ProposedBy, ProposedAt: d.ProposedAt,
		Consents: []DisclosureConsent{}, Published: published}
	for _, tm := range d.Terms {
		out.Terms = append(out.Terms, DisclosureTerm{Issue: tm.Issue, Clause: tm.Clause})
	}
	for _, c := range d.Consents {
		out.Consents = append(out.Consents, DisclosureConsent{PartyID: c.PartyID, MemberID: c.MemberID, ConsentedAt: c.ConsentedAt})
	}
	return out
}

// PublicTerm is a published term.
type PublicTerm struct {
	Issue  string `json:"issue"`
	Value  string `json:"value"`
	Clause string `json:"clause,omitempty"`
}

// PublicDisclosure is all that is public of a talk: its published terms,
// and its title if the plan shows it.
type PublicDisclosure struct {
	TalkID      int64        `json:"talk_id"`
	Title       string       `json:"title,omitempty"`
	Terms       []PublicTerm `json:"terms"`
	PublishedAt time.Time    `json:"published_at"`
}

// AgreementRead is one recorded read of the agreement.
type AgreementRead struct {
	MemberID int64     `json:"member_id"`
	ReadAt   time.Time `json:"read_at"`
}

// Handoff says that a proposal of the official track was carried from a
// back-channel, and nothing of that back-channel.
type Handoff struct {
	ProposalID int64     `json:"proposal_id"`
	MemberID   int64     `json:"member_id"`
	CarriedAt  time.Time `json:"carried_at"`
	Provenance string    `json:"provenance"`
}

// Provenance is how a carried proposal's origin is shown.
const Provenance = "carried from a back-channel"

// disclosureOf returns the plan of talk id and whether it is published.
func (s *Server) disclosureOf(r *http.Request, d *talks.Disclosure) (Disclosure, error) {
	parties, err := s.svc.FindParties(r.Context(), d.TalkID)
	if err != nil {
		return Disclosure{}, err
	}
	return apiDisclosure(d, d.Published(parties, s.svc.Now())), nil
}

func (s *Server) handleDisclosure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.svc.FindDisclosure(r.Context(), id)
	if err != nil {
		return err
	}
	out, err := s.disclosureOf(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type disclosureRequest struct {
	Terms     []DisclosureTerm `json:"terms"`
	ShowTitle bool             `json:"show_title"`
	Embargo   string           `json:"embargo"`
}

func (s *Server) handleProposeDisclosure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req disclosureRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	embargo, err := time.Parse(time.RFC3339, req.Embargo)
	if err != nil {
		return talks.Errorf(talks.EINVALID, "Embargo must be a time in RFC 3339, such as 2025-07-01T10:00:00Z.")
	}
	d := &talks.Disclosure{TalkID: id, ShowTitle: req.ShowTitle, Embargo: embargo}
	for _, tm := range req.Terms {
		d.Terms = append(d.Terms, talks.DisclosureTerm{Issue: tm.Issue, Clause: tm.Clause})
	}
	if err := s.svc.ProposeDisclosure(r.Context(), d); err != nil {
		return err
	}
	out, err := s.disclosureOf(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type consentRequest struct {
	Revision int64 `json:"revision"`
	signedBody
}

func (s *Server) handleConsentDisclosure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req consentRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	d, err := s.svc.ConsentDisclosure(req.context(r), id, req.Revision)
	if err != nil {
		return err
	}
	out, err := s.disclosureOf(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleAgreementReads(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rs, err := s.svc.FindAgreementReads(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mapAll(rs, func(rd *talks.AgreementRead) AgreementRead {
		return AgreementRead{MemberID: rd.MemberID, ReadAt: rd.ReadAt}
	}))
	return nil
}

type handoffRequest struct {
	Title string `json:"title"`
	signedBody
}

func (s *Server) handleCarryAgreement(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req handoffRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.svc.CarryAgreement(req.context(r), id, req.Title)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiProposal(p))
	return nil
}

func (s *Server) handleHandoff(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	h, err := s.svc.FindHandoff(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Handoff{ProposalID: h.ProposalID, MemberID: h.MemberID, CarriedAt: h.CarriedAt, Provenance: Provenance})
	return nil
}

// handlePublicDisclosure answers without a user: the published terms of a
// talk, or 404 for anything else, whether the talk exists or not.
func (s *Server) handlePublicDisclosure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pd, err := s.svc.PublicDisclosure(r.Context(), id)
	if err != nil {
		return err
	}
	out := PublicDisclosure{TalkID: pd.TalkID, Title: pd.Title, Terms: []PublicTerm{}, PublishedAt: pd.PublishedAt}
	for _, tm := range pd.Terms {
		out.Terms = append(out.Terms, PublicTerm{Issue: tm.Issue, Value: tm.Value, Clause: tm.Clause})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
