package talks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Member signatures (issue 7). Each signer of a talk (a member; a
// stakeholder, who ratifies) has an Ed25519 key. The log binds each public
// key to its signer with a member.key event, and every action of a signed
// kind carries, in its event's payload, a signature over a statement that
// names the action: see docs/ledger.md.

// EventMemberKey is the type of the event that binds a public key to a
// signer of the talk: a key created, or taken into the signer's own hands.
const EventMemberKey = "member.key"

// Actions a signature may name.
const (
	ActionPropose = "propose" // the first version of a proposal
	ActionCounter = "counter" // a version that counters another
	ActionAnswer  = "answer"  // accept or reject
	ActionMandate = "mandate" // a principal sets an envoy's mandate
	ActionRatify  = "ratify"  // a stakeholder ratifies or rejects
	ActionConsent = "consent" // a principal consents to a disclosure plan
	ActionReopen  = "reopen"  // the convener or a facilitator reopens a rejected agreement's talk
	// ActionKey is no action of the talk: a signer registers a key it
	// generated itself, and signs, with that key, a statement naming it,
	// to prove that it holds the private half (RegisterKey).
	ActionKey = "key"
)

// Who holds a signer's private key.
const (
	KeyHolderServer = "server"
	KeyHolderClient = "client"
)

// statementDomain prefixes a statement in the message a signature signs.
const statementDomain = "backchannel/action/v1\n"

// StatementSkew is how far a signed statement's time may be from the
// server's when it is submitted.
const StatementSkew = 10 * time.Minute

// MemberSigner names member memberID as a signer.
func MemberSigner(memberID int64) string { return "member/" + strconv.FormatInt(memberID, 10) }

// StakeholderSigner names the stakeholder who is user userID as a signer.
func StakeholderSigner(userID int64) string {
	return "stakeholder/" + strconv.FormatInt(userID, 10)
}

// Statement is what a signer signs: one action in one talk. It is encoded
// with encoding/json in the order of its fields, which fixes its bytes, so
// that a client and the server that build it from the same action agree
// on them. Fields an action does not have are left out.
type Statement struct {
	Talk    int64             `json:"talk"`
	Signer  string            `json:"signer"`
	Action  string            `json:"action"`
	Track   int64             `json:"track,omitempty"`   // propose: the track
	Parent  int64             `json:"parent,omitempty"`  // counter: the version countered
	Version int64             `json:"version,omitempty"` // answer: the version answered
	Kind    AnswerKind        `json:"kind,omitempty"`    // answer: accept or reject
	Values  map[string]string `json:"values,omitempty"`  // propose, counter
	// ClausesSHA256 is hex SHA-256 of the clauses' JSON (encoding/json of
	// the map, keys sorted), empty for none.
	ClausesSHA256 string `json:"clauses_sha256,omitempty"`
	// RationaleSHA256 is hex SHA-256 of the rationale, empty for none.
	RationaleSHA256 string   `json:"rationale_sha256,omitempty"`
	Envoy           int64    `json:"envoy,omitempty"`    // mandate: the envoy
	Digest          string   `json:"digest,omitempty"`   // mandate: its digest, hex
	Decision        Decision `json:"decision,omitempty"` // ratify
	Comment         string   `json:"comment,omitempty"`  // ratify
	Revision        int64    `json:"revision,omitempty"` // consent: the plan's revision
	Key             []byte   `json:"key,omitempty"`      // key: the public key registered, standard base64
	At              string   `json:"at"`                 // RFC 3339, given by the signer
}

// Encode returns the statement's bytes.
func (st *Statement) Encode() ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	return b, nil
}

// VersionStatement returns the statement of proposing (parent 0, on track
// trackID) or countering version parent with the given text.
func VersionStatement(talkID int64, signer string, trackID, parent int64, values, clauses map[string]string, rationale string) *Statement {
	st := &Statement{Talk: talkID, Signer: signer, Action: ActionPropose, Track: trackID, Values: values}
	if parent != 0 {
		st.Action, st.Track, st.Parent = ActionCounter, 0, parent
	}
	if len(clauses) > 0 {
		b, _ := json.Marshal(clauses)
		h := sha256.Sum256(b)
		st.ClausesSHA256 = hex.EncodeToString(h[:])
	}
	if rationale != "" {
		h := sha256.Sum256([]byte(rationale))
		st.RationaleSHA256 = hex.EncodeToString(h[:])
	}
	return st
}

