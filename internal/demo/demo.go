// Package demo seeds the fictional Northland-Southland ceasefire talks, which
// `backchannel serve --demo` shows and the web UI's tests and screenshots
// use.
package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// Person is one account of the demo talk.
type Person struct {
	Key   string // how the seed refers to it: "n.envoy1"
	Name  string
	Email string
	Party string // "" for the facilitator
	Role  talks.Role
}

// Cast is everyone in the demo talk: all fictional.
var Cast = []Person{
	{"facilitator", "Ingrid Halvorsen", "facilitator@demo.example", "", talks.RoleFacilitator},
	{"n.principal", "Amara Okonjo", "amara@northland.example", "Northland", talks.RolePrincipal},
	{"n.envoy1", "Tomas Varga", "tomas@northland.example", "Northland", talks.RoleEnvoy},
	{"n.envoy2", "Lena Marsh", "lena@northland.example", "Northland", talks.RoleEnvoy},
	{"n.advisor", "Priya Raman", "priya@northland.example", "Northland", talks.RoleAdvisor},
	{"s.principal", "Rafael Quispe", "rafael@southland.example", "Southland", talks.RolePrincipal},
	{"s.envoy1", "Mei Lin Tan", "meilin@southland.example", "Southland", talks.RoleEnvoy},
	{"s.envoy2", "Jonas Eriksen", "jonas@southland.example", "Southland", talks.RoleEnvoy},
	{"s.advisor", "Yusuf Demir", "yusuf@southland.example", "Southland", talks.RoleAdvisor},
	{"stakeholder", "Karin Holm", "karin.holm@parliament.northland.example", "", RoleStakeholder},
}

// RoleStakeholder labels the demo's stakeholder in Cast: Northland
// parliament's foreign affairs committee chair, attached to the talk but
// not at the table (no member role; see talks.Stakeholder).
const RoleStakeholder talks.Role = "stakeholder"

// Space is what the demo talk is about.
func Space() (*outcome.Space, error) {
	return outcome.NewSpace("ceasefire",
		outcome.NewDiscrete("ceasefire line", "current front", "river line", "1990 border"),
		outcome.NewDiscrete("security guarantees", "none", "observer mission", "peacekeeping force", "treaty guarantors"),
		outcome.NewDiscrete("sanctions relief", "none", "phased", "immediate"),
		outcome.NewDiscrete("reconstruction fund", "none", "1bn", "5bn", "10bn"),
		outcome.NewDiscrete("prisoner exchange", "none", "wounded first", "all for all"),
		outcome.NewDiscrete("elections timeline", "6 months", "12 months", "24 months"),
	)
}

// Demo is what Seed made.
type Demo struct {
	Talk      *talks.Talk
	Parties   map[string]*talks.Party  // by name
	Users     map[string]*talks.User   // by Person.Key
	Passwords map[string]string        // by Person.Key; random, printed for the demo only
	Members   map[string]*talks.Member // by Person.Key; not the facilitator's
	Official  *talks.Track
	Back      *talks.Track // the envoys' back-channel
	Proposal  *talks.Proposal
	Draft     *talks.Version // the facilitator's first draft
	Counter   *talks.Version // Southland's counter-proposal
}

// As returns ctx acting as the demo user key.
func (d *Demo) As(ctx context.Context, key string) context.Context {
	return talks.NewContextWithUser(ctx, d.Users[key])
}

