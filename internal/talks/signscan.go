package talks

import (
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// The fast path of checking a signed event. Verifying a log decodes the
// payload of every signed event, and encoding/json spends several
// microseconds on each, more than the rest of the check. scanPayload reads
// the payloads the service writes in one pass, in place: an object of the
// payload's own fields (integers, strings, maps of strings) and "signed",
// in any order and with any white space.
//
// scanPayload never decides that a payload is malformed: at anything it
// does not expect it gives up, and signedPayload decodes the payload with
// encoding/json instead, which accepts what it accepted before and says
// what is wrong. So scanPayload must accept only payloads that
// json.Unmarshal accepts, and decode them to the same values;
// FuzzScanPayload checks both. It gives up on, among others: a field that
// is not the payload type's (json.Unmarshal ignores unknown fields, and
// matches names in any case), a repeated field or map key, null, escapes
// in strings, text that is not UTF-8, and numbers that are not plain
// integers of up to 18 digits. A field added to a payload type must be
// added here too, or every payload that has it takes the slow path
// (TestScanPayloadFastPath notices).

// The payloads of the signed kinds of event, with the signature they carry.
type (
	signedVersion struct {
		VersionProposed
		Signed *Signed `json:"signed"`
	}
	signedAnswer struct {
		AnswerGiven
		Signed *Signed `json:"signed"`
	}
	signedMandate struct {
		MandateSaved
		Signed *Signed `json:"signed"`
	}
	signedRatification struct {
		RatificationGiven
		Signed *Signed `json:"signed"`
	}
	signedConsent struct {
		DisclosureConsented
		Signed *Signed `json:"signed"`
	}
)

// scanPayload decodes b into p, a pointer to one of the types above, and
// reports whether it did; if not, p is unchanged.
func scanPayload(b []byte, p any) bool {
	s := &payloadScanner{b: b}
	var ok bool
	switch p := p.(type) {
	case *signedVersion:
		var v signedVersion
		ok = s.object(
			field{name: "version_id", int: &v.VersionID},
			field{name: "proposal_id", int: &v.ProposalID},
			field{name: "parent_id", int: &v.ParentID},
			field{name: "values", strings: &v.Values},
			field{name: "clauses", strings: &v.Clauses},
			field{name: "rationale", str: &v.Rationale},
			field{name: "author_id", int: &v.AuthorID},
			field{name: "signed", signed: &v.Signed},
		) && s.end()
		if ok {
			*p = v
		}
	case *signedAnswer:
		var v signedAnswer
		var kind string
		ok = s.object(
			field{name: "answer_id", int: &v.AnswerID},
			field{name: "version_id", int: &v.VersionID},
			field{name: "party_id", int: &v.PartyID},
			field{name: "member_id", int: &v.MemberID},
			field{name: "kind", str: &kind},
			field{name: "counter_id", int: &v.CounterID},
			field{name: "signed", signed: &v.Signed},
		) && s.end()
		if ok {
			v.Kind = AnswerKind(kind)
			*p = v
		}
	case *signedMandate:
		var v signedMandate
		ok = s.object(
			field{name: "party_id", int: &v.PartyID},
			field{name: "envoy_id", int: &v.EnvoyID},
			field{name: "version", int: &v.Version},
			field{name: "digest", str: &v.Digest},
			field{name: "signed", signed: &v.Signed},
		) && s.end()
		if ok {
			*p = v
		}
	case *signedRatification:
		var v signedRatification
		var decision string
		ok = s.object(
			field{name: "user_id", int: &v.UserID},
			field{name: "decision", str: &decision},
			field{name: "comment", str: &v.Comment},
			field{name: "signed", signed: &v.Signed},
		) && s.end()
		if ok {
			v.Decision = Decision(decision)
			*p = v
		}
	case *signedConsent:
		var v signedConsent
		ok = s.object(
			field{name: "revision", int: &v.Revision},
			field{name: "party_id", int: &v.PartyID},
			field{name: "member_id", int: &v.MemberID},
			field{name: "signed", signed: &v.Signed},
		) && s.end()
		if ok {
			*p = v
		}
	}
	return ok
}

// field is one field of an object that payloadScanner reads, and where
// its value goes: exactly one of the pointers is set.
type field struct {
	name    string
	int     *int64
	str     *string
	strings *map[string]string
	signed  **Signed
	raw     *json.RawMessage
	base64  *[]byte
}

// payloadScanner reads one payload. Its methods return false where
// scanPayload gives up.
type payloadScanner struct {
	b []byte
	i int
}

// object reads an object whose fields are among fields, each at most once.
func (s *payloadScanner) object(fields ...field) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	var seen uint32
	for {
		name, ok := s.string()
		if !ok || !s.consume(':') {
			return false
		}
		j := 0
		for j < len(fields) && fields[j].name != string(name) {
			j++
		}
		if j == len(fields) || seen&(1<<j) != 0 {
			return false
		}
		seen |= 1 << j
		if !s.value(&fields[j]) {
			return false
		}
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

func (s *payloadScanner) value(f *field) bool {
	switch {
	case f.int != nil:
		return s.int(f.int)
	case f.str != nil:
		v, ok := s.string()
		*f.str = string(v)
		return ok
	case f.strings != nil:
		m := make(map[string]string)
		*f.strings = m
		return s.stringMap(m)
	case f.signed != nil:
		sg := new(Signed)
		*f.signed = sg
		return s.object(
			field{name: "signer", str: &sg.Signer},
			field{name: "statement", raw: &sg.Statement},
			field{name: "sig", base64: &sg.Sig},
		)
	case f.raw != nil:
		s.space()
		start := s.i
		if !s.skip(0) {
			return false
		}
		*f.raw = s.b[start:s.i:s.i]
		return true
	case f.base64 != nil:
		v, ok := s.string()
		if !ok {
			return false
		}
		// As encoding/json decodes a []byte.
		b := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
		n, err := base64.StdEncoding.Decode(b, v)
		*f.base64 = b[:n]
		return err == nil
	}
	return false
}

// stringMap reads an object of strings into m, each name at most once.
func (s *payloadScanner) stringMap(m map[string]string) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		k, ok := s.string()
		if !ok || !s.consume(':') {
			return false
		}
		v, ok := s.string()
		if _, dup := m[string(k)]; !ok || dup {
			return false
		}
		m[string(k)] = string(v)
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// skip reads a value that is a string, an integer or an object of such
// values, nested at most twice.
func (s *payloadScanner) skip(depth int) bool {
	s.space()
	if s.i == len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.string()
		return ok
	case c == '-' || '0' <= c && c <= '9':
		var n int64
		return s.int(&n)
	case c == '{' && depth < 2:
		s.i++
		if s.consume('}') {
			return true
		}
		for {
			if _, ok := s.string(); !ok || !s.consume(':') || !s.skip(depth+1) {
				return false
			}
			if s.consume('}') {
				return true
			}
			if !s.consume(',') {
				return false
			}
		}
	}
	return false
}

// string reads a string with nothing escaped and returns its text, in
// place.
func (s *payloadScanner) string() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	for j := s.i; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			v := s.b[s.i:j]
			s.i = j + 1
			return v, utf8.Valid(v)
		case c < 0x20 || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// int reads an integer of up to 18 digits, without fraction or exponent
// (what follows must be a delimiter, which the caller checks).
func (s *payloadScanner) int(v *int64) bool {
	s.space()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var n int64
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		n = 10*n + int64(s.b[s.i]-'0')
		s.i++
	}
	if d := s.i - start; d == 0 || d > 18 || d > 1 && s.b[start] == '0' {
		return false
	}
	if neg {
		n = -n
	}
	*v = n
	return true
}

func (s *payloadScanner) consume(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *payloadScanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

func (s *payloadScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}
