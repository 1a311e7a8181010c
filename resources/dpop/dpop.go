package dpop

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/jwk"
)

// Header is the request header carrying a proof, and Scheme the
// Authorization scheme of a DPoP-bound access token (RFC 9449 §4.1, §7.1).
const (
	Header = "DPoP"
	Scheme = "DPoP"
	// TokenType is the token_type of a DPoP-bound access token in a token
	// response (RFC 9449 §5).
	TokenType = "DPoP"
	// ErrorCode is the RFC 9449 §12.2 error of a bad proof.
	ErrorCode = "invalid_dpop_proof"
	proofType = "dpop+jwt"
	maxProof  = 8 << 10
)

// SupportedAlgs are the asymmetric JWS algorithms a proof may use; never
// "none" or a MAC (RFC 9449 §4.3 check 5).
var SupportedAlgs = []string{"ES256", "ES384", "EdDSA", "RS256", "PS256"}

// DefaultAlgs are the algorithms accepted when none are configured.
var DefaultAlgs = []string{"ES256", "EdDSA", "RS256"}

// DefaultMaxAge is the default bound on |now - iat| of a proof.
const DefaultMaxAge = 60 * time.Second

// ErrInvalidProof is wrapped by every Verify error caused by the proof
// itself; the text after it is a short reason safe to show the client.
// Other errors (a replay store that cannot be reached) are server faults.
var ErrInvalidProof = errors.New("invalid DPoP proof")

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidProof, reason) }

// Reason returns the client-facing reason of an ErrInvalidProof error.
func Reason(err error) string {
	s := err.Error()
	if r, ok := strings.CutPrefix(s, ErrInvalidProof.Error()+": "); ok {
		return r
	}
	return "the DPoP proof is invalid"
}

// ReplayStore remembers the proofs already accepted (RFC 9449 §11.1).
type ReplayStore interface {
	// Use records key until exp. fresh is false when key is already
	// recorded and unexpired: the proof is a replay.
	Use(ctx context.Context, key string, exp time.Time) (fresh bool, err error)
}

