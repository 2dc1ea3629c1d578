package talks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// TestEventTypesComplete checks that EventTypes lists every event type
// constant of the package, so that live pages hear of a new one.
func TestEventTypesComplete(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found int
	for _, f := range pkgs["talks"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if len(name.Name) < 6 || name.Name[:5] != "Event" || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				typ, _ := strconv.Unquote(lit.Value)
				found++
				if !slices.Contains(EventTypes, typ) {
					t.Errorf("%s (%q) is not in EventTypes", name.Name, typ)
				}
			}
			return true
		})
	}
	if found != len(EventTypes) {
		t.Errorf("found %d event type constants, EventTypes lists %d", found, len(EventTypes))
	}
}
