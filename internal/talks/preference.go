package talks

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Private preferences: each party may enter a utility function over the
// talk's outcome space, a weight per issue, a score per value and a
// reserved value, and each save is a new version. They are the most
// confidential thing a talk holds:
//
//   - Only the party's principal, envoys and advisors read them
//     (View.CanReadPreferences); principals and envoys write them. No
//     one else may, not even a facilitator: they get EFORBIDDEN, whether
//     or not the party has entered any.
//   - The engine uses them (Standing, Suggestions), and what it shows a
//     member is its own party's utility only.
//   - Each save appends a preferences.saved event, whose payload is only
//     the party, the version and a salted SHA-256 digest of the
//     preferences: it commits to them without revealing them, and the
//     salt never leaves storage. The event is party-scoped: only those
//     who may read the preferences see it (View.CanSeeEvent), so other
//     parties do not learn when, or how often, a party changes its mind.
//     They do see a gap in the event numbers, as for any event they may
//     not see.
//   - The preferences themselves are not in the log, so Project records
//     only the digests; the store keeps the preferences beside the log.

// EventPreferencesSaved is the type of the event a save of preferences
// appends. It is party-scoped (see CanSeeEvent).
const EventPreferencesSaved = "preferences.saved"

// partyScoped lists the event types whose payload has a party_id and
// that only those who may read that party's preferences may see.
var partyScoped = map[string]bool{EventPreferencesSaved: true, EventMandateSaved: true}

// Limits on preferences.
const (
	MaxPreferenceValues = 100_000 // scores, over all issues
	MaxProfileLen       = 4 << 20 // an imported GENIUS or GeniusWeb file (profile or domain)
)

// Preferences is one version of a party's utility function over its talk's
// outcome space. The utility of an outcome is the sum over issues of
// weight/Σweights · score/max score of the issue, so it lies in [0, 1]:
// weights are relative, and within an issue the best value counts as 1
// (as in GENIUS). An issue whose scores are all 0 adds nothing.
type Preferences struct {
	TalkID  int64
	PartyID int64
	Version int64 // 1, 2, ... per party

	Weights  map[string]float64            // by issue name, each ≥ 0, not all 0
	Scores   map[string]map[string]float64 // by issue, then value; each ≥ 0
	Reserved float64                       // the utility of no agreement, in [0, 1]

	// Salt is random and Digest = PreferencesDigest(Salt, body); the event
	// carries only Digest.
	Salt   []byte
	Digest [32]byte

	CreatedBy int64 // the user who saved it
	CreatedAt time.Time
}

// PreferencesBody is what a Preferences version says, in its canonical
// JSON form (encoding/json sorts map keys).
type PreferencesBody struct {
	Weights  map[string]float64            `json:"weights"`
	Scores   map[string]map[string]float64 `json:"scores"`
	Reserved float64                       `json:"reserved"`
}

// Body returns p's canonical encoding.
func (p *Preferences) Body() []byte {
	b, err := json.Marshal(PreferencesBody{Weights: p.Weights, Scores: p.Scores, Reserved: p.Reserved})
	if err != nil { // only finite numbers reach here (Validate)
		panic(fmt.Sprintf("talks: encode preferences: %v", err))
	}
	return b
}

// PreferencesDigest returns SHA-256 of a domain tag, salt and body.
func PreferencesDigest(salt, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("backchannel/preferences/v1\n"))
	h.Write(salt)
	h.Write(body)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// PreferencesSaved is the payload of a preferences.saved event: no weight,
// score or reserved value, only a commitment to them.
type PreferencesSaved struct {
	PartyID int64  `json:"party_id"`
	Version int64  `json:"version"`
	Digest  string `json:"digest"` // hex
}

// PreferencesStamp is what the log says of one saved version.
type PreferencesStamp struct {
	PartyID   int64
	Version   int64
	Digest    [32]byte
	CreatedBy int64
	CreatedAt time.Time
}

// Stamp returns what the log says of p.
func (p *Preferences) Stamp() *PreferencesStamp {
	return &PreferencesStamp{PartyID: p.PartyID, Version: p.Version, Digest: p.Digest, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt}
}

