package resources

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// DeprecatedTokenHeader and DeprecatedTokenMessage: Djblets (see
// docs/api-tokens.md, "Authentication") "On
// success" step 3, sent when an API token uses a deprecated generator.
const (
	DeprecatedTokenHeader  = "X-API-Token-Deprecated"
	DeprecatedTokenMessage = tokens.DeprecatedHeaderValue
)

// CSRFHeader and CSRFFormField carry a session's CSRF token on unsafe
// requests (docs/architecture.md, "Browser sessions").
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
	// a DPoP-bound token is refused as Bearer either way.
	DPoP *dpop.Verifier
	// PublicURL is the scheme and host (and any path prefix) clients reach
	// this server at, e.g. https://auth.example.com; a proof's htu must be
	// PublicURL + the request path (RFC 9449 §4.3 check 9). Empty: taken
	// from the request (TLS and Host), which a proxy may rewrite.
	PublicURL string
	// Sessions reads the browser session cookie; unsafe methods must carry
	// the session's CSRF token.
	Sessions SessionValidator
	// Users checks HTTP Basic passwords and loads the user of an OAuth2
	// token (so a deactivated user's tokens stop working at once).
	Users users.Store
	// EnableBasic accepts "Authorization: Basic" (needs Users).
	EnableBasic bool
	// Realm is the realm of every challenge; default "authgate".
	Realm string
	// Audience, when set, must be among a bearer token's audiences (RFC
	// 9068 §4: a resource server checks that the token is meant for it).
	Audience string
	// Limiter, when set, rate-limits requests per caller after
	// authentication (Djblets; see docs/api-tokens.md, "Authentication", step 3):
	// 114 RATE_LIMIT_EXCEEDED, HTTP
	// 429, with Retry-After and X-RateLimit-Limit. See WindowLimiter.
	Limiter Limiter
	// Logger receives one line per refused request (never a credential);
	// nil discards.
	Logger *slog.Logger
	// OnDecision, when set, is told the outcome of every request the Guard
	// handles: how the caller authenticated ("" for none) and one of
	// "allowed", "anonymous", "unauthenticated" (401), "forbidden" (403),
	// "rate_limited" (429) or "error". authgate feeds its metrics from it.
	OnDecision func(method AuthMethod, outcome string)
}

