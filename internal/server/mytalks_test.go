package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// TestMyTalksStream checks the stream of a user's talks: the list at once,
// then the list again each time it changes (joined, status, a talk it
// became a stakeholder of, taken off), and nothing for writes to talks it
// is not in.
func TestMyTalksStream(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	e.addUser("Z")
	st, _ := e.do("", "GET", "/api/v1/me/talks/events", nil)
	if st != 401 {
		t.Errorf("the stream without a user = %d, want 401", st)
	}

	ch, cancel := e.streamPath("Z", "/api/v1/me/talks/events", "")
	defer cancel()
	list := func(what string) MyTalks {
		t.Helper()
		ev := next(t, "Z", ch)
		if ev.typ != "talks" || ev.id != "" {
			t.Fatalf("%s: event %+v, want talks with no id", what, ev)
		}
		var out MyTalks
		if err := json.Unmarshal([]byte(ev.data), &out); err != nil {
			t.Fatalf("%s: data %q: %v", what, ev.data, err)
		}
		return out
	}
	listed := func(tk *talks.Talk, status string) ListedTalk {
		return ListedTalk{ID: tk.ID, Title: tk.Title, Description: tk.Description, Status: status}
	}
	want := func(what string, got MyTalks, talks, stakeholding []ListedTalk) {
		t.Helper()
		if !reflect.DeepEqual(got, MyTalks{Talks: talks, Stakeholding: stakeholding}) {
			t.Errorf("%s: %+v, want talks %+v and stakeholding %+v", what, got, talks, stakeholding)
		}
	}
	none := []ListedTalk{}
	want("at first", list("at first"), none, none)

	// Writes to talks Z is not in send nothing: its next list is the one
	// its joining changes. (The pause lets the stream read after the first
	// writes alone, so that an unchanged list sent then would come first.)
	e.must(201, "F", "POST", fmt.Sprintf("/api/v1/tracks/%d/messages", w.official.ID), map[string]any{"body": "not for Z"}, nil)
	e.must(201, "O", "POST", "/api/v1/talks", map[string]any{"title": "Z is not here"}, nil)
	time.Sleep(2 * myTalksGap)
	e.must(201, "F", "POST", fmt.Sprintf("/api/v1/talks/%d/members", w.talk.ID), map[string]any{"user_id": e.users["Z"].ID, "party_id": w.north.ID, "role": "observer"}, nil)
	want("joined", list("joined"), []ListedTalk{listed(w.talk, "open")}, none)

	e.must(200, "F", "PATCH", fmt.Sprintf("/api/v1/talks/%d", w.talk.ID), map[string]any{"status": "closed"}, nil)
	want("closed", list("closed"), []ListedTalk{listed(w.talk, "closed")}, none)

	other := &talks.Talk{Title: "Z watches", Description: "from outside"}
	if err := e.svc.CreateTalk(e.as("O"), other); err != nil {
		t.Fatal(err)
	}
	e.must(201, "O", "POST", fmt.Sprintf("/api/v1/talks/%d/stakeholders", other.ID), map[string]any{"user_id": e.users["Z"].ID}, nil)
	want("a stakeholder", list("a stakeholder"), []ListedTalk{listed(w.talk, "closed")}, []ListedTalk{listed(other, "open")})

	var ms []Member
	e.must(200, "F", "GET", fmt.Sprintf("/api/v1/talks/%d/members", w.talk.ID), nil, &ms)
	for _, m := range ms {
		if m.UserID == e.users["Z"].ID {
			e.must(204, "F", "DELETE", fmt.Sprintf("/api/v1/talks/%d/members/%d", w.talk.ID, m.ID), nil, nil)
		}
	}
	want("taken off", list("taken off"), none, []ListedTalk{listed(other, "open")})
}
