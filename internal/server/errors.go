package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/backchannel/backchannel/internal/talks"
)

// ETOOLARGE is the code of a request body over MaxBodySize. It is the
// server's own: the service never sees such a request.
const ETOOLARGE = "too_large"

// EMETHOD is the code of a request whose path exists but not for its
// method. It is the server's own, like ETOOLARGE.
const EMETHOD = "method_not_allowed"

// MaxBodySize is the largest request body the API reads, in bytes.
const MaxBodySize = 1 << 20

// codeStatus is the one table from error codes to HTTP status.
var codeStatus = map[string]int{
	talks.EINVALID:      http.StatusBadRequest,
	talks.EUNAUTHORIZED: http.StatusUnauthorized,
	talks.EFORBIDDEN:    http.StatusForbidden,
	talks.ENOTFOUND:     http.StatusNotFound,
	talks.ECONFLICT:     http.StatusConflict,
	ETOOLARGE:           http.StatusRequestEntityTooLarge,
	EMETHOD:             http.StatusMethodNotAllowed,
	talks.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status of an error code; 500 for an unknown
// one.
func ErrorStatus(code string) int {
	if st, ok := codeStatus[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// apiError is the body of every error response.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError writes err as a JSON error. The message of an internal error is
// logged, never shown: it may name storage details.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := talks.ErrorCode(err), talks.ErrorMessage(err)
	if code == talks.EINTERNAL {
		s.logger.Error("http: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, ErrorStatus(code), apiError{Code: code, Message: msg})
}

// writeJSON writes v as JSON with status st.
func writeJSON(w http.ResponseWriter, st int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(st)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a client that went away cannot be told
}

// decode reads the JSON body of r into v: at most MaxBodySize bytes
// (ETOOLARGE beyond), no unknown fields, one value and nothing after it
// (EINVALID). It writes nothing, so a handler can report the error and
// change nothing.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBodySize)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return talks.Errorf(talks.EINVALID, "The request body has data after its JSON value.")
		}
		return decodeError(err)
	}
	return nil
}

// decodeError turns an error of encoding/json into one a client can act on.
func decodeError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return talks.Errorf(ETOOLARGE, "The request body is larger than %d bytes.", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return talks.Errorf(talks.EINVALID, "The request body is empty; it must be a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return talks.Errorf(talks.EINVALID, "The request body ends in the middle of its JSON value.")
	case errors.As(err, &syntaxErr):
		return talks.Errorf(talks.EINVALID, "The request body is not valid JSON (at byte %d).", syntaxErr.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return talks.Errorf(talks.EINVALID, "The field %q must be a JSON %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
		}
		return talks.Errorf(talks.EINVALID, "The request body must be a JSON object.")
	}
	// encoding/json reports an unknown field only as text.
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		return talks.Errorf(talks.EINVALID, "The request body has an unknown field %s.", msg[len(unknown):])
	}
	return talks.Errorf(talks.EINVALID, "The request body is not valid JSON.")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	default:
		return "number"
	}
}

// pathID returns the path value name of r as a positive ID. Anything else
// names nothing, so it is not found.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, talks.Errorf(talks.ENOTFOUND, "Not found.")
	}
	return id, nil
}

// queryBool returns the query parameter name of r as a boolean ("true" or
// "false"), or false if it is absent.
func queryBool(r *http.Request, name string) (bool, error) {
	switch r.URL.Query().Get(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, talks.Errorf(talks.EINVALID, "The query parameter %q must be true or false.", name)
}

// queryInt returns the query parameter name of r as an integer in [min, max],
// or def if it is absent.
func queryInt(r *http.Request, name string, def, min, max int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		return 0, talks.Errorf(talks.EINVALID, "The query parameter %q must be an integer from %d to %d.", name, min, max)
	}
	return n, nil
}