// Outcomes reported to GuardConfig.OnDecision.
const (
	OutcomeAllowed         = "allowed"
	OutcomeAnonymous       = "anonymous"
	OutcomeUnauthenticated = "unauthenticated"
	OutcomeForbidden       = "forbidden"
	OutcomeRateLimited     = "rate_limited"
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
	switch {
	case e.HTTPStatus == 401:
		return OutcomeUnauthenticated
	case e.HTTPStatus == 403:
		return OutcomeForbidden
	case e.HTTPStatus == 429:
		return OutcomeRateLimited
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
}

// NewGuard returns a Guard accepting the credentials cfg enables.
func NewGuard(cfg GuardConfig) *Guard {
	if cfg.Realm == "" || strings.ContainsAny(cfg.Realm, "\"\\\r\n") {
		cfg.Realm = "authgate"
	}
	if cfg.Users == nil {
		cfg.EnableBasic = false
	}
	g := &Guard{cfg: cfg, log: cfg.Logger}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	realm := `realm="` + cfg.Realm + `"`
	if cfg.Bearer == nil {
		cfg.DPoP = nil
		g.cfg.DPoP = nil
	}
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
	return g
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

// Protect returns the middleware for r: it authenticates the request,
// refuses it with Djblets' envelope when it may not reach r, and otherwise
// stores the Principal (see PrincipalFrom) and calls the next handler.
func (g *Guard) Protect(r Resource) gin.HandlerFunc {
	pr := g.prepare(r)
	return func(c *gin.Context) {
		c.Set(challengesKey, g.challenges)
		c.Set(resourceKey, pr)
		p, e := g.authenticate(c)
		if e != nil {
			g.decided(nil, outcomeOf(e))
			Fail(c, e)
			return
		}
		if e := g.rateLimit(c, p); e != nil {
			g.decided(p, OutcomeRateLimited)
			Fail(c, e)
			return
		}
		if p == nil {
			if pr.res.AllowAnonymous {
				g.decided(nil, OutcomeAnonymous)
				c.Next()
				return
			}
			g.decided(nil, OutcomeUnauthenticated)
			Fail(c, NotLoggedIn())
			return
		}
		c.Set(principalKey, p)
		var objectID string
		if pr.idParam != "" {
			objectID = c.Param(pr.idParam)
		}
		if e := pr.authorize(p, c.Request.Method, objectID); e != nil {
			g.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request refused",
				slog.String("auth", string(p.Method)), slog.String("token_id", p.TokenID),
				slog.Int64("user_id", p.User.ID), slog.String("policy_id", pr.policyID),
				slog.String("method", c.Request.Method), slog.Int("code", e.Code))
			g.decided(p, outcomeOf(e))
			Fail(c, e)
			return
		}
		g.decided(p, OutcomeAllowed)
		c.Next()
	}
}

// rateLimit applies the Limiter to an authenticated (p != nil) or
// anonymous caller.
func (g *Guard) rateLimit(c *gin.Context, p *Principal) *APIError {
	if g.cfg.Limiter == nil {
		return nil
	}
	var key string
	switch {
	case p == nil:
		key = "ip:" + c.ClientIP()
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
	}
	return nil
}

// Shared read-only errors for the hot path; Fail never modifies its
// argument.
var (
	permissionDenied  = PermissionDenied()
	oauthAccessDenied = OAuthAccessDenied()
)

// authenticate finds the request's credential. It returns (nil, nil) for
// an anonymous request, and an *APIError when a credential is present but
// malformed or wrong: a bad credential is never treated as anonymous
// (docs/api-tokens.md, "Deliberate differences").
func (g *Guard) authenticate(c *gin.Context) (*Principal, *APIError) {
	hs := c.Request.Header.Values("Authorization")
	switch len(hs) {
	case 0:
		return g.fromSession(c)
	case 1:
		return g.fromHeader(c, hs[0])
	}
	return nil, g.malformed(c, "", "the request has more than one Authorization header")
}

// malformed is the 401 for an Authorization header that cannot be parsed.
// scheme is the recognised scheme ("" if none) for the log line.
func (g *Guard) malformed(c *gin.Context, scheme, what string) *APIError {
	g.refused(c, scheme, "malformed")
	e := LoginFailed().WithMessage("Malformed Authorization header: " + what + ".")
	if scheme == "bearer" {
		// RFC 6750 §3.1 names this invalid_request; authgate keeps the
		// status at 401 so that every malformed header looks alike.
		return g.withBearerError(e, "invalid_request", "malformed Authorization header")
	}
	return e
}

// withBearerError adds the challenges to e with the Bearer one carrying an
// RFC 6750 §3 error code.
func (g *Guard) withBearerError(e *APIError, code, desc string) *APIError {
	if g.bearerCh == "" {
		return e
	}
	e = e.WithHeader("WWW-Authenticate", g.bearerCh+`, error="`+code+`", error_description="`+desc+`"`)
	if g.dpopCh != "" {
		e.Headers.Add("WWW-Authenticate", g.dpopCh)
	}
	for _, o := range g.others {
		e.Headers.Add("WWW-Authenticate", o)
	}
	return e
}

func (g *Guard) refused(c *gin.Context, scheme, reason string) {
	g.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "authentication failed",
		slog.String("scheme", scheme), slog.String("reason", reason),
		slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
		slog.String("client_ip", c.ClientIP()))
}

func (g *Guard) serverError(c *gin.Context, what string, err error) *APIError {
	// err comes from our own stores and validators, which never put a
	// credential into an error.
	g.log.LogAttrs(c.Request.Context(), slog.LevelError, what, slog.String("error", err.Error()))
	return ServerError()
}

