package genius

import (
	"errors"
	"strconv"
	"strings"
)

// Errors returned by this package, usually inside a *ParseError. Errors
// from the outcome and utility packages (outcome.ErrUnknownValue,
// utility.ErrInvalid, ...) are wrapped too.
var (
	// ErrFormat means the input is not a file of the expected kind: bad
	// XML or JSON, the wrong root element, or a missing part.
	ErrFormat = errors.New("genius: malformed file")
	// ErrInvalid means a number is missing, malformed or out of range.
	ErrInvalid = errors.New("genius: invalid value")
	// ErrMismatch means a profile does not fit its domain.
	ErrMismatch = errors.New("genius: profile does not match domain")
	// ErrUnsupported means a valid file uses a feature this package does
	// not implement, or a function has no form in the target format.
	ErrUnsupported = errors.New("genius: unsupported")
	// ErrTooLarge means an issue has more than MaxValues values.
	ErrTooLarge = errors.New("genius: issue too large")
)

// MaxValues is the largest number of values an issue may have. Utility
// functions keep one number per value, so a bigger issue is refused rather
// than allocated.
const MaxValues = 1 << 20

// ParseError reports a problem in a domain or profile file. Line is 1-based;
// 0 means the line is unknown. File is empty when the input had no name.
type ParseError struct {
	File string
	Line int
	Err  error
}

// Error returns "genius: FILE:LINE: what is wrong", leaving out what is
// unknown.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("genius: ")
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	msg := "unknown error"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "genius: ")
	}
	b.WriteString(msg)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// withFile names the file in a *ParseError, or wraps err in one.
func withFile(err error, file string) error {
	if err == nil {
		return nil
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		if pe.File == "" {
			pe.File = file
		}
		return err
	}
	return &ParseError{File: file, Err: err}
}
