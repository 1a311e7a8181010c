package mgmtapi_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/scopes"
)

// TestAPIResourceOwnership: a registration belongs to the client that made
// it; another resource-server client may neither replace nor remove it
// (403), an admin may; a scope name another resource declares — built in,
// configured or registered — is refused with 409 and changes nothing; an
// audience must be a valid URL and cannot be taken from another client.
func TestAPIResourceOwnership(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		// The application's hook admits the resource-server clients
		// "photos-server" and "albums-server".
		if err := h.registry.ReplaceOrigin(scopes.OriginConfig, []scopes.Decl{{Name: "billing", Methods: []string{"GET"}}}); err != nil {
			t.Fatal(err)
		}
		photos := h.bearer(nil, "photos-server", "resource:write resource:destroy")
		albums := h.bearer(nil, "albums-server", "resource:write resource:destroy")
		put := func(authz, id string, form url.Values) resp {
			return h.do(req{method: "PUT", path: mgmtapi.PathResources + id + "/", authz: authz, form: form})
		}
		del := func(authz, id string) resp {
			return h.do(req{method: "DELETE", path: mgmtapi.PathResources + id + "/", authz: authz})
		}
		mine := url.Values{"methods": {"GET PUT"}, "description": {"Photos"}, "audience": {"https://photos.example"}}
		if r := put(photos, "photos", mine); r.code != 201 || r.get("resource", "audience") != "https://photos.example" {
			t.Fatalf("register: %d %s", r.code, r.raw)
		}
		for _, tc := range []struct {
			name   string
			r      func() resp
			status int
			code   int
			field  string
		}{
			{"another client's PUT", func() resp { return put(albums, "photos", url.Values{"methods": {"GET"}, "description": {"Mine now"}}) }, 403, 101, ""},
			{"another client's DELETE", func() resp { return del(albums, "photos") }, 403, 101, ""},
			{"scope name of a built-in resource", func() resp {
				return put(albums, "albums", url.Values{"methods": {"GET"}, "scope_name": {"session"}, "description": {"Rewritten"}})
			}, 409, 111, ""},
			{"scope name of a configured resource", func() resp {
				return put(albums, "albums", url.Values{"methods": {"GET"}, "scope_name": {"billing"}})
			}, 409, 111, ""},
			{"scope name of a registered resource", func() resp {
				return put(albums, "albums", url.Values{"methods": {"GET"}, "scope_name": {"photos"}})
			}, 409, 111, ""},
			{"policy ID of a configured resource", func() resp {
				return put(albums, "billing", url.Values{"methods": {"GET"}})
			}, 409, 111, ""},
			{"another client's audience", func() resp {
				return put(albums, "albums", url.Values{"methods": {"GET"}, "audience": {"https://photos.example"}})
			}, 409, 111, ""},
			{"http audience off loopback", func() resp {
				return put(albums, "albums", url.Values{"methods": {"GET"}, "audience": {"http://albums.example"}})
			}, 400, 105, "audience"},
			{"audience with a fragment", func() resp {
				return put(albums, "albums", url.Values{"methods": {"GET"}, "audience": {"https://albums.example/#x"}})
			}, 400, 105, "audience"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.r()
				if r.code != tc.status || r.errCode() != tc.code {
					t.Fatalf("%d %s; want %d code %d", r.code, r.raw, tc.status, tc.code)
				}
				if tc.field != "" && r.get("fields", tc.field) == nil {
					t.Fatalf("no fields.%s in %s", tc.field, r.raw)
				}
			})
		}
		// Nothing changed: photos is as registered, the built-in session
		// scope keeps its text, albums exists nowhere.
		if desc, _ := h.registry.Describe("photos:read"); desc != "Ability to perform HTTP GET on the photos resource (Photos)" {
			t.Fatalf("photos:read = %q", desc)
		}
		if desc, _ := h.registry.Describe("session:read"); desc != "Ability to perform HTTP GET on the session resource" {
			t.Fatalf("session:read = %q", desc)
		}
		if h.registry.KnownPolicyID("albums") {
			t.Fatal("a refused registration reached the registry")
		}
		stored, err := h.store.List(context.Background())
		if err != nil || len(stored) != 1 || stored[0].PolicyID != "photos" || stored[0].Description != "Photos" {
			t.Fatalf("stored = %+v, %v", stored, err)
		}
		if owner, err := h.store.Owner(context.Background(), "photos"); err != nil || owner != h.clientID("photos-server") {
			t.Fatalf("owner = %q, %v", owner, err)
		}

		// The owner replaces its own registration; an admin may too, and
		// the registration stays the client's.
		if r := put(photos, "photos", url.Values{"methods": {"GET"}, "audience": {"https://photos.example"}}); r.code != 200 {
			t.Fatalf("owner replaces: %d %s", r.code, r.raw)
		}
		if r := put(h.basic("admin"), "photos", mine); r.code != 200 {
			t.Fatalf("admin replaces: %d %s", r.code, r.raw)
		}
		if owner, _ := h.store.Owner(context.Background(), "photos"); owner != h.clientID("photos-server") {
			t.Fatalf("owner after the admin's change = %q", owner)
		}
		if r := del(photos, "photos"); r.code != 204 {
			t.Fatalf("owner deletes: %d %s", r.code, r.raw)
		}
		// With photos gone, its audience and scope name are free.
		if r := put(albums, "albums", url.Values{"methods": {"GET"}, "scope_name": {"photos"}, "audience": {"https://photos.example"}}); r.code != 201 {
			t.Fatalf("albums after photos left: %d %s", r.code, r.raw)
		}
	})
}
