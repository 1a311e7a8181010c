package resources_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// matrixMethods: each action's methods, PATCH, and a method no scope maps.
var matrixMethods = []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "PROPFIND"}

// matrixRouter mounts one test resource of each kind, answering every
// matrix method with {"stat":"ok","auth":<method>}.
func matrixRouter(g *resources.Guard) *gin.Engine {
	r := gin.New()
	ok := func(c *gin.Context) {
		auth := ""
		if p, found := resources.PrincipalFrom(c); found {
			auth = string(p.Method)
		}
		c.JSON(http.StatusOK, gin.H{"stat": "ok", "auth": auth})
	}
	add := func(path string, res resources.Resource) {
		h := g.Protect(res)
		for _, m := range matrixMethods {
			r.Handle(m, path, h, ok)
		}
	}
	add("/open/:id/", resources.Resource{Name: "open", IDParam: "id"})
	add("/no-tokens/", resources.Resource{Name: "no-tokens", APITokenAccess: resources.Bool(false)})
	add("/no-oauth2/", resources.Resource{Name: "no-oauth2", OAuth2Access: resources.Bool(false)})
	add("/public/", resources.Resource{Name: "public", AllowAnonymous: true})
	return r
}

const (
	chBearer = `Bearer realm="authgate"`
	chToken  = `token realm="authgate"`
	chBasic  = `Basic realm="authgate"`
)

var allChallenges = []string{chBearer, chToken, chBasic}

type matrixCase struct {
	name      string
	guard     string // "" = all schemes on; "nobasic"; "nosessions"
	method    string
	path      string
	authz     []string // Authorization header values
	cookie    bool     // send alice's session cookie
	csrf      bool     // send the session's CSRF token
	status    int
	code      int    // Djblets error code; 0 for success
	auth      string // Principal.Method on success
	msg       string // substring of err.msg, if set
	challenge []string
	headers   map[string]string
}

func isRead(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }
func isWrite(m string) bool {
	return m == "POST" || m == "PUT" || m == "PATCH"
}
func isSafe(m string) bool { return isRead(m) }

func ok(auth string) (int, int, string) { return http.StatusOK, 0, auth }

