package web

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// The single negotiating text in the browser: a proposal's lineage of
// versions, the selected version, the difference of any two, the parties'
// answers, the counter form, a new proposal in a track, and the agreed text.
// Every form is a plain POST that redirects (303) on success, so that it
// works without JavaScript; live updates come from the talk's event stream.

func (h *Handler) proposalRoutes() []route {
	return []route{
		{"GET", "/proposals/{id}", signedIn, h.handleProposal},
		{"POST", "/versions/{id}/counter", signedIn, h.handleCounter},
		{"POST", "/versions/{id}/answer", signedIn, h.handleAnswer},
		{"POST", "/answers/{id}/withdraw", signedIn, h.handleWithdrawAnswer},
		{"GET", "/tracks/{id}/proposals/new", signedIn, h.handleNewProposal},
		{"POST", "/tracks/{id}/proposals", signedIn, h.handleCreateProposal},
		{"GET", "/talks/{id}/agreement", signedIn, h.handleAgreement},
	}
}

// versionForm is what a form that drafts a version holds: a value and
// clause text per issue and a rationale, as typed, with errors by field
// name ("value:ISSUE", "clause:ISSUE", "rationale", "title", "" for the
// whole form).
type versionForm struct {
	Space     *outcome.Space
	Title     string // only for a new proposal
	Values    map[string]string
	Clauses   map[string]string
	Rationale string
	Errors    formErrors
	Blank     bool // offer an empty choice: a new proposal starts from nothing
}

// Value returns the value typed for issue name.
func (f *versionForm) Value(name string) string { return f.Values[name] }

// Clause returns the clause text typed for issue name.
func (f *versionForm) Clause(name string) string { return f.Clauses[name] }

// ValueError returns the error next to the value of issue name.
func (f *versionForm) ValueError(name string) string { return f.Errors["value:"+name] }

// ClauseError returns the error next to the clause of issue name.
func (f *versionForm) ClauseError(name string) string { return f.Errors["clause:"+name] }

// readVersionForm reads a version's fields from r's form, as typed: every
// "value:ISSUE" and "clause:ISSUE" field, the rationale and the title. It
// needs no outcome space: the Service checks the issues, and refuses those
// the talk does not have.
func readVersionForm(r *http.Request) *versionForm {
	f := &versionForm{Values: map[string]string{}, Clauses: map[string]string{},
		Rationale: r.PostFormValue("rationale"), Title: r.PostFormValue("title"), Errors: formErrors{}}
	for k, vs := range r.PostForm {
		if len(vs) == 0 {
			continue
		}
		if issue, ok := strings.CutPrefix(k, "value:"); ok {
			f.Values[issue] = vs[0]
		} else if issue, ok := strings.CutPrefix(k, "clause:"); ok {
			f.Clauses[issue] = vs[0]
		}
	}
	return f
}

// version returns the version the form describes: blank clauses are none.
func (f *versionForm) version() *talks.Version {
	v := &talks.Version{Values: map[string]string{}, Rationale: f.Rationale}
	for name, val := range f.Values {
		v.Values[name] = strings.TrimSpace(val)
	}
	for name, text := range f.Clauses {
		if strings.TrimSpace(text) == "" {
			continue
		}
		if v.Clauses == nil {
			v.Clauses = map[string]string{}
		}
		v.Clauses[name] = text
	}
	return v
}

