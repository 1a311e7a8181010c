package jwk

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// RSA modulus bounds, in bits. See docs/security.md, "JWK rules".
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// Policy says which keys Parse accepts: those usable with one of Algs.
// The rules on the key material itself are the same for every policy.
type Policy struct {
	// Algs are the accepted algorithms, in order of preference: a key
	// with no alg member is given the first one its type fits.
	Algs []string
}

// Key is a parsed public key and the one algorithm it may verify.
type Key struct {
	Public crypto.PublicKey
	Alg    string
	KID    string
	// Thumbprint is the key's RFC 7638 SHA-256 thumbprint (base64url).
	Thumbprint string
}

// ErrRefused is wrapped by every Parse error; the text after it is a short
// reason that holds nothing secret.
var ErrRefused = errors.New("jwk refused")

func refuse(reason string) error { return fmt.Errorf("%w: %s", ErrRefused, reason) }

// members is every member Parse looks at; the private ones must be absent.
type members struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	KID string `json:"kid"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	// Private members (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
	D   json.RawMessage `json:"d"`
	P   json.RawMessage `json:"p"`
	Q   json.RawMessage `json:"q"`
	DP  json.RawMessage `json:"dp"`
	DQ  json.RawMessage `json:"dq"`
	QI  json.RawMessage `json:"qi"`
	Oth json.RawMessage `json:"oth"`
	K   json.RawMessage `json:"k"`
}

func (m *members) private() bool {
	return m.D != nil || m.P != nil || m.Q != nil || m.DP != nil || m.DQ != nil || m.QI != nil || m.Oth != nil || m.K != nil
}

// keyType is the kty and crv an algorithm needs (crv empty for RSA).
func keyType(alg string) (kty, crv string, ok bool) {
	switch alg {
	case EdDSA:
		return "OKP", "Ed25519", true
	case ES256:
		return "EC", "P-256", true
	case ES384:
		return "EC", "P-384", true
	case RS256, PS256:
		return "RSA", "", true
	}
	return "", "", false
}

// Parse checks one JWK (a JSON object) against the policy and the key
// rules, and returns its public key. alg is the algorithm the caller will
// verify with (a JWS header's alg), or empty when the key decides: then
// its alg member, else the policy's first algorithm that fits the key.
func (p Policy) Parse(raw []byte, alg string) (Key, error) {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Key{}, refuse("jwk is not a JSON object")
	}
	var m members
	if err := json.Unmarshal(raw, &m); err != nil {
		return Key{}, refuse("jwk is not a JSON object of string members")
	}
	if m.private() {
		return Key{}, refuse("jwk contains private key material")
	}
	if m.Use != "" && m.Use != "sig" {
		return Key{}, refuse("jwk is not a signing key")
	}
	switch {
	case m.Alg != "" && alg != "" && m.Alg != alg:
		return Key{}, refuse("jwk alg does not match the algorithm")
	case m.Alg != "":
		alg = m.Alg
	case alg == "":
		for _, a := range p.Algs {
			if kty, crv, _ := keyType(a); kty == m.Kty && (crv == "" || crv == m.Crv) {
				alg = a
				break
			}
		}
	}
	if !slices.Contains(p.Algs, alg) {
		return Key{}, refuse("jwk algorithm is not accepted")
	}
	kty, crv, _ := keyType(alg)
	if m.Kty != kty || m.Crv != crv {
		return Key{}, refuse("jwk type does not fit the algorithm")
	}
	var (
		pub crypto.PublicKey
		err error
	)
	switch kty {
	case "OKP":
		pub, err = parseOKP(&m)
	case "EC":
		pub, err = parseEC(&m)
	default:
		pub, err = parseRSA(&m)
	}
	if err != nil {
		return Key{}, err
	}
	// The members were checked canonical, so the thumbprint of the members
	// as given is that of the key (RFC 7638 §3.3).
	j := JWK{Kty: m.Kty, Crv: m.Crv, X: m.X, Y: m.Y, N: m.N, E: m.E}
	return Key{Public: pub, Alg: alg, KID: m.KID, Thumbprint: j.thumbprint()}, nil
}

// dec decodes unpadded base64url and refuses every other spelling of the
// same octets (padding, set trailing bits, line breaks), so a key has one
// encoding and one thumbprint.
func dec(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil && enc(b) == s
}

func parseOKP(m *members) (crypto.PublicKey, error) {
	x, ok := dec(m.X)
	if !ok || len(x) != ed25519.PublicKeySize || m.Y != "" || m.N != "" || m.E != "" {
		return nil, refuse("bad Ed25519 key")
	}
	return ed25519.PublicKey(x), nil
}

func parseEC(m *members) (crypto.PublicKey, error) {
	curve, size := elliptic.P256(), 32
	if m.Crv == "P-384" {
		curve, size = elliptic.P384(), 48
	}
	// RFC 7518 §6.2.1.2, §6.2.1.3: x and y are the full coordinate width.
	x, ok1 := dec(m.X)
	y, ok2 := dec(m.Y)
	if !ok1 || !ok2 || len(x) != size || len(y) != size || m.N != "" || m.E != "" {
		return nil, refuse("bad EC key")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, refuse("EC point not on the curve")
	}
	return pub, nil
}

func parseRSA(m *members) (crypto.PublicKey, error) {
	// RFC 7518 §2 (Base64urlUInt): the fewest octets, so no leading zero.
	n, ok1 := dec(m.N)
	e, ok2 := dec(m.E)
	if !ok1 || !ok2 || len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 || m.X != "" || m.Y != "" {
		return nil, refuse("bad RSA key")
	}
	if len(n) > MaxRSABits/8 {
		return nil, refuse(fmt.Sprintf("RSA modulus longer than %d bits", MaxRSABits))
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
	if pub.N.BitLen() < MinRSABits {
		return nil, refuse(fmt.Sprintf("RSA modulus shorter than %d bits", MinRSABits))
	}
	if pub.N.Bit(0) == 0 {
		return nil, refuse("RSA modulus is even")
	}
	// An odd exponent of at least 3 that fits in 31 bits (what crypto/rsa
	// verifies with).
	if len(e) > 4 {
		return nil, refuse("bad RSA exponent")
	}
	ev := new(big.Int).SetBytes(e).Int64()
	if ev < 3 || ev%2 == 0 || ev > 1<<31-1 {
		return nil, refuse("bad RSA exponent")
	}
	pub.E = int(ev)
	return pub, nil
}
