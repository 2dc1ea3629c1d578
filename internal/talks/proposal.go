package talks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/backchannel/backchannel/outcome"
)

// The single negotiating text: a Proposal in a track is a tree of
// Versions, each an outcome of the talk's space that counters its parent.
// Each party answers a version (Answer); a version that every party has
// accepted is the talk's Agreement.

// Event types of the single negotiating text. All of them belong to the
// proposal's track.
const (
	EventProposalCreated = "proposal.created"
	EventVersionProposed = "version.proposed"
	EventAnswerGiven     = "answer.given"
	EventAnswerWithdrawn = "answer.withdrawn"
	EventTalkAgreed      = "talk.agreed"
)

// Limits on the text of a proposal, in bytes.
const (
	MaxProposalTitleLen = 200
	MaxClauseLen        = 16 << 10
	MaxRationaleLen     = 16 << 10
)

// Proposal is a single negotiating text in a track: the root of a tree of
// versions.
type Proposal struct {
	ID        int64
	TalkID    int64
	TrackID   int64
	Title     string
	AuthorID  int64 // the member who proposed it
	CreatedAt time.Time
	// Carried marks a proposal carried from a back-channel into the
	// official track (Service.CarryAgreement): its first version is a
	// back-channel's agreed text. It stays when a reopening undoes the
	// agreement and its Handoff.
	Carried bool
}

// ProposalFilter selects proposals in ascending ID order. TalkID is
// required; TrackID, if set, narrows to one track.
type ProposalFilter struct {
	TalkID  int64
	TrackID int64
}

// Version is one text of a proposal: an outcome of the talk's space, with
// optional clause text per issue, that counters its parent.
type Version struct {
	ID         int64
	ProposalID int64
	ParentID   int64 // the version this one counters; 0 for the first

	// Values names a value per issue: issue name to value name, an outcome
	// of the talk's space (see outcome.Space.Parse).
	Values map[string]string

	// Clauses holds optional clause text by issue name; nil if none.
	Clauses map[string]string

	Rationale string
	AuthorID  int64 // the member who proposed it
	CreatedAt time.Time
}

// VersionFilter selects the versions of a proposal in ascending ID order.
type VersionFilter struct {
	ProposalID int64
}

// AnswerKind is how a party answers a version.
type AnswerKind string

// The answers a party gives. A counter is given by proposing a child
// version (Service.ProposeVersion), never directly.
const (
	AnswerAccept  AnswerKind = "accept"
	AnswerReject  AnswerKind = "reject"
	AnswerCounter AnswerKind = "counter"
)

// Valid reports whether k is one of the defined answers.
func (k AnswerKind) Valid() bool {
	return k == AnswerAccept || k == AnswerReject || k == AnswerCounter
}

// Answer is a party's answer to a version, given by one of its principals
// or envoys. A party has at most one standing answer per version; an
// answer stands until it is withdrawn, which is an event of its own.
type Answer struct {
	ID         int64
	ProposalID int64
	VersionID  int64
	PartyID    int64
	MemberID   int64 // the principal or envoy who answered
	Kind       AnswerKind
	CounterID  int64 // for a counter, the version it proposed
	CreatedAt  time.Time

	// WithdrawnAt is when the answer was withdrawn; zero while it stands.
	WithdrawnAt time.Time
}

// Standing reports whether the answer has not been withdrawn.
func (a *Answer) Standing() bool { return a.WithdrawnAt.IsZero() }

// AnswerFilter selects answers in ascending ID order: those to one version
// if VersionID is set, else those to any version of ProposalID.
type AnswerFilter struct {
	VersionID  int64
	ProposalID int64
}

// Agreement is the version of a talk that every party accepted. A talk has
// at most one.
type Agreement struct {
	TalkID     int64
	ProposalID int64
	VersionID  int64
	TrackID    int64 // the proposal's track
	AgreedAt   time.Time
}

// ProposalCreated is the payload of a proposal.created event, whose track
// is the proposal's. A version.proposed event of its first version follows
// it.
type ProposalCreated struct {
	ProposalID int64  `json:"proposal_id"`
	Title      string `json:"title"`
	AuthorID   int64  `json:"author_id"`
}

