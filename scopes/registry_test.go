package scopes_test

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/scopes"
)

func no() *bool { b := false; return &b }

func dictionary(r *scopes.Registry) map[string]string {
	out := map[string]string{}
	for _, in := range r.Scopes() {
		out[in.Name] = in.Description
	}
	return out
}

// djbletsTree is the resource tree of Djblets' test_oauth2_scopes.py
// (docs/api-tokens.md, "OAuth2 scopes"), in Djblets' walk order: children before their parent.
func djbletsTree() []scopes.Decl {
	return []scopes.Decl{
		{Name: "item-child", Methods: []string{"GET", "POST", "PUT"}},
		{Name: "list-child", Methods: []string{"GET", "DELETE"}},
		{Name: "parent", Methods: []string{"GET"}},
		{Name: "forbidden", Methods: []string{"GET"}, OAuth2Access: no()},
		{Name: "root", Methods: []string{"GET"}},
	}
}

func TestRegistryDjbletsDictionary(t *testing.T) {
	r := scopes.NewRegistry()
	for _, d := range djbletsTree() {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	// Djblets' expected dictionary for this test tree, exactly
	// (docs/api-tokens.md, "OAuth2 scopes").
	want := map[string]string{
		"root:read":          "Ability to perform HTTP GET on the root resource",
		"parent:read":        "Ability to perform HTTP GET on the parent resource",
		"item-child:read":    "Ability to perform HTTP GET on the item-child resource",
		"item-child:write":   "Ability to perform HTTP POST, PUT on the item-child resource",
		"list-child:read":    "Ability to perform HTTP GET on the list-child resource",
		"list-child:destroy": "Ability to perform HTTP DELETE on the list-child resource",
	}
	if got := dictionary(r); !maps.Equal(got, want) {
		t.Fatalf("dictionary:\n got %v\nwant %v", got, want)
	}

	// docs/api-tokens.md, "OAuth2 scopes": an extension resource (GET, PUT) gives read and write,
	// the write description saying "HTTP PUT".
	if err := r.Add(scopes.Decl{Name: "extension", Methods: []string{"PUT", "GET"}}); err != nil {
		t.Fatal(err)
	}
	if d, ok := r.Describe("extension:write"); !ok || d != "Ability to perform HTTP PUT on the extension resource" {
		t.Fatalf("extension:write = %q, %v", d, ok)
	}
	// Enabling test-ext (GET, POST, PUT, DELETE) adds three scopes;
	// disabling removes them again.
	before := dictionary(r)
	if err := r.Add(scopes.Decl{Name: "test-ext", Methods: []string{"GET", "POST", "PUT", "DELETE"}}); err != nil {
		t.Fatal(err)
	}
	for name, desc := range map[string]string{
		"test-ext:read":    "Ability to perform HTTP GET on the test-ext resource",
		"test-ext:write":   "Ability to perform HTTP POST, PUT on the test-ext resource",
		"test-ext:destroy": "Ability to perform HTTP DELETE on the test-ext resource",
	} {
		if got, ok := r.Describe(name); !ok || got != desc {
			t.Errorf("%s = %q, %v; want %q", name, got, ok, desc)
		}
	}
	if !r.Remove("test-ext") {
		t.Fatal("Remove(test-ext) = false")
	}
	if got := dictionary(r); !maps.Equal(got, before) {
		t.Fatalf("after disabling test-ext:\n got %v\nwant %v", got, before)
	}
	if r.Remove("test-ext") {
		t.Fatal("second Remove reported a removal")
	}
}

func TestRegistryRules(t *testing.T) {
	tests := []struct {
		name  string
		decls []scopes.Decl
		want  map[string]string
	}{
		{
			name:  "PATCH is a write [beyond]",
			decls: []scopes.Decl{{Name: "doc", Methods: []string{"PATCH", "GET"}}},
			want: map[string]string{
				"doc:read":  "Ability to perform HTTP GET on the doc resource",
				"doc:write": "Ability to perform HTTP PATCH on the doc resource",
			},
		},
		{
			name:  "read groups GET HEAD OPTIONS sorted, unknown methods skipped",
			decls: []scopes.Decl{{Name: "doc", Methods: []string{"OPTIONS", "PROPFIND", "HEAD", "GET", "GET"}}},
			want:  map[string]string{"doc:read": "Ability to perform HTTP GET, HEAD, OPTIONS on the doc resource"},
		},
		{
			name:  "scope name defaults to the policy ID, description uses the name",
			decls: []scopes.Decl{{Name: "users", PolicyID: "user", Methods: []string{"GET"}}},
			want:  map[string]string{"user:read": "Ability to perform HTTP GET on the users resource"},
		},
		{
			name:  "explicit scope name",
			decls: []scopes.Decl{{Name: "users", PolicyID: "user", ScopeName: "people", Methods: []string{"DELETE"}}},
			want:  map[string]string{"people:destroy": "Ability to perform HTTP DELETE on the users resource"},
		},
		{
			name:  "closed to API tokens: scope name falls back to the name",
			decls: []scopes.Decl{{Name: "things", PolicyID: "thing", APITokenAccess: no(), Methods: []string{"GET"}}},
			want:  map[string]string{"things:read": "Ability to perform HTTP GET on the things resource"},
		},
		{
			name:  "closed to OAuth2 contributes nothing",
			decls: []scopes.Decl{{Name: "api_token", Methods: []string{"GET", "POST"}, OAuth2Access: no(), APITokenAccess: no()}},
			want:  map[string]string{},
		},
		{
			name: "later declaration with the same scope name overwrites, methods not merged",
			decls: []scopes.Decl{
				{Name: "a", ScopeName: "shared", Methods: []string{"GET", "POST"}},
				{Name: "b", ScopeName: "shared", Methods: []string{"HEAD"}},
			},
			want: map[string]string{
				"shared:read":  "Ability to perform HTTP HEAD on the b resource",
				"shared:write": "Ability to perform HTTP POST on the a resource",
			},
		},
		{
			name:  "resource description appended",
			decls: []scopes.Decl{{Name: "photos", Methods: []string{"GET"}, Description: "Your photo library"}},
			want:  map[string]string{"photos:read": "Ability to perform HTTP GET on the photos resource (Your photo library)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scopes.NewRegistry()
			for _, d := range tc.decls {
				if err := r.Add(d); err != nil {
					t.Fatal(err)
				}
			}
			if got := dictionary(r); !maps.Equal(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
			for name := range tc.want {
				if !r.HasScope(name) {
					t.Errorf("HasScope(%q) = false", name)
				}
			}
		})
	}
}

func TestRegistryAddRejects(t *testing.T) {
	tests := []struct {
		name string
		decl scopes.Decl
		want string
	}{
		{"empty name", scopes.Decl{}, "empty resource name"},
		{"upper-case name", scopes.Decl{Name: "Photos"}, `name: invalid scope: resource name "Photos" has character 'P'`},
		{"bad policy ID", scopes.Decl{Name: "p", PolicyID: "a b"}, "policy ID: invalid scope"},
		{"bad scope name", scopes.Decl{Name: "p", ScopeName: "x:y"}, "scope name: invalid scope"},
		{"lower-case method", scopes.Decl{Name: "p", Methods: []string{"get"}}, `method "get": want an upper-case HTTP method`},
		{"empty method", scopes.Decl{Name: "p", Methods: []string{""}}, `method "": want`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scopes.NewRegistry()
			err := r.Add(tc.decl)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Add error = %v; want one containing %q", err, tc.want)
			}
			if len(r.Decls()) != 0 {
				t.Fatal("a rejected declaration was added")
			}
		})
	}
}

