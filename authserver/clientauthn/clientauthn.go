// Package clientauthn decides OAuth2 client authentication (RFC 6749 §2.3)
// from the parts of a request and the client its ID names: which method the
// request used, whether its credentials are well formed, and whether they
// authenticate that client. It does no I/O; the authorization server looks
// the client up, rate-limits, audits and writes the error. See
// docs/go-oauth2.md, "Client authentication".
package clientauthn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
)

// Client authentication methods (RFC 8414 §2 names).
const (
	MethodBasic = "client_secret_basic"
	MethodPost  = "client_secret_post"
	MethodNone  = "none"
)

// RFC 6749 §5.2 error codes a refusal carries.
const (
	CodeInvalidClient  = "invalid_client"
	CodeInvalidRequest = "invalid_request"
)

// Failure is a refusal: its RFC 6749 §5.2 error code and a description
// safe to send to the client (it never repeats a credential).
type Failure struct {
	Code        string
	Description string
}

func (f *Failure) Error() string { return f.Code + ": " + f.Description }

func invalidClient(desc string) *Failure { return &Failure{Code: CodeInvalidClient, Description: desc} }
func invalidRequest(desc string) *Failure {
	return &Failure{Code: CodeInvalidRequest, Description: desc}
}

// Credentials are what a request presented: the client ID, the secret (""
// for none) and the method it used.
type Credentials struct {
	ID     string
	Secret string
	Method string
}

// Parse extracts client credentials from a request's Authorization header
// and its parsed body form. RFC 6749 §2.3.1: HTTP Basic with the
// form-urlencoded ID and secret (URL-decoded here; go-oauth2 does not), or
// client_id and client_secret in the body — never both (RFC 6749 §2.3: one method
// per request); a body client_id next to Basic must name the same client.
// Credentials never come from the query string: the token endpoint refuses
// any query before it gets here.
func Parse(authorization string, form url.Values) (Credentials, *Failure) {
	if authorization != "" {
		return parseBasic(authorization, form)
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if id == "" {
		return Credentials{}, invalidClient("client authentication is required")
	}
	if secret == "" {
		return Credentials{ID: id, Method: MethodNone}, nil
	}
	return Credentials{ID: id, Secret: secret, Method: MethodPost}, nil
}

var errMalformedBasic = invalidClient("malformed Basic credentials")

func parseBasic(authorization string, form url.Values) (Credentials, *Failure) {
	scheme, rest, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return Credentials{}, invalidClient("unsupported client authentication scheme; use Basic")
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return Credentials{}, errMalformedBasic
	}
	u, p, ok := strings.Cut(string(dec), ":")
	if !ok {
		return Credentials{}, errMalformedBasic
	}
	id, e1 := url.QueryUnescape(u)
	secret, e2 := url.QueryUnescape(p)
	if e1 != nil || e2 != nil {
		return Credentials{}, errMalformedBasic
	}
	if _, ok := form["client_secret"]; ok {
		return Credentials{}, invalidRequest("use one client authentication method: Basic or client_secret in the body, not both")
	}
	if b, ok := form["client_id"]; ok && (len(b) != 1 || b[0] != id) {
		return Credentials{}, invalidRequest("client_id in the body differs from the Basic credentials")
	}
	return Credentials{ID: id, Secret: secret, Method: MethodBasic}, nil
}

// Client is what the decision needs of the registered client the
// credentials name.
type Client struct {
	Public   bool
	Disabled bool
	// SecretDigest is the hex SHA-256 digest of a confidential client's
	// secret ("" for a public client).
	SecretDigest string
}

// Authenticate decides whether cred authenticates c (nil: no client has
// that ID) and returns the method it authenticated by. A confidential
// client proves itself by its secret; a public client by its ID alone and
// never with a secret (RFC 6749 §2.1: it cannot keep one, so one sent is a
// confused or forged request). An unknown, disabled or wrongly
// authenticated client is refused alike, and an unknown one still costs a
// digest comparison, so neither the answer nor its timing tells which
// (go-oauth2#106).
func Authenticate(cred Credentials, c *Client) (method string, ok bool) {
	if c == nil {
		DummyCheck(cred.Secret)
		return "", false
	}
	if c.Public {
		if cred.Secret != "" || c.Disabled {
			return "", false
		}
		return MethodNone, true
	}
	if !VerifySecret(c.SecretDigest, cred.Secret) || c.Disabled {
		return "", false
	}
	return cred.Method, true
}

// VerifySecret compares secret with a hex SHA-256 digest in constant time
// (go-oauth2#162: the library compares plaintext with ==). An empty secret
// or digest never verifies.
func VerifySecret(digestHex, secret string) bool {
	if secret == "" || digestHex == "" {
		return false
	}
	want, err := hex.DecodeString(digestHex)
	if err != nil {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// DummyCheck spends the time of one VerifySecret, so that an unknown client
// ID cannot be told from a wrong secret by timing.
func DummyCheck(secret string) {
	got := sha256.Sum256([]byte(secret))
	var zero [sha256.Size]byte
	subtle.ConstantTimeCompare(got[:], zero[:])
}
