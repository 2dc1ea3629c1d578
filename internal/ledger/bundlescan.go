package ledger

import (
	"bytes"
	"encoding/base64"
	"io"
	"time"
	"unicode/utf8"

	"github.com/backchannel/backchannel/internal/talks"
	"golang.org/x/mod/sumdb/tlog"
)

// The fast path of ParseBundle. A bundle of 100,000 events is 110 MB of
// JSON, and encoding/json spends most of its time copying that text into
// its buffer and scanning it twice. scanBundle instead reads the bundle in
// one pass over the input, in place, for the form that MarshalJSON writes
// (any order of fields and any JSON white space, too), and decodes hashes
// and proofs straight into their arrays.
//
// scanBundle never decides that a bundle is malformed: at anything it
// does not expect, or any check that fails, it gives up, and ParseBundle
// decodes the bundle with encoding/json instead (parseBundleJSON), which
// accepts exactly what it accepted before and names what is wrong. So
// scanBundle must accept only bundles that parseBundleJSON accepts, and
// return the same Bundle for them; FuzzParseBundle and
// TestScanBundleMutations check both. It gives
// up on, among others: strings that are not UTF-8, null, escapes in field
// names, hashes or proofs, \u escapes of surrogates, numbers that are not
// plain integers of up to 18 digits, field names in another case, repeated
// fields and unknown fields. A new field in the format must be added to
// both paths, or every bundle that has it takes the slow one
// (TestParseBundleFastPath notices).
//
// The events, proofs and payloads of one bundle share a few large
// allocations, so that parsing 100,000 events allocates a few hundred
// times rather than three million; holding on to one event keeps its
// neighbours in memory.

// strictBase64 is the decoder for tree hashes and proofs. Strict allocates
// a copy of the encoding on each call, so there is one.
var strictBase64 = base64.StdEncoding.Strict()

// scanner reads one bundle's JSON. Its methods return false where
// scanBundle gives up; then pos is meaningless.
type scanner struct {
	data     []byte // the input, or a window of it from r
	pos      int
	scratch  []byte // a string's decoded text, reused
	proofBuf []byte // a proof's decoded bytes, reused
	arena    arena

	r    io.Reader // nil if data is all the input
	buf  []byte    // holds data
	read int64     // bytes read from r
	err  error     // from reading r

	onLeaf func(Leaf) // if not nil, called with each leaf read
}

// arena hands out the events, proof hashes and payload bytes of a bundle
// from large chunks. Each piece is clipped to its length, so appending to
// one never writes into the next. Chunks start small and double up to the
// sizes below, so that a small bundle costs little.
type arena struct {
	events []talks.Event
	hashes []tlog.Hash
	bytes  []byte
	types  map[string]string // event types, so that each is one string
	chunk  int               // the length of the last chunk of events
}

const (
	arenaEvents = 1024
	arenaHashes = 16 << 10 // 512 KB
	arenaBytes  = 256 << 10
)

func (a *arena) event() *talks.Event {
	if len(a.events) == 0 {
		a.chunk = min(max(2*a.chunk, 16), arenaEvents)
		a.events = make([]talks.Event, a.chunk)
	}
	e := &a.events[0]
	a.events = a.events[1:]
	return e
}

func (a *arena) proof(n int) []tlog.Hash {
	if n == 0 {
		return make([]tlog.Hash, 0)
	}
	if cap(a.hashes)-len(a.hashes) < n {
		a.hashes = make([]tlog.Hash, 0, max(n, min(2*cap(a.hashes), arenaHashes), 64))
	}
	i := len(a.hashes)
	a.hashes = a.hashes[:i+n]
	return a.hashes[i : i+n : i+n]
}

func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	if len(b) > arenaBytes/4 {
		return bytes.Clone(b)
	}
	if cap(a.bytes)-len(a.bytes) < len(b) {
		a.bytes = make([]byte, 0, max(len(b), min(2*cap(a.bytes), arenaBytes), 1<<10))
	}
	i := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return a.bytes[i:len(a.bytes):len(a.bytes)]
}

