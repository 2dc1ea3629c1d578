package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/backchannel/backchannel/internal/talks"
	"golang.org/x/mod/sumdb/tlog"
)

// BundleVersion is the version of the bundle format that this package
// writes and reads.
const BundleVersion = 1

// Limits on what ParseBundle accepts. A proof has at most one hash per
// level of a tree of 2^63 leaves.
const (
	MaxBundleSize = 1 << 30 // bytes
	maxLeaves     = 1 << 24
	maxProof      = 63
	maxSince      = 64 // consistency proofs in one bundle
	maxPayload    = 16 << 20
	maxShortField = 1 << 10 // origin, key, type, time
)

// Bundle is the record of one talk as one member may see it: a signed
// checkpoint, the server's verifier key, and one Leaf per leaf of the tree
// the checkpoint commits to, in order.
type Bundle struct {
	Origin     string
	ServerKey  string // the server's verifier key, as the server states it
	Checkpoint []byte // the signed checkpoint note
	Leaves     []Leaf
	// Consistency holds proofs that the trees of earlier sizes are
	// prefixes of the checkpoint's tree, for Verify's Since.
	Consistency []Consistency
}

// Leaf is one leaf of a bundle: an event the member may see, with its
// inclusion proof, or the bare leaf hash of one it may not.
type Leaf struct {
	Event    *talks.Event     // nil for an event outside the member's view
	Proof    tlog.RecordProof // Event's inclusion proof against the checkpoint
	LeafHash tlog.Hash        // set only when Event is nil
}

// Consistency is a proof that the tree of OldSize leaves is a prefix of
// the bundle's tree.
type Consistency struct {
	OldSize int64
	Proof   tlog.TreeProof
}

// NewBundle returns the bundle of a talk's log for one member: events is
// the whole log, numbered 1..n; visible says which events the member may
// see; hashes reads the stored hashes of the talk's tree, which must have
// at least n leaves; key signs a checkpoint of the first n leaves; and
// since lists earlier tree sizes, each between 1 and n, to include
// consistency proofs from. NewBundle checks that each event's leaf hash
// matches the one stored in the tree, so a bundle is never built from a
// tree and a log that disagree. The bundle refers to the visible events
// rather than copying them. It takes O(n log n) time and reads hashes once
// per visible event: over a database, load the talk's stored hashes into a
// Tree first (NewTree).
func NewBundle(events []*talks.Event, visible func(*talks.Event) bool, hashes tlog.HashReader, key *Key, since ...int64) (*Bundle, error) {
	n := int64(len(events))
	switch {
	case n == 0:
		return nil, errorf("bundle: no events")
	case visible == nil:
		// Never default to showing everything.
		return nil, errorf("bundle: no visibility predicate")
	}
	talkID := events[0].TalkID
	idx := make([]int64, n)
	for i, e := range events {
		if e.ID != int64(i+1) || e.TalkID != talkID {
			return nil, errorf("bundle: position %d holds seq %d of talk %d, want seq %d of talk %d", i, e.ID, e.TalkID, i+1, talkID)
		}
		idx[i] = tlog.StoredHashIndex(0, int64(i))
	}
	stored, err := hashes.ReadHashes(idx)
	if err != nil {
		return nil, errorf("bundle: read leaf hashes: %w", err)
	}
	if len(stored) != len(idx) {
		return nil, errorf("bundle: read %d leaf hashes, got %d", len(idx), len(stored))
	}
	root, err := tlog.TreeHash(n, hashes)
	if err != nil {
		return nil, errorf("bundle: root: %w", err)
	}
	cp, err := Checkpoint{Origin: Origin(key.Name(), talkID), Size: n, Root: root}.Sign(key.Signer())
	if err != nil {
		return nil, err
	}
	b := &Bundle{Origin: Origin(key.Name(), talkID), ServerKey: key.VerifierKey(), Checkpoint: cp, Leaves: make([]Leaf, n)}
	for i, e := range events {
		if h := LeafHash(e); h != stored[i] {
			return nil, errorf("bundle: event %d does not match leaf %d of the tree", e.ID, i)
		}
		if !visible(e) {
			b.Leaves[i].LeafHash = stored[i]
			continue
		}
		p, err := tlog.ProveRecord(n, int64(i), hashes)
		if err != nil {
			return nil, errorf("bundle: prove event %d: %w", e.ID, err)
		}
		b.Leaves[i] = Leaf{Event: e, Proof: p}
	}
	for _, old := range since {
		if old < 1 || old > n {
			return nil, errorf("bundle: consistency from size %d: want 1..%d", old, n)
		}
		p, err := tlog.ProveTree(n, old, hashes)
		if err != nil {
			return nil, errorf("bundle: consistency from size %d: %w", old, err)
		}
		b.Consistency = append(b.Consistency, Consistency{OldSize: old, Proof: p})
	}
	return b, nil
}