// TestGuardMatrix drives the real gin router with real credentials from a
// real database: {API token, OAuth2 bearer, Basic, session, none,
// malformed} × {resource allowing / refusing that kind} × {each action's
// methods, PATCH, an unknown method}.
func TestGuardMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		full, _ := e.apiToken(e.alice, `{}`, "")
		readOnly, _ := e.apiToken(e.alice, `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`, "")
		objBlock, _ := e.apiToken(e.alice, `{"resources":{"open":{"2":{"block":["*"]}}}}`, "")
		legacy, _ := e.apiToken(e.alice, `{}`, tokens.LegacySHA1ID)
		unknownTok := full[:len(full)-7] + "0000000" // well-formed? no: checksum breaks
		userJWT := e.jwt(&e.alice, "open:read open:write no-tokens:read no-oauth2:read", time.Hour, nil)
		clientJWT := e.jwt(nil, "open:read", time.Hour, nil)
		expiredJWT := e.jwt(&e.alice, "open:read", -time.Minute, nil)
		forgedJWT := e.jwt(&e.alice, "open:read", time.Hour, e.otherKey)
		cookie, csrf := e.session(e.alice)
		secrets := []string{full, readOnly, objBlock, legacy, userJWT, clientJWT, forgedJWT, e.password, cookie.Value, csrf}

		routers := map[string]*gin.Engine{
			"":           matrixRouter(e.guard(nil)),
			"nobasic":    matrixRouter(e.guard(func(c *resources.GuardConfig) { c.EnableBasic = false })),
			"nosessions": matrixRouter(e.guard(func(c *resources.GuardConfig) { c.Sessions = nil })),
		}

		var cases []matrixCase
		for _, m := range matrixMethods {
			// API tokens.
			s, c, a := ok("api_token")
			cases = append(cases,
				matrixCase{name: "api token full/open", method: m, path: "/open/1/", authz: []string{"token " + full}, status: s, code: c, auth: a},
				matrixCase{name: "api token full/closed to tokens", method: m, path: "/no-tokens/", authz: []string{"token " + full},
					status: 403, code: 101, msg: "You don't have permission for this"},
				matrixCase{name: "api token full/closed to oauth2", method: m, path: "/no-oauth2/", authz: []string{"token " + full}, status: s, code: c, auth: a},
				matrixCase{name: "api token object block/other object", method: m, path: "/open/1/", authz: []string{"token " + objBlock}, status: s, code: c, auth: a},
				matrixCase{name: "api token object block/blocked object", method: m, path: "/open/2/", authz: []string{"token " + objBlock}, status: 403, code: 101},
			)
			if isRead(m) {
				cases = append(cases, matrixCase{name: "api token read-only/open", method: m, path: "/open/1/", authz: []string{"token " + readOnly}, status: 200, auth: "api_token"})
			} else {
				cases = append(cases, matrixCase{name: "api token read-only/open", method: m, path: "/open/1/", authz: []string{"token " + readOnly}, status: 403, code: 101})
			}

			// OAuth2 bearer tokens: scopes open:read open:write.
			oc := matrixCase{name: "bearer/open", method: m, path: "/open/1/", authz: []string{"Bearer " + userJWT}}
			switch {
			case isRead(m) || isWrite(m):
				oc.status, oc.auth = 200, "oauth2"
			case m == "DELETE":
				oc.status, oc.code = 403, 112
				oc.challenge = []string{`Bearer realm="authgate", error="insufficient_scope", scope="open:destroy"`}
				oc.msg = "Your OAuth2 token lacks the necessary scopes for this request."
			default:
				oc.status, oc.code = 403, 112
				oc.challenge = []string{`Bearer realm="authgate", error="insufficient_scope", error_description="no scope grants this HTTP method"`}
			}
			cases = append(cases, oc,
				matrixCase{name: "bearer/closed to oauth2", method: m, path: "/no-oauth2/", authz: []string{"Bearer " + userJWT},
					status: 403, code: 113, msg: "OAuth2 token access for this resource is prohibited."},
			)
			nt := matrixCase{name: "bearer/closed to tokens (scope name = name)", method: m, path: "/no-tokens/", authz: []string{"Bearer " + userJWT}}
			if isRead(m) {
				nt.status, nt.auth = 200, "oauth2"
			} else {
				nt.status, nt.code = 403, 112
			}
			cases = append(cases, nt)

			// HTTP Basic: first-party, every resource; refused when off.
			cases = append(cases,
				matrixCase{name: "basic/open", method: m, path: "/open/1/", authz: []string{basicAuth("alice", e.password)}, status: 200, auth: "basic"},
				matrixCase{name: "basic/closed to tokens", method: m, path: "/no-tokens/", authz: []string{basicAuth("alice", e.password)}, status: 200, auth: "basic"},
				matrixCase{name: "basic/disabled", guard: "nobasic", method: m, path: "/open/1/", authz: []string{basicAuth("alice", e.password)},
					status: 401, code: 104, msg: `Unsupported authorization scheme "Basic"; this server accepts "Bearer", "token".`,
					challenge: []string{chBearer, chToken}},
			)

			// Session cookie: CSRF on unsafe methods; ignored when off.
			sc := matrixCase{name: "session/open without csrf", method: m, path: "/no-tokens/", cookie: true}
			if isSafe(m) {
				sc.status, sc.auth = 200, "session"
			} else {
				sc.status, sc.code, sc.msg = 403, 101, "CSRF verification failed"
			}
			cases = append(cases, sc,
				matrixCase{name: "session/open with csrf", method: m, path: "/no-oauth2/", cookie: true, csrf: true, status: 200, auth: "session"},
				matrixCase{name: "session/sessions off", guard: "nosessions", method: m, path: "/open/1/", cookie: true, csrf: true,
					status: 401, code: 103, challenge: allChallenges},
			)

			// No credential.
			cases = append(cases,
				matrixCase{name: "none/login required", method: m, path: "/open/1/", status: 401, code: 103, msg: "You are not logged in", challenge: allChallenges},
				matrixCase{name: "none/anonymous allowed", method: m, path: "/public/", status: 200, auth: ""},
			)

			// Malformed headers: a 401 that says what is wrong, even where
			// anonymous access is allowed.
			cases = append(cases,
				matrixCase{name: "malformed/token without value", method: m, path: "/public/", authz: []string{"token"},
					status: 401, code: 104, msg: `Malformed Authorization header: no credentials after "token".`, challenge: allChallenges},
				matrixCase{name: "malformed/two credentials", method: m, path: "/open/1/", authz: []string{"token abc def"},
					status: 401, code: 104, msg: `expected exactly one credential after "token"`, challenge: allChallenges},
			)
		}
		bearerInvalid := []string{`Bearer realm="authgate", error="invalid_token", error_description="The access token is invalid, expired or revoked"`, chToken, chBasic}
		bearerMalformed := []string{`Bearer realm="authgate", error="invalid_request", error_description="malformed Authorization header"`, chToken, chBasic}
		cases = append(cases,
			matrixCase{name: "api token/deprecated legacy_sha1", method: "GET", path: "/open/1/", authz: []string{"token " + legacy}, status: 200, auth: "api_token",
				headers: map[string]string{"X-API-Token-Deprecated": tokens.DeprecatedHeaderValue}},
			matrixCase{name: "api token/bad checksum", method: "GET", path: "/open/1/", authz: []string{"token " + unknownTok},
				status: 401, code: 104, msg: "The API token is malformed", challenge: allChallenges},
			matrixCase{name: "api token/scheme is case-insensitive", method: "GET", path: "/open/1/", authz: []string{"TOKEN " + full}, status: 200, auth: "api_token"},
			matrixCase{name: "bearer/client credentials", method: "GET", path: "/open/1/", authz: []string{"Bearer " + clientJWT}, status: 200, auth: "oauth2"},
			matrixCase{name: "bearer/expired", method: "GET", path: "/open/1/", authz: []string{"Bearer " + expiredJWT},
				status: 401, code: 104, msg: "The OAuth2 access token is invalid, expired or revoked.", challenge: bearerInvalid},
			matrixCase{name: "bearer/forged signature", method: "GET", path: "/open/1/", authz: []string{"Bearer " + forgedJWT},
				status: 401, code: 104, challenge: bearerInvalid},
			matrixCase{name: "bearer/an API token is not a JWT", method: "GET", path: "/open/1/", authz: []string{"Bearer " + full},
				status: 401, code: 104, challenge: bearerInvalid},
			matrixCase{name: "basic/wrong password", method: "GET", path: "/open/1/", authz: []string{basicAuth("alice", "wrong")},
				status: 401, code: 104, msg: "The username or password was not correct", challenge: allChallenges},
			matrixCase{name: "session/bad cookie", method: "GET", path: "/open/1/", cookie: true, status: 401, code: 103, challenge: allChallenges},
			matrixCase{name: "malformed/bearer without token", method: "GET", path: "/open/1/", authz: []string{"Bearer"},
				status: 401, code: 104, msg: `no credentials after "Bearer"`, challenge: bearerMalformed},
			matrixCase{name: "malformed/bearer with bad characters", method: "GET", path: "/open/1/", authz: []string{"Bearer a,b"},
				status: 401, code: 104, msg: "characters RFC 6750 does not allow", challenge: bearerMalformed},
			matrixCase{name: "malformed/basic not base64", method: "GET", path: "/open/1/", authz: []string{"Basic !!!"},
				status: 401, code: 104, msg: "not valid base64", challenge: allChallenges},
			matrixCase{name: "malformed/basic without colon", method: "GET", path: "/open/1/", authz: []string{"Basic YWxpY2U="},
				status: 401, code: 104, msg: `not "username:password"`, challenge: allChallenges},
			matrixCase{name: "malformed/unknown scheme", method: "GET", path: "/public/", authz: []string{"Digest username=x"},
				status: 401, code: 104, msg: `Unsupported authorization scheme "Digest"`, challenge: allChallenges},
			matrixCase{name: "malformed/scheme not echoed", method: "GET", path: "/public/", authz: []string{full + "xyz"},
				status: 401, code: 104, msg: "Unsupported authorization scheme (unrecognised)", challenge: allChallenges},
			matrixCase{name: "malformed/empty header", method: "GET", path: "/public/", authz: []string{""},
				status: 401, code: 104, msg: "the header is empty", challenge: allChallenges},
			matrixCase{name: "malformed/two headers", method: "GET", path: "/open/1/", authz: []string{"token " + full, "token " + full},
				status: 401, code: 104, msg: "more than one Authorization header", challenge: allChallenges},
			matrixCase{name: "header wins over cookie", method: "GET", path: "/open/1/", authz: []string{"token " + full}, cookie: true, status: 200, auth: "api_token"},
		)

		for _, tc := range cases {
			t.Run(tc.name+"/"+tc.method, func(t *testing.T) {
				req := httptest.NewRequest(tc.method, tc.path, nil)
				for _, v := range tc.authz {
					req.Header.Add("Authorization", v)
				}
				if tc.cookie {
					ck := *cookie
					if tc.name == "session/bad cookie" {
						ck.Value = strings.Repeat("A", len(ck.Value))
					}
					req.AddCookie(&ck)
				}
				if tc.csrf {
					req.Header.Set(resources.CSRFHeader, csrf)
				}
				w := httptest.NewRecorder()
				routers[tc.guard].ServeHTTP(w, req)
				body := w.Body.Bytes()
				if w.Code != tc.status {
					t.Fatalf("status = %d; want %d (body %s)", w.Code, tc.status, body)
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
				env := decode(t, body)
				if tc.code == 0 {
					if env.Stat != "ok" || env.Auth != tc.auth {
						t.Fatalf("body = %s; want stat ok, auth %q", body, tc.auth)
					}
				} else if env.Stat != "fail" || env.Err.Code != tc.code || env.Err.Type == "" {
					t.Fatalf("body = %s; want stat fail, code %d", body, tc.code)
				}
				if tc.msg != "" && !strings.Contains(env.Err.Msg, tc.msg) {
					t.Errorf("msg = %q; want it to contain %q", env.Err.Msg, tc.msg)
				}
				got := w.Header().Values("WWW-Authenticate")
				if tc.challenge != nil || tc.status == 401 {
					if !slices.Equal(got, tc.challenge) {
						t.Errorf("WWW-Authenticate = %q; want %q", got, tc.challenge)
					}
				} else if len(got) != 0 && tc.code != 112 {
					t.Errorf("unexpected WWW-Authenticate %q", got)
				}
				for k, v := range tc.headers {
					if w.Header().Get(k) != v {
						t.Errorf("%s = %q; want %q", k, w.Header().Get(k), v)
					}
				}
				if tc.headers == nil && w.Header().Get(resources.DeprecatedTokenHeader) != "" {
					t.Errorf("unexpected %s header", resources.DeprecatedTokenHeader)
				}
				for _, s := range secrets {
					if strings.Contains(string(body), s) {
						t.Fatalf("response body contains a secret")
					}
				}
			})
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "authentication failed") {
			t.Fatal("refusals were not logged")
		}
		for _, s := range append(secrets, unknownTok, expiredJWT) {
			if strings.Contains(logs, s) {
				t.Fatalf("a secret reached the log")
			}
		}
	})
}