// Options configure a Verifier.
type Options struct {
	// Algs are the accepted algorithms, a subset of SupportedAlgs; default
	// DefaultAlgs.
	Algs []string
	// MaxAge bounds how far a proof's iat may be from now, either way
	// (RFC 9449 §4.3 check 11, §11.1); default DefaultMaxAge.
	MaxAge time.Duration
	// Replay remembers accepted proofs; default an in-memory store (right
	// only for a single process).
	Replay ReplayStore
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// Verifier checks DPoP proofs. It is safe for concurrent use.
type Verifier struct {
	algs   []string
	maxAge time.Duration
	replay ReplayStore
	now    func() time.Time
	parser *jwt.Parser
	policy jwk.Policy
}

// NewVerifier checks opts and returns a Verifier.
func NewVerifier(opts Options) (*Verifier, error) {
	if len(opts.Algs) == 0 {
		opts.Algs = DefaultAlgs
	}
	for _, a := range opts.Algs {
		if !slices.Contains(SupportedAlgs, a) {
			return nil, fmt.Errorf("dpop: algorithm %q is not one of %s", a, strings.Join(SupportedAlgs, ", "))
		}
	}
	if opts.MaxAge < 0 {
		return nil, errors.New("dpop: MaxAge must not be negative")
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Replay == nil {
		opts.Replay = NewMemoryReplayStore(0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{
		algs: slices.Clone(opts.Algs), maxAge: opts.MaxAge, replay: opts.Replay, now: opts.Now,
		// Claims are checked by hand below (iat both ways, no exp).
		parser: jwt.NewParser(jwt.WithValidMethods(opts.Algs), jwt.WithoutClaimsValidation()),
		policy: jwk.Policy{Algs: slices.Clone(opts.Algs)},
	}, nil
}

// Algs returns the accepted algorithms (dpop_signing_alg_values_supported,
// RFC 9449 §5.1; the algs challenge parameter, §7.1).
func (v *Verifier) Algs() []string { return slices.Clone(v.algs) }

// Request is what a proof must match.
type Request struct {
	// Method is the HTTP method (htm).
	Method string
	// URL is the request's URL without query or fragment (htu), built from
	// the server's configured public URL, never from the Host header alone.
	URL string
	// AccessToken, when not empty, is the token the proof must be bound to
	// with ath = base64url(SHA-256(token)) (RFC 9449 §4.3 check 12). Leave it
	// empty at the token endpoint.
	AccessToken string
}

// Proof is a verified proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint (base64url) of the proof key.
	JKT      string
	JTI      string
	IssuedAt time.Time

	replayKey string    // hex SHA-256 of thumbprint and jti
	replayExp time.Time // when the replay record may be forgotten
}

type claims struct {
	jwt.RegisteredClaims
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Verify applies the checks of RFC 9449 §4.3 to one proof (the caller has
// checked there is exactly one DPoP header) and records its jti: Check,
// then Record.
func (v *Verifier) Verify(ctx context.Context, proof string, req Request) (*Proof, error) {
	p, err := v.Check(proof, req)
	if err != nil {
		return nil, err
	}
	if err := v.Record(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Record accepts a checked proof once (RFC 9449 §11.1): it writes the
// proof's jti to the replay store, and fails with ErrInvalidProof when it
// is already there. A server calls it only once everything else about the
// request's credentials is accepted (the access token, its binding to the
// proof key), so that junk requests write nothing. See
// docs/resource-servers.md, "DPoP".
func (v *Verifier) Record(ctx context.Context, p *Proof) error {
	if p == nil || p.replayKey == "" {
		return invalid("the DPoP proof was not checked")
	}
	fresh, err := v.replay.Use(ctx, p.replayKey, p.replayExp)
	if err != nil {
		return fmt.Errorf("dpop replay check: %w", err)
	}
	if !fresh {
		return invalid("the DPoP proof was already used (jti replay)")
	}
	return nil
}

// Check applies the checks of RFC 9449 §4.3 to one proof except the replay
// check, without I/O; Record completes it.
func (v *Verifier) Check(proof string, req Request) (*Proof, error) {
	if proof == "" {
		return nil, invalid("the DPoP header is empty")
	}
	if len(proof) > maxProof {
		return nil, invalid("the DPoP proof is too large")
	}
	var (
		c   claims
		jkt string
	)
	// Checks 2-7: a JWS with typ dpop+jwt, an accepted asymmetric alg, a
	// public jwk, and a signature valid under that key.
	_, err := v.parser.ParseWithClaims(proof, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != proofType {
			return nil, errors.New("typ is not dpop+jwt")
		}
		raw, ok := t.Header["jwk"]
		if !ok {
			return nil, errors.New("no jwk header")
		}
		key, thumb, err := v.parseJWK(raw, t.Method.Alg())
		if err != nil {
			return nil, err
		}
		jkt = thumb
		return key, nil
	})
	if err != nil {
		return nil, invalid(proofError(err))
	}
	// Check 8: htm.
	if c.HTM != req.Method {
		return nil, invalid("htm does not match the request method")
	}
	// Check 9: htu, without query and fragment, after syntax-based
	// normalisation (RFC 3986 §6.2.2, §6.2.3).
	want, err1 := normalizeURL(req.URL)
	got, err2 := normalizeURL(c.HTU)
	if err1 != nil || err2 != nil || got != want {
		return nil, invalid("htu does not match the request URL")
	}
	// Check 11: iat within the window, both ways.
	if c.IssuedAt == nil {
		return nil, invalid("iat is missing")
	}
	now := v.now()
	iat := c.IssuedAt.Time
	if iat.Before(now.Add(-v.maxAge)) || iat.After(now.Add(v.maxAge)) {
		return nil, invalid("iat is outside the acceptable window")
	}
	if c.ID == "" || len(c.ID) > 256 {
		return nil, invalid("jti is missing or too long")
	}
	// Check 12: ath when the proof accompanies an access token.
	if req.AccessToken != "" {
		sum := sha256.Sum256([]byte(req.AccessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, invalid("ath does not match the access token")
		}
	}
	// §11.1: a proof is accepted once. The key is the thumbprint and jti,
	// so two clients cannot collide; it is kept until iat could no longer
	// pass the window check.
	key := sha256.Sum256([]byte(jkt + "\x00" + c.ID))
	exp := iat.Add(v.maxAge)
	if exp.Before(now) {
		exp = now
	}
	return &Proof{JKT: jkt, JTI: c.ID, IssuedAt: iat.UTC(),
		replayKey: hex.EncodeToString(key[:]), replayExp: exp.Add(time.Second)}, nil
}

// proofError turns a parse error into a short reason for the client.
func proofError(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the DPoP proof is not a well-formed JWT"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if strings.Contains(err.Error(), "signing method") {
			return "the DPoP proof algorithm is not accepted"
		}
		return "the DPoP proof signature is invalid"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// Our keyfunc's refusals come last; their texts hold no secret.
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			return "the DPoP proof header is unacceptable: " + msg[i+2:]
		}
		return "the DPoP proof header is unacceptable"
	}
	return "the DPoP proof is invalid"
}

// normalizeURL drops query and fragment and lower-cases scheme and host,
// removing a default port.
func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", errors.New("not an absolute URL")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// parseJWK turns the jwk header into a public key usable with alg and its
// RFC 7638 thumbprint. internal/jwk applies the key rules: public members
// only (RFC 9449 §4.3 check 6), a kty and crv that fit alg, RSA size and
// exponent bounds. See docs/security.md, "JWK rules".
func (v *Verifier) parseJWK(raw any, alg string) (crypto.PublicKey, string, error) {
	buf, err := json.Marshal(raw)
	if err != nil {
		return nil, "", errors.New("jwk is not a JSON object")
	}
	k, err := v.policy.Parse(buf, alg)
	if err != nil {
		return nil, "", err
	}
	return k.Public, k.Thumbprint, nil
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint (base64url) of an
// Ed25519, ECDSA (P-256, P-384) or RSA public key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	t, err := jwk.Thumbprint(pub)
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	return t, nil
}

// PublicJWK returns the public JWK members of a key and the algorithm a
// proof signed with it uses (for clients and tests).
func PublicJWK(pub crypto.PublicKey) (map[string]any, string, error) {
	j, err := jwk.Encode(pub)
	if err != nil {
		return nil, "", fmt.Errorf("dpop: %w", err)
	}
	switch j.Kty {
	case "OKP":
		return map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X}, jwk.EdDSA, nil
	case "EC":
		alg := jwk.ES256
		if j.Crv == "P-384" {
			alg = jwk.ES384
		}
		return map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X, "y": j.Y}, alg, nil
	}
	return map[string]any{"kty": j.Kty, "n": j.N, "e": j.E}, jwk.RS256, nil
}

// AccessTokenHash is the ath of a proof for token (RFC 9449 §4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return enc(sum[:])
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