// VersionProposed is the payload of a version.proposed event.
type VersionProposed struct {
	VersionID  int64             `json:"version_id"`
	ProposalID int64             `json:"proposal_id"`
	ParentID   int64             `json:"parent_id,omitempty"`
	Values     map[string]string `json:"values"`
	Clauses    map[string]string `json:"clauses,omitempty"`
	Rationale  string            `json:"rationale,omitempty"`
	AuthorID   int64             `json:"author_id"`
}

// AnswerGiven is the payload of an answer.given event.
type AnswerGiven struct {
	AnswerID  int64      `json:"answer_id"`
	VersionID int64      `json:"version_id"`
	PartyID   int64      `json:"party_id"`
	MemberID  int64      `json:"member_id"`
	Kind      AnswerKind `json:"kind"`
	CounterID int64      `json:"counter_id,omitempty"`
}

// AnswerWithdrawn is the payload of an answer.withdrawn event.
type AnswerWithdrawn struct {
	AnswerID int64 `json:"answer_id"`
}

// TalkAgreed is the payload of a talk.agreed event: the talk's status
// becomes agreed (a ratified talk, whose carried text is accepted, stays
// ratified), and the version its agreement.
type TalkAgreed struct {
	ProposalID int64 `json:"proposal_id"`
	VersionID  int64 `json:"version_id"`
}

// ProposalStore persists the single negotiating text. Its contract is that
// of Store: every write appends its events on the proposal's track and
// updates the projections in one transaction; errors are *Error values.
// Writes to a talk that has an agreement return ECONFLICT: the text is
// settled. Each of the three writes below whose Stamp has a Mandate
// returns ECONFLICT, inside its transaction and before writing anything,
// if the envoy's mandate version or (if not 0) its party's latest
// preferences version is no longer the one named. It is safe for
// concurrent use.
type ProposalStore interface {
	// CreateProposal stores p in track p.TrackID with its first version v,
	// appending proposal.created and version.proposed. It sets p.ID,
	// p.TalkID, p.CreatedAt, v.ID, v.ProposalID and v.CreatedAt.
	// ENOTFOUND for an unknown track; EINVALID if an author is not a
	// member of the track's talk.
	CreateProposal(ctx context.Context, p *Proposal, v *Version, s Stamp) error

	// ProposeVersion stores v, a counter to version v.ParentID of the same
	// proposal, appending version.proposed, and sets v.ID, v.ProposalID
	// and v.CreatedAt. If counter is not nil, it also records counter as
	// its party's answer to the parent (Kind counter, CounterID v.ID),
	// appending answer.given, and sets its ID, ProposalID, VersionID and
	// CreatedAt. ENOTFOUND for an unknown parent; ECONFLICT if the party
	// has a standing answer to the parent; EINVALID for an author or
	// party not of the talk.
	ProposeVersion(ctx context.Context, v *Version, counter *Answer, s Stamp) error

	// AnswerVersion records a (accept or reject) as its party's answer to
	// version a.VersionID, appending answer.given, and sets a.ID,
	// a.ProposalID and a.CreatedAt. If a is an acceptance and every party
	// of the talk now has a standing acceptance of the version, it also
	// records the agreement, sets the talk's status to agreed (unless it
	// is ratified: the carried text of a ratified agreement) and appends
	// talk.agreed, in the same transaction. ENOTFOUND for an unknown
	// version; ECONFLICT if the party already has a standing answer to
	// it; EINVALID for a counter, or a member or party not of the talk or
	// not matching.
	AnswerVersion(ctx context.Context, a *Answer, s Stamp) error

	// WithdrawAnswer withdraws answer id, appending answer.withdrawn.
	// ENOTFOUND for an unknown answer; ECONFLICT if it is already
	// withdrawn or the talk has an agreement.
	WithdrawAnswer(ctx context.Context, id int64, s Stamp) error

	// FindProposalByID returns the proposal with the given ID, or ENOTFOUND.
	FindProposalByID(ctx context.Context, id int64) (*Proposal, error)

	// FindProposals returns the proposals that match f in ascending ID order.
	FindProposals(ctx context.Context, f ProposalFilter) ([]*Proposal, error)

	// FindVersionByID returns the version with the given ID, or ENOTFOUND.
	FindVersionByID(ctx context.Context, id int64) (*Version, error)

	// FindVersions returns the versions that match f in ascending ID order.
	FindVersions(ctx context.Context, f VersionFilter) ([]*Version, error)

	// FindAnswerByID returns the answer with the given ID, or ENOTFOUND.
	FindAnswerByID(ctx context.Context, id int64) (*Answer, error)

	// FindAnswers returns the answers, standing or withdrawn, that match f
	// in ascending ID order.
	FindAnswers(ctx context.Context, f AnswerFilter) ([]*Answer, error)

	// FindAgreement returns the agreement of talk talkID, or ENOTFOUND if
	// it has none.
	FindAgreement(ctx context.Context, talkID int64) (*Agreement, error)
}

