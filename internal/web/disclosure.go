package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Disclosure and hand-off in the browser (see talks/disclosure.go): on the
// agreement page, principals propose a disclosure plan, consent to it, see
// who read the agreement and carry a back-channel agreement into the
// official track; anyone, signed in or not, reads a published plan at
// /public/talks/{id}.

func (h *Handler) disclosureRoutes() []route {
	return []route{
		{"POST", "/talks/{id}/disclosure", signedIn, h.handleProposeDisclosure},
		{"POST", "/talks/{id}/disclosure/consent", signedIn, h.handleConsentDisclosure},
		{"POST", "/talks/{id}/handoff", signedIn, h.handleCarryAgreement},
		{"GET", "/public/talks/{id}", public, h.handlePublicTalk},
	}
}

// disclosureForm is the plan form as typed: the chosen issues, a public
// clause wording per issue, whether the title is public and the embargo,
// with errors by field ("issue", "clause:ISSUE", "embargo", "title" for
// the hand-off's title, "" for the whole form).
type disclosureForm struct {
	Chosen    map[string]bool
	Clauses   map[string]string
	ShowTitle bool
	Embargo   string // as typed, in startLayout (UTC)
	Title     string // of the hand-off
	Errors    formErrors
}

// disclosureTerm is one row of the plan form: an issue of the agreement.
type disclosureTerm struct {
	Issue, Value string
	Chosen       bool
	Clause       string
	Error        string
}

// disclosureConsent is a party's line in the consent status.
type disclosureConsent struct {
	Party   *talks.Party
	Consent *talks.DisclosureConsent
}

// agreementRead is a row of the read record.
type agreementRead struct {
	Who string
	At  time.Time
}

// disclosureSection is what the agreement page shows of disclosure and
// hand-off to the viewer.
type disclosureSection struct {
	TalkID     int64
	Plan       *talks.Disclosure // nil without a plan
	Published  bool
	Consents   []disclosureConsent
	CanDecide  bool // a principal: proposes and consents
	Consented  bool // the viewer's party has consented
	Terms      []disclosureTerm
	Form       disclosureForm
	Reads      []agreementRead // for principals
	CanCarry   bool
	Handoff    *talks.Handoff
	CarriedNow bool // the agreement is the carried proposal's
	PublicURL  string
	CSRF       string // for the forms
}

// Error returns the error of field name.
func (s *disclosureSection) Error(name string) string { return s.Form.Errors[name] }

type disclosureFormKey struct{}

// withDisclosureForm carries a rejected form to the agreement page that
// shows it again.
func withDisclosureForm(r *http.Request, f *disclosureForm) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), disclosureFormKey{}, f))
}

// disclosureStatus is the status of the agreement page: 422 when it shows
// a rejected form again.
func disclosureStatus(r *http.Request) int {
	if _, ok := r.Context().Value(disclosureFormKey{}).(*disclosureForm); ok {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// disclosureState returns the part of agreement page p's disclosure section
// that follows events (the disclosure-state template): the plan, if any,
// whether it is published, and the parties' consents.
func (h *Handler) disclosureState(r *http.Request, p *agreementPage) (*disclosureSection, error) {
	v := p.View
	s := &disclosureSection{TalkID: p.Talk.ID, CanDecide: v.CanDisclose(),
		PublicURL: fmt.Sprintf("/public/talks/%d", p.Talk.ID), CSRF: h.page(r, "", nil).CSRF}
	plan, err := h.svc.FindDisclosure(r.Context(), p.Talk.ID)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		return s, nil
	} else if err != nil {
		return nil, err
	}
	s.Plan = plan
	s.Published = plan.Published(p.Parties, h.svc.Now())
	for _, party := range p.Parties {
		dc := disclosureConsent{Party: party}
		for i := range plan.Consents {
			if plan.Consents[i].PartyID == party.ID {
				dc.Consent = &plan.Consents[i]
			}
		}
		s.Consents = append(s.Consents, dc)
	}
	s.Consented = plan.HasConsent(v.Member.PartyID)
	return s, nil
}

// fillDisclosure adds the disclosure section to agreement page p.
func (h *Handler) fillDisclosure(r *http.Request, p *agreementPage) error {
	ctx := r.Context()
	s, err := h.disclosureState(r, p)
	if err != nil {
		return err
	}
	plan, ag := s.Plan, p.Agreement
	s.CanCarry = p.View.CanCarry(ag)
	if ho, err := h.svc.FindHandoff(ctx, p.Talk.ID); err == nil {
		s.Handoff, s.CanCarry = ho, false
		s.CarriedNow = ag.ProposalID == ho.ProposalID
	} else if talks.ErrorCode(err) != talks.ENOTFOUND {
		return err
	}
	f, rejected := ctx.Value(disclosureFormKey{}).(*disclosureForm)
	if !rejected {
		f = &disclosureForm{Chosen: map[string]bool{}, Clauses: map[string]string{}}
		if plan != nil {
			for _, tm := range plan.Terms {
				f.Chosen[tm.Issue], f.Clauses[tm.Issue] = true, tm.Clause
			}
			f.ShowTitle, f.Embargo = plan.ShowTitle, plan.Embargo.UTC().Format(startLayout)
		} else {
			f.Embargo = h.svc.Now().UTC().Add(24 * time.Hour).Format(startLayout)
		}
		f.Title = p.Proposal.Title
	}
	s.Form = *f
	for _, row := range p.Rows {
		s.Terms = append(s.Terms, disclosureTerm{Issue: row.Issue, Value: row.Value, Chosen: f.Chosen[row.Issue],
			Clause: f.Clauses[row.Issue], Error: f.Errors["clause:"+row.Issue]})
	}
	if s.CanDecide {
		rs, err := h.svc.FindAgreementReads(ctx, p.Talk.ID)
		if err != nil {
			return err
		}
		for _, rd := range rs {
			s.Reads = append(s.Reads, agreementRead{Who: p.Who(rd.MemberID), At: rd.ReadAt})
		}
	}
	p.Disclosure = s
	return nil
}

// carried reports whether proposal prop was carried from a back-channel,
// and whether it still takes answers: the talk is agreed, but not (yet)
// on it. The carried proposal is in the official track, so a viewer who
// cannot see the agreement knows the agreement is not the carried one.
// Its provenance outlives the hand-off: after a reopening it is an
// ordinary proposal of the official track whose text came from a
// back-channel.
func (h *Handler) carried(r *http.Request, tc *talkCtx, prop *talks.Proposal) (carried, open bool, err error) {
	if !prop.Carried {
		return false, false, nil
	}
	if tc.Talk.Status != talks.StatusAgreed && tc.Talk.Status != talks.StatusRatified {
		return true, false, nil
	}
	ho, err := h.svc.FindHandoff(r.Context(), tc.Talk.ID)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		return true, false, nil
	} else if err != nil {
		return false, false, err
	} else if ho.ProposalID != prop.ID {
		return true, false, nil
	}
	ag, err := h.svc.FindAgreement(r.Context(), tc.Talk.ID)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		return true, true, nil
	} else if err != nil {
		return false, false, err
	}
	return true, ag.ProposalID != prop.ID, nil
}

