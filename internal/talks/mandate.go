package talks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/backchannel/backchannel/outcome"
)

// Mandates: a principal limits what each of its party's envoys may put on
// the table or accept (issue 6, part 4). A limit is a set of allowed
// values per issue, a minimum utility under the party's latest
// preferences, or both.
//
//   - One mandate per envoy, replaced as a whole by each save; its
//     Version counts the saves (1, 2, ...). Saving a mandate with no limit
//     lifts every limit. Only the current mandate is kept: the log
//     records each change as a mandate.saved event, whose payload is the
//     party, the envoy, the version and a salted digest, never the
//     limits.
//   - Only the party's principal sets mandates. The principal and the
//     party's advisors read all of the party's mandates (advisors counsel
//     the principal, and already read its preferences); an envoy reads
//     only its own, so that it knows its limits. No one else may, not a
//     facilitator and not another party (EFORBIDDEN, as for preferences).
//   - mandate.saved is party-scoped (partyScoped): only the party's
//     principal, envoys and advisors see it.
//   - The Service checks an envoy's new proposal, counter-proposal and
//     acceptance against its mandate before anything is written
//     (checkMandate); a principal is not limited.

// EventMandateSaved is the type of the event a save of a mandate appends.
// It is party-scoped (see CanSeeEvent).
const EventMandateSaved = "mandate.saved"

// Mandate is the current limits a principal set for one envoy of its
// party.
type Mandate struct {
	TalkID  int64
	PartyID int64
	EnvoyID int64 // the envoy's member ID
	Version int64 // 1, 2, ... per envoy; 0 for an envoy without a mandate

	// Allowed lists, by issue name, the values the envoy may propose or
	// accept, in the order of the issue's values; an issue not listed is
	// not limited.
	Allowed map[string][]string

	// MinUtility, if set, is the least utility under the party's latest
	// preferences that the envoy may propose or accept, in [0, 1].
	MinUtility *float64

	// Salt is random and Digest = MandateDigest(Salt, body); the event
	// carries only Digest.
	Salt   []byte
	Digest [32]byte

	UpdatedBy int64 // the user who saved it
	UpdatedAt time.Time
}

// MandateBody is what a Mandate says, in its canonical JSON form.
type MandateBody struct {
	Allowed    map[string][]string `json:"allowed"`
	MinUtility *float64            `json:"min_utility,omitempty"`
}

// Body returns m's canonical encoding.
func (m *Mandate) Body() []byte {
	allowed := m.Allowed
	if allowed == nil {
		allowed = map[string][]string{}
	}
	b, err := json.Marshal(MandateBody{Allowed: allowed, MinUtility: m.MinUtility})
	if err != nil { // only finite numbers reach here (Validate)
		panic(fmt.Sprintf("talks: encode mandate: %v", err))
	}
	return b
}

// SetBody sets m's limits from its canonical encoding.
func (m *Mandate) SetBody(b []byte) error {
	var body MandateBody
	if err := json.Unmarshal(b, &body); err != nil {
		return fmt.Errorf("decode mandate: %w", err)
	}
	m.Allowed, m.MinUtility = body.Allowed, body.MinUtility
	if m.Allowed == nil {
		m.Allowed = map[string][]string{}
	}
	return nil
}

// Limited reports whether m sets any limit.
func (m *Mandate) Limited() bool { return len(m.Allowed) > 0 || m.MinUtility != nil }

// MandateDigest returns SHA-256 of a domain tag, salt and body.
func MandateDigest(salt, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("backchannel/mandate/v1\n"))
	h.Write(salt)
	h.Write(body)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// MandateSaved is the payload of a mandate.saved event: no limit, only a
// commitment to them.
type MandateSaved struct {
	PartyID int64  `json:"party_id"`
	EnvoyID int64  `json:"envoy_id"`
	Version int64  `json:"version"`
	Digest  string `json:"digest"` // hex
}

