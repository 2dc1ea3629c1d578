package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// The access matrix: every route of the OpenAPI document, run as every kind
// of person, in and out of the talk and the back-channel, against the
// resources of the back-channel and of the official track. The expected
// answer of each run is derived here from the documented rules (the
// package doc of talks, the doc comments of talks.Service), never from
// what the server answers:
//
//   - someone who may not see a resource gets 404, with the very body
//     that a resource that does not exist gets, and nothing changes;
//   - someone who sees it but may not do this gets 403 (or the documented
//     400 or 409), and nothing changes;
//   - someone who may, succeeds (2xx).
//
// On top, no answer to someone who cannot see the back-channel contains
// any of its text (every text of it contains "secret").

// matrixCase is one person of the matrix: the user's name in env, and
// where the user stands in the matrix talk. Everything the expectations
// need is here, so that they never ask the server.
type matrixCase struct {
	user     string
	what     string
	party    string // "N", "S" or "W"; "" for a facilitator or an outsider
	role     talks.Role
	onBC     bool // a member of the back-channel
	convener bool
	// stakeholder: attached to the talk, not at the table. It is no
	// member (role ""), so every member route answers it as it answers
	// an outsider.
	stakeholder bool
}

// matrixCases covers every role and membership case: outside the talk; in
// the talk but outside the back-channel (a member, a facilitator, the
// principal of a party without a member on it); on it (envoy, advisor,
// observer); and a principal that sees it through its party's members.
var matrixCases = []matrixCase{
	{user: "O", what: "outsider, not in the talk"},
	{user: "F", what: "facilitator (and convener), not on the back-channel", role: talks.RoleFacilitator, convener: true},
	{user: "NP", what: "principal of a party with a member on the back-channel", party: "N", role: talks.RolePrincipal},
	{user: "WP", what: "principal of the other party, none of which is on the back-channel", party: "W", role: talks.RolePrincipal},
	{user: "NE", what: "envoy on the back-channel", party: "N", role: talks.RoleEnvoy, onBC: true},
	{user: "SE", what: "envoy on the back-channel whose party answered", party: "S", role: talks.RoleEnvoy, onBC: true},
	{user: "SA", what: "advisor on the back-channel", party: "S", role: talks.RoleAdvisor, onBC: true},
	{user: "SO", what: "observer on the back-channel", party: "S", role: talks.RoleObserver, onBC: true},
	{user: "NA", what: "advisor, a member of the talk not on the back-channel", party: "N", role: talks.RoleAdvisor},
	{user: "K", what: "stakeholder, attached to the talk but not at the table", stakeholder: true},
}

// The documented rules, restated for matrixCase.

func (c matrixCase) inTalk() bool  { return c.role != "" }
func (c matrixCase) manages() bool { return c.role == talks.RoleFacilitator || c.convener }
func (c matrixCase) speaks() bool {
	return c.party != "" && (c.role == talks.RolePrincipal || c.role == talks.RoleEnvoy)
}
func (c matrixCase) proposes() bool { return c.speaks() || c.role == talks.RoleFacilitator }

// seesBC: a member sees a back-channel it is on, or whose members include
// one of the party it is the principal of.
func (c matrixCase) seesBC() bool {
	if !c.inTalk() {
		return false
	}
	return c.onBC || c.role == talks.RolePrincipal && bcParties[c.party]
}

// bcParties are the parties with a member on the back-channel (NE, SE, SA
// and SO are on it).
var bcParties = map[string]bool{"N": true, "S": true}

// mayInvite: the convener and facilitators invite to any party, a
// principal to its own. The matrix invitation is to the North.
func (c matrixCase) mayInvite(party string) bool {
	return c.manages() || c.role == talks.RolePrincipal && c.party == party
}

// Scopes of a resource: who may see it.
const (
	scopeTalk       = "talk"           // every member of the talk
	scopeOfficial   = "official track" // every member of the talk
	scopeBC         = "back-channel"   // see matrixCase.seesBC
	scopeInvitation = "invitation"     // those who may invite to its party
	scopeOwn        = "NE's own token" // its owner
	// scopeAttached: members and stakeholders (the routes of
	// api_stakeholders.go that a stakeholder may call).
	scopeAttached = "talk, as a member or a stakeholder"
)

const (
	missingID = int64(987654321)   // an ID that names nothing
	secret    = "secret"           // in every text of the back-channel
	talkTitle = "Ceasefire matrix" // of every matrix talk
)

// sees reports whether c may see a resource of scope.
func (c matrixCase) sees(scope string) bool {
	switch scope {
	case scopeTalk, scopeOfficial:
		return c.inTalk()
	case scopeBC:
		return c.seesBC()
	case scopeInvitation:
		return c.inTalk() && c.mayInvite("N")
	case scopeOwn:
		return c.user == "NE"
	case scopeAttached:
		return c.inTalk() || c.stakeholder
	}
	return false
}

// target is one resource a route is run against.
type target struct {
	scope string
	id    int64
	by    string // the user who wrote it (a message), or "" if none matters
	party string // the party that answered it (a version, an answer)
}