// The wire format. Event hashes are hex, as the API writes them; tree
// hashes are standard base64, as checkpoints and tlog write them. A proof
// is one base64 string of its hashes concatenated, 32 bytes each: a third
// fewer allocations to parse than a list of strings.
type (
	wireBundle struct {
		Version     int               `json:"version"`
		Origin      string            `json:"origin"`
		ServerKey   string            `json:"server_key"`
		Checkpoint  string            `json:"checkpoint"`
		Leaves      []json.RawMessage `json:"leaves"`
		Consistency []json.RawMessage `json:"consistency,omitempty"`
	}
	wireBundleFull struct {
		Version     int               `json:"version"`
		Origin      string            `json:"origin"`
		ServerKey   string            `json:"server_key"`
		Checkpoint  string            `json:"checkpoint"`
		Leaves      []wireLeaf        `json:"leaves"`
		Consistency []wireConsistency `json:"consistency,omitempty"`
	}
	wireLeaf struct {
		Event    *wireEvent `json:"event,omitempty"`
		Proof    *string    `json:"proof,omitempty"`
		LeafHash string     `json:"leaf_hash,omitempty"`
	}
	wireEvent struct {
		Talk     int64  `json:"talk"`
		Seq      int64  `json:"seq"`
		Time     string `json:"time"`
		Actor    int64  `json:"actor"`
		Track    int64  `json:"track"`
		Type     string `json:"type"`
		Payload  string `json:"payload"`
		PrevHash string `json:"prev_hash"`
		Hash     string `json:"hash"`
	}
	wireConsistency struct {
		OldSize int64  `json:"old_size"`
		Proof   string `json:"proof"`
	}
)

// MarshalJSON returns the bundle in its JSON format, version 1. It fails
// for an event whose payload is not UTF-8, which a JSON string could not
// carry exactly.
func (b *Bundle) MarshalJSON() ([]byte, error) {
	w := wireBundleFull{Version: BundleVersion, Origin: b.Origin, ServerKey: b.ServerKey, Checkpoint: string(b.Checkpoint),
		Leaves: make([]wireLeaf, len(b.Leaves))}
	for i, l := range b.Leaves {
		e := l.Event
		if e == nil {
			w.Leaves[i].LeafHash = l.LeafHash.String()
			continue
		}
		if !utf8.Valid(e.Payload) {
			return nil, errorf("bundle: event %d: payload is not UTF-8", e.ID)
		}
		w.Leaves[i] = wireLeaf{
			Event: &wireEvent{Talk: e.TalkID, Seq: e.ID, Time: e.TimeString(), Actor: e.ActorID, Track: e.TrackID,
				Type: e.Type, Payload: string(e.Payload), PrevHash: hex.EncodeToString(e.PrevHash[:]), Hash: hex.EncodeToString(e.Hash[:])},
			Proof: proofString(l.Proof),
		}
	}
	for _, c := range b.Consistency {
		w.Consistency = append(w.Consistency, wireConsistency{OldSize: c.OldSize, Proof: *proofString(c.Proof)})
	}
	return json.Marshal(w)
}

// ParseError reports where a bundle is malformed: Path names the field,
// such as "leaves[3].event.prev_hash".
type ParseError struct {
	Path string
	Err  error
}

// Error returns the message, prefixed with the path if there is one.
func (e *ParseError) Error() string {
	if e.Path == "" {
		return "ledger: bundle: " + e.Err.Error()
	}
	return "ledger: bundle: " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(path, format string, args ...any) error {
	return &ParseError{Path: path, Err: fmt.Errorf(format, args...)}
}

// ParseBundle parses a bundle in its JSON format, strictly: it rejects
// unknown fields, a version other than 1, trailing data, hashes that are
// not exactly 32 bytes, and anything over the size limits, with a
// *ParseError that names the bad field. It checks the form of the bundle,
// not its proofs (see Verify).
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, parseErr("", "larger than %d bytes", MaxBundleSize)
	}
	if b, ok := scanBundle(data); ok {
		return b, nil
	}
	return parseBundleJSON(data)
}