// IssueDiff is how two versions differ on one issue.
type IssueDiff struct {
	Issue         string
	From, To      string // the value names
	ClauseChanged bool
}

// Diff compares versions a and b issue by issue, in the order of the
// space's issues, and returns the issues on which their values or clause
// texts differ. Names of issues not in space are ignored. It takes O(n)
// time in the number of issues.
func Diff(space *outcome.Space, a, b *Version) []IssueDiff {
	var d []IssueDiff
	for _, is := range space.Issues {
		from, to := a.Values[is.Name], b.Values[is.Name]
		clause := a.Clauses[is.Name] != b.Clauses[is.Name]
		if from != to || clause {
			d = append(d, IssueDiff{Issue: is.Name, From: from, To: to, ClauseChanged: clause})
		}
	}
	return d
}

var (
	errProposalNotFound  = Errorf(ENOTFOUND, "Proposal not found.")
	errVersionNotFound   = Errorf(ENOTFOUND, "Version not found.")
	errAnswerNotFound    = Errorf(ENOTFOUND, "Answer not found.")
	errAgreementNotFound = Errorf(ENOTFOUND, "Agreement not found.")
)

// speaksForParty reports whether the member may answer for its party: a
// principal or an envoy may.
func (v *View) speaksForParty() bool {
	return v.Member.PartyID != 0 && (v.Member.Role == RolePrincipal || v.Member.Role == RoleEnvoy)
}

// canPropose reports whether the member may put a version on the table: one
// who speaks for a party, or a facilitator (who drafts as a mediator).
func (v *View) canPropose() bool {
	return v.speaksForParty() || v.Member.Role == RoleFacilitator
}

// viewOfProposal returns the view of the talk of proposal id and the
// proposal, or notFound if it does not exist for the acting user.
func (s *Service) viewOfProposal(ctx context.Context, id int64, notFound error) (*View, *Proposal, error) {
	if _, err := currentUser(ctx); err != nil {
		return nil, nil, err
	}
	p := s.texts.proposalOf(id)
	if p == nil {
		var err error
		p, err = s.store.FindProposalByID(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil, notFound
		} else if err != nil {
			return nil, nil, err
		}
		s.texts.putProposal(p)
	}
	v, _, err := s.viewOfTrack(ctx, p.TrackID, notFound)
	if err != nil {
		return nil, nil, err
	}
	return v, p, nil
}

// viewOfVersion returns the view, proposal and version id, or ENOTFOUND
// if the version does not exist for the acting user.
func (s *Service) viewOfVersion(ctx context.Context, id int64) (*View, *Proposal, *Version, error) {
	if _, err := currentUser(ctx); err != nil {
		return nil, nil, nil, err
	}
	ver := s.texts.version(id)
	if ver == nil {
		var err error
		ver, err = s.store.FindVersionByID(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil, nil, errVersionNotFound
		} else if err != nil {
			return nil, nil, nil, err
		}
		s.texts.putVersion(ver)
	}
	v, p, err := s.viewOfProposal(ctx, ver.ProposalID, errVersionNotFound)
	if err != nil {
		return nil, nil, nil, err
	}
	return v, p, ver, nil
}

// viewOfParent is viewOfVersion for a write that needs only the version's
// proposal: it need not read the version if its proposal is known.
func (s *Service) viewOfParent(ctx context.Context, id int64) (*View, *Proposal, error) {
	if pid, ok := s.texts.proposalID(id); ok {
		return s.viewOfProposal(ctx, pid, errVersionNotFound)
	}
	v, p, _, err := s.viewOfVersion(ctx, id)
	return v, p, err
}

