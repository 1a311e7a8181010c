package dpop

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ProofFields are the claims of a proof a client makes.
type ProofFields struct {
	Method string // htm
	URL    string // htu
	// AccessToken, when set, is hashed into ath (requests to resources).
	AccessToken string
	// JTI defaults to 128 random bits; IssuedAt to now.
	JTI      string
	IssuedAt time.Time
}

// NewProof signs a DPoP proof with priv (ed25519.PrivateKey,
// *ecdsa.PrivateKey on P-256/P-384, or *rsa.PrivateKey with RS256), for
// clients and tests (RFC 9449 §4.2).
func NewProof(priv crypto.Signer, f ProofFields) (string, error) {
	jwk, alg, err := PublicJWK(priv.Public())
	if err != nil {
		return "", err
	}
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		return "", errors.New("dpop: no signing method for " + alg)
	}
	if f.JTI == "" {
		if f.JTI, err = randomID(); err != nil {
			return "", err
		}
	}
	if f.IssuedAt.IsZero() {
		f.IssuedAt = time.Now()
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{ID: f.JTI, IssuedAt: jwt.NewNumericDate(f.IssuedAt)},
		HTM:              f.Method, HTU: f.URL,
	}
	if f.AccessToken != "" {
		c.ATH = AccessTokenHash(f.AccessToken)
	}
	t := jwt.NewWithClaims(m, c)
	t.Header["typ"] = proofType
	t.Header["jwk"] = jwk
	s, err := t.SignedString(priv)
	if err != nil {
		return "", fmt.Errorf("dpop: sign proof: %w", err)
	}
	return s, nil
}

func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("dpop: jti: %w", err)
	}
	return enc(b[:]), nil
}