func (a *arena) typ(b []byte) string {
	if s, ok := a.types[string(b)]; ok {
		return s
	}
	s := string(b)
	if a.types == nil {
		a.types = make(map[string]string)
	}
	if len(a.types) < 256 {
		a.types[s] = s
	}
	return s
}

// scanBundle returns the bundle data holds, or false if ParseBundle must
// decode it with encoding/json, to parse it or to say what is wrong.
func scanBundle(data []byte) (*Bundle, bool) {
	s := &scanner{data: data}
	return s.bundle()
}

// scanBundleFrom is scanBundle reading from r, a window of scanWindow
// bytes at a time (more for a longer string), so that the text of a
// bundle is never in memory all at once. It returns an error only for an
// error reading r, or for a bundle over MaxBundleSize; on false with no
// error, r is left partly read. If onLeaf is not nil, it is called with
// each leaf as it is read, in order.
func scanBundleFrom(r io.Reader, onLeaf func(Leaf)) (*Bundle, bool, error) {
	s := &scanner{r: r, buf: make([]byte, scanWindow), onLeaf: onLeaf}
	s.data = s.buf[:0]
	b, ok := s.bundle()
	if s.err != nil && s.err != io.EOF {
		return nil, false, s.err
	}
	return b, ok, nil
}

const (
	scanWindow = 256 << 10
	maxWindow  = 8 * maxPayload
)

// bundle reads the whole input as a bundle.
func (s *scanner) bundle() (*Bundle, bool) {
	b := new(Bundle)
	var version int64
	var checkpoint []byte
	_, ok := s.object(func(name string) bool {
		var ok bool
		switch name {
		case "version":
			version, ok = s.int()
		case "origin":
			b.Origin, ok = s.shortString()
		case "server_key":
			b.ServerKey, ok = s.shortString()
		case "checkpoint":
			var v []byte
			if v, ok = s.string(); ok {
				checkpoint = bytes.Clone(v)
			}
		case "leaves":
			// Growing one slice by append would allocate and copy it
			// over and over: gather chunks, and copy once.
			var chunks [][]Leaf
			chunk := make([]Leaf, 0, 16)
			n := 0
			ok = s.array(func() bool {
				if n == maxLeaves {
					return false
				}
				if len(chunk) == cap(chunk) {
					chunks = append(chunks, chunk)
					chunk = make([]Leaf, 0, min(2*cap(chunk), 16<<10))
				}
				l, ok := s.leaf()
				chunk = append(chunk, l)
				n++
				if ok && s.onLeaf != nil {
					s.onLeaf(l)
				}
				return ok
			})
			if ok && n > 0 {
				b.Leaves = make([]Leaf, 0, n)
				for _, c := range append(chunks, chunk) {
					b.Leaves = append(b.Leaves, c...)
				}
			}
		case "consistency":
			ok = s.array(func() bool {
				if len(b.Consistency) == maxSince {
					return false
				}
				c, ok := s.consistency()
				b.Consistency = append(b.Consistency, c)
				return ok
			})
		}
		return ok
	}, "version", "origin", "server_key", "checkpoint", "leaves", "consistency")
	if !ok || !s.atEOF() {
		return nil, false
	}
	switch {
	case version != BundleVersion,
		b.Origin == "" || len(b.Origin) > maxShortField,
		b.ServerKey == "" || len(b.ServerKey) > maxShortField,
		len(checkpoint) == 0 || len(checkpoint) > maxCheckpoint,
		len(b.Leaves) == 0:
		return nil, false
	}
	b.Checkpoint = checkpoint
	return b, true
}

