package talks

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Each maps to one HTTP status in the server.
const (
	ECONFLICT     = "conflict"
	EFORBIDDEN    = "forbidden"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
)

// Error is an application error. Its Message is safe to show to the user
// who caused it; it never names anything outside that user's view.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("talks error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, a
// generic message for any other non-nil error, and "" for nil. It never
// returns the text of an internal error, which may name storage details.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// invalidOutcome returns the EINVALID error for an outcome or space that
// the engine refused with err, whose message, for a program, starts with
// its package's "outcome: ", which a reader of the message does not need.
func invalidOutcome(what string, err error) *Error {
	return Errorf(EINVALID, "Invalid %s: %s.", what, strings.ReplaceAll(err.Error(), "outcome: ", ""))
}
