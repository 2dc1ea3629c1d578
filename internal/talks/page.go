package talks

import (
	"cmp"
	"context"
	"slices"
)

// What a page needs to know about a View beyond reads: the web UI shows a
// control only to those the Service would let use it. These predicates are
// the ones the Service's writes use, so the page and the write never
// disagree.

// Head returns the sequence number of the talk's last event as of the view:
// a live page asks for the events after it.
func (v *View) Head() int64 { return v.snap.head }

// CanPost reports whether the member may post in track t (and schedule its
// meetings): it must be on the track and not an observer. A principal that
// sees a back-channel through its party's members reads it but does not
// post.
func (v *View) CanPost(t *Track) bool {
	return v.CanSeeTrack(t) && v.canPost(t) == nil
}

// MembersWhoSee returns the members of the talk who may see track t, by the
// one rule asked as each of them, in ascending ID order: those who may
// attend its meetings.
func (v *View) MembersWhoSee(t *Track) []*Member {
	var a []*Member
	for _, m := range v.Members() {
		if (&View{User: &User{ID: m.UserID}, Talk: v.Talk, Member: m, snap: v.snap}).CanSeeTrack(t) {
			a = append(a, m)
		}
	}
	return a
}

// CanAnswer reports whether the member may answer a version for its party:
// a principal or an envoy may.
func (v *View) CanAnswer() bool { return v.speaksForParty() }

// CanPropose reports whether the member may put a version on the table.
func (v *View) CanPropose() bool { return v.canPropose() }

// Members returns every member of the talk, which every member sees, in
// ascending ID order, but those removed. They are copies.
func (v *View) Members() []*Member {
	a := make([]*Member, 0, len(v.snap.members))
	for _, m := range v.snap.members {
		if !m.Removed {
			c := *m
			a = append(a, &c)
		}
	}
	slices.SortFunc(a, func(x, y *Member) int { return cmp.Compare(x.ID, y.ID) })
	return a
}

// MemberNames returns the display name of every member of talk talkID, by
// member ID. Every member of a talk sees who is in it.
func (s *Service) MemberNames(ctx context.Context, talkID int64) (map[int64]string, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(v.snap.members))
	for id, m := range v.snap.members {
		u, err := s.store.FindUserByID(ctx, m.UserID)
		if err != nil {
			return nil, err
		}
		names[id] = u.Name
	}
	return names, nil
}

// EventTypes lists every event type, for a client that must name the types
// it listens to (a browser's EventSource has no wildcard). A new event type
// belongs here.
var EventTypes = []string{
	EventTalkCreated, EventTalkUpdated, EventPartyAdded, EventMemberAdded, EventMemberRoleChanged, EventMemberRemoved,
	EventTrackCreated, EventTrackMemberAdded, EventTrackMemberRemoved, EventMessagePosted, EventMessageRetracted,
	EventProposalCreated, EventVersionProposed, EventAnswerGiven, EventAnswerWithdrawn, EventTalkAgreed,
	EventInvitationCreated, EventInvitationRevoked, EventInvitationAccepted,
	EventMeetingScheduled, EventMeetingUpdated,
	EventDisclosureProposed, EventDisclosureConsented, EventProposalCarried,
	EventPreferencesSaved, EventMandateSaved,
	EventStakeholderAdded, EventRedLinesSaved, EventRatificationGiven, EventTalkRatified, EventTalkReopened,
	EventMemberKey,
}

// CanInvite reports whether the member may invite someone to party partyID
// with role r (0 and RoleFacilitator for a facilitator), as
// Service.CreateInvitation decides.
func (v *View) CanInvite(partyID int64, r Role) bool { return v.canInvite(partyID, r) }

// MayInvite reports whether the member may invite anyone at all: the
// convener, a facilitator, or a principal (to its own party).
func (v *View) MayInvite() bool {
	return v.CanManage() || (v.Member.Role == RolePrincipal && v.Member.PartyID != 0)
}