// TestGuardAPITokenStates covers the token life cycle through the router:
// Djblets' "became invalid" and "expired" messages, a deleted token and an
// inactive owner.
func TestGuardAPITokenStates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		r := matrixRouter(e.guard(nil))
		ctx := t.Context()
		get := func(raw string) (int, envelope) {
			req := httptest.NewRequest("GET", "/open/1/", nil)
			req.Header.Set("Authorization", "token "+raw)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			return w.Code, decode(t, w.Body.Bytes())
		}
		invalid, tok := e.apiToken(e.alice, `{}`, "")
		if code, _ := get(invalid); code != 200 {
			t.Fatalf("fresh token: %d", code)
		}
		if _, err := e.tokens.Invalidate(ctx, tok.ID, "Revoked."); err != nil {
			t.Fatal(err)
		}
		code, env := get(invalid)
		if code != 401 || env.Err.Code != 104 || !strings.HasPrefix(env.Err.Msg, "This API token became invalid on ") || !strings.HasSuffix(env.Err.Msg, ": Revoked.") {
			t.Fatalf("invalidated: %d %+v", code, env.Err)
		}

		expiring, tok2 := e.apiToken(e.alice, `{}`, "")
		if _, err := e.tokens.Update(ctx, tok2.ID, func(t *tokens.Token) error {
			past := time.Now().Add(-time.Hour)
			t.Expires = &past
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		code, env = get(expiring)
		if code != 401 || env.Err.Code != 104 || !strings.HasPrefix(env.Err.Msg, "This API token expired on ") {
			t.Fatalf("expired: %d %+v", code, env.Err)
		}

		deleted, tok3 := e.apiToken(e.alice, `{}`, "")
		if err := e.tokens.Delete(ctx, tok3.ID); err != nil {
			t.Fatal(err)
		}
		if code, env = get(deleted); code != 401 || env.Err.Msg != "The username or password was not correct" {
			t.Fatalf("deleted: %d %+v", code, env.Err)
		}

		bobs, _ := e.apiToken(e.admin, `{}`, "")
		if err := e.users.SetActive(ctx, e.admin.ID, false); err != nil {
			t.Fatal(err)
		}
		if code, env = get(bobs); code != 401 || env.Err.Code != 104 {
			t.Fatalf("inactive owner: %d %+v", code, env.Err)
		}
		// A JWT for a deactivated user stops working at once.
		req := httptest.NewRequest("GET", "/open/1/", nil)
		req.Header.Set("Authorization", "Bearer "+e.jwt(&e.admin, "open:read", time.Hour, nil))
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("bearer of inactive user: %d %v", w.Code, w.Header())
		}
	})
}

