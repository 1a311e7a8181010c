package resources

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/scopes"
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

// User is the person a request acts for, as far as the Guard knows it: a
// resource server apart from authgate learns the ID and username from the
// token or from introspection; a Guard with a UserDirectory (authgate's
// own) also knows the flags.
type User struct {
	ID       int64
	Username string
	// IsActive is true for every user a Guard lets through.
	IsActive bool
	// IsAdmin is reported by a UserDirectory or SessionValidator; remote
	// validators never set it.
	IsAdmin bool
}

// APIToken is what the Guard knows of the API token a request used.
type APIToken struct {
	ID int64
	// Prefix is the token's display prefix ("agp_Ab3x"), safe to show.
	Prefix string
	// Note is the owner's note; empty where the validator does not know it
	// (introspection does not carry it).
	Note string
	// Policy is the stored policy document (canonical JSON).
	Policy json.RawMessage
	// Expires is nil for a token that never expires.
	Expires *time.Time
	// Deprecated is set for a token in a deprecated format; the Guard then
	// sends X-API-Token-Deprecated.
	Deprecated bool
}

// AuthenticatedToken is a TokenAuthenticator's answer for a usable token.
type AuthenticatedToken struct {
	User  User
	Token APIToken
	// Policy is the compiled policy; nil denies everything (fail closed).
	Policy *policy.Compiled
}

// Principal is the authenticated caller of a request.
type Principal struct {
	Method AuthMethod
	// User is the person the request acts for. It is the zero User for an
	// OAuth2 client_credentials token, which acts for no one.
	User User
	// TokenID is the API token's ID (decimal) or the OAuth2 token's jti.
	TokenID string
	// ClientID is the OAuth2 client (MethodOAuth2 only).
	ClientID string
	// Scopes are the OAuth2 token's scopes (MethodOAuth2 only).
	Scopes scopes.Set
	// Policy is the API token's compiled policy (MethodAPIToken only).
	Policy *policy.Compiled
	// APIToken is the API token used (MethodAPIToken only).
	APIToken *APIToken
	// Bearer is the validated OAuth2 access token (MethodOAuth2 only): its
	// client, scopes, audience, expiry and cnf.jkt.
	Bearer *BearerToken
}

// ctxKey keys the request context value the Guard stores.
type ctxKey struct{}

// guarded is the request context value: the caller and the resource.
type guarded struct {
	p          *Principal
	pr         *protected
	challenges []string
}

// PrincipalFromContext returns the caller the Guard authenticated, from
// the context of a request the Guard passed on (net/http or gin); false for
// an anonymous request or one no Guard has seen.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	g, ok := ctx.Value(ctxKey{}).(*guarded)
	if !ok || g.p == nil {
		return nil, false
	}
	return g.p, true
}

// PrincipalFrom returns the caller that Guard.Protect authenticated; false
// for an anonymous request or one no Guard has seen.
func PrincipalFrom(c *gin.Context) (*Principal, bool) {
	return PrincipalFromContext(c.Request.Context())
}

// IsFirstParty reports whether the caller logged in with a password or a
// browser session, rather than with a token.
func (p *Principal) IsFirstParty() bool {
	return p != nil && (p.Method == MethodBasic || p.Method == MethodSession)
}

// ErrBearerInvalid is wrapped by BearerValidator errors for a token that is
// malformed, badly signed, expired, revoked or otherwise unacceptable; the
// Guard answers 401 with error="invalid_token" (RFC 6750 §3.1). An
// *UnavailableError is answered 503; any other error is a server failure.
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
// or an opaque token looked up).
type BearerValidator interface {
	ValidateBearer(ctx context.Context, raw string) (*BearerToken, error)
}

// SessionValidator reads the browser session of a request.
type SessionValidator interface {
	// ValidateSession returns ok=false when the request has no session
	// cookie, and an error when a cookie is present but invalid or expired.
	ValidateSession(r *http.Request) (user User, csrfToken string, ok bool, err error)
}

// TokenAuthenticator checks a raw API token ("Authorization: token <t>").
// A token that is refused gives a *TokenError; an *UnavailableError is
// answered 503; any other error is a server failure.
type TokenAuthenticator interface {
	AuthenticateAPIToken(ctx context.Context, raw string) (*AuthenticatedToken, error)
}

// UserDirectory checks HTTP Basic passwords and reloads the user of an
// OAuth2 token, so that a deactivated user's tokens stop working at once.
type UserDirectory interface {
	// UserByID returns the user, or an error wrapping ErrUserNotFound.
	UserByID(ctx context.Context, id int64) (User, error)
	// CheckPassword returns the user whose password this is, or an error
	// wrapping ErrInvalidCredentials.
	CheckPassword(ctx context.Context, username, password string) (User, error)
}

// UserDirectory errors.
var (
	ErrUserNotFound       = errors.New("user not found")
	ErrInvalidCredentials = errors.New("invalid username or password")
)