// MandateStamp is what the log says of one save of a mandate.
type MandateStamp struct {
	PartyID   int64
	EnvoyID   int64
	Version   int64
	Digest    [32]byte
	UpdatedBy int64
	UpdatedAt time.Time
}

// Stamp returns what the log says of m.
func (m *Mandate) Stamp() *MandateStamp {
	return &MandateStamp{PartyID: m.PartyID, EnvoyID: m.EnvoyID, Version: m.Version, Digest: m.Digest, UpdatedBy: m.UpdatedBy, UpdatedAt: m.UpdatedAt}
}

// MandateStore persists mandates. It is part of Store, with the same
// contract.
type MandateStore interface {
	// SaveMandate replaces the mandate of envoy m.EnvoyID of party
	// m.PartyID in talk m.TalkID with m, appending mandate.saved with
	// m.Digest, and sets m.Version (the previous version + 1),
	// m.UpdatedBy (s.ActorID) and m.UpdatedAt (s.Time). ENOTFOUND for an
	// unknown talk; EINVALID if the member is not an envoy of the party
	// in the talk.
	SaveMandate(ctx context.Context, m *Mandate, s Stamp) error

	// FindMandates returns the current mandates of party partyID's
	// envoys in talk talkID, by envoy ID ascending, leaving out envoys
	// that have none; none is not an error.
	FindMandates(ctx context.Context, talkID, partyID int64) ([]*Mandate, error)
}

// Validate reports an EINVALID error, naming the issue and value, unless
// m's limits fit space: known issues, known values, at least one allowed
// value per listed issue, and a minimum utility in [0, 1]. It puts each
// issue's allowed values in the order of the issue and drops duplicates.
func (m *Mandate) Validate(space *outcome.Space) error {
	if space == nil {
		return Errorf(EINVALID, "The talk has no outcome space yet.")
	}
	for name := range m.Allowed {
		if space.IssueIndex(name) < 0 {
			return Errorf(EINVALID, "Mandate names unknown issue %q.", name)
		}
	}
	for _, is := range space.Issues { // in order, so that errors are stable
		vals, ok := m.Allowed[is.Name]
		if !ok {
			continue
		} else if len(vals) == 0 {
			return Errorf(EINVALID, "Mandate allows no value of issue %q: allow at least one, or leave the issue open.", is.Name)
		}
		idx := make([]int, 0, len(vals))
		for _, val := range vals {
			j, err := is.Index(val)
			if err != nil {
				return Errorf(EINVALID, "Issue %q has no value %q.", is.Name, val)
			}
			idx = append(idx, j)
		}
		slices.Sort(idx)
		idx = slices.Compact(idx)
		out := make([]string, len(idx))
		for k, j := range idx {
			out[k] = is.Value(j)
		}
		m.Allowed[is.Name] = out
	}
	if u := m.MinUtility; u != nil && (math.IsNaN(*u) || *u < 0 || *u > 1) {
		return Errorf(EINVALID, "Minimum utility must be between 0 and 1.")
	}
	return nil
}

// CanReadMandate reports whether the member may read the mandate of
// envoy envoyID of party partyID: the party's principal and advisors
// may, and the envoy itself.
func (v *View) CanReadMandate(partyID, envoyID int64) bool {
	if !v.CanReadPreferences(partyID) {
		return false
	}
	return v.Member.Role != RoleEnvoy || v.Member.ID == envoyID
}

// CanWriteMandates reports whether the member may set the mandates of
// party partyID's envoys: its principal may.
func (v *View) CanWriteMandates(partyID int64) bool {
	return v.CanReadPreferences(partyID) && v.Member.Role == RolePrincipal
}

var (
	errMandatesForbidden = Errorf(EFORBIDDEN, "Only the party's principal, advisors and envoys may see its mandates.")
	errEnvoyNotFound     = Errorf(ENOTFOUND, "Envoy not found.")
)

// envoyOf returns member envoyID if it is an envoy of party partyID in
// v's talk, or ENOTFOUND.
func envoyOf(v *View, partyID, envoyID int64) (*Member, error) {
	m := v.snap.member(envoyID)
	if m == nil || m.Role != RoleEnvoy || m.PartyID != partyID || partyID == 0 {
		return nil, errEnvoyNotFound
	}
	return m, nil
}

