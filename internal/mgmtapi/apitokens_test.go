package mgmtapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/tokens"
)

func tokensPath(user string) string { return "/api/users/" + user + "/api-tokens/" }

// TestAPITokenResourceAccess: owner or admin with a password or session
// login; never an API token or an OAuth2 token (Review Board).
func TestAPITokenResourceAccess(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		full, _ := h.apiToken(h.alice, `{}`)
		adminFull, _ := h.apiToken(h.admin, `{}`)
		cookie, csrf := h.session(h.alice)
		tests := []struct {
			name   string
			r      req
			status int
			code   int
		}{
			{"owner basic list", req{method: "GET", path: tokensPath("alice"), authz: h.basic("alice")}, 200, 0},
			{"owner session list", req{method: "GET", path: tokensPath("alice"), cookie: cookie}, 200, 0},
			{"admin basic list of another user", req{method: "GET", path: tokensPath("alice"), authz: h.basic("admin")}, 200, 0},
			{"other user basic", req{method: "GET", path: tokensPath("alice"), authz: h.basic("bob")}, 403, 101},
			{"unknown user", req{method: "GET", path: tokensPath("nobody"), authz: h.basic("admin")}, 404, 100},
			{"owner api token (full access)", req{method: "GET", path: tokensPath("alice"), authz: "token " + full}, 403, 101},
			{"admin api token (full access)", req{method: "POST", path: tokensPath("alice"), authz: "token " + adminFull, form: url.Values{"note": {"x"}, "policy": {"{}"}}}, 403, 101},
			// The authorization server issues no api_token:* scope (the
			// resource takes no OAuth2 tokens): any OAuth2 token is refused.
			{"oauth2 token", req{method: "GET", path: tokensPath("alice"), authz: h.bearer(&h.alice, "c1", "root:read")}, 403, 113},
			{"anonymous", req{method: "GET", path: tokensPath("alice")}, 401, 103},
			{"session POST without CSRF", req{method: "POST", path: tokensPath("alice"), cookie: cookie, form: url.Values{"note": {"x"}, "policy": {"{}"}}}, 403, 101},
			{"session POST with CSRF", req{method: "POST", path: tokensPath("alice"), cookie: cookie, csrf: csrf, form: url.Values{"note": {"x"}, "policy": {"{}"}}}, 201, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(tc.r)
				if r.code != tc.status || r.errCode() != tc.code {
					t.Fatalf("%d %s; want %d code %d", r.code, r.raw, tc.status, tc.code)
				}
			})
		}
	})
}