// matrixTalk is a talk seeded for the matrix: parties North, South, West;
// F convener and facilitator; NP, NE, NA of the North; SE, SA, SO of the
// South; WP of the West. The back-channel holds NE, SE, SA and SO, a message
// and a proposal by NE, and SE's rejection of its version; the official
// track a message and a proposal by F and WP's rejection of its version.
// There is an invitation to the North and an API token of NE's.
type matrixTalk struct {
	talk     *talks.Talk
	members  map[string]*talks.Member
	version  *talks.Version // the official one, the b of a diff
	outsider int64          // O's user ID
	parties  map[string]*talks.Party

	// targets lists, by the Param kind of the routes table, the resources
	// of that kind to run a route against. Add a kind here (and seed it
	// above) when a route names a new kind of resource.
	targets map[string][]target

	env    *env     // for targets seeded on first use
	agreed []target // see agreedTargets (access_disclosure_test.go)
}

// matrixUsers are the users the matrix needs beyond newEnv's.
var matrixUsers = []string{"SA", "SO", "WP", "K"}

func (e *env) matrixTalk() *matrixTalk {
	t := e.t
	t.Helper()
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("matrix talk: %s: %v", what, err)
		}
	}
	x := &matrixTalk{members: map[string]*talks.Member{}, outsider: e.users["O"].ID, env: e, parties: map[string]*talks.Party{}}
	x.talk = &talks.Talk{Title: talkTitle, Space: testSpace(t)}
	ok("CreateTalk", e.svc.CreateTalk(e.as("F"), x.talk))
	parties := map[string]*talks.Party{}
	for _, p := range []string{"N", "S", "W"} {
		parties[p] = &talks.Party{TalkID: x.talk.ID, Name: p + "land"}
		ok("AddParty", e.svc.AddParty(e.as("F"), parties[p]))
		x.parties[p] = parties[p]
	}
	for _, c := range matrixCases {
		if !c.inTalk() || c.user == "F" {
			continue
		}
		m := &talks.Member{TalkID: x.talk.ID, UserID: e.users[c.user].ID, PartyID: parties[c.party].ID, Role: c.role}
		ok("AddMember "+c.user, e.svc.AddMember(e.as("F"), m))
		x.members[c.user] = m
	}
	tracks, err := e.svc.FindTracks(e.as("F"), x.talk.ID)
	ok("FindTracks", err)
	official := tracks[0]
	bc := &talks.Track{TalkID: x.talk.ID, Name: "secret channel", Kind: talks.TrackBackchannel}
	for _, c := range matrixCases {
		if c.onBC {
			bc.MemberIDs = append(bc.MemberIDs, x.members[c.user].ID)
		}
	}
	ok("CreateTrack", e.svc.CreateTrack(e.as("F"), bc))

	bcMsg := &talks.Message{TrackID: bc.ID, Body: "secret: we could live with 1967"}
	ok("PostMessage", e.svc.PostMessage(e.as("NE"), bcMsg))
	bcSeq := e.talkHead(x.talk.ID)
	offMsg := &talks.Message{TrackID: official.ID, Body: "welcome"}
	ok("PostMessage", e.svc.PostMessage(e.as("F"), offMsg))
	offSeq := e.talkHead(x.talk.ID)
	bcProp := &talks.Proposal{TrackID: bc.ID, Title: "secret draft"}
	bcVer := &talks.Version{Values: map[string]string{"line": "1967", "prisoners": "500"}, Rationale: "secret rationale"}
	ok("CreateProposal", e.svc.CreateProposal(e.as("NE"), bcProp, bcVer))
	offProp := &talks.Proposal{TrackID: official.ID, Title: "public draft"}
	x.version = &talks.Version{Values: map[string]string{"line": "current", "prisoners": "100"}}
	ok("CreateProposal", e.svc.CreateProposal(e.as("F"), offProp, x.version))
	bcAns := &talks.Answer{VersionID: bcVer.ID, Kind: talks.AnswerReject}
	ok("AnswerVersion", e.svc.AnswerVersion(e.as("SE"), bcAns))
	offAns := &talks.Answer{VersionID: x.version.ID, Kind: talks.AnswerReject}
	ok("AnswerVersion", e.svc.AnswerVersion(e.as("WP"), offAns))
	inv, err := e.svc.CreateInvitation(e.as("F"), &talks.Invitation{TalkID: x.talk.ID, PartyID: parties["N"].ID, Role: talks.RoleEnvoy})
	ok("CreateInvitation", err)
	tok, err := e.svc.CreateAPIToken(e.as("NE"), fmt.Sprintf("matrix %d", x.talk.ID))
	ok("CreateAPIToken", err)
	bcMeet := &talks.Meeting{TrackID: bc.ID, Title: "secret meeting", Agenda: "secret agenda", Start: time.Now(), Duration: time.Hour}
	ok("ScheduleMeeting", e.svc.ScheduleMeeting(e.as("NE"), bcMeet))
	offMeet := &talks.Meeting{TrackID: official.ID, Title: "plenary", Start: time.Now(), Duration: time.Hour}
	ok("ScheduleMeeting", e.svc.ScheduleMeeting(e.as("F"), offMeet))

	// Every party's private preferences; the North's reserved value is
	// northSecret, which no answer to anyone outside the North's
	// principal, envoys and advisors may contain.
	for p, by := range map[string]string{"N": "NP", "S": "SE", "W": "WP"} {
		pr := matrixPreferences(p)
		pr.TalkID, pr.PartyID = x.talk.ID, parties[p].ID
		ok("SavePreferences "+p, e.svc.SavePreferences(e.as(by), pr))
	}
	ok("SaveMandate NE", e.svc.SaveMandate(e.as("NP"), matrixMandate(x)))
	// K is a stakeholder with red lines whose reserved value is
	// stakeholderSecret, which no answer to anyone but K may contain.
	_, err = e.svc.AddStakeholder(e.as("F"), x.talk.ID, e.users["K"].ID)
	ok("AddStakeholder", err)
	rl := &talks.RedLines{Preferences: *matrixPreferences("S")}
	rl.TalkID, rl.Reserved = x.talk.ID, stakeholderSecret
	ok("SaveRedLines", e.svc.SaveRedLines(e.as("K"), rl))

	x.targets = map[string][]target{
		"talk":       {{scope: scopeTalk, id: x.talk.ID}},
		"track":      {{scope: scopeBC, id: bc.ID}, {scope: scopeOfficial, id: official.ID}},
		"message":    {{scope: scopeBC, id: bcMsg.ID, by: "NE"}, {scope: scopeOfficial, id: offMsg.ID, by: "F"}},
		"proposal":   {{scope: scopeBC, id: bcProp.ID}, {scope: scopeOfficial, id: offProp.ID}},
		"version":    {{scope: scopeBC, id: bcVer.ID, party: "S"}, {scope: scopeOfficial, id: x.version.ID, party: "W"}},
		"answer":     {{scope: scopeBC, id: bcAns.ID, party: "S"}, {scope: scopeOfficial, id: offAns.ID, party: "W"}},
		"invitation": {{scope: scopeInvitation, id: inv.ID}},
		"token":      {{scope: scopeOwn, id: tok.ID}},
		"meeting":    {{scope: scopeBC, id: bcMeet.ID}, {scope: scopeOfficial, id: offMeet.ID}},
		// Events of the talk's log, by sequence number: the messages'.
		"event": {{scope: scopeBC, id: bcSeq}, {scope: scopeOfficial, id: offSeq}},
	}
	return x
}

