package server

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/backchannel/backchannel/internal/ledger"
	"github.com/backchannel/backchannel/internal/talks"
)

// The verifiable record (internal/ledger): a talk's signed checkpoint,
// inclusion and consistency proofs, and a member's record bundle. Every
// route answers only a member of the talk, and only about events the
// member may see; an event outside its view does not exist for it.

// Checkpoint is the answer of GET /talks/{id}/checkpoint.
type Checkpoint struct {
	TalkID     int64     `json:"talk_id"`
	Size       int64     `json:"size"`
	Root       string    `json:"root"`       // standard base64, as in the note
	Checkpoint string    `json:"checkpoint"` // the signed note
	ServerKey  string    `json:"server_key"` // the server's verifier key
	Time       time.Time `json:"time"`
}

// InclusionProof is the answer of GET /talks/{id}/events/{seq}/proof.
type InclusionProof struct {
	Seq      int64    `json:"seq"`
	Index    int64    `json:"index"` // the leaf index, seq-1
	Size     int64    `json:"size"`
	Root     string   `json:"root"`
	LeafHash string   `json:"leaf_hash"`
	Proof    []string `json:"proof"`
}

// ConsistencyProof is the answer of GET /talks/{id}/consistency.
type ConsistencyProof struct {
	Old     int64    `json:"old"`
	New     int64    `json:"new"`
	OldRoot string   `json:"old_root"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

var errEventNotFound = talks.Errorf(talks.ENOTFOUND, "Event not found.")

// record reads the record of the talk the path names, as the caller's
// view, with its tree.
func (s *Server) record(r *http.Request) (*talks.Record, *talks.View, *ledger.Tree, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, nil, nil, err
	}
	rec, v, err := s.svc.Record(r.Context(), id)
	if err != nil {
		return nil, nil, nil, err
	}
	hs := make([]tlog.Hash, len(rec.Hashes))
	for i, h := range rec.Hashes {
		hs[i] = h
	}
	tree, err := ledger.NewTree(int64(len(rec.Events)), hs)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("talk %d: %w", id, err)
	}
	return rec, v, tree, nil
}

func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cp, err := s.svc.LatestCheckpoint(r.Context(), id)
	if err != nil {
		return err
	}
	out := Checkpoint{TalkID: id, Size: cp.Size, Root: tlog.Hash(cp.Root).String(), Checkpoint: string(cp.Note), Time: cp.Time}
	if s.ledger != nil {
		out.ServerKey = s.ledger.VerifierKey()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleInclusionProof(w http.ResponseWriter, r *http.Request) error {
	rec, v, tree, err := s.record(r)
	if err != nil {
		return err
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	n := tree.Size()
	if err != nil || seq < 1 || seq > n || !v.CanSeeEvent(rec.Events[seq-1]) {
		return errEventNotFound
	}
	size, err := queryInt(r, "size", n, seq, n)
	if err != nil {
		return err
	}
	p, err := tree.InclusionProof(seq-1, size)
	if err != nil {
		return err
	}
	root, err := tree.Root(size)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, InclusionProof{Seq: seq, Index: seq - 1, Size: size, Root: root.String(),
		LeafHash: ledger.LeafHash(rec.Events[seq-1]).String(), Proof: hashStrings(p)})
	return nil
}

func (s *Server) handleConsistencyProof(w http.ResponseWriter, r *http.Request) error {
	_, _, tree, err := s.record(r)
	if err != nil {
		return err
	}
	n := tree.Size()
	if n == 0 {
		return talks.Errorf(talks.ENOTFOUND, "The talk has no events.")
	}
	newSize, err := queryInt(r, "new", n, 1, n)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("old") == "" {
		return talks.Errorf(talks.EINVALID, "The query parameter \"old\" is required.")
	}
	oldSize, err := queryInt(r, "old", 0, 1, newSize)
	if err != nil {
		return err
	}
	p, err := tree.ConsistencyProof(oldSize, newSize)
	if err != nil {
		return err
	}
	oldRoot, err := tree.Root(oldSize)
	if err != nil {
		return err
	}
	newRoot, err := tree.Root(newSize)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ConsistencyProof{Old: oldSize, New: newSize, OldRoot: oldRoot.String(), NewRoot: newRoot.String(), Proof: hashStrings(p)})
	return nil
}

func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request) error {
	rec, v, tree, err := s.record(r)
	if err != nil {
		return err
	}
	if s.ledger == nil {
		return talks.Errorf(talks.ENOTFOUND, "This server keeps no verifiable record.")
	}
	n := tree.Size()
	var since []int64
	if r.URL.Query().Get("since") != "" {
		m, err := queryInt(r, "since", 0, 1, n)
		if err != nil {
			return err
		}
		since = append(since, m)
	}
	b, err := ledger.NewBundle(rec.Events, v.CanSeeEvent, tree, s.ledger, since...)
	if err != nil {
		return err
	}
	data, err := b.MarshalJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="talk-%d-record-%d.json"`, v.Talk.ID, n))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

func hashStrings[H ~[32]byte](hs []H) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}