// TestAPITokenLifecycle: create (raw token once), list, show, update,
// invalidate, delete, with Review Board's fields and messages.
func TestAPITokenLifecycle(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		alice := h.basic("alice")

		// POST: 201, raw token in the response, Review Board's fields.
		r := h.do(req{method: "POST", path: tokensPath("alice"), authz: alice, form: url.Values{
			"note": {"CI"}, "policy": {`{"resources":{"session":{"*":{"allow":["*"]}}}}`}, "expires": {"2099-01-02T03:04:05Z"},
		}})
		if r.code != 201 || r.get("stat") != "ok" {
			t.Fatalf("create: %d %s", r.code, r.raw)
		}
		raw, _ := r.get("api_token", "token").(string)
		if !strings.HasPrefix(raw, "agp_") {
			t.Fatalf("no raw token in the POST response: %s", r.raw)
		}
		for _, f := range []string{"id", "token_generator_id", "note", "policy", "extra_data", "time_added", "last_updated", "last_used", "expires", "expired", "deprecated", "valid", "invalid_date", "invalid_reason"} {
			if _, ok := r.get("api_token").(map[string]any)[f]; !ok {
				t.Errorf("field %q missing", f)
			}
		}
		if r.get("api_token", "expires") != "2099-01-02T03:04:05Z" || r.get("api_token", "policy", "resources") == nil || r.get("api_token", "valid") != true {
			t.Fatalf("create body: %s", r.raw)
		}
		id := fmt.Sprint(r.get("api_token", "id"))
		item := tokensPath("alice") + id + "/"

		// The new token works, and never appears again.
		if s := h.do(req{method: "GET", path: "/api/session/", authz: "token " + raw}); s.code != 200 || s.get("session", "auth_method") != "api_token" {
			t.Fatalf("new token: %d %s", s.code, s.raw)
		}
		list := h.do(req{method: "GET", path: tokensPath("alice"), authz: alice})
		show := h.do(req{method: "GET", path: item, authz: alice})
		if list.code != 200 || list.get("total_results") != float64(1) || show.code != 200 || show.get("api_token", "note") != "CI" {
			t.Fatalf("list %s / show %s", list.raw, show.raw)
		}
		for _, body := range []string{list.raw, show.raw, h.logs.String()} {
			if strings.Contains(body, raw) {
				t.Fatal("the raw token appeared outside the POST response")
			}
		}
		if _, ok := show.get("api_token").(map[string]any)["token"]; ok {
			t.Fatal("GET returned a token field")
		}

		// PUT: note, policy, expires in one update.
		r = h.do(req{method: "PUT", path: item, authz: alice, json: `{"note":"CI 2","policy":{"resources":{"*":{"allow":["GET"],"block":["*"]}}},"expires":""}`})
		if r.code != 200 || r.get("api_token", "note") != "CI 2" || r.get("api_token", "expires") != nil || r.get("api_token", "policy", "resources", "*") == nil {
			t.Fatalf("update: %d %s", r.code, r.raw)
		}

		// PUT valid=false invalidates in one update (Review Board's
		// invalidate-then-save bug, docs/api-tokens.md, "Errors and codes", is not copied).
		r = h.do(req{method: "PUT", path: item, authz: alice, form: url.Values{"valid": {"false"}, "invalid_reason": {"Leaked."}}})
		if r.code != 200 || r.get("api_token", "valid") != false || r.get("api_token", "invalid_reason") != "Leaked." || r.get("api_token", "invalid_date") == nil {
			t.Fatalf("invalidate: %d %s", r.code, r.raw)
		}
		again := h.do(req{method: "GET", path: item, authz: alice})
		if again.get("api_token", "valid") != false {
			t.Fatalf("invalidation was undone: %s", again.raw)
		}
		s := h.do(req{method: "GET", path: "/api/session/", authz: "token " + raw})
		if s.code != 401 || !strings.HasPrefix(s.errMsg(), "This API token became invalid on ") || !strings.HasSuffix(s.errMsg(), ": Leaked.") {
			t.Fatalf("invalidated token: %d %s", s.code, s.raw)
		}
		// A second invalidation keeps the first reason (docs/api-tokens.md, "Deliberate differences").
		r = h.do(req{method: "PUT", path: item, authz: alice, form: url.Values{"valid": {"false"}, "invalid_reason": {"Other."}}})
		if r.code != 200 || r.get("api_token", "invalid_reason") != "Leaked." {
			t.Fatalf("re-invalidate: %d %s", r.code, r.raw)
		}

		// DELETE: 204, then 404.
		if r = h.do(req{method: "DELETE", path: item, authz: alice}); r.code != 204 || r.raw != "" {
			t.Fatalf("delete: %d %q", r.code, r.raw)
		}
		if r = h.do(req{method: "GET", path: item, authz: alice}); r.code != 404 || r.errCode() != 100 {
			t.Fatalf("after delete: %d %s", r.code, r.raw)
		}
	})
}

