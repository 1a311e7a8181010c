package configs

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KEKSize is the length of a key-encryption key: 32 bytes, for AES-256-GCM.
const KEKSize = 32

// KeyEncryptionKeyBytes returns the key-encryption key of the signing keys,
// from oauth.key_encryption_key (meant for the environment variable
// AUTHGATE_OAUTH__KEY_ENCRYPTION_KEY) or the file named by
// oauth.key_encryption_key_file, or nil when neither is set. The key is 32
// bytes written as base64 or hex (`openssl rand -base64 32`); errors never
// echo it.
func (o OAuth) KeyEncryptionKeyBytes() ([]byte, error) {
	switch {
	case o.KeyEncryptionKey != "" && o.KeyEncryptionKeyFile != "":
		return nil, errors.New(`set only one of "oauth.key_encryption_key" and "oauth.key_encryption_key_file"`)
	case o.KeyEncryptionKey != "":
		k, err := DecodeKEK(o.KeyEncryptionKey)
		if err != nil {
			return nil, fmt.Errorf(`invalid value for "oauth.key_encryption_key": %w`, err)
		}
		return k, nil
	case o.KeyEncryptionKeyFile != "":
		return ReadKEKFile(o.KeyEncryptionKeyFile)
	}
	return nil, nil
}

// KeyEncryptionKeys returns KeyEncryptionKeyBytes and the previous
// key-encryption key from oauth.previous_key_encryption_key_file (nil when
// unset), which the server still accepts for opening keys while they are
// re-sealed with the new one.
func (o OAuth) KeyEncryptionKeys() (current, previous []byte, err error) {
	if current, err = o.KeyEncryptionKeyBytes(); err != nil {
		return nil, nil, err
	}
	if o.PreviousKeyEncryptionKeyFile != "" {
		if previous, err = ReadKEKFile(o.PreviousKeyEncryptionKeyFile); err != nil {
			return nil, nil, fmt.Errorf("previous %w", err)
		}
	}
	return current, previous, nil
}

// ReadKEKFile reads a key-encryption key from a file (see DecodeKEK).
func ReadKEKFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key file: %w", err)
	}
	k, err := DecodeKEK(string(b))
	if err != nil {
		return nil, fmt.Errorf("key-encryption key file %s: %w", path, err)
	}
	return k, nil
}

// DecodeKEK decodes a key-encryption key written as 64 hex digits or as
// base64 (standard or URL alphabet, padded or not) of 32 bytes.
func DecodeKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KEKSize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KEKSize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("not %d bytes in base64 or hex (make one with `openssl rand -base64 32`)", KEKSize)
}