func TestRegistryLookups(t *testing.T) {
	r := scopes.NewRegistry()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Add(scopes.Decl{Name: "session", Methods: []string{"GET"}}))
	must(r.Add(scopes.Decl{Name: "api_token", Methods: []string{"GET"}, OAuth2Access: no(), APITokenAccess: no()}))
	must(r.Add(scopes.Decl{Name: "users", PolicyID: "user", Methods: []string{"GET"}}))

	// Djblets (see docs/api-tokens.md, "Policy validation", step 7) knows every
	// resource's policy ID, open or not.
	for id, want := range map[string]bool{"session": true, "api_token": true, "user": true, "users": false, "": false} {
		if got := r.KnownPolicyID(id); got != want {
			t.Errorf("KnownPolicyID(%q) = %v; want %v", id, got, want)
		}
	}
	if got := strings.Join(r.ScopeNames(), " "); got != "session:read user:read" {
		t.Errorf("ScopeNames = %q", got)
	}
	if got := r.Unknown(mustSet(t, "openid session:read api_token:read")); strings.Join(got, " ") != "api_token:read openid" {
		t.Errorf("Unknown = %v", got)
	}
	d, ok := r.Lookup("user")
	if !ok || d.Name != "users" || d.ScopeName != "user" || d.Origin != scopes.OriginBuiltin {
		t.Fatalf("Lookup(user) = %+v, %v", d, ok)
	}
	d.Methods[0] = "POST"
	if again, _ := r.Lookup("user"); again.Methods[0] != "GET" {
		t.Fatal("Lookup exposed the registry's storage")
	}
	// Replacing a policy ID updates it in place.
	must(r.Add(scopes.Decl{Name: "users", PolicyID: "user", Methods: []string{"GET", "PUT"}}))
	if !r.HasScope("user:write") || len(r.Decls()) != 3 {
		t.Fatalf("replace: scopes %v, %d decls", r.ScopeNames(), len(r.Decls()))
	}
}

