// Package introspection decides what the introspection endpoint (RFC 7662)
// answers: who may learn about which token, which members each kind of
// token reports, and when a token is {"active": false}. It does no I/O: the
// authorization server authenticates the caller, validates or looks the
// token up and hands the facts here. See
// docs/introspection-and-audience.md.
package introspection

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// Token types reported by introspection (RFC 7662 §2.2 token_type).
const (
	TokenTypeBearer  = "Bearer"
	TokenTypeDPoP    = "DPoP" // RFC 9449 §6.2: a DPoP-bound access token
	TokenTypeRefresh = "refresh_token"
	TokenTypeAPI     = "api_token"
)

// Values of the inactive_reason member (an extension of RFC 7662 §2.2).
const (
	InactiveExpired      = "expired"
	InactiveInvalid      = "invalid"
	InactiveUserInactive = "user_inactive"
)

// Response is an introspection answer (RFC 7662 §2.2). A nil pointer or
// empty member is left out; the members are declared in the alphabetical
// order of their names, so the encoding is the one a map of them would
// have, without a map's sorting and allocations on every answer.
type Response struct {
	Active           bool            `json:"active"`
	APITokenID       string          `json:"api_token_id,omitempty"`
	Audience         *[]string       `json:"aud,omitempty"`
	ClientID         *string         `json:"client_id,omitempty"`
	Confirmation     *Confirmation   `json:"cnf,omitempty"`
	Deprecated       *bool           `json:"deprecated,omitempty"`
	ErrorDescription string          `json:"error_description,omitempty"`
	ExpiresAt        *int64          `json:"exp,omitempty"`
	IssuedAt         *int64          `json:"iat,omitempty"`
	InactiveReason   string          `json:"inactive_reason,omitempty"`
	Issuer           *string         `json:"iss,omitempty"`
	JTI              *string         `json:"jti,omitempty"`
	Policy           json.RawMessage `json:"policy,omitempty"`
	Scope            string          `json:"scope,omitempty"`
	Subject          *string         `json:"sub,omitempty"`
	TokenType        string          `json:"token_type,omitempty"`
	Username         *string         `json:"username,omitempty"`
}

// Confirmation is the cnf member: the DPoP key a token is bound to (RFC
// 9449 §6.2).
type Confirmation struct {
	JKT string `json:"jkt"`
}

func ptr[T any](v T) *T { return &v }

// Inactive is the answer about a token the caller may not learn about, or
// that is not active (RFC 7662 §2.2): nothing but "active": false, so the answer
// tells nothing of why.
func Inactive() Response { return Response{} }

// Caller is the authenticated confidential client that asks.
type Caller struct {
	ID string
	// ResourceServer: a resource-server client learns about every access
	// token and API token, since those are what resource servers receive;
	// any other client only about the tokens issued to itself (RFC 7662 §4: the
	// server may limit what a caller learns).
	ResourceServer bool
}

// Access is a valid access token (signature, issuer, expiry and audience
// checked; neither it nor its user revoked or deactivated).
type Access struct {
	JTI       string // the JWT ID; unused for an opaque token
	ClientID  string
	Subject   string
	Username  string
	Scope     string
	Audience  []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	Opaque    bool
	JKT       string // the thumbprint of the DPoP key it is bound to, or ""
}

// AccessToken answers caller about a valid access token: inactive unless
// the caller is a resource server or the client it was issued to.
func AccessToken(caller Caller, at Access, issuer string) Response {
	if !caller.ResourceServer && at.ClientID != caller.ID {
		return Inactive()
	}
	out := Response{
		Active: true, TokenType: TokenTypeBearer, ClientID: &at.ClientID, Subject: &at.Subject,
		ExpiresAt: ptr(at.ExpiresAt.Unix()), IssuedAt: ptr(at.IssuedAt.Unix()), Issuer: &issuer, Audience: &at.Audience,
		Scope: at.Scope,
	}
	if at.Username != "" {
		out.Username = &at.Username
	}
	if !at.Opaque {
		out.JTI = &at.JTI
	}
	if at.JKT != "" {
		// RFC 9449 §6.2: the key the token is bound to.
		out.TokenType = TokenTypeDPoP
		out.Confirmation = &Confirmation{JKT: at.JKT}
	}
	return out
}

