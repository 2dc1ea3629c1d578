package talks

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Disclosure: once a talk is agreed, its parties decide, term by term, what
// of the agreement becomes public, and when.
//
// A principal who may see the agreement proposes a plan (Disclosure): the
// issues whose agreed value becomes public, for each an optional public
// wording of its clause, whether the talk's title is public, and an
// embargo time. Each party's principal then consents to that exact plan
// (its Revision). Proposing a new plan replaces the old one and clears
// every consent. The plan is published once every party has consented and
// the embargo has passed: from then on PublicDisclosure answers without a
// user, with those terms and nothing else. Proposing and consenting are
// events (disclosure.proposed, disclosure.consented) of the agreement's
// track, as confidential as the agreement itself.
//
// Reads of the agreement (ReadAgreement) are recorded as AgreementReads:
// an audit record, not an event. A read changes nothing in the talk, and
// an event per read would flood the hash-chained log that every member
// replays; a read record is one narrow row, which only the principals
// (FindAgreementReads) see.
//
// Hand-off: a principal of a party that sees a back-channel carries the
// back-channel's agreement into the official track (CarryAgreement), as a
// new proposal whose first version has the agreed values and clauses and
// nothing else of the back-channel: no name, ID, rationale, author or
// message. Its provenance is a Handoff (proposal.carried event), shown as
// "carried from a back-channel". The talk stays agreed on the back-channel
// agreement, so its status never goes back to open; the carried proposal
// is the one text of an agreed talk that the parties still answer (accept
// or reject, not counter: the text is the agreed one). When every party
// accepts it in the official track, the talk's agreement becomes the
// official one (a second talk.agreed). A talk has one hand-off at most,
// and only a back-channel agreement is carried.

// Event types of disclosure and hand-off. Disclosure events belong to the
// track of the talk's agreement; proposal.carried to the official track.
const (
	EventDisclosureProposed  = "disclosure.proposed"
	EventDisclosureConsented = "disclosure.consented"
	EventProposalCarried     = "proposal.carried"
)

// MaxDisclosureEmbargo bounds how far in the future an embargo may end.
const MaxDisclosureEmbargo = 100 * 365 * 24 * time.Hour

// DisclosureTerm is one term of an agreement to publish: the issue, whose
// agreed value becomes public, and an optional public wording of its
// clause (empty for none).
type DisclosureTerm struct {
	Issue  string `json:"issue"`
	Clause string `json:"clause,omitempty"`
}

// DisclosureConsent is a party's consent, given by its principal, to one
// revision of a talk's disclosure plan.
type DisclosureConsent struct {
	PartyID     int64
	MemberID    int64
	ConsentedAt time.Time
}

// Disclosure is a talk's disclosure plan and the consents given to it.
type Disclosure struct {
	TalkID    int64
	Revision  int64 // 1 for the first plan; each new plan increments it
	VersionID int64 // the agreed version whose terms it discloses
	Terms     []DisclosureTerm
	ShowTitle bool      // whether the talk's title is public
	Embargo   time.Time // not public before; UTC, to the microsecond

	ProposedBy int64 // the member who proposed it
	ProposedAt time.Time

	// Consents in ascending party ID order; nil for none.
	Consents []DisclosureConsent
}

// HasConsent reports whether party partyID has consented to the plan.
func (d *Disclosure) HasConsent(partyID int64) bool {
	for _, c := range d.Consents {
		if c.PartyID == partyID {
			return true
		}
	}
	return false
}

// DisclosureProposed is the payload of a disclosure.proposed event: a new
// plan, which clears the consents to the earlier one.
type DisclosureProposed struct {
	Revision  int64            `json:"revision"`
	VersionID int64            `json:"version_id"`
	Terms     []DisclosureTerm `json:"terms"`
	ShowTitle bool             `json:"show_title,omitempty"`
	Embargo   time.Time        `json:"embargo"`
	MemberID  int64            `json:"member_id"`
}

// DisclosureConsented is the payload of a disclosure.consented event.
type DisclosureConsented struct {
	Revision int64 `json:"revision"`
	PartyID  int64 `json:"party_id"`
	MemberID int64 `json:"member_id"`
}

// Handoff records that a proposal in the official track carries a
// back-channel's agreement: that and nothing more of the back-channel.
type Handoff struct {
	TalkID     int64
	ProposalID int64 // the carried proposal, in the official track
	MemberID   int64 // the principal who carried it
	CarriedAt  time.Time
}

// ProposalCarried is the payload of a proposal.carried event, which
// follows the proposal.created and version.proposed of the carried
// proposal on the official track.
type ProposalCarried struct {
	ProposalID int64 `json:"proposal_id"`
	MemberID   int64 `json:"member_id"`
}

