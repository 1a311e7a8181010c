package mgmtapi_test

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/scopes"
)

// TestAPISession: GET /api/session/ answers every credential type.
func TestAPISession(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		full, tok := h.apiToken(h.alice, `{}`)
		blocked, _ := h.apiToken(h.alice, `{"resources":{"session":{"*":{"block":["*"]}}}}`)
		cookie, _ := h.session(h.alice)
		tests := []struct {
			name   string
			r      req
			status int
			code   int
			check  func(t *testing.T, r resp)
		}{
			{"api token", req{authz: "token " + full}, 200, 0, func(t *testing.T, r resp) {
				if r.get("session", "auth_method") != "api_token" || r.get("session", "token_id") != idString(tok.ID) ||
					r.get("session", "user", "username") != "alice" || r.get("session", "policy") == nil {
					t.Fatalf("%s", r.raw)
				}
			}},
			{"api token blocked from session", req{authz: "token " + blocked}, 403, 101, nil},
			{"oauth2 with session:read", req{authz: h.bearer(&h.alice, "client-9", "session:read user:read")}, 200, 0, func(t *testing.T, r resp) {
				sc, _ := r.get("session", "scopes").([]any)
				if r.get("session", "auth_method") != "oauth2" || r.get("session", "client_id") != h.clientID("client-9") || len(sc) != 2 || r.get("session", "user", "username") != "alice" {
					t.Fatalf("%s", r.raw)
				}
			}},
			{"oauth2 without session:read", req{authz: h.bearer(&h.alice, "client-9", "user:read")}, 403, 112, nil},
			{"oauth2 client credentials", req{authz: h.bearer(nil, "svc", "session:read")}, 200, 0, func(t *testing.T, r resp) {
				if r.get("session", "user") != nil || r.get("session", "client_id") != h.clientID("svc") {
					t.Fatalf("%s", r.raw)
				}
			}},
			{"basic", req{authz: h.basic("admin")}, 200, 0, func(t *testing.T, r resp) {
				if r.get("session", "auth_method") != "basic" || r.get("session", "user", "is_admin") != true {
					t.Fatalf("%s", r.raw)
				}
			}},
			{"session cookie", req{cookie: cookie}, 200, 0, func(t *testing.T, r resp) {
				if r.get("session", "auth_method") != "session" {
					t.Fatalf("%s", r.raw)
				}
			}},
			{"anonymous", req{}, 200, 0, func(t *testing.T, r resp) {
				if r.get("session", "authenticated") != false {
					t.Fatalf("%s", r.raw)
				}
			}},
			{"malformed header", req{authz: "token"}, 401, 104, nil},
			{"token with its last character changed", req{authz: "token " + full[:len(full)-1] + flip(full[len(full)-1])}, 401, 104, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.r.method, tc.r.path = "GET", mgmtapi.PathSession
				r := h.do(tc.r)
				if r.code != tc.status || r.errCode() != tc.code {
					t.Fatalf("%d %s; want %d code %d", r.code, r.raw, tc.status, tc.code)
				}
				if tc.check != nil {
					tc.check(t, r)
				}
			})
		}
	})
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

