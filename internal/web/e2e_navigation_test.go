package web_test

import (
	"testing"
	"time"
)

// TestE2ENavigation goes back and forth between two live pages more times
// than a browser allows connections to one host. A live page whose event
// stream stayed open in the back/forward cache once held a connection per
// visit, and the seventh page never loaded.
func TestE2ENavigation(t *testing.T) {
	srv, browser := startE2E(t, 2*time.Minute)
	a := newPerson(t, browser, srv, "A (Northland envoy)", "n.envoy1")
	a.login()
	for i := range 10 {
		path := []string{"/tracks/1", "/tracks/2"}[i%2]
		a.open(path) // fails the test if the page does not load in time
		a.waitLive()
	}
}