// explain places the Service's EINVALID err next to the fields it is about.
// The Service validates; this only finds, with the same engine predicates,
// which fields were at fault, and else shows err's message for the whole
// form.
func (f *versionForm) explain(err error) {
	if issue, ok := talks.MandateIssue(err); ok {
		if issue != "" {
			f.Errors["value:"+issue] = talks.ErrorMessage(err)
		} else {
			f.Errors[""] = talks.ErrorMessage(err)
		}
		return
	}
	if f.Space != nil {
		for _, is := range f.Space.Issues {
			val, ok := f.Values[is.Name]
			if !ok || strings.TrimSpace(val) == "" {
				f.Errors["value:"+is.Name] = "Choose a value for " + is.Name + "."
			} else if _, err := is.Index(strings.TrimSpace(val)); err != nil {
				f.Errors["value:"+is.Name] = fmt.Sprintf("%q is not a value of %s; choose %s.", val, is.Name, describeValues(is))
			}
			if len(f.Clauses[is.Name]) > talks.MaxClauseLen {
				f.Errors["clause:"+is.Name] = fmt.Sprintf("The clause is longer than %d bytes.", talks.MaxClauseLen)
			}
		}
	}
	if len(f.Rationale) > talks.MaxRationaleLen {
		f.Errors["rationale"] = fmt.Sprintf("The rationale is longer than %d bytes.", talks.MaxRationaleLen)
	}
	if strings.Contains(strings.ToLower(talks.ErrorMessage(err)), "title") {
		f.Errors["title"] = talks.ErrorMessage(err)
	}
	if len(f.Errors) == 0 {
		f.Errors[""] = talks.ErrorMessage(err)
	}
}

// describeValues says which values issue is takes, for an error message.
func describeValues(is outcome.Issue) string {
	switch is.Kind {
	case outcome.Integer:
		return fmt.Sprintf("a whole number from %d to %d", is.Lower, is.Upper)
	case outcome.Real:
		return fmt.Sprintf("a number from %g to %g in steps of %g", is.Low, is.High, is.Step)
	}
	return "one of " + strings.Join(is.Values, ", ")
}

// versionNode is one version in the lineage tree.
type versionNode struct {
	Version  *talks.Version
	Label    string // "Version 2"
	Who      string
	Current  bool
	Agreed   bool // the talk's agreement
	Children []*versionNode
}

// MaxSummary is how much of a version's rationale the lineage tree shows,
// in runes.
const MaxSummary = 160

// Summary returns the start of the version's rationale.
func (n *versionNode) Summary() string {
	s := strings.Join(strings.Fields(n.Version.Rationale), " ")
	if r := []rune(s); len(r) > MaxSummary {
		return string(r[:MaxSummary-1]) + "…"
	}
	return s
}

// valueRow is one issue of a version.
type valueRow struct {
	Issue, Value, Clause string
}

// diffRow is one issue of the difference of two versions.
type diffRow struct {
	Issue         string
	From, To      string
	FromClause    string
	ToClause      string
	Changed       bool
	ValueChanged  bool
	ClauseChanged bool
}

// partyAnswer is a party's answer to the selected version: the standing
// one, if any, and those it withdrew.
type partyAnswer struct {
	Party     *talks.Party
	Standing  *talks.Answer
	Withdrawn []*talks.Answer
}

// proposalPage is the data of a proposal's page.
type proposalPage struct {
	*talkCtx
	Track     *talks.Track
	Proposal  *talks.Proposal
	Versions  []*talks.Version
	Labels    map[int64]string // version ID to "Version N"
	Tree      []*versionNode
	Selected  *talks.Version
	Rows      []valueRow
	Answers   []partyAnswer
	Mine      *talks.Answer // the viewer's party's standing answer to Selected
	Agreement *talks.Agreement
	Open      bool // the talk is open: its text may change
	// CrossesRedLine: Selected falls below some stakeholder's red line
	// (stakeholders.go); whose, and by how much, is not said.
	CrossesRedLine bool
	// Signed: Selected carries its author's member signature; SignedOwnKey
	// that the author held its own key (keys.go).
	Signed, SignedOwnKey bool

	// Carried marks a proposal carried from a back-channel; CarriedOpen
	// that it still takes answers although the talk is agreed
	// (disclosure.go).
	Carried, CarriedOpen bool

	DiffA, DiffB *talks.Version
	Diff         []diffRow
	DiffCount    int

	Counter *versionForm // nil if the viewer may not counter Selected
	// CounterBlocked says why a member who may propose cannot counter
	// Selected now, where the page does not say so elsewhere: the talk is
	// closed, or its party has answered Selected. A counter form left
	// open shows it in place of its submit button (counter-status).
	CounterBlocked string
	// AnswerError is the refusal of the viewer's acceptance by its
	// mandate, shown at the accept button.
	AnswerError string
	Prefilled   bool // the counter form holds a suggestion's values

	// query is what the page was asked for: version, a and b, each only
	// if given. Live regions reload with it, so that a page that shows the
	// latest version moves on to a newer one, text and answers together,
	// and a page of a given version stays on it.
	query url.Values
}

