package server

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// The API types. Each is mapped from its domain type field by field, so
// that nothing the domain adds (a password hash, a token hash, a utility
// function) reaches a client unless it is written here.

// User is an account as the API shows it.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

func apiUser(u *talks.User) User {
	return User{ID: u.ID, Name: u.Name, Email: u.Email, Admin: u.Admin, CreatedAt: u.CreatedAt}
}

// Token is an API token. Token (the secret) is set only in the answer to its
// creation.
type Token struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Token     string    `json:"token,omitempty"`
}

func apiToken(t *talks.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}
}

// Issue is one issue of a talk's outcome space: discrete with named values,
// integer with inclusive bounds, or real with bounds and a step.
type Issue struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"` // discrete, integer or real
	Values []string `json:"values,omitempty"`
	Lower  *int64   `json:"lower,omitempty"`
	Upper  *int64   `json:"upper,omitempty"`
	Low    *float64 `json:"low,omitempty"`
	High   *float64 `json:"high,omitempty"`
	Step   *float64 `json:"step,omitempty"`
}

func apiIssues(sp *outcome.Space) []Issue {
	if sp == nil {
		return nil
	}
	out := make([]Issue, 0, len(sp.Issues))
	for _, is := range sp.Issues {
		ai := Issue{Name: is.Name}
		switch is.Kind {
		case outcome.Discrete:
			ai.Kind, ai.Values = "discrete", append([]string{}, is.Values...)
		case outcome.Integer:
			lo, hi := is.Lower, is.Upper
			ai.Kind, ai.Lower, ai.Upper = "integer", &lo, &hi
		default:
			lo, hi, st := is.Low, is.High, is.Step
			ai.Kind, ai.Low, ai.High, ai.Step = "real", &lo, &hi, &st
		}
		out = append(out, ai)
	}
	return out
}

// space builds the outcome space named name from issues; nil for none.
func space(name string, issues []Issue) (*outcome.Space, error) {
	if issues == nil {
		return nil, nil
	}
	var iss []outcome.Issue
	for i, ai := range issues {
		switch ai.Kind {
		case "discrete":
			if ai.Lower != nil || ai.Upper != nil || ai.Low != nil || ai.High != nil || ai.Step != nil {
				return nil, talks.Errorf(talks.EINVALID, "Issue %d (%q): a discrete issue has values, not bounds.", i+1, ai.Name)
			}
			iss = append(iss, outcome.NewDiscrete(ai.Name, ai.Values...))
		case "integer":
			if ai.Lower == nil || ai.Upper == nil || ai.Values != nil || ai.Low != nil || ai.High != nil || ai.Step != nil {
				return nil, talks.Errorf(talks.EINVALID, "Issue %d (%q): an integer issue has lower and upper, and nothing else.", i+1, ai.Name)
			}
			iss = append(iss, outcome.NewInteger(ai.Name, *ai.Lower, *ai.Upper))
		case "real":
			if ai.Low == nil || ai.High == nil || ai.Step == nil || ai.Values != nil || ai.Lower != nil || ai.Upper != nil {
				return nil, talks.Errorf(talks.EINVALID, "Issue %d (%q): a real issue has low, high and step, and nothing else.", i+1, ai.Name)
			}
			iss = append(iss, outcome.NewReal(ai.Name, *ai.Low, *ai.High, *ai.Step))
		default:
			return nil, talks.Errorf(talks.EINVALID, "Issue %d (%q): kind must be discrete, integer or real.", i+1, ai.Name)
		}
	}
	sp, err := outcome.NewSpace(name, iss...)
	if err != nil {
		// The engine's messages name only the issues and values given.
		return nil, talks.Errorf(talks.EINVALID, "The outcome space is malformed: %v.", err)
	}
	return sp, nil
}

// Talk is a negotiation.
type Talk struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Issues      []Issue   `json:"issues"`
	Status      string    `json:"status"`
	ConvenerID  int64     `json:"convener_id"`
	CreatedAt   time.Time `json:"created_at"`
}

func apiTalk(t *talks.Talk) Talk {
	is := apiIssues(t.Space)
	if is == nil {
		is = []Issue{}
	}
	return Talk{ID: t.ID, Title: t.Title, Description: t.Description, Issues: is,
		Status: string(t.Status), ConvenerID: t.ConvenerID, CreatedAt: t.CreatedAt}
}

// Party is a side of a talk.
type Party struct {
	ID     int64  `json:"id"`
	TalkID int64  `json:"talk_id"`
	Name   string `json:"name"`
}

func apiParty(p *talks.Party) Party { return Party{ID: p.ID, TalkID: p.TalkID, Name: p.Name} }

// Member is a user's place in a talk.
type Member struct {
	ID      int64  `json:"id"`
	TalkID  int64  `json:"talk_id"`
	UserID  int64  `json:"user_id"`
	PartyID int64  `json:"party_id"`
	Role    string `json:"role"`
}

func apiMember(m *talks.Member) Member {
	return Member{ID: m.ID, TalkID: m.TalkID, UserID: m.UserID, PartyID: m.PartyID, Role: string(m.Role)}
}

// Track is the official track or a back-channel.
type Track struct {
	ID        int64   `json:"id"`
	TalkID    int64   `json:"talk_id"`
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	MemberIDs []int64 `json:"member_ids"`
}