// Outcomes a rule expects of someone who sees the target.
const (
	succeeds = 200 // any 2xx
	refused  = 403
	invalid  = 400
	conflict = 409
	notFound = 404
)

// matrixRule is what the documented rules say of one route.
type matrixRule struct {
	// body is the request body (nil for none); it must be valid, so that
	// an error is about access.
	body func(x *matrixTalk) any
	// bodyAs, if body is nil, is a request body made for the caller.
	bodyAs func(x *matrixTalk, c matrixCase) any
	// may is the outcome for someone who sees the target; nil means
	// succeeds (a read).
	may func(c matrixCase, tg target) int
	// targets and path override the route's Param kind and {id}.
	targets func(x *matrixTalk) []target
	path    func(x *matrixTalk, tg target) string
	// check inspects a successful answer.
	check func(x *matrixTalk, c matrixCase, body []byte) error
	// stream marks an event stream, read until its first heartbeat.
	stream bool
}

func allow(ok bool) int {
	if ok {
		return succeeds
	}
	return refused
}

// answered is the outcome of a party's answer to (or counter of) tg: a
// party has at most one standing answer per version.
func answered(c matrixCase, tg target) int {
	if c.party == tg.party {
		return conflict
	}
	return succeeds
}

var matrixValues = map[string]string{"line": "1949", "prisoners": "7"}

// northSecret is the North's reserved value in the matrix talk.
const northSecret = 0.123456789

// matrixPreferences returns preferences of party p ("N", "S" or "W") over
// testSpace: the North wants the 1949 line and many prisoners, the others
// the current line and few.
func matrixPreferences(p string) *talks.Preferences {
	pr := &talks.Preferences{Weights: map[string]float64{"line": 0.6, "prisoners": 0.4}, Reserved: 0.1,
		Scores: map[string]map[string]float64{"line": {"1949": 0, "1967": 0.5, "current": 1}, "prisoners": {}}}
	if p == "N" {
		pr.Reserved = northSecret
		pr.Scores["line"] = map[string]float64{"1949": 1, "1967": 0.5, "current": 0}
	}
	for i := 0; i <= 1000; i++ {
		sc := float64(i) / 1000
		if p != "N" {
			sc = 1 - sc
		}
		pr.Scores["prisoners"][fmt.Sprint(i)] = sc
	}
	return pr
}

// matrixProfile is the South's preferences as a GeniusWeb JSON profile.
func matrixProfile() string {
	sp, _ := outcome.NewSpace("Ceasefire", outcome.NewDiscrete("line", "1949", "1967", "current"), outcome.NewInteger("prisoners", 0, 1000))
	f, err := matrixPreferences("S").Func(sp)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if err := genius.WriteWebProfile(&b, &utility.Profile{Name: "south", Func: f, Reserved: 0.2, Discount: 1}); err != nil {
		panic(err)
	}
	return b.String()
}

// readsPrefs: a party's principal, envoys and advisors read its
// preferences and what the engine derives from them.
func (c matrixCase) readsPrefs() bool {
	return c.party != "" && (c.role == talks.RolePrincipal || c.role == talks.RoleEnvoy || c.role == talks.RoleAdvisor)
}

