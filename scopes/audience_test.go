package scopes

import (
	"errors"
	"testing"
)

func TestValidAudience(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"https://photos.example", true},
		{"https://photos.example/api", true},
		{"https://photos.example:8443/", true},
		{"http://127.0.0.1:8081", true},
		{"http://localhost:8081/", true},
		{"http://[::1]:8081", true},
		{"http://photos.example", false},
		{"https://photos.example/#frag", false},
		{"https://photos.example/?q=1", false},
		{"https://user@photos.example", false},
		{"/relative", false},
		{"urn:example:photos", false},
		{"ftp://photos.example", false},
		{"https://", false},
		{"", false},
	} {
		err := ValidAudience(tc.in)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidAudience)) {
			t.Errorf("ValidAudience(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestRegistryAudiences(t *testing.T) {
	r := NewRegistry()
	for _, d := range []Decl{
		{Name: "photos", Methods: []string{"GET", "PUT"}, Audience: "https://photos.example"},
		{Name: "albums", Methods: []string{"GET"}, Audience: "https://photos.example"},
		{Name: "plain", Methods: []string{"GET"}},
	} {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add(Decl{Name: "bad", Methods: []string{"GET"}, Audience: "http://photos.example"}); !errors.Is(err, ErrInvalidAudience) {
		t.Fatalf("Add with an http audience = %v", err)
	}
	if !r.KnownAudience("https://photos.example") || r.KnownAudience("https://other.example") || r.KnownAudience("") {
		t.Fatal("KnownAudience")
	}
	for scope, want := range map[string]string{"photos:write": "https://photos.example", "albums:read": "https://photos.example",
		"plain:read": "", "nope:read": ""} {
		if got := r.ScopeAudience(scope); got != want {
			t.Errorf("ScopeAudience(%q) = %q, want %q", scope, got, want)
		}
	}
	if id, ok := r.ScopeNameHolder("photos", "other"); !ok || id != "photos" {
		t.Fatalf("ScopeNameHolder(photos, other) = %q %v", id, ok)
	}
	if _, ok := r.ScopeNameHolder("photos", "photos"); ok {
		t.Fatal("a declaration holds its own scope name against itself")
	}
}
