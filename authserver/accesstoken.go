package authserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/users"
)

// Access token formats (config oauth.access_token_format).
const (
	FormatJWT    = "jwt"
	FormatOpaque = "opaque"
)

// jwtType is the RFC 9068 §2.1 header typ of an access token.
const jwtType = "at+jwt"

// errTokenInvalid is returned by access-token validation for anything that
// is not a live access token: malformed, bad signature, wrong typ, issuer or
// audience, expired, revoked, or its user deactivated.
var errTokenInvalid = errors.New("access token is invalid, expired or revoked")

// atClaims are the RFC 9068 §2.2 claims of a JWT access token.
type atClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
	// Cnf binds a DPoP access token to its key (RFC 9449 §6.1).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// confirmation is the RFC 7800 cnf claim with RFC 9449's jkt member.
type confirmation struct {
	JKT string `json:"jkt,omitempty"`
}

// AccessToken is a validated access token, JWT or opaque.
type AccessToken struct {
	JTI       string // JWT ID, or the display prefix of an opaque token
	ClientID  string
	UserID    int64 // 0: a client_credentials token
	Username  string
	Subject   string
	Scope     string
	Audience  []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	Opaque    bool
	// JKT is the thumbprint of the DPoP key the token is bound to ("" for
	// a Bearer token).
	JKT string
}

// accessTokens issues access and refresh tokens (go-oauth2's
// AccessGenerate) and validates access tokens.
type accessTokens struct {
	format   string
	issuer   string
	audience string
	keys     *signing.KeySet
	store    *TokenStore
	client   func(ctx context.Context, id string) (*Client, error) // any client, disabled or not
	db       *db.DB
	users    statusReader // userstatus.go; nil: read from db
	now      func() time.Time
	// anyAud verifies a JWT for every audience authgate issues; validation
	// for authgate's own API then requires aud to hold audience.
	anyAud *jwt.Parser
	// verified caches verified JWTs by digest (jwtcache.go); rev is the
	// revocation state they are checked against (revocation.go).
	verified *verifiedJWTs
	rev      *revocationState
}

var _ oauth2.AccessGenerate = (*accessTokens)(nil)

func newAccessTokens(format, issuer, audience string, keys *signing.KeySet, store *TokenStore, client func(context.Context, string) (*Client, error), d *db.DB, now func() time.Time, rev *revocationState) *accessTokens {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(signing.SupportedAlgs),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(now),
	}
	return &accessTokens{
		format: format, issuer: issuer, audience: audience, keys: keys, store: store, client: client, db: d, now: now,
		anyAud: jwt.NewParser(opts...), verified: newVerifiedJWTs(VerifiedJWTCacheSize), rev: rev,
	}
}

type signerKey struct{}

// withSigner pins the signing key for the token issued under ctx, so
// issuance inside a database transaction never reaches for a second
// connection to load keys.
func withSigner(ctx context.Context, k *signing.Key) context.Context {
	return context.WithValue(ctx, signerKey{}, k)
}

// prepare loads what Token needs before a transaction starts.
func (a *accessTokens) prepare(ctx context.Context) (context.Context, error) {
	if a.format != FormatJWT {
		return ctx, nil
	}
	k, err := a.keys.Signer(ctx)
	if err != nil {
		return ctx, fmt.Errorf("access token signing key: %w", err)
	}
	return withSigner(ctx, k), nil
}

// b64 is unpadded base64url (RFC 7515 §2), the encoding of JWT parts and
// of the random values in tokens.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate jti: %w", err)
	}
	return b64(b[:]), nil
}

// Token implements oauth2.AccessGenerate: an RFC 9068 JWT (or an opaque
// agat_ value) and, when asked, an opaque agrt_ refresh token. The
// TokenInfo already carries scope, client, user and lifetimes.
func (a *accessTokens) Token(ctx context.Context, data *oauth2.GenerateBasic, genRefresh bool) (access, refresh string, err error) {
	ti := data.TokenInfo
	if a.format == FormatOpaque {
		access, err = newOpaque(PrefixAccessToken)
	} else {
		access, err = a.signJWT(ctx, ti)
	}
	if err != nil {
		return "", "", err
	}
	if genRefresh {
		if refresh, err = newOpaque(PrefixRefreshToken); err != nil {
			return "", "", err
		}
	}
	return access, refresh, nil
}

func (a *accessTokens) signJWT(ctx context.Context, ti oauth2.TokenInfo) (string, error) {
	k, _ := ctx.Value(signerKey{}).(*signing.Key)
	if k == nil {
		var err error
		if k, err = a.keys.Signer(ctx); err != nil {
			return "", fmt.Errorf("access token signing key: %w", err)
		}
	}
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	iat := ti.GetAccessCreateAt()
	// RFC 9068 §2.2: sub is the resource owner, or for a grant without
	// one (client_credentials) the client. Client IDs are generated
	// "agci_…" values, never numeric, so they cannot pass for a user ID
	// (RFC 9700 §4.15).
	sub := ti.GetUserID()
	if sub == "" {
		sub = ti.GetClientID()
	}
	claims := atClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.issuer,
			Subject:   sub,
			Audience:  jwt.ClaimStrings(accessAudience(extensionOf(ti), a.audience)),
			ExpiresAt: jwt.NewNumericDate(iat.Add(ti.GetAccessExpiresIn())),
			IssuedAt:  jwt.NewNumericDate(iat),
			ID:        jti,
		},
		ClientID: ti.GetClientID(),
		Scope:    ti.GetScope(),
	}
	if jkt := jktFrom(ctx); jkt != "" {
		// RFC 9449 §6.1: a DPoP-bound JWT carries cnf.jkt.
		claims.Cnf = &confirmation{JKT: jkt}
	}
	s, err := k.Sign(claims, jwtType)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// parseJWT checks a JWT access token's signature, header and claims
