package resources

import (
	"errors"
	"fmt"
	"time"
)

// The reasons a TokenAuthenticator refuses an API token (Djblets; see
// docs/api-tokens.md, "Authentication"),
// carried as TokenError.Kind.
var (
	ErrTokenMalformed    = errors.New("api token is malformed")
	ErrTokenUnknown      = errors.New("api token is unknown")
	ErrTokenInvalidated  = errors.New("api token is invalid")
	ErrTokenExpired      = errors.New("api token has expired")
	ErrTokenUserInactive = errors.New("api token owner is inactive")
)

// TokenError is a refused API token: 401 LOGIN_FAILED.
type TokenError struct {
	// Kind is one of the ErrToken* values.
	Kind error
	// Message, when set, replaces LOGIN_FAILED's default message: Djblets'
	// "This API token expired on …" and "This API token became invalid on
	// …: reason". It is sent to the client, so it must hold no secret.
	Message string
}

func (e *TokenError) Error() string {
	if e.Message != "" {
		return e.Kind.Error() + ": " + e.Message
	}
	return e.Kind.Error()
}

func (e *TokenError) Unwrap() error { return e.Kind }

// ErrUnavailable is matched (errors.Is) by every *UnavailableError.
var ErrUnavailable = errors.New("authorization server unavailable")

// UnavailableError says a credential could not be checked because the
// authorization server did not answer (unreachable, timeout, 5xx, 429).
// The Guard answers 503 with Retry-After: the caller is not at fault, and a
// 500 would blame this server. See docs/resource-servers.md.
type UnavailableError struct {
	// RetryAfter is the suggested wait; 0 means the default (5s).
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("authorization server unavailable: %v", e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// DefaultRetryAfter is the Retry-After of a 503 whose cause gave none.
const DefaultRetryAfter = 5 * time.Second
