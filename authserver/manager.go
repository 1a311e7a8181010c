package authserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	oerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/manage"

	"github.com/authgate/authgate/authserver/grants"
)

// manager implements go-oauth2's oauth2.Manager around *manage.Manager
// (docs/go-oauth2.md, "Hooks authgate replaces", item 4). The library's
// manager keeps doing what is safe — building
// codes for /oauth/authorize and client_credentials tokens from our stores
// and generators — while code redemption and refresh, which it does in
// several non-transactional steps without client binding, replay or reuse
// detection (docs/go-oauth2.md, "Findings and their tests", findings 1, 2, 5,
// 7), are ours, each in one transaction.
type manager struct {
	s     *Server
	inner *manage.Manager
}

var _ oauth2.Manager = (*manager)(nil)

// clientStoreAdapter is go-oauth2's ClientStore over our ClientStore. It
// returns (nil, nil) for an unknown or disabled client, which the library
// maps to invalid_client; a plain "not found" error would be a 500
// (docs/go-oauth2.md, "Store contracts", go-oauth2#106).
type clientStoreAdapter struct{ s *Server }

func (a clientStoreAdapter) GetByID(ctx context.Context, id string) (oauth2.ClientInfo, error) {
	c, err := a.s.lookupClient(ctx, id)
	if err != nil || c == nil {
		return nil, err
	}
	return clientInfo{c}, nil
}

// lookupClient returns an enabled client, preferring the one this request
// already authenticated; (nil, nil) if unknown or disabled.
func (s *Server) lookupClient(ctx context.Context, id string) (*Client, error) {
	if st := stateFrom(ctx); st != nil && st.client != nil && st.client.ID == id {
		return st.client, nil
	}
	c, err := s.Clients.GetClient(ctx, id)
	if errors.Is(err, ErrClientNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c.Disabled() {
		return nil, nil
	}
	return c, nil
}

// GetClient implements oauth2.Manager.
func (m *manager) GetClient(ctx context.Context, id string) (oauth2.ClientInfo, error) {
	c, err := m.s.lookupClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, oerrors.ErrInvalidClient
	}
	return clientInfo{c}, nil
}

// GenerateAuthToken implements oauth2.Manager for /oauth/authorize. The web
// handler validates the request before calling the library
// (docs/go-oauth2.md, "Hooks authgate replaces", item 1);
// this repeats the security checks with the full client record as a second
// line, then lets the library build and store the code.
func (m *manager) GenerateAuthToken(ctx context.Context, rt oauth2.ResponseType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if rt != oauth2.Code {
		return nil, oerrors.ErrUnsupportedResponseType // no implicit grant (RFC 9700 §2.1.2)
	}
	c, err := m.s.lookupClient(ctx, tgr.ClientID)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, oerrors.ErrInvalidClient
	}
	if !c.AllowsGrant(GrantAuthorizationCode) {
		return nil, oerrors.ErrUnauthorizedClient
	}
	switch {
	case tgr.RedirectURI == "" && len(c.RedirectURIs) == 1:
		// RFC 6749 §3.1.2.3: may be omitted when exactly one is registered.
		// The code stores the URI it will be delivered to.
		tgr.RedirectURI = c.RedirectURIs[0]
	case !c.RedirectURIAllowed(tgr.RedirectURI):
		return nil, errInvalidRedirectURI
	}
	if err := m.s.checkChallenge(c, tgr.CodeChallenge, string(tgr.CodeChallengeMethod)); err != nil {
		return nil, err
	}
	if _, err := m.s.requestedScope(c, tgr.Scope); err != nil {
		return nil, oerrors.ErrInvalidScope
	}
	if tgr.CodeChallenge != "" {
		// docs/security.md, "RFC 9700 and OAuth 2.1 rules": spot constant PKCE challenges. A client
		// that sends a challenge it has sent before has a fixed verifier,
		// which protects nothing.
		seen, err := m.s.Tokens.ChallengeSeen(ctx, c.ID, tgr.CodeChallenge)
		if err != nil {
			return nil, err
		}
		if seen {
			return nil, oerrors.ErrInvalidRequest
		}
	}
	return m.inner.GenerateAuthToken(ctx, rt, tgr)
}

