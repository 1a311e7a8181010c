package configs

import (
	"fmt"
	"time"
)

// Tokens configures API tokens (package tokens). Zero values mean the
// built-in defaults.
type Tokens struct {
	// Type is the vendor prefix of new tokens ("agp" → agp_…); letters and
	// digits only. Only tokens with this prefix (or 40-hex legacy tokens)
	// authenticate, so changing it retires every existing vendor token.
	Type string `koanf:"type"`
	// AcceptedPrefixes are further vendor prefixes whose tokens
	// authenticate, each checked offline by its CRC-32 checksum like Type's,
	// e.g. ["rbp"] to keep imported Review Board tokens working. A token may
	// also be created with one of them (token create --prefix). Default none.
	AcceptedPrefixes []string `koanf:"accepted_prefixes"`
	// DeprecatedGenerators lists the generator IDs whose tokens still
	// authenticate but carry X-API-Token-Deprecated (Djblets'
	// DJBLETS_DEPRECATED_TOKEN_GENERATORS). Default [legacy_sha1]; unlike
	// Djblets, an empty list means that nothing is deprecated.
	DeprecatedGenerators []string `koanf:"deprecated_generators"`
	// Length is the total length of new tokens: type + "_" + random + 6
	// checksum characters. Default 40 (30 random base62 characters, ≈178
	// bits); at least 22 random characters (≈131 bits, RFC 6749 §10.10), at
	// most 255 (Djblets' length). Existing tokens of any allowed length
	// keep working when it changes.
	Length int `koanf:"length"`
	// DefaultGenerator is the generator of new tokens: vendor_checksum, or
	// the deprecated legacy_sha1 (which needs legacy_secret).
	DefaultGenerator string `koanf:"default_generator"`
	// MaxAttempts bounds retries when a new token collides with an existing
	// one (astronomically unlikely); default 20.
	MaxAttempts int `koanf:"max_attempts"`
	// LegacySecret keys the deprecated legacy_sha1 generator. Set it (from
	// the environment, AUTHGATE_TOKENS__LEGACY_SECRET) only if you must
	// create legacy 40-hex tokens; existing ones authenticate without it.
	LegacySecret string `koanf:"legacy_secret"`
	// CacheTTL is how long an authenticated token's row (token + owner) is
	// reused without a query, on both databases; 0 disables the cache. Every
	// change announces itself (NOTIFY on PostgreSQL, the change feed on
	// SQLite) so every instance drops the entry (at once, or within a second
	// on SQLite); the TTL only bounds staleness when a notice is lost.
	// Default 30s.
	CacheTTL time.Duration `koanf:"cache_ttl"`
	// CacheSQLite is retired and ignored: the cache is on for SQLite too
	// now that SQLite processes hear each other's changes. The key is still
	// accepted so that existing files load.
	CacheSQLite bool `koanf:"cache_sqlite"`
	// CacheSize bounds the number of cached tokens; default 10000.
	CacheSize int `koanf:"cache_size"`
}

// CacheTTLFor returns the authentication-cache TTL to use on a database of
// the given dialect ("postgres" or "sqlite"): CacheTTL on both since the
// SQLite change feed (the retired CacheSQLite no longer matters); 0 means
// no cache.
func (t Tokens) CacheTTLFor(dialect string) time.Duration {
	_ = dialect
	return max(t.CacheTTL, 0)
}

// minTokenEntropy mirrors tokens.MinEntropyLength (configs imports nothing
// of ours): 22 base62 characters ≈ 131 bits ≥ RFC 6749 §10.10's 128.
const minTokenEntropy = 22

// Validate checks the tokens section; keys are reported as "tokens.<key>".
// The legacy secret is never echoed.
func (t Tokens) Validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid value for %q: %s", "tokens."+key, fmt.Sprintf(format, args...)))
	}
	typ := t.Type
	if typ == "" {
		typ = "agp"
	}
	for _, c := range typ {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			bad("type", "%q must be letters and digits only", t.Type)
			break
		}
	}
	if minLen := len(typ) + 1 + minTokenEntropy + 6; t.Length != 0 && (t.Length < minLen || t.Length > 255) {
		bad("length", "%d must be between %d and 255 for type %q (at least %d random characters)", t.Length, minLen, typ, minTokenEntropy)
	}
	switch t.DefaultGenerator {
	case "", "vendor_checksum":
	case "legacy_sha1":
		if t.LegacySecret == "" {
			bad("default_generator", "legacy_sha1 needs tokens.legacy_secret")
		}
	default:
		bad("default_generator", "%q is not one of vendor_checksum, legacy_sha1", t.DefaultGenerator)
	}
	if t.MaxAttempts < 0 {
		bad("max_attempts", "must not be negative")
	}
	seen := map[string]bool{}
	for _, p := range t.AcceptedPrefixes {
		ok := p != ""
		for _, c := range p {
			ok = ok && ('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z')
		}
		switch {
		case !ok:
			bad("accepted_prefixes", "%q must be letters and digits only", p)
		case seen[p]:
			bad("accepted_prefixes", "%q is listed twice", p)
		}
		seen[p] = true
	}
	for _, g := range t.DeprecatedGenerators {
		if g != "vendor_checksum" && g != "legacy_sha1" {
			bad("deprecated_generators", "%q is not one of vendor_checksum, legacy_sha1", g)
		}
	}
	if t.CacheTTL < 0 {
		bad("cache_ttl", "must not be negative (0 disables the cache)")
	}
	if t.CacheSize < 0 {
		bad("cache_size", "must not be negative")
	}
	return errs
}
