package resources

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
	"github.com/authgate/authgate/tokens/policy"
)

// AuthMethod says how a request authenticated.
type AuthMethod string

// The ways a Principal can authenticate.
const (
	MethodAPIToken AuthMethod = "api_token" // Authorization: token <t>
	MethodOAuth2   AuthMethod = "oauth2"    // Authorization: Bearer <t> or DPoP <t>
	MethodBasic    AuthMethod = "basic"     // Authorization: Basic (username, password)
	MethodSession  AuthMethod = "session"   // the authgate_session cookie
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Method AuthMethod
	// User is the person the request acts for. It is the zero User for an
	// OAuth2 client_credentials token, which acts for no one.
	User users.User
	// TokenID is the API token's ID (decimal) or the OAuth2 token's jti.
	TokenID string
	// ClientID is the OAuth2 client (MethodOAuth2 only).
	ClientID string
	// Scopes are the OAuth2 token's scopes (MethodOAuth2 only).
	Scopes scopes.Set
	// Policy is the API token's compiled policy (MethodAPIToken only).
	Policy *policy.Compiled
	// APIToken is the API token used (MethodAPIToken only).
	APIToken *tokens.Token
	// Bearer is the validated OAuth2 access token (MethodOAuth2 only).
	Bearer *BearerToken
}

// principalKey holds the *Principal in the gin context.
const principalKey = "authgate.resources.principal"

// resourceKey holds the protecting Resource (*protected) in the gin context.
const resourceKey = "authgate.resources.resource"

// PrincipalFrom returns the caller that Guard.Protect authenticated; false
// for an anonymous request or one no Guard has seen.
func PrincipalFrom(c *gin.Context) (*Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return nil, false
	}
	p, ok := v.(*Principal)
	return p, ok && p != nil
}

// IsFirstParty reports whether the caller logged in with a password or a
// browser session, rather than with a token.
func (p *Principal) IsFirstParty() bool {
	return p != nil && (p.Method == MethodBasic || p.Method == MethodSession)
}

// ErrBearerInvalid is wrapped by BearerValidator errors for a token that is
// malformed, badly signed, expired, revoked or otherwise unacceptable; the
// Guard answers 401 with error="invalid_token" (RFC 6750 §3.1). Any other
// error is treated as a server failure.
var ErrBearerInvalid = errors.New("invalid bearer token")

// BearerToken is a validated OAuth2 access token.
type BearerToken struct {
	TokenID  string // jti
	ClientID string
	// UserID is 0 for a client_credentials token.
	UserID    int64
	Username  string
	Scopes    scopes.Set
	ExpiresAt time.Time
	Audience  []string
	// JKT is the RFC 7638 thumbprint of the DPoP key the token is bound to
	// (its cnf.jkt, RFC 9449 §6); "" for a Bearer token. A bound token is
	// accepted only with the DPoP scheme and a proof signed by that key.
	JKT string
}

// BearerValidator validates an OAuth2 access token (a JWT verified locally
// or an opaque token looked up); the authorization server implements it.
type BearerValidator interface {
	ValidateBearer(ctx context.Context, raw string) (*BearerToken, error)
}

// SessionValidator reads the browser session of a request; the web pages
// implement it (internal/sessions).
type SessionValidator interface {
	// ValidateSession returns ok=false when the request has no session
	// cookie, and an error when a cookie is present but invalid or expired.
	ValidateSession(r *http.Request) (user users.User, csrfToken string, ok bool, err error)
}

// TokenAuthenticator checks a raw API token; *tokens.Manager implements it.
type TokenAuthenticator interface {
	Authenticate(ctx context.Context, raw string) (*tokens.Authenticated, error)
}