// checkOpen returns ECONFLICT unless the talk is open to new text and
// answers.
func checkOpen(t *Talk) error {
	if t.Status != StatusOpen {
		return Errorf(ECONFLICT, "The talk is %s; its text no longer changes.", t.Status)
	}
	return nil
}

// checkVersion validates ver against the talk's outcome space: a value per
// issue, clauses only for issues of the space, and the length limits.
func checkVersion(t *Talk, ver *Version) error {
	if t.Space == nil {
		return Errorf(EINVALID, "The talk has no outcome space yet.")
	}
	if _, err := t.Space.Parse(ver.Values); err != nil {
		return invalidOutcome("outcome", err)
	}
	for issue, text := range ver.Clauses {
		if t.Space.IssueIndex(issue) < 0 {
			return Errorf(EINVALID, "Clause for unknown issue %q.", issue)
		} else if len(text) > MaxClauseLen {
			return Errorf(EINVALID, "Clause for issue %q longer than %d bytes.", issue, MaxClauseLen)
		}
	}
	if len(ver.Rationale) > MaxRationaleLen {
		return Errorf(EINVALID, "Rationale longer than %d bytes.", MaxRationaleLen)
	}
	return nil
}

// CreateProposal puts proposal p with its first version ver in track
// p.TrackID. A principal or envoy of a party, or a facilitator, who may
// see the track may; advisors and observers get EFORBIDDEN. The talk must
// be open (else ECONFLICT) and have an outcome space, of which ver.Values
// must be an outcome (else EINVALID, naming the issue and value).
func (s *Service) CreateProposal(ctx context.Context, p *Proposal, ver *Version) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.createProposal(ctx, p, ver) })
}

func (s *Service) createProposal(ctx context.Context, p *Proposal, ver *Version) error {
	v, _, err := s.viewOfTrack(ctx, p.TrackID, errTrackNotFound)
	if err != nil {
		return err
	} else if !v.canPropose() {
		return Errorf(EFORBIDDEN, "Only a principal, an envoy or a facilitator may propose.")
	} else if err := checkOpen(v.Talk); err != nil {
		return err
	}
	if strings.TrimSpace(p.Title) == "" {
		return Errorf(EINVALID, "Proposal title required.")
	} else if len(p.Title) > MaxProposalTitleLen {
		return Errorf(EINVALID, "Proposal title longer than %d bytes.", MaxProposalTitleLen)
	}
	if err := checkVersion(v.Talk, ver); err != nil {
		return err
	}
	st := s.stamp(v)
	if st.Mandate, err = s.checkMandate(ctx, v, ver.Values); err != nil {
		return err
	}
	p.TalkID, p.AuthorID = v.Talk.ID, v.Member.ID
	ver.ParentID, ver.AuthorID = 0, v.Member.ID
	if err := s.signAction(ctx, v.snap, VersionStatement(v.Talk.ID, MemberSigner(v.Member.ID), p.TrackID, 0, ver.Values, ver.Clauses, ver.Rationale), &st); err != nil {
		return err
	}
	if err := s.store.CreateProposal(ctx, p, ver, st); err != nil {
		return err
	}
	// As the store keeps it: the first counter of each member who
	// answers it then reads no proposal.
	s.texts.putProposal(p)
	s.texts.putProposalID(ver.ID, p.ID)
	return nil
}

// ProposeVersion puts ver on the table as a counter to version
// ver.ParentID, in the same proposal. Who may is as for CreateProposal.
// When a principal or envoy counters, the counter is also its party's
// answer to the parent; ECONFLICT if the party already has a standing
// answer to the parent (withdraw it first). A facilitator's counter is a
// redraft and answers for no one. Answers to other versions are left as
// they are.
func (s *Service) ProposeVersion(ctx context.Context, ver *Version) error {
	return withKeptView(ctx, func(ctx context.Context) error { return s.proposeVersion(ctx, ver) })
}