// ReadBundle reads a bundle from r and parses it as ParseBundle does. It
// reads the text in pieces and decodes each as it goes, rather than
// holding all the text in memory with the bundle, when the bundle is in
// the form MarshalJSON writes, give or take white space and the order of
// fields. Any other bundle, such as one that ParseBundle refuses, it must
// read again from the start: it seeks back if r is an io.Seeker (a file)
// and, if not, reads all of r first. It returns a *ParseError for a
// malformed bundle, and other errors as reading r returned them.
func ReadBundle(r io.Reader) (*Bundle, error) {
	b, _, err := readBundle(r, nil)
	return b, err
}

// readBundle is ReadBundle, calling onLeaf (if not nil) with each leaf as
// the fast path reads it. It reports whether the bundle is the one the
// fast path read: if not, the leaves it gave onLeaf, if any, are not the
// bundle's.
func readBundle(r io.Reader, onLeaf func(Leaf)) (b *Bundle, fast bool, err error) {
	seeker, ok := r.(io.Seeker)
	var start int64
	if ok {
		var err error
		start, err = seeker.Seek(0, io.SeekCurrent)
		ok = err == nil // a pipe, say
	}
	if ok {
		b, fast, err := scanBundleFrom(r, onLeaf)
		switch {
		case err != nil:
			return nil, false, err
		case fast:
			return b, true, nil
		}
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return nil, false, err
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxBundleSize+1))
	if err != nil {
		return nil, false, err
	}
	switch {
	case ok:
		// The fast path gave up on this text already.
	case len(data) > MaxBundleSize:
		_, err := ParseBundle(data) // its error for the size
		return nil, false, err
	default:
		s := &scanner{data: data, onLeaf: onLeaf}
		if b, fast := s.bundle(); fast {
			return b, true, nil
		}
	}
	b, err = parseBundleJSON(data)
	return b, false, err
}

// parseBundleJSON is ParseBundle with encoding/json: the reference that
// scanBundle, the fast path, must agree with, and the one that names what
// is wrong with a bundle.
func parseBundleJSON(data []byte) (*Bundle, error) {
	// One strict decode of the whole bundle is fast; when it fails,
	// decoding leaf by leaf finds the path to the bad field.
	var w wireBundleFull
	if err := decodeStrict(data, &w, ""); err != nil {
		if err := locate(data); err != nil {
			return nil, err
		}
		return nil, err
	}
	switch {
	case w.Version != BundleVersion:
		return nil, parseErr("version", "unsupported version %d, want %d", w.Version, BundleVersion)
	case w.Origin == "" || len(w.Origin) > maxShortField:
		return nil, parseErr("origin", "missing or longer than %d bytes", maxShortField)
	case w.ServerKey == "" || len(w.ServerKey) > maxShortField:
		return nil, parseErr("server_key", "missing or longer than %d bytes", maxShortField)
	case w.Checkpoint == "" || len(w.Checkpoint) > maxCheckpoint:
		return nil, parseErr("checkpoint", "missing or longer than %d bytes", maxCheckpoint)
	case len(w.Leaves) == 0:
		return nil, parseErr("leaves", "missing or empty")
	case len(w.Leaves) > maxLeaves:
		return nil, parseErr("leaves", "more than %d", maxLeaves)
	case len(w.Consistency) > maxSince:
		return nil, parseErr("consistency", "more than %d proofs", maxSince)
	}
	b := &Bundle{Origin: w.Origin, ServerKey: w.ServerKey, Checkpoint: []byte(w.Checkpoint), Leaves: make([]Leaf, len(w.Leaves))}
	for i := range w.Leaves {
		l, err := w.Leaves[i].leaf("leaves[" + strconv.Itoa(i) + "]")
		if err != nil {
			return nil, err
		}
		b.Leaves[i] = l
	}
	for i, wc := range w.Consistency {
		path := "consistency[" + strconv.Itoa(i) + "]"
		if wc.OldSize < 1 {
			return nil, parseErr(path+".old_size", "%d is not positive", wc.OldSize)
		}
		p, err := parseProof(wc.Proof, path+".proof")
		if err != nil {
			return nil, err
		}
		b.Consistency = append(b.Consistency, Consistency{OldSize: wc.OldSize, Proof: p})
	}
	return b, nil
}

