package signing

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

func newKEK(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// keySetWith is a KeySet over d that seals keys with kek (nil: PEM).
func keySetWith(t *testing.T, d *db.DB, kek []byte) *KeySet {
	t.Helper()
	return newKeySet(t, d, Options{KEK: kek})
}

func storedKeys(t *testing.T, d *db.DB) map[string]string {
	t.Helper()
	var rows []keyRow
	if err := d.Select(&rows, `SELECT id, kid, alg, private_key, created_at, activates_at FROM signing_keys`); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.KID] = r.PrivateKey
	}
	return out
}

// signsAndVerifies signs a token with ks's active key and verifies it with
// the public key of the same kid.
func signsAndVerifies(t *testing.T, ks *KeySet) string {
	t.Helper()
	ctx := context.Background()
	k, err := ks.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := k.Sign(jwt.MapClaims{"sub": "x"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse(signed, func(tok *jwt.Token) (any, error) { return ks.PublicKeyFor(ctx, tok) }); err != nil {
		t.Fatal(err)
	}
	return k.KID()
}

// TestSigningKeysEncryptedAtRest: with a key-encryption key, every key
// authgate creates (first key, rotate, all algorithms) is stored as
// enc:v1:… — never as a PEM private key — and another instance with the
// same key signs with it; without the key, or with another one, loading
// fails with a clear error.
func TestSigningKeysEncryptedAtRest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		kek := newKEK(t)
		ks := keySetWith(t, d, kek)
		if err := ks.Ensure(ctx, AlgEdDSA); err != nil {
			t.Fatal(err)
		}
		for _, alg := range []string{AlgES256, AlgRS256} {
			if _, err := ks.Rotate(ctx, alg, 0); err != nil {
				t.Fatal(err)
			}
		}
		stored := storedKeys(t, d)
		if len(stored) != 3 {
			t.Fatalf("%d keys stored", len(stored))
		}
		for kid, v := range stored {
			if !strings.HasPrefix(v, encryptedKeyPrefix) || strings.Contains(v, "PRIVATE KEY") {
				t.Errorf("key %s stored as %.40q…", kid, v)
			}
		}
		if ks.PlaintextKeys() != 0 || !ks.Encrypting() {
			t.Errorf("PlaintextKeys %d, Encrypting %v", ks.PlaintextKeys(), ks.Encrypting())
		}
		kid := signsAndVerifies(t, keySetWith(t, d, kek))
		if _, ok := stored[kid]; !ok {
			t.Fatalf("signing kid %s not stored", kid)
		}

		if err := keySetWith(t, d, nil).load(ctx); !errors.Is(err, ErrKEKRequired) {
			t.Errorf("load without a key-encryption key: %v, want ErrKEKRequired", err)
		}
		if err := keySetWith(t, d, newKEK(t)).load(ctx); !errors.Is(err, ErrKEKMismatch) {
			t.Errorf("load with another key-encryption key: %v, want ErrKEKMismatch", err)
		}
	})
}

// TestSealedKeyBoundToKID: a sealed key copied into another key's row does
// not open (the kid is the associated data).
func TestSealedKeyBoundToKID(t *testing.T) {
	kc, err := newKeyCipher(newKEK(t))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kc.seal("kid-a", []byte("der"))
	if err != nil {
		t.Fatal(err)
	}
	if der, err := kc.open("kid-a", sealed); err != nil || !bytes.Equal(der, []byte("der")) {
		t.Fatalf("open own row: %q %v", der, err)
	}
	if _, err := kc.open("kid-b", sealed); !errors.Is(err, ErrKEKMismatch) {
		t.Fatalf("open as another kid: %v", err)
	}
	if _, err := newKeyCipher(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key-encryption key was accepted")
	}
}

// TestEncryptExistingKeys is the migration path: keys stored as PEM by an
// earlier authgate keep working once a key-encryption key is configured,
// EncryptKeys seals them (same kids, same JWKS), a second run changes
// nothing, and a new key-encryption key takes over with the previous one.
func TestEncryptExistingKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		plain := keySetWith(t, d, nil)
		if err := plain.Ensure(ctx, AlgEdDSA); err != nil {
			t.Fatal(err)
		}
		if _, err := plain.Rotate(ctx, AlgES256, time.Hour); err != nil {
			t.Fatal(err)
		}
		before, _ := plain.JWKS(ctx)
		for kid, v := range storedKeys(t, d) {
			if !strings.Contains(v, "PRIVATE KEY") {
				t.Fatalf("without a key-encryption key, key %s is stored as %.20q", kid, v)
			}
		}

		kek := newKEK(t)
		mixed := keySetWith(t, d, kek)
		if err := mixed.load(ctx); err != nil || mixed.PlaintextKeys() != 2 {
			t.Fatalf("PEM keys with a key-encryption key configured: %v, %d plaintext", err, mixed.PlaintextKeys())
		}
		res, err := EncryptKeys(ctx, d, kek, nil)
		if err != nil || res != (EncryptResult{Encrypted: 2}) {
			t.Fatalf("EncryptKeys: %+v %v", res, err)
		}
		for kid, v := range storedKeys(t, d) {
			if !strings.HasPrefix(v, encryptedKeyPrefix) || strings.Contains(v, "PRIVATE KEY") {
				t.Errorf("after EncryptKeys, key %s is stored as %.40q", kid, v)
			}
		}
		after := keySetWith(t, d, kek)
		set, err := after.JWKS(ctx)
		if err != nil || !equalKIDs(kids(before), kids(set)) {
			t.Fatalf("JWKS after encryption %v (%v), before %v", kids(set), err, kids(before))
		}
		signsAndVerifies(t, after)
		if res, err := EncryptKeys(ctx, d, kek, nil); err != nil || res != (EncryptResult{Unchanged: 2}) {
			t.Fatalf("second EncryptKeys: %+v %v", res, err)
		}

		// Replacing the key-encryption key.
		next := newKEK(t)
		if _, err := EncryptKeys(ctx, d, next, nil); !errors.Is(err, ErrKEKMismatch) {
			t.Fatalf("new key-encryption key without the previous one: %v", err)
		}
		if res, err := EncryptKeys(ctx, d, next, kek); err != nil || res != (EncryptResult{Rewrapped: 2}) {
			t.Fatalf("rewrap: %+v %v", res, err)
		}
		signsAndVerifies(t, keySetWith(t, d, next))
		if _, err := EncryptKeys(ctx, d, nil, nil); err == nil {
			t.Fatal("EncryptKeys without a key-encryption key succeeded")
		}
	})
}

func equalKIDs(a, b []string) bool { return strings.Join(a, " ") == strings.Join(b, " ") }
