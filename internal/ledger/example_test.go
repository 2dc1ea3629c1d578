package ledger_test

import (
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// A server appends each event of a talk to the talk's tree, builds a
// member's bundle, and the member verifies it offline with the server's
// published key.
func Example() {
	key, _, err := ledger.GenerateKey("bc.example.org")
	if err != nil {
		log.Fatal(err)
	}

	// The server: seal events as talks does, and append each to the tree.
	var tree ledger.Tree
	var events []*talks.Event
	var prev [32]byte
	for i, track := range []int64{0, 1, 2} {
		e, _ := talks.NewEvent(42, track, talks.EventMessagePosted,
			talks.Stamp{ActorID: 7, Time: time.Date(2026, 11, 27, 9, i, 0, 0, time.UTC)},
			talks.MessagePosted{MessageID: int64(i + 1), AuthorID: 7, Body: "an offer"})
		e.Seal(int64(i+1), prev)
		prev = e.Hash
		events = append(events, e)
		tree.Append(ledger.LeafBytes(e))
	}
	// A member outside track 2 sees events 1 and 2 in full.
	notTrack2 := func(e *talks.Event) bool { return e.TrackID != 2 }
	bundle, err := ledger.NewBundle(events, notTrack2, &tree, key)
	if err != nil {
		log.Fatal(err)
	}
	data, _ := json.Marshal(bundle)

	// The member, offline.
	b, err := ledger.ParseBundle(data)
	if err != nil {
		log.Fatal(err)
	}
	r, err := ledger.Verify(b, ledger.VerifyOptions{ServerKey: key.VerifierKey()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.OK(), r.Origin, r.Size, r.Events, r.Hidden)
	// Output: true bc.example.org/talks/42 3 2 1
}
