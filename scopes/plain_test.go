package scopes

import (
	"slices"
	"testing"
)

// TestAddScope: a plain scope is known, advertised and described beside
// the resources' scopes; malformed names are refused.
func TestAddScope(t *testing.T) {
	r := NewRegistry()
	if err := r.Add(Decl{Name: "notes", Methods: []string{"GET"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddScope("openid", "Sign you in"); err != nil {
		t.Fatal(err)
	}
	if !r.HasScope("openid") || !slices.Equal(r.ScopeNames(), []string{"notes:read", "openid"}) {
		t.Fatalf("scopes %v", r.ScopeNames())
	}
	if d, ok := r.Describe("openid"); !ok || d != "Sign you in" {
		t.Fatalf("description %q %v", d, ok)
	}
	for _, bad := range []string{"", "a b", "a\"b"} {
		if err := r.AddScope(bad, "x"); err == nil {
			t.Errorf("AddScope(%q) accepted", bad)
		}
	}
}
