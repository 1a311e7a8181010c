package authserver

import (
	"slices"
	"testing"

	"github.com/authgate/authgate/scopes"
)

const photosAudience = "https://photos.example"

func TestResolveAudience(t *testing.T) {
	reg := scopes.NewRegistry()
	for _, d := range []scopes.Decl{
		{Name: "photos", Methods: []string{"GET", "PUT"}, Audience: photosAudience},
		{Name: "albums", Methods: []string{"GET"}, Audience: photosAudience},
		{Name: "mail", Methods: []string{"GET"}, Audience: "https://mail.example"},
		{Name: "plain", Methods: []string{"GET"}},
	} {
		if err := reg.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	const own = "https://auth.example"
	for _, tc := range []struct {
		name     string
		resource []string
		scope    string
		want     []string
		err      bool
	}{
		{"no resource, no audience", nil, "plain:read", nil, false},
		{"default: every scope of one audience", nil, "photos:read photos:write", []string{photosAudience}, false},
		{"default: two resources, same audience", nil, "photos:read albums:read", []string{photosAudience}, false},
		{"default: mixed audiences", nil, "photos:read mail:read", nil, false},
		{"default: one scope without audience", nil, "photos:read plain:read", nil, false},
		{"default: no scope", nil, "", nil, false},
		{"resource named", []string{photosAudience}, "plain:read", []string{photosAudience}, false},
		{"resources repeat, sorted, deduplicated", []string{"https://mail.example", photosAudience, photosAudience}, "",
			[]string{"https://mail.example", photosAudience}, false},
		{"own audience", []string{own}, "photos:read", []string{own}, false},
		{"unknown", []string{"https://evil.example"}, "", nil, true},
		{"relative", []string{"/photos"}, "", nil, true},
		{"fragment", []string{photosAudience + "#x"}, "", nil, true},
		{"one bad among good", []string{photosAudience, "https://evil.example"}, "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := scopes.ParseSet(tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			got, e := resolveAudience(reg, own, tc.resource, set)
			if (e != nil) != tc.err || (e != nil && e.Code != codeInvalidTarget) {
				t.Fatalf("error = %v, want error %v", e, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("audience = %v, want %v", got, tc.want)
			}
		})
	}
	if got, e := narrowAudience([]string{own, photosAudience}, []string{photosAudience}); e != nil || !slices.Equal(got, []string{photosAudience}) {
		t.Fatalf("narrow = %v %v", got, e)
	}
	if _, e := narrowAudience([]string{own}, []string{photosAudience}); e == nil || e.Code != codeInvalidTarget {
		t.Fatalf("widening = %v, want invalid_target", e)
	}
}