// ReopenStatement returns the statement of reopening talk talkID, by
// signer, after a stakeholder rejected its agreement: it undoes the
// agreement and withdraws every acceptance that stood.
func ReopenStatement(talkID int64, signer string) *Statement {
	return &Statement{Talk: talkID, Signer: signer, Action: ActionReopen}
}

// KeyStatement returns the statement by which signer, registering key in
// talk talkID, proves that it holds the private half: it signs it with
// key (the time is the signer's to set).
func KeyStatement(talkID int64, signer string, key ed25519.PublicKey) *Statement {
	return &Statement{Talk: talkID, Signer: signer, Action: ActionKey, Key: key}
}

// Signed is a signature over a statement, as an event's payload carries it
// in its "signed" field.
type Signed struct {
	Signer    string          `json:"signer"`
	Statement json.RawMessage `json:"statement"`
	Sig       []byte          `json:"sig"` // Ed25519, standard base64 in JSON

	byClient bool              // submitted by the signer, so checked for replay
	key      ed25519.PublicKey // the key the Service checked a client's signature under
	action   string            // Statement's action, once known, so stores need not parse it
}

// ByClient reports whether the signer made the signature itself, rather
// than the server with the key it holds. A store refuses to record one
// twice.
func (sg *Signed) ByClient() bool { return sg.byClient }

// CheckedKey returns the public key under which the Service checked a
// signature the signer made itself (ByClient), or nil. A store records
// the signature only if that is still the signer's key when the write
// commits: a key registered in between wins (ErrKeyChanged).
func (sg *Signed) CheckedKey() ed25519.PublicKey { return sg.key }

// ErrKeyReleased is the error of a write the server signed with a key
// that its signer took into its own hands while the write was under way.
var ErrKeyReleased = Errorf(ECONFLICT, "Your key became yours alone while this was being written; nothing was written. Sign it with `backchannel sign`.")

// ErrKeyTaken is a store's refusal to register a key that the log binds
// to another signer of the talk already.
var ErrKeyTaken = Errorf(ECONFLICT, "This key is bound to another signer of the talk: generate a key of your own.")

// ErrKeyYours is a store's refusal to register the key a signer has
// already.
var ErrKeyYours = Errorf(ECONFLICT, "This key is yours in this talk already. To take a key the server holds for you, drop the server's copy instead.")

// ErrKeyChanged is the error of a write signed by its signer with a key
// that another key replaced while the write was under way.
var ErrKeyChanged = Errorf(ECONFLICT, "Your key changed while this was being written; nothing was written. Sign it again with your current key.")

func signedMessage(statement []byte) []byte {
	return append([]byte(statementDomain), statement...)
}

// Sign signs st with key.
func Sign(key ed25519.PrivateKey, st *Statement) (*Signed, error) {
	b, err := st.Encode()
	if err != nil {
		return nil, err
	}
	return &Signed{Signer: st.Signer, Statement: b, Sig: ed25519.Sign(key, signedMessage(b)), action: st.Action}, nil
}

// ErrBadSignature is returned by Verify for a signature that does not
// verify.
var ErrBadSignature = errors.New("talks: the signature does not verify")

// Verify reports whether sg is a valid signature of its statement under
// key (ErrBadSignature if not).
func (sg *Signed) Verify(key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, signedMessage(sg.Statement), sg.Sig) {
		return ErrBadSignature
	}
	return nil
}

// ParseStatement decodes sg's statement.
func (sg *Signed) ParseStatement() (*Statement, error) {
	var st Statement
	dec := json.NewDecoder(bytes.NewReader(sg.Statement))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return &st, nil
}

// SignerKey is a signer's Ed25519 key in a talk. Private is nil once the
// signer took the key into its own hands (Holder KeyHolderClient).
type SignerKey struct {
	TalkID    int64
	Signer    string // MemberSigner or StakeholderSigner
	Public    ed25519.PublicKey
	Private   ed25519.PrivateKey
	Holder    string
	CreatedAt time.Time
}

// NewSignerKey generates a key for signer in talk talkID, held by the
// server.
func NewSignerKey(talkID int64, signer string) (*SignerKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &SignerKey{TalkID: talkID, Signer: signer, Public: pub, Private: priv, Holder: KeyHolderServer}, nil
}

// MemberKey is the payload of a member.key event.
type MemberKey struct {
	Signer string `json:"signer"`
	Key    []byte `json:"key"` // the public key, standard base64 in JSON
	Holder string `json:"holder"`
	// Signed is, for a key the signer generated and registered itself,
	// its proof of possession: the signer's signature, by Key, of
	// KeyStatement. Absent for a key the server generated.
	Signed *Signed `json:"signed,omitempty"`
}