// TestAPITokenFormErrors: 105 with per-field messages (Djblets' and Review
// Board's texts), 404 for another user's token, no _method override.
func TestAPITokenFormErrors(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		alice := h.basic("alice")
		_, tok := h.apiToken(h.alice, `{}`)
		_, bobTok := h.apiToken(h.bob, `{}`)
		item := tokensPath("alice") + fmt.Sprint(tok.ID) + "/"
		tests := []struct {
			name   string
			r      req
			status int
			code   int
			field  string
			msg    string
		}{
			{"POST missing note and policy", req{method: "POST", path: tokensPath("alice"), authz: alice, form: url.Values{}}, 400, 105, "note", "This field is required."},
			{"POST policy not JSON", req{method: "POST", path: tokensPath("alice"), authz: alice, form: url.Values{"note": {"n"}, "policy": {"{nope"}}}, 400, 105, "policy", "The policy is not valid JSON: "},
			{"POST policy not an object (V2)", req{method: "POST", path: tokensPath("alice"), authz: alice, form: url.Values{"note": {"n"}, "policy": {"[]"}}}, 400, 105, "policy", "The policy must be a JSON object."},
			{"POST unknown policy ID (V13)", req{method: "POST", path: tokensPath("alice"), authz: alice, form: url.Values{"note": {"n"}, "policy": {`{"resources":{"foobar":{"*":{"allow":["*"]}}}}`}}}, 400, 105, "policy", `"foobar" is not a valid resource policy ID.`},
			{"POST section without rules (V7)", req{method: "POST", path: tokensPath("alice"), authz: alice, json: `{"note":"n","policy":"{\"resources\":{\"*\":{}}}"}`}, 400, 105, "policy", `The "resources.*" section must have "allow" and/or "block" rules.`},
			{"POST bad expires", req{method: "POST", path: tokensPath("alice"), authz: alice, form: url.Values{"note": {"n"}, "policy": {"{}"}, "expires": {"tomorrow"}}}, 400, 105, "expires", "RFC 3339"},
			{"POST extra_data not an object", req{method: "POST", path: tokensPath("alice"), authz: alice, json: `{"note":"n","policy":{},"extra_data":[1]}`}, 400, 105, "extra_data", "JSON object"},
			{"POST body not a JSON object", req{method: "POST", path: tokensPath("alice"), authz: alice, json: `[1]`}, 400, 105, "", "The request body must be a JSON object."},
			{"PUT valid=true", req{method: "PUT", path: item, authz: alice, form: url.Values{"valid": {"true"}}}, 400, 105, "valid", "This can only be used to invalidate the token. You cannot set valid to true."},
			{"PUT valid=maybe", req{method: "PUT", path: item, authz: alice, form: url.Values{"valid": {"maybe"}}}, 400, 105, "valid", "Must be true or false."},
			{"PUT invalid_reason alone", req{method: "PUT", path: item, authz: alice, form: url.Values{"invalid_reason": {"x"}}}, 400, 105, "invalid_reason", "valid=false"},
			{"PUT bad policy", req{method: "PUT", path: item, authz: alice, form: url.Values{"policy": {`{"resources":{"session":[]}}`}}}, 400, 105, "policy", `The "resources.session" section must be a JSON object.`},
			{"another user's token under alice", req{method: "GET", path: tokensPath("alice") + fmt.Sprint(bobTok.ID) + "/", authz: alice}, 404, 100, "", ""},
			{"non-numeric ID", req{method: "GET", path: tokensPath("alice") + "abc/", authz: alice}, 404, 100, "", ""},
			{"_method override is not supported", req{method: "POST", path: item, authz: alice, form: url.Values{"_method": {"DELETE"}}}, 405, 0, "", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(tc.r)
				if r.code != tc.status || r.errCode() != tc.code {
					t.Fatalf("%d %s; want %d code %d", r.code, r.raw, tc.status, tc.code)
				}
				switch {
				case tc.field != "":
					msgs, _ := r.get("fields", tc.field).([]any)
					if len(msgs) != 1 || !strings.Contains(msgs[0].(string), tc.msg) {
						t.Fatalf("fields.%s = %v; want %q", tc.field, r.get("fields"), tc.msg)
					}
				case tc.msg != "":
					if !strings.Contains(r.errMsg(), tc.msg) {
						t.Fatalf("msg %q; want %q", r.errMsg(), tc.msg)
					}
				}
			})
		}
		if got, err := h.tokens.Get(context.Background(), tok.ID); err != nil || !got.Valid || got.Note != "t" {
			t.Fatalf("a refused request changed the token: %+v %v", got, err)
		}
	})
}

// collidingGenerator always makes the same token, so every generation
// after the first collides: Generate gives up with ErrTokenGeneration.
type collidingGenerator struct{ n atomic.Int32 }

func (*collidingGenerator) ID() string { return "colliding" }
func (g *collidingGenerator) Create(tokens.TokenInfo) (string, error) {
	g.n.Add(1)
	return "colliding_0123456789abcdefghijklmnopqrstuv", nil
}
func (*collidingGenerator) Validate(tok string, _ tokens.TokenInfo) bool {
	return strings.HasPrefix(tok, "colliding_")
}
func (*collidingGenerator) DisplayPrefix(string, tokens.TokenInfo) string { return "colliding_" }

// TestAPITokenGenerationFailure: 228 when no unique token can be made.
func TestAPITokenGenerationFailure(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		gen := &collidingGenerator{}
		h := newHarness(t, e, harnessOpts{tokenOpts: func(o *tokens.Options) {
			reg, err := tokens.NewRegistry(tokens.VendorChecksum{}, gen)
			if err != nil {
				t.Fatal(err)
			}
			o.Registry, o.DefaultGenerator, o.MaxAttempts = reg, "colliding", 3
		}})
		form := url.Values{"note": {"n"}, "policy": {"{}"}}
		if r := h.do(req{method: "POST", path: tokensPath("alice"), authz: h.basic("alice"), form: form}); r.code != 201 {
			t.Fatalf("first: %d %s", r.code, r.raw)
		}
		r := h.do(req{method: "POST", path: tokensPath("alice"), authz: h.basic("alice"), form: form})
		if r.code != 500 || r.errCode() != 228 || r.errMsg() != "Could not create a unique API token. Please try again." {
			t.Fatalf("collision: %d %s", r.code, r.raw)
		}
		if n := gen.n.Load(); n != 1+3 {
			t.Fatalf("generator called %d times; want 4", n)
		}
	}, apiEnv)
}

func generateParams(h *harness, pol string) tokens.GenerateParams {
	return tokens.GenerateParams{User: h.alice, Note: "n", Policy: []byte(pol)}
}
