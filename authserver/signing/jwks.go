package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/jwk"
)

// JWK is one RFC 7517 public key; encoding and the RFC 7638 thumbprint are
// internal/jwk's, shared with the DPoP verifier and remote validation.
type JWK = jwk.JWK

// JWKS is an RFC 7517 §5 key set.
type JWKS = jwk.Set

// Signer returns the key that signs new tokens now.
func (ks *KeySet) Signer(ctx context.Context) (*Key, error) {
	if err := ks.ensureFresh(ctx); err != nil {
		return nil, err
	}
	now := ks.now()
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for i := len(ks.keys) - 1; i >= 0; i-- {
		if k := ks.keys[i]; k.purpose == PurposeAccess && !k.activatesAt.After(now) {
			return k, nil
		}
	}
	return nil, ErrNoSigningKey
}

// Sign returns the compact JWS of claims signed with k, its header naming
// k's kid and, when typ is not empty, the token type (RFC 9068 §2.1:
// "at+jwt").
func (k *Key) Sign(claims jwt.Claims, typ string) (string, error) {
	tok := jwt.NewWithClaims(k.method, claims)
	if typ != "" {
		tok.Header["typ"] = typ
	}
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", k.kid, err)
	}
	return s, nil
}

// published returns the keys a verifier may use now: pending, active and
// retired ones whose tokens may still be valid.
func (ks *KeySet) published() []*Key {
	states := ks.infos()
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	var out []*Key
	for i, k := range ks.keys {
		if i < len(states) && states[i].KID == k.kid && states[i].State != KeyExpired {
			out = append(out, k)
		}
	}
	return out
}

// verifier returns the published key with this kid, reloading at most once
// every five seconds when it is unknown (a key rotated on another instance).
func (ks *KeySet) verifier(ctx context.Context, kid string) (*Key, bool) {
	if err := ks.ensureFresh(ctx); err != nil {
		return nil, false
	}
	find := func() *Key {
		for _, k := range ks.published() {
			if k.kid == kid {
				return k
			}
		}
		return nil
	}
	if k := find(); k != nil {
		return k, true
	}
	ks.mu.Lock()
	retry := ks.now().Sub(ks.missAt) > 5*time.Second
	if retry {
		ks.missAt = ks.now()
	}
	ks.mu.Unlock()
	if !retry || ks.load(ctx) != nil {
		return nil, false
	}
	k := find()
	return k, k != nil
}

// PublicKeyFor is the body of a jwt.Keyfunc: the public key of the
// published key named by t's kid header. The key decides the algorithm,
// never the token header, so a token whose alg is not its key's is refused
// (RFC 8725 §3.1).
func (ks *KeySet) PublicKeyFor(ctx context.Context, t *jwt.Token) (crypto.PublicKey, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := ks.verifier(ctx, kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	if t.Method == nil || t.Method.Alg() != k.method.Alg() {
		return nil, errors.New("algorithm does not match the key")
	}
	return k.priv.Public(), nil
}

// JWKS returns the published public keys.
func (ks *KeySet) JWKS(ctx context.Context) (JWKS, error) {
	if err := ks.ensureFresh(ctx); err != nil {
		return JWKS{}, err
	}
	return encodeJWKS(ks.published())
}

// encodeJWKS is the JWKS of keys.
func encodeJWKS(keys []*Key) (JWKS, error) {
	set := JWKS{Keys: []JWK{}}
	for _, k := range keys {
		j, err := jwk.Encode(k.priv.Public())
		if err != nil {
			return JWKS{}, err
		}
		j.KID, j.Alg, j.Use = k.kid, k.alg, "sig"
		set.Keys = append(set.Keys, j)
	}
	return set, nil
}
