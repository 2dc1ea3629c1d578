package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// myTalksGap is the least time between two reads of a user's talks by its
// stream: every write to any talk wakes every such stream, and a burst of
// writes must cost a reader a few reads a second, not one a write.
const myTalksGap = 250 * time.Millisecond

// MyTalks is what the stream of the user's talks sends: the talks it is a
// member of, and those it is a stakeholder of, as GET /api/v1/talks and
// the home page list them.
type MyTalks struct {
	Talks        []ListedTalk `json:"talks"`
	Stakeholding []ListedTalk `json:"stakeholding"`
}

// ListedTalk is a talk as a list of talks shows it.
type ListedTalk struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Status      string `json:"status"`
}

func listedTalk(t *talks.Talk) ListedTalk {
	return ListedTalk{ID: t.ID, Title: t.Title, Description: t.Description, Status: string(t.Status)}
}

// handleMyTalksEvents streams the user's talks as Server-Sent Events: a
// "talks" event with MyTalks at once, and another each time the list
// changes (a talk joined or left, renamed, agreed, reopened, a talk it
// became a stakeholder of). It carries no ids: each event is the whole
// list, so a client that reconnects starts from the list as it is.
func (s *Server) handleMyTalksEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	// Subscribe before the first read, so that no write between the read
	// and the wait goes unnoticed.
	wake, cancel := s.broker.subscribeAny()
	defer cancel()
	read := func() ([]byte, error) {
		ts, err := s.svc.FindTalks(ctx, talks.TalkFilter{})
		if err != nil {
			return nil, err
		}
		sts, err := s.svc.FindStakeholderTalks(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(MyTalks{Talks: mapAll(ts, listedTalk), Stakeholding: mapAll(sts, listedTalk)})
	}
	last, err := read()
	if err != nil {
		return err
	}
	readAt := time.Now()

	rc, err := s.openStream(w)
	defer s.streams.Add(-1)
	if err != nil {
		return nil
	}
	if _, err := fmt.Fprintf(w, "event: talks\ndata: %s\n\n", last); err != nil {
		return nil
	}
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for {
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
		case <-wake:
		}
		if wait := myTalksGap - time.Since(readAt); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-s.done:
				return nil
			case <-time.After(wait):
			}
		}
		data, err := read()
		readAt = time.Now()
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("my talks: read", "err", err)
			}
			return nil
		}
		if bytes.Equal(data, last) {
			continue
		}
		last = data
		if _, err := fmt.Fprintf(w, "event: talks\ndata: %s\n\n", data); err != nil {
			return nil
		}
	}
}