func apiTrack(t *talks.Track) Track {
	ids := append([]int64{}, t.MemberIDs...)
	return Track{ID: t.ID, TalkID: t.TalkID, Name: t.Name, Kind: string(t.Kind), MemberIDs: ids}
}

// Message is a post in a track.
type Message struct {
	ID        int64     `json:"id"`
	TrackID   int64     `json:"track_id"`
	AuthorID  int64     `json:"author_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	Retracted bool      `json:"retracted"`
}

func apiMessage(m *talks.Message) Message {
	return Message{ID: m.ID, TrackID: m.TrackID, AuthorID: m.AuthorID, Body: m.Body, CreatedAt: m.CreatedAt, Retracted: m.Retracted}
}

// Proposal is a single negotiating text.
type Proposal struct {
	ID        int64     `json:"id"`
	TalkID    int64     `json:"talk_id"`
	TrackID   int64     `json:"track_id"`
	Title     string    `json:"title"`
	AuthorID  int64     `json:"author_id"`
	CreatedAt time.Time `json:"created_at"`
	Carried   bool      `json:"carried"`
}

func apiProposal(p *talks.Proposal) Proposal {
	return Proposal{ID: p.ID, TalkID: p.TalkID, TrackID: p.TrackID, Title: p.Title, AuthorID: p.AuthorID, CreatedAt: p.CreatedAt, Carried: p.Carried}
}

// Version is one text of a proposal.
type Version struct {
	ID         int64             `json:"id"`
	ProposalID int64             `json:"proposal_id"`
	ParentID   int64             `json:"parent_id"`
	Values     map[string]string `json:"values"`
	Clauses    map[string]string `json:"clauses"`
	Rationale  string            `json:"rationale"`
	AuthorID   int64             `json:"author_id"`
	CreatedAt  time.Time         `json:"created_at"`
}

func apiVersion(v *talks.Version) Version {
	vals, cls := map[string]string{}, map[string]string{}
	for k, x := range v.Values {
		vals[k] = x
	}
	for k, x := range v.Clauses {
		cls[k] = x
	}
	return Version{ID: v.ID, ProposalID: v.ProposalID, ParentID: v.ParentID, Values: vals, Clauses: cls,
		Rationale: v.Rationale, AuthorID: v.AuthorID, CreatedAt: v.CreatedAt}
}

// Answer is a party's answer to a version.
type Answer struct {
	ID          int64      `json:"id"`
	ProposalID  int64      `json:"proposal_id"`
	VersionID   int64      `json:"version_id"`
	PartyID     int64      `json:"party_id"`
	MemberID    int64      `json:"member_id"`
	Kind        string     `json:"kind"`
	CounterID   int64      `json:"counter_id,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
}

func apiAnswer(a *talks.Answer) Answer {
	out := Answer{ID: a.ID, ProposalID: a.ProposalID, VersionID: a.VersionID, PartyID: a.PartyID,
		MemberID: a.MemberID, Kind: string(a.Kind), CounterID: a.CounterID, CreatedAt: a.CreatedAt}
	if !a.Standing() {
		t := a.WithdrawnAt
		out.WithdrawnAt = &t
	}
	return out
}

// Agreement is the version every party accepted.
type Agreement struct {
	TalkID     int64     `json:"talk_id"`
	ProposalID int64     `json:"proposal_id"`
	VersionID  int64     `json:"version_id"`
	TrackID    int64     `json:"track_id"`
	AgreedAt   time.Time `json:"agreed_at"`
}

func apiAgreement(a *talks.Agreement) Agreement {
	return Agreement{TalkID: a.TalkID, ProposalID: a.ProposalID, VersionID: a.VersionID, TrackID: a.TrackID, AgreedAt: a.AgreedAt}
}

// IssueDiff is how two versions differ on one issue.
type IssueDiff struct {
	Issue         string `json:"issue"`
	From          string `json:"from"`
	To            string `json:"to"`
	ClauseChanged bool   `json:"clause_changed"`
}

func apiIssueDiff(d talks.IssueDiff) IssueDiff {
	return IssueDiff{Issue: d.Issue, From: d.From, To: d.To, ClauseChanged: d.ClauseChanged}
}

// Event is one entry of a talk's log, as an event stream sends it.
type Event struct {
	ID       int64           `json:"id"`
	TalkID   int64           `json:"talk_id"`
	Time     string          `json:"time"`
	ActorID  int64           `json:"actor_id"`
	TrackID  int64           `json:"track_id"`
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

func apiEvent(e *talks.Event) Event {
	return Event{ID: e.ID, TalkID: e.TalkID, Time: e.TimeString(), ActorID: e.ActorID, TrackID: e.TrackID,
		Type: e.Type, Payload: e.Payload, PrevHash: hex.EncodeToString(e.PrevHash[:]), Hash: hex.EncodeToString(e.Hash[:])}
}

// mapAll maps a list of domain values to API values; never nil, so that an
// empty list is [] and not null.
func mapAll[D any, A any](ds []D, f func(D) A) []A {
	out := make([]A, 0, len(ds))
	for _, d := range ds {
		out = append(out, f(d))
	}
	return out
}
