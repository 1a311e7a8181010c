package resources

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/scopes"
)

// DeprecatedTokenHeader and DeprecatedTokenMessage: Djblets (see
// docs/api-tokens.md, "Authentication") "On
// success" step 3, sent when an API token uses a deprecated generator.
const (
	DeprecatedTokenHeader  = "X-API-Token-Deprecated"
	DeprecatedTokenMessage = "This token uses a deprecated format. The token can still be used, but you should remove it and generate a new one to take advantage of security improvements."
)

// CSRFHeader and CSRFFormField carry a session's CSRF token on unsafe
// requests.
const (
	CSRFHeader    = "X-CSRF-Token"
	CSRFFormField = "csrf_token"
)

// GuardConfig says which credentials a Guard accepts. A nil authenticator
// turns its scheme off; 401 responses advertise only the schemes that are on.
type GuardConfig struct {
	// Tokens checks "Authorization: token <t>" (API tokens).
	Tokens TokenAuthenticator
	// Bearer checks "Authorization: Bearer <t>" (OAuth2 access tokens).
	Bearer BearerValidator
	// DPoP, with Bearer, also accepts "Authorization: DPoP <t>" with a DPoP
	// proof header (RFC 9449 §7). Without it the DPoP scheme is refused;
	// a DPoP-bound token is refused as Bearer either way. Setting it
	// without Bearer is an error.
	DPoP *dpop.Verifier
	// PublicURL is the scheme and host (and any path prefix) clients reach
	// this server at, e.g. https://photos.example; a proof's htu must be
	// PublicURL + the request path (RFC 9449 §4.3 check 9). Empty: taken
	// from the request (TLS and Host), which a proxy may rewrite.
	PublicURL string
	// Sessions reads the browser session cookie; unsafe methods must carry
	// the session's CSRF token.
	Sessions SessionValidator
	// Users checks HTTP Basic passwords and reloads the user of an OAuth2
	// token (so a deactivated user's tokens stop working at once). Nil: the
	// token's own user facts are trusted.
	Users UserDirectory
	// EnableBasic accepts "Authorization: Basic" (needs Users).
	EnableBasic bool
	// Realm is the realm of every challenge; default "authgate". It may
	// not contain a quote, a backslash or a line break.
	Realm string
	// Audience, when set, must be among an OAuth2 access token's audiences
	// (RFC 9068 §4, RFC 8707): the one audience setting of a resource
	// server. It is required with a validator that does not check the
	// audience itself (those of package resources/remote).
	Audience string
	// Limiter, when set, rate-limits requests per caller after
	// authentication (Djblets; see docs/api-tokens.md, "Authentication", step 3):
	// 114 RATE_LIMIT_EXCEEDED, HTTP
	// 429, with Retry-After and X-RateLimit-Limit. See WindowLimiter.
	Limiter Limiter
	// FailedAuth limits failed authentications with an Authorization header
	// per client IP (IPv6 by /64), Djblets' LOGIN_LIMIT_RATE: a header that
	// is malformed or wrong (401) counts, and a client over the limit gets
	// 401 with error 104, "Maximum number of login attempts exceeded." and
	// Retry-After before its header is read, even a good one. Nil:
	// NewFailureBuckets(5, time.Minute), Djblets' 5/m, unless
	// NoFailedAuthLimit. See docs/resource-servers.md, "Failed
	// authentication".
	FailedAuth FailureLimiter
	// NoFailedAuthLimit turns FailedAuth off.
	NoFailedAuthLimit bool
	// BasicAttempts, when set, reserves an HTTP Basic attempt for the
	// client address (IPv6 as its /64) and username until the password is
	// decided; refund is called unless it was wrong. authgate passes its
	// sign-in limits, so that Basic is no side door for guessing passwords.
	// Nil: FailedAuth also counts Basic failures per address and username.
	BasicAttempts func(ip, username string) (ok bool, retryAfter time.Duration, refund func())
	// ClientIP returns the address anonymous callers are rate-limited by,
	// for the net/http middleware; default the host of r.RemoteAddr. The
	// gin form uses gin's ClientIP (its trusted-proxy settings).
	ClientIP func(r *http.Request) string
	// Logger receives one line per refused request (never a credential);
	// nil discards.
	Logger *slog.Logger
	// OnDecision, when set, is told the outcome of every request the Guard
	// handles: how the caller authenticated ("" for none) and one of
	// "allowed", "anonymous", "unauthenticated" (401), "forbidden" (403),
	// "rate_limited" (429), "unavailable" (503) or "error".
	OnDecision func(method AuthMethod, outcome string)
}