func (s *Service) proposeVersion(ctx context.Context, ver *Version) error {
	if ver.ParentID == 0 {
		if _, err := currentUser(ctx); err != nil {
			return err
		}
		return Errorf(EINVALID, "A counter-proposal needs the version it counters.")
	}
	v, p, err := s.viewOfParent(ctx, ver.ParentID)
	if err != nil {
		return err
	} else if !v.canPropose() {
		return Errorf(EFORBIDDEN, "Only a principal, an envoy or a facilitator may propose.")
	} else if err := checkOpen(v.Talk); err != nil {
		return err
	} else if err := checkVersion(v.Talk, ver); err != nil {
		return err
	}
	st := s.stamp(v)
	if st.Mandate, err = s.checkMandate(ctx, v, ver.Values); err != nil {
		return err
	}
	ver.ProposalID, ver.AuthorID = p.ID, v.Member.ID
	var counter *Answer
	if v.speaksForParty() {
		counter = &Answer{VersionID: ver.ParentID, PartyID: v.Member.PartyID, MemberID: v.Member.ID, Kind: AnswerCounter}
	}
	if err := s.signAction(ctx, v.snap, VersionStatement(v.Talk.ID, MemberSigner(v.Member.ID), 0, ver.ParentID, ver.Values, ver.Clauses, ver.Rationale), &st); err != nil {
		return err
	}
	st.Appended = new(Appended)
	storing(ctx)
	if err := s.store.ProposeVersion(ctx, ver, counter, st); err != nil {
		return err
	}
	s.texts.putProposalID(ver.ID, ver.ProposalID)
	n := int64(1) // version.proposed
	if counter != nil {
		n++ // answer.given
	}
	s.advance(v, st.Appended, n, st.View != nil)
	return nil
}

// AnswerVersion records a.Kind (accept or reject) as the answer of the
// acting member's party to version a.VersionID. A principal or envoy who
// may see the track may; others get EFORBIDDEN. A counter is given with
// ProposeVersion (EINVALID here). ECONFLICT if the party already has a
// standing answer to the version or the talk is not open. An acceptance
// that completes every party's acceptance makes the version the talk's
// agreement, in the same write.
func (s *Service) AnswerVersion(ctx context.Context, a *Answer) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.answerVersion(ctx, a) })
}

func (s *Service) answerVersion(ctx context.Context, a *Answer) error {
	v, p, ver, err := s.viewOfVersion(ctx, a.VersionID)
	if err != nil {
		return err
	} else if !v.speaksForParty() {
		return Errorf(EFORBIDDEN, "Only a principal or an envoy answers for a party.")
	}
	switch a.Kind {
	case AnswerAccept, AnswerReject:
	case AnswerCounter:
		return Errorf(EINVALID, "Counter by proposing a version.")
	default:
		return Errorf(EINVALID, "Answer %q is not accept, reject or counter.", a.Kind)
	}
	if carried, err := s.carriedOpen(ctx, v, p); err != nil {
		return err
	} else if !carried {
		if err := checkOpen(v.Talk); err != nil {
			return err
		}
	}
	st := s.stamp(v)
	if a.Kind == AnswerAccept {
		if st.Mandate, err = s.checkMandate(ctx, v, ver.Values); err != nil {
			return err
		}
	}
	a.ProposalID, a.PartyID, a.MemberID, a.CounterID = p.ID, v.Member.PartyID, v.Member.ID, 0
	a.WithdrawnAt = time.Time{}
	stmt := &Statement{Talk: v.Talk.ID, Signer: MemberSigner(v.Member.ID), Action: ActionAnswer, Version: a.VersionID, Kind: a.Kind}
	if err := s.signAction(ctx, v.snap, stmt, &st); err != nil {
		return err
	}
	return s.store.AnswerVersion(ctx, a, st)
}

// WithdrawAnswer withdraws answer id, an event of its own, and returns the
// answer with WithdrawnAt set (its ProposalID tells the caller which
// proposal, and so which talk, changed). A principal or envoy of the
// answering party may; others who may see the answer get EFORBIDDEN.
// ECONFLICT if it is already withdrawn or the talk is not open (agreed,
// ratified or closed), unless it answers the carried text.
func (s *Service) WithdrawAnswer(ctx context.Context, id int64) (*Answer, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Answer, error) { return s.withdrawAnswer(ctx, id) })
}