// checkChallenge enforces the PKCE policy on an authorization request:
// S256 only (plain only when configured), required for public clients and,
// unless allow_confidential_without_pkce, for every client (RFC 9700 §2.1.1,
// docs/go-oauth2.md, "Findings and their tests", finding 6).
func (s *Server) checkChallenge(c *Client, challenge, method string) error {
	if challenge == "" {
		if c.Public || !s.cfg.AllowConfidentialWithoutPKCE {
			return oerrors.ErrCodeChallengeRquired
		}
		return nil
	}
	if !validPKCEValue(challenge) {
		return oerrors.ErrInvalidCodeChallengeLen
	}
	switch method {
	case string(oauth2.CodeChallengeS256):
		return nil
	case string(oauth2.CodeChallengePlain):
		if s.cfg.AllowPlainPKCE {
			return nil
		}
	}
	return oerrors.ErrUnsupportedCodeChallengeMethod
}

// validPKCEValue checks RFC 7636 §4.1's grammar (grants.ValidPKCEValue).
var validPKCEValue = grants.ValidPKCEValue

// GenerateAccessToken implements oauth2.Manager for the code and
// client_credentials grants.
func (m *manager) GenerateAccessToken(ctx context.Context, gt oauth2.GrantType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	switch gt {
	case oauth2.AuthorizationCode:
		return m.s.grants.code.handle(ctx, tgr)
	case oauth2.ClientCredentials:
		return m.s.grants.client.handle(ctx, m.inner, tgr)
	}
	return nil, oerr(codeUnsupportedGrantType, "the grant type is not supported")
}

// RefreshAccessToken implements oauth2.Manager.
func (m *manager) RefreshAccessToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	return m.s.grants.refresh.handle(ctx, tgr)
}

// RemoveAccessToken implements oauth2.Manager.
func (m *manager) RemoveAccessToken(ctx context.Context, access string) error {
	return m.s.Tokens.RemoveByAccess(ctx, access)
}

// RemoveRefreshToken implements oauth2.Manager.
func (m *manager) RemoveRefreshToken(ctx context.Context, refresh string) error {
	return m.s.Tokens.RemoveByRefresh(ctx, refresh)
}

// LoadAccessToken implements oauth2.Manager.
func (m *manager) LoadAccessToken(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	return m.inner.LoadAccessToken(ctx, access)
}

// LoadRefreshToken implements oauth2.Manager.
func (m *manager) LoadRefreshToken(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	return m.inner.LoadRefreshToken(ctx, refresh)
}

// codeGenerator is go-oauth2's AuthorizeGenerate: agac_ codes with 256 bits
// from crypto/rand (docs/go-oauth2.md, "Token generation" recommends replacing
// the UUID construction).
type codeGenerator struct{}

func (codeGenerator) Token(context.Context, *oauth2.GenerateBasic) (string, error) {
	return newOpaque(PrefixCode)
}

func newGrantID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate grant ID: %w", err)
	}
	return b64(b[:]), nil
}

type codeExtensionKey struct{}

// WithCodeExtension returns a context whose authorization code (issued by
// the go-oauth2 server for a request carrying this context) stores values;
// they are carried to every token of the grant. Keys starting with
// "authgate_" are reserved.
func WithCodeExtension(ctx context.Context, values url.Values) context.Context {
	return context.WithValue(ctx, codeExtensionKey{}, values)
}

// extractExtension is go-oauth2's ExtractExtensionHandler: every new grant
// (a code, or a client_credentials token) gets a fresh grant ID, the handle
// by which a replay or reuse revokes the family.
func (s *Server) extractExtension(tgr *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
	ext := ti.GetExtension()
	if ext == nil {
		ext = url.Values{}
	}
	if tgr.Request != nil {
		if extra, ok := tgr.Request.Context().Value(codeExtensionKey{}).(url.Values); ok {
			for k, v := range extra {
				if !strings.HasPrefix(k, "authgate_") {
					ext[k] = v
				}
			}
		}
	}
	if tgr.Request != nil {
		// A new grant's audience, decided before go-oauth2 was called
		// (resolveAudience); the code and its tokens carry it.
		if aud := audienceFrom(tgr.Request.Context()); len(aud) > 0 {
			ext[extAudience] = aud
		}
	}
	if ext.Get(extGrantID) == "" {
		id, err := newGrantID()
		if err != nil {
			// crypto/rand does not fail on supported platforms; an empty
			// ID makes the store refuse the record rather than share one.
			id = ""
		}
		ext.Set(extGrantID, id)
		ext.Set(extGrantCreatedAt, s.now().UTC().Format(time.RFC3339Nano))
	}
	ti.SetExtension(ext)
}