// preferencesBody is a valid body for POST .../preferences.
func preferencesBody(*matrixTalk) any {
	pr := matrixPreferences("S")
	return map[string]any{"weights": pr.Weights, "scores": pr.Scores, "reserved": 0.2}
}

// noGainUnlessReader checks that a suggestion carries a gain only for a
// party's principal, envoys and advisors.
func noGainUnlessReader(_ *matrixTalk, c matrixCase, body []byte) error {
	if has := bytes.Contains(body, []byte(`"gain"`)); has != c.readsPrefs() {
		return fmt.Errorf("suggestions carry a gain: %v, want %v: %s", has, c.readsPrefs(), body)
	}
	if !bytes.Contains(body, []byte(`"kind"`)) {
		return fmt.Errorf("no suggestion, though every party has preferences: %s", body)
	}
	return nil
}

// matrixRules holds the rule of every route that names a resource of a
// talk, by "METHOD PATH". A route missing here fails the test.
var matrixRules = map[string]matrixRule{
	"GET /api/v1/talks/{id}": {},
	"PATCH /api/v1/talks/{id}": {
		body: func(*matrixTalk) any { return map[string]any{"title": "renamed"} },
		may:  func(c matrixCase, _ target) int { return allow(c.manages()) },
	},
	"GET /api/v1/talks/{id}/parties": {},
	"POST /api/v1/talks/{id}/parties": {
		body: func(*matrixTalk) any { return map[string]any{"name": "Eastland"} },
		may:  func(c matrixCase, _ target) int { return allow(c.manages()) },
	},
	"GET /api/v1/talks/{id}/members": {},
	"POST /api/v1/talks/{id}/members": { // O as an observer of the North
		body: func(x *matrixTalk) any {
			return map[string]any{"user_id": x.outsider, "party_id": x.members["NP"].PartyID, "role": "observer"}
		},
		may: func(c matrixCase, _ target) int {
			return allow(c.manages() || c.role == talks.RolePrincipal && c.party == "N")
		},
	},
	"PATCH /api/v1/talks/{id}/members/{member}": { // NA, of the North, made an observer
		path: func(x *matrixTalk, tg target) string {
			return fmt.Sprintf("/api/v1/talks/%d/members/%d", tg.id, x.members["NA"].ID)
		},
		body: func(*matrixTalk) any { return map[string]any{"role": "observer"} },
		may: func(c matrixCase, _ target) int {
			return allow(c.manages() || c.role == talks.RolePrincipal && c.party == "N")
		},
	},
	"DELETE /api/v1/talks/{id}/members/{member}": { // NA, of the North
		path: func(x *matrixTalk, tg target) string {
			return fmt.Sprintf("/api/v1/talks/%d/members/%d", tg.id, x.members["NA"].ID)
		},
		may: func(c matrixCase, _ target) int {
			return allow(c.manages() || c.user == "NA" || c.role == talks.RolePrincipal && c.party == "N")
		},
	},
	"GET /api/v1/talks/{id}/tracks": {},
	"POST /api/v1/talks/{id}/tracks": {
		body: func(x *matrixTalk) any {
			return map[string]any{"name": "side", "member_ids": []int64{x.members["NA"].ID}}
		},
		may: func(c matrixCase, _ target) int { return allow(c.manages()) },
	},
	"GET /api/v1/talks/{id}/proposals": {},
	"GET /api/v1/talks/{id}/agreement": { // the matrix talk has none
		may: func(matrixCase, target) int { return notFound },
	},
	"GET /api/v1/talks/{id}/diff": { // a = the target version, b = the official one
		targets: func(x *matrixTalk) []target { return x.targets["version"] },
		path: func(x *matrixTalk, tg target) string {
			return fmt.Sprintf("/api/v1/talks/%d/diff?a=%d&b=%d", x.talk.ID, tg.id, x.version.ID)
		},
	},
	"GET /api/v1/talks/{id}/events": {stream: true},
	"GET /api/v1/talks/{id}/invitations": {
		check: func(x *matrixTalk, c matrixCase, body []byte) error {
			var list []Invitation
			if err := json.Unmarshal(body, &list); err != nil {
				return err
			}
			listed := slices.ContainsFunc(list, func(inv Invitation) bool { return inv.ID == x.targets["invitation"][0].id })
			if listed != c.mayInvite("N") {
				return fmt.Errorf("lists the invitation to the North: %v, want %v", listed, c.mayInvite("N"))
			}
			return nil
		},
	},
	"POST /api/v1/talks/{id}/invitations": {
		body: func(x *matrixTalk) any { return map[string]any{"party_id": x.members["NP"].PartyID, "role": "envoy"} },
		may:  func(c matrixCase, _ target) int { return allow(c.mayInvite("N")) },
	},
	"DELETE /api/v1/invitations/{id}": {}, // whoever sees it may revoke it

	"GET /api/v1/talks/{id}/checkpoint": {},
	"GET /api/v1/talks/{id}/events/{seq}/proof": { // an event outside the view does not exist
		targets: func(x *matrixTalk) []target { return x.targets["event"] },
		path: func(x *matrixTalk, tg target) string {
			return fmt.Sprintf("/api/v1/talks/%d/events/%d/proof", x.talk.ID, tg.id)
		},
	},
	"GET /api/v1/talks/{id}/consistency": {
		path: func(x *matrixTalk, tg target) string { return fmt.Sprintf("/api/v1/talks/%d/consistency?old=2", tg.id) },
	},
	"GET /api/v1/talks/{id}/record": { // holds nothing of the back-channel for those who may not see it
		check: func(x *matrixTalk, c matrixCase, body []byte) error {
			b, err := ledger.ParseBundle(body)
			if err != nil {
				return err
			}
			r, err := ledger.Verify(b, ledger.VerifyOptions{ServerKey: b.ServerKey})
			if err != nil {
				return err
			}
			if !r.OK() {
				return fmt.Errorf("bundle does not verify: %v", r.Failures)
			}
			return nil
		},
	},

	"GET /api/v1/tracks/{id}": {},
	"POST /api/v1/tracks/{id}/members": { // NA, of the North
		body: func(x *matrixTalk) any { return map[string]any{"member_id": x.members["NA"].ID} },
		may: func(c matrixCase, tg target) int {
			if tg.scope == scopeOfficial {
				return invalid // every member is on the official track
			}
			return allow(c.manages() || c.role == talks.RolePrincipal && c.party == "N")
		},
	},
	"DELETE /api/v1/tracks/{id}/members/{member}": { // SE, on the back-channel
		path: func(x *matrixTalk, tg target) string {
			return fmt.Sprintf("/api/v1/tracks/%d/members/%d", tg.id, x.members["SE"].ID)
		},
		may: func(c matrixCase, tg target) int {
			if tg.scope == scopeOfficial {
				return invalid // every member is on the official track
			}
			// F, who manages, is not on it; SE's principal is not in the matrix.
			return allow(c.user == "SE")
		},
	},
	"GET /api/v1/tracks/{id}/messages": {},
	"POST /api/v1/tracks/{id}/messages": {
		body: func(*matrixTalk) any { return map[string]any{"body": "hello"} },
		may: func(c matrixCase, tg target) int {
			return allow((tg.scope == scopeOfficial || c.onBC) && c.role != talks.RoleObserver)
		},
	},
	"GET /api/v1/tracks/{id}/meetings": {},
	"POST /api/v1/tracks/{id}/meetings": { // whoever may post in the track
		body: func(*matrixTalk) any {
			return map[string]any{"title": "t", "start": "2025-07-01T10:00:00Z", "duration_minutes": 60}
		},
		may: func(c matrixCase, tg target) int {
			return allow((tg.scope == scopeOfficial || c.onBC) && c.role != talks.RoleObserver)
		},
	},
	"GET /api/v1/meetings/{id}": {},
	"PATCH /api/v1/meetings/{id}": { // whoever may post in its track
		body: func(*matrixTalk) any { return map[string]any{"title": "renamed"} },
		may: func(c matrixCase, tg target) int {
			return allow((tg.scope == scopeOfficial || c.onBC) && c.role != talks.RoleObserver)
		},
	},
	"GET /api/v1/tracks/{id}/proposals": {},
	"POST /api/v1/tracks/{id}/proposals": {
		body: func(*matrixTalk) any { return map[string]any{"title": "t", "values": matrixValues} },
		may:  func(c matrixCase, _ target) int { return allow(c.proposes()) },
	},
	"POST /api/v1/messages/{id}/retract": {
		may: func(c matrixCase, tg target) int { return allow(c.user == tg.by) },
	},

	"GET /api/v1/proposals/{id}":          {},
	"GET /api/v1/proposals/{id}/versions": {},
	"GET /api/v1/versions/{id}":           {},
	"POST /api/v1/versions/{id}/counter": {
		body: func(*matrixTalk) any { return map[string]any{"values": matrixValues} },
		may: func(c matrixCase, tg target) int {
			if !c.proposes() {
				return refused
			} else if !c.speaks() {
				return succeeds // a facilitator's redraft answers for no one
			}
			return answered(c, tg)
		},
	},
	"GET /api/v1/versions/{id}/answers": {},
	"POST /api/v1/versions/{id}/answers": {
		body: func(*matrixTalk) any { return map[string]any{"kind": "accept"} },
		may: func(c matrixCase, tg target) int {
			if !c.speaks() {
				return refused
			}
			return answered(c, tg)
		},
	},
	"POST /api/v1/answers/{id}/withdraw": {
		may: func(c matrixCase, tg target) int { return allow(c.speaks() && c.party == tg.party) },
	},

	"DELETE /api/v1/tokens/{id}": {}, // its owner's alone

	// Private preferences: the caller's own party's, for its principal,
	// envoys and advisors (advisors read, do not write); 403 for any other
	// member of the talk, facilitators included.
	"GET /api/v1/talks/{id}/preferences": {
		may: func(c matrixCase, _ target) int { return allow(c.readsPrefs()) },
	},
	"POST /api/v1/talks/{id}/preferences": {
		body: preferencesBody,
		may:  func(c matrixCase, _ target) int { return allow(c.speaks()) },
	},
	"POST /api/v1/talks/{id}/preferences/import": {
		body: func(*matrixTalk) any { return map[string]any{"format": "geniusweb", "profile": matrixProfile()} },
		may:  func(c matrixCase, _ target) int { return allow(c.speaks()) },
	},
	"GET /api/v1/talks/{id}/standing": {
		may: func(c matrixCase, _ target) int { return allow(c.readsPrefs()) },
	},
	// A rehearsal, like the standing, is the caller's own party's; it
	// writes nothing, so a refused one changes nothing either.
	"POST /api/v1/talks/{id}/rehearsals": {
		body: func(*matrixTalk) any { return map[string]any{"runs": 5, "rounds": 10} },
		may:  func(c matrixCase, _ target) int { return allow(c.readsPrefs()) },
		check: func(_ *matrixTalk, _ matrixCase, body []byte) error {
			if !bytes.Contains(body, []byte(`"estimate":true`)) {
				return fmt.Errorf("a rehearsal not labelled an estimate: %s", body)
			}
			return nil
		},
	},
	// Anyone who sees the version may ask; only readers see a gain.
	"GET /api/v1/versions/{id}/suggestions": {check: noGainUnlessReader},

	// Stakeholders (api_stakeholders.go): members and stakeholders see
	// the list; the convener and facilitators attach (a stakeholder is no
	// member: 404); red lines are a stakeholder's own (403 for members);
	// the matrix talk is not agreed, so there is nothing to ratify yet
	// (404, 409 for K; 403 for members).
	"GET /api/v1/talks/{id}/stakeholders": {targets: attached},
	"GET /api/v1/talks/{id}/rounds":       {targets: attached},
	"POST /api/v1/talks/{id}/stakeholders": {
		body: func(x *matrixTalk) any { return map[string]any{"user_id": x.outsider} },
		may:  func(c matrixCase, _ target) int { return allow(c.manages()) },
	},
	"GET /api/v1/talks/{id}/red-lines": {
		targets: attached,
		may:     func(c matrixCase, _ target) int { return allow(c.stakeholder) },
	},
	"POST /api/v1/talks/{id}/red-lines": {
		targets: attached,
		body:    preferencesBody,
		may:     func(c matrixCase, _ target) int { return allow(c.stakeholder) },
	},
	"GET /api/v1/talks/{id}/ratification": {
		targets: attached,
		may: func(c matrixCase, _ target) int {
			if c.stakeholder {
				return notFound
			}
			return refused
		},
	},
	// Keys: every member and stakeholder has its own, and reads,
	// exports and drops only that one.
	"GET /api/v1/talks/{id}/key":            {targets: attached, check: ownKey},
	"GET /api/v1/talks/{id}/key/private":    {targets: attached, check: ownKey},
	"DELETE /api/v1/talks/{id}/key/private": {targets: attached},
	// A key of the caller's own making, registered with its proof.
	"PUT /api/v1/talks/{id}/key": {targets: attached, bodyAs: ownKeyBody, check: ownKey},
	"POST /api/v1/talks/{id}/ratification": {
		targets: attached,
		body:    func(*matrixTalk) any { return map[string]any{"decision": "ratify", "comment": "fine"} },
		may: func(c matrixCase, _ target) int {
			if c.stakeholder {
				return conflict
			}
			return refused
		},
	},
	// The matrix talk is open: the convener and facilitators are
	// refused with 409 (no rejected agreement), other members with 403.
	"POST /api/v1/talks/{id}/reopen": {
		targets: attached,
		may: func(c matrixCase, _ target) int {
			switch {
			case c.stakeholder:
				return notFound
			case c.manages():
				return conflict
			}
			return refused
		},
	},
}

