package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/internal/tokenformat"
)

// Generator IDs of the built-in token formats (docs/api-tokens.md, "Generators").
const (
	VendorChecksumID = "vendor_checksum"
	LegacySHA1ID     = "legacy_sha1"
)

// Token format limits.
const (
	// DjbletsTokenLength is Djblets' fixed vendor_checksum length (docs/api-tokens.md, "Generators");
	// it is also the longest vendor_checksum token accepted.
	DjbletsTokenLength = 255
	// DefaultTokenLength is authgate's default total length: "agp_" + 30
	// random base62 characters (≈178 bits, as GitHub's) + 6 checksum
	// characters (docs/api-tokens.md, "Deliberate differences").
	DefaultTokenLength = 40
	// DefaultTokenType is authgate's vendor prefix.
	DefaultTokenType = "agp"
	// MinEntropyLength is the fewest random characters a vendor_checksum
	// token may have: 22 base62 characters carry ≈131 bits, and RFC 6749
	// §10.10 requires a guessing chance of at most 2^-128.
	MinEntropyLength = 22
	// checksumLength: Djblets (see docs/api-tokens.md, "Generators") pads the
	// base62 CRC-32 to 6 characters.
	checksumLength = tokenformat.ChecksumLength
)

// base62Alphabet is Djblets' CHARSET: digits, then upper case, then lower
// case. docs/api-tokens.md, "Generators": the order matters for the checksum encoding.
const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// TokenInfo is what a generator needs, Djblets' token_info dictionary in
// typed form.
type TokenInfo struct {
	// TokenType is the vendor prefix ("agp"); vendor_checksum requires it.
	TokenType string
	// Length is the total token length for vendor_checksum; 0 means
	// DjbletsTokenLength.
	Length int
	// UserID, Attempt and Now feed legacy_sha1's derivation.
	UserID  int64
	Attempt int
	Now     time.Time
}

// Generator creates and recognises one token format (docs/api-tokens.md, "Generators").
type Generator interface {
	// ID is the generator's registry key, stored with every token.
	ID() string
	// Create returns a new random token.
	Create(info TokenInfo) (string, error)
	// Validate checks format (and checksum, where the format has one)
	// without any I/O. It must be cheap: Authenticate calls it before
	// touching the database.
	Validate(token string, info TokenInfo) bool
	// DisplayPrefix returns the part of a valid token that may be shown.
	DisplayPrefix(token string, info TokenInfo) string
}

// VendorChecksum is Djblets' vendor_checksum generator (docs/api-tokens.md, "Generators"):
// <type>_<base62 entropy><6-char base62 CRC-32 of the entropy>.
type VendorChecksum struct{}

// ID implements Generator.
func (VendorChecksum) ID() string { return VendorChecksumID }

// Create implements Generator. Each entropy character is drawn uniformly
// from the 62-character alphabet with crypto/rand.
func (VendorChecksum) Create(info TokenInfo) (string, error) {
	if info.TokenType == "" {
		// Djblets (see docs/api-tokens.md, "Generators"): creation without token_type raises this KeyError.
		//lint:ignore ST1005 Djblets' exact text
		return "", errors.New("The token_info dictionary must contain a token_type key.")
	}
	length := info.Length
	if length == 0 {
		length = DjbletsTokenLength
	}
	entropyLen := length - checksumLength - len(info.TokenType) - 1
	if entropyLen < MinEntropyLength || length > DjbletsTokenLength {
		return "", fmt.Errorf("vendor_checksum: token length %d with type %q is outside %d..%d",
			length, info.TokenType, minVendorLength(info.TokenType), DjbletsTokenLength)
	}
	buf := make([]byte, 0, length)
	buf = append(buf, info.TokenType...)
	buf = append(buf, '_')
	start := len(buf)
	buf, err := appendRandomBase62(buf, entropyLen)
	if err != nil {
		return "", fmt.Errorf("vendor_checksum: %w", err)
	}
	sum := checksum(buf[start:])
	buf = append(buf, sum[:]...)
	return string(buf), nil
}

