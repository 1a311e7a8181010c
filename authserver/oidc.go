package authserver

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

// OpenID Connect (Core 1.0, Discovery 1.0). See docs/openid-connect.md.

// The OpenID Connect scopes (Core §3.1.2.1, §5.4).
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
	ScopeEmail   = "email"
)

// OpenID Connect endpoint paths.
const (
	PathOIDCDiscovery = "/.well-known/openid-configuration"
	PathUserinfo      = "/oauth/userinfo"
	PathEndSession    = "/oauth/logout"
)

// Extension keys carrying the authorization request's OpenID Connect state
// from the code to every token of the grant.
const (
	ExtNonce    = "oidc_nonce"
	ExtAuthTime = "oidc_auth_time" // Unix seconds of the sign-in
)

// DefaultIDTokenAlg signs ID tokens unless a client registered another
// algorithm (Discovery §3 requires RS256 to be supported).
const DefaultIDTokenAlg = signing.AlgRS256

// DeclareOIDCScopes makes openid, profile and email known scopes with
// their consent-page descriptions.
func DeclareOIDCScopes(reg *scopes.Registry) error {
	for _, s := range []struct{ name, desc string }{
		{ScopeOpenID, "Sign you in and learn your account's identifier"},
		{ScopeProfile, "See your username and display name"},
		{ScopeEmail, "See your e-mail address and whether it is verified"},
	} {
		if err := reg.AddScope(s.name, s.desc); err != nil {
			return err
		}
	}
	return nil
}

// OIDCMetadata is the OpenID Provider metadata (Discovery §3): the RFC 8414
// document plus the OpenID Connect members. Issuer and endpoints are the
// same values, from the same function.
type OIDCMetadata struct {
	Metadata
	UserinfoEndpoint                 string   `json:"userinfo_endpoint"`
	EndSessionEndpoint               string   `json:"end_session_endpoint"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	PromptValuesSupported            []string `json:"prompt_values_supported"`
	ClaimsParameterSupported         bool     `json:"claims_parameter_supported"`
	RequestParameterSupported        bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported     bool     `json:"request_uri_parameter_supported"`
}

// OIDCMetadata returns the server's OpenID Provider metadata.
func (s *Server) OIDCMetadata() OIDCMetadata {
	m := OIDCMetadata{
		Metadata:                         s.Metadata(),
		UserinfoEndpoint:                 s.cfg.Issuer + PathUserinfo,
		EndSessionEndpoint:               s.cfg.Issuer + PathEndSession,
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: slices.Clone(signing.SupportedAlgs),
		ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
			"preferred_username", "name", "email", "email_verified"},
		PromptValuesSupported: []string{"none", "login", "consent"},
	}
	// RS256 first: the default, and the one Discovery requires.
	slices.SortStableFunc(m.IDTokenSigningAlgValuesSupported, func(a, b string) int {
		switch {
		case a == DefaultIDTokenAlg:
			return -1
		case b == DefaultIDTokenAlg:
			return 1
		}
		return 0
	})
	return m
}

func (s *Server) handleOIDCMetadata(c *gin.Context) {
	body, err := s.oidcDoc.bytes(s.docKey(), func() any { return s.OIDCMetadata() })
	if err != nil {
		s.log.Error("build OpenID Provider metadata", "error", err)
		writeOAuthError(c.Writer, errServer)
		return
	}
	allowCORS(c.Writer)
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// IDTokenClaims are an ID token's claims (Core §2, §5.1).
type IDTokenClaims struct {
	jwt.RegisteredClaims
	// Aud is the client ID, one string (Core §2 allows it; the embedded
	// Audience would be written as an array) and shadows Audience.
	Aud               string `json:"aud"`
	AuthTime          int64  `json:"auth_time,omitempty"`
	Nonce             string `json:"nonce,omitempty"`
	AtHash            string `json:"at_hash,omitempty"`
	AZP               string `json:"azp,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
}

// Subject is the public subject identifier of a user (Core §8): the
// decimal user ID, the same for every client. User IDs are never reused
// (SQLite AUTOINCREMENT, PostgreSQL sequences), so neither is a sub.
func Subject(userID int64) string { return strconv.FormatInt(userID, 10) }

