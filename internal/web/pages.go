package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/backchannel/backchannel/internal/talks"
)

// routes lists every page and form action, area by area; each area's
// handlers live in their own file.
func (h *Handler) routes() []route {
	var rs []route
	for _, area := range [][]route{
		h.sessionRoutes(),     // session.go: sign in and out
		h.talkRoutes(),        // pages.go: my talks, a talk, a track, messages
		h.conveneRoutes(),     // convene.go: a new talk, its parties and back-channels
		h.proposalRoutes(),    // proposals.go: the text, versions, answers, the agreement
		h.accountRoutes(),     // account.go: password, API tokens, setup, invitations
		h.meetingRoutes(),     // meetings.go: a track's meetings
		h.disclosureRoutes(),  // disclosure.go: disclosure, hand-off, the public page
		h.preferenceRoutes(),  // preferences.go: private preferences, standing, suggestions
		h.rehearsalRoutes(),   // rehearsal.go: a party's rehearsal of the rest of the negotiation
		h.mandateRoutes(),     // mandates.go: the limits a principal sets for its envoys
		h.stakeholderRoutes(), // stakeholders.go: red lines, ratification
		h.keyRoutes(),         // keys.go: the member's signing key
	} {
		rs = append(rs, area...)
	}
	return rs
}

func (h *Handler) talkRoutes() []route {
	return []route{
		{"GET", "/{$}", signedIn, h.handleHome},
		{"GET", "/talks/{id}", signedIn, h.handleTalk},
		{"GET", "/tracks/{id}", signedIn, h.handleTrack},
		{"GET", "/tracks/{id}/messages", signedIn, h.handleMessages},
		{"GET", "/tracks/{id}/members", signedIn, h.handleTrackMembers},
		{"POST", "/tracks/{id}/messages", signedIn, h.handlePostMessage},
		{"POST", "/messages/{id}/retract", signedIn, h.handleRetractMessage},
	}
}

// homePage is the data of the list of my talks.
type homePage struct {
	Talks        []*talks.Talk
	Stakeholding []*talks.Talk // talks of which the user is a stakeholder (stakeholders.go)
}

func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.svc.FindTalks(r.Context(), talks.TalkFilter{})
	if err != nil {
		return err
	}
	sts, err := h.svc.FindStakeholderTalks(r.Context())
	if err != nil {
		return err
	}
	pg := h.page(r, "My talks", homePage{Talks: ts, Stakeholding: sts})
	pg.Stream = "/api/v1/me/talks/events"
	return h.render(w, r, http.StatusOK, "home", pg)
}

// talkCtx is what every page inside a talk shows: the talk, who is in it and
// the viewer's place in it.
type talkCtx struct {
	View    *talks.View
	Talk    *talks.Talk
	Me      *talks.Member
	Names   map[int64]string // member ID to name
	Parties []*talks.Party
	Tracks  []*talks.Track // those the viewer may see

	members map[int64]*talks.Member // every member of the talk, by ID
}

// PartyName returns the name of party id, or "" (a facilitator).
func (c *talkCtx) PartyName(id int64) string {
	for _, p := range c.Parties {
		if p.ID == id {
			return p.Name
		}
	}
	return ""
}

// Member returns member id of the talk, or nil.
func (c *talkCtx) Member(id int64) *talks.Member { return c.members[id] }

// Who returns "Name (Party role)" for member id, or "Name (no longer in
// the talk)" for a member removed from it.
func (c *talkCtx) Who(id int64) string {
	m := c.Member(id)
	if m == nil {
		if name, ok := c.Names[id]; ok {
			return name + " (no longer in the talk)"
		}
		return "someone"
	}
	role := string(m.Role)
	if p := c.PartyName(m.PartyID); p != "" {
		role = p + " " + role
	}
	return c.Names[id] + " (" + role + ")"
}

// loadTalk reads what every page of talk id needs, as the acting user.
func (h *Handler) loadTalk(r *http.Request, id int64) (*talkCtx, error) {
	ctx := r.Context()
	v, err := h.svc.View(ctx, id)
	if err != nil {
		return nil, err
	}
	names, err := h.svc.MemberNames(ctx, id)
	if err != nil {
		return nil, err
	}
	parties, err := h.svc.FindParties(ctx, id)
	if err != nil {
		return nil, err
	}
	tc := &talkCtx{View: v, Talk: v.Talk, Me: v.Member, Names: names, Parties: parties, Tracks: v.Tracks(),
		members: map[int64]*talks.Member{}}
	// Pages name members once per message, answer and attendee: look them
	// up in a map rather than copying the talk's list each time.
	for _, m := range v.Members() {
		tc.members[m.ID] = m
	}
	return tc, nil
}

// delegation is one party's members on the talk page.
type delegation struct {
	Party   *talks.Party
	Members []*talks.Member
}

