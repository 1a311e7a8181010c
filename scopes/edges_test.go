package scopes_test

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/scopes"
)

// TestRegistryFirstDeclaration: the first declaration (index 0) is replaced
// in place by a new Add of its policy ID and removed by Remove, like any
// other.
func TestRegistryFirstDeclaration(t *testing.T) {
	r := scopes.NewRegistry()
	for _, d := range []scopes.Decl{
		{Name: "first", Methods: []string{"GET"}},
		{Name: "second", Methods: []string{"GET"}},
		{Name: "first", Methods: []string{"GET", "DELETE"}},
	} {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.Decls()); n != 2 {
		t.Fatalf("%d declarations after re-adding the first, want 2", n)
	}
	if !r.HasScope("first:destroy") {
		t.Fatal("the re-added first declaration did not replace the old one")
	}
	if !r.Remove("first") || r.KnownPolicyID("first") {
		t.Fatal("the first declaration was not removed")
	}
}

// TestScopeCharacterEdges: '!' (0x21) is the lowest character RFC 6749
// §3.3 allows in a scope; a space in a resource name is reported as a byte.
func TestScopeCharacterEdges(t *testing.T) {
	if _, err := scopes.ParseSet("a!b c"); err != nil {
		t.Fatalf("ParseSet with '!': %v", err)
	}
	_, err := scopes.ParseScope("no te:read")
	if err == nil || !strings.Contains(err.Error(), "byte 0x20") {
		t.Fatalf("ParseScope(%q) = %v, want an error naming byte 0x20", "no te:read", err)
	}
}
