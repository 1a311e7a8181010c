package remote

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
)

type rawJWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	KID string `json:"kid"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// parse turns a JWK into a public key and the one algorithm it may verify.
func (r rawJWK) parse() (jwk, error) {
	if r.Use != "" && r.Use != "sig" {
		return jwk{}, errors.New("not a signing key")
	}
	switch {
	case r.Kty == "OKP" && r.Crv == "Ed25519" && (r.Alg == "" || r.Alg == "EdDSA"):
		x, err := b64(r.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return jwk{}, errors.New("bad Ed25519 key")
		}
		return jwk{alg: "EdDSA", key: ed25519.PublicKey(x)}, nil
	case r.Kty == "RSA" && (r.Alg == "" || r.Alg == "RS256"):
		n, err1 := b64(r.N)
		e, err2 := b64(r.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return jwk{}, errors.New("bad RSA key")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return jwk{}, errors.New("RSA key shorter than 2048 bits")
		}
		return jwk{alg: "RS256", key: pub}, nil
	case r.Kty == "EC" && r.Crv == "P-256" && (r.Alg == "" || r.Alg == "ES256"):
		x, err1 := b64(r.X)
		y, err2 := b64(r.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return jwk{}, errors.New("bad P-256 key")
		}
		// Validate the point via the uncompressed encoding.
		pt := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			return jwk{}, errors.New("P-256 point not on the curve")
		}
		return jwk{alg: "ES256", key: pub}, nil
	}
	return jwk{}, errors.New("unsupported key")
}