// signerIn returns c's signer name in the matrix talk.
func signerIn(x *matrixTalk, c matrixCase) (string, error) {
	uid := x.env.users[c.user].ID
	if !c.stakeholder {
		ms, err := x.env.store.FindMembers(context.Background(), talks.MemberFilter{TalkID: x.talk.ID})
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			if m.UserID == uid {
				return talks.MemberSigner(m.ID), nil
			}
		}
	}
	return talks.StakeholderSigner(uid), nil
}

// ownKeyBody is a request to register a new key for c, with its proof.
func ownKeyBody(x *matrixTalk, c matrixCase) any {
	signer, err := signerIn(x, c)
	if err != nil {
		panic(err)
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	st := talks.KeyStatement(x.talk.ID, signer, pub)
	st.At = time.Now().UTC().Format(time.RFC3339)
	sg, _ := talks.Sign(priv, st)
	return map[string]any{"public_key": []byte(pub), "signed": talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}}
}

// ownKey checks that a key answered is the caller's own: no route gives
// anyone another signer's key.
func ownKey(x *matrixTalk, c matrixCase, body []byte) error {
	want, err := signerIn(x, c)
	if err != nil {
		return err
	}
	var signer string
	if k, _, err := talks.ParseKeyFile(body); err == nil {
		signer = k.Signer
	} else {
		var k SignerKey
		if err := json.Unmarshal(body, &k); err != nil {
			return err
		}
		signer = k.Signer
	}
	if signer != want {
		return fmt.Errorf("answered the key of %s, want %s", signer, want)
	}
	return nil
}

