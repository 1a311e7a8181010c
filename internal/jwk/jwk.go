// Package jwk encodes public keys as RFC 7517 JSON Web Keys, parses JWKs
// under a policy, and computes RFC 7638 thumbprints. It does no I/O: the
// authorization server (its published key set), the DPoP verifier (the jwk
// header of a proof) and remote JWKS validation each use it with their own
// allowed-algorithm list, and share one set of rules. See docs/security.md,
// "JWK rules".
package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
)

// The algorithms a JWK may be parsed for (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
	ES384 = "ES384"
	RS256 = "RS256"
	PS256 = "PS256"
)

// JWK is the public part of one RFC 7517 key; the member names are the
// RFC 7518 §6 ones. Use, Alg and KID are always written, the key members
// only for the key type that has them.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	KID string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// Set is an RFC 7517 §5 key set.
type Set struct {
	Keys []JWK `json:"keys"`
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Encode returns the public members of an Ed25519, ECDSA (P-256, P-384)
// or RSA public key; Use, Alg and KID are left for the caller. Integers
// are written in the fewest octets (RFC 7518 §2, Base64urlUInt).
func Encode(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return JWK{}, fmt.Errorf("jwk: Ed25519 key of %d bytes", len(k))
		}
		return JWK{Kty: "OKP", Crv: "Ed25519", X: enc(k)}, nil
	case *ecdsa.PublicKey:
		crv, ok := curveName(k.Curve)
		if !ok {
			return JWK{}, fmt.Errorf("jwk: unsupported EC curve %s", k.Curve.Params().Name)
		}
		b, err := k.Bytes() // 0x04 || X || Y, each the curve's fixed width
		if err != nil {
			return JWK{}, fmt.Errorf("jwk: encode EC key: %w", err)
		}
		size := (len(b) - 1) / 2
		return JWK{Kty: "EC", Crv: crv, X: enc(b[1 : 1+size]), Y: enc(b[1+size:])}, nil
	case *rsa.PublicKey:
		if k.N == nil || k.E <= 0 {
			return JWK{}, fmt.Errorf("jwk: incomplete RSA key")
		}
		return JWK{Kty: "RSA", N: enc(k.N.Bytes()), E: enc(big.NewInt(int64(k.E)).Bytes())}, nil
	}
	return JWK{}, fmt.Errorf("jwk: unsupported public key type %T", pub)
}

func curveName(c elliptic.Curve) (string, bool) {
	switch c {
	case elliptic.P256():
		return "P-256", true
	case elliptic.P384():
		return "P-384", true
	}
	return "", false
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint (base64url, no
// padding) of a public key Encode supports.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := Encode(pub)
	if err != nil {
		return "", err
	}
	return j.thumbprint(), nil
}

// thumbprint hashes the required members only, in lexicographic order,
// with no whitespace (RFC 7638 §3.2, §3.3). j holds canonical
// base64url values (from Encode, or re-encoded by Parse), and none of
// them can hold a character JSON would escape.
func (j JWK) thumbprint() string {
	var s string
	switch j.Kty {
	case "OKP":
		s = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	case "EC":
		s = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	default:
		s = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	}
	sum := sha256.Sum256([]byte(s))
	return enc(sum[:])
}
