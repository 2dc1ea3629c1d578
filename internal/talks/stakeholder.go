package talks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Stakeholders and ratification (issue 6, part 5). A stakeholder is an
// account attached to a talk that is not at the table. It is modelled as
// a row of its own, not as a member: View, and so every track, text,
// message, meeting, preference and event path, answers a stakeholder as
// it answers a stranger (ENOTFOUND). What a stakeholder may do goes
// through stakeholderOf instead:
//
//   - It may enter red lines: private preferences with a reserved value,
//     on a party's privacy terms. Only the stakeholder reads them; each
//     save appends redlines.saved with a salted digest only, and that
//     event is seen by no member. The parties learn one bit per version
//     of the text: whether it crosses some stakeholder's red line (its
//     utility under that stakeholder's reserved value), never whose or by
//     how much.
//   - Once every party accepts a version (the talk is agreed), the
//     stakeholder may read the agreed version, and nothing else, and
//     ratifies or rejects it once, with a comment (ratification.given).
//     When every stakeholder has ratified, the talk becomes ratified
//     (talk.ratified, in the same write).
//   - Once a stakeholder has rejected it, the convener or a facilitator
//     may reopen the talk (ReopenTalk): every standing acceptance is
//     withdrawn (answer.withdrawn), and the agreement, its hand-off and
//     disclosure plan and every stakeholder's decision are undone, with
//     the talk open again (talk.reopened), in one write. The parties
//     negotiate on, and the stakeholders decide on the next agreement.

// The event types of stakeholders and ratification.
const (
	EventStakeholderAdded  = "stakeholder.added"  // talk-wide, seen by members
	EventRedLinesSaved     = "redlines.saved"     // seen by no member
	EventRatificationGiven = "ratification.given" // talk-wide
	EventTalkRatified      = "talk.ratified"      // talk-wide; status ratified
	EventTalkReopened      = "talk.reopened"      // talk-wide; status open, agreement undone
)

// hiddenFromMembers lists the event types no member sees (CanSeeEvent).
var hiddenFromMembers = map[string]bool{EventRedLinesSaved: true}

// Decision is a stakeholder's answer to the agreement.
type Decision string

// The decisions; "" is none yet.
const (
	DecisionRatify Decision = "ratify"
	DecisionReject Decision = "reject"
)

// MaxCommentLen is the longest ratification comment, in bytes.
const MaxCommentLen = 4000

// Stakeholder is an account attached to a talk that is not at the table,
// with its answer to the agreement once it has given one.
type Stakeholder struct {
	TalkID  int64
	UserID  int64
	AddedAt time.Time

	Decision  Decision // "" until it answers
	Comment   string
	DecidedAt time.Time
}

// StakeholderAdded is the payload of stakeholder.added.
type StakeholderAdded struct {
	UserID int64 `json:"user_id"`
}

// RedLinesSaved is the payload of redlines.saved: a commitment only.
type RedLinesSaved struct {
	UserID  int64  `json:"user_id"`
	Version int64  `json:"version"`
	Digest  string `json:"digest"`
}

// RatificationGiven is the payload of ratification.given.
type RatificationGiven struct {
	UserID   int64    `json:"user_id"`
	Decision Decision `json:"decision"`
	Comment  string   `json:"comment"`
}

// RedLines is one version of a stakeholder's red lines: preferences
// (PartyID 0) whose reserved value is the line. Version counts per
// stakeholder.
type RedLines struct {
	UserID int64
	Preferences
}

