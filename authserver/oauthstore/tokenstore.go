package oauthstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	oerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// Kinds of oauth_tokens rows.
const (
	KindCode    = "code"
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// Extension keys the store keeps on go-oauth2 TokenInfo records. The library
// copies the extension from a code to its tokens, which is how a grant ID
// survives the library's code path (docs/go-oauth2.md, "Store contracts").
// ExtAccessAudience is an access token's own narrowed audience, which a
// refresh token does not keep.
const (
	ExtGrantID        = "authgate_grant_id"
	ExtGrantCreatedAt = "authgate_grant_created_at"
	ExtAccessAudience = "authgate_access_aud"
)

// TokenRow is one oauth_tokens row.
type TokenRow struct {
	ID                  int64          `db:"id"`
	Kind                string         `db:"kind"`
	Digest              string         `db:"digest"`
	JTI                 sql.NullString `db:"jti"`
	Prefix              string         `db:"prefix"`
	GrantID             string         `db:"grant_id"`
	ParentID            sql.NullInt64  `db:"parent_id"`
	ClientID            string         `db:"client_id"`
	UserID              sql.NullInt64  `db:"user_id"`
	Scope               string         `db:"scope"`
	RedirectURI         string         `db:"redirect_uri"`
	CodeChallenge       string         `db:"code_challenge"`
	CodeChallengeMethod string         `db:"code_challenge_method"`
	Extension           string         `db:"extension"`
	GrantCreatedAt      time.Time      `db:"grant_created_at"`
	CreatedAt           time.Time      `db:"created_at"`
	ExpiresAt           time.Time      `db:"expires_at"`
	ConsumedAt          sql.NullTime   `db:"consumed_at"`
	RevokedAt           sql.NullTime   `db:"revoked_at"`
	JKT                 string         `db:"jkt"`

	// UserActive is filled by RedeemCode and RotateRefresh, inside their
	// transaction, for a live row: whether the row's user exists and is
	// active (true for a row without a user).
	UserActive bool `db:"-"`
}

const tokenColumns = `id, kind, digest, jti, prefix, grant_id, parent_id, client_id, user_id, scope, redirect_uri,
	code_challenge, code_challenge_method, extension, grant_created_at, created_at, expires_at, consumed_at, revoked_at, jkt`

// Expired reports whether the row's lifetime has ended at now.
func (r *TokenRow) Expired(now time.Time) bool { return !now.Before(r.ExpiresAt) }

// Live reports whether the row may still be used: not consumed, not
// revoked, not expired.
func (r *TokenRow) Live(now time.Time) bool {
	return !r.ConsumedAt.Valid && !r.RevokedAt.Valid && !r.Expired(now)
}

// UserIDString is the row's user ID as go-oauth2 carries it ("" for none).
func (r *TokenRow) UserIDString() string {
	if !r.UserID.Valid {
		return ""
	}
	return strconv.FormatInt(r.UserID.Int64, 10)
}

// Ext parses the row's stored extension.
func (r *TokenRow) Ext() url.Values {
	ext, _ := url.ParseQuery(r.Extension)
	return ext
}

// tokenInfo rebuilds the go-oauth2 record for a row, echoing raw back: the
// manager compares the value it asked for with the one returned
// (docs/go-oauth2.md, "Store contracts").
func (r *TokenRow) tokenInfo(raw string) *models.Token {
	ti := models.NewToken()
	if ext, err := url.ParseQuery(r.Extension); err == nil {
		ti.Extension = ext
	}
	ti.Extension.Set(ExtGrantID, r.GrantID)
	ti.Extension.Set(ExtGrantCreatedAt, r.GrantCreatedAt.UTC().Format(time.RFC3339Nano))
	ti.ClientID = r.ClientID
	ti.UserID = r.UserIDString()
	ti.Scope = r.Scope
	ti.RedirectURI = r.RedirectURI
	ttl := r.ExpiresAt.Sub(r.CreatedAt)
	switch r.Kind {
	case KindCode:
		ti.Code, ti.CodeCreateAt, ti.CodeExpiresIn = raw, r.CreatedAt, ttl
		ti.CodeChallenge, ti.CodeChallengeMethod = r.CodeChallenge, r.CodeChallengeMethod
	case KindAccess:
		ti.Access, ti.AccessCreateAt, ti.AccessExpiresIn = raw, r.CreatedAt, ttl
	case KindRefresh:
		ti.Refresh, ti.RefreshCreateAt, ti.RefreshExpiresIn = raw, r.CreatedAt, ttl
	}
	return ti
}

// BindingFunc returns the DPoP key thumbprints the tokens stored through
// the library's Create are bound to: the access token's, and the refresh
// token's (RFC 9449 §5); "" for unbound.
type BindingFunc func(ctx context.Context) (accessJKT, refreshJKT string)

// UserActiveFunc reports, inside tx, whether user uid ("" for none) exists
// and is active. The users table is not the token store's: its owner
// supplies this check, which RedeemCode and RotateRefresh run in their
// transaction so a deactivation cannot slip between check and issuance.
type UserActiveFunc func(ctx context.Context, tx *sqlx.Tx, uid string) (bool, error)

// TokenStore is go-oauth2's TokenStore on internal/db, keeping only SHA-256
// digests of codes and tokens, plus what authgate needs beyond the library:
// atomic consumption, grant families and JWT revocation. It owns the
// oauth_tokens and revoked_jti tables.
type TokenStore struct {
	db         *db.DB
	now        func() time.Time
	binding    BindingFunc
	userActive UserActiveFunc
	notifier   RevocationNotifier
}

var _ oauth2.TokenStore = (*TokenStore)(nil)

// TokenStoreOptions are a TokenStore's collaborators; the zero value is a
// store on the system clock, with no DPoP binding and every user active.
type TokenStoreOptions struct {
	// Now replaces time.Now (the server's clock, tests); nil: time.Now.
	Now func() time.Time
	// Binding is how Create learns the DPoP binding of a request.
	Binding BindingFunc
	// UserActive is the user check of RedeemCode and RotateRefresh, run in
	// their transaction; nil: every user counts as active.
	UserActive UserActiveFunc
	// Notifier announces "revoked_jti:<jti>", for every jti a transaction
	// lists in revoked_jti, with the transaction (internal/notify.Bus
	// turns more than notify.MaxEach into "revoked_jti:*"); nil announces
	// nothing.
	Notifier RevocationNotifier
}

// NewTokenStore returns a TokenStore backed by d with the zero options.
func NewTokenStore(d *db.DB) *TokenStore { return NewTokenStoreWith(d, TokenStoreOptions{}) }

// NewTokenStoreWith returns a TokenStore backed by d with opts.
func NewTokenStoreWith(d *db.DB, opts TokenStoreOptions) *TokenStore {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &TokenStore{db: d, now: now, binding: opts.Binding, userActive: opts.UserActive, notifier: opts.Notifier}
}

// newRow is what insert needs to write one value.
type newRow struct {
	kind, raw, jti, grantID          string
	parentID                         int64
	clientID, userID                 string
	scope, redirectURI               string
	challenge, challengeMethod       string
	extension                        url.Values
	grantCreatedAt, createdAt, expAt time.Time
	jkt                              string // DPoP key thumbprint, "" if unbound
}

func (s *TokenStore) insert(ctx context.Context, q sqlx.ExtContext, n newRow) (int64, error) {
	var uid sql.NullInt64
	if n.userID != "" {
		id, err := strconv.ParseInt(n.userID, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("store %s: user ID %q is not a number", n.kind, n.userID)
		}
		uid = sql.NullInt64{Int64: id, Valid: true}
	}
	ext := url.Values{}
	for k, v := range n.extension {
		if k != ExtGrantID && k != ExtGrantCreatedAt {
			ext[k] = v
		}
	}
	var jti sql.NullString
	if n.jti != "" {
		jti = sql.NullString{String: n.jti, Valid: true}
	}
	var parent sql.NullInt64
	if n.parentID != 0 {
		parent = sql.NullInt64{Int64: n.parentID, Valid: true}
	}
	prefix := ""
	if jti.Valid {
		prefix = "jwt:" + DisplayPrefix(n.jti)
	} else {
		prefix = DisplayPrefix(n.raw)
	}
	var id int64
	err := sqlx.GetContext(ctx, q, &id, q.Rebind(`INSERT INTO oauth_tokens
		(kind, digest, jti, prefix, grant_id, parent_id, client_id, user_id, scope, redirect_uri, code_challenge,
		 code_challenge_method, extension, grant_created_at, created_at, expires_at, jkt)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		n.kind, Digest(n.raw), jti, prefix, n.grantID, parent, n.clientID, uid, n.scope, n.redirectURI,
		n.challenge, n.challengeMethod, ext.Encode(), n.grantCreatedAt.UTC(), n.createdAt.UTC(), n.expAt.UTC(), n.jkt)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", n.kind, err)
	}
	return id, nil
}

// Issue is one issuance to store: a code, or an access token with an
// optional refresh token, as minted.
type Issue struct {
	// Token carries the values, client, user, scope, lifetimes and the
	// extension with the grant ID.
	Token oauth2.TokenInfo
	// ParentID links the tokens to the code or refresh token they were
	// redeemed from (0: none).
	ParentID int64
	// AccessJKT and RefreshJKT are the DPoP key thumbprints the tokens are
	// bound to ("" unbound).
	AccessJKT, RefreshJKT string
	// RefreshScope, when not empty, is the scope the refresh token keeps
	// (RFC 6749 §6: a narrower access token does not narrow the refresh
	// token).
	RefreshScope string
	// RefreshExp, when not zero, is the refresh token's expiry; else its
	// creation plus its lifetime.
	RefreshExp time.Time
}

// insertInfo writes the rows of an issuance.
func (s *TokenStore) insertInfo(ctx context.Context, q sqlx.ExtContext, is Issue) error {
	ti := is.Token
	var ext url.Values
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		ext = e.GetExtension()
	}
	grantID := ext.Get(ExtGrantID)
	if grantID == "" {
		return fmt.Errorf("store token: record has no grant ID")
	}
	grantCreated, err := time.Parse(time.RFC3339Nano, ext.Get(ExtGrantCreatedAt))
	if err != nil {
		grantCreated = s.now()
	}
	base := newRow{
		grantID: grantID, parentID: is.ParentID, clientID: ti.GetClientID(), userID: ti.GetUserID(),
		scope: ti.GetScope(), redirectURI: ti.GetRedirectURI(), extension: ext, grantCreatedAt: grantCreated,
	}
	if code := ti.GetCode(); code != "" && ti.GetAccess() == "" {
		n := base
		n.kind, n.raw = KindCode, code
		n.challenge, n.challengeMethod = ti.GetCodeChallenge(), string(ti.GetCodeChallengeMethod())
		n.createdAt = ti.GetCodeCreateAt()
		n.expAt = n.createdAt.Add(ti.GetCodeExpiresIn())
		_, err := s.insert(ctx, q, n)
		return err
	}
	if access := ti.GetAccess(); access != "" {
		n := base
		n.kind, n.raw, n.jti = KindAccess, access, jwtID(access)
		n.jkt = is.AccessJKT
		n.createdAt = ti.GetAccessCreateAt()
		n.expAt = n.createdAt.Add(ti.GetAccessExpiresIn())
		if _, err := s.insert(ctx, q, n); err != nil {
			return err
		}
	}
	if refresh := ti.GetRefresh(); refresh != "" {
		n := base
		n.kind, n.raw = KindRefresh, refresh
		n.extension = withoutKey(ext, ExtAccessAudience)
		n.jkt = is.RefreshJKT
		if is.RefreshScope != "" {
			n.scope = is.RefreshScope
		}
		n.createdAt = ti.GetRefreshCreateAt()
		n.expAt = is.RefreshExp
		if n.expAt.IsZero() {
			n.expAt = n.createdAt.Add(ti.GetRefreshExpiresIn())
		}
		if _, err := s.insert(ctx, q, n); err != nil {
			return err
		}
	}
	return nil
}

// withoutKey returns a copy of ext without key.
func withoutKey(ext url.Values, key string) url.Values {
	out := make(url.Values, len(ext))
	for k, v := range ext {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// jwtID returns the jti claim of a JWT we issued, or "" for an opaque value.
// The token was signed by us a moment ago, so its payload is not verified
// here.
func jwtID(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.JTI
}

// Create implements oauth2.TokenStore: the library calls it for codes
// (through /oauth/authorize) and for client_credentials tokens. A
// client_credentials JWT access token gets no row (Rowless).
func (s *TokenStore) Create(ctx context.Context, ti oauth2.TokenInfo) error {
	if Rowless(ti) {
		return nil
	}
	is := Issue{Token: ti}
	if s.binding != nil {
		// RFC 9449 §5: the access token is bound to the proof's key; a
		// public client's refresh token too.
		is.AccessJKT, is.RefreshJKT = s.binding(ctx)
	}
	return s.insertInfo(ctx, s.db.Prepared(), is)
}

// ByDigest loads the row of a value of the given kind; ok=false if none.
func (s *TokenStore) ByDigest(ctx context.Context, kind, raw string) (*TokenRow, bool, error) {
	return s.byDigest(ctx, s.db.Prepared(), kind, raw)
}

func (s *TokenStore) byDigest(ctx context.Context, q sqlx.QueryerContext, kind, raw string) (*TokenRow, bool, error) {
	var r TokenRow
	err := sqlx.GetContext(ctx, q, &r, s.db.Rebind(`SELECT `+tokenColumns+` FROM oauth_tokens WHERE digest = ? AND kind = ?`), Digest(raw), kind)
	if db.IsNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load %s: %w", kind, err)
	}
	r.normalize()
	return &r, true, nil
}

func (r *TokenRow) normalize() {
	r.GrantCreatedAt, r.CreatedAt, r.ExpiresAt = r.GrantCreatedAt.UTC(), r.CreatedAt.UTC(), r.ExpiresAt.UTC()
}

// get implements the three go-oauth2 lookups. They return (nil, nil) for a
// value that is malformed, unknown, consumed, revoked or expired, so the
// library maps it to invalid_grant / invalid token, never to a 500.
func (s *TokenStore) get(ctx context.Context, kind, prefix, raw string) (oauth2.TokenInfo, error) {
	if prefix != "" && !WellFormed(prefix, raw) {
		return nil, nil
	}
	r, ok, err := s.byDigest(ctx, s.db, kind, raw)
	if err != nil || !ok || !r.Live(s.now()) {
		return nil, err
	}
	return r.tokenInfo(raw), nil
}

// GetByCode implements oauth2.TokenStore.
func (s *TokenStore) GetByCode(ctx context.Context, code string) (oauth2.TokenInfo, error) {
	return s.get(ctx, KindCode, PrefixCode, code)
}

// GetByAccess implements oauth2.TokenStore (opaque or JWT).
func (s *TokenStore) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	prefix := PrefixAccessToken
	if !HasPrefix(access, PrefixAccessToken) {
		prefix = "" // a JWT: its digest is looked up as is
	}
	return s.get(ctx, KindAccess, prefix, access)
}

// GetByRefresh implements oauth2.TokenStore.
func (s *TokenStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	return s.get(ctx, KindRefresh, PrefixRefreshToken, refresh)
}

// RemoveByCode implements oauth2.TokenStore as an atomic consume: exactly one
// caller gets nil; every other gets the library's ErrInvalidAuthorizeCode,
// unwrapped so the library maps it to invalid_grant
// (docs/go-oauth2.md, "Store contracts";
// docs/go-oauth2.md, "Findings and their tests", finding 5).
func (s *TokenStore) RemoveByCode(ctx context.Context, code string) error {
	ok, err := s.consume(ctx, s.db, KindCode, code)
	if err != nil {
		return err
	}
	if !ok {
		return oerrors.ErrInvalidAuthorizeCode
	}
	return nil
}

// consume marks a live code or refresh token used; ok=false when it was not
// live (already consumed, revoked, expired or unknown). The conditional
// UPDATE is the atomic claim: of N concurrent callers exactly one sees a row.
func (s *TokenStore) consume(ctx context.Context, q sqlx.ExecerContext, kind, raw string) (bool, error) {
	now := DBNow(s.now)
	res, err := q.ExecContext(ctx, s.db.Rebind(`UPDATE oauth_tokens SET consumed_at = ?
		WHERE digest = ? AND kind = ? AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?`),
		now, Digest(raw), kind, now)
	if err != nil {
		return false, fmt.Errorf("consume %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("consume %s: %w", kind, err)
	}
	return n == 1, nil
}

// ChallengeSeen reports whether the client has a stored code with this PKCE
// challenge (until the code is purged after its expiry).
func (s *TokenStore) ChallengeSeen(ctx context.Context, clientID, challenge string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM oauth_tokens
		WHERE client_id = ? AND code_challenge = ? AND kind = 'code'`), clientID, challenge)
	if err != nil {
		return false, fmt.Errorf("check PKCE challenge: %w", err)
	}
	return n > 0, nil
}
