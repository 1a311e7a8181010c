package resources_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
)

// TestErrorTable checks every row of docs/api-tokens.md, "Errors and codes" that
// authgate can produce: code, HTTP status, type and default message.
func TestErrorTable(t *testing.T) {
	tests := []struct {
		name   string
		err    *resources.APIError
		code   int
		status int
		typ    string
		msg    string
	}{
		{"SERVICE_NOT_CONFIGURED", resources.ServiceNotConfigured(), 1, 503, "server-not-configured", "The web service has not yet been configured"},
		{"DOES_NOT_EXIST", resources.DoesNotExist(), 100, 404, "resource-does-not-exist", "Object does not exist"},
		{"PERMISSION_DENIED", resources.PermissionDenied(), 101, 403, "resource-permission-denied", "You don't have permission for this"},
		{"INVALID_ATTRIBUTE", resources.InvalidAttribute(), 102, 400, "resource-attribute-invalid", "Invalid attribute"},
		{"NOT_LOGGED_IN", resources.NotLoggedIn(), 103, 401, "auth-not-logged-in", "You are not logged in"},
		{"LOGIN_FAILED", resources.LoginFailed(), 104, 401, "auth-login-failed", "The username or password was not correct"},
		{"INVALID_FORM_DATA", resources.InvalidFormData(nil), 105, 400, "request-field-error", "One or more fields had errors"},
		{"MISSING_ATTRIBUTE", resources.MissingAttribute(), 106, 400, "request-attribute-missing", "Missing value for the attribute"},
		{"DUPLICATE_ITEM", resources.DuplicateItem(), 111, 409, "resource-conflict", "An entry for this item or its unique key(s) already exists"},
		{"OAUTH_MISSING_SCOPE_ERROR", resources.OAuthMissingScope(), 112, 403, "auth-oauth2-missing-scope", "Your OAuth2 token lacks the necessary scopes for this request."},
		{"OAUTH_ACCESS_DENIED_ERROR", resources.OAuthAccessDenied(), 113, 403, "auth-oauth2-access-denied", "OAuth2 token access for this resource is prohibited."},
		{"RATE_LIMIT_EXCEEDED", resources.RateLimitExceeded(time.Second, 10), 114, 429, "request-rate-limit-exceeded", "API rate limit has been exceeded."},
		{"TOKEN_GENERATION_FAILED", resources.TokenGenerationFailed(), 228, 500, "api-token-generation-error", "There was an error generating the API token. Please try again."},
		{"server error (authgate)", resources.ServerError(), 1000, 500, "server-error", "An internal error occurred. Please try again later."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.err
			if e.Code != tc.code || e.HTTPStatus != tc.status || e.Type != tc.typ || e.Msg != tc.msg {
				t.Fatalf("got %d/%d/%q/%q", e.Code, e.HTTPStatus, e.Type, e.Msg)
			}
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest("GET", "/", nil)
			resources.Fail(c, e)
			if w.Code != tc.status || !c.IsAborted() {
				t.Fatalf("Fail wrote %d, aborted %v", w.Code, c.IsAborted())
			}
			env := decode(t, w.Body.Bytes())
			if env.Stat != "fail" || env.Err.Code != tc.code || env.Err.Msg != tc.msg || env.Err.Type != tc.typ {
				t.Fatalf("body %s", w.Body)
			}
			// A 401 rendered outside a Guard still advertises Bearer and
			// token (docs/architecture.md, "Errors").
			if tc.status == 401 {
				want := []string{`Bearer realm="authgate"`, `token realm="authgate"`}
				if got := w.Header().Values("WWW-Authenticate"); !slices.Equal(got, want) {
					t.Fatalf("WWW-Authenticate = %q", got)
				}
			}
		})
	}
}

func TestErrorCopiesAndExtras(t *testing.T) {
	base := resources.LoginFailed()
	custom := base.WithMessage("This API token expired on Aug. 2, 2022, 10:45 a.m..")
	if base.Msg != "The username or password was not correct" || custom.Code != 104 || custom.HTTPStatus != 401 {
		t.Fatalf("WithMessage changed the original or lost the code: %+v %+v", base, custom)
	}
	h := custom.WithHeader("X-Test", "1")
	if custom.Headers.Get("X-Test") != "" || h.Headers.Get("X-Test") != "1" {
		t.Fatal("WithHeader changed the original")
	}

	tests := []struct {
		name    string
		retry   time.Duration
		wantHdr string
	}{
		{"whole seconds", 30 * time.Second, "30"},
		{"rounded up", 1500 * time.Millisecond, "2"},
		{"at least one", 0, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest("GET", "/", nil)
			resources.Fail(c, resources.RateLimitExceeded(tc.retry, 10000))
			if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != tc.wantHdr || w.Header().Get("X-RateLimit-Limit") != "10000" {
				t.Fatalf("%d %v", w.Code, w.Header())
			}
			if decode(t, w.Body.Bytes()).Err.Code != 114 {
				t.Fatal("code")
			}
		})
	}

	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest("POST", "/", nil)
	resources.Fail(c, resources.InvalidFormData(map[string][]string{"policy": {"The policy must be a JSON object."}}))
	env := decode(t, w.Body.Bytes())
	if env.Err.Code != 105 || len(env.Fields["policy"]) != 1 || env.Fields["policy"][0] != "The policy must be a JSON object." {
		t.Fatalf("form error body %s", w.Body)
	}
}

// TestTokenErrorText: a TokenError reads as its kind, followed by its
// message when it has one (the message is what the client is shown).
func TestTokenErrorText(t *testing.T) {
	if got := (&resources.TokenError{Kind: resources.ErrTokenExpired}).Error(); got != "api token has expired" {
		t.Errorf("without a message: %q", got)
	}
	e := &resources.TokenError{Kind: resources.ErrTokenInvalidated, Message: "This API token became invalid on 2026-01-02: leaked"}
	if got := e.Error(); got != "api token is invalid: This API token became invalid on 2026-01-02: leaked" {
		t.Errorf("with a message: %q", got)
	}
}

// TestIsFirstParty: only a password (Basic) or a browser session is a
// first-party caller; tokens and no principal at all are not.
func TestIsFirstParty(t *testing.T) {
	for m, want := range map[resources.AuthMethod]bool{
		resources.MethodBasic: true, resources.MethodSession: true,
		resources.MethodAPIToken: false, resources.MethodOAuth2: false, "": false,
	} {
		if got := (&resources.Principal{Method: m}).IsFirstParty(); got != want {
			t.Errorf("%q: IsFirstParty %v, want %v", m, got, want)
		}
	}
	if (*resources.Principal)(nil).IsFirstParty() {
		t.Error("a nil principal is first-party")
	}
}
