package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// Pages of a party's private preferences (issue 6): "My preferences" of a
// talk, with the form, the import of a GENIUS or GeniusWeb file, the
// party's own utility of every version plotted over time, and the mediator's
// suggestions for a version. Only the party's principal, envoys and
// advisors get the preferences page (the Service says EFORBIDDEN to anyone
// else); the suggestions page shows each viewer its own party's gain only.

func (h *Handler) preferenceRoutes() []route {
	return []route{
		{"GET", "/talks/{id}/preferences", signedIn, h.handlePreferences},
		{"POST", "/talks/{id}/preferences", signedIn, h.handleSavePreferences},
		{"POST", "/talks/{id}/preferences/import", signedIn, h.handleImportPreferences},
		{"GET", "/versions/{id}/suggestions", signedIn, h.handleSuggestions},
	}
}

// prefField is one number field of the preferences form.
type prefField struct {
	Name  string // the form field
	Label string
	Value string // as typed, or as saved
	Error string
}

// prefIssue is one issue of the form: its weight and a score per value.
type prefIssue struct {
	Name   string
	Weight prefField
	Scores []prefField
}

// prefsForm is the preferences form, with what was typed and the errors.
type prefsForm struct {
	Issues   []prefIssue
	Reserved prefField
	Error    string // about the whole form
}

// chartData is what static/utility-chart.js plots: one point per version,
// x in Unix seconds.
type chartData struct {
	X        []int64   `json:"x"`
	Utility  []float64 `json:"utility"`
	Reserved []float64 `json:"reserved"`
	Labels   []string  `json:"labels"`
}

// prefsPage is the data of "My preferences".
type prefsPage struct {
	*talkCtx
	PartyID     int64
	CanWrite    bool
	History     []*talks.Preferences
	Latest      *talks.Preferences
	Form        *prefsForm
	ImportError string
	Standing    *talks.Standing
	Chart       *chartData // nil if there is nothing to plot
}

// Pct formats a utility in [0, 1] as a percentage.
func (p *prefsPage) Pct(u float64) string { return fmt.Sprintf("%.1f%%", 100*u) }