// AudienceRequirer is implemented by a BearerValidator that leaves the
// audience check to the Guard: NewGuard then refuses a config without
// Audience, so a token minted for another server is never accepted by
// omission.
type AudienceRequirer interface {
	RequiresAudience() bool
}

// Outcomes reported to GuardConfig.OnDecision.
const (
	OutcomeAllowed         = "allowed"
	OutcomeAnonymous       = "anonymous"
	OutcomeUnauthenticated = "unauthenticated"
	OutcomeForbidden       = "forbidden"
	OutcomeRateLimited     = "rate_limited"
	OutcomeUnavailable     = "unavailable"
	OutcomeError           = "error"
)

func (g *Guard) decided(p *Principal, outcome string) {
	if g.cfg.OnDecision == nil {
		return
	}
	var m AuthMethod
	if p != nil {
		m = p.Method
	}
	g.cfg.OnDecision(m, outcome)
}

func outcomeOf(e *APIError) string {
	switch e.HTTPStatus {
	case 401:
		return OutcomeUnauthenticated
	case 403:
		return OutcomeForbidden
	case 429:
		return OutcomeRateLimited
	case 503:
		return OutcomeUnavailable
	}
	return OutcomeError
}

// Guard authenticates and authorizes requests to declared resources.
// It is safe for concurrent use.
type Guard struct {
	cfg        GuardConfig
	log        *slog.Logger
	challenges []string // one WWW-Authenticate value per enabled scheme
	bearerCh   string   // the Bearer challenge, "" when Bearer is off
	dpopCh     string   // the DPoP challenge, "" when DPoP is off
	others     []string // the challenges other than Bearer and DPoP
	failures   FailureLimiter
}

// NewGuard returns a Guard accepting the credentials cfg enables, or an
// error for a configuration it cannot honour as written.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	switch {
	case strings.ContainsAny(cfg.Realm, "\"\\\r\n"):
		return nil, errors.New("resources: Realm may not contain a quote, a backslash or a line break")
	case cfg.EnableBasic && cfg.Users == nil:
		return nil, errors.New("resources: EnableBasic needs Users to check passwords")
	case cfg.DPoP != nil && cfg.Bearer == nil:
		return nil, errors.New("resources: DPoP needs a Bearer validator")
	case cfg.Audience == "" && requiresAudience(cfg.Bearer):
		return nil, errors.New("resources: Audience is required with this Bearer validator (the audience of this resource server, e.g. https://photos.example)")
	}
	if cfg.Realm == "" {
		cfg.Realm = "authgate"
	}
	g := &Guard{cfg: cfg, log: cfg.Logger, failures: cfg.FailedAuth}
	if g.failures == nil && !cfg.NoFailedAuthLimit {
		g.failures = NewFailureBuckets(DefaultFailedAuthAttempts, DefaultFailedAuthWindow, nil)
	} else if cfg.NoFailedAuthLimit {
		g.failures = nil
	}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	realm := `realm="` + cfg.Realm + `"`
	if cfg.Bearer != nil {
		g.bearerCh = "Bearer " + realm
		g.challenges = append(g.challenges, g.bearerCh)
	}
	if cfg.DPoP != nil {
		// RFC 9449 §7.1: the DPoP challenge lists the accepted algorithms.
		g.dpopCh = "DPoP " + realm + `, algs="` + strings.Join(cfg.DPoP.Algs(), " ") + `"`
		g.challenges = append(g.challenges, g.dpopCh)
	}
	if cfg.Tokens != nil {
		g.others = append(g.others, "token "+realm)
	}
	if cfg.EnableBasic {
		g.others = append(g.others, "Basic "+realm)
	}
	g.challenges = append(g.challenges, g.others...)
	return g, nil
}

func requiresAudience(b BearerValidator) bool {
	r, ok := b.(AudienceRequirer)
	return ok && r.RequiresAudience()
}

// Challenges returns the WWW-Authenticate values a 401 from this Guard
// carries, one per enabled scheme.
func (g *Guard) Challenges() []string { return append([]string(nil), g.challenges...) }