// talkPage is the data of a talk's page.
type talkPage struct {
	*talkCtx
	Delegations  []delegation
	Facilitators []*talks.Member
	Agreement    *talks.Agreement
	Public       bool        // some terms of the agreement are published (disclosure.go)
	Rejected     bool        // a stakeholder rejected the agreement, and the talk is agreed or closed
	Key          *signingKey // the viewer's signing key (keys.go)

	// What was typed in the forms that add a party and open a
	// back-channel (convene.go), kept on an error.
	PartyName    string
	TrackName    string
	TrackMembers []int64
	Errors       formErrors

	// Roleable are the party members whose role the user may change
	// (View.MayManageMember), and RoleMember and RoleValue what was
	// chosen in that form, kept on an error.
	Roleable   []*talks.Member
	RoleMember int64
	RoleValue  talks.Role
	// RemoveMember is the member chosen in the form that takes one off
	// the talk (Roleable, but the user), kept on an error.
	RemoveMember int64
}

// Removable returns the members the user may take off the talk: those
// whose role it may change, but itself (it leaves instead).
func (p *talkPage) Removable() []*talks.Member {
	var a []*talks.Member
	for _, m := range p.Roleable {
		if m.ID != p.Me.ID {
			a = append(a, m)
		}
	}
	return a
}

// Roles returns partyRoles (account.go), for the form that changes a role.
func (p *talkPage) Roles() []talks.Role { return partyRoles }

// Checked reports whether member id was checked in the form that opens a
// back-channel.
func (p *talkPage) Checked(id int64) bool { return slices.Contains(p.TrackMembers, id) }

func (h *Handler) handleTalk(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return h.renderTalk(w, r, id, http.StatusOK, nil)
}

// renderTalk renders the page of talk id with status, after edit, if not
// nil, has set what the forms keep.
func (h *Handler) renderTalk(w http.ResponseWriter, r *http.Request, id int64, status int, edit func(*talkPage)) error {
	tc, err := h.loadTalk(r, id)
	if err != nil {
		return err
	}
	p := &talkPage{talkCtx: tc, Errors: formErrors{}}
	members := tc.View.Members()
	for _, party := range tc.Parties {
		d := delegation{Party: party}
		for _, m := range members {
			if m.PartyID == party.ID {
				d.Members = append(d.Members, m)
			}
		}
		p.Delegations = append(p.Delegations, d)
	}
	for _, m := range members {
		if m.PartyID == 0 {
			p.Facilitators = append(p.Facilitators, m)
		} else if tc.View.MayManageMember(m) {
			p.Roleable = append(p.Roleable, m)
		}
	}
	if p.Agreement, err = h.svc.FindAgreement(r.Context(), id); err != nil && talks.ErrorCode(err) != talks.ENOTFOUND {
		return err
	}
	if p.Agreement != nil {
		if p.Public, err = h.published(r, id); err != nil {
			return err
		}
	}
	if p.Agreement != nil && (tc.Talk.Status == talks.StatusAgreed || tc.Talk.Status == talks.StatusClosed) {
		sts, err := h.svc.FindStakeholders(r.Context(), id)
		if err != nil {
			return err
		}
		p.Rejected = slices.ContainsFunc(sts, func(st *talks.Stakeholder) bool { return st.Decision == talks.DecisionReject })
	}
	if p.Key, err = h.signingKey(r, id, false); err != nil {
		return err
	}
	if edit != nil {
		edit(p)
	}
	pg := h.page(r, tc.Talk.Title, p)
	pg.Live = &Live{TalkID: id, Head: tc.View.Head()}
	if isHTMX(r) {
		return h.renderFragment(w, status, "talk", "talk-live", pg)
	}
	return h.render(w, r, status, "talk", pg)
}

// trackPage is the data of a track's page.
type trackPage struct {
	*talkCtx
	Track     *talks.Track
	CanPost   bool
	Messages  []*talks.Message
	Seqs      map[int64]int64 // the event (tree position) of each message, by message ID
	Proposals []*talks.Proposal
	Body      string // what was typed, kept on an error
	Errors    formErrors
	OOB       bool // render the messages as an out-of-band swap

	Meetings   meetingsPanel
	Attendable []*talks.Member // who may attend the track's meetings

	// Addable are the talk's members not on the back-channel that the
	// user may put on it, and Removable those on it that the user may take
	// off (View.MayManageMember; convene.go). CanLeave: the user is on it and
	// may leave (not its last member).
	Addable, Removable []*talks.Member
	CanLeave           bool
}

// MaxMessagesShown is how many of a track's latest messages its page shows.
const MaxMessagesShown = 500

// postedMeanwhile is how many messages messageSeqs allows for having been
// posted between its caller's read of the messages and its own.
const postedMeanwhile = 32

