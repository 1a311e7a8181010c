package oauthstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-oauth2/oauth2/v4"

	"github.com/authgate/authgate/authserver/clientauthn"
	"github.com/authgate/authgate/scopes"
)

// Grant types a client may be allowed. password and implicit do not exist
// here (RFC 9700 §2.4, OAuth 2.1).
const (
	GrantAuthorizationCode = string(oauth2.AuthorizationCode)
	GrantRefreshToken      = string(oauth2.Refreshing)
	GrantClientCredentials = string(oauth2.ClientCredentials)
	// GrantDeviceCode is the device authorization grant (RFC 8628 §3.4),
	// for input-constrained devices and CLIs; it needs no redirect URI.
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// SupportedGrantTypes lists every grant the token endpoint serves.
var SupportedGrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode}

// Client errors, compared with errors.Is.
var (
	ErrClientNotFound        = errors.New("oauth client not found")
	ErrInvalidClientMetadata = errors.New("invalid client metadata")
)

// Client is a registered OAuth2 client. The secret is never held: only its
// SHA-256 digest, compared in constant time by VerifySecret.
type Client struct {
	ID      string `json:"client_id"`
	Name    string `json:"name"`
	OwnerID int64  `json:"owner_id,omitempty"` // 0: no owner (created by an operator)
	Public  bool   `json:"public"`
	// ResourceServer marks a resource server: it may register resources
	// and introspect any token (docs/introspection-and-audience.md).
	ResourceServer bool     `json:"resource_server"`
	RedirectURIs   []string `json:"redirect_uris"`
	GrantTypes     []string `json:"grant_types"`
	Scopes         []string `json:"scopes"` // the scopes the client may ask for
	// IDTokenAlg is the client's id_token_signed_response_alg (OpenID
	// Connect Dynamic Client Registration §2); "" means RS256.
	IDTokenAlg      string     `json:"id_token_signed_response_alg,omitempty"`
	SecretPrefix    string     `json:"secret_prefix,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	SecretRotatedAt *time.Time `json:"secret_rotated_at,omitempty"`
	DisabledAt      *time.Time `json:"disabled_at,omitempty"`
	// TokensRevokedAt is the client's revocation epoch: an access token
	// that has no row (a client_credentials JWT) and was issued at or
	// before it is refused. Disabling the client sets it. See
	// docs/performance.md, "Issuance".
	TokensRevokedAt *time.Time `json:"tokens_revoked_at,omitempty"`

	secretDigest string
}

// Disabled reports whether the client has been disabled; a disabled client
// cannot authenticate, authorize or hold live tokens.
func (c *Client) Disabled() bool { return c.DisabledAt != nil }

// TokenRevoked reports whether an access token of this client issued at
// iat falls before the client's revocation epoch. A JWT's iat has whole
// seconds, so the epoch is compared at that precision and a token issued
// within the epoch's own second counts as before it: refusing a token
// issued just after a re-enable is the safe error.
func (c *Client) TokenRevoked(iat time.Time) bool {
	return c.TokensRevokedAt != nil && iat.Unix() <= c.TokensRevokedAt.Unix()
}

// AllowsGrant reports whether the client may use grant type g.
func (c *Client) AllowsGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// AllowedScopes returns the client's allowed scopes as a set.
func (c *Client) AllowedScopes() scopes.Set {
	s, err := scopes.NewSet(c.Scopes...)
	if err != nil {
		return scopes.Set{} // unreachable: scopes are validated on write
	}
	return s
}

// RedirectURIAllowed reports whether uri may receive this client's
// authorization responses: an exact string match with a registered URI, or
// the RFC 8252 §7.3 loopback exception (any port).
func (c *Client) RedirectURIAllowed(uri string) bool { return MatchRedirectURI(c.RedirectURIs, uri) }

// VerifySecret compares secret with the stored digest in constant time. A
// public client has no secret and verifies only the empty string.
func (c *Client) VerifySecret(secret string) bool {
	if c.Public {
		return secret == "" && c.secretDigest == ""
	}
	return clientauthn.VerifySecret(c.secretDigest, secret)
}

// Authn is what client authentication decides on: whether the client is
// public or disabled, and its secret's digest.
func (c *Client) Authn() clientauthn.Client {
	return clientauthn.Client{Public: c.Public, Disabled: c.Disabled(), SecretDigest: c.secretDigest}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ValidateRedirectURI checks a URI for registration: absolute, no fragment,
// no user info, no wildcard; https, or http only for a loopback host (RFC
// 9700 §2.1, RFC 8252 §8.3), or a private-use scheme in reverse-domain form
// for native apps (RFC 8252 §7.1).
func ValidateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("redirect URI %q: %w", raw, err)
	}
	switch {
	case !u.IsAbs():
		return fmt.Errorf("redirect URI %q must be absolute", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("redirect URI %q must not have a fragment (RFC 6749 §3.1.2)", raw)
	case u.User != nil:
		return fmt.Errorf("redirect URI %q must not contain user information", raw)
	case strings.Contains(raw, "*"):
		return fmt.Errorf("redirect URI %q must not contain a wildcard", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("redirect URI %q has no host", raw)
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("redirect URI %q: http is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https", raw)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("redirect URI %q: a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)", raw)
		}
	}
	return nil
}

// ClientSpec is what a client is created or updated from.
type ClientSpec struct {
	Name    string
	OwnerID int64
	Public  bool
	// ResourceServer: see Client.ResourceServer. A resource server must be
	// confidential, since it authenticates to introspect.
	ResourceServer bool
	RedirectURIs   []string
	GrantTypes     []string // empty: authorization_code + refresh_token, or client_credentials when no redirect URI is given
	Scopes         []string
	// IDTokenAlg: see Client.IDTokenAlg.
	IDTokenAlg string
}

// normalize fills defaults and validates the spec.
func (sp ClientSpec) normalize() (ClientSpec, error) {
	bad := func(format string, args ...any) (ClientSpec, error) {
		return ClientSpec{}, fmt.Errorf("%w: %s", ErrInvalidClientMetadata, fmt.Sprintf(format, args...))
	}
	sp.Name = strings.TrimSpace(sp.Name)
	if sp.Name == "" || len(sp.Name) > 200 {
		return bad("name must be 1-200 characters")
	}
	switch sp.IDTokenAlg {
	case "", "RS256", "ES256", "EdDSA":
	default:
		return bad("id_token_signed_response_alg must be RS256, ES256 or EdDSA")
	}
	sp.RedirectURIs = dedupe(sp.RedirectURIs)
	for _, u := range sp.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return bad("%v", err)
		}
	}
	sp.GrantTypes = dedupe(sp.GrantTypes)
	if len(sp.GrantTypes) == 0 {
		if len(sp.RedirectURIs) > 0 {
			sp.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
		} else if !sp.Public {
			sp.GrantTypes = []string{GrantClientCredentials}
		}
	}
	for _, g := range sp.GrantTypes {
		if !slices.Contains(SupportedGrantTypes, g) {
			return bad("grant type %q is not supported (supported: %s)", g, strings.Join(SupportedGrantTypes, ", "))
		}
	}
	if len(sp.GrantTypes) == 0 {
		return bad("a public client needs a redirect URI for the authorization_code grant")
	}
	if slices.Contains(sp.GrantTypes, GrantAuthorizationCode) && len(sp.RedirectURIs) == 0 {
		return bad("the authorization_code grant needs at least one redirect URI")
	}
	if slices.Contains(sp.GrantTypes, GrantRefreshToken) && !slices.Contains(sp.GrantTypes, GrantAuthorizationCode) &&
		!slices.Contains(sp.GrantTypes, GrantDeviceCode) {
		return bad("the refresh_token grant needs the authorization_code or the device_code grant")
	}
	if sp.Public && sp.ResourceServer {
		return bad("a resource server must be a confidential client: it authenticates to introspect tokens")
	}
	if sp.Public && slices.Contains(sp.GrantTypes, GrantClientCredentials) {
		// RFC 6749 §4.4: client_credentials is for confidential clients only.
		return bad("a public client cannot use the client_credentials grant")
	}
	sp.Scopes = dedupe(sp.Scopes)
	if _, err := scopes.NewSet(sp.Scopes...); err != nil {
		return bad("%v", err)
	}
	slices.Sort(sp.Scopes)
	return sp, nil
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
