package configs

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OAuth configures the OAuth2 authorization server (package authserver).
// A zero duration or empty string means the built-in default.
type OAuth struct {
	// Issuer is the authorization server's identifier (RFC 8414 §2): the
	// base URL clients reach it at; https, or http only on a loopback host.
	Issuer string `koanf:"issuer"`
	// Audience is the aud of access tokens, the resource servers they are
	// for (RFC 9068 §3); default the issuer.
	Audience string `koanf:"audience"`
	// CodeTTL is the authorization code lifetime (RFC 6749 §4.1.2: ≤ 10 min).
	CodeTTL time.Duration `koanf:"code_ttl"`
	// AccessTokenTTL is the access token lifetime.
	AccessTokenTTL time.Duration `koanf:"access_token_ttl"`
	// RefreshTokenTTL is the absolute lifetime of a refresh-token family,
	// counted from the authorization.
	RefreshTokenTTL time.Duration `koanf:"refresh_token_ttl"`
	// RefreshIdleTTL expires a refresh token not used for this long (RFC
	// 9700 §4.14.2).
	RefreshIdleTTL time.Duration `koanf:"refresh_idle_ttl"`
	// AllowConfidentialWithoutPKCE lets confidential clients omit PKCE
	// (public clients always need it). The zero value requires PKCE from
	// every client (OAuth 2.1, RFC 9700 §2.1.1). It replaces
	// require_pkce_all, inverted, which still works (configs/renamed.go).
	AllowConfidentialWithoutPKCE bool `koanf:"allow_confidential_without_pkce"`
	// AllowPlainPKCE accepts code_challenge_method=plain (RFC 9700 §2.1.1
	// says S256; keep false).
	AllowPlainPKCE bool `koanf:"allow_plain_pkce"`
	// AccessTokenFormat is "jwt" (RFC 9068, verified locally by resource
	// servers) or "opaque" (looked up or introspected).
	AccessTokenFormat string `koanf:"access_token_format"`
	// SigningAlg is the algorithm of new signing keys: EdDSA, RS256, ES256.
	SigningAlg string `koanf:"signing_alg"`
	// KeyPublishDelay is how long `authgate key rotate` publishes a new key
	// before it signs; longer than any resource server caches the JWKS.
	KeyPublishDelay time.Duration `koanf:"key_publish_delay"`
	// RevocationReload is how often every instance reloads its in-memory
	// revocation state whole, the bound on how late it learns of a
	// revocation whose notice was lost (docs/security.md, "Revocation
	// bound"); 0: 30s.
	RevocationReload time.Duration `koanf:"revocation_reload"`
	// DPoP configures sender-constrained tokens (RFC 9449).
	DPoP DPoP `koanf:"dpop"`
	// KeyEncryptionKey encrypts the signing keys at rest (AES-256-GCM): 32
	// bytes in base64 or hex. Set it from the environment
	// (AUTHGATE_OAUTH__KEY_ENCRYPTION_KEY), never in a file; or use
	// KeyEncryptionKeyFile. Empty: keys are stored as PEM.
	KeyEncryptionKey string `koanf:"key_encryption_key"`
	// KeyEncryptionKeyFile names a file holding the key-encryption key.
	KeyEncryptionKeyFile string `koanf:"key_encryption_key_file"`
	// PreviousKeyEncryptionKeyFile names a file holding the key-encryption
	// key being replaced: keys sealed with it still load until `authgate
	// key encrypt` re-seals them. Empty: none.
	PreviousKeyEncryptionKeyFile string `koanf:"previous_key_encryption_key_file"`
}

// DPoP configures DPoP (RFC 9449). Clients that send no DPoP header get
// Bearer tokens as before; the zero value turns DPoP off.
type DPoP struct {
	// Enabled accepts DPoP proofs at the token endpoint (binding the tokens
	// issued) and the DPoP scheme on protected resources. A token already
	// bound stays bound (refused as Bearer) even when this is off.
	Enabled bool `koanf:"enabled"`
	// ProofMaxAge bounds how far a proof's iat may be from the server's
	// clock, either way (RFC 9449 §11.1); default 60s, at most 10m.
	ProofMaxAge time.Duration `koanf:"proof_max_age"`
	// SigningAlgs are the proof algorithms accepted; default ES256, EdDSA,
	// RS256 (also possible: ES384, PS256). Never none or HMAC.
	SigningAlgs []string `koanf:"signing_algs"`
}

// dpopAlgs are the algorithms oauth.dpop.signing_algs may name (those of
// package resources/dpop, which configs must not import).
var dpopAlgs = []string{"ES256", "ES384", "EdDSA", "RS256", "PS256"}

// Validate checks the OAuth section; keys are reported as "oauth.<key>".
func (o OAuth) Validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid value for %q: %s", "oauth."+key, fmt.Sprintf(format, args...)))
	}
	if o.Issuer != "" {
		u, err := url.Parse(o.Issuer)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "":
			bad("issuer", "%q is not an absolute URL", o.Issuer)
		case u.RawQuery != "" || u.Fragment != "":
			bad("issuer", "%q must not have a query or fragment (RFC 8414 §2)", o.Issuer)
		case u.Scheme == "http":
			h := u.Hostname()
			ip := net.ParseIP(h)
			if h != "localhost" && (ip == nil || !ip.IsLoopback()) {
				bad("issuer", "%q: http is allowed only on a loopback host; use https", o.Issuer)
			}
		case u.Scheme != "https":
			bad("issuer", "%q must be an https URL", o.Issuer)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"code_ttl", o.CodeTTL}, {"access_token_ttl", o.AccessTokenTTL}, {"refresh_token_ttl", o.RefreshTokenTTL},
		{"refresh_idle_ttl", o.RefreshIdleTTL}, {"key_publish_delay", o.KeyPublishDelay}, {"revocation_reload", o.RevocationReload}} {
		if d.v < 0 {
			bad(d.key, "must not be negative")
		}
	}
	if o.RevocationReload > 10*time.Minute {
		bad("revocation_reload", "must be at most 10m: it bounds how late a revocation reaches every instance")
	}
	if o.CodeTTL > 10*time.Minute {
		bad("code_ttl", "must be at most 10m (RFC 6749 §4.1.2)")
	}
	if o.AccessTokenFormat != "" && o.AccessTokenFormat != "jwt" && o.AccessTokenFormat != "opaque" {
		bad("access_token_format", "%q is not one of jwt, opaque", o.AccessTokenFormat)
	}
	if o.SigningAlg != "" && !slices.Contains([]string{"EdDSA", "RS256", "ES256"}, o.SigningAlg) {
		bad("signing_alg", "%q is not one of EdDSA, RS256, ES256", o.SigningAlg)
	}
	if o.DPoP.ProofMaxAge < 0 || o.DPoP.ProofMaxAge > 10*time.Minute {
		bad("dpop.proof_max_age", "must be between 0 (default 60s) and 10m")
	}
	if o.KeyEncryptionKey != "" {
		// Checked here so a bad key stops start-up; the file is read later.
		if _, err := o.KeyEncryptionKeyBytes(); err != nil {
			errs = append(errs, err)
		}
	} else if o.KeyEncryptionKeyFile != "" && strings.TrimSpace(o.KeyEncryptionKeyFile) == "" {
		bad("key_encryption_key_file", "must not be blank")
	}
	for _, a := range o.DPoP.SigningAlgs {
		if !slices.Contains(dpopAlgs, a) {
			bad("dpop.signing_algs", "%q is not one of ES256, ES384, EdDSA, RS256, PS256", a)
		}
	}
	return errs
}