// protected is a Resource prepared for fast authorization.
type protected struct {
	res       Resource
	policyID  string
	idParam   string
	apiTokens bool
	oauth2    bool
	required  [3]string // "<scope name>:<action>" for read, write, destroy
	// missing is 112 with the insufficient_scope challenge (RFC 6750 §3.1)
	// per action, and noScope 112 for a method that maps to no action; the
	// first index is the scheme the token came with: 0 Bearer, 1 DPoP
	// (RFC 9449 §7.1 answers a DPoP-bound token in its own scheme).
	missing [2][3]*APIError
	noScope [2]*APIError
}

func actionIndex(a scopes.Action) int {
	switch a {
	case scopes.Read:
		return 0
	case scopes.Write:
		return 1
	}
	return 2
}

func (g *Guard) prepare(r Resource) *protected {
	pr := &protected{
		res: r, policyID: r.EffectivePolicyID(), idParam: r.IDParam,
		apiTokens: r.AllowsAPITokens(), oauth2: r.AllowsOAuth2(),
	}
	name := r.EffectiveScopeName()
	for _, a := range scopes.Actions() {
		i := actionIndex(a)
		pr.required[i] = name + ":" + string(a)
		// RFC 6750 §3.1: insufficient_scope, with the scope needed.
		for k, scheme := range [2]string{"Bearer", "DPoP"} {
			pr.missing[k][i] = OAuthMissingScope().WithHeader("WWW-Authenticate",
				scheme+` realm="`+g.cfg.Realm+`", error="insufficient_scope", scope="`+pr.required[i]+`"`)
		}
	}
	for k, scheme := range [2]string{"Bearer", "DPoP"} {
		pr.noScope[k] = OAuthMissingScope().WithHeader("WWW-Authenticate",
			scheme+` realm="`+g.cfg.Realm+`", error="insufficient_scope", error_description="no scope grants this HTTP method"`)
	}
	return pr
}

// call is one request as the Guard sees it, from either front end.
type call struct {
	w   http.ResponseWriter
	r   *http.Request
	gin *gin.Context // nil for net/http
	att attempt      // the failure-limit attempts this request holds
}

func (g *Guard) clientIP(c *call) string {
	if c.gin != nil {
		return c.gin.ClientIP()
	}
	if g.cfg.ClientIP != nil {
		return g.cfg.ClientIP(c.r)
	}
	host, _, err := net.SplitHostPort(c.r.RemoteAddr)
	if err != nil {
		return c.r.RemoteAddr
	}
	return host
}

// Middleware returns the net/http middleware for r: it authenticates the
// request, refuses it with Djblets' envelope when it may not reach r, and
// otherwise calls next with the Principal in the request context (see
// PrincipalFromContext). Resource.IDParam names a path wildcard of the
// http.ServeMux pattern ("/photos/{id}/"), read with Request.PathValue.
func (g *Guard) Middleware(r Resource) func(http.Handler) http.Handler {
	pr := g.prepare(r)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			c := call{w: w, r: req}
			var objectID string
			if pr.idParam != "" {
				objectID = req.PathValue(pr.idParam)
			}
			p, ok := g.serve(&c, pr, objectID)
			if !ok {
				return
			}
			next.ServeHTTP(w, req.WithContext(g.withPrincipal(req.Context(), p, pr)))
		})
	}
}

// Protect returns the gin form of Middleware: the same checks, with the
// object ID from gin's path parameter IDParam, the caller's address from
// gin's ClientIP, and the Principal in the request context (PrincipalFrom,
// PrincipalFromContext).
func (g *Guard) Protect(r Resource) gin.HandlerFunc {
	pr := g.prepare(r)
	return func(gc *gin.Context) {
		if g.serveGin(gc, pr) {
			gc.Next()
		}
	}
}

// serveGin is Protect without calling the next handler: false when the
// request was refused (and aborted).
func (g *Guard) serveGin(gc *gin.Context, pr *protected) bool {
	c := call{w: gc.Writer, r: gc.Request, gin: gc}
	var objectID string
	if pr.idParam != "" {
		objectID = gc.Param(pr.idParam)
	}
	p, ok := g.serve(&c, pr, objectID)
	if !ok {
		gc.Abort()
		return false
	}
	gc.Request = gc.Request.WithContext(g.withPrincipal(gc.Request.Context(), p, pr))
	return true
}