// CheckKeyProof reports whether sg proves that the holder of key's private
// half registered it for signer in talk talkID: a valid signature, by
// key, of exactly KeyStatement(talkID, signer, key) at the time it gives.
func CheckKeyProof(talkID int64, signer string, key ed25519.PublicKey, sg *Signed) error {
	if sg.Signer != signer {
		return fmt.Errorf("the proof of the key of %s is signed for %s", signer, sg.Signer)
	}
	if err := matchStatement(KeyStatement(talkID, signer, key), sg); err != nil {
		return fmt.Errorf("the proof of the key of %s: %w", signer, err)
	}
	if sg.Verify(key) != nil {
		return fmt.Errorf("the proof of the key of %s does not verify under that key", signer)
	}
	return nil
}

// SignedEventType returns the event type that records action, or "".
func SignedEventType(action string) string {
	switch action {
	case ActionPropose, ActionCounter:
		return EventVersionProposed
	case ActionAnswer:
		return EventAnswerGiven
	case ActionMandate:
		return EventMandateSaved
	case ActionRatify:
		return EventRatificationGiven
	case ActionConsent:
		return EventDisclosureConsented
	case ActionReopen:
		return EventTalkReopened
	}
	return ""
}

// SignerKind returns the kind of signer ("member" or "stakeholder") an
// event of a signed kind needs, and false for any other event. A counter's
// answer.given is covered by the signature of its version.
func SignerKind(e *Event) (string, bool) {
	switch e.Type {
	case EventVersionProposed, EventMandateSaved, EventDisclosureConsented, EventTalkReopened:
		return "member", true
	case EventRatificationGiven:
		return "stakeholder", true
	case EventAnswerGiven:
		var p AnswerGiven
		if json.Unmarshal(e.Payload, &p) == nil && p.Kind == AnswerCounter {
			return "", false
		}
		return "member", true
	}
	return "", false
}

// EventSignature returns the signature event e carries, or nil.
func EventSignature(e *Event) (*Signed, error) {
	var p struct {
		Signed *Signed `json:"signed"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return p.Signed, nil
}

// withSigned returns payload b (a JSON object) with sg as its "signed"
// field.
func withSigned(b []byte, sg *Signed) ([]byte, error) {
	sb, err := json.Marshal(sg)
	if err != nil {
		return nil, fmt.Errorf("encode signature: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[len(b)-1] != '}' {
		return nil, errors.New("payload is not a JSON object")
	}
	out := append([]byte(nil), b[:len(b)-1]...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"signed":`...)
	out = append(out, sb...)
	return append(out, '}'), nil
}

// SignatureFor returns the signature s carries for an event of type typ,
// or nil.
func (s Stamp) SignatureFor(typ string) *Signed {
	if s.Signed == nil {
		return nil
	}
	action := s.Signed.action
	if action == "" {
		st, err := s.Signed.ParseStatement()
		if err != nil {
			return nil
		}
		action = st.Action
	}
	if SignedEventType(action) != typ {
		return nil
	}
	return s.Signed
}

// ClientSignature is a signature an API client made with a key it holds:
// a statement and its Ed25519 signature (backchannel sign).
type ClientSignature struct {
	Statement json.RawMessage `json:"statement"`
	Sig       []byte          `json:"sig"`
}

type signatureContextKey struct{}

// NewContextWithSignature returns a copy of ctx in which c is the
// signature the acting signer gave for the action it asks for. Service
// checks it against the action and records it instead of signing with the
// key it holds.
func NewContextWithSignature(ctx context.Context, c *ClientSignature) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, signatureContextKey{}, c)
}

func signatureFromContext(ctx context.Context) *ClientSignature {
	c, _ := ctx.Value(signatureContextKey{}).(*ClientSignature)
	return c
}

// keyFileHeader begins a signer's exported key file.
const keyFileHeader = "backchannel member key v1"

// FormatKeyFile returns k's private key as the text file a signer
// exports; origin is the server it came from.
func FormatKeyFile(k *SignerKey, origin string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ntalk: %d\nsigner: %s\norigin: %s\npublic: %s\nseed: %s\n", keyFileHeader,
		k.TalkID, k.Signer, origin, base64.StdEncoding.EncodeToString(k.Public),
		base64.StdEncoding.EncodeToString(k.Private.Seed()))
	return []byte(b.String())
}