// Envoys returns the envoys of party partyID whose mandates the member
// may read, by member ID ascending.
func (v *View) Envoys(partyID int64) []*Member {
	var a []*Member
	for _, m := range v.snap.members {
		if m.Role == RoleEnvoy && m.PartyID == partyID && v.CanReadMandate(partyID, m.ID) {
			c := *m
			a = append(a, &c)
		}
	}
	slices.SortFunc(a, func(x, y *Member) int { return int(x.ID - y.ID) })
	return a
}

// SaveMandate replaces the mandate of envoy m.EnvoyID of party m.PartyID
// in talk m.TalkID. Only the party's principal may: its envoys and
// advisors get EFORBIDDEN, and so does everyone else in the talk.
// ENOTFOUND if the member is not an envoy of the party. EINVALID unless
// the limits fit the talk's outcome space (Validate), or if a minimum
// utility is set while the party has no preferences. It sets m.Version,
// m.Salt, m.Digest, m.UpdatedBy and m.UpdatedAt.
func (s *Service) SaveMandate(ctx context.Context, m *Mandate) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.saveMandate(ctx, m) })
}

func (s *Service) saveMandate(ctx context.Context, m *Mandate) error {
	v, err := s.View(ctx, m.TalkID)
	if err != nil {
		return err
	}
	if err := s.checkParty(ctx, v, m.PartyID); err != nil {
		return err
	}
	if !v.CanWriteMandates(m.PartyID) {
		if v.CanReadPreferences(m.PartyID) {
			return Errorf(EFORBIDDEN, "Only the party's principal sets its envoys' mandates.")
		}
		return errMandatesForbidden
	}
	if _, err := envoyOf(v, m.PartyID, m.EnvoyID); err != nil {
		return err
	}
	if m.Allowed == nil {
		m.Allowed = map[string][]string{}
	}
	if err := m.Validate(v.Talk.Space); err != nil {
		return err
	}
	if m.MinUtility != nil {
		ps, err := s.store.FindPreferences(ctx, m.TalkID, m.PartyID)
		if err != nil {
			return err
		} else if len(ps) == 0 {
			return Errorf(EINVALID, "A minimum utility needs the party's preferences: enter them first.")
		}
	}
	if len(m.Salt) != 32 || signatureFromContext(ctx) == nil {
		// A signer that signs itself chose the salt of the digest it
		// signed; otherwise the server picks it.
		m.Salt = make([]byte, 32)
		rand.Read(m.Salt)
	}
	m.Digest = MandateDigest(m.Salt, m.Body())
	stamp := s.stamp(v)
	st := &Statement{Talk: v.Talk.ID, Signer: MemberSigner(v.Member.ID), Action: ActionMandate, Envoy: m.EnvoyID, Digest: DigestHex(m.Digest)}
	if err := s.signAction(ctx, v.snap, st, &stamp); err != nil {
		return err
	}
	return s.store.SaveMandate(ctx, m, stamp)
}

// FindMandate returns the mandate of envoy envoyID of party partyID in
// talk talkID, or one with Version 0 and no limit if none was set. The
// party's principal and advisors, and the envoy itself, may; EFORBIDDEN
// for anyone else in the talk. ENOTFOUND if the member is not an envoy of
// the party.
func (s *Service) FindMandate(ctx context.Context, talkID, partyID, envoyID int64) (*Mandate, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	if err := s.checkParty(ctx, v, partyID); err != nil {
		return nil, err
	}
	if !v.CanReadPreferences(partyID) {
		return nil, errMandatesForbidden
	}
	if _, err := envoyOf(v, partyID, envoyID); err != nil {
		return nil, err
	} else if !v.CanReadMandate(partyID, envoyID) {
		return nil, Errorf(EFORBIDDEN, "An envoy sees only its own mandate.")
	}
	return s.findMandate(ctx, talkID, partyID, envoyID)
}

