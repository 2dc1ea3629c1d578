package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// The Mandates page of a talk (issue 6, part 4): a party's principal sets,
// per envoy, the values it allows on each issue (checkboxes) and a minimum
// utility under the party's preferences (a number field); the party's
// advisors read every mandate and an envoy reads its own, so that it knows
// its limits. Anyone else gets EFORBIDDEN from the Service.

func (h *Handler) mandateRoutes() []route {
	return []route{
		{"GET", "/talks/{id}/mandates", signedIn, h.handleMandates},
		{"POST", "/talks/{id}/mandates/{envoy}", signedIn, h.handleSaveMandate},
	}
}

// maxMandateChoices is the most values an issue may have to be shown as
// checkboxes; a larger issue is left as it is by the form.
const maxMandateChoices = 60

// mandateChoice is one value of an issue on the form.
type mandateChoice struct {
	Value   string
	Allowed bool
}

// mandateIssue is one issue of an envoy's mandate form.
type mandateIssue struct {
	Name    string
	Field   string // the checkboxes' form name
	Choices []mandateChoice
	Open    bool   // not limited
	TooMany bool   // more values than maxMandateChoices: not on the form
	Error   string // the Service's message about this issue
}

// mandateCard is one envoy's mandate.
type mandateCard struct {
	Envoy      *talks.Member
	Mandate    *talks.Mandate
	Issues     []mandateIssue
	MinUtility string // as typed, or as saved
	MinError   string
	Error      string // about the whole form
}

// mandatesPage is the data of the Mandates page.
type mandatesPage struct {
	*talkCtx
	PartyID  int64
	CanWrite bool
	HasPrefs bool
	Cards    []*mandateCard
}

func newMandateCard(sp *outcome.Space, e *talks.Member, m *talks.Mandate) *mandateCard {
	c := &mandateCard{Envoy: e, Mandate: m}
	if m.MinUtility != nil {
		c.MinUtility = strconv.FormatFloat(*m.MinUtility, 'g', -1, 64)
	}
	if sp == nil {
		return c
	}
	for i, is := range sp.Issues {
		allowed, limited := m.Allowed[is.Name]
		mi := mandateIssue{Name: is.Name, Field: fmt.Sprintf("i%d", i), Open: !limited, TooMany: is.Len() > maxMandateChoices}
		if !mi.TooMany {
			for j := range is.Len() {
				v := is.Value(j)
				mi.Choices = append(mi.Choices, mandateChoice{Value: v, Allowed: !limited || slices.Contains(allowed, v)})
			}
		}
		c.Issues = append(c.Issues, mi)
	}
	return c
}

func (h *Handler) loadMandates(r *http.Request, id int64) (*mandatesPage, error) {
	tc, err := h.loadTalk(r, id)
	if err != nil {
		return nil, err
	}
	if !tc.View.CanReadPreferences(tc.Me.PartyID) {
		return nil, talks.Errorf(talks.EFORBIDDEN, "Only a party's principal, advisors and envoys see its mandates.")
	}
	ms, err := h.svc.FindMandates(r.Context(), id, tc.Me.PartyID)
	if err != nil {
		return nil, err
	}
	p := &mandatesPage{talkCtx: tc, PartyID: tc.Me.PartyID, CanWrite: tc.View.CanWriteMandates(tc.Me.PartyID)}
	prefs, err := h.svc.FindPreferences(r.Context(), id, tc.Me.PartyID)
	if err != nil {
		return nil, err
	}
	p.HasPrefs = len(prefs) > 0
	for _, m := range ms {
		p.Cards = append(p.Cards, newMandateCard(tc.Talk.Space, tc.Member(m.EnvoyID), m))
	}
	return p, nil
}

// renderMandates renders the page, which follows the talk's stream: a
// reader who may not write mandates (an envoy, an advisor) sees each new
// mandate as it is saved. The forms of one who may are left as typed.
func (h *Handler) renderMandates(w http.ResponseWriter, r *http.Request, status int, p *mandatesPage) error {
	pg := h.page(r, "Mandates · "+p.Talk.Title, p)
	pg.Live = &Live{TalkID: p.Talk.ID, Head: p.View.Head()}
	return h.render(w, r, status, "mandates", pg)
}

