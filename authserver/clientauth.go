package authserver

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Client authentication methods (RFC 8414 §2 names).
const (
	AuthMethodBasic = "client_secret_basic"
	AuthMethodPost  = "client_secret_post"
	AuthMethodNone  = "none"
)

// reqState carries what one token-endpoint request learned, from our gin
// handler through go-oauth2's hooks (which get no request) to our manager.
type reqState struct {
	client *Client
	method string
	// jkt is the thumbprint of the key of the request's verified DPoP
	// proof ("" without one): the tokens issued are bound to it.
	jkt string
	// idToken is the OpenID Connect ID token of the token response ("" for
	// none), set once the grant's tokens are stored.
	idToken string
}

type stateKey struct{}

func withState(ctx context.Context) (context.Context, *reqState) {
	st := &reqState{}
	return context.WithValue(ctx, stateKey{}, st), st
}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// authenticatedClient returns the client this request authenticated as.
func authenticatedClient(ctx context.Context) (*Client, error) {
	if st := stateFrom(ctx); st != nil && st.client != nil {
		return st.client, nil
	}
	return nil, errClientAuthFailed
}

// clientCredentials extracts client credentials from r, whose body form is
// already parsed. RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded ID and
// secret (URL-decoded here; go-oauth2 does not:
// docs/go-oauth2.md, "Client authentication"), or client_id and
// client_secret in the body — never both (§2.3: one method per request) and
// never from the query string (the token endpoint refuses any query).
func clientCredentials(r *http.Request) (id, secret, method string, err error) {
	form := r.PostForm
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return "", "", "", oerr(codeInvalidClient, "unsupported client authentication scheme; use Basic")
		}
		dec, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if derr != nil {
			return "", "", "", oerr(codeInvalidClient, "malformed Basic credentials")
		}
		u, p, ok := strings.Cut(string(dec), ":")
		if !ok {
			return "", "", "", oerr(codeInvalidClient, "malformed Basic credentials")
		}
		var e1, e2 error
		id, e1 = url.QueryUnescape(u)
		secret, e2 = url.QueryUnescape(p)
		if e1 != nil || e2 != nil {
			return "", "", "", oerr(codeInvalidClient, "malformed Basic credentials")
		}
		if _, ok := form["client_secret"]; ok {
			return "", "", "", oerr(codeInvalidRequest, "use one client authentication method: Basic or client_secret in the body, not both")
		}
		if b, ok := form["client_id"]; ok && (len(b) != 1 || b[0] != id) {
			return "", "", "", oerr(codeInvalidRequest, "client_id in the body differs from the Basic credentials")
		}
		return id, secret, AuthMethodBasic, nil
	}
	id, secret = form.Get("client_id"), form.Get("client_secret")
	if id == "" {
		return "", "", "", oerr(codeInvalidClient, "client authentication is required")
	}
	if secret == "" {
		return id, "", AuthMethodNone, nil
	}
	return id, secret, AuthMethodPost, nil
}

// authenticateClient identifies and authenticates the client of r: a
// confidential client by its secret (SHA-256 digest, constant time), a
// public client by client_id alone and never with a secret. An unknown,
// disabled or wrongly authenticated client all get the same invalid_client;
// an authenticated one then spends a call of its rate limit.
func (s *Server) authenticateClient(r *http.Request) (*Client, string, string, error) {
	id, secret, method, err := clientCredentials(r)
	if err != nil {
		return nil, "", "", err
	}
	c, err := s.Clients.GetClient(r.Context(), id)
	if errors.Is(err, ErrClientNotFound) {
		dummySecretCheck(secret)
		return nil, "", "", errClientAuthFailed
	}
	if err != nil {
		return nil, "", "", err
	}
	if c.Public {
		if secret != "" || c.Disabled() {
			return nil, "", "", errClientAuthFailed
		}
		if err := s.admitClient(c); err != nil {
			return nil, "", "", err
		}
		return c, "", AuthMethodNone, nil
	}
	ok := c.VerifySecret(secret)
	if !ok || c.Disabled() {
		return nil, "", "", errClientAuthFailed
	}
	if err := s.admitClient(c); err != nil {
		return nil, "", "", err
	}
	return c, secret, method, nil
}

// clientInfoHandler is go-oauth2's ClientInfoHandler. It fully
// authenticates the client for every grant, refresh included
// (docs/go-oauth2.md, "Refresh tokens";
// docs/go-oauth2.md, "Findings and their tests", finding 1), and records it
// for the manager.
func (s *Server) clientInfoHandler(r *http.Request) (string, string, error) {
	c, secret, method, err := s.authenticateClient(r)
	if err != nil {
		return "", "", err
	}
	if st := stateFrom(r.Context()); st != nil {
		st.client, st.method = c, method
	}
	return c.ID, secret, nil
}
