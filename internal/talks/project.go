package talks

import (
	"cmp"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// State is what a talk's events add up to: the rows a Store's projections
// hold for that talk, in ascending ID order.
type State struct {
	Talk     *Talk
	Parties  []*Party
	Members  []*Member
	Tracks   []*Track
	Messages []*Message

	// The single negotiating text; Agreement is nil until the talk agrees.
	Proposals []*Proposal
	Versions  []*Version
	Answers   []*Answer
	Agreement *Agreement

	// Invitations, without token hashes.
	Invitations []*Invitation

	// Meetings, in ascending ID order.
	Meetings []*Meeting

	// The disclosure plan and the hand-off; nil until there is one.
	Disclosure *Disclosure
	Handoff    *Handoff
	// Preferences: what the log says of each saved version, by party then
	// version. The preferences themselves are not in the log.
	Preferences []*PreferencesStamp
	// Mandates: what the log says of each envoy's current mandate, by
	// envoy. The limits themselves are not in the log.
	Mandates []*MandateStamp
	// Stakeholders, by user ID, with their decisions.
	Stakeholders []*Stakeholder
}

// Project folds the events of one talk, in order, into its state. It is
// the definition of what each event means: a Store's projections must
// equal Project of its events. It returns an error for an event of an
// unknown type, a malformed payload, or an event that refers to something
// no earlier event created. It takes O(n) time in the number of events.
func Project(events []*Event) (*State, error) {
	s := &State{}
	parties := map[int64]*Party{}
	members := map[int64]*Member{}
	tracks := map[int64]*Track{}
	messages := map[int64]*Message{}
	text := newTextIndex()
	invs := map[int64]*Invitation{}
	meetings := map[int64]*Meeting{}
	for _, e := range events {
		if err := s.apply(e, parties, members, tracks, messages, text, invs, meetings); err != nil {
			return nil, fmt.Errorf("talks: project event %d (%s): %w", e.ID, e.Type, err)
		}
	}
	sortByID := cmp.Compare[int64]
	slices.SortFunc(s.Parties, func(a, b *Party) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Members, func(a, b *Member) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Tracks, func(a, b *Track) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Messages, func(a, b *Message) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Proposals, func(a, b *Proposal) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Versions, func(a, b *Version) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Answers, func(a, b *Answer) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Invitations, func(a, b *Invitation) int { return sortByID(a.ID, b.ID) })
	slices.SortFunc(s.Meetings, func(a, b *Meeting) int { return sortByID(a.ID, b.ID) })
	slices.SortStableFunc(s.Preferences, func(a, b *PreferencesStamp) int {
		return cmp.Or(sortByID(a.PartyID, b.PartyID), sortByID(a.Version, b.Version))
	})
	slices.SortFunc(s.Mandates, func(a, b *MandateStamp) int { return sortByID(a.EnvoyID, b.EnvoyID) })
	slices.SortFunc(s.Stakeholders, func(a, b *Stakeholder) int { return sortByID(a.UserID, b.UserID) })
	return s, nil
}

func (s *State) apply(e *Event, parties map[int64]*Party, members map[int64]*Member, tracks map[int64]*Track, messages map[int64]*Message, text *textIndex, invs map[int64]*Invitation, meetings map[int64]*Meeting) error {
	if e.Type != EventTalkCreated && s.Talk == nil {
		return fmt.Errorf("before talk.created")
	}
	switch e.Type {
	case EventTalkCreated:
		var p TalkCreated
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if s.Talk != nil {
			return fmt.Errorf("talk created twice")
		}
		s.Talk = &Talk{ID: e.TalkID, Title: p.Title, Description: p.Description, Space: p.Space,
			Status: StatusOpen, ConvenerID: p.ConvenerID, CreatedAt: Timestamp(e.Time)}
	case EventTalkUpdated:
		var p TalkUpdated
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		if p.Title != nil {
			s.Talk.Title = *p.Title
		}
		if p.Description != nil {
			s.Talk.Description = *p.Description
		}
		if p.Status != nil {
			s.Talk.Status = *p.Status
		}
	case EventPartyAdded:
		var p PartyAdded
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if parties[p.PartyID] != nil {
			return fmt.Errorf("party %d added twice", p.PartyID)
		}
		pa := &Party{ID: p.PartyID, TalkID: e.TalkID, Name: p.Name}
		parties[pa.ID] = pa
		s.Parties = append(s.Parties, pa)
	case EventMemberAdded:
		var p MemberAdded
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if p.PartyID != 0 && parties[p.PartyID] == nil {
			return fmt.Errorf("unknown party %d", p.PartyID)
		}
		if m := members[p.MemberID]; m != nil {
			// Added again, after it was removed: the same member.
			if !m.Removed || m.UserID != p.UserID {
				return fmt.Errorf("member %d added twice", p.MemberID)
			}
			m.PartyID, m.Role, m.Removed = p.PartyID, p.Role, false
			break
		}
		m := &Member{ID: p.MemberID, TalkID: e.TalkID, UserID: p.UserID, PartyID: p.PartyID, Role: p.Role}
		members[m.ID] = m
		s.Members = append(s.Members, m)
	case EventMemberRemoved:
		var p MemberRemoved
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		m := members[p.MemberID]
		if m == nil || m.Removed {
			return fmt.Errorf("no member %d to remove", p.MemberID)
		}
		m.Removed = true
		for _, t := range tracks {
			if i, ok := slices.BinarySearch(t.MemberIDs, m.ID); ok {
				t.MemberIDs = slices.Delete(t.MemberIDs, i, i+1)
				if len(t.MemberIDs) == 0 {
					t.MemberIDs = nil
				}
			}
		}
	case EventMemberRoleChanged:
		var p MemberRoleChanged
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		m := members[p.MemberID]
		if m == nil || m.Removed {
			return fmt.Errorf("unknown member %d", p.MemberID)
		} else if m.PartyID == 0 || p.Role == RoleFacilitator || !p.Role.Valid() {
			return fmt.Errorf("member %d cannot become %q", p.MemberID, p.Role)
		}
		m.Role = p.Role
	case EventTrackCreated:
		var p TrackCreated
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if tracks[e.TrackID] != nil {
			return fmt.Errorf("track %d created twice", e.TrackID)
		}
		t := &Track{ID: e.TrackID, TalkID: e.TalkID, Name: p.Name, Kind: p.Kind}
		for _, id := range p.MemberIDs {
			if members[id] == nil || members[id].Removed {
				return fmt.Errorf("unknown member %d", id)
			}
			t.MemberIDs = append(t.MemberIDs, id)
		}
		slices.Sort(t.MemberIDs)
		t.MemberIDs = slices.Compact(t.MemberIDs)
		tracks[t.ID] = t
		s.Tracks = append(s.Tracks, t)
	case EventTrackMemberAdded:
		var p TrackMemberAdded
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		t := tracks[e.TrackID]
		if t == nil {
			return fmt.Errorf("unknown track %d", e.TrackID)
		} else if members[p.MemberID] == nil || members[p.MemberID].Removed {
			return fmt.Errorf("unknown member %d", p.MemberID)
		}
		if !slices.Contains(t.MemberIDs, p.MemberID) {
			t.MemberIDs = append(t.MemberIDs, p.MemberID)
			slices.Sort(t.MemberIDs)
		}
	case EventTrackMemberRemoved:
		var p TrackMemberRemoved
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		t := tracks[e.TrackID]
		if t == nil {
			return fmt.Errorf("unknown track %d", e.TrackID)
		}
		i, ok := slices.BinarySearch(t.MemberIDs, p.MemberID)
		if !ok {
			return fmt.Errorf("member %d is not on track %d", p.MemberID, e.TrackID)
		}
		t.MemberIDs = slices.Delete(t.MemberIDs, i, i+1)
		if len(t.MemberIDs) == 0 {
			t.MemberIDs = nil
		}
	case EventMessagePosted:
		var p MessagePosted
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if tracks[e.TrackID] == nil {
			return fmt.Errorf("unknown track %d", e.TrackID)
		} else if messages[p.MessageID] != nil {
			return fmt.Errorf("message %d posted twice", p.MessageID)
		}
		m := &Message{ID: p.MessageID, TrackID: e.TrackID, AuthorID: p.AuthorID, Body: p.Body, CreatedAt: Timestamp(e.Time)}
		messages[m.ID] = m
		s.Messages = append(s.Messages, m)
	case EventMessageRetracted:
		var p MessageRetracted
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		m := messages[p.MessageID]
		if m == nil {
			return fmt.Errorf("unknown message %d", p.MessageID)
		}
		m.Retracted = true
	case EventProposalCreated, EventVersionProposed, EventAnswerGiven, EventAnswerWithdrawn, EventTalkAgreed:
		return s.applyText(e, parties, tracks, text)
	case EventInvitationCreated, EventInvitationRevoked, EventInvitationAccepted:
		return s.applyInvitation(e, parties, members, invs)
	case EventMeetingScheduled, EventMeetingUpdated:
		return s.applyMeeting(e, tracks, members, meetings)
	case EventDisclosureProposed, EventDisclosureConsented, EventProposalCarried:
		return s.applyDisclosure(e, parties, text)
	case EventPreferencesSaved:
		var p PreferencesSaved
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if parties[p.PartyID] == nil {
			return fmt.Errorf("unknown party %d", p.PartyID)
		}
		var d [32]byte
		if b, err := hex.DecodeString(p.Digest); err != nil || len(b) != len(d) {
			return fmt.Errorf("malformed digest %q", p.Digest)
		} else {
			copy(d[:], b)
		}
		s.Preferences = append(s.Preferences, &PreferencesStamp{PartyID: p.PartyID, Version: p.Version, Digest: d,
			CreatedBy: e.ActorID, CreatedAt: Timestamp(e.Time)})
	case EventMandateSaved:
		return s.applyMandate(e, parties, members)
	case EventStakeholderAdded, EventRedLinesSaved, EventRatificationGiven, EventTalkRatified, EventTalkReopened:
		return s.applyStakeholder(e)
	case EventMemberKey:
		var p MemberKey
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if len(p.Key) != ed25519.PublicKeySize {
			return fmt.Errorf("malformed key of %s", p.Signer)
		} else if p.Holder != KeyHolderServer && p.Holder != KeyHolderClient {
			return fmt.Errorf("key of %s held by %q", p.Signer, p.Holder)
		}
	default:
		return fmt.Errorf("unknown event type %q", e.Type)
	}
	return nil
}

func (s *State) applyMandate(e *Event, parties map[int64]*Party, members map[int64]*Member) error {
	var p MandateSaved
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return err
	} else if parties[p.PartyID] == nil {
		return fmt.Errorf("unknown party %d", p.PartyID)
	} else if m := members[p.EnvoyID]; m == nil || m.PartyID != p.PartyID || m.Role != RoleEnvoy {
		return fmt.Errorf("member %d is not an envoy of party %d", p.EnvoyID, p.PartyID)
	}
	var d [32]byte
	if b, err := hex.DecodeString(p.Digest); err != nil || len(b) != len(d) {
		return fmt.Errorf("malformed digest %q", p.Digest)
	} else {
		copy(d[:], b)
	}
	st := &MandateStamp{PartyID: p.PartyID, EnvoyID: p.EnvoyID, Version: p.Version, Digest: d,
		UpdatedBy: e.ActorID, UpdatedAt: Timestamp(e.Time)}
	if i := slices.IndexFunc(s.Mandates, func(m *MandateStamp) bool { return m.EnvoyID == p.EnvoyID }); i >= 0 {
		s.Mandates[i] = st
	} else {
		s.Mandates = append(s.Mandates, st)
	}
	return nil
}