// ParseKeyFile parses a key file written by FormatKeyFile, and returns the
// key and the origin it names.
func ParseKeyFile(b []byte) (*SignerKey, string, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 6 || strings.TrimSpace(lines[0]) != keyFileHeader {
		return nil, "", errors.New("talks: not a backchannel member key file (v1)")
	}
	f := map[string]string{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		k = strings.TrimSpace(k)
		switch {
		case !ok:
			return nil, "", fmt.Errorf("talks: key file: bad line %q", l)
		case k != "talk" && k != "signer" && k != "origin" && k != "public" && k != "seed":
			return nil, "", fmt.Errorf("talks: key file: unknown field %q", k)
		}
		if _, dup := f[k]; dup {
			return nil, "", fmt.Errorf("talks: key file: %s given twice", k)
		}
		f[k] = strings.TrimSpace(v)
	}
	talk, err := strconv.ParseInt(f["talk"], 10, 64)
	if err != nil || talk <= 0 {
		return nil, "", errors.New("talks: key file: bad talk")
	}
	seed, err := base64.StdEncoding.DecodeString(f["seed"])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, "", errors.New("talks: key file: bad seed")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	k := &SignerKey{TalkID: talk, Signer: f["signer"], Private: priv, Public: priv.Public().(ed25519.PublicKey), Holder: KeyHolderClient}
	if pub, err := base64.StdEncoding.DecodeString(f["public"]); err != nil || !bytes.Equal(pub, k.Public) {
		return nil, "", errors.New("talks: key file: the public key does not match the seed")
	}
	if !strings.HasPrefix(k.Signer, "member/") && !strings.HasPrefix(k.Signer, "stakeholder/") {
		return nil, "", errors.New("talks: key file: bad signer")
	}
	return k, f["origin"], nil
}

// KeyStore keeps signers' keys. Each write appends member.key in the same
// transaction.
type KeyStore interface {
	// CreateSignerKey stores k, held by the server, and appends member.key
	// (holder server). ECONFLICT if the signer has a key; ENOTFOUND for an
	// unknown talk.
	CreateSignerKey(ctx context.Context, k *SignerKey, s Stamp) error

	// FindSignerKey returns the key of signer in talk talkID, or
	// ENOTFOUND.
	FindSignerKey(ctx context.Context, talkID int64, signer string) (*SignerKey, error)

	// FindSignerKeys returns the keys of every signer of talk talkID, as
	// FindSignerKey returns each, by signer; none is not an error.
	FindSignerKeys(ctx context.Context, talkID int64) ([]*SignerKey, error)

	// Every write whose Stamp carries a signature the server made
	// (not ByClient) returns ErrKeyReleased, inside its transaction and
	// before writing anything, if the signer's key is no longer held
	// by the server: a release that commits between the Service's
	// signing and the write wins.
	//
	// ReleaseSignerKey forgets the private key of signer in talk talkID
	// and appends member.key (holder client). ENOTFOUND if the signer has
	// no key; ECONFLICT if the server no longer holds it.
	ReleaseSignerKey(ctx context.Context, talkID int64, signer string, s Stamp) error

	// RegisterSignerKey binds k.Public, a key its signer generated itself
	// (k.Private nil), to k.Signer in talk k.TalkID in place of any key it
	// had, held by the client, and appends member.key (holder client)
	// carrying proof, the signer's proof of possession, which the Service
	// checked. It records proof's signature as a client signature. In the
	// same transaction, under the lock every write of the talk takes, so
	// that a write signed with the key it replaces is refused
	// (ErrKeyReleased, ErrKeyChanged). ECONFLICT, writing nothing, if the
	// key is bound to a signer of the talk already (this one included) or
	// the proof was recorded before; ENOTFOUND for an unknown talk.
	RegisterSignerKey(ctx context.Context, k *SignerKey, proof *Signed, s Stamp) error
}

// ErrSignatureUsed is what a store returns for a client's signature that
// it recorded before (a replay).
var ErrSignatureUsed = Errorf(ECONFLICT, "This signature was submitted already: sign the action again.")

// ClientSigned returns c, a signature signer made itself, as a store
// records it (refusing it if it recorded it before).
func ClientSigned(c *ClientSignature, signer string) *Signed {
	return &Signed{Signer: signer, Statement: c.Statement, Sig: c.Sig, byClient: true}
}

