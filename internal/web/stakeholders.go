package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
)

// The page of stakeholders and ratification (issue 6, part 5),
// /talks/{id}/ratification. A stakeholder, who sees no other page of the
// talk, gets its red lines form and, once the parties agree, the agreed
// text with a form to ratify or reject it. A member gets where
// ratification stands (each stakeholder's decision and comment) and, if it
// manages the talk, a form to attach a stakeholder. Red lines are never on
// a member's page. Once a stakeholder rejects the agreement, the member
// who manages the talk gets a form to reopen it.

func (h *Handler) stakeholderRoutes() []route {
	return []route{
		{"GET", "/talks/{id}/ratification", signedIn, h.handleRatification},
		{"POST", "/talks/{id}/red-lines", signedIn, h.handleSaveRedLines},
		{"POST", "/talks/{id}/ratification", signedIn, h.handleRatify},
		{"POST", "/talks/{id}/stakeholders", signedIn, h.handleAttachStakeholder},
		{"POST", "/talks/{id}/reopen", signedIn, h.handleReopen},
	}
}

// ratPage is the data of the ratification page.
type ratPage struct {
	Talk *talks.Talk
	TC   *talkCtx // the member's view; nil for a stakeholder

	// A stakeholder's own.
	Own       *talks.Stakeholder
	Form      *prefsForm
	History   []*talks.RedLines
	Agreement *talks.Agreement
	Version   *talks.Version
	Comment   string
	Error     string      // of the ratification form
	Key       *signingKey // the stakeholder's signing key (keys.go)

	// A member's.
	Stakeholders []*talks.Stakeholder
	Names        map[int64]string // stakeholders' names by user ID
	CanAttach    bool
	Email        string
	AttachError  string
	CanReopen    bool   // the talk is agreed (or closed since), a stakeholder rejected, and the member manages it
	ReopenError  string // of the reopen form

	// Both: the rounds of ratification that reopenings ended, oldest
	// first (their stakeholders named by Names, which a stakeholder's
	// page loads only if there are rounds).
	Rounds []*talks.RatificationRound
}

// Reopener names the member with user ID userID who reopened the talk,
// for a member's page; "" on a stakeholder's, which names no member.
func (p *ratPage) Reopener(userID int64) string {
	if p.TC == nil {
		return ""
	}
	for _, m := range p.TC.members {
		if m.UserID == userID {
			return p.TC.Who(m.ID)
		}
	}
	return ""
}

// Pct formats a utility in [0, 1] as a percentage.
func (p *ratPage) Pct(u float64) string { return fmt.Sprintf("%.1f%%", 100*u) }

// Value returns the agreed version's value of issue name.
func (p *ratPage) Value(name string) string { return p.Version.Values[name] }

// Clause returns the agreed version's clause for issue name, or "".
func (p *ratPage) Clause(name string) string { return p.Version.Clauses[name] }

func (h *Handler) loadRatification(r *http.Request, id int64) (*ratPage, error) {
	ctx := r.Context()
	t, own, err := h.svc.StakeholderTalk(ctx, id)
	if talks.ErrorCode(err) == talks.EFORBIDDEN { // a member
		tc, err := h.loadTalk(r, id)
		if err != nil {
			return nil, err
		}
		p := &ratPage{Talk: tc.Talk, TC: tc, CanAttach: tc.View.CanManage()}
		if p.Stakeholders, err = h.svc.FindStakeholders(ctx, id); err != nil {
			return nil, err
		}
		if p.Names, err = h.svc.StakeholderNames(ctx, id); err != nil {
			return nil, err
		}
		p.CanReopen = p.CanAttach && (p.Talk.Status == talks.StatusAgreed || p.Talk.Status == talks.StatusClosed) &&
			slices.ContainsFunc(p.Stakeholders, func(st *talks.Stakeholder) bool { return st.Decision == talks.DecisionReject })
		if p.Rounds, err = h.svc.EarlierRounds(ctx, id); err != nil {
			return nil, err
		}
		return p, nil
	} else if err != nil {
		return nil, err
	}
	p := &ratPage{Talk: t, Own: own}
	if p.History, err = h.svc.FindRedLines(ctx, id); err != nil {
		return nil, err
	}
	if p.Key, err = h.signingKey(r, id, true); err != nil {
		return nil, err
	}
	var latest *talks.Preferences
	if n := len(p.History); n > 0 {
		latest = &p.History[n-1].Preferences
	}
	p.Form = newPrefsForm(t.Space, latest)
	if p.Rounds, err = h.svc.EarlierRounds(ctx, id); err != nil {
		return nil, err
	}
	if len(p.Rounds) > 0 {
		if p.Names, err = h.svc.StakeholderNames(ctx, id); err != nil {
			return nil, err
		}
	}
	p.Agreement, p.Version, err = h.svc.AgreementForRatification(ctx, id)
	if err != nil && talks.ErrorCode(err) != talks.ENOTFOUND {
		return nil, err
	}
	return p, nil
}

