package mgmtapi_test

import (
	"net/url"
	"testing"

	"github.com/authgate/authgate/internal/mgmtapi"
)

// TestAPIUpdateUserProfile: PUT /api/users/{username}/ sets the OpenID
// Connect profile. A user changes their own name and address (which clears
// email_verified) but may not mark it verified nor touch another user; an
// admin may do all of it; a malformed address is a 105 with nothing
// written.
func TestAPIUpdateUserProfile(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		put := func(who, username string, f url.Values) resp {
			return h.do(req{method: "PUT", path: mgmtapi.PathUsers + username + "/", authz: h.basic(who), form: f})
		}
		r := put("admin", "alice", url.Values{"fullname": {"Alice A"}, "email": {"alice@example.org"}, "email_verified": {"true"}})
		if r.code != 200 || r.get("user", "fullname") != "Alice A" || r.get("user", "email_verified") != true {
			t.Fatalf("admin update: %d %s", r.code, r.raw)
		}
		r = put("alice", "alice", url.Values{"fullname": {"Alice"}, "email": {"alice@example.net"}})
		if r.code != 200 || r.get("user", "email") != "alice@example.net" || r.get("user", "email_verified") != false {
			t.Fatalf("own update: %d %s", r.code, r.raw)
		}
		if r = put("alice", "alice", url.Values{"email_verified": {"true"}}); r.code != 400 || r.errCode() != 105 {
			t.Fatalf("self-verification: %d %s", r.code, r.raw)
		}
		if r = put("alice", "bob", url.Values{"fullname": {"x"}}); r.code != 403 {
			t.Fatalf("another user's profile: %d %s", r.code, r.raw)
		}
		if r = put("alice", "alice", url.Values{"email": {"not an address"}}); r.code != 400 || r.errCode() != 105 {
			t.Fatalf("bad address: %d %s", r.code, r.raw)
		}
		if r = h.do(req{method: "GET", path: mgmtapi.PathUsers + "alice/", authz: h.basic("alice")}); r.get("user", "email") != "alice@example.net" {
			t.Fatalf("after refusals: %s", r.raw)
		}
		if r = put("admin", "nobody", url.Values{"fullname": {"x"}}); r.code != 404 {
			t.Fatalf("unknown user: %d", r.code)
		}
	})
}
