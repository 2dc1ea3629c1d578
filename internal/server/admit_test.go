package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAdmit checks that no more than MaxWrites writes are admitted at
// once, that a waiting one is admitted when another finishes, and that
// one whose request ends stops waiting.
func TestAdmit(t *testing.T) {
	s := New(nil, Options{MaxWrites: 2})
	defer s.Close()
	ctx := context.Background()
	for range 2 {
		if err := s.admit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	gone, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.admit(gone); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("admit beyond MaxWrites = %v, want it to wait until its request ends", err)
	}
	admitted := make(chan error)
	go func() { admitted <- s.admit(ctx) }()
	select {
	case err := <-admitted:
		t.Fatalf("admit beyond MaxWrites returned %v before a write finished", err)
	case <-time.After(20 * time.Millisecond):
	}
	<-s.writes // a write finishes
	if err := <-admitted; err != nil {
		t.Fatalf("admit after a write finished = %v", err)
	}
}
