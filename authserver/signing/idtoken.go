package signing

import (
	"context"
	"slices"
)

// Key purposes (signing_keys.purpose). Access-token keys form the rotation
// `authgate key rotate` advances; ID-token keys form one rotation per
// algorithm, so OpenID Connect's required RS256 key exists whatever
// algorithm signs access tokens, and rotating the access-token key never
// takes it away (see docs/openid-connect.md, "Signing keys").
const (
	PurposeAccess  = "access"
	PurposeIDToken = "id_token"
)

// lineage names the rotation a key belongs to.
func (k *Key) lineage() string {
	if k.purpose == PurposeIDToken {
		return PurposeIDToken + ":" + k.alg
	}
	return PurposeAccess
}

// EnsureIDTokenKey creates an immediately active ID-token key of alg when
// there is none (first start, or the first start after an upgrade): the
// JWKS then holds it before the first ID token is signed.
func (ks *KeySet) EnsureIDTokenKey(ctx context.Context, alg string) error {
	if err := ks.load(ctx); err != nil {
		return err
	}
	if ks.idTokenKey(alg, false) != nil {
		return nil
	}
	if _, err := ks.add(ctx, alg, PurposeIDToken, 0); err != nil {
		return err
	}
	return ks.load(ctx)
}

// IDTokenSigner returns the ID-token key of alg that signs now. A client
// registered for an algorithm no key has yet gets one created on first use.
func (ks *KeySet) IDTokenSigner(ctx context.Context, alg string) (*Key, error) {
	if !slices.Contains(SupportedAlgs, alg) {
		return nil, ErrNoSigningKey
	}
	if err := ks.ensureFresh(ctx); err != nil {
		return nil, err
	}
	if k := ks.idTokenKey(alg, true); k != nil {
		return k, nil
	}
	if err := ks.EnsureIDTokenKey(ctx, alg); err != nil {
		return nil, err
	}
	if k := ks.idTokenKey(alg, true); k != nil {
		return k, nil
	}
	return nil, ErrNoSigningKey
}

// idTokenKey returns the newest ID-token key of alg, only an activated one
// when activated is set; nil for none.
func (ks *KeySet) idTokenKey(alg string, activated bool) *Key {
	now := ks.now()
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for i := len(ks.keys) - 1; i >= 0; i-- {
		k := ks.keys[i]
		if k.purpose == PurposeIDToken && k.alg == alg && (!activated || !k.activatesAt.After(now)) {
			return k
		}
	}
	return nil
}