// AgreementRead records that a member read the talk's agreement.
type AgreementRead struct {
	ID       int64
	TalkID   int64
	MemberID int64
	ReadAt   time.Time
}

// PublicTerm is a published term: an issue and its agreed value, and the
// public wording of its clause if the plan has one.
type PublicTerm struct {
	Issue  string
	Value  string
	Clause string
}

// PublicDisclosure is what anyone may see of a talk whose disclosure plan
// is published: the published terms, and the title if the plan shows it.
type PublicDisclosure struct {
	TalkID      int64
	Title       string // empty unless the plan shows it
	Terms       []PublicTerm
	PublishedAt time.Time // when the last consent or the embargo came
}

// DisclosureStore persists disclosure plans, hand-offs and agreement reads.
// Its contract is that of Store; it is safe for concurrent use.
type DisclosureStore interface {
	// ProposeDisclosure stores d as the plan of talk d.TalkID, replacing
	// any earlier plan and clearing its consents, and appends
	// disclosure.proposed on track trackID. It sets d.Revision (one more
	// than the earlier plan's, 1 for the first) and d.ProposedAt, and
	// clears d.Consents. ENOTFOUND for an unknown talk.
	ProposeDisclosure(ctx context.Context, d *Disclosure, trackID int64, s Stamp) error

	// ConsentDisclosure records c as its party's consent to revision rev
	// of the plan of talk talkID, appending disclosure.consented on track
	// trackID, and sets c.ConsentedAt. ENOTFOUND if the talk has no plan;
	// ECONFLICT if rev is not the current revision or the party has
	// already consented to it.
	ConsentDisclosure(ctx context.Context, talkID, rev int64, c *DisclosureConsent, trackID int64, s Stamp) error

	// FindDisclosure returns the plan of talk talkID with its consents, or
	// ENOTFOUND if it has none.
	FindDisclosure(ctx context.Context, talkID int64) (*Disclosure, error)

	// CarryAgreement stores p in the official track p.TrackID with its
	// first version v, although the talk is agreed, and records the
	// hand-off h, appending proposal.created, version.proposed and
	// proposal.carried. It sets the IDs and times as CreateProposal does,
	// and h.TalkID, h.ProposalID and h.CarriedAt. ECONFLICT if the talk
	// has a hand-off already or its agreement is not in a back-channel.
	CarryAgreement(ctx context.Context, p *Proposal, v *Version, h *Handoff, s Stamp) error

	// FindHandoff returns the hand-off of talk talkID, or ENOTFOUND.
	FindHandoff(ctx context.Context, talkID int64) (*Handoff, error)

	// RecordAgreementRead stores r, setting r.ID; it appends no event.
	RecordAgreementRead(ctx context.Context, r *AgreementRead) error

	// FindAgreementReads returns the reads of talk talkID's agreement,
	// newest first, at most limit of them (all if limit <= 0).
	FindAgreementReads(ctx context.Context, talkID int64, limit int) ([]*AgreementRead, error)
}

var (
	errDisclosureNotFound = Errorf(ENOTFOUND, "Disclosure plan not found.")
	errNotPublished       = Errorf(ENOTFOUND, "Nothing of this talk is public.")
	errHandoffNotFound    = Errorf(ENOTFOUND, "Hand-off not found.")
)

// isPrincipal reports whether the member is a principal of a party.
func (v *View) isPrincipal() bool {
	return v.Member.Role == RolePrincipal && v.Member.PartyID != 0
}

// CanDisclose reports whether the member may propose and consent to the
// disclosure of an agreement it sees: a principal of a party may.
func (v *View) CanDisclose() bool { return v.isPrincipal() }

// CanCarry reports whether the member may carry agreement ag into the
// official track: a principal who sees the agreement, which must be in a
// back-channel.
func (v *View) CanCarry(ag *Agreement) bool {
	if ag == nil || !v.isPrincipal() {
		return false
	}
	t := v.snap.tracks[ag.TrackID]
	return v.CanSeeTrack(t) && t.Kind != TrackOfficial
}

// viewOfAgreement returns the view of talk talkID and its agreement, or
// ENOTFOUND if either does not exist for the acting user.
func (s *Service) viewOfAgreement(ctx context.Context, talkID int64) (*View, *Agreement, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, nil, err
	}
	ag, err := s.store.FindAgreement(ctx, talkID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errAgreementNotFound
	} else if err != nil {
		return nil, nil, err
	} else if !v.CanSeeTrack(v.snap.tracks[ag.TrackID]) {
		return nil, nil, errAgreementNotFound
	}
	return v, ag, nil
}

