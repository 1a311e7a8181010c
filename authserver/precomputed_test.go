package authserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

// TestDiscoveryDocsFollowChanges: the metadata, discovery and JWKS
// documents are marshalled once and served as bytes, yet each equals the
// document built afresh, and follows a change at once: a scope added to
// the registry, a key published by rotation.
func TestDiscoveryDocsFollowChanges(t *testing.T) {
	d := dbtest.Open(t)
	reg := scopes.NewRegistry()
	if err := reg.AddScope("photos:read", "See photos"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := New(ctx, Deps{DB: d, Users: users.NewSQLStore(d), Scopes: reg}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s.Mount(r)
	get := func(path, wantType string, v any) {
		t.Helper()
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != wantType {
			t.Fatalf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	check := func(step string) {
		t.Helper()
		for range 2 { // the second answer comes from the precomputed bytes
			var m Metadata
			get(PathMetadata, "application/json; charset=utf-8", &m)
			if !reflect.DeepEqual(m, s.Metadata()) {
				t.Fatalf("%s: metadata served %+v, built %+v", step, m, s.Metadata())
			}
			var o OIDCMetadata
			get(PathOIDCDiscovery, "application/json; charset=utf-8", &o)
			if !reflect.DeepEqual(o, s.OIDCMetadata()) {
				t.Fatalf("%s: discovery served %+v, built %+v", step, o, s.OIDCMetadata())
			}
			var set, want signing.JWKS
			get(PathJWKS, "application/jwk-set+json", &set)
			if want, err = s.Keys.JWKS(ctx); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(set, want) {
				t.Fatalf("%s: JWKS served %+v, built %+v", step, set, want)
			}
		}
	}
	check("at start")
	if err := reg.AddScope("photos:write", "Change photos"); err != nil {
		t.Fatal(err)
	}
	check("after a scope is added")
	if !slices.Contains(s.Metadata().ScopesSupported, "photos:write") {
		t.Fatal("new scope missing from the metadata")
	}
	before, _ := s.Keys.JWKS(ctx)
	if _, err := s.Keys.Rotate(ctx, signing.AlgEdDSA, 0); err != nil {
		t.Fatal(err)
	}
	check("after a key rotation")
	if after, _ := s.Keys.JWKS(ctx); len(after.Keys) != len(before.Keys)+1 {
		t.Fatalf("rotation published %d keys, had %d", len(after.Keys), len(before.Keys))
	}
}