// Seed fills an empty database with the Northland-Southland ceasefire talks.
// Users are made through the store (there is no service method to create an
// account other than the first administrator's); everything in the talk goes
// through the Service, as the user who would do it, so that the event log
// reads as if people had done it.
func Seed(ctx context.Context, store talks.Store, svc *talks.Service) (*Demo, error) {
	users := make(map[string]*talks.User, len(Cast))
	passwords := make(map[string]string, len(Cast))
	for _, du := range Cast {
		u := &talks.User{Name: du.Name, Email: du.Email, Admin: du.Key == "facilitator", CreatedAt: time.Now()}
		if err := store.CreateUser(ctx, u); err != nil {
			return nil, fmt.Errorf("create user %s: %w", du.Email, err)
		}
		// Random passwords, so that a demo left running on a reachable
		// address is not open to anyone who has read this file.
		pw := rand.Text()[:16]
		hash, err := talks.HashPassword(pw, talks.DefaultArgon2Params)
		if err != nil {
			return nil, err
		}
		if err := store.UpdatePassword(ctx, u.ID, hash, 0); err != nil {
			return nil, fmt.Errorf("set password of %s: %w", du.Email, err)
		}
		users[du.Key], passwords[du.Key] = u, pw
	}
	as := func(key string) context.Context { return talks.NewContextWithUser(ctx, users[key]) }

	space, err := Space()
	if err != nil {
		return nil, err
	}
	talk := &talks.Talk{
		Title: "Northland-Southland ceasefire talks",
		Description: "A fictional negotiation to end the border war between Northland and Southland, " +
			"convened by a neutral facilitator. The official track is where the parties' positions " +
			"are on the record; the envoys also meet on a back-channel.",
		Space: space,
	}
	fac := as("facilitator")
	if err := svc.CreateTalk(fac, talk); err != nil {
		return nil, fmt.Errorf("create talk: %w", err)
	}
	parties := map[string]*talks.Party{}
	for _, name := range []string{"Northland", "Southland"} {
		p := &talks.Party{TalkID: talk.ID, Name: name}
		if err := svc.AddParty(fac, p); err != nil {
			return nil, fmt.Errorf("add party %s: %w", name, err)
		}
		parties[name] = p
	}
	members := map[string]*talks.Member{}
	for _, du := range Cast {
		if du.Party == "" {
			continue // the convener is already the facilitator; the stakeholder is no member
		}
		m := &talks.Member{TalkID: talk.ID, UserID: users[du.Key].ID, PartyID: parties[du.Party].ID, Role: du.Role}
		if err := svc.AddMember(fac, m); err != nil {
			return nil, fmt.Errorf("add member %s: %w", du.Email, err)
		}
		members[du.Key] = m
	}

	var official *talks.Track
	tracks, err := svc.FindTracks(fac, talk.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range tracks {
		if t.Kind == talks.TrackOfficial {
			official = t
		}
	}
	if official == nil {
		return nil, fmt.Errorf("talk %d has no official track", talk.ID)
	}
	// The envoys' back-channel: the principals see it because their envoys
	// are on it; the advisors and the facilitator do not.
	back := &talks.Track{TalkID: talk.ID, Name: "Envoys' back-channel", MemberIDs: []int64{
		members["n.envoy1"].ID, members["n.envoy2"].ID, members["s.envoy1"].ID, members["s.envoy2"].ID,
	}}
	if err := svc.CreateTrack(fac, back); err != nil {
		return nil, fmt.Errorf("create back-channel: %w", err)
	}

	post := func(who string, track *talks.Track, body string) error {
		if err := svc.PostMessage(as(who), &talks.Message{TrackID: track.ID, Body: body}); err != nil {
			return fmt.Errorf("post as %s: %w", who, err)
		}
		return nil
	}
	if err := post("facilitator", official, "Welcome to the talks. The first draft is on the table; each party may accept, reject or counter it."); err != nil {
		return nil, err
	}
	if err := post("n.principal", official, "Northland comes in good faith. A ceasefire on the current front is the only line we can hold at home."); err != nil {
		return nil, err
	}

	draft := &talks.Proposal{TrackID: official.ID, Title: "Framework for a ceasefire"}
	first := &talks.Version{
		Values: map[string]string{
			"ceasefire line":      "current front",
			"security guarantees": "observer mission",
			"sanctions relief":    "phased",
			"reconstruction fund": "1bn",
			"prisoner exchange":   "wounded first",
			"elections timeline":  "12 months",
		},
		Clauses: map[string]string{
			"ceasefire line": "Hostilities cease along the line of contact at 00:00 on the day after signature.",
		},
		Rationale: "A first draft from the facilitator: freeze the front, build trust, leave the border to a later round.",
	}
	if err := svc.CreateProposal(fac, draft, first); err != nil {
		return nil, fmt.Errorf("first draft: %w", err)
	}
	counter := &talks.Version{
		ParentID: first.ID,
		Values: map[string]string{
			"ceasefire line":      "river line",
			"security guarantees": "peacekeeping force",
			"sanctions relief":    "immediate",
			"reconstruction fund": "5bn",
			"prisoner exchange":   "all for all",
			"elections timeline":  "12 months",
		},
		Rationale: "Southland cannot accept a line that leaves the river towns occupied, and needs guarantees with troops behind them.",
	}
	if err := svc.ProposeVersion(as("s.envoy1"), counter); err != nil {
		return nil, fmt.Errorf("counter-proposal: %w", err)
	}
	if err := post("s.envoy1", official, "Southland has tabled a counter-proposal: the river line with a peacekeeping force."); err != nil {
		return nil, err
	}
	if err := post("n.envoy1", back, "Off the record: we could move to the river line if sanctions relief is phased rather than immediate."); err != nil {
		return nil, err
	}
	if err := post("s.envoy2", back, "That may work for us if the reconstruction fund stays at 5bn. Let us test it with our principals."); err != nil {
		return nil, err
	}

	if err := seedMeetings(fac, as, svc, talk, official, back, members); err != nil {
		return nil, err
	}
	if err := seedPreferences(as, svc, talk, parties); err != nil {
		return nil, err
	}
	if err := seedMandate(as, svc, talk, parties, members); err != nil {
		return nil, err
	}
	if err := seedStakeholder(fac, as, svc, talk, users["stakeholder"]); err != nil {
		return nil, err
	}

	return &Demo{Talk: talk, Parties: parties, Users: users, Passwords: passwords, Members: members,
		Official: official, Back: back, Proposal: draft, Draft: first, Counter: counter}, nil
}

// seedMeetings adds two meetings to the demo talk: yesterday's opening
// plenary in the official track, held and minuted by the facilitator, and
// an envoys' lunch the day after tomorrow on the back-channel, scheduled by
// a Northland envoy. Times are relative to now, so the demo always has one
// meeting behind it and one ahead.
func seedMeetings(fac context.Context, as func(string) context.Context, svc *talks.Service, talk *talks.Talk,
	official, back *talks.Track, members map[string]*talks.Member) error {
	ms, err := svc.FindMembers(fac, talk.ID)
	if err != nil {
		return err
	}
	var facilitator int64
	for _, m := range ms {
		if m.Role == talks.RoleFacilitator {
			facilitator = m.ID
		}
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	plenary := &talks.Meeting{
		TrackID: official.ID, Title: "Opening plenary", Place: "Palais des Nations, Geneva, Room XVII",
		Start: today.Add(-24*time.Hour + 9*time.Hour), Duration: 2 * time.Hour,
		Attendees: []int64{facilitator, members["n.principal"].ID, members["n.envoy1"].ID, members["s.principal"].ID, members["s.envoy1"].ID},
		Agenda:    "1. Opening statements\n2. The facilitator's first draft\n3. Schedule of the rounds",
	}
	if err := svc.ScheduleMeeting(fac, plenary); err != nil {
		return fmt.Errorf("schedule plenary: %w", err)
	}
	held, ran := talks.MeetingStatusHeld, 150*time.Minute
	attended := slices.Concat(plenary.Attendees, []int64{members["n.advisor"].ID, members["s.advisor"].ID})
	minutes := "Both principals made opening statements. The facilitator tabled the first draft; Southland " +
		"announced a counter-proposal on the ceasefire line and security guarantees. The parties agreed to meet " +
		"weekly and to keep the envoys' channel open between rounds."
	if _, err := svc.UpdateMeeting(fac, plenary.ID, talks.MeetingUpdate{Status: &held, Duration: &ran, Attendees: &attended, Minutes: &minutes}); err != nil {
		return fmt.Errorf("record plenary: %w", err)
	}
	lunch := &talks.Meeting{
		TrackID: back.ID, Title: "Envoys' working lunch", Place: "A private dining room, Hotel Beau-Rivage",
		Start: today.Add(48*time.Hour + 12*time.Hour + 30*time.Minute), Duration: 90 * time.Minute,
		Attendees: []int64{members["n.envoy1"].ID, members["n.envoy2"].ID, members["s.envoy1"].ID, members["s.envoy2"].ID},
		Agenda:    "Test the river line against phased sanctions relief and a 5bn reconstruction fund.",
	}
	if err := svc.ScheduleMeeting(as("n.envoy1"), lunch); err != nil {
		return fmt.Errorf("schedule lunch: %w", err)
	}
	return nil
}

// Preferences returns the demo parties' private preferences, by party name:
// weights and scores out of 100. Southland's counter is worth 0.51 to
// Northland and 0.835 to Southland; phased sanctions relief with treaty
// guarantors instead of a peacekeeping force is better for both (0.715 and
// 0.855), so the mediator has something to suggest.
func Preferences() map[string]*talks.Preferences {
	type issue struct {
		name   string
		weight float64
		scores map[string]float64
	}
	build := func(reserved float64, issues ...issue) *talks.Preferences {
		p := &talks.Preferences{Reserved: reserved, Weights: map[string]float64{}, Scores: map[string]map[string]float64{}}
		for _, is := range issues {
			p.Weights[is.name] = is.weight
			p.Scores[is.name] = is.scores
		}
		return p
	}
	return map[string]*talks.Preferences{
		"Northland": build(0.45,
			issue{"ceasefire line", 30, map[string]float64{"current front": 100, "river line": 60, "1990 border": 0}},
			issue{"security guarantees", 15, map[string]float64{"none": 100, "observer mission": 80, "peacekeeping force": 30, "treaty guarantors": 50}},
			issue{"sanctions relief", 25, map[string]float64{"none": 20, "phased": 100, "immediate": 30}},
			issue{"reconstruction fund", 10, map[string]float64{"none": 100, "1bn": 80, "5bn": 50, "10bn": 0}},
			issue{"prisoner exchange", 10, map[string]float64{"none": 20, "wounded first": 60, "all for all": 100}},
			issue{"elections timeline", 10, map[string]float64{"6 months": 0, "12 months": 60, "24 months": 100}}),
		"Southland": build(0.5,
			issue{"ceasefire line", 30, map[string]float64{"current front": 0, "river line": 80, "1990 border": 100}},
			issue{"security guarantees", 25, map[string]float64{"none": 0, "observer mission": 30, "peacekeeping force": 80, "treaty guarantors": 100}},
			issue{"sanctions relief", 10, map[string]float64{"none": 0, "phased": 70, "immediate": 100}},
			issue{"reconstruction fund", 20, map[string]float64{"none": 0, "1bn": 30, "5bn": 80, "10bn": 100}},
			issue{"prisoner exchange", 10, map[string]float64{"none": 0, "wounded first": 50, "all for all": 100}},
			issue{"elections timeline", 5, map[string]float64{"6 months": 100, "12 months": 70, "24 months": 20}}),
	}
}

// seedPreferences saves each party's Preferences, entered by its principal.
func seedPreferences(as func(string) context.Context, svc *talks.Service, talk *talks.Talk, parties map[string]*talks.Party) error {
	for _, pw := range [][2]string{{"Northland", "n.principal"}, {"Southland", "s.principal"}} {
		name, who := pw[0], pw[1]
		p := Preferences()[name]
		p.TalkID, p.PartyID = talk.ID, parties[name].ID
		if err := svc.SavePreferences(as(who), p); err != nil {
			return fmt.Errorf("preferences of %s: %w", name, err)
		}
	}
	return nil
}

// RedLines returns the red lines of the demo's stakeholder, Northland
// parliament's foreign affairs committee chair: the line above all, then
// guarantees and prisoners; reserved value 0.6. The facilitator's first
// draft stays above it (0.8); Southland's counter-proposal, the river line,
// crosses it (0.58).
func RedLines() *talks.RedLines {
	w := map[string]float64{"ceasefire line": 3, "security guarantees": 1, "prisoner exchange": 1,
		"sanctions relief": 0, "reconstruction fund": 0, "elections timeline": 0}
	s := map[string]map[string]float64{
		"ceasefire line":      {"current front": 1, "river line": 0.3, "1990 border": 0},
		"security guarantees": {"none": 0, "observer mission": 0.5, "peacekeeping force": 1, "treaty guarantors": 1},
		"prisoner exchange":   {"none": 0, "wounded first": 0.5, "all for all": 1},
		"sanctions relief":    {"none": 0, "phased": 0, "immediate": 0},
		"reconstruction fund": {"none": 0, "1bn": 0, "5bn": 0, "10bn": 0},
		"elections timeline":  {"6 months": 0, "12 months": 0, "24 months": 0},
	}
	return &talks.RedLines{Preferences: talks.Preferences{Weights: w, Scores: s, Reserved: 0.6}}
}

// seedStakeholder attaches the committee chair as a stakeholder, who
// enters its red lines.
func seedStakeholder(fac context.Context, as func(string) context.Context, svc *talks.Service, talk *talks.Talk, u *talks.User) error {
	if _, err := svc.AddStakeholder(fac, talk.ID, u.ID); err != nil {
		return fmt.Errorf("attach stakeholder: %w", err)
	}
	r := RedLines()
	r.TalkID = talk.ID
	if err := svc.SaveRedLines(as("stakeholder"), r); err != nil {
		return fmt.Errorf("red lines: %w", err)
	}
	return nil
}