// fromHeader parses "Authorization: <scheme> 1*SP <credentials>" (RFC 9110
// §11.4). The scheme is matched case-insensitively (RFC 9110 §11.1; Djblets
// only knows lower-case "token").
func (g *Guard) fromHeader(c *gin.Context, h string) (*Principal, *APIError) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(h), " ")
	cred = strings.TrimLeft(cred, " ")
	if scheme == "" {
		return nil, g.malformed(c, "", "the header is empty")
	}
	lower := strings.ToLower(scheme)
	enabled := false
	switch lower {
	case "token":
		enabled = g.cfg.Tokens != nil
	case "bearer":
		enabled = g.cfg.Bearer != nil
	case "dpop":
		enabled = g.cfg.DPoP != nil
	case "basic":
		enabled = g.cfg.EnableBasic
	}
	if !enabled {
		g.refused(c, "", "unsupported scheme")
		return nil, LoginFailed().WithMessage("Unsupported authorization scheme " + quoteScheme(scheme) +
			"; this server accepts " + g.schemeList() + ".")
	}
	if cred == "" {
		return nil, g.malformed(c, lower, `no credentials after "`+scheme+`"`)
	}
	if strings.ContainsAny(cred, " \t") {
		return nil, g.malformed(c, lower, `expected exactly one credential after "`+scheme+`"`)
	}
	switch lower {
	case "token":
		return g.apiToken(c, cred)
	case "bearer":
		return g.bearer(c, cred)
	case "dpop":
		return g.dpopToken(c, cred)
	default:
		return g.basic(c, cred)
	}
}

// quoteScheme echoes a scheme name only when it is a short RFC 9110 token,
// so nothing resembling a credential is ever reflected.
func quoteScheme(s string) string {
	if len(s) > 20 {
		return "(unrecognised)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "(unrecognised)"
		}
	}
	return `"` + s + `"`
}

func (g *Guard) schemeList() string {
	var names []string
	if g.cfg.Bearer != nil {
		names = append(names, `"Bearer"`)
	}
	if g.cfg.DPoP != nil {
		names = append(names, `"DPoP"`)
	}
	if g.cfg.Tokens != nil {
		names = append(names, `"token"`)
	}
	if g.cfg.EnableBasic {
		names = append(names, `"Basic"`)
	}
	if len(names) == 0 {
		return "no Authorization header"
	}
	return strings.Join(names, ", ")
}

// apiToken authenticates "Authorization: token <t>" (Djblets; see
// docs/api-tokens.md, "Authentication").
func (g *Guard) apiToken(c *gin.Context, raw string) (*Principal, *APIError) {
	a, err := g.cfg.Tokens.Authenticate(c.Request.Context(), raw)
	if err != nil {
		var ae *tokens.AuthError
		if !errors.As(err, &ae) {
			return nil, g.serverError(c, "api token authentication failed", err)
		}
		g.refused(c, "token", reasonOf(ae.Kind))
		e := LoginFailed()
		switch {
		case ae.Message != "":
			// Djblets (see docs/api-tokens.md, "Authentication"): "This API token became
			// invalid on <D>: <reason>"
			// and the like; the manager guarantees it holds no secret.
			e = e.WithMessage(ae.Message)
		case errors.Is(ae.Kind, tokens.ErrMalformedToken):
			e = e.WithMessage("The API token is malformed: its format or checksum is wrong.")
		}
		return nil, e
	}
	if a.Deprecated {
		c.Header(DeprecatedTokenHeader, DeprecatedTokenMessage)
	}
	return &Principal{
		Method:   MethodAPIToken,
		User:     a.User,
		TokenID:  strconv.FormatInt(a.Token.ID, 10),
		Policy:   a.Policy,
		APIToken: a.Token,
	}, nil
}

func reasonOf(kind error) string {
	switch {
	case errors.Is(kind, tokens.ErrMalformedToken):
		return "malformed token"
	case errors.Is(kind, tokens.ErrTokenNotFound):
		return "unknown token"
	case errors.Is(kind, tokens.ErrTokenInvalid):
		return "invalidated token"
	case errors.Is(kind, tokens.ErrTokenExpired):
		return "expired token"
	case errors.Is(kind, tokens.ErrUserInactive):
		return "inactive user"
	}
	return "rejected"
}