// ReadAgreement returns the agreement of talk talkID as FindAgreement does,
// and records the read (who and when) for the principals to see. Pages
// and API routes that show the agreement to a member call it.
func (s *Service) ReadAgreement(ctx context.Context, talkID int64) (*Agreement, error) {
	v, ag, err := s.viewOfAgreement(ctx, talkID)
	if err != nil {
		return nil, err
	}
	r := &AgreementRead{TalkID: talkID, MemberID: v.Member.ID, ReadAt: Timestamp(s.clock.Now())}
	if err := s.store.RecordAgreementRead(ctx, r); err != nil {
		return nil, err
	}
	return ag, nil
}

// MaxAgreementReads is the most reads FindAgreementReads returns.
const MaxAgreementReads = 1000

// FindAgreementReads returns the recorded reads of talk talkID's
// agreement, newest first, at most MaxAgreementReads. The principals who
// see the agreement may; other members who see it get EFORBIDDEN.
func (s *Service) FindAgreementReads(ctx context.Context, talkID int64) ([]*AgreementRead, error) {
	v, _, err := s.viewOfAgreement(ctx, talkID)
	if err != nil {
		return nil, err
	} else if !v.isPrincipal() {
		return nil, Errorf(EFORBIDDEN, "Only a principal may see who read the agreement.")
	}
	return s.store.FindAgreementReads(ctx, talkID, MaxAgreementReads)
}

// FindDisclosure returns the disclosure plan of talk talkID to a member who
// sees its agreement, or ENOTFOUND.
func (s *Service) FindDisclosure(ctx context.Context, talkID int64) (*Disclosure, error) {
	_, ag, err := s.viewOfAgreement(ctx, talkID)
	if err != nil {
		return nil, err
	}
	d, err := s.store.FindDisclosure(ctx, talkID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errDisclosureNotFound
	} else if err != nil {
		return nil, err
	}
	// A plan made on a back-channel agreement that was since carried and
	// agreed officially names a version of the back-channel: name the
	// official one, the same text, to whoever may not see the other.
	if d.VersionID != ag.VersionID {
		if _, err := s.FindVersionByID(ctx, d.VersionID); ErrorCode(err) == ENOTFOUND {
			d.VersionID = ag.VersionID
		} else if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// ProposeDisclosure proposes d as the disclosure plan of talk d.TalkID's
// agreement, replacing any earlier plan and its consents. A principal who
// sees the agreement may; other members who see it get EFORBIDDEN. Terms
// must name distinct issues of the talk's space, at least one (EINVALID);
// they are kept in the space's issue order. The proposer's consent is not
// implied: it consents like every other principal.
func (s *Service) ProposeDisclosure(ctx context.Context, d *Disclosure) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.proposeDisclosure(ctx, d) })
}

func (s *Service) proposeDisclosure(ctx context.Context, d *Disclosure) error {
	v, ag, err := s.viewOfAgreement(ctx, d.TalkID)
	if err != nil {
		return err
	} else if !v.isPrincipal() {
		return Errorf(EFORBIDDEN, "Only a principal may propose what becomes public.")
	}
	if len(d.Terms) == 0 {
		return Errorf(EINVALID, "Choose at least one term to disclose.")
	}
	seen := map[string]bool{}
	for i := range d.Terms {
		tm := &d.Terms[i]
		switch {
		case v.Talk.Space == nil || v.Talk.Space.IssueIndex(tm.Issue) < 0:
			return Errorf(EINVALID, "Unknown issue %q.", tm.Issue)
		case seen[tm.Issue]:
			return Errorf(EINVALID, "Issue %q chosen twice.", tm.Issue)
		case len(tm.Clause) > MaxClauseLen:
			return Errorf(EINVALID, "Clause for issue %q longer than %d bytes.", tm.Issue, MaxClauseLen)
		}
		tm.Clause = strings.TrimSpace(tm.Clause)
		seen[tm.Issue] = true
	}
	slices.SortFunc(d.Terms, func(a, b DisclosureTerm) int {
		return v.Talk.Space.IssueIndex(a.Issue) - v.Talk.Space.IssueIndex(b.Issue)
	})
	if d.Embargo.IsZero() {
		return Errorf(EINVALID, "Embargo time required.")
	}
	now := s.clock.Now()
	if d.Embargo.After(now.Add(MaxDisclosureEmbargo)) {
		return Errorf(EINVALID, "Embargo too far in the future.")
	}
	d.Embargo = Timestamp(d.Embargo)
	d.VersionID, d.ProposedBy = ag.VersionID, v.Member.ID
	return s.store.ProposeDisclosure(ctx, d, ag.TrackID, s.stamp(v))
}