// CanAnswer reports whether the viewer may accept or reject the selected
// version now: one who speaks for a party, while the talk is open and its
// party has no standing answer to it.
func (p *proposalPage) CanAnswer() bool {
	return (p.Open || p.CarriedOpen) && p.View.CanAnswer() && p.Mine == nil
}

// CanWithdraw reports whether the viewer may withdraw its party's standing
// answer.
func (p *proposalPage) CanWithdraw() bool {
	return (p.Open || p.CarriedOpen) && p.View.CanAnswer() && p.Mine != nil
}

// Label returns the label of version id.
func (p *proposalPage) Label(id int64) string { return p.Labels[id] }

// URL returns the address the page's live regions reload from: the page as
// it was asked for.
func (p *proposalPage) URL() string {
	u := fmt.Sprintf("/proposals/%d", p.Proposal.ID)
	if len(p.query) > 0 {
		u += "?" + p.query.Encode()
	}
	return u
}

// Latest returns the latest version of the proposal.
func (p *proposalPage) Latest() *talks.Version { return p.Versions[len(p.Versions)-1] }

// queryVersion returns the version named by query parameter name among vs,
// def if the parameter is absent, or ENOTFOUND if it names no version of
// the proposal.
func queryVersion(r *http.Request, name string, vs []*talks.Version, def *talks.Version) (*talks.Version, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		if v := versionByID(vs, id); v != nil {
			return v, nil
		}
	}
	return nil, talks.Errorf(talks.ENOTFOUND, "Version not found.")
}

// versionByID returns version id among vs, or nil.
func versionByID(vs []*talks.Version, id int64) *talks.Version {
	if i := slices.IndexFunc(vs, func(v *talks.Version) bool { return v.ID == id }); i >= 0 {
		return vs[i]
	}
	return nil
}

