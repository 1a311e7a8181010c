package authserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources/dpop"
)

// Config is the oauth section of authgate's configuration. Zero values mean
// the defaults below.
type Config = configs.OAuth

// Defaults for a zero Config field.
const (
	DefaultIssuer          = "http://127.0.0.1:8080"
	DefaultCodeTTL         = 5 * time.Minute
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultRefreshIdleTTL  = 7 * 24 * time.Hour
	DefaultKeyPublishDelay = time.Hour
)

// ScopeRegistry is what the server needs from the scope registry
// (*scopes.Registry): validation of requested scopes and the
// scopes_supported list.
type ScopeRegistry interface {
	HasScope(name string) bool
	ScopeNames() []string
	AudienceSource
}

// Deps are the services the server uses.
type Deps struct {
	DB    *db.DB
	Users users.Store
	// Scopes validates requested scopes; nil accepts any scope the client
	// is allowed (tests only).
	Scopes ScopeRegistry
	// APITokens lets introspection answer for API tokens; optional.
	APITokens APITokenInspector
	// Metrics registers the token issuance counters; optional.
	Metrics prometheus.Registerer
	Logger  *slog.Logger
	// Now replaces time.Now in tests.
	Now func() time.Time
	// Limits are the rate limits of the token, revocation and
	// introspection endpoints (zero: the defaults).
	Limits EndpointLimits
	// KeyNotifier announces a new signing key to every instance sharing
	// the database (signing.Options.Notifier); optional.
	KeyNotifier signing.Notifier
	// ClientNotifier, when set, turns on the bounded client cache (at most
	// ClientCacheSize clients; 0: oauthstore.DefaultClientCacheSize): every
	// client change announces "oauth_client:<client_id>" through it and
	// every instance drops that client (docs/performance.md, "Caches").
	ClientNotifier  oauthstore.ClientNotifier
	ClientCacheSize int
	// Bus announces revocations and client changes to every instance and
	// keeps this one's revocation state current with theirs; optional
	// (nil: this process's changes, and a full reload every
	// RevocationReload). See docs/security.md, "Revocation bound".
	Bus InvalidationBus
}

// Server is the OAuth2 authorization server. Create it with New.
type Server struct {
	// OAuth2 is the go-oauth2 server, configured with our stores and
	// hooks, which the authorization endpoint uses to issue codes
	// (GetAuthorizeToken). Configure extra hooks before serving.
	OAuth2 *server.Server
	// Clients is the client registry.
	Clients ClientStore
	// Tokens stores codes and tokens (digests only).
	Tokens *TokenStore
	// Keys are the JWT signing keys.
	Keys *signing.KeySet
	// Consents are the users' consents; the token endpoint records their
	// last use, the web pages read and write them.
	Consents *SQLConsentStore

	cfg       Config
	db        *db.DB
	users     users.Store
	scopes    ScopeRegistry
	apiTokens APITokenInspector
	log       *slog.Logger
	now       func() time.Time
	access    *accessTokens
	revs      *revocationState
	metrics   *metrics
	bearer    *BearerValidator
	grants    grantHandlers
	dpop      *dpop.Verifier // nil: DPoP off
	// clientLimit counts calls per authenticated client, ipFailLimit
	// failed calls per client IP (nil: unlimited).
	clientLimit, ipFailLimit *ratelimit.Buckets
	// metadataDoc and oidcDoc are the discovery documents, marshalled
	// once per scope registry (precomputed.go).
	metadataDoc, oidcDoc jsonDoc
}