// PreferenceStore persists preferences. It is part of Store, with the same
// contract.
type PreferenceStore interface {
	// SavePreferences stores p as the next version of party p.PartyID's
	// preferences in talk p.TalkID, appending preferences.saved with
	// p.Digest, and sets p.Version and p.CreatedAt (s.Time), p.CreatedBy
	// (s.ActorID). ENOTFOUND for an unknown talk; EINVALID if the party
	// is not one of the talk's.
	SavePreferences(ctx context.Context, p *Preferences, s Stamp) error

	// FindPreferences returns every version of party partyID's
	// preferences in talk talkID, oldest first; none is not an error.
	FindPreferences(ctx context.Context, talkID, partyID int64) ([]*Preferences, error)

	// FindLatestPreferences returns the latest version of each party's
	// preferences in talk talkID, by party ID ascending, leaving out
	// parties that have none.
	FindLatestPreferences(ctx context.Context, talkID int64) ([]*Preferences, error)
}

// Validate reports an EINVALID error, naming the issue and value, unless p
// fits space exactly: a finite weight ≥ 0 for every issue and not all 0,
// a finite score ≥ 0 for every value of every issue, nothing else, and a
// reserved value in [0, 1].
func (p *Preferences) Validate(space *outcome.Space) error {
	if space == nil {
		return Errorf(EINVALID, "The talk has no outcome space yet.")
	}
	ok := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }
	var sum float64
	n := 0
	for _, is := range space.Issues {
		w, found := p.Weights[is.Name]
		if !found {
			return Errorf(EINVALID, "Weight of issue %q required.", is.Name)
		} else if !ok(w) {
			return Errorf(EINVALID, "Weight of issue %q must be a number ≥ 0.", is.Name)
		}
		sum += w
		sc := p.Scores[is.Name]
		for i := range is.Len() {
			val := is.Value(i)
			s, found := sc[val]
			if !found {
				return Errorf(EINVALID, "Score of %q for issue %q required.", val, is.Name)
			} else if !ok(s) {
				return Errorf(EINVALID, "Score of %q for issue %q must be a number ≥ 0.", val, is.Name)
			}
		}
		if len(sc) != is.Len() {
			for val := range sc {
				if _, err := is.Index(val); err != nil {
					return Errorf(EINVALID, "Issue %q has no value %q.", is.Name, val)
				}
			}
		}
		if n += len(sc); n > MaxPreferenceValues {
			return Errorf(EINVALID, "More than %d scores.", MaxPreferenceValues)
		}
	}
	for name := range p.Weights {
		if space.IssueIndex(name) < 0 {
			return Errorf(EINVALID, "Weight for unknown issue %q.", name)
		}
	}
	for name := range p.Scores {
		if space.IssueIndex(name) < 0 {
			return Errorf(EINVALID, "Scores for unknown issue %q.", name)
		}
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return Errorf(EINVALID, "At least one issue must have a weight above 0.")
	}
	if !(p.Reserved >= 0 && p.Reserved <= 1) {
		return Errorf(EINVALID, "Reserved value must be between 0 and 1.")
	}
	return nil
}

// Func returns p as a utility function over space, which p must fit
// (Validate).
func (p *Preferences) Func(space *outcome.Space) (*utility.LinearAdditive, error) {
	var sum float64
	for _, is := range space.Issues {
		sum += p.Weights[is.Name]
	}
	weights := make([]float64, len(space.Issues))
	evs := make([]utility.Evaluator, len(space.Issues))
	for i, is := range space.Issues {
		weights[i] = p.Weights[is.Name] / sum
		u := make([]float64, is.Len())
		var hi float64
		for j := range u {
			u[j] = p.Scores[is.Name][is.Value(j)]
			hi = max(hi, u[j])
		}
		for j := range u {
			if hi > 0 {
				u[j] = min(1, u[j]/hi)
			}
		}
		evs[i] = utility.Scores{Utilities: u}
	}
	f, err := utility.NewLinearAdditive(space, weights, evs)
	if err != nil {
		return nil, Errorf(EINVALID, "Preferences do not fit the outcome space: %v.", err)
	}
	return f, nil
}

// File formats accepted by ImportPreferences (a profile) and ImportSpace
// (a domain).
const (
	FormatGenius    = "genius"    // GENIUS XML: <utility_space>, <negotiation_template>
	FormatGeniusWeb = "geniusweb" // GeniusWeb JSON: LinearAdditiveUtilitySpace, a domain
)