func TestRegistryReplaceOrigin(t *testing.T) {
	r := scopes.NewRegistry()
	if err := r.Add(scopes.Decl{Name: "session", Methods: []string{"GET"}}); err != nil {
		t.Fatal(err)
	}
	err := r.ReplaceOrigin(scopes.OriginRegistered, []scopes.Decl{
		{Name: "photos", Methods: []string{"GET"}},
		{Name: "session", Methods: []string{"GET", "DELETE"}}, // owned by builtin: refused
	})
	if err == nil || !strings.Contains(err.Error(), `policy ID "session" is already declared by builtin`) {
		t.Fatalf("ReplaceOrigin error = %v", err)
	}
	if !r.HasScope("photos:read") || r.HasScope("session:destroy") {
		t.Fatalf("scopes after ReplaceOrigin: %v", r.ScopeNames())
	}
	if d, _ := r.Lookup("photos"); d.Origin != scopes.OriginRegistered {
		t.Fatalf("origin = %q", d.Origin)
	}
	// A second replace drops what is no longer listed.
	if err := r.ReplaceOrigin(scopes.OriginRegistered, []scopes.Decl{{Name: "videos", Methods: []string{"GET"}}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.ScopeNames(), " "); got != "session:read videos:read" {
		t.Fatalf("ScopeNames = %q", got)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r := scopes.NewRegistry()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 200 {
				name := fmt.Sprintf("r%d-%d", w, i%10)
				_ = r.Add(scopes.Decl{Name: name, Methods: []string{"GET"}})
				if i%3 == 0 {
					r.Remove(name)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 200 {
				// Each snapshot is consistent: every listed scope has a
				// description and the declaring policy ID.
				for _, in := range r.Scopes() {
					if in.Description == "" || !strings.HasPrefix(in.Name, in.PolicyID+":") {
						t.Errorf("inconsistent scope %+v", in)
					}
				}
				_ = r.KnownPolicyID("r0-1")
			}
		}()
	}
	wg.Wait()
	for _, in := range r.Scopes() {
		if !r.HasScope(in.Name) {
			t.Fatalf("%s listed but unknown", in.Name)
		}
	}
}

func BenchmarkRegistryHasScope(b *testing.B) {
	r := scopes.NewRegistry()
	for i := range 50 {
		_ = r.Add(scopes.Decl{Name: fmt.Sprintf("res%d", i), Methods: []string{"GET", "POST", "DELETE"}})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.HasScope("res25:write")
	}
}