func (h *Handler) handleMandates(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadMandates(r, id)
	if err != nil {
		return err
	}
	return h.renderMandates(w, r, http.StatusOK, p)
}

func (h *Handler) handleSaveMandate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	envoy, err := pathID(r, "envoy")
	if err != nil {
		return err
	}
	p, err := h.loadMandates(r, id)
	if err != nil {
		return err
	}
	if !p.CanWrite {
		return talks.Errorf(talks.EFORBIDDEN, "Only the party's principal sets its envoys' mandates.")
	}
	i := slices.IndexFunc(p.Cards, func(c *mandateCard) bool { return c.Envoy != nil && c.Envoy.ID == envoy })
	if i < 0 {
		return talks.Errorf(talks.ENOTFOUND, "Envoy not found.")
	}
	card := p.Cards[i]
	if err := r.ParseForm(); err != nil {
		return talks.Errorf(talks.EINVALID, "The form could not be read.")
	}
	// An issue with every value ticked is not limited; one the form does
	// not show keeps its limits.
	m := &talks.Mandate{TalkID: id, PartyID: p.PartyID, EnvoyID: envoy, Allowed: map[string][]string{}}
	for k := range card.Issues {
		is := &card.Issues[k]
		if is.TooMany {
			if a, ok := card.Mandate.Allowed[is.Name]; ok {
				m.Allowed[is.Name] = a
			}
			continue
		}
		ticked := r.PostForm[is.Field]
		for c := range is.Choices {
			is.Choices[c].Allowed = slices.Contains(ticked, is.Choices[c].Value)
		}
		if len(ticked) != len(is.Choices) {
			m.Allowed[is.Name] = ticked
		}
	}
	card.MinUtility = strings.TrimSpace(r.PostFormValue("min_utility"))
	if card.MinUtility != "" {
		x, err := strconv.ParseFloat(card.MinUtility, 64)
		if err != nil {
			card.MinError = "Enter a number from 0 to 1, or leave it empty for no minimum."
			return h.renderMandates(w, r, http.StatusUnprocessableEntity, p)
		}
		m.MinUtility = &x
	}
	if err := h.svc.SaveMandate(r.Context(), m); err != nil {
		if talks.ErrorCode(err) != talks.EINVALID {
			return err
		}
		msg := talks.ErrorMessage(err)
		switch {
		case strings.Contains(msg, "inimum utility"):
			card.MinError = msg
		default:
			card.Error = msg
			for k := range card.Issues {
				if strings.Contains(msg, fmt.Sprintf("issue %q", card.Issues[k].Name)) {
					card.Issues[k].Error, card.Error = msg, ""
				}
			}
		}
		return h.renderMandates(w, r, http.StatusUnprocessableEntity, p)
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d/mandates#envoy-%d", id, envoy), http.StatusSeeOther)
	return nil
}

// formStatus is the status of a form shown again with err: 403 for a
// refusal by mandate, else 422.
func formStatus(err error) int {
	if _, mandate := talks.MandateIssue(err); mandate {
		return http.StatusForbidden
	}
	return http.StatusUnprocessableEntity
}

// renderRefusedAnswer shows the page of version id again with the
// refusal of the viewer's acceptance by its mandate at the accept button.
func (h *Handler) renderRefusedAnswer(w http.ResponseWriter, r *http.Request, id int64, refusal error) error {
	pid, err := h.proposalOf(r, id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	q.Set("version", strconv.FormatInt(id, 10))
	r.URL.RawQuery = q.Encode()
	p, err := h.loadProposal(r, pid)
	if err != nil {
		return err
	}
	p.AnswerError = talks.ErrorMessage(refusal)
	return h.render(w, r, http.StatusForbidden, "proposal", h.proposalFrame(r, p))
}