// isB64Token reports whether s matches RFC 6750 §2.1's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// bearer authenticates "Authorization: Bearer <t>" (RFC 6750 §2.1).
func (g *Guard) bearer(c *gin.Context, raw string) (*Principal, *APIError) {
	if !isB64Token(raw) {
		return nil, g.malformed(c, "bearer", "the bearer token has characters RFC 6750 does not allow")
	}
	p, e := g.oauthToken(c, raw, "bearer")
	if e != nil {
		return nil, e
	}
	if p.Bearer.JKT != "" {
		// RFC 9449 §7.2: a DPoP-bound token sent as a bearer token is
		// refused; without the proof it proves nothing.
		g.refused(c, "bearer", "dpop-bound token as bearer")
		return nil, g.withDPoPError(
			LoginFailed().WithMessage("This OAuth2 access token is DPoP-bound: send it with the DPoP scheme and a DPoP proof."),
			"invalid_token", "The access token is DPoP-bound; use the DPoP scheme with a proof")
	}
	return p, nil
}

// oauthToken validates an OAuth2 access token (either scheme): signature or
// lookup, audience, and the user's active flag.
func (g *Guard) oauthToken(c *gin.Context, raw, scheme string) (*Principal, *APIError) {
	ctx := c.Request.Context()
	bt, err := g.cfg.Bearer.ValidateBearer(ctx, raw)
	if err != nil {
		if !errors.Is(err, ErrBearerInvalid) {
			return nil, g.serverError(c, "bearer token validation failed", err)
		}
		g.refused(c, scheme, "invalid token")
		// Djblets (see docs/api-tokens.md, "OAuth2 scopes"): a bad or expired token
		// via Bearer is LOGIN_FAILED;
		// RFC 6750 §3.1: invalid_token.
		return nil, g.schemeError(scheme,
			LoginFailed().WithMessage("The OAuth2 access token is invalid, expired or revoked."),
			"invalid_token", "The access token is invalid, expired or revoked")
	}
	if g.cfg.Audience != "" && !slices.Contains(bt.Audience, g.cfg.Audience) {
		g.refused(c, scheme, "wrong audience")
		return nil, g.schemeError(scheme,
			LoginFailed().WithMessage("The OAuth2 access token is not meant for this server."),
			"invalid_token", "The access token audience does not include this resource server")
	}
	p := &Principal{
		Method:   MethodOAuth2,
		User:     users.User{ID: bt.UserID, Username: bt.Username},
		TokenID:  bt.TokenID,
		ClientID: bt.ClientID,
		Scopes:   bt.Scopes,
		Bearer:   bt,
	}
	if bt.UserID != 0 && g.cfg.Users != nil {
		u, err := g.cfg.Users.Get(ctx, bt.UserID)
		switch {
		case errors.Is(err, users.ErrNotFound) || err == nil && !u.IsActive:
			g.refused(c, scheme, "inactive user")
			return nil, g.schemeError(scheme,
				LoginFailed().WithMessage("The user of this OAuth2 access token is inactive or no longer exists."),
				"invalid_token", "The resource owner is inactive")
		case err != nil:
			return nil, g.serverError(c, "load bearer token user", err)
		}
		p.User = u
	}
	return p, nil
}

// basic authenticates "Authorization: Basic base64(user:password)" (RFC 7617).
func (g *Guard) basic(c *gin.Context, cred string) (*Principal, *APIError) {
	dec, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return nil, g.malformed(c, "basic", "the Basic credentials are not valid base64")
	}
	username, password, ok := strings.Cut(string(dec), ":")
	if !ok {
		return nil, g.malformed(c, "basic", `the Basic credentials are not "username:password"`)
	}
	u, err := g.cfg.Users.Authenticate(c.Request.Context(), username, password)
	if err != nil {
		if errors.Is(err, users.ErrInvalidCredentials) {
			g.refused(c, "basic", "bad username or password")
			return nil, LoginFailed()
		}
		return nil, g.serverError(c, "basic authentication failed", err)
	}
	return &Principal{Method: MethodBasic, User: u}, nil
}

// safeMethod reports whether a method is safe (RFC 9110 §9.2.1) and so
// needs no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// fromSession authenticates the browser session cookie, if any.
func (g *Guard) fromSession(c *gin.Context) (*Principal, *APIError) {
	if g.cfg.Sessions == nil {
		return nil, nil
	}
	u, csrf, ok, err := g.cfg.Sessions.ValidateSession(c.Request)
	if err != nil {
		g.refused(c, "session", "invalid session")
		// Djblets (see docs/api-tokens.md, "OAuth2 scopes"): an expired session login is NOT_LOGGED_IN.
		return nil, NotLoggedIn().WithMessage("Your session has expired or is no longer valid. Please log in again.")
	}
	if !ok {
		return nil, nil
	}
	if !u.IsActive {
		g.refused(c, "session", "inactive user")
		return nil, NotLoggedIn()
	}
	if !safeMethod(c.Request.Method) && !g.csrfOK(c, csrf) {
		g.refused(c, "session", "csrf")
		return nil, PermissionDenied().WithMessage("CSRF verification failed: send the session's CSRF token in the " + CSRFHeader + " header.")
	}
	return &Principal{Method: MethodSession, User: u}, nil
}