func (s *Service) withdrawAnswer(ctx context.Context, id int64) (*Answer, error) {
	if _, err := currentUser(ctx); err != nil {
		return nil, err
	}
	a, err := s.store.FindAnswerByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errAnswerNotFound
	} else if err != nil {
		return nil, err
	}
	v, p, err := s.viewOfProposal(ctx, a.ProposalID, errAnswerNotFound)
	if err != nil {
		return nil, err
	}
	carried, err := s.carriedOpen(ctx, v, p)
	if err != nil {
		return nil, err
	} else if !v.speaksForParty() || v.Member.PartyID != a.PartyID {
		return nil, Errorf(EFORBIDDEN, "Only a principal or an envoy of its party may withdraw an answer.")
	} else if !a.Standing() {
		return nil, Errorf(ECONFLICT, "Answer already withdrawn.")
	} else if v.Talk.Status != StatusOpen && !carried {
		// Agreed, ratified or closed: the text no longer changes, nor do
		// the answers to it.
		return nil, Errorf(ECONFLICT, "The talk is %s; answers stand.", v.Talk.Status)
	}
	st := s.stamp(v)
	if err := s.store.WithdrawAnswer(ctx, id, st); err != nil {
		return nil, err
	}
	a.WithdrawnAt = Timestamp(st.Time)
	return a, nil
}

// FindProposalByID returns proposal id if the acting user may see its
// track, or ENOTFOUND.
func (s *Service) FindProposalByID(ctx context.Context, id int64) (*Proposal, error) {
	_, p, err := s.viewOfProposal(ctx, id, errProposalNotFound)
	return p, err
}