func (h *Handler) loadTrack(r *http.Request) (*trackPage, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	tr, err := h.svc.FindTrackByID(ctx, id)
	if err != nil {
		return nil, err
	}
	tc, err := h.loadTalk(r, tr.TalkID)
	if err != nil {
		return nil, err
	}
	p := &trackPage{talkCtx: tc, Track: tr, CanPost: tc.View.CanPost(tr)}
	if p.Messages, err = h.svc.FindMessages(ctx, talks.MessageFilter{TrackID: id, Limit: MaxMessagesShown, Latest: true}); err != nil {
		return nil, err
	}
	if p.Seqs, err = h.messageSeqs(r, tr, p.Messages); err != nil {
		return nil, err
	}
	if p.Proposals, err = h.svc.FindProposals(ctx, talks.ProposalFilter{TalkID: tr.TalkID, TrackID: id}); err != nil {
		return nil, err
	}
	if err := h.loadMeetings(r, p); err != nil {
		return nil, err
	}
	if tr.Kind == talks.TrackBackchannel {
		on := len(tr.MemberIDs)
		p.CanLeave = tr.HasMember(tc.View.Member.ID) && on > 1
		for _, m := range tc.View.Members() {
			switch {
			case !tc.View.MayManageMember(m):
			case !tr.HasMember(m.ID):
				p.Addable = append(p.Addable, m)
			case m.ID != tc.View.Member.ID && on > 1:
				p.Removable = append(p.Removable, m)
			}
		}
	}
	return p, nil
}

// messageSeqs returns the sequence number of the message.posted event of
// each of msgs, the track's latest messages, which is its position in the
// talk's verifiable record (leaf seq-1 of the talk's Merkle tree). It
// reads as many of the track's latest message.posted events, which the
// store selects: each message has one, in the order of their IDs. A few
// more, for messages posted since msgs were read; a message of msgs whose
// event is not among them has no sequence number in the map.
func (h *Handler) messageSeqs(r *http.Request, tr *talks.Track, msgs []*talks.Message) (map[int64]int64, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	want := make(map[int64]bool, len(msgs))
	for _, m := range msgs {
		want[m.ID] = true
	}
	evs, err := h.svc.FindEvents(r.Context(), talks.EventFilter{TalkID: tr.TalkID, Type: talks.EventMessagePosted, TrackID: tr.ID, Limit: len(msgs) + postedMeanwhile, Latest: true})
	if err != nil {
		return nil, err
	}
	seqs := make(map[int64]int64, len(msgs))
	for _, e := range evs {
		var mp talks.MessagePosted
		if json.Unmarshal(e.Payload, &mp) == nil && want[mp.MessageID] {
			seqs[mp.MessageID] = e.ID
		}
	}
	return seqs, nil
}

func (h *Handler) trackPageFrame(r *http.Request, p *trackPage) *Page {
	return h.trackFrame(r, p.Track.Name+" · "+p.Talk.Title, p, p.View, p.Track)
}

func (h *Handler) handleTrack(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadTrack(r)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "track", h.trackPageFrame(r, p))
}

// handleMessages renders a track's messages, the region that live updates
// refresh.
func (h *Handler) handleMessages(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadTrack(r)
	if err != nil {
		return err
	}
	return h.renderFragment(w, http.StatusOK, "track", "messages", h.trackPageFrame(r, p))
}

// handleTrackMembers renders a back-channel's members and the forms that
// change them: the live region that membership events refresh.
func (h *Handler) handleTrackMembers(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadTrack(r)
	if err != nil {
		return err
	}
	return h.renderFragment(w, http.StatusOK, "track", "track-members", h.trackPageFrame(r, p))
}

func (h *Handler) handlePostMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	body := r.PostFormValue("body")
	err = h.svc.PostMessage(r.Context(), &talks.Message{TrackID: id, Body: body})
	if err != nil && talks.ErrorCode(err) != talks.EINVALID {
		return err
	}
	if err == nil {
		if tr, err := h.svc.FindTrackByID(r.Context(), id); err == nil {
			wrote(r, tr.TalkID)
		}
	}
	if err == nil && !isHTMX(r) {
		http.Redirect(w, r, "/tracks/"+strconv.FormatInt(id, 10)+"#post", http.StatusSeeOther)
		return nil
	}
	p, lerr := h.loadTrack(r)
	if lerr != nil {
		return lerr
	}
	status := http.StatusOK
	if err != nil {
		p.Body, p.Errors = body, formErrors{"body": talks.ErrorMessage(err)}
		status = http.StatusUnprocessableEntity
	}
	pg := h.trackPageFrame(r, p)
	if isHTMX(r) {
		// The form, cleared or with its error, and the messages out of band,
		// so the author sees its message at once.
		p.OOB = true
		return h.renderFragment(w, status, "track", "post-result", pg)
	}
	return h.render(w, r, status, "track", pg)
}

func (h *Handler) handleRetractMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := h.svc.RetractMessage(r.Context(), id)
	if err != nil {
		return err
	}
	if tr, err := h.svc.FindTrackByID(r.Context(), m.TrackID); err == nil {
		wrote(r, tr.TalkID)
	}
	back := r.PostFormValue("track")
	if tid, err := strconv.ParseInt(back, 10, 64); err != nil || tid <= 0 {
		back = ""
	}
	target := "/"
	if back != "" {
		target = "/tracks/" + back + "#messages"
	}
	if isHTMX(r) {
		w.WriteHeader(http.StatusNoContent) // the event stream refreshes the list
		return nil
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}
