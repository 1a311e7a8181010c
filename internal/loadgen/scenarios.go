package loadgen

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Credentials are what the scenarios authenticate with. Secrets come from
// files or --setup, never from the command line.
type Credentials struct {
	// ClientID and ClientSecret: a confidential client allowed the grants
	// the scenario uses (client_credentials; authorization_code and
	// refresh_token for authorize and refresh).
	ClientID, ClientSecret string
	// IntrospectClientID and IntrospectClientSecret authenticate the
	// introspect scenario's calls (empty: the client above, which a
	// compliant server lets introspect its own tokens; authgate lets a
	// resource server introspect any token).
	IntrospectClientID, IntrospectClientSecret string
	// Scope requested in every grant, e.g. "session:read".
	Scope string
	// RedirectURI registered for the client (authorize, refresh). The
	// generator never connects to it: the flow stops at the redirect.
	RedirectURI string
	// Username and Password sign in through the login form.
	Username, Password string
	// APIToken authenticates the api-token scenario.
	APIToken string
	// SessionPath is the protected resource of the bearer and api-token
	// scenarios, relative to the target.
	SessionPath string
}

// Scenarios lists the scenario names New accepts.
var Scenarios = []string{"token", "introspect", "refresh", "api-token", "bearer", "authorize"}

// New builds the named scenario against t. freshSession makes every
// authorize flow a new browser that signs in again (otherwise each worker
// signs in on its first flow and keeps its session cookie).
func New(name string, t *Target, cr Credentials, freshSession bool) (Scenario, error) {
	if cr.SessionPath == "" {
		cr.SessionPath = "/api/session/"
	}
	if cr.IntrospectClientID == "" {
		cr.IntrospectClientID, cr.IntrospectClientSecret = cr.ClientID, cr.ClientSecret
	}
	need := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("scenario %s needs %s", name, what)
		}
		return nil
	}
	client := need(cr.ClientID != "" && cr.ClientSecret != "", "--client-id and --client-secret-file (or --setup)")
	user := need(cr.Username != "" && cr.Password != "" && cr.RedirectURI != "",
		"--username, --password-file and --redirect-uri (or --setup)")
	c := &common{t: t, cr: cr}
	switch name {
	case "token":
		return &tokenScenario{c}, client
	case "introspect":
		return &introspectScenario{common: c}, client
	case "bearer":
		return &bearerScenario{common: c}, client
	case "api-token":
		return &apiTokenScenario{c}, need(cr.APIToken != "", "--api-token-file (or --setup)")
	case "refresh":
		return &refreshScenario{common: c}, errors.Join(client, user)
	case "authorize":
		return &authorizeScenario{common: c, fresh: freshSession}, errors.Join(client, user)
	}
	return nil, fmt.Errorf("unknown scenario %q (one of %s)", name, strings.Join(Scenarios, ", "))
}

// common holds what every scenario shares.
type common struct {
	t  *Target
	cr Credentials
}

// discover fetches the metadata once and checks the endpoint the scenario
// needs is there.
func (c *common) discover(ctx context.Context, needs ...string) error {
	if c.t.Metadata.TokenEndpoint == "" {
		if err := c.t.Discover(ctx); err != nil {
			return err
		}
	}
	for _, n := range needs {
		if n == "introspection_endpoint" && c.t.Metadata.IntrospectionEndpoint == "" ||
			n == "authorization_endpoint" && c.t.Metadata.AuthorizationEndpoint == "" {
			return fmt.Errorf("the server's metadata has no %s", n)
		}
	}
	return nil
}

// basic is the HTTP Basic header of a client: RFC 6749 §2.3.1 form-encodes
// id and secret before joining them.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// tokenResponse is the part of RFC 6749 §5.1 the scenarios use.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// tokenRequest POSTs form to the token endpoint as the main client.
func (c *common) tokenRequest(ctx context.Context, hc *http.Client, form url.Values) (int, tokenResponse, error) {
	var tr tokenResponse
	status, err := c.postJSON(ctx, hc, c.t.Metadata.TokenEndpoint, basic(c.cr.ClientID, c.cr.ClientSecret), form, &tr)
	if err == nil && tr.AccessToken == "" {
		err = errors.New("token response without access_token")
	}
	return status, tr, err
}

// postJSON POSTs a form and decodes a 200 JSON answer into v.
func (c *common) postJSON(ctx context.Context, hc *http.Client, endpoint, auth string, form url.Values, v any) (int, error) {
	return c.postEncoded(ctx, hc, endpoint, auth, form.Encode(), v)
}

// postEncoded is postJSON with the form already encoded (a scenario that
// sends the same form every time encodes it once).
func (c *common) postEncoded(ctx context.Context, hc *http.Client, endpoint, auth, body string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", auth)
	return do(hc, req, v)
}

// do sends req and, on 200, decodes JSON into v (when not nil). The body is
// always drained so the connection goes back to the pool.
func do(hc *http.Client, req *http.Request, v any) (int, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, statusError(resp)
	}
	if v != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", req.URL.Path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *common) clientCredentials(ctx context.Context) (int, tokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.cr.Scope != "" {
		form.Set("scope", c.cr.Scope)
	}
	return c.tokenRequest(ctx, c.t.HTTP, form)
}

