package authserver

// The cache of verified JWT access tokens: a token presented again skips
// signature verification and parsing until its exp. See
// docs/performance.md, "JWT validation".

import (
	"context"
	"crypto/sha256"
	"slices"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// VerifiedJWTCacheSize bounds the verified-JWT cache (entries; each holds
// the claims, a few hundred bytes).
const VerifiedJWTCacheSize = 16384

// jwtLeeway is the clock skew allowed on exp and iat, on a first
// verification (the parser's leeway) and on a cache hit alike.
const jwtLeeway = 5 * time.Second

// verifiedJWTs maps the SHA-256 digest of a JWT whose signature, typ,
// issuer and claims have been verified (for any audience authgate issues)
// to the token it is. The key is a digest, never the token: a memory dump
// yields no usable bearer token. Revocation and user state are not cached
// here; they are checked on every use.
type verifiedJWTs struct {
	c *lru.Cache[[sha256.Size]byte, *AccessToken]
}

func newVerifiedJWTs(size int) *verifiedJWTs {
	c, _ := lru.New[[sha256.Size]byte, *AccessToken](size)
	return &verifiedJWTs{c: c}
}

// get returns the verified token of raw still unexpired at now; the
// returned value is shared and must not be changed.
func (v *verifiedJWTs) get(key [sha256.Size]byte, now time.Time) (*AccessToken, bool) {
	at, ok := v.c.Get(key)
	if !ok {
		return nil, false
	}
	if now.After(at.ExpiresAt.Add(jwtLeeway)) {
		v.c.Remove(key)
		return nil, false
	}
	return at, true
}

func (v *verifiedJWTs) add(key [sha256.Size]byte, at *AccessToken) { v.c.Add(key, at) }

// verifiedJWT returns the token raw is, verified for any audience (from the
// cache, or by signature and claims), without its revocation, client or
// user state.
func (a *accessTokens) verifiedJWT(ctx context.Context, raw string) (*AccessToken, error) {
	key := sha256.Sum256([]byte(raw))
	if at, ok := a.verified.get(key, a.now()); ok {
		return at, nil
	}
	c, err := a.parseJWT(ctx, a.anyAud, raw)
	if err != nil {
		return nil, err
	}
	at := &AccessToken{
		JTI: c.ID, ClientID: c.ClientID, Subject: c.Subject, Scope: c.Scope, Audience: slices.Clip([]string(c.Audience)),
		IssuedAt: c.IssuedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(),
	}
	if c.Cnf != nil {
		if c.Cnf.JKT == "" {
			return nil, errTokenInvalid // a cnf we cannot enforce
		}
		at.JKT = c.Cnf.JKT
	}
	if c.Subject != c.ClientID {
		uid, err := strconv.ParseInt(c.Subject, 10, 64)
		if err != nil || uid <= 0 {
			return nil, errTokenInvalid
		}
		at.UserID = uid
	}
	a.verified.add(key, at)
	return at, nil
}
