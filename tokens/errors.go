package tokens

import "errors"

// Sentinel errors, compared with errors.Is.
var (
	// ErrNotFound: no token has the requested ID.
	ErrNotFound = errors.New("api token not found")

	// Authentication failure kinds (AuthError.Kind).

	// ErrMalformedToken: the token fails every registered generator's format
	// and checksum validation; no database query was made.
	ErrMalformedToken = errors.New("api token is malformed")
	// ErrTokenNotFound: the token is well formed but unknown.
	ErrTokenNotFound = errors.New("api token is unknown")
	// ErrTokenInvalid: the token was invalidated.
	ErrTokenInvalid = errors.New("api token is invalid")
	// ErrTokenExpired: the token's expiry has passed.
	ErrTokenExpired = errors.New("api token has expired")
	// ErrUserInactive: the token's owner is deactivated.
	ErrUserInactive = errors.New("api token owner is inactive")

	// ErrTokenGeneration: no unique token could be inserted within the
	// attempt budget. The text is Djblets' WebAPITokenGenerationError
	// message (docs/api-tokens.md, "Manager operations"), shown to clients as error 228.
	//lint:ignore ST1005 exact client-facing Djblets text
	ErrTokenGeneration = errors.New("Could not create a unique API token. Please try again.")
	// ErrUnknownGenerator: the requested generator ID is not registered
	// (Djblets' message, docs/api-tokens.md, "Manager operations").
	//lint:ignore ST1005 exact client-facing Djblets text
	ErrUnknownGenerator = errors.New("Could not find the token generator to generate the token.")
	// ErrCannotRevalidate: an update tried to set valid back to true
	// (Review Board's message for PUT valid=true, docs/api-tokens.md, "Errors and codes").
	//lint:ignore ST1005 exact client-facing Review Board text
	ErrCannotRevalidate = errors.New("This can only be used to invalidate the token. You cannot set valid to true.")
	// ErrImmutableField: an update tried to change a field that only the
	// manager may set (ID, owner, prefix, generator, creation time, last use,
	// or the first invalidation's date and reason).
	ErrImmutableField = errors.New("api token field cannot be changed")
	// ErrUnacceptedPrefix: GenerateParams.TokenType is not one of the
	// prefixes the server accepts.
	ErrUnacceptedPrefix = errors.New("token type is not an accepted prefix")
	// ErrInvalidExtraData: extra_data is not a JSON object.
	ErrInvalidExtraData = errors.New("extra_data must be a JSON object")

	// ErrDuplicateDigest is returned by StoreTx.Insert when another token
	// already has the same digest: the only error Generate retries on.
	ErrDuplicateDigest = errors.New("api token digest already exists")
)

// AuthError is a failed Authenticate. Kind is one of ErrMalformedToken,
// ErrTokenNotFound, ErrTokenInvalid, ErrTokenExpired or ErrUserInactive.
// Message is the exact client-facing text; "" means the caller should use
// LOGIN_FAILED's default, "The username or password was not correct". It
// never contains the token.
type AuthError struct {
	Kind    error
	Message string
}

// Error returns Message, or Kind's text when Message is empty.
func (e *AuthError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Kind.Error()
}

// Unwrap returns Kind, so errors.Is(err, ErrTokenExpired) works.
func (e *AuthError) Unwrap() error { return e.Kind }
