package authserver

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	oerrors "github.com/go-oauth2/oauth2/v4/errors"

	"github.com/authgate/authgate/internal/db"
)

// RFC 6749 §5.2 (and RFC 7009 §2.2.1) error codes.
const (
	codeInvalidRequest         = "invalid_request"
	codeInvalidClient          = "invalid_client"
	codeInvalidGrant           = "invalid_grant"
	codeUnauthorizedClient     = "unauthorized_client"
	codeUnsupportedGrantType   = "unsupported_grant_type"
	codeInvalidScope           = "invalid_scope"
	codeServerError            = "server_error"
	codeTemporarilyUnavailable = "temporarily_unavailable"
	codeUnsupportedTokenType   = "unsupported_token_type"
	// RFC 9449 §12.2: a DPoP proof that is missing, malformed or fails a
	// check of §4.3; status 400 like the other §5.2 errors.
	codeInvalidDPoPProof = "invalid_dpop_proof"
)

// oauthError is an error we answer with on an OAuth endpoint. Description is
// short, client-facing and never contains a secret.
type oauthError struct {
	Code        string
	Description string
	// retryAfter, when positive, makes the answer 429 with Retry-After
	// (seconds): a rate limit (see rateLimited).
	retryAfter int
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

// Status is the HTTP status RFC 6749 §5.2 gives the code: 401 for
// invalid_client, 400 for every other client mistake.
func (e *oauthError) Status() int {
	if e.retryAfter > 0 {
		return http.StatusTooManyRequests
	}
	return statusFor(e.Code)
}

func statusFor(code string) int {
	switch code {
	case codeInvalidClient:
		return http.StatusUnauthorized
	case codeServerError:
		return http.StatusInternalServerError
	case codeTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	case "access_denied":
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

func oerr(code, desc string) *oauthError { return &oauthError{Code: code, Description: desc} }

var (
	// errClientAuthFailed is the one answer to an unknown client, a wrong
	// secret and a disabled client alike (no client enumeration, go-oauth2#106).
	errClientAuthFailed = oerr(codeInvalidClient, "client authentication failed")
	errGrantInvalid     = oerr(codeInvalidGrant, "the authorization grant or refresh token is invalid, expired or revoked, or was issued to another client")
	errServer           = oerr(codeServerError, "the authorization server could not process the request")
	errUnavailable      = oerr(codeTemporarilyUnavailable, "the database is unavailable; retry after "+strconv.Itoa(db.RetryAfterSeconds)+"s")

	errInvalidRedirectURI = oerrors.ErrInvalidRedirectURI
)

// libraryErrors maps go-oauth2 errors that are missing from its Descriptions
// table — which it would render as 500 server_error
// (docs/go-oauth2.md, "PKCE"; docs/go-oauth2.md, "Error mapping") — to what
// RFC 6749 §5.2 says the client must see.
var libraryErrors = map[error]*oauthError{
	oerrors.ErrInvalidAuthorizeCode: errGrantInvalid,
	oerrors.ErrInvalidCodeChallenge: errGrantInvalid,
	oerrors.ErrMissingCodeVerifier:  errGrantInvalid,
	oerrors.ErrMissingCodeChallenge: errGrantInvalid,
	oerrors.ErrInvalidRefreshToken:  errGrantInvalid,
	oerrors.ErrExpiredRefreshToken:  errGrantInvalid,
	oerrors.ErrInvalidAccessToken:   errGrantInvalid,
	oerrors.ErrExpiredAccessToken:   errGrantInvalid,
	oerrors.ErrInvalidRedirectURI:   oerr(codeInvalidRequest, "redirect_uri does not match a registered redirect URI"),
}

// classify turns any error into the oauthError the client sees. Errors that
// are neither ours nor the library's are server faults: logged, 500.
func classify(err error, log *slog.Logger) *oauthError {
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe
	}
	if m, ok := libraryErrors[err]; ok {
		return m
	}
	if _, ok := oerrors.Descriptions[err]; ok {
		return oerr(err.Error(), shortDescriptions[err.Error()])
	}
	if db.Unavailable(err) {
		// The database is unreachable: the client should retry, not give
		// up (RFC 6749 §5.2 temporarily_unavailable, 503 + Retry-After).
		if log != nil {
			log.Warn("oauth request failed: database unavailable", "error", err)
		}
		return errUnavailable
	}
	if log != nil {
		log.Error("oauth request failed", "error", err)
	}
	return errServer
}

var shortDescriptions = map[string]string{
	codeInvalidRequest:          "the request is missing a parameter, repeats one, or is otherwise malformed",
	codeUnauthorizedClient:      "the client is not allowed to use this grant type",
	codeInvalidScope:            "the requested scope is invalid, unknown, or not allowed for this client",
	codeInvalidClient:           "client authentication failed",
	codeInvalidGrant:            errGrantInvalid.Description,
	codeUnsupportedGrantType:    "the grant type is not supported",
	"access_denied":             "the resource owner or authorization server denied the request",
	"unsupported_response_type": "the response type is not supported",
	codeServerError:             errServer.Description,
	"temporarily_unavailable":   "the authorization server is temporarily unavailable",
}

// internalErrorHandler is go-oauth2's InternalErrorHandler: our errors and
// the library's unmapped sentinels become RFC 6749 errors instead of 500.
func (s *Server) internalErrorHandler(err error) *oerrors.Response {
	oe := classify(err, s.log)
	re := &oerrors.Response{Error: errors.New(oe.Code), Description: oe.Description, StatusCode: oe.Status()}
	if oe.retryAfter > 0 {
		re.SetHeader("Retry-After", strconv.Itoa(oe.retryAfter))
	}
	return re
}

// responseErrorHandler is go-oauth2's ResponseErrorHandler. It fixes the
// library's statuses (401 for invalid_grant, unsupported_grant_type,
// unauthorized_client: docs/go-oauth2.md, "Error mapping") and adds the WWW-Authenticate header RFC
// 6749 §5.2 requires with a 401 invalid_client.
func (s *Server) responseErrorHandler(re *oerrors.Response) {
	code := codeServerError
	if re.Error != nil {
		code = re.Error.Error()
	}
	if re.StatusCode != http.StatusTooManyRequests { // a rate limit keeps its 429
		re.StatusCode = statusFor(code)
	}
	if re.Description == "" || len(re.Description) > 120 {
		if d, ok := shortDescriptions[code]; ok {
			re.Description = d
		}
	}
	re.ErrorCode = 0
	if re.StatusCode == http.StatusServiceUnavailable {
		re.SetHeader("Retry-After", strconv.Itoa(db.RetryAfterSeconds))
	}
	if re.StatusCode == http.StatusUnauthorized {
		re.SetHeader("WWW-Authenticate", `Basic realm="authgate", charset="UTF-8"`)
	}
}

// writeOAuthError writes a §5.2 error for the endpoints we serve without the
// library (revocation, introspection, and checks before it is called).
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	h := w.Header()
	switch e.Status() {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Basic realm="authgate", charset="UTF-8"`)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.Itoa(db.RetryAfterSeconds))
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.Status(), map[string]string{"error": e.Code, "error_description": e.Description})
}

// writeJSON writes v with the no-store headers RFC 6749 §5.1 requires of
// responses carrying tokens; we use them on every OAuth endpoint response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
