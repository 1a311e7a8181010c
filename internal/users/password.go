package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters. These are OWASP's Password Storage Cheat Sheet
// baseline for argon2id (m=19 MiB, t=2, p=1): about 42 ms per hash on this
// project's 2-core reference machine. The parameters are stored in each hash
// (PHC string format), so raising them later only affects new hashes.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// MinPasswordLength is the shortest password accepted (NIST SP 800-63B §5.1.1.2).
const MinPasswordLength = 8

// ErrWeakPassword is returned for passwords shorter than MinPasswordLength.
var ErrWeakPassword = fmt.Errorf("password must be at least %d characters", MinPasswordLength)

// HashPassword returns the argon2id PHC string for password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, base64 without padding.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", ErrWeakPassword
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed argon2id hash")

type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func parseHash(encoded string) (argonParams, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, errBadHash
	}
	// Refuse absurd parameters from a tampered row rather than allocate them.
	if p.memory == 0 || p.memory > 1<<22 || p.time == 0 || p.time > 16 || p.threads == 0 {
		return p, errBadHash
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, errBadHash
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) == 0 {
		return p, errBadHash
	}
	return p, nil
}

// hashMemoryKiB is the m parameter of a stored hash (what verifying it
// allocates); a malformed hash allocates nothing.
func hashMemoryKiB(encoded string) uint32 {
	p, err := parseHash(encoded)
	if err != nil {
		return 0
	}
	return p.memory
}

// VerifyPassword reports whether password matches the argon2id hash. The key
// comparison is constant-time; a malformed hash never matches.
func VerifyPassword(encoded, password string) bool {
	p, err := parseHash(encoded)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

// dummyHash is verified against when a username is unknown, so that the
// response time does not reveal which usernames exist. Verifying costs what
// its parameters say, whatever the salt and key, so it is a well-formed
// hash with HashPassword's parameters and fixed bytes: computing a real one
// cost every process (every CLI command included) an argon2id run and 19
// MiB at start. No password is known to match it, and a match would not
// sign anyone in (Authenticate refuses unknown users regardless). See
// docs/performance.md, "Start-up".
var dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
	base64.RawStdEncoding.EncodeToString(make([]byte, argonSaltLen)),
	base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("authgate", argonKeyLen/8))))
