package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/backchannel/backchannel/agent"
	"github.com/backchannel/backchannel/internal/talks"
)

// The rehearsal page (issue 6, part 8): a party's principal, envoys and
// advisors simulate the rest of the negotiation against a model of the
// other side fitted to its offers, and see the outcomes in their own
// utility only, as an estimate. A rehearsal writes nothing, so the form is
// a GET: the result is a function of the query and the talk's state, and
// a link to it reproduces it.

func (h *Handler) rehearsalRoutes() []route {
	return []route{
		{"GET", "/talks/{id}/rehearsal", signedIn, h.handleRehearsal},
	}
}

// rehearsalForm is the form, as typed.
type rehearsalForm struct {
	OwnAgent, OpponentAgent string
	Runs, Rounds            string
	Error                   string
}

// histogramData is what static/rehearsal-chart.js plots: the runs that
// agreed, by bin of the viewer's utility, and the share without agreement.
type histogramData struct {
	X        []float64 `json:"x"` // the middle of each bin
	Count    []int     `json:"count"`
	Reserved float64   `json:"reserved"`
}

// rehearsalPage is the data of the rehearsal page.
type rehearsalPage struct {
	*talkCtx
	PartyID  int64
	HasPrefs bool
	Agents   []string
	Form     rehearsalForm
	Result   *talks.Rehearsal
	Chart    *histogramData
	Likely   []issueValue // the likely agreement, in the space's issue order
	MaxRuns  int
}

type issueValue struct{ Issue, Value string }

// Pct formats a share or a utility in [0, 1] as a percentage.
func (p *rehearsalPage) Pct(u float64) string { return fmt.Sprintf("%.1f%%", 100*u) }

// Bin names histogram bin i.
func (p *rehearsalPage) Bin(i int) string {
	lo, hi := 100*i/talks.RehearsalBins, 100*(i+1)/talks.RehearsalBins
	if i == talks.RehearsalBins-1 {
		return fmt.Sprintf("%d–%d%%", lo, hi)
	}
	return fmt.Sprintf("%d–%d%% (not %d)", lo, hi, hi)
}

func (h *Handler) handleRehearsal(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	tc, err := h.loadTalk(r, id)
	if err != nil {
		return err
	}
	if !tc.View.CanReadPreferences(tc.Me.PartyID) {
		return talks.Errorf(talks.EFORBIDDEN, "Only a party's principal, envoys and advisors may rehearse its negotiation.")
	}
	p := &rehearsalPage{talkCtx: tc, PartyID: tc.Me.PartyID, Agents: agent.Names(), MaxRuns: talks.MaxRehearsalRuns}
	hist, err := h.svc.FindPreferences(r.Context(), id, tc.Me.PartyID)
	if err != nil {
		return err
	}
	p.HasPrefs = len(hist) > 0
	q := r.URL.Query()
	p.Form = rehearsalForm{
		OwnAgent:      orDefault(q.Get("own_agent"), "boulware"),
		OpponentAgent: orDefault(q.Get("opponent_agent"), "boulware"),
		Runs:          orDefault(q.Get("runs"), strconv.Itoa(talks.DefaultRehearsalRuns)),
		Rounds:        orDefault(q.Get("rounds"), strconv.Itoa(talks.DefaultRehearsalRounds)),
	}
	status := http.StatusOK
	if p.HasPrefs && q.Has("run") {
		req := talks.RehearsalRequest{OwnAgent: p.Form.OwnAgent, OpponentAgent: p.Form.OpponentAgent}
		runs, err1 := strconv.Atoi(strings.TrimSpace(p.Form.Runs))
		rounds, err2 := strconv.Atoi(strings.TrimSpace(p.Form.Rounds))
		switch {
		case err1 != nil || runs < 1:
			p.Form.Error = fmt.Sprintf("Runs must be a whole number from 1 to %d.", talks.MaxRehearsalRuns)
		case err2 != nil || rounds < 1:
			p.Form.Error = fmt.Sprintf("Rounds must be a whole number from 1 to %d.", talks.MaxRehearsalRounds)
		default:
			req.Runs, req.Rounds = runs, rounds
			res, err := h.svc.Rehearse(r.Context(), id, req)
			if talks.ErrorCode(err) == talks.EINVALID {
				p.Form.Error = talks.ErrorMessage(err)
			} else if err != nil {
				return err
			} else {
				p.setResult(res)
			}
		}
		if p.Form.Error != "" {
			status = http.StatusUnprocessableEntity
		}
	}
	return h.render(w, r, status, "rehearsal", h.page(r, "Rehearsal · "+tc.Talk.Title, p))
}

func (p *rehearsalPage) setResult(res *talks.Rehearsal) {
	p.Result = res
	c := &histogramData{Reserved: res.Reserved}
	for i, n := range res.Histogram {
		c.X = append(c.X, (float64(i)+0.5)/talks.RehearsalBins)
		c.Count = append(c.Count, n)
	}
	p.Chart = c
	if res.Likely != nil && p.Talk.Space != nil {
		for _, is := range p.Talk.Space.Issues {
			p.Likely = append(p.Likely, issueValue{is.Name, res.Likely.Values[is.Name]})
		}
	}
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}
