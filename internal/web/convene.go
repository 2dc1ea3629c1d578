package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

func (h *Handler) conveneRoutes() []route {
	return []route{
		{"GET", "/talks/new", signedIn, h.handleNewTalk},
		{"POST", "/talks/new", signedIn, h.handleConvene},
		{"POST", "/talks/{id}/parties", signedIn, h.handleAddParty},
		{"POST", "/talks/{id}/tracks", signedIn, h.handleOpenTrack},
		{"POST", "/talks/{id}/status", signedIn, h.handleTalkStatus},
		{"POST", "/talks/{id}/roles", signedIn, h.handleChangeRole},
		{"POST", "/talks/{id}/members/remove", signedIn, h.handleRemoveMember},
		{"POST", "/tracks/{id}/members", signedIn, h.handleAddTrackMember},
		{"POST", "/tracks/{id}/members/remove", signedIn, h.handleRemoveTrackMember},
	}
}

// newTalkPage is the data of the page that convenes a talk: what was
// typed, kept on an error (a chosen file cannot be kept: the page asks for
// it again).
type newTalkPage struct {
	Title, Description, Issues, Format string
	Errors                             formErrors
}

func (h *Handler) handleNewTalk(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "newtalk", h.page(r, "Convene a talk", &newTalkPage{Errors: formErrors{}}))
}

// handleConvene convenes a talk, whose outcome space is a GENIUS XML or
// GeniusWeb JSON domain file or issues typed one per line, and goes to its
// page. The user becomes its facilitator.
func (h *Handler) handleConvene(w http.ResponseWriter, r *http.Request) error {
	p := &newTalkPage{
		Title:       strings.TrimSpace(r.PostFormValue("title")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Issues:      strings.TrimSpace(r.PostFormValue("issues")),
		Format:      r.PostFormValue("format"),
		Errors:      formErrors{},
	}
	if p.Title == "" {
		p.Errors["title"] = "Enter a title."
	}
	var domain []byte
	if file, _, err := r.FormFile("domain"); err == nil {
		domain, err = io.ReadAll(io.LimitReader(file, talks.MaxProfileLen+1))
		file.Close()
		if err != nil {
			return err
		}
	}
	var sp *outcome.Space
	var err error
	switch {
	case len(domain) > 0 && p.Issues != "":
		p.Errors["domain"] = "Give a domain file or the issues, not both."
	case len(domain) > 0:
		if sp, err = talks.ImportSpace(p.Format, domain); err != nil {
			p.Errors["domain"] = strings.TrimSuffix(talks.ErrorMessage(err), ".") + ". Choose the file again once it is mended."
		}
	case p.Issues != "":
		if sp, err = typedSpace(p.Title, p.Issues); err != nil {
			p.Errors["issues"] = talks.ErrorMessage(err)
		}
	default:
		p.Errors["domain"] = "Choose a GENIUS XML or GeniusWeb JSON domain file, or type the issues below."
	}
	if len(p.Errors) == 0 {
		t := &talks.Talk{Title: p.Title, Description: p.Description, Space: sp}
		err := h.svc.CreateTalk(r.Context(), t)
		switch talks.ErrorCode(err) {
		case "":
			wrote(r, t.ID)
			http.Redirect(w, r, fmt.Sprintf("/talks/%d", t.ID), http.StatusSeeOther)
			return nil
		case talks.EINVALID:
			p.Errors[""] = talks.ErrorMessage(err)
		default:
			return err
		}
	}
	return h.render(w, r, unprocessable, "newtalk", h.page(r, "Convene a talk", p))
}

// typedSpace reads issues typed one per line as "name: value, value, ...",
// each a discrete issue, into the outcome space of talk title.
func typedSpace(title, text string) (*outcome.Space, error) {
	var issues []outcome.Issue
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, vals, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		var values []string
		for _, v := range strings.Split(vals, ",") {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
		if !ok || name == "" || len(values) == 0 {
			return nil, talks.Errorf(talks.EINVALID, "Line %d: write an issue as its name, a colon and its values separated by commas, such as \"Prisoner exchange: none, 100, 500\".", i+1)
		}
		issues = append(issues, outcome.NewDiscrete(name, values...))
	}
	sp, err := outcome.NewSpace(title, issues...)
	if err != nil {
		return nil, talks.Errorf(talks.EINVALID, "The issues are malformed: %v.", err)
	}
	return sp, nil
}

// handleAddParty adds a party to a talk (its convener and facilitators).
func (h *Handler) handleAddParty(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("party"))
	err = h.svc.AddParty(r.Context(), &talks.Party{TalkID: id, Name: name})
	return h.answerTalkForm(w, r, id, err, func() string { return fmt.Sprintf("/talks/%d#parties-h", id) }, func(p *talkPage, msg string) {
		p.PartyName, p.Errors["party"] = name, msg
	})
}