func (s *Service) findMandate(ctx context.Context, talkID, partyID, envoyID int64) (*Mandate, error) {
	ms, err := s.store.FindMandates(ctx, talkID, partyID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.EnvoyID == envoyID {
			return m, nil
		}
	}
	return noMandate(talkID, partyID, envoyID), nil
}

// noMandate returns the mandate of an envoy that has none: no limits.
func noMandate(talkID, partyID, envoyID int64) *Mandate {
	return &Mandate{TalkID: talkID, PartyID: partyID, EnvoyID: envoyID, Allowed: map[string][]string{}}
}

// FindMandates returns the mandates of party partyID's envoys that the
// member may read, one per envoy by member ID ascending (Version 0 for an
// envoy without one): all of them for the principal and advisors, its
// own for an envoy. EFORBIDDEN for anyone outside the party.
func (s *Service) FindMandates(ctx context.Context, talkID, partyID int64) ([]*Mandate, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	if err := s.checkParty(ctx, v, partyID); err != nil {
		return nil, err
	}
	if !v.CanReadPreferences(partyID) {
		return nil, errMandatesForbidden
	}
	ms, err := s.store.FindMandates(ctx, talkID, partyID)
	if err != nil {
		return nil, err
	}
	out := []*Mandate{}
	for _, e := range v.Envoys(partyID) {
		i := slices.IndexFunc(ms, func(m *Mandate) bool { return m.EnvoyID == e.ID })
		if i >= 0 {
			out = append(out, ms[i])
		} else {
			out = append(out, noMandate(talkID, partyID, e.ID))
		}
	}
	return out, nil
}

// MandateError is the refusal of an envoy's proposal or acceptance
// outside its mandate: it wraps an EFORBIDDEN *Error whose Message names
// the limit. Issue is the issue whose allowed values the outcome leaves,
// or "" for the minimum utility, so that a form can show it next to the
// field.
type MandateError struct {
	Err   *Error
	Issue string
}

// Error implements the error interface.
func (e *MandateError) Error() string { return e.Err.Error() }

// Unwrap returns the *Error, so that ErrorCode and ErrorMessage see it.
func (e *MandateError) Unwrap() error { return e.Err }

// MandateIssue returns the issue a refusal by mandate names ("" for the
// minimum utility), and whether err is such a refusal.
func MandateIssue(err error) (string, bool) {
	var me *MandateError
	if errors.As(err, &me) {
		return me.Issue, true
	}
	return "", false
}

// orList joins values as "a, b or c".
func orList(a []string) string {
	if len(a) <= 1 {
		return strings.Join(a, "")
	}
	return strings.Join(a[:len(a)-1], ", ") + " or " + a[len(a)-1]
}

// checkMandate refuses, with a *MandateError, an outcome that the acting
// member may not propose or accept under its mandate. Only envoys have
// mandates; for anyone else it returns nil, nil. For an envoy within its
// mandate it returns what it read, for the write's Stamp, so that the
// store can refuse the write if the mandate or the preferences it was
// measured by changed in the meantime. The limits are checked in the
// order of the talk's issues, then the minimum utility. values must be an
// outcome of the talk's space (checkVersion).
func (s *Service) checkMandate(ctx context.Context, v *View, values map[string]string) (*MandateRead, error) {
	if v.Member.Role != RoleEnvoy || v.Member.PartyID == 0 {
		return nil, nil
	}
	m, err := s.envoyMandate(ctx, v)
	if err != nil {
		return nil, err
	}
	read := &MandateRead{TalkID: v.Talk.ID, PartyID: v.Member.PartyID, EnvoyID: v.Member.ID, Version: m.Version}
	if !m.Limited() {
		return read, nil
	}
	space := v.Talk.Space
	for _, is := range space.Issues {
		allowed, ok := m.Allowed[is.Name]
		if ok && !slices.Contains(allowed, values[is.Name]) {
			return nil, &MandateError{Err: Errorf(EFORBIDDEN, "Your mandate allows %s: %s.", is.Name, orList(allowed)), Issue: is.Name}
		}
	}
	if m.MinUtility == nil {
		return read, nil
	}
	ps, err := s.store.FindPreferences(ctx, v.Talk.ID, v.Member.PartyID)
	if err != nil {
		return nil, err
	} else if len(ps) == 0 {
		return nil, &MandateError{Err: Errorf(EFORBIDDEN, "Your mandate sets a minimum utility, but your party has no preferences to measure it by.")}
	}
	latest := ps[len(ps)-1]
	f, err := latest.Func(space)
	if err != nil {
		return nil, err
	}
	o, err := space.Parse(values)
	if err != nil {
		return nil, invalidOutcome("outcome", err)
	}
	if u := f.Utility(o); u < *m.MinUtility {
		return nil, &MandateError{Err: Errorf(EFORBIDDEN, "This is below the minimum utility your principal set (%.2f): its utility to your party is %.2f.", *m.MinUtility, u)}
	}
	read.Preferences = latest.Version
	return read, nil
}