func (h *Handler) renderRatification(w http.ResponseWriter, r *http.Request, status int, p *ratPage) error {
	pg := h.page(r, "Ratification · "+p.Talk.Title, p)
	if p.TC != nil {
		// A member follows the stakeholders' decisions live; a
		// stakeholder, who is not at the table, has no event stream.
		pg.Live = &Live{TalkID: p.Talk.ID, Head: p.TC.View.Head()}
	}
	return h.render(w, r, status, "ratification", pg)
}

func (h *Handler) handleRatification(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadRatification(r, id)
	if err != nil {
		return err
	}
	return h.renderRatification(w, r, http.StatusOK, p)
}

func (h *Handler) handleSaveRedLines(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadRatification(r, id)
	if err != nil {
		return err
	} else if p.Own == nil {
		return talks.Errorf(talks.EFORBIDDEN, "Only the talk's stakeholders have red lines.")
	}
	pr := p.Form.read(r, p.Talk.Space)
	if pr == nil {
		return h.renderRatification(w, r, http.StatusUnprocessableEntity, p)
	}
	pr.TalkID = id
	if err := h.svc.SaveRedLines(r.Context(), &talks.RedLines{Preferences: *pr}); err != nil {
		if talks.ErrorCode(err) != talks.EINVALID {
			return err
		}
		p.Form.explain(err)
		return h.renderRatification(w, r, http.StatusUnprocessableEntity, p)
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d/ratification", id), http.StatusSeeOther)
	return nil
}

func (h *Handler) handleRatify(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadRatification(r, id)
	if err != nil {
		return err
	}
	p.Comment = r.PostFormValue("comment")
	if err := h.svc.Ratify(r.Context(), id, talks.Decision(r.PostFormValue("decision")), p.Comment); err != nil {
		if c := talks.ErrorCode(err); c != talks.EINVALID && c != talks.ECONFLICT {
			return err
		}
		p.Error = talks.ErrorMessage(err)
		return h.renderRatification(w, r, http.StatusUnprocessableEntity, p)
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d/ratification", id), http.StatusSeeOther)
	return nil
}

func (h *Handler) handleAttachStakeholder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadRatification(r, id)
	if err != nil {
		return err
	} else if !p.CanAttach {
		return talks.Errorf(talks.EFORBIDDEN, "Only the convener or a facilitator may attach a stakeholder.")
	}
	p.Email = strings.TrimSpace(r.PostFormValue("email"))
	if _, err := h.svc.AddStakeholderByEmail(r.Context(), id, p.Email); err != nil {
		if c := talks.ErrorCode(err); c != talks.EINVALID && c != talks.ECONFLICT {
			return err
		}
		p.AttachError = talks.ErrorMessage(err)
		return h.renderRatification(w, r, http.StatusUnprocessableEntity, p)
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d/ratification", id), http.StatusSeeOther)
	return nil
}

// handleReopen reopens the talk after a stakeholder's rejection and goes
// to the talk's page; a refusal (the terms are public, say) is shown on the
// ratification page.
func (h *Handler) handleReopen(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := h.loadRatification(r, id)
	if err != nil {
		return err
	} else if p.TC == nil {
		return talks.Errorf(talks.EFORBIDDEN, "Only the convener or a facilitator may reopen the talk.")
	}
	if _, err := h.svc.ReopenTalk(r.Context(), id); err != nil {
		if talks.ErrorCode(err) != talks.ECONFLICT {
			return err
		}
		p.ReopenError = talks.ErrorMessage(err)
		return h.renderRatification(w, r, http.StatusUnprocessableEntity, p)
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d", id), http.StatusSeeOther)
	return nil
}