func newPrefsForm(sp *outcome.Space, pr *talks.Preferences) *prefsForm {
	f := &prefsForm{Reserved: prefField{Name: "reserved", Label: "Reserved value", Value: "0"}}
	if sp == nil {
		return f
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	if pr != nil {
		f.Reserved.Value = num(pr.Reserved)
	}
	for i, is := range sp.Issues {
		pi := prefIssue{Name: is.Name, Weight: prefField{Name: fmt.Sprintf("w%d", i), Label: "Weight of " + is.Name, Value: "1"}}
		if pr != nil {
			pi.Weight.Value = num(pr.Weights[is.Name])
		}
		for j := range is.Len() {
			val := is.Value(j)
			sf := prefField{Name: fmt.Sprintf("s%d.%d", i, j), Label: val, Value: "0"}
			if pr != nil {
				sf.Value = num(pr.Scores[is.Name][val])
			}
			pi.Scores = append(pi.Scores, sf)
		}
		f.Issues = append(f.Issues, pi)
	}
	return f
}

// read fills the form from r and returns the preferences it says, or nil
// if some field is not a number (the error is then next to it).
func (f *prefsForm) read(r *http.Request, sp *outcome.Space) *talks.Preferences {
	p := &talks.Preferences{Weights: map[string]float64{}, Scores: map[string]map[string]float64{}}
	ok := true
	parse := func(fd *prefField) float64 {
		fd.Value = strings.TrimSpace(r.PostFormValue(fd.Name))
		x, err := strconv.ParseFloat(fd.Value, 64)
		if err != nil {
			fd.Error = "Enter a number."
			ok = false
		}
		return x
	}
	for i := range f.Issues {
		is := &f.Issues[i]
		p.Weights[is.Name] = parse(&is.Weight)
		p.Scores[is.Name] = map[string]float64{}
		for j := range is.Scores {
			p.Scores[is.Name][is.Scores[j].Label] = parse(&is.Scores[j])
		}
	}
	p.Reserved = parse(&f.Reserved)
	if !ok {
		f.Error = "Some fields are not numbers; see below."
		return nil
	}
	return p
}

// explain puts the Service's message next to the field it is about: a
// weight or a score of a named issue and value, or the reserved value.
func (f *prefsForm) explain(err error) {
	msg := talks.ErrorMessage(err)
	for i := range f.Issues {
		is := &f.Issues[i]
		for j := range is.Scores {
			if strings.Contains(msg, fmt.Sprintf("Score of %q for issue %q", is.Scores[j].Label, is.Name)) {
				is.Scores[j].Error = msg
				return
			}
		}
		if strings.Contains(msg, fmt.Sprintf("issue %q", is.Name)) {
			is.Weight.Error = msg
			return
		}
	}
	if strings.HasPrefix(msg, "Reserved") {
		f.Reserved.Error = msg
		return
	}
	f.Error = msg
}

func (h *Handler) loadPrefs(r *http.Request, id int64) (*prefsPage, error) {
	tc, err := h.loadTalk(r, id)
	if err != nil {
		return nil, err
	}
	if !tc.View.CanReadPreferences(tc.Me.PartyID) {
		return nil, talks.Errorf(talks.EFORBIDDEN, "Only a party's principal, envoys and advisors see its preferences.")
	}
	p := &prefsPage{talkCtx: tc, PartyID: tc.Me.PartyID, CanWrite: tc.View.CanWritePreferences(tc.Me.PartyID)}
	if p.History, err = h.svc.FindPreferences(r.Context(), id, tc.Me.PartyID); err != nil {
		return nil, err
	}
	if n := len(p.History); n > 0 {
		p.Latest = p.History[n-1]
	}
	if p.Standing, err = h.svc.Standing(r.Context(), id); err != nil {
		return nil, err
	}
	if p.Standing.Preferences != nil && len(p.Standing.Versions) > 0 {
		c := &chartData{}
		for _, v := range p.Standing.Versions {
			c.X = append(c.X, v.Version.CreatedAt.Unix())
			c.Utility = append(c.Utility, v.Utility)
			c.Reserved = append(c.Reserved, p.Standing.Preferences.Reserved)
			c.Labels = append(c.Labels, fmt.Sprintf("%s, version %d", v.Proposal.Title, v.Version.ID))
		}
		p.Chart = c
	}
	p.Form = newPrefsForm(tc.Talk.Space, p.Latest)
	return p, nil
}

func (h *Handler) renderPrefs(w http.ResponseWriter, r *http.Request, status int, p *prefsPage) error {
	return h.render(w, r, status, "preferences", h.page(r, "My preferences · "+p.Talk.Title, p))
}

func (h *Handler) handlePreferences(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadPrefs(r, id)
	if err != nil {
		return err
	}
	return h.renderPrefs(w, r, http.StatusOK, p)
}

func (h *Handler) handleSavePreferences(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadPrefs(r, id)
	if err != nil {
		return err
	}
	if !p.CanWrite {
		return talks.Errorf(talks.EFORBIDDEN, "Only the party's principal and envoys may change its preferences.")
	}
	pr := p.Form.read(r, p.Talk.Space)
	if pr == nil {
		return h.renderPrefs(w, r, http.StatusUnprocessableEntity, p)
	}
	pr.TalkID, pr.PartyID = id, p.PartyID
	if err := h.svc.SavePreferences(r.Context(), pr); err != nil {
		if talks.ErrorCode(err) != talks.EINVALID {
			return err
		}
		p.Form.explain(err)
		return h.renderPrefs(w, r, http.StatusUnprocessableEntity, p)
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d/preferences", id), http.StatusSeeOther)
	return nil
}

func (h *Handler) handleImportPreferences(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadPrefs(r, id)
	if err != nil {
		return err
	}
	if !p.CanWrite {
		return talks.Errorf(talks.EFORBIDDEN, "Only the party's principal and envoys may change its preferences.")
	}
	file, _, err := r.FormFile("profile")
	if err != nil {
		p.ImportError = "Choose a GENIUS XML or GeniusWeb JSON profile file (at most 4 MiB)."
		return h.renderPrefs(w, r, http.StatusUnprocessableEntity, p)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, talks.MaxProfileLen+1))
	if err != nil {
		return err
	}
	pr, err := talks.ImportPreferences(p.Talk.Space, r.PostFormValue("format"), data)
	if err == nil {
		pr.TalkID, pr.PartyID = id, p.PartyID
		err = h.svc.SavePreferences(r.Context(), pr)
	}
	if err != nil {
		if talks.ErrorCode(err) != talks.EINVALID {
			return err
		}
		p.ImportError = talks.ErrorMessage(err)
		return h.renderPrefs(w, r, http.StatusUnprocessableEntity, p)
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d/preferences", id), http.StatusSeeOther)
	return nil
}

// suggestionsPage is the data of a version's mediator suggestions.
type suggestionsPage struct {
	*talkCtx
	Proposal    *talks.Proposal
	Version     *talks.Version
	Rows        []valueRow
	Suggestions *talks.Suggestions
	Items       []suggestionItem
	CanCounter  bool
}

// suggestionItem is one suggestion with its table of values.
type suggestionItem struct {
	*talks.Suggestion
	Rows  []valueRow
	Title string
}

// EditURL returns the proposal page with the counter form prefilled with
// the suggestion's values.
func (s suggestionItem) EditURL(p *suggestionsPage) string {
	q := url.Values{"version": {strconv.FormatInt(p.Version.ID, 10)}}
	for k, v := range s.Values {
		q.Set("value:"+k, v)
	}
	return fmt.Sprintf("/proposals/%d?%s#counter", p.Proposal.ID, q.Encode())
}

// Gains reports whether the viewer's own party gains.
func (s suggestionItem) Gains() bool { return s.Gain != nil && *s.Gain > 0 }

// GainPct formats the viewer's own gain.
func (s suggestionItem) GainPct() string { return fmt.Sprintf("%+.1f points", 100**s.Gain) }

func (h *Handler) handleSuggestions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ver, err := h.svc.FindVersionByID(r.Context(), id)
	if err != nil {
		return err
	}
	prop, err := h.svc.FindProposalByID(r.Context(), ver.ProposalID)
	if err != nil {
		return err
	}
	tc, err := h.loadTalk(r, prop.TalkID)
	if err != nil {
		return err
	}
	sg, err := h.svc.Suggestions(r.Context(), id)
	if err != nil {
		return err
	}
	p := &suggestionsPage{talkCtx: tc, Proposal: prop, Version: ver, Suggestions: sg,
		CanCounter: tc.Talk.Status == talks.StatusOpen && tc.View.CanPropose()}
	p.Rows = rowsOf(tc.Talk.Space, ver)
	titles := map[talks.SuggestionKind]string{talks.SuggestImprovement: "Improvement", talks.SuggestNash: "Nash package of the whole space",
		talks.SuggestKalaiSmorodinsky: "Kalai-Smorodinsky package of the whole space"}
	n := 0
	for _, it := range sg.Items {
		title := titles[it.Kind]
		if it.Kind == talks.SuggestImprovement {
			n++
			title = fmt.Sprintf("Improvement %d", n)
		}
		p.Items = append(p.Items, suggestionItem{Suggestion: it, Title: title, Rows: rowsOf(tc.Talk.Space, &talks.Version{Values: it.Values, Clauses: ver.Clauses})})
	}
	return h.render(w, r, http.StatusOK, "suggestions", h.page(r, "Suggestions · "+prop.Title, p))
}