// leaf reads one element of leaves, with the checks of wireLeaf.leaf.
func (s *scanner) leaf() (Leaf, bool) {
	var l Leaf
	var e *talks.Event
	hasProof, hasLeafHash := false, false
	_, ok := s.object(func(name string) bool {
		var ok bool
		var v []byte
		switch name {
		case "event":
			e, ok = s.event()
		case "proof":
			if v, ok = s.raw(); ok {
				l.Proof, ok = s.proof(v)
				hasProof = true
			}
		case "leaf_hash":
			// encoding/json takes "" as no leaf hash.
			if v, ok = s.raw(); ok && len(v) > 0 {
				l.LeafHash, ok = decodeHash(v)
				hasLeafHash = true
			}
		}
		return ok
	}, "event", "proof", "leaf_hash")
	if !ok || (e == nil) == !hasLeafHash || (e == nil) == hasProof {
		return Leaf{}, false
	}
	l.Event = e
	return l, true
}

// event reads a leaf's event, with the checks of wireLeaf.leaf.
func (s *scanner) event() (*talks.Event, bool) {
	e := s.arena.event()
	seen, ok := s.object(func(name string) bool {
		var ok bool
		var v []byte
		switch name {
		case "talk":
			e.TalkID, ok = s.int()
		case "seq":
			e.ID, ok = s.int()
		case "actor":
			e.ActorID, ok = s.int()
		case "track":
			e.TrackID, ok = s.int()
		case "time":
			if v, ok = s.string(); ok {
				e.Time, ok = parseTime(v)
			}
		case "type":
			if v, ok = s.string(); ok && len(v) > 0 && len(v) <= maxShortField {
				e.Type = s.arena.typ(v)
			} else {
				ok = false
			}
		case "payload":
			if v, ok = s.string(); ok && len(v) <= maxPayload {
				e.Payload = s.arena.copy(v)
			} else {
				ok = false
			}
		case "prev_hash":
			if v, ok = s.raw(); ok {
				ok = decodeHex(&e.PrevHash, v)
			}
		case "hash":
			if v, ok = s.raw(); ok {
				ok = decodeHex(&e.Hash, v)
			}
		}
		return ok
	}, "talk", "seq", "time", "actor", "track", "type", "payload", "prev_hash", "hash")
	// A missing field is a zero value to encoding/json, which accepts some
	// (actor, track, payload) and not others: leave all that to it.
	if !ok || seen != 1<<9-1 || e.TalkID <= 0 || e.ID <= 0 || e.ActorID < 0 || e.TrackID < 0 {
		return nil, false
	}
	return e, true
}

// consistency reads one element of consistency.
func (s *scanner) consistency() (Consistency, bool) {
	var c Consistency
	hasProof := false
	_, ok := s.object(func(name string) bool {
		var ok bool
		var v []byte
		switch name {
		case "old_size":
			c.OldSize, ok = s.int()
		case "proof":
			if v, ok = s.raw(); ok {
				c.Proof, ok = s.proof(v)
				hasProof = true
			}
		}
		return ok
	}, "old_size", "proof")
	if !ok || !hasProof || c.OldSize < 1 {
		return c, false
	}
	return c, true
}

// proof decodes a proof's base64 text, as parseProof does.
func (s *scanner) proof(text []byte) ([]tlog.Hash, bool) {
	if len(text) > (maxProof*tlog.HashSize+2)/3*4 {
		return nil, false
	}
	if s.proofBuf == nil {
		// Not on the stack, where it would be cleared for each proof.
		s.proofBuf = make([]byte, maxProof*tlog.HashSize+3)
	}
	buf := s.proofBuf
	n, err := strictBase64.Decode(buf, text)
	if err != nil || n%tlog.HashSize != 0 {
		return nil, false
	}
	p := s.arena.proof(n / tlog.HashSize)
	for i := range p {
		p[i] = tlog.Hash(buf[i*tlog.HashSize:])
	}
	return p, true
}

// object reads a JSON object whose field names are among names, calling
// field with each name, after the colon, to read its value. It gives up
// on other names, and on a name repeated. It returns the set of names
// present, bit i for names[i].
func (s *scanner) object(field func(name string) bool, names ...string) (seen uint64, ok bool) {
	if !s.consume('{') {
		return 0, false
	}
	if s.consume('}') {
		return 0, true
	}
	for {
		s.space()
		key, ok := s.raw()
		if !ok {
			return 0, false
		}
		i := 0
		for i < len(names) && names[i] != string(key) {
			i++
		}
		if i == len(names) || seen&(1<<i) != 0 || !s.consume(':') {
			return 0, false
		}
		seen |= 1 << i
		s.space()
		if !field(names[i]) {
			return 0, false
		}
		if s.consume('}') {
			return seen, true
		}
		if !s.consume(',') {
			return 0, false
		}
	}
}