// resolve fills the defaults of a zero Config and validates it.
func resolve(cfg Config) (Config, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.CodeTTL, DefaultCodeTTL)
	def(&cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	def(&cfg.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&cfg.RefreshIdleTTL, DefaultRefreshIdleTTL)
	def(&cfg.KeyPublishDelay, DefaultKeyPublishDelay)
	def(&cfg.RevocationReload, RevocationReload)
	if cfg.AccessTokenFormat == "" {
		cfg.AccessTokenFormat = FormatJWT
	}
	if cfg.SigningAlg == "" {
		cfg.SigningAlg = signing.AlgEdDSA
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// New builds the server: stores, keys (creating the first signing key when
// there is none), the go-oauth2 manager and server with every hook the
// audit requires (docs/go-oauth2.md, "Hooks authgate replaces").
func New(ctx context.Context, deps Deps, cfg Config) (*Server, error) {
	if deps.DB == nil {
		return nil, errors.New("authserver: a database is required")
	}
	cfg, err := resolve(cfg)
	if err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{
		cfg: cfg, db: deps.DB, users: deps.Users, scopes: deps.Scopes, apiTokens: deps.APITokens,
		log: deps.Logger, now: deps.Now,
		clientLimit: newEndpointLimiter(deps.Limits.ClientPerMinute, DefaultClientPerMinute, deps.Now),
		ipFailLimit: newEndpointLimiter(deps.Limits.IPFailuresPerMinute, DefaultIPFailuresPerMinute, deps.Now),
	}
	cs := oauthstore.NewSQLClientStoreWith(deps.DB, deps.Now)
	if deps.ClientNotifier != nil {
		cs.EnableCache(deps.ClientNotifier, deps.ClientCacheSize)
	}
	s.Clients = cs
	s.Consents = oauthstore.NewSQLConsentStoreWith(deps.DB, deps.Now)
	s.revs = newRevocationState(deps.DB, deps.Now, deps.Logger, cfg.RevocationReload)
	s.Tokens = oauthstore.NewTokenStoreWith(deps.DB, oauthstore.TokenStoreOptions{
		Now: deps.Now, Binding: requestBinding, UserActive: userActive,
		Notifier: revocationNotifier{bus: deps.Bus, db: deps.DB, rev: s.revs},
	})
	s.revs.store = s.Tokens
	if deps.Bus != nil {
		// Subscribed before the first load, so no change is missed between.
		s.revs.subscribe(deps.Bus)
	}
	if err := s.revs.reloadFull(ctx); err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	kek, prevKEK, err := cfg.KeyEncryptionKeys()
	if err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	s.Keys, err = signing.NewKeySet(deps.DB, signing.Options{
		MaxTokenTTL: cfg.AccessTokenTTL, KEK: kek, PreviousKEK: prevKEK, Notifier: deps.KeyNotifier, Now: deps.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	if err := s.Keys.Ensure(ctx, cfg.SigningAlg); err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	// OpenID Connect: the RS256 ID-token key is in the JWKS from the start.
	if err := s.Keys.EnsureIDTokenKey(ctx, DefaultIDTokenAlg); err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	s.access = newAccessTokens(cfg.AccessTokenFormat, cfg.Issuer, cfg.Audience, s.Keys, s.Tokens, s.clientAnyState, deps.DB, deps.Now, s.revs)
	s.access.users, _ = deps.Users.(statusReader)
	s.bearer = &BearerValidator{access: s.access}
	if s.dpop, err = s.newDPoP(); err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	if s.metrics, err = newMetrics(deps.Metrics); err != nil {
		return nil, fmt.Errorf("authserver: metrics: %w", err)
	}
	s.grants = s.newGrants()

	inner := manage.NewManager()
	inner.MapClientStorage(clientStoreAdapter{s})
	inner.MapTokenStorage(s.Tokens)
	inner.MapAuthorizeGenerate(codeGenerator{})
	inner.MapAccessGenerate(s.access)
	inner.SetAuthorizeCodeExp(cfg.CodeTTL)
	inner.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: cfg.AccessTokenTTL, RefreshTokenExp: cfg.RefreshIdleTTL, IsGenerateRefresh: true})
	inner.SetClientTokenCfg(&manage.Config{AccessTokenExp: cfg.AccessTokenTTL})
	inner.SetRefreshTokenCfg(&manage.RefreshingConfig{AccessTokenExp: cfg.AccessTokenTTL, RefreshTokenExp: cfg.RefreshIdleTTL,
		IsGenerateRefresh: true, IsRemoveAccess: false, IsRemoveRefreshing: true})
	// docs/go-oauth2.md, "Findings and their tests", finding 3: exact matching
	// instead of the host-suffix default.
	inner.SetValidateURIHandler(exactURIValidator)
	inner.SetExtractExtensionHandler(s.extractExtension)

	methods := []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}
	if cfg.AllowPlainPKCE {
		methods = append(methods, oauth2.CodeChallengePlain)
	}
	// docs/go-oauth2.md, "Hooks authgate replaces", item 2;
	// docs/go-oauth2.md, "Findings and their tests", findings 6 and 9: code only,
	// no password or implicit, S256.
	srv := server.NewServer(&server.Config{
		TokenType:                   "Bearer",
		AllowGetAccessRequest:       false,
		AllowedResponseTypes:        []oauth2.ResponseType{oauth2.Code},
		AllowedGrantTypes:           []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.ClientCredentials, oauth2.Refreshing},
		AllowedCodeChallengeMethods: methods,
		ForcePKCE:                   !cfg.AllowConfidentialWithoutPKCE,
	}, &manager{s: s, inner: inner})
	srv.SetClientInfoHandler(s.clientInfoHandler)
	srv.SetInternalErrorHandler(s.internalErrorHandler)
	srv.SetResponseErrorHandler(s.responseErrorHandler)
	srv.SetPreRedirectErrorHandler(refuseErrorRedirect)
	srv.SetResponseTokenHandler(writeTokenResponse)
	// The library's refresh-scope and password hooks stay unset: our
	// manager enforces refresh scope, and the password grant is off.
	srv.SetAccessTokenResolveHandler(bearerHeaderOnly)
	s.OAuth2 = srv
	return s, nil
}

