package demo

import (
	"context"
	"fmt"

	"github.com/backchannel/backchannel/internal/talks"
)

// MandateLines are the ceasefire lines Northland's principal allows its
// first envoy (n.envoy1, Tomas Varga) to propose or accept: not the 1990
// border.
var MandateLines = []string{"current front", "river line"}

// seedMandate has Northland's principal set the mandate of its first envoy.
func seedMandate(as func(string) context.Context, svc *talks.Service, talk *talks.Talk, parties map[string]*talks.Party, members map[string]*talks.Member) error {
	m := &talks.Mandate{TalkID: talk.ID, PartyID: parties["Northland"].ID, EnvoyID: members["n.envoy1"].ID,
		Allowed: map[string][]string{"ceasefire line": MandateLines}}
	if err := svc.SaveMandate(as("n.principal"), m); err != nil {
		return fmt.Errorf("mandate: %w", err)
	}
	return nil
}