func (s *State) applyInvitation(e *Event, parties map[int64]*Party, members map[int64]*Member, invs map[int64]*Invitation) error {
	switch e.Type {
	case EventInvitationCreated:
		var p InvitationCreated
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		} else if invs[p.InvitationID] != nil {
			return fmt.Errorf("invitation %d created twice", p.InvitationID)
		} else if p.PartyID != 0 && parties[p.PartyID] == nil {
			return fmt.Errorf("unknown party %d", p.PartyID)
		}
		inv := &Invitation{ID: p.InvitationID, TalkID: e.TalkID, PartyID: p.PartyID, Role: p.Role,
			CreatedBy: e.ActorID, CreatedAt: Timestamp(e.Time), ExpiresAt: Timestamp(p.ExpiresAt)}
		invs[inv.ID] = inv
		s.Invitations = append(s.Invitations, inv)
	case EventInvitationRevoked:
		var p InvitationRevoked
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		inv := invs[p.InvitationID]
		if inv == nil {
			return fmt.Errorf("unknown invitation %d", p.InvitationID)
		}
		inv.RevokedAt = Timestamp(e.Time)
	case EventInvitationAccepted:
		var p InvitationAccepted
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return err
		}
		inv := invs[p.InvitationID]
		if inv == nil {
			return fmt.Errorf("unknown invitation %d", p.InvitationID)
		} else if members[p.MemberID] == nil {
			return fmt.Errorf("unknown member %d", p.MemberID)
		}
		inv.AcceptedAt, inv.AcceptedBy, inv.MemberID = Timestamp(e.Time), p.UserID, p.MemberID
	}
	return nil
}