// refuseErrorRedirect is go-oauth2's PreRedirectErrorHandler. The library
// would redirect errors to a redirect_uri it has not validated
// (docs/go-oauth2.md, "Findings and their tests", finding 4, go-oauth2#105);
// we never let it redirect: the error goes back to the
// authorization handler, which decides whether the URI is trusted.
func refuseErrorRedirect(_ http.ResponseWriter, _ *server.AuthorizeRequest, err error) error {
	return err
}

// bearerHeaderOnly is go-oauth2's AccessTokenResolveHandler: only the
// Authorization header, scheme case-insensitive (RFC 6750 §2.1); never the
// access_token form or query parameter
// (docs/go-oauth2.md, "Findings and their tests", finding 11, OAuth 2.1).
func bearerHeaderOnly(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

// Settings returns the effective configuration (defaults filled in).
func (s *Server) Settings() Config { return s.cfg }

// Bearer returns the resources.BearerValidator for the server's tokens.
func (s *Server) Bearer() *BearerValidator { return s.bearer }

// Mount registers the token, revocation, introspection, discovery and JWKS
// endpoints on r. The authorization endpoint and web pages are mounted by
// Web.Mount.
func (s *Server) Mount(r gin.IRouter) {
	r.POST(PathToken, s.limitFailures(s.handleToken))
	r.POST(PathRevoke, s.limitFailures(s.handleRevoke))
	r.POST(PathIntrospect, s.limitFailures(s.handleIntrospect))
	r.POST(PathDeviceAuthorization, s.limitFailures(s.handleDeviceAuthorization))
	r.OPTIONS(PathToken, handlePreflight)
	r.OPTIONS(PathRevoke, handlePreflight)
	r.GET(PathMetadata, s.handleMetadata)
	r.GET(PathJWKS, s.handleJWKS)
	r.GET(PathOIDCDiscovery, s.handleOIDCMetadata)
	r.GET(PathUserinfo, s.handleUserinfo)
	r.POST(PathUserinfo, s.handleUserinfo)
}