// FindProposals returns the proposals of talk f.TalkID (in track f.TrackID
// if set) in the tracks the acting user may see. ENOTFOUND for a talk or
// track that does not exist for the user.
func (s *Service) FindProposals(ctx context.Context, f ProposalFilter) ([]*Proposal, error) {
	var v *View
	var err error
	if f.TrackID != 0 {
		if v, _, err = s.viewOfTrack(ctx, f.TrackID, errTrackNotFound); err != nil {
			return nil, err
		}
		f.TalkID = v.Talk.ID
	} else if v, err = s.View(ctx, f.TalkID); err != nil {
		return nil, err
	}
	ps, err := s.store.FindProposals(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []*Proposal
	for _, p := range ps {
		if v.CanSeeTrack(v.snap.tracks[p.TrackID]) {
			out = append(out, p)
		}
	}
	return out, nil
}

// FindVersionByID returns version id if the acting user may see its
// proposal's track, or ENOTFOUND.
func (s *Service) FindVersionByID(ctx context.Context, id int64) (*Version, error) {
	_, _, ver, err := s.viewOfVersion(ctx, id)
	return ver, err
}

// FindVersions returns the versions of proposal f.ProposalID, the lineage
// tree in ascending ID order, if the acting user may see it, or ENOTFOUND.
func (s *Service) FindVersions(ctx context.Context, f VersionFilter) ([]*Version, error) {
	if _, _, err := s.viewOfProposal(ctx, f.ProposalID, errProposalNotFound); err != nil {
		return nil, err
	}
	return s.store.FindVersions(ctx, f)
}

// FindAnswers returns the answers, standing and withdrawn, to version
// f.VersionID, or if it is 0 to every version of proposal f.ProposalID,
// if the acting user may see them, or ENOTFOUND.
func (s *Service) FindAnswers(ctx context.Context, f AnswerFilter) ([]*Answer, error) {
	if f.VersionID != 0 {
		if _, _, _, err := s.viewOfVersion(ctx, f.VersionID); err != nil {
			return nil, err
		}
		return s.store.FindAnswers(ctx, AnswerFilter{VersionID: f.VersionID})
	}
	if _, _, err := s.viewOfProposal(ctx, f.ProposalID, errProposalNotFound); err != nil {
		return nil, err
	}
	return s.store.FindAnswers(ctx, AnswerFilter{ProposalID: f.ProposalID})
}

// FindAgreement returns the agreement of talk talkID, or ENOTFOUND if it
// has none or the acting user may not see the track of its proposal.
func (s *Service) FindAgreement(ctx context.Context, talkID int64) (*Agreement, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	ag, err := s.store.FindAgreement(ctx, talkID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errAgreementNotFound
	} else if err != nil {
		return nil, err
	} else if !v.CanSeeTrack(v.snap.tracks[ag.TrackID]) {
		return nil, errAgreementNotFound
	}
	return ag, nil
}

// textIndex holds the proposals, versions and answers folded so far.
type textIndex struct {
	proposals map[int64]*Proposal
	versions  map[int64]*Version
	answers   map[int64]*Answer
}

func newTextIndex() *textIndex {
	return &textIndex{proposals: map[int64]*Proposal{}, versions: map[int64]*Version{}, answers: map[int64]*Answer{}}
}

// applyText folds an event of the single negotiating text into s.
func (s *State) applyText(e *Event, parties map[int64]*Party, tracks map[int64]*Track, x *textIndex) error {
	at := Timestamp(e.Time)
	switch e.Type {
	case EventProposalCreated:
		var p ProposalCreated
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if tracks[e.TrackID] == nil {
			return fmt.Errorf("unknown track %d", e.TrackID)
		} else if x.proposals[p.ProposalID] != nil {
			return fmt.Errorf("proposal %d created twice", p.ProposalID)
		}
		pr := &Proposal{ID: p.ProposalID, TalkID: e.TalkID, TrackID: e.TrackID, Title: p.Title, AuthorID: p.AuthorID, CreatedAt: at}
		x.proposals[pr.ID] = pr
		s.Proposals = append(s.Proposals, pr)
	case EventVersionProposed:
		var p VersionProposed
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if pr := x.proposals[p.ProposalID]; pr == nil || pr.TrackID != e.TrackID {
			return fmt.Errorf("unknown proposal %d in track %d", p.ProposalID, e.TrackID)
		} else if x.versions[p.VersionID] != nil {
			return fmt.Errorf("version %d proposed twice", p.VersionID)
		} else if par := x.versions[p.ParentID]; p.ParentID != 0 && (par == nil || par.ProposalID != p.ProposalID) {
			return fmt.Errorf("parent %d is not a version of proposal %d", p.ParentID, p.ProposalID)
		}
		v := &Version{ID: p.VersionID, ProposalID: p.ProposalID, ParentID: p.ParentID, Values: p.Values,
			Clauses: p.Clauses, Rationale: p.Rationale, AuthorID: p.AuthorID, CreatedAt: at}
		if len(v.Clauses) == 0 {
			v.Clauses = nil
		}
		x.versions[v.ID] = v
		s.Versions = append(s.Versions, v)
	case EventAnswerGiven:
		var p AnswerGiven
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		v := x.versions[p.VersionID]
		switch {
		case v == nil:
			return fmt.Errorf("unknown version %d", p.VersionID)
		case parties[p.PartyID] == nil:
			return fmt.Errorf("unknown party %d", p.PartyID)
		case x.answers[p.AnswerID] != nil:
			return fmt.Errorf("answer %d given twice", p.AnswerID)
		case !p.Kind.Valid():
			return fmt.Errorf("unknown answer %q", p.Kind)
		}
		a := &Answer{ID: p.AnswerID, ProposalID: v.ProposalID, VersionID: v.ID, PartyID: p.PartyID,
			MemberID: p.MemberID, Kind: p.Kind, CounterID: p.CounterID, CreatedAt: at}
		x.answers[a.ID] = a
		s.Answers = append(s.Answers, a)
	case EventAnswerWithdrawn:
		var p AnswerWithdrawn
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		a := x.answers[p.AnswerID]
		if a == nil {
			return fmt.Errorf("unknown answer %d", p.AnswerID)
		} else if !a.Standing() {
			return fmt.Errorf("answer %d withdrawn twice", p.AnswerID)
		}
		a.WithdrawnAt = at
	case EventTalkAgreed:
		var p TalkAgreed
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if v := x.versions[p.VersionID]; v == nil || v.ProposalID != p.ProposalID {
			return fmt.Errorf("unknown version %d of proposal %d", p.VersionID, p.ProposalID)
		} else if s.Agreement != nil && (s.Handoff == nil || s.Handoff.ProposalID != p.ProposalID || s.Agreement.ProposalID == p.ProposalID) {
			// Only the carried proposal agrees a second time (disclosure.go).
			return fmt.Errorf("talk agreed twice")
		}
		s.Agreement = &Agreement{TalkID: e.TalkID, ProposalID: p.ProposalID, VersionID: p.VersionID, TrackID: e.TrackID, AgreedAt: at}
		if s.Talk.Status != StatusRatified { // the carried text is the text ratified
			s.Talk.Status = StatusAgreed
		}
	}
	return nil
}
