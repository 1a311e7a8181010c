package resources

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/authgate/authgate/resources/dpop"
)

// authenticate finds the request's credential. It returns (nil, nil) for
// an anonymous request, and an *APIError when a credential is present but
// malformed or wrong: a bad credential is never treated as anonymous
// (docs/api-tokens.md, "Deliberate differences").
func (g *Guard) authenticate(c *call) (*Principal, *APIError) {
	hs := c.r.Header.Values("Authorization")
	if len(hs) == 0 {
		return g.fromSession(c)
	}
	if e := g.checkAttempt(c); e != nil {
		return nil, e
	}
	var (
		p *Principal
		e *APIError
	)
	if len(hs) == 1 {
		p, e = g.fromHeader(c, hs[0])
	} else {
		e = g.malformed(c, "", "the request has more than one Authorization header")
	}
	g.settleAttempt(c, e)
	return p, e
}

// malformed is the 401 for an Authorization header that cannot be parsed.
// scheme is the recognised scheme ("" if none) for the log line.
func (g *Guard) malformed(c *call, scheme, what string) *APIError {
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

func (g *Guard) refused(c *call, scheme, reason string) {
	g.log.LogAttrs(c.r.Context(), slog.LevelInfo, "authentication failed",
		slog.String("scheme", scheme), slog.String("reason", reason),
		slog.String("method", c.r.Method), slog.String("path", c.r.URL.Path),
		slog.String("client_ip", g.clientIP(c)))
}

// upstreamError is the answer to a validator's failure that is not the
// caller's fault: 503 with Retry-After when the authorization server is
// unavailable (see docs/resource-servers.md, "When authgate is down"),
// else 500.
func (g *Guard) upstreamError(c *call, what string, err error) *APIError {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		g.log.LogAttrs(c.r.Context(), slog.LevelWarn, what, slog.String("error", err.Error()))
		return Unavailable(ue.RetryAfter)
	}
	return g.serverError(c, what, err)
}

func (g *Guard) serverError(c *call, what string, err error) *APIError {
	// err comes from our own stores and validators, which never put a
	// credential into an error.
	g.log.LogAttrs(c.r.Context(), slog.LevelError, what, slog.String("error", err.Error()))
	return ServerError()
}