// (RFC 9068 §4) with parser p, without consulting revocation.
func (a *accessTokens) parseJWT(ctx context.Context, p *jwt.Parser, raw string) (*atClaims, error) {
	var c atClaims
	tok, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != jwtType && typ != "application/"+jwtType {
			return nil, errors.New("typ is not at+jwt")
		}
		// The key decides the algorithm, never the token header.
		return a.keys.PublicKeyFor(ctx, t)
	})
	if err != nil || !tok.Valid {
		return nil, errTokenInvalid
	}
	if c.ID == "" || c.ClientID == "" || c.Subject == "" || c.IssuedAt == nil {
		return nil, errTokenInvalid
	}
	return &c, nil
}

// looksLikeJWT reports whether raw has the three dot-separated parts of a
// JWS compact serialization.
func looksLikeJWT(raw string) bool {
	dots := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] == '.' {
			dots++
		}
	}
	return dots == 2
}

// Validate checks an access token of either format for authgate's own API:
// a JWT by signature and claims plus its jti against revoked_jti, an opaque
// one by lookup; in both cases that its audience is authgate's and that its
// user is still active. Any failure is errTokenInvalid.
func (a *accessTokens) Validate(ctx context.Context, raw string) (*AccessToken, error) {
	return a.validate(ctx, raw, true)
}

// validateAnyAudience is Validate for introspection: a token issued for a
// resource server (aud = its audience, RFC 8707) is as valid as one for
// authgate's API; the resource server checks the audience itself.
func (a *accessTokens) validateAnyAudience(ctx context.Context, raw string) (*AccessToken, error) {
	return a.validate(ctx, raw, false)
}

func (a *accessTokens) validate(ctx context.Context, raw string, ownAudience bool) (*AccessToken, error) {
	switch {
	case hasPrefix(raw, PrefixAccessToken):
		return a.validateOpaque(ctx, raw, ownAudience)
	case looksLikeJWT(raw):
		return a.validateJWT(ctx, ownAudience, raw)
	}
	return nil, errTokenInvalid
}

func (a *accessTokens) validateJWT(ctx context.Context, ownAudience bool, raw string) (*AccessToken, error) {
	v, err := a.verifiedJWT(ctx, raw)
	if err != nil {
		return nil, err
	}
	if ownAudience && !slices.Contains(v.Audience, a.audience) {
		return nil, errTokenInvalid // meant for another resource server
	}
	if a.rev.revoked(v.JTI) {
		return nil, errTokenInvalid
	}
	at := *v
	// A disabled or deleted client's JWTs stop validating even when they
	// have no row whose jti the client's revocation could list; the client
	// store's cache answers without a query (see rowless.go).
	if err := a.clientHolds(ctx, &at); err != nil {
		return nil, err
	}
	if at.UserID != 0 {
		active, username, err := a.userStatus(ctx, at.UserID)
		if err != nil {
			return nil, err
		}
		if !active {
			return nil, errTokenInvalid
		}
		at.Username = username
	}
	return &at, nil
}

// status reports whether jti is revoked (not asked when jti is "") and
// whether user uid (0: none) exists and is active, with their username,
// from the in-memory revocation state (see revocation.go). The user's
// state comes from internal/users, the one reader of the users table (see
// docs/architecture.md, "Table owners").
func (a *accessTokens) status(ctx context.Context, jti string, uid int64) (revoked, active bool, username string, err error) {
	if jti != "" && a.rev.revoked(jti) {
		return true, false, "", nil
	}
	if uid == 0 {
		return false, false, "", nil
	}
	active, username, err = a.userStatus(ctx, uid)
	return false, active, username, err
}

// userStatus reports whether user uid exists and is active, with their
// username, through the users store's status cache (see userstatus.go).
func (a *accessTokens) userStatus(ctx context.Context, uid int64) (active bool, username string, err error) {
	st, err := a.readUserStatus(ctx, uid)
	if errors.Is(err, users.ErrNotFound) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("check access token status: %w", err)
	}
	return st.IsActive, st.Username, nil
}

func (a *accessTokens) validateOpaque(ctx context.Context, raw string, ownAudience bool) (*AccessToken, error) {
	if !wellFormed(PrefixAccessToken, raw) {
		return nil, errTokenInvalid // rejected before any database query
	}
	r, ok, err := a.store.ByDigest(ctx, kindAccess, raw)
	if err != nil {
		return nil, err
	}
	if !ok || !r.Live(a.now()) {
		return nil, errTokenInvalid
	}
	ext, _ := url.ParseQuery(r.Extension)
	aud := accessAudience(ext, a.audience)
	if ownAudience && !slices.Contains(aud, a.audience) {
		return nil, errTokenInvalid // meant for another resource server
	}
	at := &AccessToken{
		JTI: r.Prefix, ClientID: r.ClientID, Scope: r.Scope, Audience: aud,
		IssuedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Opaque: true, Subject: r.ClientID, JKT: r.JKT,
	}
	if r.UserID.Valid {
		at.UserID = r.UserID.Int64
		at.Subject = strconv.FormatInt(at.UserID, 10)
		_, active, username, err := a.status(ctx, "", at.UserID)
		if err != nil {
			return nil, err
		}
		if !active {
			return nil, errTokenInvalid
		}
		at.Username = username
	}
	return at, nil
}

// userActive reports, inside tx, whether user uid exists and is active.
func userActive(ctx context.Context, tx *sqlx.Tx, uid string) (bool, error) {
	if uid == "" {
		return true, nil
	}
	id, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		return false, nil
	}
	st, err := users.StatusIn(ctx, tx, id)
	if errors.Is(err, users.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check user: %w", err)
	}
	return st.IsActive, nil
}