// array reads a JSON array, calling elem to read each element.
func (s *scanner) array(elem func() bool) bool {
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		s.space()
		if !elem() {
			return false
		}
		if s.consume(']') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// more reads more input into the window, keeping what is left of it from
// pos, which becomes 0. It reports whether it read anything. Slices of
// the window that a method returned are invalid after it.
func (s *scanner) more() bool {
	if s.r == nil || s.err != nil {
		return false
	}
	n := copy(s.buf, s.data[s.pos:])
	if n == len(s.buf) {
		// One string longer than the window. No string of a bundle
		// that ParseBundle accepts is as long as maxWindow, even with
		// every byte escaped as \u00XX.
		if n >= maxWindow {
			return false
		}
		s.buf = append(s.buf[:n], make([]byte, n)...)
	}
	m, err := io.ReadAtLeast(s.r, s.buf[n:], 1)
	s.data, s.pos = s.buf[:n+m], 0
	if s.read += int64(m); s.read > MaxBundleSize {
		s.err = parseErr("", "larger than %d bytes", MaxBundleSize)
		return false
	}
	if err != nil {
		s.err = err
		return m > 0
	}
	return true
}

// atEOF skips white space and reports whether the input ends there.
func (s *scanner) atEOF() bool {
	s.space()
	return s.pos == len(s.data) && !s.more()
}

// at returns the byte i bytes after pos, reading more input if need be.
func (s *scanner) at(i int) (byte, bool) {
	for s.pos+i >= len(s.data) {
		if !s.more() {
			return 0, false
		}
	}
	return s.data[s.pos+i], true
}

// space skips JSON white space.
func (s *scanner) space() {
	for {
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return
			}
		}
		if !s.more() {
			return
		}
	}
}

// consume skips white space and then c, if c is next.
func (s *scanner) consume(c byte) bool {
	s.space()
	if b, ok := s.at(0); ok && b == c {
		s.pos++
		return true
	}
	return false
}

// int reads a plain integer of at most 18 digits, which fits an int64.
func (s *scanner) int() (int64, bool) {
	i := 0
	c, ok := s.at(0)
	neg := ok && c == '-'
	if neg {
		i++
	}
	start := i
	var v int64
	for {
		c, ok := s.at(i)
		if !ok || c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
		i++
	}
	if n := i - start; n == 0 || n > 18 || n > 1 && s.data[s.pos+start] == '0' {
		return 0, false
	}
	// A fraction or exponent that follows is not a delimiter: the caller
	// gives up there.
	s.pos += i
	if neg {
		v = -v
	}
	return v, true
}

// raw reads a string without escapes and returns its text in place, valid
// until the next call of a scanner method: a field name, hash or proof.
// It gives up on a string with a backslash (an escape) or a new line.
// Other control characters, which JSON forbids in strings, match no field
// name and fail to decode as hex or base64.
func (s *scanner) raw() ([]byte, bool) {
	if c, ok := s.at(0); !ok || c != '"' {
		return nil, false
	}
	off := 1
	for {
		n := bytes.IndexByte(s.data[s.pos+off:], '"')
		if n < 0 {
			off = len(s.data) - s.pos
			if !s.more() {
				return nil, false
			}
			continue
		}
		v := s.data[s.pos+1 : s.pos+off+n]
		// Every use of the text refuses other control characters, but
		// the base64 decoder skips new lines.
		if bytes.IndexByte(v, '\\') >= 0 || bytes.IndexByte(v, '\n') >= 0 || bytes.IndexByte(v, '\r') >= 0 {
			return nil, false
		}
		s.pos += off + n + 1
		return v, true
	}
}