// TestAPIRootAndUsers: the root lists links and scopes; users are listed
// with list filtering by username (Djblets; see
// docs/api-tokens.md, "List filtering") and e-mail only for self
// or admins.
func TestAPIRootAndUsers(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		root := h.do(req{method: "GET", path: mgmtapi.PathRoot})
		if root.code != 200 || root.get("links", "session", "href") != mgmtapi.PathSession {
			t.Fatalf("root: %d %s", root.code, root.raw)
		}
		var names []string
		for _, s := range root.get("scopes").([]any) {
			names = append(names, s.(map[string]any)["name"].(string))
		}
		// Closed resources (api_token, oauth_app) contribute no scopes; the
		// OpenID Connect scopes are listed as the server knows them.
		want := []string{"email", "openid", "profile", "resource:destroy", "resource:read", "resource:write", "root:read", "session:read", "user:read", "user:write"}
		if !slices.Equal(names, want) {
			t.Fatalf("scopes = %v; want %v", names, want)
		}

		hideBob, _ := h.apiToken(h.alice, `{"resources":{"user":{"bob":{"block":["GET"]}}}}`)
		tests := []struct {
			name      string
			r         req
			status    int
			code      int
			usernames []string
			email     map[string]bool
		}{
			{"basic sees all, own e-mail only", req{method: "GET", path: mgmtapi.PathUsers, authz: h.basic("alice")}, 200, 0,
				[]string{"admin", "alice", "bob"}, map[string]bool{"alice": true, "bob": false, "admin": false}},
			{"admin sees every e-mail", req{method: "GET", path: mgmtapi.PathUsers, authz: h.basic("admin")}, 200, 0,
				[]string{"admin", "alice", "bob"}, map[string]bool{"alice": true, "bob": true}},
			{"policy hides bob from the list", req{method: "GET", path: mgmtapi.PathUsers, authz: "token " + hideBob}, 200, 0,
				[]string{"admin", "alice"}, nil},
			{"policy blocks bob's item", req{method: "GET", path: mgmtapi.PathUsers + "bob/", authz: "token " + hideBob}, 403, 101, nil, nil},
			{"policy allows alice's item", req{method: "GET", path: mgmtapi.PathUsers + "alice/", authz: "token " + hideBob}, 200, 0, nil, map[string]bool{"alice": true}},
			{"oauth2 user:read", req{method: "GET", path: mgmtapi.PathUsers, authz: h.bearer(&h.bob, "c", "user:read")}, 200, 0, []string{"admin", "alice", "bob"}, nil},
			{"oauth2 without user:read", req{method: "GET", path: mgmtapi.PathUsers, authz: h.bearer(&h.bob, "c", "session:read")}, 403, 112, nil, nil},
			{"unknown user", req{method: "GET", path: mgmtapi.PathUsers + "nobody/", authz: h.basic("alice")}, 404, 100, nil, nil},
			{"anonymous", req{method: "GET", path: mgmtapi.PathUsers}, 401, 103, nil, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(tc.r)
				if r.code != tc.status || r.errCode() != tc.code {
					t.Fatalf("%d %s; want %d code %d", r.code, r.raw, tc.status, tc.code)
				}
				var list []any
				if l, ok := r.get("users").([]any); ok {
					list = l
				} else if u, ok := r.get("user").(map[string]any); ok {
					list = []any{u}
				}
				if tc.usernames != nil {
					var got []string
					for _, u := range list {
						got = append(got, u.(map[string]any)["username"].(string))
					}
					if !slices.Equal(got, tc.usernames) || r.get("total_results") != float64(len(got)) {
						t.Fatalf("users = %v (total %v); want %v", got, r.get("total_results"), tc.usernames)
					}
				}
				for _, u := range list {
					m := u.(map[string]any)
					want, check := tc.email[m["username"].(string)]
					if _, has := m["email"]; check && has != want {
						t.Errorf("%s: e-mail shown = %v; want %v", m["username"], has, want)
					}
				}
			})
		}
	})
}