// SignatureChecker checks the member signatures of one talk's log, fed
// its events in order: each signature must verify under the key the log
// bound to its signer (member.key) at that point, sign exactly the action
// of the event it sits in, by that event's actor; and an event of a signed
// kind whose actor has a key must carry one. Events the checker is not
// fed (outside a member's view) do not matter, as long as it sees every
// member.added and member.key event, which every member sees.
type SignatureChecker struct {
	keys    map[string]ed25519.PublicKey // by signer
	members map[int64]int64              // member ID by user ID
}

// NewSignatureChecker returns a checker at the start of a log.
func NewSignatureChecker() *SignatureChecker {
	return &SignatureChecker{keys: map[string]ed25519.PublicKey{}, members: map[int64]int64{}}
}

// Keys returns the public key the log binds to each signer so far.
func (c *SignatureChecker) Keys() map[string]ed25519.PublicKey { return c.keys }

// Check folds e into the checker. It reports whether e carries a member
// signature, and an error if e fails any rule above.
func (c *SignatureChecker) Check(e *Event) (signed bool, err error) {
	signer, key, ok, err := c.Key(e)
	if !ok || err != nil {
		return false, err
	}
	return CheckSigned(e, signer, key)
}

// Key folds e into the checker, in log order, and, for an event of a
// signed kind, returns the signer it must be signed by (its actor's) and
// the key the log binds to that signer at this point (nil for none yet).
// It does not read the signature: CheckSigned does, and, needing nothing
// from other events, may run for many events in parallel.
func (c *SignatureChecker) Key(e *Event) (signer string, key ed25519.PublicKey, signedKind bool, err error) {
	switch e.Type {
	case EventMemberAdded:
		var p MemberAdded
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return "", nil, false, fmt.Errorf("decode payload: %w", err)
		}
		c.members[p.UserID] = p.MemberID
		return "", nil, false, nil
	case EventMemberKey:
		var p MemberKey
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return "", nil, false, fmt.Errorf("decode payload: %w", err)
		} else if len(p.Key) != ed25519.PublicKeySize {
			return "", nil, false, fmt.Errorf("the key of %s is not an Ed25519 public key", p.Signer)
		}
		c.keys[p.Signer] = p.Key
		if p.Signed != nil {
			// A registered key's proof of possession: it binds the key
			// all the same, so that one bad proof is one failure.
			return "", nil, false, CheckKeyProof(e.TalkID, p.Signer, p.Key, p.Signed)
		}
		return "", nil, false, nil
	case EventVersionProposed, EventMandateSaved, EventDisclosureConsented, EventAnswerGiven, EventTalkReopened:
		signer = MemberSigner(c.members[e.ActorID])
	case EventRatificationGiven:
		signer = StakeholderSigner(e.ActorID)
	default:
		return "", nil, false, nil
	}
	return signer, c.keys[signer], true, nil
}

// CheckSigned checks the member signature of e, an event of a signed kind
// that signer must sign under key (nil if the log binds it none yet), as
// Key returned them. It reports whether e carries a signature.
func CheckSigned(e *Event, signer string, key ed25519.PublicKey) (signed bool, err error) {
	sg, signed, err := CheckSignedStatement(e, signer, key)
	if sg == nil || err != nil {
		return signed, err
	}
	if sg.Verify(key) != nil {
		return true, ErrSignatureMismatch(signer)
	}
	return true, nil
}

// CheckSignedStatement is CheckSigned without the signature's own check:
// if e carries a signature that passes every other check, it returns it,
// for the caller to verify under key (Signed.Message), perhaps with many
// others at once.
func CheckSignedStatement(e *Event, signer string, key ed25519.PublicKey) (sg *Signed, signed bool, err error) {
	want, sg, err := signedPayload(e, signer)
	if err != nil || want == nil {
		return nil, false, err // not of a signed kind, or a counter's answer: its version's signature covers it
	}
	switch {
	case sg == nil && key == nil:
		return nil, false, nil // the signer had no key yet
	case sg == nil:
		return nil, false, fmt.Errorf("no member signature, though the log binds a key to %s", signer)
	case key == nil:
		return nil, true, fmt.Errorf("signed by %s, to whom the log binds no key", sg.Signer)
	case sg.Signer != signer:
		return nil, true, fmt.Errorf("signed by %s, but the event's actor is %s", sg.Signer, signer)
	}
	if err := matchStatement(want, sg); err != nil {
		return nil, true, err
	}
	return sg, true, nil
}