// StakeholderStore persists stakeholders, red lines and ratification. It
// is part of Store, with the same contract.
type StakeholderStore interface {
	// AddStakeholder attaches st.UserID to talk st.TalkID, appending
	// stakeholder.added, and sets st.AddedAt. ENOTFOUND for an unknown
	// talk, EINVALID for an unknown user, ECONFLICT if the user is
	// already a stakeholder or a member of the talk, or the talk is
	// ratified.
	AddStakeholder(ctx context.Context, st *Stakeholder, s Stamp) error

	// FindStakeholders returns the stakeholders of talk talkID by user ID.
	FindStakeholders(ctx context.Context, talkID int64) ([]*Stakeholder, error)

	// FindStakeholderTalks returns the talks of which user userID is a
	// stakeholder, in ascending ID order.
	FindStakeholderTalks(ctx context.Context, userID int64) ([]*Talk, error)

	// SaveRedLines stores r as the next version of stakeholder r.UserID's
	// red lines, appending redlines.saved with r.Digest, and sets
	// r.Version, r.CreatedBy and r.CreatedAt. EINVALID if r.UserID is not
	// a stakeholder of the talk.
	SaveRedLines(ctx context.Context, r *RedLines, s Stamp) error

	// FindRedLines returns every version of stakeholder userID's red
	// lines, oldest first.
	FindRedLines(ctx context.Context, talkID, userID int64) ([]*RedLines, error)

	// FindLatestRedLines returns each stakeholder's latest red lines, by
	// user ID, leaving out those with none.
	FindLatestRedLines(ctx context.Context, talkID int64) ([]*RedLines, error)

	// Ratify records stakeholder userID's decision and comment, appending
	// ratification.given, and, if every stakeholder has now ratified,
	// sets the talk's status to ratified and appends talk.ratified, in
	// the same write. ECONFLICT unless the talk is agreed or the
	// stakeholder has already answered; EINVALID if userID is not a
	// stakeholder.
	Ratify(ctx context.Context, talkID, userID int64, d Decision, comment string, s Stamp) error

	// ReopenTalk undoes the agreement of talk talkID, which a stakeholder
	// has rejected. In one write it withdraws every standing acceptance
	// of the talk (answer.withdrawn, on each answer's track, in ascending
	// ID order); removes the agreement, the hand-off and the disclosure
	// plan with its consents; clears every stakeholder's decision; sets
	// the talk's status to open; and appends talk.reopened. ECONFLICT
	// unless the talk has an agreement, is agreed or closed, and some
	// stakeholder has rejected; ECONFLICT too (ErrTermsPublic) if its
	// disclosure plan is public at s.Time: every party has consented to
	// it and its embargo has passed (Disclosure.Published).
	ReopenTalk(ctx context.Context, talkID int64, s Stamp) error
}

// ErrTermsPublic is what ReopenTalk returns for a talk whose agreed terms
// are public.
var ErrTermsPublic = Errorf(ECONFLICT, "The agreement's terms are public; the talk does not open again.")

var errNotStakeholder = Errorf(EFORBIDDEN, "Only the talk's stakeholders have red lines and ratify.")

// stakeholderOf returns talk talkID and the acting user's place among its
// stakeholders, or ENOTFOUND if the user is neither a stakeholder nor a
// member (and EFORBIDDEN for a member).
func (s *Service) stakeholderOf(ctx context.Context, talkID int64) (*Talk, *Stakeholder, error) {
	u, err := currentUser(ctx)
	if err != nil {
		return nil, nil, err
	}
	sts, err := s.store.FindStakeholders(ctx, talkID)
	if err != nil {
		return nil, nil, err
	}
	for _, st := range sts {
		if st.UserID == u.ID {
			t, err := s.store.FindTalkByID(ctx, talkID)
			return t, st, err
		}
	}
	if _, err := s.View(ctx, talkID); err != nil {
		return nil, nil, err
	}
	return nil, nil, errNotStakeholder
}

// StakeholderTalk returns talk talkID and the acting user's stakeholder
// record: ENOTFOUND unless the user is a stakeholder or a member of the
// talk, EFORBIDDEN for a member.
func (s *Service) StakeholderTalk(ctx context.Context, talkID int64) (*Talk, *Stakeholder, error) {
	return s.stakeholderOf(ctx, talkID)
}

// AddStakeholder attaches user userID to talk talkID as a stakeholder. The
// convener and facilitators may; others get EFORBIDDEN. ECONFLICT if the
// user is already a member or a stakeholder, or the talk is ratified.
func (s *Service) AddStakeholder(ctx context.Context, talkID, userID int64) (*Stakeholder, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Stakeholder, error) { return s.addStakeholder(ctx, talkID, userID) })
}

func (s *Service) addStakeholder(ctx context.Context, talkID, userID int64) (*Stakeholder, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	} else if !v.CanManage() {
		return nil, Errorf(EFORBIDDEN, "Only the convener or a facilitator may attach a stakeholder.")
	} else if userID == 0 {
		return nil, Errorf(EINVALID, "Stakeholder user required.")
	} else if v.Talk.Status == StatusRatified {
		// Every stakeholder has ratified; one attached now would leave
		// the talk ratified without its decision.
		return nil, Errorf(ECONFLICT, "The talk is ratified: every stakeholder has ratified it, and no stakeholder joins now.")
	}
	st := &Stakeholder{TalkID: talkID, UserID: userID}
	stamp := s.stamp(v)
	if err := s.store.AddStakeholder(ctx, st, stamp); err != nil {
		return nil, err
	}
	s.giveKeyOnJoin(ctx, talkID, StakeholderSigner(userID), stamp)
	return st, nil
}

