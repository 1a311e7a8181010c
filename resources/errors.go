package resources

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Djblets' error codes (djblets.webapi.errors), plus Review Board's 228.
const (
	CodeNoError               = 0
	CodeServiceNotConfigured  = 1
	CodeDoesNotExist          = 100
	CodePermissionDenied      = 101
	CodeInvalidAttribute      = 102
	CodeNotLoggedIn           = 103
	CodeLoginFailed           = 104
	CodeInvalidFormData       = 105
	CodeMissingAttribute      = 106
	CodeDuplicateItem         = 111
	CodeOAuthMissingScope     = 112
	CodeOAuthAccessDenied     = 113
	CodeRateLimitExceeded     = 114
	CodeTokenGenerationFailed = 228
	// CodeServerError is authgate's own code for an unexpected server-side
	// failure (Djblets answers those with a bare HTTP 500 page). It is
	// outside Djblets' (0–114) and Review Board's (200–2xx) ranges.
	CodeServerError = 1000
	// CodeUnavailable is authgate's code for a credential that could not be
	// checked because the authorization server did not answer (HTTP 503).
	CodeUnavailable = 1001
)

// APIError is one error response: the Djblets code, its HTTP status and
// type, the client-facing message, extra response headers and, for form
// errors, the per-field messages. Build one with the constructors below
// (PermissionDenied(), LoginFailed(), ...) and render it with Fail.
type APIError struct {
	Code       int
	HTTPStatus int
	Type       string
	Msg        string
	// Headers are added to the response (e.g. Retry-After).
	Headers http.Header
	// Fields, when non-nil, is rendered as the top-level "fields" key
	// (Djblets INVALID_FORM_DATA: {"name": ["message", ...]}).
	Fields map[string][]string
}

// Error returns the code and message, so an APIError can travel as an error.
func (e *APIError) Error() string { return fmt.Sprintf("api error %d: %s", e.Code, e.Msg) }

// clone copies e so that With* never changes a shared value.
func (e *APIError) clone() *APIError {
	c := *e
	c.Headers = e.Headers.Clone()
	if e.Fields != nil {
		c.Fields = maps.Clone(e.Fields)
	}
	return &c
}

// WithMessage returns a copy with msg replacing the default message;
// code, status and type are kept (Djblets' with_message).
func (e *APIError) WithMessage(msg string) *APIError {
	c := e.clone()
	c.Msg = msg
	return c
}

// WithHeader returns a copy that also sends header key: value.
func (e *APIError) WithHeader(key, value string) *APIError {
	c := e.clone()
	if c.Headers == nil {
		c.Headers = http.Header{}
	}
	c.Headers.Add(key, value)
	return c
}

func newError(code, status int, typ, msg string) *APIError {
	return &APIError{Code: code, HTTPStatus: status, Type: typ, Msg: msg}
}

// Djblets' errors, each a fresh value with the
// default message.

// ServiceNotConfigured is code 1, HTTP 503.
func ServiceNotConfigured() *APIError {
	return newError(CodeServiceNotConfigured, http.StatusServiceUnavailable, "server-not-configured", "The web service has not yet been configured")
}

// DoesNotExist is code 100, HTTP 404.
func DoesNotExist() *APIError {
	return newError(CodeDoesNotExist, http.StatusNotFound, "resource-does-not-exist", "Object does not exist")
}

// PermissionDenied is code 101, HTTP 403.
func PermissionDenied() *APIError {
	return newError(CodePermissionDenied, http.StatusForbidden, "resource-permission-denied", "You don't have permission for this")
}

// InvalidAttribute is code 102, HTTP 400.
func InvalidAttribute() *APIError {
	return newError(CodeInvalidAttribute, http.StatusBadRequest, "resource-attribute-invalid", "Invalid attribute")
}

// NotLoggedIn is code 103, HTTP 401; Fail adds the WWW-Authenticate
// challenges.
func NotLoggedIn() *APIError {
	return newError(CodeNotLoggedIn, http.StatusUnauthorized, "auth-not-logged-in", "You are not logged in")
}

// LoginFailed is code 104, HTTP 401; Fail adds the WWW-Authenticate
// challenges.
func LoginFailed() *APIError {
	return newError(CodeLoginFailed, http.StatusUnauthorized, "auth-login-failed", "The username or password was not correct")
}

// InvalidFormData is code 105, HTTP 400, with per-field messages.
func InvalidFormData(fields map[string][]string) *APIError {
	e := newError(CodeInvalidFormData, http.StatusBadRequest, "request-field-error", "One or more fields had errors")
	if fields == nil {
		fields = map[string][]string{}
	}
	e.Fields = fields
	return e
}

// MissingAttribute is code 106, HTTP 400.
func MissingAttribute() *APIError {
	return newError(CodeMissingAttribute, http.StatusBadRequest, "request-attribute-missing", "Missing value for the attribute")
}

// DuplicateItem is code 111, HTTP 409.
func DuplicateItem() *APIError {
	return newError(CodeDuplicateItem, http.StatusConflict, "resource-conflict", "An entry for this item or its unique key(s) already exists")
}