// string reads a string and returns its decoded text, valid until the
// next call.
func (s *scanner) string() ([]byte, bool) {
	if c, ok := s.at(0); !ok || c != '"' {
		return nil, false
	}
	s.pos++
	out := s.scratch[:0]
	for {
		// Copy the run up to the next quote, backslash or control
		// character at once.
		j := s.pos
		for j < len(s.data) && s.data[j] != '"' && s.data[j] != '\\' && s.data[j] >= 0x20 {
			j++
		}
		out = append(out, s.data[s.pos:j]...)
		s.pos = j
		if j == len(s.data) {
			if !s.more() {
				return nil, false
			}
			continue
		}
		switch s.data[j] {
		case '"':
			s.pos++
			s.scratch = out
			// encoding/json replaces bytes that are not UTF-8: leave
			// that to it. Outside strings, where JSON is ASCII, other
			// bytes fail to match. An escape adds a whole character, so
			// out is UTF-8 if and only if the text copied is.
			return out, utf8.Valid(out)
		case '\\':
		default:
			return nil, false // a control character
		}
		c, ok := s.at(1)
		if !ok {
			return nil, false
		}
		switch c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if _, ok := s.at(5); !ok {
				return nil, false
			}
			r := rune(0)
			for _, h := range s.data[s.pos+2 : s.pos+6] {
				v := hexValue[h]
				if v == 0xff {
					v = upperHexValue(h)
				}
				if v == 0xff {
					return nil, false
				}
				r = r<<4 | rune(v)
			}
			if utf8.RuneLen(r) < 0 {
				// A surrogate: encoding/json pairs them.
				return nil, false
			}
			out = utf8.AppendRune(out, r)
			s.pos += 6
			continue
		default:
			return nil, false
		}
		s.pos += 2
	}
}

// shortString reads a string of at most maxShortField bytes.
func (s *scanner) shortString() (string, bool) {
	v, ok := s.string()
	if !ok || len(v) > maxShortField {
		return "", false
	}
	return string(v), true
}

// hexValue maps the lower-case hex digits, the only ones event hashes
// have, to their values, and every other byte to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

func upperHexValue(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c - 'A' + 10
	}
	return 0xff
}

// decodeHex decodes a lower-case hex hash of 32 bytes, as parseHex does.
func decodeHex(h *[32]byte, v []byte) bool {
	if len(v) != 64 {
		return false
	}
	for i := range h {
		hi, lo := hexValue[v[2*i]], hexValue[v[2*i+1]]
		if hi > 15 || lo > 15 {
			return false
		}
		h[i] = hi<<4 | lo
	}
	return true
}

// decodeHash decodes a base64 tree hash, as parseHash does.
func decodeHash(v []byte) (tlog.Hash, bool) {
	var buf [33]byte
	if len(v) != 44 {
		return tlog.Hash{}, false
	}
	n, err := strictBase64.Decode(buf[:], v)
	if err != nil || n != tlog.HashSize {
		return tlog.Hash{}, false
	}
	return tlog.Hash(buf[:tlog.HashSize]), true
}

// parseTime parses an event's time in its only spelling that
// wireLeaf.leaf accepts: RFC 3339 in UTC, to the microsecond, as
// talks.Event.TimeString writes it.
func parseTime(v []byte) (time.Time, bool) {
	// 2006-01-02T15:04:05[.999999]Z
	if len(v) < 20 || len(v) > 30 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' || v[len(v)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(v[0:4]), num(v[5:7]), num(v[8:10])
	hour, minute, sec := num(v[11:13]), num(v[14:16]), num(v[17:19])
	nsec := 0
	if frac := v[19 : len(v)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		nsec = num(frac[1:])
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	if year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || sec < 0 || nsec < 0 {
		return time.Time{}, false
	}
	t := talks.Timestamp(time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC))
	// time.Date normalizes what time.Parse refuses (month 13, second 60),
	// and only one spelling of a time is canonical: compare with it.
	var buf [40]byte
	return t, bytes.Equal(t.AppendFormat(buf[:0], time.RFC3339Nano), v)
}
