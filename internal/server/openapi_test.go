package server

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIInSync checks that docs/openapi.json is the embedded document,
// byte for byte. Edit internal/server/openapi.json and copy it to docs/.
func TestOpenAPIInSync(t *testing.T) {
	docs, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openapiDoc) {
		t.Fatal("docs/openapi.json differs from internal/server/openapi.json: cp internal/server/openapi.json docs/")
	}
}

// TestOpenAPIRoutes checks that the document lists exactly the registered
// routes, and that it is OpenAPI 3.1.
func TestOpenAPIRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	var documented, registered []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	s := New(nil, Options{})
	for _, rt := range s.routes() {
		registered = append(registered, rt.Method+" "+rt.Path)
	}
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.json lists %s, which is not a route", d)
		}
	}
}

// TestOpenAPIServed checks GET /api/v1/openapi.json.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	st, body := e.do("", "GET", "/api/v1/openapi.json", nil)
	if st != 200 || !bytes.Equal(body, openapiDoc) {
		t.Fatalf("GET /api/v1/openapi.json = %d, %d bytes; want 200 and the document", st, len(body))
	}
}

// TestNoSecretFields checks that no API type has a field that could carry
// a password hash or a token hash.
func TestNoSecretFields(t *testing.T) {
	types := []any{User{}, Token{}, Talk{}, Party{}, Member{}, Track{}, Message{}, Proposal{}, Version{},
		Answer{}, Agreement{}, IssueDiff{}, Event{}, sessionResponse{}, proposalResponse{}, Invitation{},
		InvitationPreview{}, signUpResponse{}, Meeting{}, Preferences{}, PreferencesHistory{}, Standing{}, Suggestions{}, OwnSuggestion{}, Rehearsal{}, Mandate{}}
	var walk func(reflect.Type, string)
	seen := map[reflect.Type]bool{}
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for f := range ty.Fields() {
			name := strings.ToLower(f.Name)
			if strings.Contains(name, "hash") && name != "hash" && name != "prevhash" || strings.Contains(name, "password") {
				t.Errorf("%s.%s could carry a secret", path, f.Name)
			}
			walk(f.Type, path+"."+f.Name)
		}
	}
	for _, v := range types {
		walk(reflect.TypeOf(v), reflect.TypeOf(v).Name())
	}
}