// locate decodes a bundle that failed to decode leaf by leaf, and returns
// the error with the path to the leaf or proof that failed, if any.
func locate(data []byte) error {
	var w wireBundle
	if err := decodeStrict(data, &w, ""); err != nil {
		return err
	}
	for i, raw := range w.Leaves {
		if err := decodeStrict(raw, new(wireLeaf), "leaves["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	for i, raw := range w.Consistency {
		if err := decodeStrict(raw, new(wireConsistency), "consistency["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return nil
}

func (wl *wireLeaf) leaf(path string) (Leaf, error) {
	if (wl.Event == nil) == (wl.LeafHash == "") {
		return Leaf{}, parseErr(path, "want either event (with proof) or leaf_hash")
	}
	if wl.Event == nil {
		if wl.Proof != nil {
			return Leaf{}, parseErr(path+".proof", "only an event has a proof")
		}
		h, err := parseHash(wl.LeafHash, path+".leaf_hash")
		return Leaf{LeafHash: h}, err
	}
	proofPath := path + ".proof"
	path += ".event"
	we := wl.Event
	e := &talks.Event{TalkID: we.Talk, ID: we.Seq, ActorID: we.Actor, TrackID: we.Track, Type: we.Type, Payload: json.RawMessage(we.Payload)}
	switch {
	case we.Talk <= 0:
		return Leaf{}, parseErr(path+".talk", "%d is not positive", we.Talk)
	case we.Seq <= 0:
		return Leaf{}, parseErr(path+".seq", "%d is not positive", we.Seq)
	case we.Actor < 0:
		return Leaf{}, parseErr(path+".actor", "%d is negative", we.Actor)
	case we.Track < 0:
		return Leaf{}, parseErr(path+".track", "%d is negative", we.Track)
	case we.Type == "" || len(we.Type) > maxShortField:
		return Leaf{}, parseErr(path+".type", "missing or longer than %d bytes", maxShortField)
	case len(we.Payload) > maxPayload:
		return Leaf{}, parseErr(path+".payload", "longer than %d bytes", maxPayload)
	case len(we.Time) > maxShortField:
		return Leaf{}, parseErr(path+".time", "longer than %d bytes", maxShortField)
	}
	t, err := time.Parse(time.RFC3339Nano, we.Time)
	if err != nil {
		return Leaf{}, parseErr(path+".time", "not an RFC 3339 time")
	}
	e.Time = talks.Timestamp(t)
	if e.TimeString() != we.Time {
		// The hash covers the time as text: only one spelling is right.
		return Leaf{}, parseErr(path+".time", "%q is not canonical (want %q)", we.Time, e.TimeString())
	}
	if e.PrevHash, err = parseHex(we.PrevHash, path+".prev_hash"); err != nil {
		return Leaf{}, err
	}
	if e.Hash, err = parseHex(we.Hash, path+".hash"); err != nil {
		return Leaf{}, err
	}
	if wl.Proof == nil {
		return Leaf{}, parseErr(proofPath, "missing")
	}
	p, err := parseProof(*wl.Proof, proofPath)
	if err != nil {
		return Leaf{}, err
	}
	return Leaf{Event: e, Proof: p}, nil
}

// decodeStrict decodes one JSON value into v, rejecting unknown fields and
// trailing data, and reports errors with their path under path.
func decodeStrict(data []byte, v any, path string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 == nil {
			return parseErr(path, "data after the JSON value")
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return parseErr(join(path, te.Field), "want a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return parseErr(path, "invalid JSON at byte %d: %v", se.Offset, err)
	}
	return parseErr(path, "%v", err)
}

func join(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int64", "int":
		return "integer"
	case "slice":
		return "array"
	case "ptr", "struct":
		return "object"
	}
	return goKind
}

func parseHash(s, path string) (tlog.Hash, error) {
	var buf [33]byte // base64 decodes 44 characters into 33 bytes' room
	if len(s) != 44 {
		return tlog.Hash{}, parseErr(path, "not a base64 hash of 32 bytes")
	}
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(s))
	if err != nil || n != tlog.HashSize {
		return tlog.Hash{}, parseErr(path, "not a base64 hash of 32 bytes")
	}
	return tlog.Hash(buf[:tlog.HashSize]), nil
}

func parseHex(s, path string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, parseErr(path, "not a hex hash of 32 bytes")
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil || s != hex.EncodeToString(h[:]) {
		return [32]byte{}, parseErr(path, "not a lower-case hex hash of 32 bytes")
	}
	return h, nil
}

func proofString(p []tlog.Hash) *string {
	b := make([]byte, 0, len(p)*tlog.HashSize)
	for _, h := range p {
		b = append(b, h[:]...)
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s
}

func parseProof(s, path string) ([]tlog.Hash, error) {
	if len(s) > (maxProof*tlog.HashSize+2)/3*4 {
		return nil, parseErr(path, "more than %d hashes", maxProof)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b)%tlog.HashSize != 0 {
		return nil, parseErr(path, "not base64 of 32-byte hashes")
	}
	out := make([]tlog.Hash, len(b)/tlog.HashSize)
	for i := range out {
		out[i] = tlog.Hash(b[i*tlog.HashSize:])
	}
	return out, nil
}
