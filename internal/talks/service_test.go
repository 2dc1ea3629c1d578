package talks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
)

// world is a talk on real SQLite: Northland and Southland, each with a
// principal (NP, SP), an envoy (NE, SE) and an advisor (NA, SA); a
// facilitator F who convened it; a back-channel "envoys" with NE and SE; a
// back-channel "north" with NA alone; a message by NE in each; and an
// outsider O who belongs to another talk.
type world struct {
	svc      *talks.Service
	store    *sqlite.Store
	users    map[string]*talks.User
	members  map[string]*talks.Member
	talk     *talks.Talk
	north    *talks.Party
	south    *talks.Party
	official *talks.Track
	envoys   *talks.Track
	northBC  *talks.Track
	msg      *talks.Message // NE's message in envoys
	northMsg *talks.Message // NA's message in north
}

func (w *world) as(name string) context.Context {
	if name == "" {
		return context.Background()
	}
	return talks.NewContextWithUser(context.Background(), w.users[name])
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := talks.ClockFunc(func() time.Time { now = now.Add(time.Second); return now })
	w := &world{svc: talks.NewService(st, clock), store: st, users: map[string]*talks.User{}, members: map[string]*talks.Member{}}
	for _, n := range []string{"F", "NP", "NE", "NA", "SP", "SE", "SA", "O"} {
		u := &talks.User{Name: n, Email: n + "@example.org"}
		mustOK(t, "CreateUser", st.CreateUser(ctx, u))
		w.users[n] = u
	}
	w.talk = &talks.Talk{Title: "Ceasefire"}
	mustOK(t, "CreateTalk", w.svc.CreateTalk(w.as("F"), w.talk))
	mustOK(t, "CreateTalk", w.svc.CreateTalk(w.as("O"), &talks.Talk{Title: "Elsewhere"}))
	ms, err := w.svc.FindMembers(w.as("F"), w.talk.ID)
	mustOK(t, "FindMembers", err)
	w.members["F"] = ms[0]
	w.north = &talks.Party{TalkID: w.talk.ID, Name: "Northland"}
	w.south = &talks.Party{TalkID: w.talk.ID, Name: "Southland"}
	mustOK(t, "AddParty", w.svc.AddParty(w.as("F"), w.north))
	mustOK(t, "AddParty", w.svc.AddParty(w.as("F"), w.south))
	add := func(by, name string, p *talks.Party, r talks.Role) {
		m := &talks.Member{TalkID: w.talk.ID, UserID: w.users[name].ID, PartyID: p.ID, Role: r}
		mustOK(t, "AddMember "+name, w.svc.AddMember(w.as(by), m))
		w.members[name] = m
	}
	add("F", "NP", w.north, talks.RolePrincipal)
	add("F", "SP", w.south, talks.RolePrincipal)
	add("NP", "NE", w.north, talks.RoleEnvoy)
	add("NP", "NA", w.north, talks.RoleAdvisor)
	add("SP", "SE", w.south, talks.RoleEnvoy)
	add("SP", "SA", w.south, talks.RoleAdvisor)
	tracks, err := w.svc.FindTracks(w.as("F"), w.talk.ID)
	mustOK(t, "FindTracks", err)
	w.official = tracks[0]
	w.envoys = &talks.Track{TalkID: w.talk.ID, Name: "Envoys", MemberIDs: []int64{w.members["NE"].ID, w.members["SE"].ID}}
	mustOK(t, "CreateTrack", w.svc.CreateTrack(w.as("F"), w.envoys))
	w.northBC = &talks.Track{TalkID: w.talk.ID, Name: "North only", MemberIDs: []int64{w.members["NA"].ID}}
	mustOK(t, "CreateTrack", w.svc.CreateTrack(w.as("F"), w.northBC))
	w.msg = &talks.Message{TrackID: w.envoys.ID, Body: "a quiet word"}
	mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), w.msg))
	w.northMsg = &talks.Message{TrackID: w.northBC.ID, Body: "north only"}
	mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NA"), w.northMsg))
	return w
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// seesEnvoys and seesNorth say who may see each back-channel: those on it
// and the principals of parties with a member on it.
var (
	seesEnvoys = []string{"NE", "SE", "NP", "SP"}
	seesNorth  = []string{"NA", "NP"}
	everyone   = []string{"F", "NP", "NE", "NA", "SP", "SE", "SA", "O", ""}
)

