package scopes_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authgate/authgate/scopes"
)

func TestForMethod(t *testing.T) {
	tests := []struct {
		method string
		want   scopes.Action
		ok     bool
	}{
		// Djblets HTTP_SCOPE_METHOD_MAP (docs/api-tokens.md, "OAuth2 scopes").
		{"GET", scopes.Read, true},
		{"HEAD", scopes.Read, true},
		{"OPTIONS", scopes.Read, true},
		{"POST", scopes.Write, true},
		{"PUT", scopes.Write, true},
		{"DELETE", scopes.Destroy, true},
		// [beyond] PATCH is a write (docs/architecture.md, "Scopes and resources").
		{"PATCH", scopes.Write, true},
		// Anything else maps to nothing.
		{"TRACE", "", false},
		{"CONNECT", "", false},
		{"PROPFIND", "", false},
		{"get", "", false},
		{"Delete", "", false},
		{"", "", false},
		{"*", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			got, ok := scopes.ForMethod(tc.method)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("ForMethod(%q) = %q, %v; want %q, %v", tc.method, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    scopes.Scope
		wantErr string // substring of the error; "" = success
	}{
		{"read", "review_request:read", scopes.Scope{Name: "review_request", Action: scopes.Read}, ""},
		{"write", "item-child:write", scopes.Scope{Name: "item-child", Action: scopes.Write}, ""},
		{"destroy", "list-child:destroy", scopes.Scope{Name: "list-child", Action: scopes.Destroy}, ""},
		{"dots and digits", "v2.photos:read", scopes.Scope{Name: "v2.photos", Action: scopes.Read}, ""},
		{"no colon", "photos", scopes.Scope{}, `missing ":<action>"`},
		{"empty name", ":read", scopes.Scope{}, "empty resource name"},
		{"empty action", "photos:", scopes.Scope{}, `unknown action ""`},
		{"unknown action", "photos:delete", scopes.Scope{}, `unknown action "delete" (want read, write or destroy)`},
		{"upper-case action", "photos:READ", scopes.Scope{}, `unknown action "READ"`},
		{"upper-case name", "Photos:read", scopes.Scope{}, `character 'P' at position 0`},
		{"leading underscore", "_x:read", scopes.Scope{}, `character '_' at position 0`},
		{"two colons", "a:b:read", scopes.Scope{}, `unknown action "b:read"`},
		{"space", "a b:read", scopes.Scope{}, `byte 0x20 at position 1`},
		{"too long", strings.Repeat("a", scopes.MaxNameLen+1) + ":read", scopes.Scope{}, "at most 100"},
		{"longest", strings.Repeat("a", scopes.MaxNameLen) + ":read", scopes.Scope{Name: strings.Repeat("a", scopes.MaxNameLen), Action: scopes.Read}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scopes.ParseScope(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseScope(%q): %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("ParseScope(%q) = %+v; want %+v", tc.in, got, tc.want)
				}
				if got.String() != tc.in {
					t.Fatalf("String() = %q; want %q", got.String(), tc.in)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseScope(%q) = %+v; want error containing %q", tc.in, got, tc.wantErr)
			}
			if !errors.Is(err, scopes.ErrInvalidScope) {
				t.Errorf("error %v does not wrap ErrInvalidScope", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseSet(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // canonical String()
		n       int
		wantErr string
	}{
		{"empty", "", "", 0, ""},
		{"one", "root:read", "root:read", 1, ""},
		{"sorted and deduplicated", "b:read a:write b:read openid", "a:write b:read openid", 3, ""},
		{"any RFC 6749 scope-token", "openid https://api.example/x!#$", "https://api.example/x!#$ openid", 2, ""},
		{"leading space", " a", "", 0, "empty scope at position 0"},
		{"trailing space", "a ", "", 0, "empty scope at position 2"},
		{"double space", "a  b", "", 0, "empty scope at position 2"},
		{"tab", "a\tb", "", 0, "byte 0x09 at position 1"},
		{"double quote", `a"b`, "", 0, `character '"' at position 1`},
		{"backslash", `a\b`, "", 0, `character '\\' at position 1`},
		{"non-ASCII", "caf\u00e9", "", 0, "byte 0xc3 at position 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scopes.ParseSet(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, scopes.ErrInvalidScopeString) {
					t.Fatalf("ParseSet(%q) error = %v; want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSet(%q): %v", tc.in, err)
			}
			if got.String() != tc.want || got.Len() != tc.n {
				t.Fatalf("ParseSet(%q) = %q (%d); want %q (%d)", tc.in, got.String(), got.Len(), tc.want, tc.n)
			}
		})
	}
}

func mustSet(t testing.TB, s string) scopes.Set {
	t.Helper()
	set, err := scopes.ParseSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestSetOperations(t *testing.T) {
	a := mustSet(t, "root:read session:read")
	b := mustSet(t, "session:read root:read user:write")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Has member", a.Has("root:read"), true},
		{"Has non-member", a.Has("root:write"), false},
		{"Has prefix only", a.Has("root"), false},
		{"HasScope", a.HasScope(scopes.Scope{Name: "session", Action: scopes.Read}), true},
		{"subset", a.SubsetOf(b), true},
		{"not subset", b.SubsetOf(a), false},
		{"empty subset of anything", scopes.Set{}.SubsetOf(a), true},
		{"self subset", a.SubsetOf(a), true},
		{"union", a.Union(mustSet(t, "z:read")).String(), "root:read session:read z:read"},
		{"intersect", b.Intersect(mustSet(t, "user:write x:read root:read")).String(), "root:read user:write"},
		{"equal", a.Equal(mustSet(t, "session:read root:read root:read")), true},
		{"not equal", a.Equal(b), false},
		{"zero empty", scopes.Set{}.Empty(), true},
		{"zero string", scopes.Set{}.String(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %v; want %v", tc.got, tc.want)
			}
		})
	}
	items := a.Items()
	items[0] = "mutated"
	if !a.Has("root:read") {
		t.Fatal("Items() exposed the set's storage")
	}
}

func TestNewSet(t *testing.T) {
	s, err := scopes.NewSet("b:read", "a:read", "b:read")
	if err != nil || s.String() != "a:read b:read" {
		t.Fatalf("NewSet = %q, %v", s, err)
	}
	for _, bad := range []string{"", "a b", `a"`} {
		if _, err := scopes.NewSet(bad); err == nil {
			t.Errorf("NewSet(%q) accepted", bad)
		}
	}
}

func TestSetHasDoesNotAllocate(t *testing.T) {
	s := mustSet(t, "a:read b:read c:write d:destroy e:read f:read")
	if n := testing.AllocsPerRun(100, func() { _ = s.Has("d:destroy") }); n != 0 {
		t.Fatalf("Has allocates %v times", n)
	}
}

func FuzzParseSet(f *testing.F) {
	for _, s := range []string{"", "a:read", "b a", "a  b", " x", "openid profile", "\x7f", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := scopes.ParseSet(in)
		if err != nil {
			return
		}
		// The canonical form parses back to the same set, and every member
		// of the input is in it.
		back, err := scopes.ParseSet(s.String())
		if err != nil || !back.Equal(s) {
			t.Fatalf("round trip of %q: %q, %v", in, back, err)
		}
		for _, tok := range strings.Split(in, " ") {
			if in != "" && !s.Has(tok) {
				t.Fatalf("%q lost %q", in, tok)
			}
		}
	})
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"a:read", ":", "a:b:c", "A:write", "x.y-z_1:destroy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sc, err := scopes.ParseScope(in)
		if err != nil {
			return
		}
		if sc.String() != in || !sc.Action.Valid() || scopes.ValidName(sc.Name) != nil {
			t.Fatalf("ParseScope(%q) = %+v", in, sc)
		}
	})
}
