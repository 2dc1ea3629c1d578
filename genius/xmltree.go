package genius

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxFile bounds what the readers take in: real domain files are a few
// kilobytes.
const maxFile = 64 << 20

// element is one node of a parsed XML document: only what GENIUS files use.
type element struct {
	name     string
	attrs    map[string]string
	children []*element
	line     int
}

// attr returns the attribute named key and whether it is present. Names
// are matched without regard to case, as GENIUS files are not consistent.
func (e *element) attr(key string) (string, bool) {
	if v, ok := e.attrs[key]; ok {
		return v, true
	}
	for k, v := range e.attrs {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// all returns the children named name.
func (e *element) all(name string) []*element {
	var out []*element
	for _, c := range e.children {
		if strings.EqualFold(c.name, name) {
			out = append(out, c)
		}
	}
	return out
}

// first returns the first child named name, or nil.
func (e *element) first(name string) *element {
	for _, c := range e.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

func (e *element) errorf(wrap error, format string, args ...any) error {
	return &ParseError{Line: e.line, Err: fmt.Errorf("%w: <%s>: "+format, append([]any{wrap, e.name}, args...)...)}
}

// float reads a required finite number attribute.
func (e *element) float(key string) (float64, error) {
	s, ok := e.attr(key)
	if !ok {
		return 0, e.errorf(ErrInvalid, "missing attribute %s", key)
	}
	return e.parseFloat(key, s)
}

// floatOr reads an optional finite number attribute.
func (e *element) floatOr(key string, def float64) (float64, error) {
	s, ok := e.attr(key)
	if !ok || strings.TrimSpace(s) == "" {
		return def, nil
	}
	return e.parseFloat(key, s)
}

func (e *element) parseFloat(key, s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, e.errorf(ErrInvalid, "%s=%q is not a finite number", key, s)
	}
	return x, nil
}

// int reads a required integer attribute.
func (e *element) int(key string) (int64, error) {
	s, ok := e.attr(key)
	if !ok {
		return 0, e.errorf(ErrInvalid, "missing attribute %s", key)
	}
	x, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, e.errorf(ErrInvalid, "%s=%q is not an integer", key, s)
	}
	return x, nil
}

// parseXML reads a whole document and returns its root element. It copes
// with what real GENIUS files contain: a byte order mark, blank lines before
// the root, Latin-1 text without a declaration, and text after the root.
func parseXML(r io.Reader) (*element, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, &ParseError{Err: fmt.Errorf("read: %w", err)}
	}
	if len(data) > maxFile {
		return nil, &ParseError{Err: fmt.Errorf("%w: file larger than %d bytes", ErrFormat, maxFile)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	if !utf8.Valid(data) && !bytes.Contains(data[:min(len(data), 200)], []byte("encoding=")) {
		// Undeclared 8-bit text: GENIUS's Java parser reads it with the
		// platform charset, usually Latin-1 or Windows-1252.
		d = xml.NewDecoder(latin1Reader(bytes.NewReader(data)))
	}
	var stack []*element
	var root *element
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &ParseError{Line: se.Line, Err: fmt.Errorf("%w: %s", ErrFormat, se.Msg)}
			}
			return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: %v", ErrFormat, err)}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			// The decoder hands whitespace over as its own token, so the
			// position before this token is the line of the "<".
			e := &element{name: t.Name.Local, attrs: make(map[string]string, len(t.Attr)), line: line}
			for _, a := range t.Attr {
				if _, dup := e.attrs[a.Name.Local]; dup {
					return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: <%s> has attribute %s twice", ErrFormat, e.name, a.Name.Local)}
				}
				e.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			} else if root == nil {
				root = e
			} else {
				return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: second root element <%s>", ErrFormat, e.name)}
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				// Whatever follows the root is not part of the document.
				return root, nil
			}
		}
	}
	if root == nil {
		return nil, &ParseError{Err: fmt.Errorf("%w: no XML element", ErrFormat)}
	}
	return nil, &ParseError{Err: fmt.Errorf("%w: unexpected end of file inside <%s>", ErrFormat, stack[len(stack)-1].name)}
}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		return latin1Reader(input), nil
	}
	return nil, fmt.Errorf("%w: encoding %q", ErrUnsupported, charset)
}

// latin1Reader decodes Latin-1 bytes to UTF-8.
func latin1Reader(r io.Reader) io.Reader {
	data, err := io.ReadAll(r)
	if err != nil {
		return &errReader{err}
	}
	var b bytes.Buffer
	b.Grow(len(data))
	for _, c := range data {
		b.WriteRune(rune(c))
	}
	return &b
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }
