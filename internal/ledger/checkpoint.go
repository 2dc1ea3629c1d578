package ledger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// maxCheckpoint bounds a checkpoint's note text and signatures, in bytes.
const maxCheckpoint = 64 << 10

// ErrMalformedCheckpoint is the error for a checkpoint that does not
// follow the C2SP tlog-checkpoint format.
var ErrMalformedCheckpoint = errors.New("ledger: malformed checkpoint")

// Checkpoint is a tree head in the C2SP tlog-checkpoint format
// (https://c2sp.org/tlog-checkpoint): the body of a signed note, three
// lines and any extension lines, each ending in a newline:
//
//	<origin>
//	<size, in decimal without leading zeros>
//	<root hash, in standard base64>
//	[extension lines, each non-empty]
//
// tlog.FormatTree is not this format: its first line is always
// "go.sum database tree", where a checkpoint names its log.
type Checkpoint struct {
	Origin     string
	Size       int64
	Root       tlog.Hash
	Extensions []string // none in checkpoints this package signs
}

// MarshalText returns c's note text. It refuses an origin or extension
// that is empty or not one line of UTF-8 text, and an origin with spaces
// or '+', which C2SP recommends against and note key names forbid.
func (c Checkpoint) MarshalText() ([]byte, error) {
	if !validOrigin(c.Origin) {
		return nil, errorf("checkpoint origin %q: want non-empty text without spaces or '+'", c.Origin)
	}
	if c.Size < 0 {
		return nil, errorf("checkpoint size %d is negative", c.Size)
	}
	var b bytes.Buffer
	b.WriteString(c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + c.Root.String() + "\n")
	for _, x := range c.Extensions {
		if !validLine(x) {
			return nil, errorf("checkpoint extension %q: want one non-empty line", x)
		}
		b.WriteString(x + "\n")
	}
	return b.Bytes(), nil
}

// Sign returns c as a note signed by s: its text, a blank line and the
// signature line.
func (c Checkpoint) Sign(s note.Signer) ([]byte, error) {
	text, err := c.MarshalText()
	if err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		return nil, errorf("sign checkpoint: %w", err)
	}
	return msg, nil
}

// ParseCheckpoint parses a checkpoint's note text strictly: at least three
// lines, each ending in a newline; a non-empty origin; a size in decimal
// without sign or leading zeros; a root of exactly 32 bytes in canonical,
// padded standard base64; and non-empty extension lines. Errors wrap
// ErrMalformedCheckpoint. It does not check signatures (see
// OpenCheckpoint). It accepts any size up to 2^63-1, as the format does,
// but tlog.CheckRecord and tlog.CheckTree never return for sizes over
// 2^62 (golang.org/x/mod v0.43.0): bound the size before checking proofs
// against it, as Verify does.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	bad := func(what string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrMalformedCheckpoint, what)
	}
	if len(text) > maxCheckpoint {
		return bad("longer than 64 KiB")
	}
	if !utf8.Valid(text) {
		return bad("not UTF-8")
	}
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return bad("does not end in a newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return bad("fewer than three lines")
	}
	var c Checkpoint
	if c.Origin = lines[0]; !validLine(c.Origin) {
		return bad("origin line is empty or has control characters")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return bad("size line is not a decimal number without leading zeros")
	}
	c.Size = n
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return bad("root line is not a base64 hash of 32 bytes")
	}
	copy(c.Root[:], h)
	for _, x := range lines[3:] {
		if !validLine(x) {
			return bad("extension line is empty or has control characters")
		}
		c.Extensions = append(c.Extensions, x)
	}
	return c, nil
}

// OpenCheckpoint checks that msg is a checkpoint note signed by v and
// returns the checkpoint. Signatures by other keys are ignored, as the
// note format requires. It returns an error wrapping
// ErrMalformedCheckpoint for a malformed note or body, or one saying that
// v's signature is missing or invalid.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	if len(msg) > maxCheckpoint {
		return Checkpoint{}, fmt.Errorf("%w: longer than 64 KiB", ErrMalformedCheckpoint)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return Checkpoint{}, errorf("checkpoint is not signed by key %s+%08x", v.Name(), v.KeyHash())
		case errors.As(err, &invalid):
			return Checkpoint{}, errorf("checkpoint signature by key %s+%08x is invalid", v.Name(), v.KeyHash())
		}
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	return ParseCheckpoint([]byte(n.Text))
}

// noteText returns the text of a signed note without checking any
// signature: everything up to and including the newline before the last
// blank line.
func noteText(msg []byte) ([]byte, bool) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, false
	}
	return msg[:i+1], true
}

func validLine(s string) bool {
	return s != "" && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

func validOrigin(s string) bool {
	return validLine(s) && strings.IndexFunc(s, unicode.IsSpace) < 0 && !strings.Contains(s, "+")
}