// stakeholderSecret is K's reserved value in the matrix talk.
const stakeholderSecret = 0.876543219

// attached targets the matrix talk as scopeAttached.
func attached(x *matrixTalk) []target { return []target{{scope: scopeAttached, id: x.talk.ID}} }

// talkFreeRoutes are the routes that name no resource of a talk, and why
// the matrix leaves them to other tests. Reads that list talks or tokens
// have a check of their own in TestAccessMatrix.
var talkFreeRoutes = map[string]string{
	"GET /api/v1/openapi.json":        "a static document",
	"POST /api/v1/setup":              "the first administrator; needs a setup token",
	"POST /api/v1/login":              "accounts, not talks (TestLogin)",
	"POST /api/v1/logout":             "accounts, not talks (TestLogin)",
	"GET /api/v1/me":                  "the caller's own account",
	"GET /api/v1/me/talks/events":     "the caller's own talks (TestMyTalksStream)",
	"GET /api/v1/tokens":              "checked below: lists only the caller's tokens",
	"POST /api/v1/tokens":             "makes a token of the caller's own",
	"GET /api/v1/talks":               "checked below: lists only the caller's talks",
	"POST /api/v1/talks":              "any signed-in user convenes a talk of its own",
	"POST /api/v1/invitations/accept": "addressed by a secret token, not an ID (TestInvitationFlow)",
	"GET /api/v1/invitations/preview": "addressed by a secret token, not an ID (TestInvitationPreview)",
	"POST /api/v1/invitations/signup": "addressed by a secret token, not an ID (TestSignUp)",
}

