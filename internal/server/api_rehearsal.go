package server

import (
	"net/http"

	"github.com/backchannel/backchannel/internal/talks"
)

// Rehearsal (issue 6, part 8): the caller's party simulates the rest of the
// negotiation against a model of the other side fitted to its offers.
// Like the other routes of preferences, it acts for the caller's own party
// and names no other; the response holds the caller's own utility only,
// and nothing of the other side but the number of its offers the model
// learnt from.

// RehearsalBin is one bin of a rehearsal's histogram: the runs that agreed
// on a package worth [low, high) to the caller's party (the last bin
// includes 1).
type RehearsalBin struct {
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Count int     `json:"count"`
}

// RehearsalOutcome is the likely agreement of a rehearsal.
type RehearsalOutcome struct {
	Values  map[string]string `json:"values"`
	Utility float64           `json:"utility"`
	Count   int               `json:"count"`
}

// Rehearsal is the result of a rehearsal, in the caller's party's own
// utility. Estimate is always true: the other side is a model.
type Rehearsal struct {
	Estimate           bool              `json:"estimate"`
	Note               string            `json:"note"`
	PartyID            int64             `json:"party_id"`
	PreferencesVersion int64             `json:"preferences_version"`
	Reserved           float64           `json:"reserved"`
	OwnAgent           string            `json:"own_agent"`
	OpponentAgent      string            `json:"opponent_agent"`
	Runs               int               `json:"runs"`
	Rounds             int               `json:"rounds"`
	Seed               uint64            `json:"seed"`
	OpponentOffers     int               `json:"opponent_offers"`
	Agreements         int               `json:"agreements"`
	NoAgreementShare   float64           `json:"no_agreement_share"`
	Histogram          []RehearsalBin    `json:"histogram"`
	Median             float64           `json:"median"`
	Mean               float64           `json:"mean"`
	MeanRounds         float64           `json:"mean_rounds"`
	Likely             *RehearsalOutcome `json:"likely"`
}

// RehearsalNote labels every rehearsal.
const RehearsalNote = "An estimate: the other side is a model fitted to the offers it has made, not its real preferences."

func apiRehearsal(r *talks.Rehearsal) Rehearsal {
	out := Rehearsal{Estimate: true, Note: RehearsalNote, PartyID: r.PartyID, PreferencesVersion: r.PreferencesVersion,
		Reserved: r.Reserved, OwnAgent: r.OwnAgent, OpponentAgent: r.OpponentAgent, Runs: r.Runs, Rounds: r.Rounds,
		Seed: r.Seed, OpponentOffers: r.OpponentOffers, Agreements: r.Agreements, NoAgreementShare: r.NoAgreementShare,
		Median: r.Median, Mean: r.Mean, MeanRounds: r.MeanRounds}
	for i, n := range r.Histogram {
		out.Histogram = append(out.Histogram, RehearsalBin{Low: float64(i) / talks.RehearsalBins,
			High: float64(i+1) / talks.RehearsalBins, Count: n})
	}
	if l := r.Likely; l != nil {
		out.Likely = &RehearsalOutcome{Values: l.Values, Utility: l.Utility, Count: l.Count}
	}
	return out
}

type rehearsalRequest struct {
	OwnAgent      string `json:"own_agent"`
	OpponentAgent string `json:"opponent_agent"`
	Runs          int    `json:"runs"`
	Rounds        int    `json:"rounds"`
	Seed          uint64 `json:"seed"`
}

func (s *Server) handleRehearse(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req rehearsalRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	reh, err := s.svc.Rehearse(r.Context(), id, talks.RehearsalRequest{OwnAgent: req.OwnAgent,
		OpponentAgent: req.OpponentAgent, Runs: req.Runs, Rounds: req.Rounds, Seed: req.Seed})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiRehearsal(reh))
	return nil
}