// loadProposal reads the page of proposal id as the acting user, with the
// version selected by the query (default the latest) and the comparison of
// a and b (default the selected version and its parent).
func (h *Handler) loadProposal(r *http.Request, id int64) (*proposalPage, error) {
	ctx := r.Context()
	prop, err := h.svc.FindProposalByID(ctx, id)
	if err != nil {
		return nil, err
	}
	tr, err := h.svc.FindTrackByID(ctx, prop.TrackID)
	if err != nil {
		return nil, err
	}
	tc, err := h.loadTalk(r, prop.TalkID)
	if err != nil {
		return nil, err
	}
	vs, err := h.svc.FindVersions(ctx, talks.VersionFilter{ProposalID: id})
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("web: proposal %d has no version", id)
	}
	p := &proposalPage{talkCtx: tc, Track: tr, Proposal: prop, Versions: vs, Labels: map[int64]string{},
		Open: tc.Talk.Status == talks.StatusOpen}
	for i, v := range vs {
		p.Labels[v.ID] = "Version " + strconv.Itoa(i+1)
	}
	p.query = url.Values{}
	for _, k := range []string{"version", "a", "b"} {
		if v := r.URL.Query().Get(k); v != "" {
			p.query.Set(k, v)
		}
	}
	if p.Selected, err = queryVersion(r, "version", vs, vs[len(vs)-1]); err != nil {
		return nil, err
	}
	p.Rows = rowsOf(tc.Talk.Space, p.Selected)
	if p.Signed, p.SignedOwnKey, err = h.versionSignature(ctx, tc.Talk.ID, p.Selected.ID); err != nil {
		return nil, err
	}
	if p.CrossesRedLine, err = h.svc.CrossesRedLine(ctx, p.Selected.ID); err != nil {
		return nil, err
	}

	answers, err := h.svc.FindAnswers(ctx, talks.AnswerFilter{VersionID: p.Selected.ID})
	if err != nil {
		return nil, err
	}
	for _, party := range tc.Parties {
		pa := partyAnswer{Party: party}
		for _, a := range answers {
			if a.PartyID != party.ID {
				continue
			}
			if a.Standing() {
				pa.Standing = a
			} else {
				pa.Withdrawn = append(pa.Withdrawn, a)
			}
		}
		if pa.Standing != nil && tc.Me.PartyID == party.ID {
			p.Mine = pa.Standing
		}
		p.Answers = append(p.Answers, pa)
	}

	if p.Agreement, err = h.svc.FindAgreement(ctx, tc.Talk.ID); err != nil {
		if talks.ErrorCode(err) != talks.ENOTFOUND {
			return nil, err
		}
		p.Agreement = nil
	}
	p.Tree = p.tree()

	parent := p.Selected
	if v := versionByID(vs, p.Selected.ParentID); v != nil {
		parent = v
	}
	if p.DiffA, err = queryVersion(r, "a", vs, parent); err != nil {
		return nil, err
	}
	if p.DiffB, err = queryVersion(r, "b", vs, p.Selected); err != nil {
		return nil, err
	}
	p.Diff, p.DiffCount = diffRows(tc.Talk.Space, p.DiffA, p.DiffB)

	if p.Carried, p.CarriedOpen, err = h.carried(r, tc, prop); err != nil {
		return nil, err
	}
	// Why one who proposes cannot counter, where nothing else on the page
	// says so (an agreed talk shows its agreement).
	switch {
	case !tc.View.CanPropose() || tc.Talk.Space == nil:
	case tc.Talk.Status == talks.StatusClosed:
		p.CounterBlocked = "The talk is closed: its text does not change unless it opens again."
	case p.Open && tc.View.CanAnswer() && p.Mine != nil:
		p.CounterBlocked = fmt.Sprintf("%s has answered %s: withdraw its answer to counter it.", p.PartyName(tc.Me.PartyID), p.Label(p.Selected.ID))
	}
	// A party that has answered the version has countered it or must
	// withdraw its answer first (the Service says ECONFLICT); a
	// facilitator's counter is a redraft and answers for no one.
	if p.Open && tc.View.CanPropose() && tc.Talk.Space != nil && (!tc.View.CanAnswer() || p.Mine == nil) {
		p.Counter = &versionForm{Space: tc.Talk.Space, Values: p.Selected.Values, Clauses: p.Selected.Clauses, Errors: formErrors{}}
		// A mediator's suggestion opens the form prefilled with its
		// values (value:ISSUE in the query); the viewer still submits it.
		q := r.URL.Query()
		for _, is := range tc.Talk.Space.Issues {
			if v := q.Get("value:" + is.Name); v != "" {
				if !p.Prefilled {
					p.Counter.Values = maps.Clone(p.Selected.Values)
					p.Prefilled = true
				}
				p.Counter.Values[is.Name] = v
			}
		}
	}
	return p, nil
}