// fromHeader parses "Authorization: <scheme> 1*SP <credentials>" (RFC 9110
// §11.4). The scheme is matched case-insensitively (RFC 9110 §11.1; Djblets
// only knows lower-case "token").
func (g *Guard) fromHeader(c *call, h string) (*Principal, *APIError) {
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
func (g *Guard) apiToken(c *call, raw string) (*Principal, *APIError) {
	a, err := g.cfg.Tokens.AuthenticateAPIToken(c.r.Context(), raw)
	if err != nil {
		var te *TokenError
		if !errors.As(err, &te) {
			return nil, g.upstreamError(c, "api token authentication failed", err)
		}
		g.refused(c, "token", reasonOf(te.Kind))
		e := LoginFailed()
		switch {
		case te.Message != "":
			// Djblets (see docs/api-tokens.md, "Authentication"): "This API token became
			// invalid on <D>: <reason>"
			// and the like; the authenticator guarantees it holds no secret.
			e = e.WithMessage(te.Message)
		case errors.Is(te.Kind, ErrTokenMalformed):
			e = e.WithMessage("The API token is malformed: its format or checksum is wrong.")
		}
		return nil, e
	}
	if a.Token.Deprecated {
		c.w.Header().Set(DeprecatedTokenHeader, DeprecatedTokenMessage)
	}
	tok := a.Token
	return &Principal{
		Method:   MethodAPIToken,
		User:     a.User,
		TokenID:  strconv.FormatInt(a.Token.ID, 10),
		Policy:   a.Policy,
		APIToken: &tok,
	}, nil
}

func reasonOf(kind error) string {
	switch {
	case errors.Is(kind, ErrTokenMalformed):
		return "malformed token"
	case errors.Is(kind, ErrTokenUnknown):
		return "unknown token"
	case errors.Is(kind, ErrTokenInvalidated):
		return "invalidated token"
	case errors.Is(kind, ErrTokenExpired):
		return "expired token"
	case errors.Is(kind, ErrTokenUserInactive):
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
func (g *Guard) bearer(c *call, raw string) (*Principal, *APIError) {
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
func (g *Guard) oauthToken(c *call, raw, scheme string) (*Principal, *APIError) {
	ctx := c.r.Context()
	bt, err := g.cfg.Bearer.ValidateBearer(ctx, raw)
	if err != nil {
		if !errors.Is(err, ErrBearerInvalid) {
			return nil, g.upstreamError(c, "bearer token validation failed", err)
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
		User:     User{ID: bt.UserID, Username: bt.Username, IsActive: true},
		TokenID:  bt.TokenID,
		ClientID: bt.ClientID,
		Scopes:   bt.Scopes,
		Bearer:   bt,
	}
	if bt.UserID != 0 && g.cfg.Users != nil {
		u, err := g.cfg.Users.UserByID(ctx, bt.UserID)
		switch {
		case errors.Is(err, ErrUserNotFound) || err == nil && !u.IsActive:
			g.refused(c, scheme, "inactive user")
			return nil, g.schemeError(scheme,
				LoginFailed().WithMessage("The user of this OAuth2 access token is inactive or no longer exists."),
				"invalid_token", "The resource owner is inactive")
		case err != nil:
			return nil, g.upstreamError(c, "load bearer token user", err)
		}
		p.User = u
	}
	return p, nil
}

// basic authenticates "Authorization: Basic base64(user:password)" (RFC 7617).
func (g *Guard) basic(c *call, cred string) (*Principal, *APIError) {
	dec, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return nil, g.malformed(c, "basic", "the Basic credentials are not valid base64")
	}
	username, password, ok := strings.Cut(string(dec), ":")
	if !ok {
		return nil, g.malformed(c, "basic", `the Basic credentials are not "username:password"`)
	}
	if e := g.takeBasicAttempt(c, username); e != nil {
		return nil, e
	}
	u, err := g.cfg.Users.CheckPassword(c.r.Context(), username, password)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			g.refused(c, "basic", "bad username or password")
			return nil, LoginFailed()
		}
		return nil, g.upstreamError(c, "basic authentication failed", err)
	}
	return &Principal{Method: MethodBasic, User: u}, nil
}

// safeMethod reports whether a method is safe (RFC 9110 §9.2.1) and so
// needs no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// fromSession authenticates the browser session cookie, if any.
func (g *Guard) fromSession(c *call) (*Principal, *APIError) {
	if g.cfg.Sessions == nil {
		return nil, nil
	}
	u, csrf, ok, err := g.cfg.Sessions.ValidateSession(c.r)
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
	if !safeMethod(c.r.Method) && !g.csrfOK(c, csrf) {
		g.refused(c, "session", "csrf")
		return nil, PermissionDenied().WithMessage("CSRF verification failed: send the session's CSRF token in the " + CSRFHeader + " header.")
	}
	return &Principal{Method: MethodSession, User: u}, nil
}

func (g *Guard) csrfOK(c *call, want string) bool {
	if want == "" {
		return false
	}
	got := c.r.Header.Get(CSRFHeader)
	if got == "" {
		if mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
			got = c.r.PostFormValue(CSRFFormField)
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
func (g *Guard) dpopURL(c *call) string {
	base := strings.TrimRight(g.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + c.r.Host
	}
	return base + c.r.URL.EscapedPath()
}

// dpopToken authenticates "Authorization: DPoP <t>" with its DPoP proof
// (RFC 9449 §7.1): the proof must pass §4.3 for this method and URL, carry
// ath for this token, and be signed by the key the token is bound to.
func (g *Guard) dpopToken(c *call, raw string) (*Principal, *APIError) {
	if !isB64Token(raw) {
		return nil, g.malformed(c, "dpop", "the access token has characters RFC 9449 does not allow")
	}
	badProof := func(reason string) *APIError {
		g.refused(c, "dpop", "invalid proof")
		return g.withDPoPError(LoginFailed().WithMessage("The DPoP proof is invalid: "+reason+"."),
			dpop.ErrorCode, reason)
	}
	proofs := c.r.Header.Values(dpop.Header)
	if len(proofs) != 1 {
		return nil, badProof("send exactly one DPoP proof header")
	}
	// The token and the proof's binding to it are checked before the
	// proof's jti is recorded (RFC 9449 §11.1): a request that fails
	// otherwise must not cost a write to the replay store. See
	// docs/resource-servers.md, "DPoP".
	p, e := g.oauthToken(c, raw, "dpop")
	if e != nil {
		return nil, e
	}
	if p.Bearer.JKT == "" {
		// §7.1: the DPoP scheme needs a DPoP-bound token.
		g.refused(c, "dpop", "unbound token")
		return nil, g.withDPoPError(
			LoginFailed().WithMessage("This OAuth2 access token is not DPoP-bound: send it with the Bearer scheme."),
			"invalid_token", "The access token is not DPoP-bound")
	}
	proof, err := g.cfg.DPoP.Check(proofs[0], dpop.Request{
		Method: c.r.Method, URL: g.dpopURL(c), AccessToken: raw,
	})
	if err != nil {
		return nil, badProof(dpop.Reason(err))
	}
	if proof.JKT != p.Bearer.JKT {
		return nil, badProof("the proof key is not the key the access token is bound to")
	}
	if err := g.cfg.DPoP.Record(c.r.Context(), proof); err != nil {
		if errors.Is(err, dpop.ErrInvalidProof) {
			return nil, badProof(dpop.Reason(err))
		}
		return nil, g.serverError(c, "dpop proof check failed", err)
	}
	return p, nil
}

// schemeError is withBearerError or, for the DPoP scheme, withDPoPError.
func (g *Guard) schemeError(scheme string, e *APIError, code, desc string) *APIError {
	if scheme == "dpop" {
		return g.withDPoPError(e, code, desc)
	}
	return g.withBearerError(e, code, desc)
}
