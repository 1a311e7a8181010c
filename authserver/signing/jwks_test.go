package signing

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestPublicKeyForRefusesOtherAlg: a token verifies only with the
// published key its kid names and only under that key's algorithm; an
// HS256 token keyed with the RSA public key (the classic confusion), a
// token of the right kid signed under another algorithm, and an unknown
// kid are all refused, and so is PS256 signed with the RS256 key itself.
func TestPublicKeyForRefusesOtherAlg(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ks := newKeySet(t, d, Options{})
		if err := ks.Ensure(ctx, AlgRS256); err != nil {
			t.Fatal(err)
		}
		k, err := ks.Signer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keyfunc := func(tok *jwt.Token) (any, error) { return ks.PublicKeyFor(ctx, tok) }
		claims := jwt.MapClaims{"sub": "x"}

		good, err := k.Sign(claims, "at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Parse(good, keyfunc)
		if err != nil || tok.Header["kid"] != k.KID() || tok.Header["typ"] != "at+jwt" || tok.Header["alg"] != AlgRS256 {
			t.Fatalf("own token: %v, header %v", err, tok.Header)
		}

		pubDER, err := x509.MarshalPKIXPublicKey(k.priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		hs.Header["kid"] = k.KID()
		forged, err := hs.SignedString(pubDER)
		if err != nil {
			t.Fatal(err)
		}
		other := newKeySet(t, dbtest.Open(t), Options{})
		if err := other.Ensure(ctx, AlgES256); err != nil {
			t.Fatal(err)
		}
		ok, err := other.Signer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		es := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
		es.Header["kid"] = k.KID()
		wrongAlg, err := es.SignedString(ok.priv)
		if err != nil {
			t.Fatal(err)
		}
		// PS256 verifies with the same RSA public key: only the key's own
		// alg keeps it out.
		ps := jwt.NewWithClaims(jwt.SigningMethodPS256, claims)
		ps.Header["kid"] = k.KID()
		pss, err := ps.SignedString(k.priv)
		if err != nil {
			t.Fatal(err)
		}
		unknown, err := ok.Sign(claims, "at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		for name, raw := range map[string]string{"HS256 with the public key": forged, "ES256 naming an RS256 kid": wrongAlg,
			"PS256 with the RS256 key": pss, "unknown kid": unknown} {
			if _, err := jwt.Parse(raw, keyfunc); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}

// TestNewKeySetRefusesBadOptions: the constructor says what is wrong
// instead of building a KeySet that fails later.
func TestNewKeySetRefusesBadOptions(t *testing.T) {
	d := dbtest.Open(t)
	for name, tc := range map[string]struct {
		d    *db.DB
		o    Options
		want string
	}{
		"no database":          {nil, Options{MaxTokenTTL: time.Hour}, "database is required"},
		"no token lifetime":    {d, Options{}, "must be positive"},
		"short KEK":            {d, Options{MaxTokenTTL: time.Hour, KEK: make([]byte, 16)}, "16 bytes, want 32"},
		"previous without KEK": {d, Options{MaxTokenTTL: time.Hour, PreviousKEK: make([]byte, 32)}, "without a current one"},
		"short previous KEK":   {d, Options{MaxTokenTTL: time.Hour, KEK: make([]byte, 32), PreviousKEK: []byte{1}}, "previous key-encryption key"},
	} {
		if _, err := NewKeySet(tc.d, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}