// userClaims sets the claims the granted scopes allow (Core §5.4).
func userClaims(c *IDTokenClaims, u users.User, granted scopes.Set) {
	if granted.Has(ScopeProfile) {
		c.PreferredUsername, c.Name = u.Username, u.Name
	}
	if granted.Has(ScopeEmail) && u.Email != "" {
		v := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &v
	}
}

// halfHash is at_hash (Core §3.1.3.6): the base64url left half of the hash
// of the access token, with the hash of the ID token's algorithm (SHA-512
// for EdDSA with Ed25519, as go-oidc and the OpenID EdDSA registration do).
func halfHash(alg, token string) string {
	var h hash.Hash
	if alg == signing.AlgEdDSA {
		h = sha512.New()
	} else {
		h = sha256.New()
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// idTokenInput is what an ID token is made from.
type idTokenInput struct {
	client      *Client
	userID      string
	scope       string
	ext         map[string][]string
	accessToken string
	withNonce   bool // false on refresh (Core §12.2)
}

// idTokenAlg is the algorithm a client's ID tokens are signed with.
func idTokenAlg(c *Client) string {
	if c != nil && c.IDTokenAlg != "" {
		return c.IDTokenAlg
	}
	return DefaultIDTokenAlg
}

// wantsIDToken reports whether a grant of scope gets an ID token.
func wantsIDToken(scope string) bool {
	set, err := scopes.ParseSet(scope)
	return err == nil && set.Has(ScopeOpenID)
}

// idToken signs the ID token of a grant for in.userID.
func (s *Server) idToken(ctx context.Context, in idTokenInput) (string, error) {
	uid, err := strconv.ParseInt(in.userID, 10, 64)
	if err != nil {
		return "", fmt.Errorf("id token: grant has no user")
	}
	if s.users == nil {
		return "", errors.New("id token: no user store")
	}
	u, err := s.users.Get(ctx, uid)
	if err != nil {
		return "", fmt.Errorf("id token: load user: %w", err)
	}
	alg := idTokenAlg(in.client)
	key, err := s.Keys.IDTokenSigner(ctx, alg)
	if err != nil {
		return "", fmt.Errorf("id token: %w", err)
	}
	now := s.now()
	c := IDTokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.cfg.Issuer, Subject: Subject(u.ID),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTokenTTL)),
		},
		Aud: in.client.ID, AZP: in.client.ID,
	}
	get := func(k string) string {
		if v := in.ext[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if at, err := strconv.ParseInt(get(ExtAuthTime), 10, 64); err == nil {
		c.AuthTime = at
	}
	if in.withNonce {
		c.Nonce = get(ExtNonce)
	}
	if in.accessToken != "" {
		c.AtHash = halfHash(key.Alg(), in.accessToken)
	}
	granted, _ := scopes.ParseSet(in.scope)
	userClaims(&c, u, granted)
	// Core §2 and RFC 8725 §3.11: typ JWT, never at+jwt, so an ID token is
	// never taken for an access token.
	return key.Sign(c, "JWT")
}

// attachIDToken makes the token response of this request carry an ID token
// when the grant's scope has openid and it has a user.
func (s *Server) attachIDToken(ctx context.Context, in idTokenInput) error {
	if !wantsIDToken(in.scope) || in.userID == "" {
		return nil
	}
	tok, err := s.idToken(ctx, in)
	if err != nil {
		return err
	}
	if st := stateFrom(ctx); st != nil {
		st.idToken = tok
	}
	return nil
}

// VerifyIDTokenHint checks an ID token this server issued (its signature
// and issuer; an expired one is accepted, Core §3.1.2.1) and returns its
// subject and audience: the id_token_hint of an authorization or logout
// request.
func (s *Server) VerifyIDTokenHint(ctx context.Context, raw string) (sub string, aud []string, err error) {
	var c IDTokenClaims
	p := jwt.NewParser(jwt.WithIssuer(s.cfg.Issuer), jwt.WithoutClaimsValidation(), jwt.WithValidMethods(signing.SupportedAlgs))
	_, err = p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "JWT" {
			return nil, errors.New("not an ID token")
		}
		return s.Keys.PublicKeyFor(ctx, t)
	})
	if err != nil {
		return "", nil, err
	}
	if c.Issuer != s.cfg.Issuer || c.Subject == "" {
		return "", nil, errors.New("not an ID token of this issuer")
	}
	return c.Subject, []string{c.Aud}, nil
}