// ConsentDisclosure records the consent of the acting principal's party to
// revision rev of talk talkID's plan, and returns the plan as it now is.
// A principal who sees the agreement may (else EFORBIDDEN). ECONFLICT if
// rev is not the current plan (it changed: read it again) or the party
// has consented already.
func (s *Service) ConsentDisclosure(ctx context.Context, talkID, rev int64) (*Disclosure, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Disclosure, error) { return s.consentDisclosure(ctx, talkID, rev) })
}

func (s *Service) consentDisclosure(ctx context.Context, talkID, rev int64) (*Disclosure, error) {
	v, ag, err := s.viewOfAgreement(ctx, talkID)
	if err != nil {
		return nil, err
	} else if !v.isPrincipal() {
		return nil, Errorf(EFORBIDDEN, "Only a principal may consent to a disclosure.")
	}
	c := &DisclosureConsent{PartyID: v.Member.PartyID, MemberID: v.Member.ID}
	stamp := s.stamp(v)
	st := &Statement{Talk: talkID, Signer: MemberSigner(v.Member.ID), Action: ActionConsent, Revision: rev}
	if err := s.signAction(ctx, v.snap, st, &stamp); err != nil {
		return nil, err
	}
	if err := s.store.ConsentDisclosure(ctx, talkID, rev, c, ag.TrackID, stamp); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, errDisclosureNotFound
		}
		return nil, err
	}
	return s.store.FindDisclosure(ctx, talkID)
}

// PublicDisclosure returns what is public of talk talkID: the terms of its
// disclosure plan once every party has consented and the embargo has
// passed. It needs no user. Every other case, including a talk that does
// not exist, gives the same ENOTFOUND, so that nothing else of a talk
// leaks.
func (s *Service) PublicDisclosure(ctx context.Context, talkID int64) (*PublicDisclosure, error) {
	d, err := s.store.FindDisclosure(ctx, talkID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errNotPublished
	} else if err != nil {
		return nil, err
	}
	parties, err := s.store.FindParties(ctx, PartyFilter{TalkID: talkID})
	if err != nil {
		return nil, err
	}
	at := d.Embargo
	for _, p := range parties {
		if !d.HasConsent(p.ID) {
			return nil, errNotPublished
		}
	}
	for _, c := range d.Consents {
		if c.ConsentedAt.After(at) {
			at = c.ConsentedAt
		}
	}
	if len(parties) == 0 || s.clock.Now().Before(d.Embargo) {
		return nil, errNotPublished
	}
	ver, err := s.store.FindVersionByID(ctx, d.VersionID)
	if err != nil {
		return nil, err
	}
	pd := &PublicDisclosure{TalkID: talkID, PublishedAt: at}
	if d.ShowTitle {
		t, err := s.store.FindTalkByID(ctx, talkID)
		if err != nil {
			return nil, err
		}
		pd.Title = t.Title
	}
	for _, tm := range d.Terms {
		pd.Terms = append(pd.Terms, PublicTerm{Issue: tm.Issue, Value: ver.Values[tm.Issue], Clause: tm.Clause})
	}
	return pd, nil
}

// Published reports whether plan d, of a talk with the given parties, is
// public at time now.
func (d *Disclosure) Published(parties []*Party, now time.Time) bool {
	if len(parties) == 0 || now.Before(d.Embargo) {
		return false
	}
	for _, p := range parties {
		if !d.HasConsent(p.ID) {
			return false
		}
	}
	return true
}

// Now returns the service clock's time, for pages that compare with it.
func (s *Service) Now() time.Time { return s.clock.Now() }

// CarryAgreement carries the back-channel agreement of talk talkID into the
// official track as a new proposal titled title, whose first version has
// the agreed values and clauses, and returns it. A principal who sees the
// agreement may (else EFORBIDDEN). ECONFLICT if the agreement is already
// official or the talk has a hand-off already; EINVALID without a title.
func (s *Service) CarryAgreement(ctx context.Context, talkID int64, title string) (*Proposal, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Proposal, error) { return s.carryAgreement(ctx, talkID, title) })
}