// appendRandomBase62 appends n uniformly random alphabet characters, by
// rejection sampling: bytes ≥ 248 (= 4·62) are discarded so that b%62 is
// unbiased.
func appendRandomBase62(dst []byte, n int) ([]byte, error) {
	var pool [64]byte
	for n > 0 {
		if _, err := rand.Read(pool[:]); err != nil {
			return nil, fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range pool {
			if b >= 248 {
				continue
			}
			dst = append(dst, base62Alphabet[b%62])
			if n--; n == 0 {
				break
			}
		}
	}
	return dst, nil
}

func minVendorLength(tokenType string) int {
	return len(tokenType) + 1 + MinEntropyLength + checksumLength
}

// Validate implements Generator. docs/api-tokens.md, "Generators": the token starts with
// "<type>_", the rest is base62, and the last 6 characters are the base62
// CRC-32 of the entropy, or that checksum with its letters' case swapped
// (Djblets 3.0's alphabet bug, still accepted). Djblets requires exactly
// 255 characters; authgate accepts any length from the entropy floor up to
// 255, so tokens made with an earlier Length setting keep working
// (docs/api-tokens.md, "Deliberate differences"; match on the prefix, never a
// fixed length: docs/security.md, "Token formats").
func (VendorChecksum) Validate(token string, info TokenInfo) bool {
	return tokenformat.ValidVendorChecksum(token, info.TokenType)
}

// DisplayPrefix implements Generator: "<type>_" and 4 entropy characters.
func (VendorChecksum) DisplayPrefix(token string, info TokenInfo) string {
	n := len(info.TokenType) + 1 + 4
	if n > len(token) {
		n = len(token)
	}
	return token[:n]
}

// VendorChecksumOf returns the 6-character checksum Djblets appends to
// entropy: CRC-32 (IEEE) of its bytes, base62 with the 0-9A-Za-z alphabet,
// left-padded with '0' (docs/api-tokens.md, "Generators").
func VendorChecksumOf(entropy string) string {
	sum := checksum(entropy)
	return string(sum[:])
}

func checksum[S string | []byte](entropy S) [checksumLength]byte {
	return tokenformat.Checksum(entropy)
}

func base62Pad6(n uint32) [checksumLength]byte { return tokenformat.Base62Pad6(n) }

func isBase62(c byte) bool { return tokenformat.IsBase62(c) }

// LegacySHA1 is Djblets' deprecated legacy_sha1 format (docs/api-tokens.md, "Generators"): 40 hex
// digits of SHA-1. Djblets hashed SECRET_KEY, the user ID, the user's
// password hash, the attempt and the time; authgate never uses a password
// hash (docs/api-tokens.md, "Deliberate differences") and computes HMAC-SHA1
// keyed by a server secret over the
// user ID, attempt, time and 32 bytes from crypto/rand.
type LegacySHA1 struct {
	secret []byte
}

// NewLegacySHA1 returns a legacy_sha1 generator keyed by secret. Without a
// secret it still validates, but Create fails.
func NewLegacySHA1(secret []byte) *LegacySHA1 {
	return &LegacySHA1{secret: append([]byte(nil), secret...)}
}

// ID implements Generator.
func (*LegacySHA1) ID() string { return LegacySHA1ID }

// Create implements Generator.
func (g *LegacySHA1) Create(info TokenInfo) (string, error) {
	if len(g.secret) == 0 {
		return "", errors.New("legacy_sha1: no server secret configured (tokens.legacy_secret)")
	}
	if info.UserID == 0 {
		// Djblets (see docs/api-tokens.md, "Generators"): the user key is required (and checked first).
		//lint:ignore ST1005 Djblets' exact text
		return "", errors.New("The token_info dictionary must contain a user key.")
	}
	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("legacy_sha1: read random bytes: %w", err)
	}
	mac := hmac.New(sha1.New, g.secret)
	mac.Write(strconv.AppendInt(nil, info.UserID, 10))
	mac.Write([]byte{0})
	mac.Write(strconv.AppendInt(nil, int64(info.Attempt), 10))
	mac.Write([]byte{0})
	mac.Write([]byte(info.Now.UTC().Format(time.RFC3339Nano)))
	mac.Write([]byte{0})
	mac.Write(nonce[:])
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// Validate implements Generator: exactly 40 characters of [0-9A-Fa-f]
// (docs/api-tokens.md, "Generators"; either case is accepted).
func (*LegacySHA1) Validate(token string, _ TokenInfo) bool {
	return tokenformat.ValidLegacy(token)
}

// DisplayPrefix implements Generator: the first 4 hex digits.
func (*LegacySHA1) DisplayPrefix(token string, _ TokenInfo) string {
	return token[:min(4, len(token))]
}

// ErrDuplicateGenerator: a generator with the same ID is already registered
// (docs/api-tokens.md, "Generators": registering a duplicate ID is an error).
var ErrDuplicateGenerator = errors.New("token generator already registered")

// Registry holds generators by ID (docs/api-tokens.md, "Generators"). It is safe for concurrent
// use; lookups take no lock.
type Registry struct {
	mu   sync.Mutex                  // serialises writers
	gens atomic.Pointer[[]Generator] // immutable snapshot, registration order
}

// NewRegistry returns a registry holding gens.
func NewRegistry(gens ...Generator) (*Registry, error) {
	r := &Registry{}
	r.gens.Store(&[]Generator{})
	for _, g := range gens {
		if err := r.Register(g); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// DefaultRegistry returns a registry with vendor_checksum and legacy_sha1
// (keyed by legacySecret), Djblets' defaults.
func DefaultRegistry(legacySecret []byte) *Registry {
	r, _ := NewRegistry(VendorChecksum{}, NewLegacySHA1(legacySecret)) // distinct IDs: cannot fail
	return r
}

// Register adds g; an ID already present is ErrDuplicateGenerator.
func (r *Registry) Register(g Generator) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.gens.Load()
	for _, e := range old {
		if e.ID() == g.ID() {
			return fmt.Errorf("register %q: %w", g.ID(), ErrDuplicateGenerator)
		}
	}
	next := append(append(make([]Generator, 0, len(old)+1), old...), g)
	r.gens.Store(&next)
	return nil
}

// Unregister removes the generator with ID id and reports whether it was
// registered.
func (r *Registry) Unregister(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.gens.Load()
	next := make([]Generator, 0, len(old))
	for _, e := range old {
		if e.ID() != id {
			next = append(next, e)
		}
	}
	r.gens.Store(&next)
	return len(next) != len(old)
}

// Get returns the generator with ID id, or nil. It never fails (docs/api-tokens.md, "Generators").
func (r *Registry) Get(id string) Generator {
	for _, g := range *r.gens.Load() {
		if g.ID() == id {
			return g
		}
	}
	return nil
}

// IDs lists the registered generator IDs in registration order.
func (r *Registry) IDs() []string {
	gens := *r.gens.Load()
	ids := make([]string, len(gens))
	for i, g := range gens {
		ids[i] = g.ID()
	}
	return ids
}

// Recognize returns the first registered generator whose Validate accepts
// token, or nil. It does no I/O.
func (r *Registry) Recognize(token string, info TokenInfo) Generator {
	for _, g := range *r.gens.Load() {
		if g.Validate(token, info) {
			return g
		}
	}
	return nil
}