// tokenScenario: client_credentials with HTTP Basic client authentication.
type tokenScenario struct{ *common }

func (s *tokenScenario) Prepare(ctx context.Context, _ int) error { return s.discover(ctx) }

func (s *tokenScenario) Do(ctx context.Context, _ int) (int, error) {
	status, _, err := s.clientCredentials(ctx)
	return status, err
}

// introspectScenario introspects one valid access token (RFC 7662).
type introspectScenario struct {
	*common
	token      string
	auth, body string // the Authorization header and form, built once
}

func (s *introspectScenario) Prepare(ctx context.Context, _ int) error {
	if err := s.discover(ctx, "introspection_endpoint"); err != nil {
		return err
	}
	_, tr, err := s.clientCredentials(ctx)
	if err != nil {
		return fmt.Errorf("get a token to introspect: %w", err)
	}
	s.token = tr.AccessToken
	s.auth = basic(s.cr.IntrospectClientID, s.cr.IntrospectClientSecret)
	s.body = url.Values{"token": {s.token}, "token_type_hint": {"access_token"}}.Encode()
	if st, err := s.Do(ctx, 0); err != nil {
		return fmt.Errorf("trial introspection (status %d): %w", st, err)
	}
	return nil
}

func (s *introspectScenario) Do(ctx context.Context, _ int) (int, error) {
	var v struct {
		Active bool `json:"active"`
	}
	status, err := s.postEncoded(ctx, s.t.HTTP, s.t.Metadata.IntrospectionEndpoint, s.auth, s.body, &v)
	if err == nil && !v.Active {
		err = errors.New("introspection says the token is not active")
	}
	return status, err
}

// getResource GETs the session resource with an Authorization header.
func (c *common) getResource(ctx context.Context, auth string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.t.URL(c.cr.SessionPath), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", auth)
	return do(c.t.HTTP, req, nil)
}

// bearerScenario: GET the session resource with a JWT access token
// (RFC 6750).
type bearerScenario struct {
	*common
	auth string
}

func (s *bearerScenario) Prepare(ctx context.Context, _ int) error {
	if err := s.discover(ctx); err != nil {
		return err
	}
	_, tr, err := s.clientCredentials(ctx)
	if err != nil {
		return fmt.Errorf("get an access token: %w", err)
	}
	s.auth = "Bearer " + tr.AccessToken
	return nil
}

func (s *bearerScenario) Do(ctx context.Context, _ int) (int, error) {
	return s.getResource(ctx, s.auth)
}

// apiTokenScenario: GET the session resource with an API token.
type apiTokenScenario struct{ *common }

func (s *apiTokenScenario) Prepare(context.Context, int) error { return nil }

func (s *apiTokenScenario) Do(ctx context.Context, _ int) (int, error) {
	return s.getResource(ctx, "token "+s.cr.APIToken)
}

// refreshScenario rotates refresh tokens: each worker gets its own chain
// from a code flow at Prepare and exchanges its current refresh token for
// the next one on every request.
type refreshScenario struct {
	*common
	chains []string
}

func (s *refreshScenario) Prepare(ctx context.Context, workers int) error {
	if err := s.discover(ctx, "authorization_endpoint"); err != nil {
		return err
	}
	// One browser signs in once and authorizes a chain per worker, so a
	// sign-in limit does not throttle the preparation.
	b := s.newBrowser()
	s.chains = make([]string, workers)
	for w := range workers {
		st, tr, err := s.codeFlow(ctx, b)
		if err == nil && tr.RefreshToken == "" {
			err = errors.New("no refresh_token: is the refresh_token grant allowed to the client?")
		}
		if err != nil {
			return fmt.Errorf("code flow for worker %d (status %d): %w", w, st, err)
		}
		s.chains[w] = tr.RefreshToken
	}
	return nil
}

func (s *refreshScenario) Do(ctx context.Context, w int) (int, error) {
	status, tr, err := s.tokenRequest(ctx, s.t.HTTP, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.chains[w]}})
	if err != nil {
		return status, err
	}
	if tr.RefreshToken != "" {
		s.chains[w] = tr.RefreshToken // rotated (RFC 9700 §4.14.2)
	}
	return status, nil
}

// authorizeScenario runs the whole authorization code flow with PKCE as a
// browser: the authorization request, the login form (when not signed in),
// the consent form (prompt=consent shows it every time), the redirect
// carrying the code, then the code exchange. One flow is one request.
type authorizeScenario struct {
	*common
	fresh    bool
	browsers []*browser
}

func (s *authorizeScenario) Prepare(ctx context.Context, workers int) error {
	if err := s.discover(ctx, "authorization_endpoint"); err != nil {
		return err
	}
	s.browsers = make([]*browser, workers)
	for w := range workers {
		s.browsers[w] = s.newBrowser()
	}
	return nil
}

func (s *authorizeScenario) Do(ctx context.Context, w int) (int, error) {
	b := s.browsers[w]
	if s.fresh {
		b = s.newBrowser()
	}
	status, _, err := s.codeFlow(ctx, b)
	return status, err
}

// sortedKeys is for stable output of count maps.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