func (s *Service) carryAgreement(ctx context.Context, talkID int64, title string) (*Proposal, error) {
	v, ag, err := s.viewOfAgreement(ctx, talkID)
	if err != nil {
		return nil, err
	} else if !v.isPrincipal() {
		return nil, Errorf(EFORBIDDEN, "Only a principal may carry an agreement into the official track.")
	}
	var official *Track
	for _, t := range v.snap.order {
		if t.Kind == TrackOfficial {
			official = t
		}
	}
	if official == nil || ag.TrackID == official.ID {
		return nil, Errorf(ECONFLICT, "The agreement is already in the official track.")
	}
	title = strings.TrimSpace(title)
	if title == "" {
		return nil, Errorf(EINVALID, "Proposal title required.")
	} else if len(title) > MaxProposalTitleLen {
		return nil, Errorf(EINVALID, "Proposal title longer than %d bytes.", MaxProposalTitleLen)
	}
	agreed, err := s.store.FindVersionByID(ctx, ag.VersionID)
	if err != nil {
		return nil, err
	}
	// Only the text crosses: values and clauses, never the rationale,
	// author or lineage of the back-channel's version.
	p := &Proposal{TalkID: talkID, TrackID: official.ID, Title: title, AuthorID: v.Member.ID}
	ver := &Version{Values: agreed.Values, Clauses: agreed.Clauses, AuthorID: v.Member.ID}
	h := &Handoff{MemberID: v.Member.ID}
	// The carried version is the principal's proposal in the official
	// track, and signed as one.
	stamp := s.stamp(v)
	st := VersionStatement(talkID, MemberSigner(v.Member.ID), official.ID, 0, ver.Values, ver.Clauses, "")
	if err := s.signAction(ctx, v.snap, st, &stamp); err != nil {
		return nil, err
	}
	if err := s.store.CarryAgreement(ctx, p, ver, h, stamp); err != nil {
		return nil, err
	}
	return p, nil
}

// FindHandoff returns the hand-off of talk talkID, which every member sees
// (it says only that the official proposal came from a back-channel), or
// ENOTFOUND.
func (s *Service) FindHandoff(ctx context.Context, talkID int64) (*Handoff, error) {
	if _, err := s.View(ctx, talkID); err != nil {
		return nil, err
	}
	h, err := s.store.FindHandoff(ctx, talkID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errHandoffNotFound
	}
	return h, err
}

// carriedOpen reports whether proposal p of the talk in v still takes
// answers although the talk is agreed (or ratified: the stakeholders may
// ratify the back-channel agreement before it is carried or accepted in
// the official track): it is the carried proposal and the talk's
// agreement is still the back-channel one.
func (s *Service) carriedOpen(ctx context.Context, v *View, p *Proposal) (bool, error) {
	if v.Talk.Status != StatusAgreed && v.Talk.Status != StatusRatified {
		return false, nil
	}
	h, err := s.store.FindHandoff(ctx, v.Talk.ID)
	if ErrorCode(err) == ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	} else if h.ProposalID != p.ID {
		return false, nil
	}
	ag, err := s.store.FindAgreement(ctx, v.Talk.ID)
	if err != nil {
		return false, err
	}
	return ag.ProposalID != p.ID, nil
}

// applyDisclosure folds a disclosure or hand-off event into s.
func (s *State) applyDisclosure(e *Event, parties map[int64]*Party, x *textIndex) error {
	at := Timestamp(e.Time)
	switch e.Type {
	case EventDisclosureProposed:
		var p DisclosureProposed
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if x.versions[p.VersionID] == nil {
			return fmt.Errorf("unknown version %d", p.VersionID)
		}
		s.Disclosure = &Disclosure{TalkID: e.TalkID, Revision: p.Revision, VersionID: p.VersionID, Terms: p.Terms,
			ShowTitle: p.ShowTitle, Embargo: Timestamp(p.Embargo), ProposedBy: p.MemberID, ProposedAt: at}
	case EventDisclosureConsented:
		var p DisclosureConsented
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if s.Disclosure == nil || s.Disclosure.Revision != p.Revision {
			return fmt.Errorf("consent to revision %d, not the current plan", p.Revision)
		} else if parties[p.PartyID] == nil {
			return fmt.Errorf("unknown party %d", p.PartyID)
		}
		s.Disclosure.Consents = append(s.Disclosure.Consents, DisclosureConsent{PartyID: p.PartyID, MemberID: p.MemberID, ConsentedAt: at})
		slices.SortFunc(s.Disclosure.Consents, func(a, b DisclosureConsent) int { return cmp.Compare(a.PartyID, b.PartyID) })
	case EventProposalCarried:
		var p ProposalCarried
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if x.proposals[p.ProposalID] == nil {
			return fmt.Errorf("unknown proposal %d", p.ProposalID)
		} else if s.Handoff != nil {
			return fmt.Errorf("carried twice")
		}
		s.Handoff = &Handoff{TalkID: e.TalkID, ProposalID: p.ProposalID, MemberID: p.MemberID, CarriedAt: at}
		x.proposals[p.ProposalID].Carried = true
	}
	return nil
}
