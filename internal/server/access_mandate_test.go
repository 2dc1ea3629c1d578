package server

import (
	"encoding/json"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// The access matrix rules of mandates (issue 6, part 4). The matrix talk
// holds a mandate of NE's, set by NP, whose minimum utility is
// mandateSecret: no answer to anyone outside the North's principal,
// envoys and advisors may contain it (TestAccessMatrix checks).

// mandateSecret is the minimum utility of NE's mandate in the matrix talk.
// It is low enough that NE's writes in the matrix stay inside it.
const mandateSecret = 0.0246813579

// matrixMandate is NE's mandate in matrix talk x: every line (so that the
// matrix's own proposals and acceptances pass) and mandateSecret.
func matrixMandate(x *matrixTalk) *talks.Mandate {
	min := mandateSecret
	return &talks.Mandate{TalkID: x.talk.ID, PartyID: x.parties["N"].ID, EnvoyID: x.members["NE"].ID,
		Allowed: map[string][]string{"line": {"1949", "1967", "current"}}, MinUtility: &min}
}

// mandatePath is the path of NE's mandate in x, or in the talk tg names
// (missingID for what does not exist).
func mandatePath(x *matrixTalk, tg target) string {
	return fmt.Sprintf("/api/v1/talks/%d/mandates/%d", tg.id, x.members["NE"].ID)
}

func init() {
	// A party's principal and advisors list all its envoys' mandates, an
	// envoy its own; 403 for other members of the talk.
	matrixRules["GET /api/v1/talks/{id}/mandates"] = matrixRule{
		may: func(c matrixCase, _ target) int { return allow(c.readsPrefs()) },
		check: func(x *matrixTalk, c matrixCase, body []byte) error {
			var list []Mandate
			if err := json.Unmarshal(body, &list); err != nil {
				return err
			}
			for _, m := range list {
				if m.PartyID != x.parties[c.party].ID || c.role == talks.RoleEnvoy && m.EnvoyID != x.members[c.user].ID {
					return fmt.Errorf("lists the mandate of envoy %d of party %d", m.EnvoyID, m.PartyID)
				}
			}
			if want := c.party == "N" || c.party == "S"; (len(list) > 0) != want {
				return fmt.Errorf("lists %d mandates; want some: %v", len(list), want)
			}
			return nil
		},
	}
	// NE's mandate: the North's principal and advisors and NE read it;
	// another party's member names no envoy of its own party (404); 403
	// for facilitators and observers.
	matrixRules["GET /api/v1/talks/{id}/mandates/{envoy}"] = matrixRule{
		path: mandatePath,
		may: func(c matrixCase, _ target) int {
			switch {
			case !c.readsPrefs():
				return refused
			case c.party != "N":
				return notFound
			}
			return succeeds
		},
	}
	// Only the North's principal sets it; another party's principal names
	// no envoy of its own party (404); everyone else in the talk 403.
	matrixRules["PUT /api/v1/talks/{id}/mandates/{envoy}"] = matrixRule{
		path: mandatePath,
		body: func(*matrixTalk) any {
			return map[string]any{"allowed": map[string][]string{"line": {"1949", "1967"}}, "min_utility": 0.01}
		},
		may: func(c matrixCase, _ target) int {
			switch {
			case !c.readsPrefs() || c.role != talks.RolePrincipal:
				return refused
			case c.party != "N":
				return notFound
			}
			return succeeds
		},
	}
}