// OAuthMissingScope is code 112, HTTP 403.
func OAuthMissingScope() *APIError {
	return newError(CodeOAuthMissingScope, http.StatusForbidden, "auth-oauth2-missing-scope", "Your OAuth2 token lacks the necessary scopes for this request.")
}

// OAuthAccessDenied is code 113, HTTP 403.
func OAuthAccessDenied() *APIError {
	return newError(CodeOAuthAccessDenied, http.StatusForbidden, "auth-oauth2-access-denied", "OAuth2 token access for this resource is prohibited.")
}

// RateLimitExceeded is code 114, HTTP 429, with Retry-After (whole seconds,
// rounded up, at least 1) and X-RateLimit-Limit (Djblets; see
// docs/api-tokens.md, "Authentication", step 3).
func RateLimitExceeded(retryAfter time.Duration, limit int) *APIError {
	secs := max(1, int64((retryAfter+time.Second-1)/time.Second))
	e := newError(CodeRateLimitExceeded, http.StatusTooManyRequests, "request-rate-limit-exceeded", "API rate limit has been exceeded.")
	e.Headers = http.Header{}
	e.Headers.Set("Retry-After", strconv.FormatInt(secs, 10))
	e.Headers.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	return e
}

// TokenGenerationFailed is Review Board's code 228, HTTP 500.
func TokenGenerationFailed() *APIError {
	return newError(CodeTokenGenerationFailed, http.StatusInternalServerError, "api-token-generation-error", "There was an error generating the API token. Please try again.")
}

// ServerError is authgate's code 1000, HTTP 500, for failures that are not
// the client's fault (a database outage). The cause is logged, never sent.
func ServerError() *APIError {
	return newError(CodeServerError, http.StatusInternalServerError, "server-error", "An internal error occurred. Please try again later.")
}

// Unavailable is authgate's code 1001, HTTP 503, with Retry-After (whole
// seconds, rounded up; DefaultRetryAfter when retryAfter is 0): the
// authorization server could not be asked about the credential. See
// docs/resource-servers.md, "When authgate is down".
func Unavailable(retryAfter time.Duration) *APIError {
	if retryAfter <= 0 {
		retryAfter = DefaultRetryAfter
	}
	secs := int64((retryAfter + time.Second - 1) / time.Second)
	e := newError(CodeUnavailable, http.StatusServiceUnavailable, "auth-server-unavailable", "The authorization server is unavailable; try again later.")
	e.Headers = http.Header{}
	e.Headers.Set("Retry-After", strconv.FormatInt(secs, 10))
	return e
}

// defaultChallenges are used on a 401 rendered outside any Guard: the
// Bearer and token schemes authgate always offers.
var defaultChallenges = []string{`Bearer realm="authgate"`, `token realm="authgate"`}

// Fail renders e as Djblets' error envelope and aborts the request:
//
//	{"stat":"fail","err":{"code":N,"msg":"…","type":"…"},"fields":{…}}
//
// with e.HTTPStatus and e.Headers. A 401 without its own WWW-Authenticate
// gets one challenge per scheme the protecting Guard accepts (one header
// line each), e.g. `Bearer realm="authgate"`, `token realm="authgate"`,
// `Basic realm="authgate"`.
func Fail(c *gin.Context, e *APIError) {
	ch := defaultChallenges
	if g, ok := c.Request.Context().Value(ctxKey{}).(*guarded); ok {
		ch = g.challenges
	}
	writeError(c.Writer, e, ch)
	c.Abort()
}

// WriteError is Fail for net/http handlers: it renders e as Djblets' error
// envelope, with the challenges of the Guard that protected r on a 401.
func WriteError(w http.ResponseWriter, r *http.Request, e *APIError) {
	ch := defaultChallenges
	if g, ok := r.Context().Value(ctxKey{}).(*guarded); ok {
		ch = g.challenges
	}
	writeError(w, e, ch)
}

func writeError(w http.ResponseWriter, e *APIError, challenges []string) {
	if e == nil {
		e = ServerError()
	}
	h := w.Header()
	for k, vs := range e.Headers {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if e.HTTPStatus == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		for _, v := range challenges {
			h.Add("WWW-Authenticate", v)
		}
	}
	body, err := json.Marshal(envelope{Stat: "fail", Err: envelopeErr{Code: e.Code, Msg: e.Msg, Type: e.Type}, Fields: e.Fields})
	if err != nil {
		body = []byte(`{"stat":"fail","err":{"code":1000,"msg":"An internal error occurred. Please try again later."}}`)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.HTTPStatus)
	_, _ = w.Write(body)
}

type envelope struct {
	Stat   string              `json:"stat"`
	Err    envelopeErr         `json:"err"`
	Fields map[string][]string `json:"fields,omitempty"`
}

type envelopeErr struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
	Type string `json:"type,omitempty"`
}

// OK renders a successful Djblets response, {"stat":"ok", ...payload}, with
// status (200, 201).
func OK(c *gin.Context, status int, payload gin.H) {
	out := make(gin.H, len(payload)+1)
	maps.Copy(out, payload)
	out["stat"] = "ok"
	c.JSON(status, out)
}
