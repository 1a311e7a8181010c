package mgmtapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// Policy IDs of authgate's own resources.
const (
	PolicyRoot     = "root"
	PolicySession  = "session"
	PolicyUser     = "user"
	PolicyAPIToken = "api_token"
	PolicyOAuthApp = "oauth_app"
	PolicyResource = "resource"
)

// Paths of the API.
const (
	PathRoot      = "/api/"
	PathSession   = "/api/session/"
	PathUsers     = "/api/users/"
	PathResources = "/api/resources/"
	PathOAuthApps = "/api/oauth-apps/"
)

// Builtin returns authgate's own resources, keyed by policy ID. The token
// and OAuth application management resources accept neither API tokens nor
// OAuth2 tokens (Review Board: a token can never mint tokens); the resource
// registry takes no API tokens (registration is for admins and resource
// servers).
func Builtin() map[string]resources.Resource {
	no := resources.Bool(false)
	return map[string]resources.Resource{
		PolicyRoot:     {Name: PolicyRoot, Methods: []string{"GET"}, AllowAnonymous: true},
		PolicySession:  {Name: PolicySession, Methods: []string{"GET"}, AllowAnonymous: true},
		PolicyUser:     {Name: PolicyUser, IDParam: "username", Methods: []string{"GET", "PUT"}},
		PolicyAPIToken: {Name: PolicyAPIToken, IDParam: "id", Methods: []string{"GET", "POST", "PUT", "DELETE"}, APITokenAccess: no, OAuth2Access: no},
		PolicyOAuthApp: {Name: PolicyOAuthApp, IDParam: "client_id", Methods: []string{"GET", "POST", "PUT", "DELETE"}, APITokenAccess: no, OAuth2Access: no},
		PolicyResource: {Name: PolicyResource, IDParam: "policy_id", Methods: []string{"GET", "PUT", "DELETE"}, APITokenAccess: no},
	}
}

// DeclareBuiltins adds Builtin's resources to reg.
func DeclareBuiltins(reg *scopes.Registry) error {
	for _, r := range Builtin() {
		d := r.Decl()
		d.Origin = scopes.OriginBuiltin
		if err := reg.Add(d); err != nil {
			return fmt.Errorf("declare %s: %w", r.Name, err)
		}
	}
	return nil
}

// Deps are what the API needs.
type Deps struct {
	Guard    *resources.Guard
	Registry *scopes.Registry
	Tokens   *tokens.Manager
	Users    users.Store
	// Resources persists run-time registrations; nil turns PUT and DELETE
	// on /api/resources/{policy_id}/ off (503).
	Resources *ResourceStore
	// RegistrarAllowed says whether a caller that is not a first-party
	// admin may register resources; the authorization server supplies it
	// for OAuth2 clients flagged as resource servers. nil: admins only.
	RegistrarAllowed func(context.Context, *resources.Principal) (bool, error)
	// Sessions lets GET /api/session/ tell a session caller its CSRF
	// token; nil leaves csrf_token out.
	Sessions resources.SessionValidator
	// Clients manages OAuth2 clients under /api/oauth-apps/; nil leaves
	// those routes unmounted (the resource stays declared, so its policy ID
	// is known).
	Clients ClientAdmin
	// Credentials revokes reported OAuth tokens; nil: POST
	// /api/credentials/revoke handles API tokens only.
	Credentials CredentialRevoker
	// ReportLimiter rate-limits /api/credentials/revoke per IP; nil means
	// DefaultReportLimit per DefaultReportPeriod.
	ReportLimiter resources.Limiter
	Logger        *slog.Logger
}

type handlers struct {
	Deps
	log           *slog.Logger
	reportLimiter resources.Limiter
}

// Mount declares the built-in resources in d.Registry and mounts the API
// routes on r.
func Mount(r gin.IRouter, d Deps) error {
	if d.Guard == nil || d.Registry == nil || d.Tokens == nil || d.Users == nil {
		return fmt.Errorf("mount api: Guard, Registry, Tokens and Users are required")
	}
	if err := DeclareBuiltins(d.Registry); err != nil {
		return fmt.Errorf("mount api: %w", err)
	}
	h := &handlers{Deps: d, log: d.Logger, reportLimiter: d.ReportLimiter}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.reportLimiter == nil {
		h.reportLimiter = &resources.WindowLimiter{Anonymous: DefaultReportLimit, Period: DefaultReportPeriod}
	}
	b := Builtin()
	protect := func(policyID string) gin.HandlerFunc { return d.Guard.Protect(b[policyID]) }

	// Every GET route answers HEAD too (RFC 9110 §9.3.2); the Guard maps
	// both to the read action, and a policy must allow GET (and HEAD, if
	// it names it) for a HEAD to pass.
	get := func(path string, handlers ...gin.HandlerFunc) {
		r.GET(path, handlers...)
		r.HEAD(path, handlers...)
	}
	root, session, user := protect(PolicyRoot), protect(PolicySession), protect(PolicyUser)
	get(PathRoot, root, h.getRoot)
	get(PathSession, session, h.getSession)
	get(PathUsers, user, h.listUsers)
	get(PathUsers+":username/", user, h.getUser)
	r.PUT(PathUsers+":username/", user, SameSiteWrites, h.updateUser)

	tok := protect(PolicyAPIToken)
	tokens := PathUsers + ":username/api-tokens/"
	get(tokens, tok, h.listTokens)
	r.POST(tokens, tok, SameSiteWrites, h.createToken)
	get(tokens+":id/", tok, h.getToken)
	r.PUT(tokens+":id/", tok, SameSiteWrites, h.updateToken)
	r.DELETE(tokens+":id/", tok, SameSiteWrites, h.deleteToken)
	r.POST(PathAPITokensInvalidate, tok, SameSiteWrites, h.invalidateTokens)

	// No Guard: possession of the credential is the proof.
	r.POST(PathCredentialsRevoke, h.revokeCredentials)

	res := protect(PolicyResource)
	get(PathResources, res, h.listResources)
	get(PathResources+":policy_id/", res, h.getResource)
	r.PUT(PathResources+":policy_id/", res, SameSiteWrites, h.putResource)
	r.DELETE(PathResources+":policy_id/", res, SameSiteWrites, h.deleteResource)

	if d.Clients != nil {
		h.mountOAuthApps(r, protect(PolicyOAuthApp))
	}
	return nil
}

// principal returns the request's principal; the Guard has already refused
// anonymous requests on every route that calls it.
func principal(c *gin.Context) *resources.Principal {
	p, ok := resources.PrincipalFrom(c)
	if !ok {
		return &resources.Principal{}
	}
	return p
}

func (h *handlers) serverError(c *gin.Context, what string, err error) {
	h.log.LogAttrs(c.Request.Context(), slog.LevelError, what, slog.String("error", err.Error()),
		slog.String("method", c.Request.Method), slog.String("route", c.FullPath()))
	resources.Fail(c, resources.ServerError())
}

func link(href string) linkView { return linkView{Href: href, Method: http.MethodGet} }

// linkView is a link of the API's responses: {"href": …, "method": "GET"}.
type linkView struct {
	Href   string `json:"href"`
	Method string `json:"method"`
}

type fieldErrors map[string][]string

func (f fieldErrors) has(k string) bool { _, ok := f[k]; return ok }
