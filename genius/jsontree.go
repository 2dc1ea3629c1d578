package genius

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// jnode is one value of a parsed JSON document, with the line it starts on
// so that errors can point at it. Objects keep their keys in file order:
// GeniusWeb lists issues in an object, and their order is the order of the
// outcome space.
type jnode struct {
	line int
	kind byte // '{', '[', '"' (string), '0' (number), 't' (bool), 'n' (null)
	keys []string
	vals []*jnode // members of an object, elements of an array
	str  string
	num  json.Number
}

// field returns the member named key; if there is none, it returns a
// placeholder on the object's line that want reports as missing.
func (n *jnode) field(key string) *jnode {
	if c := n.get(key); c != nil {
		return c
	}
	if n == nil {
		return nil
	}
	return &jnode{line: n.line}
}

// get returns the member named key, or nil.
func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != '{' {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *jnode) errorf(wrap error, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.line
	}
	return &ParseError{Line: line, Err: fmt.Errorf("%w: "+format, append([]any{wrap}, args...)...)}
}

var kindNames = map[byte]string{'{': "an object", '[': "an array", '"': "a string", '0': "a number", 't': "a boolean", 'n': "null"}

// want checks that n is present and of the given kind.
func (n *jnode) want(kind byte, what string) error {
	if n == nil || n.kind == 0 {
		line := 0
		if n != nil {
			line = n.line
		}
		return &ParseError{Line: line, Err: fmt.Errorf("%w: missing %s", ErrFormat, what)}
	}
	if n.kind != kind {
		return n.errorf(ErrFormat, "%s is %s, want %s", what, kindNames[n.kind], kindNames[kind])
	}
	return nil
}

// float returns a finite number.
func (n *jnode) float(what string) (float64, error) {
	if err := n.want('0', what); err != nil {
		return 0, err
	}
	x, err := strconv.ParseFloat(string(n.num), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, n.errorf(ErrInvalid, "%s %s is not a finite number", what, n.num)
	}
	return x, nil
}

// parseJSON reads one JSON document.
func parseJSON(r io.Reader) (*jnode, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, &ParseError{Err: fmt.Errorf("read: %w", err)}
	}
	if len(data) > maxFile {
		return nil, &ParseError{Err: fmt.Errorf("%w: file larger than %d bytes", ErrFormat, maxFile)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := &jparser{data: data, d: json.NewDecoder(bytes.NewReader(data)), line: 1}
	p.d.UseNumber()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.d.Token(); err != io.EOF {
		return nil, &ParseError{Line: p.at(), Err: fmt.Errorf("%w: data after the JSON value", ErrFormat)}
	}
	return n, nil
}

type jparser struct {
	data []byte
	d    *json.Decoder
	off  int // bytes counted into line so far
	line int
}

// at returns the line of the next token, skipping blanks and separators.
func (p *jparser) at() int {
	end := int(p.d.InputOffset())
	for end < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[end]) >= 0 {
		end++
	}
	end = min(end, len(p.data))
	if end > p.off {
		p.line += bytes.Count(p.data[p.off:end], []byte("\n"))
		p.off = end
	}
	return p.line
}

func (p *jparser) fail(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &ParseError{Line: 1 + bytes.Count(p.data[:min(int(se.Offset), len(p.data))], []byte("\n")), Err: fmt.Errorf("%w: %s", ErrFormat, se)}
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &ParseError{Line: p.at(), Err: fmt.Errorf("%w: unexpected end of JSON", ErrFormat)}
	}
	return &ParseError{Line: p.at(), Err: fmt.Errorf("%w: %v", ErrFormat, err)}
}

// maxDepth bounds nesting: GeniusWeb files are six levels deep.
const maxDepth = 64

func (p *jparser) value(depth int) (*jnode, error) {
	n := &jnode{line: p.at()}
	if depth > maxDepth {
		return nil, &ParseError{Line: n.line, Err: fmt.Errorf("%w: nested more than %d levels", ErrFormat, maxDepth)}
	}
	tok, err := p.d.Token()
	if err != nil {
		return nil, p.fail(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n.kind = '{'
			for p.d.More() {
				line := p.at()
				kt, err := p.d.Token()
				if err != nil {
					return nil, p.fail(err)
				}
				k, _ := kt.(string)
				if n.get(k) != nil {
					return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: key %q twice", ErrFormat, k)}
				}
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys, n.vals = append(n.keys, k), append(n.vals, v)
			}
		} else {
			n.kind = '['
			for p.d.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
		}
		if _, err := p.d.Token(); err != nil { // the closing delimiter
			return nil, p.fail(err)
		}
	case string:
		n.kind, n.str = '"', t
	case json.Number:
		n.kind, n.num = '0', t
	case bool:
		n.kind = 't'
	case nil:
		n.kind = 'n'
	}
	return n, nil
}

// ordered is a JSON object whose keys keep their order when written.
type ordered []member

type member struct {
	key string
	val any
}

// MarshalJSON implements json.Marshaler.
func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
