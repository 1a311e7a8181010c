package jwk_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/jwk"
)

// The RFC 7638 §3.1 example key and its thumbprint.
const (
	rfcN     = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfcThumb = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

var all = jwk.Policy{Algs: []string{jwk.EdDSA, jwk.ES256, jwk.ES384, jwk.RS256, jwk.PS256}}

func TestThumbprintRFC7638Vector(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString(rfcN)
	if err != nil {
		t.Fatal(err)
	}
	got, err := jwk.Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if got != rfcThumb {
		t.Fatalf("Thumbprint %s, want %s", got, rfcThumb)
	}
	// The §3.1 JWK as printed, with its alg and kid members (ignored by the
	// thumbprint, §3.2).
	raw := `{"kty":"RSA","n":"` + rfcN + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	k, err := all.Parse([]byte(raw), "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Thumbprint != rfcThumb || k.Alg != jwk.RS256 || k.KID != "2011-04-29" {
		t.Fatalf("Parse: thumbprint %s alg %s kid %s", k.Thumbprint, k.Alg, k.KID)
	}
}

func mustKeys(t testing.TB) map[string]crypto.Signer {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{jwk.EdDSA: ed, jwk.ES256: p256, jwk.ES384: p384, jwk.RS256: rk}
}

// Encode then Parse gives back the same key and the same thumbprint.
func TestRoundTrip(t *testing.T) {
	for alg, priv := range mustKeys(t) {
		t.Run(alg, func(t *testing.T) {
			j, err := jwk.Encode(priv.Public())
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(j)
			k, err := all.Parse(raw, alg)
			if err != nil {
				t.Fatalf("Parse(%s): %v", raw, err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if !k.Public.(equaler).Equal(priv.Public()) || k.Alg != alg {
				t.Fatalf("round trip changed the key or alg %s", k.Alg)
			}
			tp, err := jwk.Thumbprint(priv.Public())
			if err != nil || tp != k.Thumbprint {
				t.Fatalf("thumbprint %s after parse, %s before (%v)", k.Thumbprint, tp, err)
			}
		})
	}
}

func TestEncodeRefusesUnsupportedKeys(t *testing.T) {
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	for name, pub := range map[string]crypto.PublicKey{
		"P-521": &p521.PublicKey, "short Ed25519": ed25519.PublicKey{1, 2}, "nil RSA": &rsa.PublicKey{}, "string": "key",
	} {
		if _, err := jwk.Encode(pub); err == nil {
			t.Errorf("%s: encoded", name)
		}
		if _, err := jwk.Thumbprint(pub); err == nil {
			t.Errorf("%s: thumbprinted", name)
		}
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestParsePolicy names every rule Parse applies, with one JWK it refuses.
func TestParsePolicy(t *testing.T) {
	keys := mustKeys(t)
	enc := func(alg string) jwk.JWK {
		j, err := jwk.Encode(keys[alg].Public())
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	ed, ec, ec384, rs := enc(jwk.EdDSA), enc(jwk.ES256), enc(jwk.ES384), enc(jwk.RS256)
	obj := func(j jwk.JWK, extra string) string {
		b, _ := json.Marshal(j)
		s := strings.NewReplacer(`"use":"",`, "", `"alg":"",`, "", `"kid":"",`, "").Replace(string(b))
		if extra != "" {
			s = s[:len(s)-1] + "," + extra + "}"
		}
		return s
	}
	with := func(j jwk.JWK, f func(*jwk.JWK)) jwk.JWK { f(&j); return j }
	rsaN := keys[jwk.RS256].Public().(*rsa.PublicKey).N.Bytes()
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	notOnCurve := with(ec, func(j *jwk.JWK) { j.Y = j.X })
	big8200 := append([]byte{0xff}, make([]byte, 8200/8)...)
	big8200[len(big8200)-1] = 1

	const es = jwk.ES256
	for _, tc := range []struct {
		name, raw, alg, want string
		policy               *jwk.Policy
	}{
		{"not an object", `"x"`, es, "not a JSON object", nil},
		{"null", `null`, es, "not a JSON object", nil},
		{"array", `[{}]`, es, "not a JSON object", nil},
		{"number member", `{"kty":1}`, es, "string members", nil},
		{"private d", obj(ec, `"d":"AQAB"`), es, "private key material", nil},
		{"private d null", obj(ec, `"d":null`), es, "private key material", nil},
		{"private p", obj(rs, `"p":"AQAB"`), jwk.RS256, "private key material", nil},
		{"private qi", obj(rs, `"qi":"AQAB"`), jwk.RS256, "private key material", nil},
		{"private oth", obj(rs, `"oth":[]`), jwk.RS256, "private key material", nil},
		{"symmetric k", `{"kty":"oct","k":"c2VjcmV0"}`, "", "private key material", nil},
		{"use enc", obj(ec, `"use":"enc"`), es, "not a signing key", nil},
		{"alg member differs", obj(ec, `"alg":"ES384"`), es, "alg does not match", nil},
		{"alg none", obj(ec, `"alg":"none"`), "", "not accepted", nil},
		{"alg HS256", obj(ec, ""), "HS256", "not accepted", nil},
		{"alg outside policy", obj(ec384, ""), jwk.ES384, "not accepted", &jwk.Policy{Algs: []string{jwk.ES256}}},
		{"kty outside policy", obj(ec384, ""), "", "not accepted", &jwk.Policy{Algs: []string{jwk.ES256, jwk.RS256}}},
		{"RSA key for ES256", obj(rs, ""), es, "does not fit", nil},
		{"P-384 key for ES256", obj(ec384, ""), es, "does not fit", nil},
		{"OKP key for ES256", obj(ed, ""), es, "does not fit", nil},
		{"X25519 for EdDSA", obj(with(ed, func(j *jwk.JWK) { j.Crv = "X25519" }), ""), jwk.EdDSA, "does not fit", nil},
		{"P-521", obj(with(ec, func(j *jwk.JWK) { j.Crv = "P-521" }), ""), "", "not accepted", nil},
		{"crv on RSA", obj(with(rs, func(j *jwk.JWK) { j.Crv = "P-256" }), ""), jwk.RS256, "does not fit", nil},
		{"Ed25519 short x", obj(with(ed, func(j *jwk.JWK) { j.X = j.X[:20] }), ""), jwk.EdDSA, "bad Ed25519 key", nil},
		{"Ed25519 padded x", obj(with(ed, func(j *jwk.JWK) { j.X += "=" }), ""), jwk.EdDSA, "bad Ed25519 key", nil},
		{"Ed25519 with y", obj(with(ed, func(j *jwk.JWK) { j.Y = j.X }), ""), jwk.EdDSA, "bad Ed25519 key", nil},
		{"EC short x", obj(with(ec, func(j *jwk.JWK) { j.X = b64(make([]byte, 31)) }), ""), es, "bad EC key", nil},
		{"EC no y", obj(with(ec, func(j *jwk.JWK) { j.Y = "" }), ""), es, "bad EC key", nil},
		{"EC std base64", obj(with(ec, func(j *jwk.JWK) { j.X = strings.NewReplacer("-", "+", "_", "/").Replace(j.X) + "+" }), ""), es, "bad EC key", nil},
		{"EC line break", obj(with(ec, func(j *jwk.JWK) { j.X = j.X[:10] + `\n` + j.X[10:] }), ""), es, "bad EC key", nil},
		{"EC not on curve", obj(notOnCurve, ""), es, "not on the curve", nil},
		{"RSA leading zero n", obj(with(rs, func(j *jwk.JWK) { j.N = b64(append([]byte{0}, rsaN...)) }), ""), jwk.RS256, "bad RSA key", nil},
		{"RSA leading zero e", obj(with(rs, func(j *jwk.JWK) { j.E = "AAEAAQ" }), ""), jwk.RS256, "bad RSA key", nil},
		{"RSA empty e", obj(with(rs, func(j *jwk.JWK) { j.E = "" }), ""), jwk.RS256, "bad RSA key", nil},
		{"RSA 1024 bits", obj(with(rs, func(j *jwk.JWK) { j.N = b64(small.N.Bytes()) }), ""), jwk.RS256, "shorter than 2048", nil},
		{"RSA 8200 bits", obj(with(rs, func(j *jwk.JWK) { j.N = b64(big8200) }), ""), jwk.RS256, "longer than 8192", nil},
		{"RSA even n", obj(with(rs, func(j *jwk.JWK) { n := append([]byte{}, rsaN...); n[len(n)-1] &^= 1; j.N = b64(n) }), ""), jwk.RS256, "modulus is even", nil},
		{"RSA e=1", obj(with(rs, func(j *jwk.JWK) { j.E = "AQ" }), ""), jwk.RS256, "bad RSA exponent", nil},
		{"RSA e=65536", obj(with(rs, func(j *jwk.JWK) { j.E = "AQAA" }), ""), jwk.RS256, "bad RSA exponent", nil},
		{"RSA e=2^32+1", obj(with(rs, func(j *jwk.JWK) { j.E = b64([]byte{1, 0, 0, 0, 1}) }), ""), jwk.RS256, "bad RSA exponent", nil},
		{"RSA e=2^31+1", obj(with(rs, func(j *jwk.JWK) { j.E = b64([]byte{0x80, 0, 0, 1}) }), ""), jwk.RS256, "bad RSA exponent", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := all
			if tc.policy != nil {
				p = *tc.policy
			}
			k, err := p.Parse([]byte(tc.raw), tc.alg)
			if err == nil {
				t.Fatalf("accepted %s as %s", tc.raw, k.Alg)
			}
			if !errors.Is(err, jwk.ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestParseAccepts shows the rules' edges on the accepting side.
func TestParseAccepts(t *testing.T) {
	keys := mustKeys(t)
	rs, _ := jwk.Encode(keys[jwk.RS256].Public())
	ec, _ := jwk.Encode(keys[jwk.ES256].Public())
	for _, tc := range []struct {
		name    string
		j       jwk.JWK
		alg     string
		policy  []string
		wantAlg string
	}{
		{"use sig, alg member", with2(ec, "sig", "ES256"), "", []string{jwk.ES256}, jwk.ES256},
		{"no alg: first fitting policy alg", rs, "", []string{jwk.ES256, jwk.PS256, jwk.RS256}, jwk.PS256},
		{"caller alg", rs, jwk.RS256, []string{jwk.PS256, jwk.RS256}, jwk.RS256},
		{"e=3", func() jwk.JWK { j := rs; j.E = "Aw"; return j }(), "", []string{jwk.RS256}, jwk.RS256},
		{"e=2^31-1", func() jwk.JWK { j := rs; j.E = b64([]byte{0x7f, 0xff, 0xff, 0xff}); return j }(), "", []string{jwk.RS256}, jwk.RS256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.j)
			k, err := jwk.Policy{Algs: tc.policy}.Parse(raw, tc.alg)
			if err != nil || k.Alg != tc.wantAlg {
				t.Fatalf("Parse(%s, %q) = %s, %v; want %s", raw, tc.alg, k.Alg, err, tc.wantAlg)
			}
		})
	}
}

func with2(j jwk.JWK, use, alg string) jwk.JWK { j.Use, j.Alg = use, alg; return j }
