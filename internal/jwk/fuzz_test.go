package jwk_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/authgate/authgate/internal/jwk"
)

// FuzzParse feeds arbitrary JWKs and algorithms to Parse. Whatever the
// input it never panics and refuses with ErrRefused; a key it accepts has
// an algorithm of the policy, and encoding it again gives members that
// parse to the same thumbprint, the one Thumbprint computes.
func FuzzParse(f *testing.F) {
	for _, priv := range mustKeys(f) {
		j, err := jwk.Encode(priv.Public())
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := json.Marshal(j)
		f.Add(raw, "")
	}
	for _, s := range []string{
		`{"kty":"RSA","n":"` + rfcN + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`,
		`{"kty":"RSA","n":"` + rfcN + `","e":"AQAB","d":"AQAB"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		`{"kty":"oct","k":"AQAB"}`, `{}`, `null`, `[]`, `{"kty":1}`,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "RS256")
	}
	f.Fuzz(func(t *testing.T, raw []byte, alg string) {
		k, err := all.Parse(raw, alg)
		if err != nil {
			if !errors.Is(err, jwk.ErrRefused) {
				t.Fatalf("Parse(%q): %v does not wrap ErrRefused", raw, err)
			}
			return
		}
		if alg != "" && k.Alg != alg {
			t.Fatalf("Parse(%q, %q) gave alg %s", raw, alg, k.Alg)
		}
		tp, err := jwk.Thumbprint(k.Public)
		if err != nil || tp != k.Thumbprint {
			t.Fatalf("Parse(%q): thumbprint %s, Thumbprint %s (%v)", raw, k.Thumbprint, tp, err)
		}
		j, err := jwk.Encode(k.Public)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(j)
		k2, err := all.Parse(again, k.Alg)
		if err != nil || k2.Thumbprint != k.Thumbprint {
			t.Fatalf("re-encoded %s: %v, thumbprint %s want %s", again, err, k2.Thumbprint, k.Thumbprint)
		}
	})
}