// RefreshVisible reports whether caller may learn about a stored refresh
// token: only a live one issued to the caller itself — a refresh token
// never leaves its client, resource server or not.
func RefreshVisible(caller Caller, live bool, clientID string) bool {
	return live && clientID == caller.ID
}

// Refresh is a live refresh token the caller may learn about.
type Refresh struct {
	ClientID  string
	Scope     string
	JKT       string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// User is the user a token was issued for, as it is now.
type User struct {
	ID       int64
	Active   bool
	Username string
}

// RefreshToken answers about a visible refresh token; user is nil for a
// token without a user. A token whose user is no longer active is
// inactive.
func RefreshToken(r Refresh, user *User, issuer string) Response {
	if user != nil && !user.Active {
		return Inactive()
	}
	out := Response{
		Active: true, TokenType: TokenTypeRefresh, ClientID: &r.ClientID,
		ExpiresAt: ptr(r.ExpiresAt.Unix()), IssuedAt: ptr(r.CreatedAt.Unix()), Issuer: &issuer, Scope: r.Scope,
	}
	if r.JKT != "" {
		out.Confirmation = &Confirmation{JKT: r.JKT}
	}
	if user != nil {
		out.Subject, out.Username = ptr(strconv.FormatInt(user.ID, 10)), &user.Username
	}
	return out
}

// APITokensVisible reports whether caller may learn about API tokens: they
// are for resource servers only; no other client receives them, so no
// other client may ask about them.
func APITokensVisible(caller Caller) bool { return caller.ResourceServer }

// DenyAllPolicy is what introspection reports for an API token whose
// stored policy is unreadable.
var DenyAllPolicy = json.RawMessage(`{"resources":{"*":{"block":["*"]}}}`)

// APIToken is a usable API token, looked up without recording a use.
type APIToken struct {
	ID         int64
	UserID     int64
	Username   string
	IssuedAt   time.Time
	Expires    *time.Time // nil: never
	Policy     json.RawMessage
	Deprecated bool
}

// APITokenResponse answers a resource server about a usable API token. The
// policy goes out as the manager compiled it. A stored policy that cannot
// be read (nil) must not reach a remote resource server as {} (full
// access): it is reported as a policy that blocks everything, the same
// fail-closed decision authgate's own middleware makes (docs/api-tokens.md,
// "Deliberate differences").
func APITokenResponse(a APIToken, issuer string) Response {
	pol := a.Policy
	if pol == nil {
		pol = DenyAllPolicy
	}
	out := Response{
		Active: true, TokenType: TokenTypeAPI, Username: &a.Username,
		Subject: ptr(strconv.FormatInt(a.UserID, 10)), IssuedAt: ptr(a.IssuedAt.Unix()), Issuer: &issuer,
		Policy: pol, APITokenID: strconv.FormatInt(a.ID, 10), Deprecated: &a.Deprecated,
	}
	if a.Expires != nil {
		out.ExpiresAt = ptr(a.Expires.Unix())
	}
	return out
}

// UnusableAPIToken maps the failure of an API-token lookup to the answer:
// an unknown or malformed token is {"active": false}; one that exists but
// cannot be used carries inactive_reason and, as error_description, the
// exact message authgate's Guard sends for it (Djblets' wording), so a
// remote resource server answers as authgate does. Any other error (the
// database) is returned.
func UnusableAPIToken(err error) (Response, error) {
	var ae *tokens.AuthError
	if !errors.As(err, &ae) {
		return Response{}, err
	}
	var reason string
	switch {
	case errors.Is(ae.Kind, tokens.ErrTokenExpired):
		reason = InactiveExpired
	case errors.Is(ae.Kind, tokens.ErrTokenInvalid):
		reason = InactiveInvalid
	case errors.Is(ae.Kind, tokens.ErrUserInactive):
		reason = InactiveUserInactive
	default:
		return Inactive(), nil
	}
	msg := ae.Message
	if msg == "" {
		msg = resources.LoginFailed().Msg
	}
	return Response{TokenType: TokenTypeAPI, InactiveReason: reason, ErrorDescription: msg}, nil
}