// published reports whether talk id has published terms.
func (h *Handler) published(r *http.Request, id int64) (bool, error) {
	_, err := h.svc.PublicDisclosure(r.Context(), id)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// disclosureFields maps words of the service's messages to form fields.
var disclosureFields = map[string]string{"term": "issue", "issue": "issue", "embargo": "embargo", "clause": "issue", "title": "title"}

func (h *Handler) handleProposeDisclosure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return talks.Errorf(talks.EINVALID, "The form could not be read.")
	}
	f := &disclosureForm{Chosen: map[string]bool{}, Clauses: map[string]string{}, Errors: formErrors{},
		ShowTitle: r.PostForm.Get("show_title") == "on", Embargo: strings.TrimSpace(r.PostForm.Get("embargo"))}
	d := &talks.Disclosure{TalkID: id, ShowTitle: f.ShowTitle}
	for _, issue := range r.PostForm["issue"] {
		f.Chosen[issue] = true
		f.Clauses[issue] = r.PostForm.Get("clause:" + issue)
		d.Terms = append(d.Terms, talks.DisclosureTerm{Issue: issue, Clause: f.Clauses[issue]})
	}
	for k, vs := range r.PostForm {
		if issue, ok := strings.CutPrefix(k, "clause:"); ok && !f.Chosen[issue] && len(vs) > 0 {
			f.Clauses[issue] = vs[0] // kept as typed, though not chosen
		}
	}
	if t, perr := time.Parse(startLayout, f.Embargo); perr != nil {
		f.Errors["embargo"] = "Give the embargo as a date and time (UTC)."
	} else {
		d.Embargo = t
	}
	if len(f.Errors) == 0 {
		err = h.svc.ProposeDisclosure(r.Context(), d)
		if err == nil {
			wrote(r, id)
			http.Redirect(w, r, fmt.Sprintf("/talks/%d/agreement#disclosure", id), http.StatusSeeOther)
			return nil
		} else if talks.ErrorCode(err) != talks.EINVALID {
			return err
		}
		f.Errors[fieldOf(err, disclosureFields)] = talks.ErrorMessage(err)
	}
	return h.handleAgreement(w, withDisclosureForm(r, f))
}

func (h *Handler) handleConsentDisclosure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rev, _ := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if _, err := h.svc.ConsentDisclosure(r.Context(), id, rev); err != nil {
		if talks.ErrorCode(err) == talks.ECONFLICT {
			f := &disclosureForm{Errors: formErrors{"": talks.ErrorMessage(err)}}
			return h.handleAgreement(w, withDisclosureForm(r, f))
		}
		return err
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d/agreement#disclosure", id), http.StatusSeeOther)
	return nil
}

func (h *Handler) handleCarryAgreement(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	title := r.PostFormValue("title")
	p, err := h.svc.CarryAgreement(r.Context(), id, title)
	if err != nil {
		field := "title" // next to the title field
		switch talks.ErrorCode(err) {
		case talks.ECONFLICT:
			field = "" // carried already: the field is gone
			fallthrough
		case talks.EINVALID:
			f := &disclosureForm{Title: title, Errors: formErrors{field: talks.ErrorMessage(err)}}
			return h.handleAgreement(w, withDisclosureForm(r, f))
		}
		return err
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/proposals/%d", p.ID), http.StatusSeeOther)
	return nil
}

// publicPage is the data of a talk's public page: the published terms only.
type publicPage struct {
	Disclosure *talks.PublicDisclosure
}

// handlePublicTalk shows a talk's published terms to anyone. Any other
// talk, existing or not, is the same "not found" page.
func (h *Handler) handlePublicTalk(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pd, err := h.svc.PublicDisclosure(r.Context(), id)
	if err != nil {
		return err
	}
	title := "Published terms"
	if pd.Title != "" {
		title = "Published terms · " + pd.Title
	}
	return h.render(w, r, http.StatusOK, "public", h.page(r, title, publicPage{Disclosure: pd}))
}