// formatOf returns format, or if it is "", the format that data's first
// character suggests: GeniusWeb JSON for '{', GENIUS XML otherwise.
func formatOf(format string, data []byte) string {
	if format != "" {
		return format
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return FormatGeniusWeb
	}
	return FormatGenius
}

// ImportSpace reads a talk's outcome space from a GENIUS XML or GeniusWeb
// JSON domain file (format FormatGenius or FormatGeniusWeb; "" guesses
// from the first character), through the engine (package genius). EINVALID
// with the parser's message, which names the line or field, if the file
// does not parse.
func ImportSpace(format string, data []byte) (*outcome.Space, error) {
	if len(data) > MaxProfileLen {
		return nil, Errorf(EINVALID, "Domain larger than %d bytes.", MaxProfileLen)
	}
	var sp *outcome.Space
	var err error
	switch format = formatOf(format, data); format {
	case FormatGenius:
		sp, err = genius.ReadDomain(bytes.NewReader(data))
	case FormatGeniusWeb:
		sp, err = genius.ReadWebDomain(bytes.NewReader(data))
	default:
		return nil, Errorf(EINVALID, "Domain format %q is not %q or %q.", format, FormatGenius, FormatGeniusWeb)
	}
	if err != nil {
		return nil, Errorf(EINVALID, "Domain: %s", strings.TrimPrefix(err.Error(), "genius: "))
	}
	return sp, nil
}

// ImportPreferences reads a GENIUS XML or GeniusWeb JSON profile of space
// (format FormatGenius or FormatGeniusWeb; "" guesses from the first
// character) and returns it as preferences with the same utility for every
// outcome, up to the normalisation of the weights. EINVALID with the
// parser's message, which names the line or field, if the file does not
// parse, does not fit space, or is not linear additive.
func ImportPreferences(space *outcome.Space, format string, data []byte) (*Preferences, error) {
	if space == nil {
		return nil, Errorf(EINVALID, "The talk has no outcome space yet.")
	} else if len(data) > MaxProfileLen {
		return nil, Errorf(EINVALID, "Profile larger than %d bytes.", MaxProfileLen)
	}
	var prof *utility.Profile
	var err error
	switch format = formatOf(format, data); format {
	case FormatGenius:
		prof, err = genius.ReadProfile(bytes.NewReader(data), space)
	case FormatGeniusWeb:
		prof, err = genius.ReadWebProfile(bytes.NewReader(data), space)
	default:
		return nil, Errorf(EINVALID, "Profile format %q is not %q or %q.", format, FormatGenius, FormatGeniusWeb)
	}
	if err != nil {
		return nil, Errorf(EINVALID, "Profile: %s", strings.TrimPrefix(err.Error(), "genius: "))
	}
	add, ok := prof.Func.(utility.Additive)
	if !ok {
		return nil, Errorf(EINVALID, "Profile: only linear additive profiles can be imported.")
	}
	p := &Preferences{Weights: map[string]float64{}, Scores: map[string]map[string]float64{}, Reserved: min(1, max(0, prof.Reserved))}
	for i, terms := range add.Terms() {
		is := space.Issues[i]
		var hi float64
		for _, t := range terms {
			if t < 0 {
				return nil, Errorf(EINVALID, "Profile: issue %q has a negative utility.", is.Name)
			}
			hi = max(hi, t)
		}
		p.Weights[is.Name] = hi
		sc := make(map[string]float64, len(terms))
		for j, t := range terms {
			if hi > 0 {
				sc[is.Value(j)] = t / hi
			} else {
				sc[is.Value(j)] = 0
			}
		}
		p.Scores[is.Name] = sc
	}
	if err := p.Validate(space); err != nil {
		return nil, err
	}
	return p, nil
}

// CanReadPreferences reports whether the member may read party partyID's
// preferences and what the engine derives from them for that party: its
// principal, envoys and advisors may; no one else.
func (v *View) CanReadPreferences(partyID int64) bool {
	if partyID == 0 || v.Member.PartyID != partyID {
		return false
	}
	switch v.Member.Role {
	case RolePrincipal, RoleEnvoy, RoleAdvisor:
		return true
	}
	return false
}