// signedPayload decodes e's payload once, for both the statement its
// action makes for signer (without its time) and the signature it
// carries, if any. want is nil for an event that is not of a signed kind
// (or a counter's answer).
func signedPayload(e *Event, signer string) (want *Statement, sg *Signed, err error) {
	decode := func(p any) error {
		if scanPayload(e.Payload, p) {
			return nil
		}
		if err := json.Unmarshal(e.Payload, p); err != nil {
			return fmt.Errorf("decode payload: %w", err)
		}
		return nil
	}
	switch e.Type {
	case EventVersionProposed:
		var p signedVersion
		if err := decode(&p); err != nil {
			return nil, nil, err
		}
		return VersionStatement(e.TalkID, signer, e.TrackID, p.ParentID, p.Values, p.Clauses, p.Rationale), p.Signed, nil
	case EventAnswerGiven:
		var p signedAnswer
		if err := decode(&p); err != nil {
			return nil, nil, err
		} else if p.Kind == AnswerCounter {
			return nil, nil, nil
		}
		return &Statement{Talk: e.TalkID, Signer: signer, Action: ActionAnswer, Version: p.VersionID, Kind: p.Kind}, p.Signed, nil
	case EventMandateSaved:
		var p signedMandate
		if err := decode(&p); err != nil {
			return nil, nil, err
		}
		return &Statement{Talk: e.TalkID, Signer: signer, Action: ActionMandate, Envoy: p.EnvoyID, Digest: p.Digest}, p.Signed, nil
	case EventRatificationGiven:
		var p signedRatification
		if err := decode(&p); err != nil {
			return nil, nil, err
		}
		return &Statement{Talk: e.TalkID, Signer: signer, Action: ActionRatify, Decision: p.Decision, Comment: p.Comment}, p.Signed, nil
	case EventDisclosureConsented:
		var p signedConsent
		if err := decode(&p); err != nil {
			return nil, nil, err
		}
		return &Statement{Talk: e.TalkID, Signer: signer, Action: ActionConsent, Revision: p.Revision}, p.Signed, nil
	case EventTalkReopened:
		var p struct {
			Signed *Signed `json:"signed"`
		}
		if err := decode(&p); err != nil {
			return nil, nil, err
		}
		return ReopenStatement(e.TalkID, signer), p.Signed, nil
	}
	return nil, nil, nil
}

// matchStatement reports whether sg's statement is want, made at the time
// the statement gives, byte for byte: a signature moved to another event,
// or a statement that differs from its event in any field, fails.
func matchStatement(want *Statement, sg *Signed) error {
	// Only the time comes from the statement: the rest is what the event
	// says, and the bytes must then be equal, which leaves nothing else
	// to check in the statement. Most statements end in the time as
	// Encode writes it: take it from there, and decode only the others.
	if at, ok := statementTime(sg.Statement); ok {
		w := *want
		w.At = at
		if b, err := w.Encode(); err == nil && bytes.Equal(b, sg.Statement) {
			return nil
		}
	}
	return matchStatementJSON(want, sg)
}

// matchStatementJSON is matchStatement decoding the time with
// encoding/json: the reference, and what names a mismatch.
func matchStatementJSON(want *Statement, sg *Signed) error {
	var got struct {
		At string `json:"at"`
	}
	if err := json.Unmarshal(sg.Statement, &got); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	w := *want
	w.At = got.At
	b, err := w.Encode()
	if err != nil {
		return err
	}
	if !bytes.Equal(b, sg.Statement) {
		return errors.New("the signed statement does not match the event")
	}
	return nil
}

// statementTime returns the time at the end of a statement as Encode
// writes it, with nothing escaped, and false for any other form. A
// statement whose bytes are then those of its event's with that time is
// one that decoding it would also have accepted.
func statementTime(st []byte) (string, bool) {
	const key = `,"at":"`
	i := bytes.LastIndex(st, []byte(key))
	if i < 0 || !bytes.HasSuffix(st, []byte(`"}`)) || i+len(key) > len(st)-2 {
		return "", false
	}
	at := st[i+len(key) : len(st)-2]
	if bytes.ContainsAny(at, `"\`) {
		return "", false
	}
	return string(at), true
}

// ErrSignatureMismatch is the error of a signature that does not verify
// under the key the log binds to its signer.
func ErrSignatureMismatch(signer string) error {
	return fmt.Errorf("the signature of %s does not verify under the key the log binds to it", signer)
}

// Message returns the bytes sg's signature signs.
func (sg *Signed) Message() []byte { return signedMessage(sg.Statement) }