// serve authenticates, rate-limits and authorizes one request. When it
// returns ok=false it has written the refusal; otherwise p is the caller
// (nil for an anonymous request the resource allows).
func (g *Guard) serve(c *call, pr *protected, objectID string) (p *Principal, ok bool) {
	p, e := g.authenticate(c)
	if e != nil {
		g.decided(nil, outcomeOf(e))
		g.fail(c, e)
		return nil, false
	}
	if e := g.rateLimit(c, p); e != nil {
		g.decided(p, OutcomeRateLimited)
		g.fail(c, e)
		return nil, false
	}
	if p == nil {
		if pr.res.AllowAnonymous {
			g.decided(nil, OutcomeAnonymous)
			return nil, true
		}
		g.decided(nil, OutcomeUnauthenticated)
		g.fail(c, NotLoggedIn())
		return nil, false
	}
	if e := pr.authorize(p, c.r.Method, objectID); e != nil {
		g.log.LogAttrs(c.r.Context(), slog.LevelInfo, "request refused",
			slog.String("auth", string(p.Method)), slog.String("token_id", p.TokenID),
			slog.Int64("user_id", p.User.ID), slog.String("policy_id", pr.policyID),
			slog.String("method", c.r.Method), slog.Int("code", e.Code))
		g.decided(p, outcomeOf(e))
		g.fail(c, e)
		return nil, false
	}
	g.decided(p, OutcomeAllowed)
	return p, true
}

func (g *Guard) withPrincipal(ctx context.Context, p *Principal, pr *protected) context.Context {
	return context.WithValue(ctx, ctxKey{}, &guarded{p: p, pr: pr, challenges: g.challenges})
}

// fail writes e with this Guard's challenges.
func (g *Guard) fail(c *call, e *APIError) {
	writeError(c.w, e, g.challenges)
}

// rateLimit applies the Limiter to an authenticated (p != nil) or
// anonymous caller.
func (g *Guard) rateLimit(c *call, p *Principal) *APIError {
	if g.cfg.Limiter == nil {
		return nil
	}
	var key string
	switch {
	case p == nil:
		key = "ip:" + g.clientIP(c)
	case p.User.ID != 0:
		key = "user:" + strconv.FormatInt(p.User.ID, 10)
	default:
		key = "client:" + p.ClientID
	}
	ok, retry, limit := g.cfg.Limiter.Allow(key, p != nil)
	if ok {
		return nil
	}
	g.refused(c, "", "rate limit")
	return RateLimitExceeded(retry, limit)
}

// authorize decides whether an authenticated principal may perform method
// on the resource (object objectID, "" for a list or singleton). It is the
// hot path and does not allocate.
func (pr *protected) authorize(p *Principal, method, objectID string) *APIError {
	switch p.Method {
	case MethodOAuth2:
		// Djblets (see docs/api-tokens.md, "OAuth2 scopes", steps 4–5): access flag, then the scope.
		if !pr.oauth2 {
			return oauthAccessDenied
		}
		scheme := 0
		if p.Bearer != nil && p.Bearer.JKT != "" {
			scheme = 1
		}
		a, ok := scopes.ForMethod(method)
		if !ok {
			return pr.noScope[scheme]
		}
		i := actionIndex(a)
		if !p.Scopes.Has(pr.required[i]) {
			return pr.missing[scheme][i]
		}
	case MethodAPIToken:
		// Djblets (see docs/api-tokens.md, "Policy decisions", steps 3–6): access flag, then the policy.
		if !pr.apiTokens {
			return permissionDenied
		}
		if !p.Policy.Decide(pr.policyID, method, objectID).Allowed {
			return permissionDenied
		}
		// HEAD is GET without the body (RFC 9110 §9.3.2), and servers answer
		// it with their GET routes (http.ServeMux always; authgate's API
		// mounts HEAD on each): a policy blocking GET must block HEAD too. See docs/resource-servers.md, "HEAD".
		if method == http.MethodHead && !p.Policy.Decide(pr.policyID, http.MethodGet, objectID).Allowed {
			return permissionDenied
		}
	}
	return nil
}

// Shared read-only errors for the hot path; Fail never modifies its
// argument.
var (
	permissionDenied  = PermissionDenied()
	oauthAccessDenied = OAuthAccessDenied()
)