// TestAccessMatrix runs every route of the OpenAPI document against every
// matrix case and target; see the comment at the top of this file.
func TestAccessMatrix(t *testing.T) {
	e := newEnv(t)
	e.srv.heartbeat = 20 * time.Millisecond // the end of a stream's backlog
	for _, n := range matrixUsers {
		e.addUser(n)
	}
	shared := e.matrixTalk()

	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, rt := range e.srv.routes() {
		params[rt.Method+" "+rt.Path] = rt.Param
	}
	var keys []string
	for path, ops := range doc.Paths {
		for method := range ops {
			keys = append(keys, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(keys)

	runs := 0
	for _, key := range keys {
		param, registered := params[key]
		if !registered {
			t.Errorf("%s is in openapi.json but not a route", key)
			continue
		}
		if param == "" {
			if talkFreeRoutes[key] == "" {
				t.Errorf("%s names no resource of a talk; say why in talkFreeRoutes, or give it a Param", key)
			}
			continue
		}
		rule, ok := matrixRules[key]
		if !ok {
			t.Errorf("%s: no rule in matrixRules; add one", key)
			continue
		}
		method, pattern, _ := strings.Cut(key, " ")
		targets := func(x *matrixTalk) []target {
			if rule.targets != nil {
				return rule.targets(x)
			}
			return x.targets[param]
		}
		if len(targets(shared)) == 0 {
			t.Errorf("%s: the matrix talk has no resource of kind %q; seed one in matrixTalk", key, param)
			continue
		}
		path := func(x *matrixTalk, tg target) string {
			if rule.path != nil {
				return rule.path(x, tg)
			}
			return strings.Replace(pattern, "{id}", fmt.Sprint(tg.id), 1)
		}
		for i := range targets(shared) {
			for _, c := range matrixCases {
				tg := targets(shared)[i]
				hidden := !c.sees(tg.scope)
				want := notFound
				if !hidden {
					want = succeeds
					if rule.may != nil {
						want = rule.may(c, tg)
					}
				}
				// A write that should succeed gets a talk of its own, so
				// that what it changes changes no other run.
				x := shared
				if want == succeeds && method != "GET" {
					x = e.matrixTalk()
					tg = targets(x)[i]
				}
				var body any
				if rule.body != nil {
					body = rule.body(x)
				} else if rule.bodyAs != nil {
					body = rule.bodyAs(x, c)
				}
				p := path(x, tg)
				name := fmt.Sprintf("%s as %s (%s) on the %s", strings.Replace(key, pattern, p, 1), c.user, c.what, tg.scope)
				runs++

				head := e.talkHead(x.talk.ID)
				var st int
				var got []byte
				if rule.stream && want == succeeds {
					st, got = e.streamBacklog(c.user, p)
				} else {
					st, got = e.do(c.user, method, p, body)
				}
				changed := e.talkHead(x.talk.ID) != head
				switch {
				case want == succeeds && (st < 200 || st > 299):
					t.Errorf("%s = %d %s, want 2xx", name, st, got)
				case want != succeeds && st != want:
					t.Errorf("%s = %d %s, want %d", name, st, got, want)
				case want != succeeds && changed:
					t.Errorf("%s = %d but changed the talk's log (head %d, was %d)", name, st, e.talkHead(x.talk.ID), head)
				}
				if hidden {
					missing := tg
					missing.id = missingID
					if _, none := e.do(c.user, method, path(x, missing), body); !bytes.Equal(got, none) {
						t.Errorf("%s = %s; for what does not exist %s; want the same", name, got, none)
					}
				}
				if !c.seesBC() && bytes.Contains(got, []byte(secret)) {
					t.Errorf("%s leaks the back-channel: %s", name, got)
				}
				if !(c.readsPrefs() && c.party == "N") && bytes.Contains(got, []byte(fmt.Sprint(northSecret))) {
					t.Errorf("%s leaks the North's preferences: %s", name, got)
				}
				if !(c.readsPrefs() && c.party == "N") && bytes.Contains(got, []byte(fmt.Sprint(mandateSecret))) {
					t.Errorf("%s leaks NE's mandate: %s", name, got)
				}
				if c.user != "K" && bytes.Contains(got, []byte(fmt.Sprint(stakeholderSecret))) {
					t.Errorf("%s leaks the stakeholder's red lines: %s", name, got)
				}
				if rule.stream && want == succeeds {
					if err := e.checkBacklog(x, c, got); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
				if rule.check != nil && want == succeeds && st == 200 {
					if err := rule.check(x, c, got); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
				if changed && want != succeeds {
					shared = e.matrixTalk() // start the next runs clean
				}
			}
		}
	}
	t.Logf("the access matrix made %d runs", runs)
	if runs < 300 {
		t.Errorf("the access matrix made %d runs; the routes table has lost its resources", runs)
	}

	// The lists of what belongs to the caller.
	x := e.matrixTalk()
	for _, c := range matrixCases {
		var list []Talk
		e.must(200, c.user, "GET", "/api/v1/talks?limit=1000", nil, &list)
		listed := slices.ContainsFunc(list, func(tk Talk) bool { return tk.ID == x.talk.ID })
		if listed != c.inTalk() {
			t.Errorf("GET /api/v1/talks as %s (%s) lists the matrix talk: %v, want %v", c.user, c.what, listed, c.inTalk())
		}
		_, got := e.do(c.user, "GET", "/api/v1/tokens", nil)
		if listed := bytes.Contains(got, []byte(`"matrix `)); listed != (c.user == "NE") {
			t.Errorf("GET /api/v1/tokens as %s lists NE's matrix tokens: %v, want %v", c.user, listed, c.user == "NE")
		}
	}
}

// addUser makes a user with the test password and an API token.
func (e *env) addUser(name string) {
	e.t.Helper()
	hash, err := talks.HashPassword(testPassword, cheapArgon2)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &talks.User{Name: name, Email: strings.ToLower(name) + "@example.org", PasswordHash: hash}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	e.users[name] = u
	tok, err := e.svc.CreateAPIToken(e.as(name), "test")
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name] = tok.Token
}

// talkHead returns the sequence number of the last event of talk id.
func (e *env) talkHead(id int64) int64 {
	e.t.Helper()
	head, err := e.store.TalkHead(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return head
}

// streamBacklog opens the event stream at path as user and returns its
// status and the events it sends before its first heartbeat (which comes
// after the backlog), one JSON Event per line.
func (e *env) streamBacklog(user, path string) (int, []byte) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ":") {
			break
		} else if data, ok := strings.CutPrefix(line, "data: "); ok {
			out.WriteString(data + "\n")
		}
	}
	return resp.StatusCode, out.Bytes()
}

// checkBacklog checks that a stream's backlog is exactly the events of the
// talk that c may see: talk-wide ones, the official track's, and the
// back-channel's only if c sees it.
func (e *env) checkBacklog(x *matrixTalk, c matrixCase, backlog []byte) error {
	all, err := e.store.FindEvents(context.Background(), talks.EventFilter{TalkID: x.talk.ID})
	if err != nil {
		return err
	}
	bc := x.targets["track"][0].id
	party := map[int64]string{}
	for name, p := range x.parties {
		party[p.ID] = name
	}
	var want, got []int64
	for _, ev := range all {
		if ev.Type == talks.EventPreferencesSaved || ev.Type == talks.EventMandateSaved {
			// Party-scoped: only the party's principal, envoys and
			// advisors see that its preferences changed.
			var p talks.PreferencesSaved
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				return err
			}
			if c.readsPrefs() && c.party == party[p.PartyID] {
				want = append(want, ev.ID)
			}
		} else if ev.Type == talks.EventRedLinesSaved {
			continue // a stakeholder's: no member sees it
		} else if ev.TrackID != bc || c.seesBC() {
			want = append(want, ev.ID)
		}
	}
	for line := range strings.Lines(string(backlog)) {
		var ev Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return err
		}
		got = append(got, ev.ID)
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("stream sent events %v, want %v", got, want)
	}
	return nil
}

// TestAccessAgreementInBackChannel checks that an agreement reached in a
// back-channel does not exist for a member who cannot see it: the answer
// is the one for a talk without an agreement.
func TestAccessAgreementInBackChannel(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	agreement := fmt.Sprintf("/api/v1/talks/%d/agreement", w.talk.ID)
	_, none := e.do("NA", "GET", agreement, nil)
	e.must(201, "NE", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", w.version.ID), map[string]any{"kind": "accept"}, nil)
	e.must(204, "SE", "POST", fmt.Sprintf("/api/v1/answers/%d/withdraw", w.answer.ID), nil, nil)
	e.must(201, "SE", "POST", fmt.Sprintf("/api/v1/versions/%d/answers", w.version.ID), map[string]any{"kind": "accept"}, nil)
	e.must(200, "SP", "GET", agreement, nil, nil)
	st, got := e.do("NA", "GET", agreement, nil)
	if st != 404 || !bytes.Equal(got, none) {
		t.Errorf("GET %s as NA = %d %s, want 404 %s as if there were none", agreement, st, got, none)
	}
}