// FindStakeholders returns the stakeholders of talk talkID with their
// decisions, to its members (ENOTFOUND for anyone else) and to its
// stakeholders.
func (s *Service) FindStakeholders(ctx context.Context, talkID int64) ([]*Stakeholder, error) {
	if _, _, err := s.stakeholderOf(ctx, talkID); err != nil && ErrorCode(err) != EFORBIDDEN {
		return nil, err
	}
	return s.store.FindStakeholders(ctx, talkID)
}

// SaveRedLines saves r as the acting stakeholder's next red lines in talk
// r.TalkID. Only a stakeholder may (EFORBIDDEN for members). EINVALID
// unless r fits the talk's outcome space.
func (s *Service) SaveRedLines(ctx context.Context, r *RedLines) error {
	t, st, err := s.stakeholderOf(ctx, r.TalkID)
	if err != nil {
		return err
	}
	r.UserID, r.PartyID, r.TalkID = st.UserID, 0, t.ID
	if err := r.Validate(t.Space); err != nil {
		return err
	}
	r.Salt = make([]byte, 32)
	rand.Read(r.Salt)
	r.Digest = PreferencesDigest(r.Salt, r.Body())
	return s.store.SaveRedLines(ctx, r, Stamp{ActorID: st.UserID, Time: s.clock.Now()})
}

// FindRedLines returns every version of the acting stakeholder's red
// lines in talk talkID, oldest first. EFORBIDDEN for members.
func (s *Service) FindRedLines(ctx context.Context, talkID int64) ([]*RedLines, error) {
	_, st, err := s.stakeholderOf(ctx, talkID)
	if err != nil {
		return nil, err
	}
	return s.store.FindRedLines(ctx, talkID, st.UserID)
}

// CrossesRedLine reports whether version versionID crosses some
// stakeholder's red line: its utility under that stakeholder's latest red
// lines is below their reserved value. Whoever may see the version may
// ask; the answer names no stakeholder and no utility.
func (s *Service) CrossesRedLine(ctx context.Context, versionID int64) (bool, error) {
	v, _, ver, err := s.viewOfVersion(ctx, versionID)
	if err != nil {
		return false, err
	}
	lines, err := s.store.FindLatestRedLines(ctx, v.Talk.ID)
	if err != nil {
		return false, err
	}
	return crosses(v.Talk, lines, ver), nil
}

func crosses(t *Talk, lines []*RedLines, ver *Version) bool {
	if t.Space == nil {
		return false
	}
	o, err := t.Space.Parse(ver.Values)
	if err != nil {
		return false
	}
	for _, r := range lines {
		f, err := r.Func(t.Space)
		if err != nil {
			continue // red lines of an older space
		}
		if f.Utility(o) < r.Reserved-gainTol {
			return true
		}
	}
	return false
}

// AgreementForRatification returns the talk's agreement and its agreed
// version to a stakeholder once the talk is agreed or ratified: before
// that, ENOTFOUND (the text has not been sent). The version has its
// values and clauses only: no rationale, author or parent. Members get
// the agreement through FindAgreement.
func (s *Service) AgreementForRatification(ctx context.Context, talkID int64) (*Agreement, *Version, error) {
	t, _, err := s.stakeholderOf(ctx, talkID)
	if err != nil {
		return nil, nil, err
	}
	if t.Status != StatusAgreed && t.Status != StatusRatified {
		return nil, nil, errAgreementNotFound
	}
	ag, err := s.store.FindAgreement(ctx, talkID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errAgreementNotFound
	} else if err != nil {
		return nil, nil, err
	}
	ver, err := s.store.FindVersionByID(ctx, ag.VersionID)
	if err != nil {
		return nil, nil, err
	}
	// The text only: values and clauses. Its rationale, author and
	// lineage belong to the track it was agreed in, which the stakeholder
	// is not on (a back-channel, maybe); a hand-off strips them too.
	return ag, &Version{ID: ver.ID, ProposalID: ver.ProposalID, Values: ver.Values, Clauses: ver.Clauses, CreatedAt: ver.CreatedAt}, nil
}

