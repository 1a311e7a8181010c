package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/jwk"
)

func methodFor(alg string, k crypto.Signer) (jwt.SigningMethod, error) {
	switch alg {
	case AlgEdDSA:
		if _, ok := k.(ed25519.PrivateKey); ok {
			return jwt.SigningMethodEdDSA, nil
		}
	case AlgRS256:
		if _, ok := k.(*rsa.PrivateKey); ok {
			return jwt.SigningMethodRS256, nil
		}
	case AlgES256:
		if ec, ok := k.(*ecdsa.PrivateKey); ok && ec.Curve == elliptic.P256() {
			return jwt.SigningMethodES256, nil
		}
	default:
		return nil, fmt.Errorf("unsupported algorithm %q (supported: EdDSA, RS256, ES256)", alg)
	}
	return nil, fmt.Errorf("key type %T does not match algorithm %s", k, alg)
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case AlgRS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unsupported algorithm %q (supported: EdDSA, RS256, ES256)", alg)
}

// Ensure creates an immediately active key of alg when the table is empty
// (first start). Nothing can have cached an empty JWKS, so there is nothing
// to publish in advance.
func (ks *KeySet) Ensure(ctx context.Context, alg string) error {
	if err := ks.load(ctx); err != nil {
		return err
	}
	ks.mu.RLock()
	n := len(ks.keys)
	ks.mu.RUnlock()
	if n > 0 {
		return nil
	}
	if _, err := ks.add(ctx, alg, PurposeAccess, 0); err != nil {
		return err
	}
	return ks.load(ctx)
}

// Rotate adds a new key of alg that starts signing after activateIn. Until
// then it is only published, so resource servers that cache the JWKS learn
// it before any token carries its kid.
func (ks *KeySet) Rotate(ctx context.Context, alg string, activateIn time.Duration) (KeyInfo, error) {
	return ks.RotateFor(ctx, PurposeAccess, alg, activateIn)
}

// RotateFor is Rotate for the rotation of purpose: PurposeAccess, or
// PurposeIDToken (the ID-token keys of alg; the access-token key is left
// alone).
func (ks *KeySet) RotateFor(ctx context.Context, purpose, alg string, activateIn time.Duration) (KeyInfo, error) {
	if activateIn < 0 {
		return KeyInfo{}, fmt.Errorf("rotate key: activation delay must not be negative")
	}
	if purpose != PurposeAccess && purpose != PurposeIDToken {
		return KeyInfo{}, fmt.Errorf("rotate key: unknown purpose %q", purpose)
	}
	kid, err := ks.add(ctx, alg, purpose, activateIn)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := ks.load(ctx); err != nil {
		return KeyInfo{}, err
	}
	for _, info := range ks.infos() {
		if info.KID == kid {
			return info, nil
		}
	}
	return KeyInfo{}, fmt.Errorf("rotate key: new key %s not found after insert", kid)
}

// add generates and stores a key of alg, announced to every instance when
// the KeySet has a Notifier, and returns its kid.
func (ks *KeySet) add(ctx context.Context, alg, purpose string, activateIn time.Duration) (string, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return "", fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("encode signing key: %w", err)
	}
	kid, err := jwk.Thumbprint(priv.Public())
	if err != nil {
		return "", err
	}
	now := dbNow(ks.now)
	stored, err := ks.kc.seal(kid, der)
	if err != nil {
		return "", err
	}
	insert := func(ex sqlx.ExecerContext) error {
		_, err := ex.ExecContext(ctx, ks.db.Rebind(`INSERT INTO signing_keys (kid, alg, private_key, created_at, activates_at, purpose)
			VALUES (?, ?, ?, ?, ?, ?)`), kid, alg, stored, now, now.Add(activateIn), purpose)
		return err
	}
	if ks.notifier != nil {
		err = ks.notifier.PublishInTx(ctx, KeyNotifyKind, kid, func(tx *sqlx.Tx) error { return insert(tx) })
	} else {
		err = insert(ks.db)
	}
	if err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return kid, nil
}

// states computes each key's state at now, per rotation (lineage): the
// access-token keys form one, the ID-token keys one per algorithm. In each,
// the newest activated key is active; older activated keys are retired
// when their successor in the rotation activated.
func (ks *KeySet) states(now time.Time) []KeyInfo {
	ks.mu.RLock()
	keys := ks.keys
	ks.mu.RUnlock()
	out := make([]KeyInfo, len(keys))
	active := map[string]int{}
	for i, k := range keys {
		if !k.activatesAt.After(now) {
			active[k.lineage()] = i
		}
	}
	for i, k := range keys {
		info := KeyInfo{KID: k.kid, Alg: k.alg, Purpose: k.purpose, CreatedAt: k.createdAt, ActivatesAt: k.activatesAt}
		switch {
		case k.activatesAt.After(now):
			info.State = KeyPending
		case i == active[k.lineage()]:
			info.State = KeyActive
		default:
			// Retired when the next activated key of its rotation took over.
			retired := k.activatesAt
			for _, n := range keys[i+1:] {
				if n.lineage() == k.lineage() {
					retired = n.activatesAt
					break
				}
			}
			until := retired.Add(ks.maxTokenTTL)
			info.RetiredAt, info.PublishedUntil = &retired, &until
			info.State = KeyRetired
			if !now.Before(until) {
				info.State = KeyExpired
			}
		}
		out[i] = info
	}
	return out
}

func (ks *KeySet) infos() []KeyInfo { return ks.states(ks.now()) }

// List returns every key with its state, oldest first.
func (ks *KeySet) List(ctx context.Context) ([]KeyInfo, error) {
	if err := ks.load(ctx); err != nil {
		return nil, err
	}
	return ks.infos(), nil
}