func (g *Guard) csrfOK(c *gin.Context, want string) bool {
	if want == "" {
		return false
	}
	got := c.Request.Header.Get(CSRFHeader)
	if got == "" {
		if mt, _, _ := mime.ParseMediaType(c.ContentType()); mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
			got = c.Request.PostFormValue(CSRFFormField)
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// withDPoPError adds the challenges to e with the DPoP one carrying an RFC
// 9449 §7.1 error code (invalid_token or invalid_dpop_proof). When DPoP is
// off (a bound token sent as Bearer), the challenge has no algs.
func (g *Guard) withDPoPError(e *APIError, code, desc string) *APIError {
	ch := g.dpopCh
	if ch == "" {
		ch = `DPoP realm="` + g.cfg.Realm + `"`
	}
	e = e.WithHeader("WWW-Authenticate", ch+`, error="`+code+`", error_description="`+desc+`"`)
	if g.bearerCh != "" {
		e.Headers.Add("WWW-Authenticate", g.bearerCh)
	}
	for _, o := range g.others {
		e.Headers.Add("WWW-Authenticate", o)
	}
	return e
}

// dpopURL is the htu a proof for this request must carry: the public URL
// and the request path, no query (RFC 9449 §4.3 check 9).
func (g *Guard) dpopURL(c *gin.Context) string {
	base := strings.TrimRight(g.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if c.Request.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + c.Request.Host
	}
	return base + c.Request.URL.EscapedPath()
}

// dpopToken authenticates "Authorization: DPoP <t>" with its DPoP proof
// (RFC 9449 §7.1): the proof must pass §4.3 for this method and URL, carry
// ath for this token, and be signed by the key the token is bound to.
func (g *Guard) dpopToken(c *gin.Context, raw string) (*Principal, *APIError) {
	if !isB64Token(raw) {
		return nil, g.malformed(c, "dpop", "the access token has characters RFC 9449 does not allow")
	}
	badProof := func(reason string) *APIError {
		g.refused(c, "dpop", "invalid proof")
		return g.withDPoPError(LoginFailed().WithMessage("The DPoP proof is invalid: "+reason+"."),
			dpop.ErrorCode, reason)
	}
	proofs := c.Request.Header.Values(dpop.Header)
	if len(proofs) != 1 {
		return nil, badProof("send exactly one DPoP proof header")
	}
	proof, err := g.cfg.DPoP.Verify(c.Request.Context(), proofs[0], dpop.Request{
		Method: c.Request.Method, URL: g.dpopURL(c), AccessToken: raw,
	})
	if err != nil {
		if errors.Is(err, dpop.ErrInvalidProof) {
			return nil, badProof(dpop.Reason(err))
		}
		return nil, g.serverError(c, "dpop proof check failed", err)
	}
	p, e := g.oauthToken(c, raw, "dpop")
	if e != nil {
		return nil, e
	}
	switch p.Bearer.JKT {
	case "":
		// §7.1: the DPoP scheme needs a DPoP-bound token.
		g.refused(c, "dpop", "unbound token")
		return nil, g.withDPoPError(
			LoginFailed().WithMessage("This OAuth2 access token is not DPoP-bound: send it with the Bearer scheme."),
			"invalid_token", "The access token is not DPoP-bound")
	case proof.JKT:
		return p, nil
	}
	return nil, badProof("the proof key is not the key the access token is bound to")
}

// schemeError is withBearerError or, for the DPoP scheme, withDPoPError.
func (g *Guard) schemeError(scheme string, e *APIError, code, desc string) *APIError {
	if scheme == "dpop" {
		return g.withDPoPError(e, code, desc)
	}
	return g.withBearerError(e, code, desc)
}