// TestAPIResourceRegistry: PUT /api/resources/{policy_id}/ by admins and
// by the RegistrarAllowed hook, persisted so other instances load it, and
// immediately usable in policies and as scopes.
func TestAPIResourceRegistry(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		// The application's hook admits resource-server clients (h.client
		// registers "…-server" as one): "photos-server" and not "other".
		adminTok, _ := h.apiToken(h.admin, `{}`)
		photos := url.Values{"methods": {"GET POST,DELETE"}, "description": {"Your photo library"}}
		tests := []struct {
			name   string
			r      req
			status int
			code   int
			field  string
		}{
			{"admin basic creates", req{method: "PUT", path: mgmtapi.PathResources + "photos/", authz: h.basic("admin"), form: photos}, 201, 0, ""},
			{"admin basic replaces", req{method: "PUT", path: mgmtapi.PathResources + "photos/", authz: h.basic("admin"), json: `{"methods":["GET","PUT"],"description":"Your photo library"}`}, 200, 0, ""},
			{"non-admin refused", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: h.basic("alice"), form: photos}, 403, 101, ""},
			{"admin's API token refused", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: "token " + adminTok, form: photos}, 403, 101, ""},
			{"resource-server client allowed by the hook", req{method: "PUT", path: mgmtapi.PathResources + "videos/", authz: h.bearer(nil, "photos-server", "resource:write"), form: url.Values{"methods": {"GET"}, "api_token_access": {"false"}}}, 201, 0, ""},
			{"other client refused by the hook", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: h.bearer(nil, "other", "resource:write"), form: photos}, 403, 101, ""},
			{"hook client still needs the scope", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: h.bearer(nil, "photos-server", "resource:read"), form: photos}, 403, 112, ""},
			{"built-in policy ID", req{method: "PUT", path: mgmtapi.PathResources + "session/", authz: h.basic("admin"), form: photos}, 409, 111, ""},
			{"bad policy ID", req{method: "PUT", path: mgmtapi.PathResources + "Photos/", authz: h.basic("admin"), form: photos}, 400, 105, "policy_id"},
			{"no methods", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: h.basic("admin"), form: url.Values{}}, 400, 105, "methods"},
			{"lower-case method", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: h.basic("admin"), form: url.Values{"methods": {"get"}}}, 400, 105, "methods"},
			{"bad scope name", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: h.basic("admin"), form: url.Values{"methods": {"GET"}, "scope_name": {"a:b"}}}, 400, 105, "scope_name"},
			{"bad boolean", req{method: "PUT", path: mgmtapi.PathResources + "x/", authz: h.basic("admin"), form: url.Values{"methods": {"GET"}, "oauth2_access": {"yes"}}}, 400, 105, "oauth2_access"},
			{"anyone logged in may read", req{method: "GET", path: mgmtapi.PathResources + "photos/", authz: h.basic("alice")}, 200, 0, ""},
			{"unknown resource", req{method: "GET", path: mgmtapi.PathResources + "nope/", authz: h.basic("alice")}, 404, 100, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(tc.r)
				if r.code != tc.status || r.errCode() != tc.code {
					t.Fatalf("%d %s; want %d code %d", r.code, r.raw, tc.status, tc.code)
				}
				if tc.field != "" && r.get("fields", tc.field) == nil {
					t.Fatalf("no fields.%s in %s", tc.field, r.raw)
				}
			})
		}
		// The registry now knows photos: scopes, descriptions, policy IDs.
		if d, ok := h.registry.Describe("photos:write"); !ok || d != "Ability to perform HTTP PUT on the photos resource (Your photo library)" {
			t.Fatalf("photos:write = %q, %v", d, ok)
		}
		if h.registry.HasScope("photos:destroy") {
			t.Fatal("replacement kept the old DELETE method")
		}
		if _, _, err := h.tokens.Generate(context.Background(), generateParams(h, `{"resources":{"photos":{"*":{"allow":["GET"]}}}}`)); err != nil {
			t.Fatalf("policy naming a registered resource: %v", err)
		}
		// Another instance on the same database loads the registrations.
		other := scopes.NewRegistry()
		if err := mgmtapi.DeclareBuiltins(other); err != nil {
			t.Fatal(err)
		}
		if err := mgmtapi.NewResourceStore(h.d, nil).Load(context.Background(), other); err != nil {
			t.Fatal(err)
		}
		if !other.KnownPolicyID("photos") || !other.HasScope("videos:read") {
			t.Fatalf("second instance: %v", other.ScopeNames())
		}
		if dd, _ := other.Lookup("videos"); dd.AllowsAPITokens() || dd.Origin != scopes.OriginRegistered {
			t.Fatalf("videos = %+v", dd)
		}

		// DELETE: registered only, then gone everywhere.
		if r := h.do(req{method: "DELETE", path: mgmtapi.PathResources + "session/", authz: h.basic("admin")}); r.code != 409 {
			t.Fatalf("delete built-in: %d %s", r.code, r.raw)
		}
		if r := h.do(req{method: "DELETE", path: mgmtapi.PathResources + "photos/", authz: h.basic("admin")}); r.code != 204 {
			t.Fatalf("delete: %d %s", r.code, r.raw)
		}
		if r := h.do(req{method: "DELETE", path: mgmtapi.PathResources + "photos/", authz: h.basic("admin")}); r.code != 404 {
			t.Fatalf("delete again: %d %s", r.code, r.raw)
		}
		if h.registry.KnownPolicyID("photos") {
			t.Fatal("photos still registered")
		}
		if err := mgmtapi.NewResourceStore(h.d, nil).Load(context.Background(), other); err != nil || other.KnownPolicyID("photos") {
			t.Fatalf("second instance after delete: %v %v", err, other.KnownPolicyID("photos"))
		}
		list := h.do(req{method: "GET", path: mgmtapi.PathResources, authz: h.basic("alice")})
		if list.code != 200 || list.get("total_results") != float64(len(h.registry.Decls())) {
			t.Fatalf("list: %s", list.raw)
		}
	})
}

// TestAPIHead: GET routes answer HEAD, authorized as a read; a policy can
// block HEAD alone (methods are compared exactly, Djblets (see
// docs/api-tokens.md, "Policy grammar")).
func TestAPIHead(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		full, _ := h.apiToken(h.alice, `{}`)
		noHead, _ := h.apiToken(h.alice, `{"resources":{"session":{"*":{"block":["HEAD"]}}}}`)
		for _, tc := range []struct {
			name, method, authz string
			status              int
		}{
			{"HEAD with a full-access token", "HEAD", "token " + full, 200},
			{"HEAD blocked by policy", "HEAD", "token " + noHead, 403},
			{"GET still allowed for that token", "GET", "token " + noHead, 200},
			{"HEAD with a bearer token holding session:read", "HEAD", h.bearer(&h.alice, "c", "session:read"), 200},
			{"HEAD with a bearer token lacking it", "HEAD", h.bearer(&h.alice, "c", "user:read"), 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(req{method: tc.method, path: mgmtapi.PathSession, authz: tc.authz})
				if r.code != tc.status {
					t.Fatalf("%s %s: %d %s; want %d", tc.method, mgmtapi.PathSession, r.code, r.raw, tc.status)
				}
			})
		}
	})
}
