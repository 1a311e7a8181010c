package authserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// JWK is one RFC 7517 public key.
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

// JWKS is an RFC 7517 §5 key set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func publicJWK(pub crypto.PublicKey) (JWK, error) {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64(p)}, nil
	case *ecdsa.PublicKey:
		ecdh, err := p.ECDH()
		if err != nil {
			return JWK{}, fmt.Errorf("encode EC key: %w", err)
		}
		raw := ecdh.Bytes() // 0x04 || X || Y, fixed width
		n := (len(raw) - 1) / 2
		return JWK{Kty: "EC", Crv: "P-256", X: b64(raw[1 : 1+n]), Y: b64(raw[1+n:])}, nil
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64(p.N.Bytes()), E: b64(big.NewInt(int64(p.E)).Bytes())}, nil
	}
	return JWK{}, fmt.Errorf("unsupported public key type %T", pub)
}

// thumbprint is the RFC 7638 JWK thumbprint, used as kid.
func thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	// RFC 7638 §3.2: the required members only, in lexicographic order.
	var m any
	switch j.Kty {
	case "OKP":
		m = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Crv, j.Kty, j.X}
	case "EC":
		m = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y}
	default:
		m = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return b64(sum[:]), nil
}