// tree returns the lineage of p.Versions, children under their parents in
// ascending ID order.
func (p *proposalPage) tree() []*versionNode {
	nodes := make(map[int64]*versionNode, len(p.Versions))
	var roots []*versionNode
	for _, v := range p.Versions {
		n := &versionNode{Version: v, Label: p.Labels[v.ID], Who: p.Who(v.AuthorID), Current: v.ID == p.Selected.ID,
			Agreed: p.Agreement != nil && p.Agreement.VersionID == v.ID}
		nodes[v.ID] = n
		if parent := nodes[v.ParentID]; parent != nil {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	return roots
}

// rowsOf returns version v issue by issue, in the order of space's issues
// (or of the issue names, without a space).
func rowsOf(space *outcome.Space, v *talks.Version) []valueRow {
	var rows []valueRow
	for _, name := range issueNames(space, v) {
		rows = append(rows, valueRow{Issue: name, Value: v.Values[name], Clause: v.Clauses[name]})
	}
	return rows
}

func issueNames(space *outcome.Space, v *talks.Version) []string {
	if space != nil {
		names := make([]string, len(space.Issues))
		for i, is := range space.Issues {
			names[i] = is.Name
		}
		return names
	}
	names := make([]string, 0, len(v.Values))
	for name := range v.Values {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// diffRows returns every issue of a and b, marking those talks.Diff says
// changed, and how many changed.
func diffRows(space *outcome.Space, a, b *talks.Version) ([]diffRow, int) {
	if space == nil {
		return nil, 0
	}
	changed := map[string]talks.IssueDiff{}
	for _, d := range talks.Diff(space, a, b) {
		changed[d.Issue] = d
	}
	rows := make([]diffRow, 0, len(space.Issues))
	for _, is := range space.Issues {
		d, ok := changed[is.Name]
		rows = append(rows, diffRow{Issue: is.Name, From: a.Values[is.Name], To: b.Values[is.Name],
			FromClause: a.Clauses[is.Name], ToClause: b.Clauses[is.Name],
			Changed: ok, ValueChanged: ok && d.From != d.To, ClauseChanged: ok && d.ClauseChanged})
	}
	return rows, len(changed)
}

// proposalFrame returns the frame of a page of proposal p: live on the
// talk, and in back-channel colours when its track is one.
func (h *Handler) proposalFrame(r *http.Request, p *proposalPage) *Page {
	return h.trackFrame(r, p.Proposal.Title+" · "+p.Talk.Title, p, p.View, p.Track)
}

func (h *Handler) handleProposal(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadProposal(r, id)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "proposal", h.proposalFrame(r, p))
}

// proposalOf returns the proposal ID of version id, as the acting user
// sees it, for a redirect or a page after a write to it.
func (h *Handler) proposalOf(r *http.Request, versionID int64) (int64, error) {
	v, err := h.svc.FindVersionByID(r.Context(), versionID)
	if err != nil {
		return 0, err
	}
	return v.ProposalID, nil
}

// wroteProposal names the talk of proposal id as written to, so that its
// event streams are woken.
func (h *Handler) wroteProposal(r *http.Request, id int64) {
	if p, err := h.svc.FindProposalByID(r.Context(), id); err == nil {
		wrote(r, p.TalkID)
	}
}

func (h *Handler) handleCounter(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	// The path names the version countered; the form's hidden parent
	// field is for readers of the form, and never overrides it.
	f := readVersionForm(r)
	ver := f.version()
	ver.ParentID = id
	err = h.svc.ProposeVersion(r.Context(), ver)
	if err == nil {
		h.wroteProposal(r, ver.ProposalID)
		http.Redirect(w, r, fmt.Sprintf("/proposals/%d?version=%d", ver.ProposalID, ver.ID), http.StatusSeeOther)
		return nil
	}
	if _, mandate := talks.MandateIssue(err); talks.ErrorCode(err) != talks.EINVALID && !mandate {
		return err
	}
	pid, perr := h.proposalOf(r, id)
	if perr != nil {
		return perr
	}
	q := r.URL.Query()
	q.Set("version", strconv.FormatInt(id, 10))
	r.URL.RawQuery = q.Encode()
	p, lerr := h.loadProposal(r, pid)
	if lerr != nil {
		return lerr
	}
	f.Space = p.Talk.Space
	f.explain(err)
	p.Counter = f
	return h.render(w, r, formStatus(err), "proposal", h.proposalFrame(r, p))
}

func (h *Handler) handleAnswer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a := &talks.Answer{VersionID: id, Kind: talks.AnswerKind(r.PostFormValue("kind"))}
	if err := h.svc.AnswerVersion(r.Context(), a); err != nil {
		if _, mandate := talks.MandateIssue(err); mandate {
			return h.renderRefusedAnswer(w, r, id, err)
		}
		return err
	}
	h.wroteProposal(r, a.ProposalID)
	http.Redirect(w, r, fmt.Sprintf("/proposals/%d?version=%d#answers", a.ProposalID, id), http.StatusSeeOther)
	return nil
}

func (h *Handler) handleWithdrawAnswer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := h.svc.WithdrawAnswer(r.Context(), id)
	if err != nil {
		return err
	}
	h.wroteProposal(r, a.ProposalID)
	// The form says where it came from; only a version's page is a target.
	target := "/"
	if vid, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64); err == nil && vid > 0 {
		if pid, err := h.proposalOf(r, vid); err == nil {
			target = fmt.Sprintf("/proposals/%d?version=%d#answers", pid, vid)
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// newProposalPage is the data of the form for a new proposal in a track.
type newProposalPage struct {
	*talkCtx
	Track *talks.Track
	Form  *versionForm
}

// loadNewProposal reads the track of a new proposal; a viewer who may see
// the track but not propose in it gets EFORBIDDEN, as the form would.
func (h *Handler) loadNewProposal(r *http.Request) (*newProposalPage, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	tr, err := h.svc.FindTrackByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	tc, err := h.loadTalk(r, tr.TalkID)
	if err != nil {
		return nil, err
	}
	if !tc.View.CanPropose() || !tc.View.CanPost(tr) {
		return nil, talks.Errorf(talks.EFORBIDDEN, "Only a principal, an envoy or a facilitator on this track may put a proposal on the table here.")
	}
	if tc.Talk.Status != talks.StatusOpen {
		return nil, talks.Errorf(talks.ECONFLICT, "The talk is %s; its text no longer changes.", tc.Talk.Status)
	}
	if tc.Talk.Space == nil {
		return nil, talks.Errorf(talks.ECONFLICT, "The talk has no issues on the table yet, so there is nothing to propose.")
	}
	return &newProposalPage{talkCtx: tc, Track: tr}, nil
}

func (h *Handler) newProposalFrame(r *http.Request, p *newProposalPage) *Page {
	pg := h.page(r, "New proposal · "+p.Track.Name, p)
	pg.Back = p.Track.Kind == talks.TrackBackchannel
	return pg
}

func (h *Handler) handleNewProposal(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadNewProposal(r)
	if err != nil {
		return err
	}
	p.Form = &versionForm{Space: p.Talk.Space, Values: map[string]string{}, Clauses: map[string]string{}, Errors: formErrors{}, Blank: true}
	return h.render(w, r, http.StatusOK, "newproposal", h.newProposalFrame(r, p))
}

func (h *Handler) handleCreateProposal(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadNewProposal(r)
	if err != nil {
		return err
	}
	f := readVersionForm(r)
	f.Space, f.Blank = p.Talk.Space, true
	prop := &talks.Proposal{TrackID: p.Track.ID, Title: f.Title}
	ver := f.version()
	err = h.svc.CreateProposal(r.Context(), prop, ver)
	if err == nil {
		wrote(r, prop.TalkID)
		http.Redirect(w, r, fmt.Sprintf("/proposals/%d", prop.ID), http.StatusSeeOther)
		return nil
	}
	if _, mandate := talks.MandateIssue(err); talks.ErrorCode(err) != talks.EINVALID && !mandate {
		return err
	}
	f.explain(err)
	p.Form = f
	return h.render(w, r, formStatus(err), "newproposal", h.newProposalFrame(r, p))
}

// acceptance is one party's acceptance of the agreed version.
type acceptance struct {
	Party  *talks.Party
	Answer *talks.Answer
}

// agreementDisclosure answers the agreement page's live refresh of its
// disclosure plan and consents with that part alone ("disclosure-state"):
// nothing of the agreed text, so it is no read of the agreement and records
// none.
func (h *Handler) agreementDisclosure(w http.ResponseWriter, r *http.Request, tc *talkCtx) error {
	ag, err := h.svc.FindAgreement(r.Context(), tc.Talk.ID)
	if err != nil {
		return err
	}
	p := &agreementPage{talkCtx: tc, Agreement: ag}
	if p.Disclosure, err = h.disclosureState(r, p); err != nil {
		return err
	}
	return h.renderFragment(w, http.StatusOK, "agreement", "disclosure-live", h.page(r, "", p))
}

// agreementPage is the data of a talk's agreement page. Agreement is nil
// while the talk has none the viewer may see.
type agreementPage struct {
	*talkCtx
	Agreement   *talks.Agreement
	Proposal    *talks.Proposal
	Version     *talks.Version
	Label       string
	Rows        []valueRow
	Acceptances []acceptance
	Disclosure  *disclosureSection // disclosure.go
	// Checkpoint is the talk's latest signed checkpoint, which covers the
	// agreement (signed in the write that recorded it, or later); nil if
	// the server signed none.
	Checkpoint *talks.Checkpoint
}

// RootShort returns the first 12 characters of the checkpoint's root hash
// in base64, as the note writes it.
func (p *agreementPage) RootShort() string {
	return base64.StdEncoding.EncodeToString(p.Checkpoint.Root[:])[:12]
}

// KeyName returns the name of the server key that signed the checkpoint:
// its origin without "/talks/<id>".
func (p *agreementPage) KeyName() string {
	origin, _, _ := strings.Cut(string(p.Checkpoint.Note), "\n")
	name, _, _ := strings.Cut(origin, "/talks/")
	return name
}

func (h *Handler) handleAgreement(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	tc, err := h.loadTalk(r, id)
	if err != nil {
		return err
	}
	if isHTMX(r) && r.URL.Query().Get("part") == "disclosure" {
		return h.agreementDisclosure(w, r, tc)
	}
	ctx := r.Context()
	p := &agreementPage{talkCtx: tc}
	ag, err := h.svc.ReadAgreement(ctx, id) // a recorded read
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		// A member of the talk learns only that there is none it may see;
		// the page shows the agreement when it comes. An agreement page
		// left open when its talk is reopened asks for this with htmx,
		// which swaps in only a 2xx answer: 200 for it.
		pg := h.page(r, "No agreement yet · "+tc.Talk.Title, p)
		pg.Live = &Live{TalkID: id, Head: tc.View.Head()}
		status := http.StatusNotFound
		if isHTMX(r) {
			status = http.StatusOK
		}
		return h.render(w, r, status, "agreement", pg)
	} else if err != nil {
		return err
	}
	p.Agreement = ag
	if p.Proposal, err = h.svc.FindProposalByID(ctx, ag.ProposalID); err != nil {
		return err
	}
	vs, err := h.svc.FindVersions(ctx, talks.VersionFilter{ProposalID: ag.ProposalID})
	if err != nil {
		return err
	}
	for i, v := range vs {
		if v.ID == ag.VersionID {
			p.Version, p.Label = v, "Version "+strconv.Itoa(i+1)
		}
	}
	if p.Version == nil {
		return fmt.Errorf("web: agreed version %d not among the versions of proposal %d", ag.VersionID, ag.ProposalID)
	}
	p.Rows = rowsOf(tc.Talk.Space, p.Version)
	answers, err := h.svc.FindAnswers(ctx, talks.AnswerFilter{VersionID: ag.VersionID})
	if err != nil {
		return err
	}
	for _, party := range tc.Parties {
		acc := acceptance{Party: party}
		for _, a := range answers {
			if a.PartyID == party.ID && a.Kind == talks.AnswerAccept && a.Standing() {
				acc.Answer = a
			}
		}
		p.Acceptances = append(p.Acceptances, acc)
	}
	tr, err := h.svc.FindTrackByID(ctx, ag.TrackID)
	if err != nil {
		return err
	}
	if err := h.fillDisclosure(r, p); err != nil {
		return err
	}
	if p.Checkpoint, err = h.svc.LatestCheckpoint(ctx, id); talks.ErrorCode(err) == talks.ENOTFOUND {
		p.Checkpoint = nil
	} else if err != nil {
		return err
	}
	pg := h.page(r, "Agreement · "+tc.Talk.Title, p)
	pg.Back = tr.Kind == talks.TrackBackchannel
	pg.Live = &Live{TalkID: id, Head: tc.View.Head(), TrackID: tr.ID}
	return h.render(w, r, disclosureStatus(r), "agreement", pg)
}