// answerTalkForm ends a form of talk id's page that err answered. On
// success it notes the write and goes to next(). A refusal the user can
// mend (EINVALID, ECONFLICT) renders the talk's page again, with what keep
// puts back in the forms and the message; any other error is returned.
func (h *Handler) answerTalkForm(w http.ResponseWriter, r *http.Request, id int64, err error, next func() string, keep func(p *talkPage, msg string)) error {
	switch talks.ErrorCode(err) {
	case "":
		wrote(r, id)
		http.Redirect(w, r, next(), http.StatusSeeOther)
		return nil
	case talks.EINVALID, talks.ECONFLICT:
		return h.renderTalk(w, r, id, unprocessable, func(p *talkPage) { keep(p, talks.ErrorMessage(err)) })
	default:
		return err
	}
}

// handleOpenTrack opens a back-channel track with the members checked (its
// convener and facilitators).
func (h *Handler) handleOpenTrack(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("track")) // parses the form
	var members []int64
	for _, v := range r.PostForm["member"] {
		m, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return talks.Errorf(talks.EINVALID, "Member %q is not a member ID.", v)
		}
		members = append(members, m)
	}
	t := &talks.Track{TalkID: id, Name: name, MemberIDs: members}
	err = h.svc.CreateTrack(r.Context(), t)
	return h.answerTalkForm(w, r, id, err, func() string { return fmt.Sprintf("/tracks/%d", t.ID) }, func(p *talkPage, msg string) {
		p.TrackName, p.TrackMembers, p.Errors["track"] = name, members, msg
	})
}

// handleTalkStatus closes a talk, or opens a closed one again that has no
// agreement (its convener and facilitators).
func (h *Handler) handleTalkStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	st := talks.Status(r.PostFormValue("status"))
	if _, err := h.svc.UpdateTalk(r.Context(), id, talks.TalkUpdate{Status: &st}); err != nil {
		return err
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d", id), http.StatusSeeOther)
	return nil
}

// handleChangeRole changes a party member's role (the convener and
// facilitators, or the member's principal) and goes back to the talk.
func (h *Handler) handleChangeRole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	role := talks.Role(r.PostFormValue("role")) // parses the form
	member, err := strconv.ParseInt(r.PostFormValue("member"), 10, 64)
	if err == nil {
		_, err = h.svc.ChangeMemberRole(r.Context(), id, member, role)
	} else {
		err = talks.Errorf(talks.EINVALID, "Choose a member.")
	}
	return h.answerTalkForm(w, r, id, err, func() string { return fmt.Sprintf("/talks/%d#parties-h", id) }, func(p *talkPage, msg string) {
		p.RoleMember, p.RoleValue, p.Errors["role"] = member, role, msg
	})
}

// handleRemoveMember takes a party member off the talk, or lets the user
// leave it, and goes back to the talk, or to My talks after leaving.
func (h *Handler) handleRemoveMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	member, err := strconv.ParseInt(r.PostFormValue("member"), 10, 64)
	if err == nil {
		err = h.svc.RemoveMember(r.Context(), id, member)
	} else {
		err = talks.Errorf(talks.EINVALID, "Choose a member.")
	}
	next := func() string {
		if _, err := h.svc.View(r.Context(), id); err != nil {
			return "/" // the user left
		}
		return fmt.Sprintf("/talks/%d#parties-h", id)
	}
	return h.answerTalkForm(w, r, id, err, next, func(p *talkPage, msg string) {
		p.RemoveMember, p.Errors["remove"] = member, msg
	})
}

// handleAddTrackMember puts a member of the talk on a back-channel (its
// convener and facilitators, or a principal its own party's members).
func (h *Handler) handleAddTrackMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	member, err := strconv.ParseInt(r.PostFormValue("member"), 10, 64)
	if err != nil {
		return talks.Errorf(talks.EINVALID, "Choose a member of the talk.")
	}
	if err := h.svc.AddTrackMember(r.Context(), id, member); err != nil {
		return err
	}
	if tr, err := h.svc.FindTrackByID(r.Context(), id); err == nil {
		wrote(r, tr.TalkID)
	}
	http.Redirect(w, r, fmt.Sprintf("/tracks/%d", id), http.StatusSeeOther)
	return nil
}

// handleRemoveTrackMember takes a member off a back-channel, or lets the
// user leave it, and goes back to the track, or to the talk if the user no
// longer sees the track.
func (h *Handler) handleRemoveTrackMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	tr, err := h.svc.FindTrackByID(ctx, id)
	if err != nil {
		return err
	}
	member, err := strconv.ParseInt(r.PostFormValue("member"), 10, 64)
	if err != nil {
		return talks.Errorf(talks.EINVALID, "Choose a member on this back-channel.")
	}
	if err := h.svc.RemoveTrackMember(ctx, id, member); err != nil {
		return err
	}
	wrote(r, tr.TalkID)
	to := fmt.Sprintf("/tracks/%d", id)
	if _, err := h.svc.FindTrackByID(ctx, id); err != nil {
		to = fmt.Sprintf("/talks/%d", tr.TalkID)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