// CanWritePreferences reports whether the member may save party partyID's
// preferences: its principal and envoys may.
func (v *View) CanWritePreferences(partyID int64) bool {
	return v.CanReadPreferences(partyID) && v.Member.Role != RoleAdvisor
}

// eventParty returns the party of a party-scoped event.
func eventParty(e *Event) (int64, bool) {
	if !partyScoped[e.Type] {
		return 0, false
	}
	var p struct {
		PartyID int64 `json:"party_id"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return -1, true // seen by no one
	}
	return p.PartyID, true
}

var errPreferencesForbidden = Errorf(EFORBIDDEN, "Only the party's principal, envoys and advisors may see its preferences.")

func (s *Service) checkParty(ctx context.Context, v *View, partyID int64) error {
	parties, err := s.store.FindParties(ctx, PartyFilter{TalkID: v.Talk.ID})
	if err != nil {
		return err
	}
	for _, p := range parties {
		if p.ID == partyID {
			return nil
		}
	}
	return Errorf(ENOTFOUND, "Party not found.")
}

// SavePreferences saves p as the next version of party p.PartyID's
// preferences in talk p.TalkID. The party's principal and envoys may;
// its advisors get EFORBIDDEN, and so does everyone else. EINVALID
// unless p fits the talk's outcome space (Validate). It sets p.Version,
// p.Salt, p.Digest, p.CreatedBy and p.CreatedAt.
func (s *Service) SavePreferences(ctx context.Context, p *Preferences) error {
	return withFreshView(ctx, func(ctx context.Context) error { return s.savePreferences(ctx, p) })
}

func (s *Service) savePreferences(ctx context.Context, p *Preferences) error {
	v, err := s.View(ctx, p.TalkID)
	if err != nil {
		return err
	}
	if err := s.checkParty(ctx, v, p.PartyID); err != nil {
		return err
	}
	if !v.CanWritePreferences(p.PartyID) {
		if v.CanReadPreferences(p.PartyID) {
			return Errorf(EFORBIDDEN, "Only the party's principal and envoys may change its preferences.")
		}
		return errPreferencesForbidden
	}
	if err := p.Validate(v.Talk.Space); err != nil {
		return err
	}
	p.Salt = make([]byte, 32)
	rand.Read(p.Salt)
	p.Digest = PreferencesDigest(p.Salt, p.Body())
	return s.store.SavePreferences(ctx, p, s.stamp(v))
}

// FindPreferences returns every version of party partyID's preferences in
// talk talkID, oldest first, to the party's principal, envoys and
// advisors; EFORBIDDEN for anyone else in the talk.
func (s *Service) FindPreferences(ctx context.Context, talkID, partyID int64) ([]*Preferences, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return nil, err
	}
	if err := s.checkParty(ctx, v, partyID); err != nil {
		return nil, err
	}
	if !v.CanReadPreferences(partyID) {
		return nil, errPreferencesForbidden
	}
	return s.store.FindPreferences(ctx, talkID, partyID)
}

// DigestHex returns d in hex, as events carry it.
func DigestHex(d [32]byte) string { return hex.EncodeToString(d[:]) }

// SetBody sets p's weights, scores and reserved value from its canonical
// encoding, as a Store reads it back.
func (p *Preferences) SetBody(body []byte) error {
	var b PreferencesBody
	if err := json.Unmarshal(body, &b); err != nil {
		return fmt.Errorf("decode preferences: %w", err)
	}
	p.Weights, p.Scores, p.Reserved = b.Weights, b.Scores, b.Reserved
	return nil
}

// OwnParty returns the party whose preferences the acting member may read
// in talk talkID (write: may save): its own, if it is the party's
// principal, envoy or (to read) advisor. EFORBIDDEN for anyone else.
func (s *Service) OwnParty(ctx context.Context, talkID int64, write bool) (int64, error) {
	v, err := s.View(ctx, talkID)
	if err != nil {
		return 0, err
	}
	if !v.CanReadPreferences(v.Member.PartyID) {
		return 0, errPreferencesForbidden
	} else if write && !v.CanWritePreferences(v.Member.PartyID) {
		return 0, Errorf(EFORBIDDEN, "Only the party's principal and envoys may change its preferences.")
	}
	return v.Member.PartyID, nil
}