// Ratify records the acting stakeholder's decision on the agreement of
// talk talkID, with a comment (required for a rejection). ECONFLICT
// before the talk is agreed or if the stakeholder has already answered;
// EFORBIDDEN for members.
func (s *Service) Ratify(ctx context.Context, talkID int64, d Decision, comment string) error {
	t, st, err := s.stakeholderOf(ctx, talkID)
	if err != nil {
		return err
	}
	comment = strings.TrimSpace(comment)
	switch {
	case d != DecisionRatify && d != DecisionReject:
		return Errorf(EINVALID, "Decision %q is not ratify or reject.", d)
	case d == DecisionReject && comment == "":
		return Errorf(EINVALID, "A rejection needs a comment.")
	case len(comment) > MaxCommentLen:
		return Errorf(EINVALID, "Comment longer than %d bytes.", MaxCommentLen)
	case t.Status != StatusAgreed:
		return Errorf(ECONFLICT, "The talk is %s; only an agreed text is ratified.", t.Status)
	case st.Decision != "":
		return Errorf(ECONFLICT, "You have already answered.")
	}
	stamp := Stamp{ActorID: st.UserID, Time: s.clock.Now()}
	stmt := &Statement{Talk: talkID, Signer: StakeholderSigner(st.UserID), Action: ActionRatify, Decision: d, Comment: comment}
	if err := s.signAction(ctx, nil, stmt, &stamp); err != nil {
		return err
	}
	return s.store.Ratify(ctx, talkID, st.UserID, d, comment, stamp)
}

// ReopenTalk reopens talk talkID after a stakeholder has rejected its
// agreement (see StakeholderStore.ReopenTalk) and returns the talk. The
// convener and facilitators may (EFORBIDDEN for other members). ECONFLICT
// unless the talk is agreed (or closed since) and some stakeholder has
// rejected its agreement, or if the agreement's terms are already public
// (the last two the store decides in its write): those stay as published.
func (s *Service) ReopenTalk(ctx context.Context, talkID int64) (*Talk, error) {
	return withFreshViewOf(ctx, func(ctx context.Context) (*Talk, error) { return s.reopenTalk(ctx, talkID) })
}

func (s *Service) reopenTalk(ctx context.Context, talkID int64) (*Talk, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	} else if !v.CanManage() {
		return nil, Errorf(EFORBIDDEN, "Only the convener or a facilitator may reopen the talk.")
	} else if v.Talk.Status != StatusAgreed && v.Talk.Status != StatusClosed {
		return nil, Errorf(ECONFLICT, "The talk is %s; only a talk whose agreement a stakeholder has rejected opens again.", v.Talk.Status)
	}
	// The reopening is signed by whoever reopens: it undoes an agreement
	// every party signed, so the record must say who did, under a key.
	stamp := s.stamp(v)
	if err := s.signAction(ctx, v.snap, ReopenStatement(talkID, MemberSigner(v.Member.ID)), &stamp); err != nil {
		return nil, err
	}
	// The store decides the rest in its write: a rejection, and terms not
	// yet public.
	if err := s.store.ReopenTalk(ctx, talkID, stamp); err != nil {
		return nil, err
	}
	t := *v.Talk
	t.Status = StatusOpen
	return &t, nil
}

// RatificationRound is the ratification of an agreement that a reopening
// ended: the decisions the stakeholders gave on it, in the order given,
// and the reopening.
type RatificationRound struct {
	Decisions  []*Stakeholder // UserID, Decision, Comment and DecidedAt
	ReopenedAt time.Time
	ReopenedBy int64 // the user who reopened the talk; 0 for a stakeholder, who sees no member
}

// EarlierRounds returns the ratification rounds of talk talkID that a
// reopening ended, oldest first: what the parties negotiate on from. Its
// members and stakeholders may read them (ENOTFOUND for anyone else), as
// they read the stakeholders' current decisions (FindStakeholders).
func (s *Service) EarlierRounds(ctx context.Context, talkID int64) ([]*RatificationRound, error) {
	_, own, err := s.stakeholderOf(ctx, talkID)
	if err != nil && ErrorCode(err) != EFORBIDDEN {
		return nil, err
	}
	reopened, err := s.store.FindEvents(ctx, EventFilter{TalkID: talkID, Type: EventTalkReopened})
	if err != nil || len(reopened) == 0 {
		return nil, err
	}
	given, err := s.store.FindEvents(ctx, EventFilter{TalkID: talkID, Type: EventRatificationGiven, BeforeSeq: reopened[len(reopened)-1].ID})
	if err != nil {
		return nil, err
	}
	rounds := make([]*RatificationRound, len(reopened))
	for i, e := range reopened {
		rounds[i] = &RatificationRound{ReopenedAt: Timestamp(e.Time)}
		if own == nil { // a member
			rounds[i].ReopenedBy = e.ActorID
		}
	}
	i := 0
	for _, e := range given {
		for e.ID > reopened[i].ID {
			i++
		}
		var p RatificationGiven
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return nil, fmt.Errorf("talks: event %d: %w", e.ID, err)
		}
		rounds[i].Decisions = append(rounds[i].Decisions, &Stakeholder{TalkID: talkID, UserID: p.UserID,
			Decision: p.Decision, Comment: p.Comment, DecidedAt: Timestamp(e.Time)})
	}
	return rounds, nil
}