// TestServiceAccess runs every Service method as every user and checks
// the error code: what a user may not see answers ENOTFOUND, never
// EFORBIDDEN. Each case runs on a fresh world.
func TestServiceAccess(t *testing.T) {
	type op struct {
		name string
		do   func(ctx context.Context, w *world) error
		want map[string]string // error code by user; missing means success
	}
	notFound := func(except ...string) map[string]string {
		m := map[string]string{"": talks.EUNAUTHORIZED}
		for _, u := range everyone[:len(everyone)-1] {
			if !slices.Contains(except, u) {
				m[u] = talks.ENOTFOUND
			}
		}
		return m
	}
	with := func(m map[string]string, code string, users ...string) map[string]string {
		for _, u := range users {
			m[u] = code
		}
		return m
	}
	members := []string{"F", "NP", "NE", "NA", "SP", "SE", "SA"}
	ops := []op{
		{"FindTalkByID", func(ctx context.Context, w *world) error { _, err := w.svc.FindTalkByID(ctx, w.talk.ID); return err }, notFound(members...)},
		{"FindParties", func(ctx context.Context, w *world) error { _, err := w.svc.FindParties(ctx, w.talk.ID); return err }, notFound(members...)},
		{"FindMembers", func(ctx context.Context, w *world) error { _, err := w.svc.FindMembers(ctx, w.talk.ID); return err }, notFound(members...)},
		{"FindTracks", func(ctx context.Context, w *world) error { _, err := w.svc.FindTracks(ctx, w.talk.ID); return err }, notFound(members...)},
		{"FindEvents", func(ctx context.Context, w *world) error {
			_, err := w.svc.FindEvents(ctx, talks.EventFilter{TalkID: w.talk.ID})
			return err
		}, notFound(members...)},
		{"UpdateTalk", func(ctx context.Context, w *world) error {
			title := "Renamed"
			_, err := w.svc.UpdateTalk(ctx, w.talk.ID, talks.TalkUpdate{Title: &title})
			return err
		}, with(notFound(members...), talks.EFORBIDDEN, "NP", "NE", "NA", "SP", "SE", "SA")},
		{"AddParty", func(ctx context.Context, w *world) error {
			return w.svc.AddParty(ctx, &talks.Party{TalkID: w.talk.ID, Name: "Westland"})
		}, with(notFound(members...), talks.EFORBIDDEN, "NP", "NE", "NA", "SP", "SE", "SA")},
		{"AddMember to north", func(ctx context.Context, w *world) error {
			return w.svc.AddMember(ctx, &talks.Member{TalkID: w.talk.ID, UserID: w.users["O"].ID, PartyID: w.north.ID, Role: talks.RoleObserver})
		}, with(notFound(members...), talks.EFORBIDDEN, "NE", "NA", "SP", "SE", "SA")},
		{"CreateTrack", func(ctx context.Context, w *world) error {
			return w.svc.CreateTrack(ctx, &talks.Track{TalkID: w.talk.ID, Name: "Principals", MemberIDs: []int64{w.members["NP"].ID, w.members["SP"].ID}})
		}, with(notFound(members...), talks.EFORBIDDEN, "NP", "NE", "NA", "SP", "SE", "SA")},

		{"FindTrackByID official", func(ctx context.Context, w *world) error {
			_, err := w.svc.FindTrackByID(ctx, w.official.ID)
			return err
		}, notFound(members...)},
		{"FindTrackByID envoys", func(ctx context.Context, w *world) error { _, err := w.svc.FindTrackByID(ctx, w.envoys.ID); return err }, notFound(seesEnvoys...)},
		{"FindTrackByID north", func(ctx context.Context, w *world) error {
			_, err := w.svc.FindTrackByID(ctx, w.northBC.ID)
			return err
		}, notFound(seesNorth...)},
		{"FindTrackByID unknown", func(ctx context.Context, w *world) error { _, err := w.svc.FindTrackByID(ctx, 9999); return err }, notFound()},
		{"FindMessages envoys", func(ctx context.Context, w *world) error {
			_, err := w.svc.FindMessages(ctx, talks.MessageFilter{TrackID: w.envoys.ID})
			return err
		}, notFound(seesEnvoys...)},
		{"FindMessages north", func(ctx context.Context, w *world) error {
			_, err := w.svc.FindMessages(ctx, talks.MessageFilter{TrackID: w.northBC.ID})
			return err
		}, notFound(seesNorth...)},
		{"PostMessage official", func(ctx context.Context, w *world) error {
			return w.svc.PostMessage(ctx, &talks.Message{TrackID: w.official.ID, Body: "hello"})
		}, notFound(members...)},
		{"PostMessage envoys", func(ctx context.Context, w *world) error {
			return w.svc.PostMessage(ctx, &talks.Message{TrackID: w.envoys.ID, Body: "hello"})
		}, with(notFound(seesEnvoys...), talks.EFORBIDDEN, "NP", "SP")},
		{"PostMessage north", func(ctx context.Context, w *world) error {
			return w.svc.PostMessage(ctx, &talks.Message{TrackID: w.northBC.ID, Body: "hello"})
		}, with(notFound(seesNorth...), talks.EFORBIDDEN, "NP")},
		{"RetractMessage envoys", func(ctx context.Context, w *world) error { return errOf(w.svc.RetractMessage(ctx, w.msg.ID)) },
			with(notFound(seesEnvoys...), talks.EFORBIDDEN, "NP", "SP", "SE")},
		{"RetractMessage north", func(ctx context.Context, w *world) error { return errOf(w.svc.RetractMessage(ctx, w.northMsg.ID)) },
			with(notFound(seesNorth...), talks.EFORBIDDEN, "NP")},
		{"RetractMessage unknown", func(ctx context.Context, w *world) error { return errOf(w.svc.RetractMessage(ctx, 9999)) }, notFound()},
		{"AddTrackMember envoys NA", func(ctx context.Context, w *world) error {
			return w.svc.AddTrackMember(ctx, w.envoys.ID, w.members["NA"].ID)
		}, with(notFound(seesEnvoys...), talks.EFORBIDDEN, "NE", "SE", "SP")},
		{"AddTrackMember north SA", func(ctx context.Context, w *world) error {
			return w.svc.AddTrackMember(ctx, w.northBC.ID, w.members["SA"].ID)
		}, with(notFound(seesNorth...), talks.EFORBIDDEN, "NA", "NP")},
		// NE leaves, or is taken off by its principal; SE and SP may not.
		{"RemoveTrackMember envoys NE", func(ctx context.Context, w *world) error {
			return w.svc.RemoveTrackMember(ctx, w.envoys.ID, w.members["NE"].ID)
		}, with(notFound(seesEnvoys...), talks.EFORBIDDEN, "SE", "SP")},
		{"RemoveTrackMember north NA", func(ctx context.Context, w *world) error { // its last member
			return w.svc.RemoveTrackMember(ctx, w.northBC.ID, w.members["NA"].ID)
		}, with(notFound(seesNorth...), talks.ECONFLICT, seesNorth...)},
		{"RemoveTrackMember envoys SA", func(ctx context.Context, w *world) error { // not on it
			return w.svc.RemoveTrackMember(ctx, w.envoys.ID, w.members["SA"].ID)
		}, with(with(notFound(seesEnvoys...), talks.EFORBIDDEN, "NE", "NP", "SE"), talks.ECONFLICT, "SP")},
		{"ChangeMemberRole NA observer", func(ctx context.Context, w *world) error {
			return errOf(w.svc.ChangeMemberRole(ctx, w.talk.ID, w.members["NA"].ID, talks.RoleObserver))
		}, with(notFound(members...), talks.EFORBIDDEN, "NE", "NA", "SP", "SE", "SA")},
		{"ChangeMemberRole NP envoy", func(ctx context.Context, w *world) error { // the North's last principal
			return errOf(w.svc.ChangeMemberRole(ctx, w.talk.ID, w.members["NP"].ID, talks.RoleEnvoy))
		}, with(with(notFound(members...), talks.EFORBIDDEN, "NE", "NA", "SP", "SE", "SA"), talks.ECONFLICT, "F", "NP")},
		{"ChangeMemberRole F envoy", func(ctx context.Context, w *world) error {
			return errOf(w.svc.ChangeMemberRole(ctx, w.talk.ID, w.members["F"].ID, talks.RoleEnvoy))
		}, with(notFound(members...), talks.EINVALID, members...)},
		{"ChangeMemberRole unknown", func(ctx context.Context, w *world) error {
			return errOf(w.svc.ChangeMemberRole(ctx, w.talk.ID, 9999, talks.RoleEnvoy))
		}, with(notFound(members...), talks.EINVALID, members...)},
		{"RemoveMember NA", func(ctx context.Context, w *world) error {
			return w.svc.RemoveMember(ctx, w.talk.ID, w.members["NA"].ID)
		}, with(notFound(members...), talks.EFORBIDDEN, "NE", "SP", "SE", "SA")},
		{"RemoveMember SP", func(ctx context.Context, w *world) error { // the South's last principal
			return w.svc.RemoveMember(ctx, w.talk.ID, w.members["SP"].ID)
		}, with(with(notFound(members...), talks.EFORBIDDEN, "NP", "NE", "NA", "SE", "SA"), talks.ECONFLICT, "F", "SP")},
		{"RemoveMember F", func(ctx context.Context, w *world) error {
			return w.svc.RemoveMember(ctx, w.talk.ID, w.members["F"].ID)
		}, with(notFound(members...), talks.EINVALID, members...)},
		{"RemoveTrackMember official NE", func(ctx context.Context, w *world) error {
			return w.svc.RemoveTrackMember(ctx, w.official.ID, w.members["NE"].ID)
		}, with(notFound(members...), talks.EINVALID, members...)},
	}
	for _, o := range ops {
		for _, u := range everyone {
			t.Run(fmt.Sprintf("%s/%s", o.name, u), func(t *testing.T) {
				t.Parallel() // each on a world of its own
				w := newWorld(t)
				before, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
				mustOK(t, "FindEvents", err)
				opErr := o.do(w.as(u), w)
				want := o.want[u]
				if got := talks.ErrorCode(opErr); got != want {
					t.Fatalf("%s as %q: error %v (code %q), want code %q", o.name, u, opErr, got, want)
				}
				if want == "" {
					return
				}
				after, err := w.store.FindEvents(context.Background(), talks.EventFilter{TalkID: w.talk.ID})
				mustOK(t, "FindEvents", err)
				if len(after) != len(before) {
					t.Errorf("%s as %q failed but appended %d events", o.name, u, len(after)-len(before))
				}
				if want == talks.ENOTFOUND {
					// What is invisible reads exactly like what does not exist.
					if msg := talks.ErrorMessage(opErr); msg != "Talk not found." && msg != "Track not found." && msg != "Message not found." {
						t.Errorf("%s as %q: message %q names more than absence", o.name, u, msg)
					}
				}
			})
		}
	}
}