// TestGuardListFilter checks the list helper (Djblets (see
// docs/api-tokens.md, "List filtering"), working):
// objects whose IDs the policy denies for GET are left out.
func TestGuardListFilter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		g := e.guard(nil)
		r := gin.New()
		r.GET("/repos/", g.Protect(resources.Resource{Name: "repository"}), func(c *gin.Context) {
			all := []string{"1", "2", "3", "4"}
			c.JSON(200, gin.H{"stat": "ok", "ids": resources.FilterList(c, all, func(s string) string { return s }), "denied": resources.DeniedObjectIDs(c)})
		})
		tests := []struct {
			name   string
			authz  string
			status int
			want   string
		}{
			{"no ID sections", "token " + mustRaw(e, `{}`), 200, `"ids":["1","2","3","4"]`},
			{"blocked IDs hidden", "token " + mustRaw(e, `{"resources":{"repository":{"3":{"block":["GET"]},"1":{"block":["*"]},"2":{"block":["POST"]}}}}`), 200, `"ids":["2","4"]`},
			{"allowed ID under a resource-wide block is still refused as a list", "token " + mustRaw(e, `{"resources":{"repository":{"*":{"block":["GET"]},"2":{"allow":["GET"]}}}}`), 403, `"code":101`},
			{"global block, ID allowed: list refused", "token " + mustRaw(e, `{"resources":{"*":{"block":["*"]},"repository":{"2":{"allow":["*"]}}}}`), 403, `"code":101`},
			{"basic sees everything", basicAuth("alice", e.password), 200, `"ids":["1","2","3","4"]`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req := httptest.NewRequest("GET", "/repos/", nil)
				req.Header.Set("Authorization", tc.authz)
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
					t.Fatalf("%d %s; want %d with %s", w.Code, w.Body, tc.status, tc.want)
				}
			})
		}
	})
}

func mustRaw(e *env, pol string) string {
	raw, _ := e.apiToken(e.alice, pol, "")
	return raw
}