// applyStakeholder folds the events of this file into s.
func (s *State) applyStakeholder(e *Event) error {
	switch e.Type {
	case EventStakeholderAdded:
		var p StakeholderAdded
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		s.Stakeholders = append(s.Stakeholders, &Stakeholder{TalkID: e.TalkID, UserID: p.UserID, AddedAt: Timestamp(e.Time)})
	case EventRedLinesSaved:
		var p RedLinesSaved
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if s.stakeholder(p.UserID) == nil {
			return fmt.Errorf("unknown stakeholder %d", p.UserID)
		} else if b, err := hex.DecodeString(p.Digest); err != nil || len(b) != 32 {
			return fmt.Errorf("malformed digest %q", p.Digest)
		}
	case EventRatificationGiven:
		var p RatificationGiven
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		st := s.stakeholder(p.UserID)
		if st == nil {
			return fmt.Errorf("unknown stakeholder %d", p.UserID)
		}
		st.Decision, st.Comment, st.DecidedAt = p.Decision, p.Comment, Timestamp(e.Time)
	case EventTalkRatified:
		if s.Talk == nil {
			return fmt.Errorf("no talk")
		}
		s.Talk.Status = StatusRatified
	case EventTalkReopened:
		switch {
		case s.Talk.Status != StatusAgreed && s.Talk.Status != StatusClosed, s.Agreement == nil:
			return fmt.Errorf("reopened while %s", s.Talk.Status)
		case !slices.ContainsFunc(s.Stakeholders, func(st *Stakeholder) bool { return st.Decision == DecisionReject }):
			return fmt.Errorf("reopened with no rejection")
		case slices.ContainsFunc(s.Answers, func(a *Answer) bool { return a.Kind == AnswerAccept && a.Standing() }):
			return fmt.Errorf("reopened with an acceptance standing")
		}
		s.Agreement, s.Handoff, s.Disclosure = nil, nil, nil
		for _, st := range s.Stakeholders {
			st.Decision, st.Comment, st.DecidedAt = "", "", time.Time{}
		}
		s.Talk.Status = StatusOpen
	}
	return nil
}

func (s *State) stakeholder(userID int64) *Stakeholder {
	for _, st := range s.Stakeholders {
		if st.UserID == userID {
			return st
		}
	}
	return nil
}

// AddStakeholderByEmail attaches the user with the given email, as
// AddStakeholder does. Only the convener and facilitators may ask, so that
// no one else learns which emails have accounts; for them, an unknown email
// is EINVALID.
func (s *Service) AddStakeholderByEmail(ctx context.Context, talkID int64, email string) (*Stakeholder, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	} else if !v.CanManage() {
		return nil, Errorf(EFORBIDDEN, "Only the convener or a facilitator may attach a stakeholder.")
	}
	u, err := s.store.FindUserByEmail(ctx, strings.TrimSpace(email))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(EINVALID, "No account has that email; invite the person to sign up first.")
	} else if err != nil {
		return nil, err
	}
	return s.AddStakeholder(ctx, talkID, u.ID)
}

// StakeholderNames returns the names of talk talkID's stakeholders by user
// ID, to those who may list them (FindStakeholders).
func (s *Service) StakeholderNames(ctx context.Context, talkID int64) (map[int64]string, error) {
	sts, err := s.FindStakeholders(ctx, talkID)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(sts))
	for _, st := range sts {
		u, err := s.store.FindUserByID(ctx, st.UserID)
		if err != nil {
			return nil, err
		}
		names[st.UserID] = u.Name
	}
	return names, nil
}

// FindStakeholderTalks returns the talks of which the acting user is a
// stakeholder, in ascending ID order.
func (s *Service) FindStakeholderTalks(ctx context.Context) ([]*Talk, error) {
	u, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.FindStakeholderTalks(ctx, u.ID)
}

// checkNotStakeholder returns ECONFLICT if user userID is a stakeholder of
// talk talkID: a stakeholder is not at the table, so it cannot also sit
// at it (AddMember).
func (s *Service) checkNotStakeholder(ctx context.Context, talkID, userID int64) error {
	sts, err := s.store.FindStakeholders(ctx, talkID)
	if err != nil {
		return err
	}
	for _, st := range sts {
		if st.UserID == userID {
			return ErrUserIsStakeholder
		}
	}
	return nil
}

// ErrUserIsStakeholder refuses to make a talk's stakeholder a member of
// it. The stores check it again inside the write.
var ErrUserIsStakeholder = Errorf(ECONFLICT, "The user is a stakeholder of the talk; a stakeholder is not at the table.")
