package signing

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// encryptedKeyPrefix starts a signing key stored encrypted: "enc:v1:" +
// base64(nonce || AES-256-GCM ciphertext of the PKCS #8 DER), with the kid
// as associated data so a ciphertext cannot be moved to another key's row.
// Rows without it hold a PEM "PRIVATE KEY" (authgate before key
// encryption, or no key-encryption key configured). See
// docs/operations-security.md, "Signing keys at rest".
const encryptedKeyPrefix = "enc:v1:"

// ErrKEKRequired means a stored signing key is encrypted and no
// key-encryption key is configured.
var ErrKEKRequired = errors.New("signing keys are encrypted: configure the key-encryption key " +
	"(oauth.key_encryption_key_file, or AUTHGATE_OAUTH__KEY_ENCRYPTION_KEY)")

// ErrKEKMismatch means a stored signing key does not decrypt with the
// configured key-encryption key.
var ErrKEKMismatch = errors.New("signing key does not decrypt with the configured key-encryption key (wrong key?)")

// keyCipher seals signing keys with a key-encryption key. A nil *keyCipher
// stores keys as PEM.
type keyCipher struct {
	aead cipher.AEAD
	// previous opens keys still sealed with the key-encryption key being
	// replaced (nil: none), so instances keep loading them until
	// `authgate key encrypt --previous-key-file` has re-sealed them.
	previous cipher.AEAD
}

// newKeyCipher returns the cipher for a 32-byte key-encryption key, nil
// for an empty one.
func newKeyCipher(kek []byte) (*keyCipher, error) {
	aead, err := newAEAD(kek)
	if err != nil || aead == nil {
		return nil, err
	}
	return &keyCipher{aead: aead}, nil
}

// newKeyCipherWithPrevious is newKeyCipher that also opens keys sealed
// with previous (optional).
func newKeyCipherWithPrevious(kek, previous []byte) (*keyCipher, error) {
	kc, err := newKeyCipher(kek)
	if err != nil {
		return nil, err
	}
	prev, err := newAEAD(previous)
	if err != nil {
		return nil, fmt.Errorf("previous %w", err)
	}
	if prev != nil && kc == nil {
		return nil, errors.New("a previous key-encryption key is configured without a current one")
	}
	if kc != nil {
		kc.previous = prev
	}
	return kc, nil
}

func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) == 0 {
		return nil, nil
	}
	if len(kek) != 32 {
		return nil, fmt.Errorf("key-encryption key: %d bytes, want 32 (AES-256)", len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	return aead, nil
}

// seal returns the column value for the PKCS #8 DER of key kid.
func (kc *keyCipher) seal(kid string, der []byte) (string, error) {
	if kc == nil {
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
	}
	nonce := make([]byte, kc.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt signing key: %w", err)
	}
	out := kc.aead.Seal(nonce, nonce, der, []byte(kid))
	return encryptedKeyPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// open returns the PKCS #8 DER of a stored key: PEM as it is, an
// encrypted one decrypted with kc.
func (kc *keyCipher) open(kid, stored string) ([]byte, error) {
	enc, ok := strings.CutPrefix(stored, encryptedKeyPrefix)
	if !ok {
		block, _ := pem.Decode([]byte(stored))
		if block == nil {
			return nil, fmt.Errorf("signing key %s: private key is neither PEM nor %s…", kid, encryptedKeyPrefix)
		}
		return block.Bytes, nil
	}
	if kc == nil {
		return nil, fmt.Errorf("signing key %s: %w", kid, ErrKEKRequired)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) < kc.aead.NonceSize() {
		return nil, fmt.Errorf("signing key %s: malformed encrypted key", kid)
	}
	n := kc.aead.NonceSize()
	der, err := kc.aead.Open(nil, raw[:n], raw[n:], []byte(kid))
	if err != nil && kc.previous != nil {
		der, err = kc.previous.Open(nil, raw[:n], raw[n:], []byte(kid))
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", kid, ErrKEKMismatch)
	}
	return der, nil
}

// EncryptResult counts what EncryptKeys did.
type EncryptResult struct {
	Encrypted int `json:"encrypted"` // plaintext keys now encrypted
	Rewrapped int `json:"rewrapped"` // keys moved from the previous key-encryption key
	Unchanged int `json:"unchanged"` // keys already encrypted with the current one
}

// EncryptKeys encrypts every signing key of d with kek (32 bytes): PEM keys
// are sealed, keys sealed with previous (optional: the key-encryption key
// being replaced) are re-sealed, keys already sealed with kek are left. It
// works on the table directly, in one transaction, so it runs while the
// configured key cannot yet open every row. Running servers keep their
// decrypted keys; every instance that reloads needs kek configured.
func EncryptKeys(ctx context.Context, d *db.DB, kek, previous []byte) (EncryptResult, error) {
	var res EncryptResult
	cur, err := newKeyCipher(kek)
	if err != nil {
		return res, err
	}
	if cur == nil {
		return res, errors.New("encrypt signing keys: no key-encryption key configured " +
			"(oauth.key_encryption_key_file, or AUTHGATE_OAUTH__KEY_ENCRYPTION_KEY)")
	}
	prev, err := newKeyCipher(previous)
	if err != nil {
		return res, fmt.Errorf("previous %w", err)
	}
	err = d.InTx(ctx, func(tx *sqlx.Tx) error {
		res = EncryptResult{}
		var rows []keyRow
		if err := tx.SelectContext(ctx, &rows, `SELECT id, kid, alg, private_key, created_at, activates_at FROM signing_keys ORDER BY id`); err != nil {
			return fmt.Errorf("load signing keys: %w", err)
		}
		for _, r := range rows {
			der, counter, err := reopen(cur, prev, r, &res)
			if err != nil {
				return err
			}
			if counter == nil {
				continue
			}
			sealed, err := cur.seal(r.KID, der)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE signing_keys SET private_key = ? WHERE id = ?`), sealed, r.ID); err != nil {
				return fmt.Errorf("store encrypted signing key %s: %w", r.KID, err)
			}
			*counter++
		}
		return nil
	})
	return res, err
}

// reopen decrypts row r for EncryptKeys and says which count re-sealing it
// adds to (nil: already sealed with cur, nothing to do).
func reopen(cur, prev *keyCipher, r keyRow, res *EncryptResult) ([]byte, *int, error) {
	if !strings.HasPrefix(r.PrivateKey, encryptedKeyPrefix) {
		der, err := cur.open(r.KID, r.PrivateKey)
		return der, &res.Encrypted, err
	}
	if _, err := cur.open(r.KID, r.PrivateKey); err == nil {
		res.Unchanged++
		return nil, nil, nil
	}
	if prev == nil {
		return nil, nil, fmt.Errorf("signing key %s: %w; to replace a key-encryption key, give the previous one", r.KID, ErrKEKMismatch)
	}
	der, err := prev.open(r.KID, r.PrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing key %s decrypts with neither the current nor the previous key-encryption key", r.KID)
	}
	return der, &res.Rewrapped, nil
}

// PlaintextKeys is how many signing keys the last load found stored as
// PEM, not encrypted; the server warns about them at start.
func (ks *KeySet) PlaintextKeys() int {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.plaintext
}

// Encrypting reports whether new keys are stored encrypted.
func (ks *KeySet) Encrypting() bool { return ks.kc != nil }