// envoyMandate returns the mandate of v's member, an envoy, from v's
// snapshot if kept there, else from the store. The caller must not change
// it.
//
// A read from the store reads the mandates of every envoy of the party
// (MandateStore.FindMandates), and the snapshot keeps them all, an
// envoy without one as an empty mandate: so a party's mandates are read
// once a snapshot, not once an envoy. When many envoys write for the first
// time at once, as after a start, each read costs a round trip to the
// database and its work there, which delays every write queued meanwhile
// (docs/benchmarks.md).
func (s *Service) envoyMandate(ctx context.Context, v *View) (*Mandate, error) {
	c := v.snap.mandates
	if c == nil {
		return s.findMandate(ctx, v.Talk.ID, v.Member.PartyID, v.Member.ID)
	}
	if m, ok := c.Load(v.Member.ID); ok {
		return m.(*Mandate), nil
	}
	ms, err := s.store.FindMandates(ctx, v.Talk.ID, v.Member.PartyID)
	if err != nil {
		return nil, err
	}
	byEnvoy := make(map[int64]*Mandate, len(ms))
	for _, m := range ms {
		byEnvoy[m.EnvoyID] = m
	}
	keep := func(id int64) *Mandate {
		m := byEnvoy[id]
		if m == nil {
			m = noMandate(v.Talk.ID, v.Member.PartyID, id)
		}
		kept, _ := c.LoadOrStore(id, m)
		return kept.(*Mandate)
	}
	for id, m := range v.snap.members {
		if m.PartyID == v.Member.PartyID && m.Role == RoleEnvoy && id != v.Member.ID {
			keep(id)
		}
	}
	return keep(v.Member.ID), nil
}

// MandateParty returns the acting member's party in talk talkID, whose
// mandates it may ask about: EFORBIDDEN unless it is a principal, envoy
// or advisor of a party.
func (s *Service) MandateParty(ctx context.Context, talkID int64) (int64, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return 0, err
	}
	if !v.CanReadPreferences(v.Member.PartyID) {
		return 0, errMandatesForbidden
	}
	return v.Member.PartyID, nil
}

// CheckMandateRead returns ECONFLICT unless mandate and prefs, the
// versions of the envoy's mandate and its party's latest preferences that
// a store reads inside a write's transaction, are those r names. It is
// for stores (Stamp.Mandate).
func CheckMandateRead(r *MandateRead, mandate, prefs int64) error {
	if mandate != r.Version {
		return ErrMandateChanged
	} else if r.Preferences != 0 && prefs != r.Preferences {
		return ErrPreferencesChanged
	}
	return nil
}

// The errors of CheckMandateRead.
var (
	ErrMandateChanged     = Errorf(ECONFLICT, "Your mandate changed while this was being written; nothing was written. Check it and try again.")
	ErrPreferencesChanged = Errorf(ECONFLICT, "Your party's preferences, by which your mandate is measured, changed while this was being written; nothing was written. Try again.")
)