// TestServiceLists checks that lists and the event log leave out the
// tracks a member may not see, and everything that happened in them.
func TestServiceLists(t *testing.T) {
	w := newWorld(t)
	for _, u := range []string{"F", "NP", "NE", "NA", "SP", "SE", "SA"} {
		t.Run(u, func(t *testing.T) {
			ctx := w.as(u)
			want := []int64{w.official.ID}
			if slices.Contains(seesEnvoys, u) {
				want = append(want, w.envoys.ID)
			}
			if slices.Contains(seesNorth, u) {
				want = append(want, w.northBC.ID)
			}
			tracks, err := w.svc.FindTracks(ctx, w.talk.ID)
			mustOK(t, "FindTracks", err)
			var got []int64
			for _, tr := range tracks {
				got = append(got, tr.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("FindTracks() as %s = %v, want %v", u, got, want)
			}
			evs, err := w.svc.FindEvents(ctx, talks.EventFilter{TalkID: w.talk.ID})
			mustOK(t, "FindEvents", err)
			seen := map[int64]bool{}
			for _, e := range evs {
				if e.TrackID != 0 && !slices.Contains(want, e.TrackID) {
					t.Errorf("FindEvents() as %s returned event %d (%s) of invisible track %d", u, e.ID, e.Type, e.TrackID)
				}
				seen[e.TrackID] = true
			}
			for _, id := range want {
				if !seen[id] {
					t.Errorf("FindEvents() as %s has no event of visible track %d", u, id)
				}
			}
			// Limit counts visible events only.
			page, err := w.svc.FindEvents(ctx, talks.EventFilter{TalkID: w.talk.ID, AfterSeq: 2, Limit: 3})
			mustOK(t, "FindEvents", err)
			if len(page) != 3 || page[0].ID <= 2 || !slices.Equal(idsOf(page), idsOf(evs)[slices.IndexFunc(evs, func(e *talks.Event) bool { return e.ID > 2 }):][:3]) {
				t.Errorf("FindEvents(after 2, limit 3) as %s = %v", u, idsOf(page))
			}
		})
	}

	talksOf, err := w.svc.FindTalks(w.as("O"), talks.TalkFilter{})
	mustOK(t, "FindTalks", err)
	if len(talksOf) != 1 || talksOf[0].ID == w.talk.ID {
		t.Errorf("FindTalks() as outsider = %v, want only its own talk", talksOf)
	}
	_, err = w.svc.FindTalks(context.Background(), talks.TalkFilter{})
	if talks.ErrorCode(err) != talks.EUNAUTHORIZED {
		t.Errorf("FindTalks() without user: %v, want EUNAUTHORIZED", err)
	}
}

func idsOf(evs []*talks.Event) []int64 {
	var a []int64
	for _, e := range evs {
		a = append(a, e.ID)
	}
	return a
}

// TestServiceRetract checks that a retraction leaves a marker and the
// event log keeps the original post.
func TestServiceRetract(t *testing.T) {
	w := newWorld(t)
	ctx := w.as("NE")
	got, err := w.svc.RetractMessage(ctx, w.msg.ID)
	mustOK(t, "RetractMessage", err)
	if got.ID != w.msg.ID || got.TrackID != w.envoys.ID || !got.Retracted {
		t.Errorf("RetractMessage() = %+v, want message %d of track %d, retracted", got, w.msg.ID, w.envoys.ID)
	}
	if err := errOf(w.svc.RetractMessage(ctx, w.msg.ID)); talks.ErrorCode(err) != talks.ECONFLICT {
		t.Errorf("RetractMessage() twice: %v, want ECONFLICT", err)
	}
	ms, err := w.svc.FindMessages(w.as("SP"), talks.MessageFilter{TrackID: w.envoys.ID})
	mustOK(t, "FindMessages", err)
	if len(ms) != 1 || !ms[0].Retracted || ms[0].AuthorID != w.members["NE"].ID {
		t.Errorf("FindMessages() after retraction = %+v, want one retracted message by NE", ms)
	}
	evs, err := w.svc.FindEvents(w.as("SP"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	if last := evs[len(evs)-1]; last.Type != talks.EventMessageRetracted || last.ActorID != w.users["NE"].ID {
		t.Errorf("last event = %s by %d, want message.retracted by NE", last.Type, last.ActorID)
	}
	if err := w.svc.PostMessage(ctx, &talks.Message{TrackID: w.envoys.ID, Body: " "}); talks.ErrorCode(err) != talks.EINVALID {
		t.Errorf("PostMessage(blank) = %v, want EINVALID", err)
	}
}

// errOf returns the error of a method that also returns a value.
func errOf[T any](_ T, err error) error { return err }

// TestLatestEvents checks FindEvents with Latest: the last events that
// the caller may see, in ascending order, read back from the head past
// more events it may not see than the store returns at once; and with
// BeforeSeq.
func TestLatestEvents(t *testing.T) {
	w := newWorld(t)
	var official []*talks.Message
	for i := range 3 {
		m := &talks.Message{TrackID: w.official.ID, Body: fmt.Sprintf("official %d", i)}
		mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NE"), m))
		official = append(official, m)
	}
	// SA may not see the north's back-channel.
	for i := range 600 {
		mustOK(t, "PostMessage", w.svc.PostMessage(w.as("NA"), &talks.Message{TrackID: w.northBC.ID, Body: fmt.Sprint("north ", i)}))
	}
	all, err := w.svc.FindEvents(w.as("SA"), talks.EventFilter{TalkID: w.talk.ID})
	mustOK(t, "FindEvents", err)
	last, err := w.svc.FindEvents(w.as("SA"), talks.EventFilter{TalkID: w.talk.ID, Limit: 4, Latest: true})
	mustOK(t, "FindEvents", err)
	if want := all[len(all)-4:]; !reflect.DeepEqual(last, want) {
		t.Errorf("FindEvents(SA, limit 4, latest) = %v, want %v", last, want)
	}
	var posted []int64 // the message IDs of SA's last two message.posted events
	evs, err := w.svc.FindEvents(w.as("SA"), talks.EventFilter{TalkID: w.talk.ID, Type: talks.EventMessagePosted, TrackID: w.official.ID, Limit: 2, Latest: true})
	mustOK(t, "FindEvents", err)
	for _, e := range evs {
		var p talks.MessagePosted
		mustOK(t, "payload", json.Unmarshal(e.Payload, &p))
		posted = append(posted, p.MessageID)
	}
	if want := []int64{official[1].ID, official[2].ID}; !reflect.DeepEqual(posted, want) {
		t.Errorf("the latest two message.posted events of the official track are of messages %v, want %v", posted, want)
	}
	before, err := w.svc.FindEvents(w.as("SA"), talks.EventFilter{TalkID: w.talk.ID, BeforeSeq: evs[1].ID, Limit: 1, Latest: true})
	mustOK(t, "FindEvents", err)
	if len(before) != 1 || before[0].ID != evs[0].ID {
		t.Errorf("FindEvents(SA, before %d, limit 1, latest) = %v, want event %d", evs[1].ID, before, evs[0].ID)
	}
	// NA sees the back-channel's: its last event is the head.
	na, err := w.svc.FindEvents(w.as("NA"), talks.EventFilter{TalkID: w.talk.ID, Limit: 1, Latest: true})
	mustOK(t, "FindEvents", err)
	if head, _ := w.store.TalkHead(context.Background(), w.talk.ID); len(na) != 1 || na[0].ID != head {
		t.Errorf("FindEvents(NA, limit 1, latest) = %v, want the head %d", na, head)
	}
}
