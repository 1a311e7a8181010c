package authserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/authgate/authgate/authserver/clientauthn"
)

// Client authentication methods (RFC 8414 §2 names).
const (
	AuthMethodBasic = clientauthn.MethodBasic
	AuthMethodPost  = clientauthn.MethodPost
	AuthMethodNone  = clientauthn.MethodNone
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

// authenticateClient identifies and authenticates the client of r, whose
// body form is already parsed. clientauthn decides (the method, Basic vs
// body, a confidential client by its secret's digest in constant time, a
// public client by client_id alone and never with a secret); this looks the
// client up and, once it has authenticated, spends a call of its rate
// limit. An unknown, disabled or wrongly authenticated client all get the
// same invalid_client.
func (s *Server) authenticateClient(r *http.Request) (*Client, string, string, error) {
	cred, f := clientauthn.Parse(r.Header.Get("Authorization"), r.PostForm)
	if f != nil {
		return nil, "", "", oerr(f.Code, f.Description)
	}
	c, err := s.Clients.GetClient(r.Context(), cred.ID)
	var found *clientauthn.Client
	switch {
	case errors.Is(err, ErrClientNotFound):
		// found stays nil: Authenticate refuses after a dummy digest
		// comparison, so timing does not tell an unknown ID.
	case err != nil:
		return nil, "", "", err
	default:
		v := c.Authn()
		found = &v
	}
	method, ok := clientauthn.Authenticate(cred, found)
	if !ok {
		return nil, "", "", errClientAuthFailed
	}
	if err := s.admitClient(c); err != nil {
		return nil, "", "", err
	}
	if method == AuthMethodNone {
		return c, "", method, nil
	}
	return c, cred.Secret, method, nil
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
