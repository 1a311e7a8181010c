// Package web is the browser-facing half of the authorization server:
// /oauth/authorize, login, logout, consent, the home page and the account
// pages (profile and password, API tokens, authorized apps). Everything
// here is rendered on the server with html/template in one layout; the core
// actions work without JavaScript, and one small embedded script adds live
// policy validation and a copy button. See docs/web-pages.md. The protocol half (token endpoint, clients, codes) is
// package authserver, which this package builds on and which never imports
// it. See docs/architecture.md, "Package map".
package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4/server"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

//go:embed templates/*.html templates/*.css templates/*.js
var webTemplateFS embed.FS

// Paths of the web pages.
const (
	webPathAuthorize = "/oauth/authorize"
	webPathLogin     = "/login"
	webPathLogout    = "/logout"
	webPathHome      = "/"
	webPathAccount   = "/account/"
	webPathPassword  = "/account/password"
	webPathProfile   = "/account/profile"
	webPathTokens    = "/account/api-tokens/"
	webPathApps      = "/account/authorized-apps/"
)

// DefaultLoginIPAttempts is Config.LoginIPAttempts when zero: failed
// sign-ins a client IP may make per login window, whatever the usernames.
const DefaultLoginIPAttempts = 20

// Config configures the web pages and the authorization endpoint.
type Config struct {
	// Issuer is the authorization server's issuer identifier (RFC 8414 §2),
	// sent as iss in every authorization response (RFC 9207 §2).
	Issuer string
	// AllowConfidentialWithoutPKCE lets confidential clients omit the
	// code_challenge; public clients always need one (RFC 9700 §2.1.1). The
	// zero value requires PKCE from every client.
	AllowConfidentialWithoutPKCE bool
	// AllowPlainPKCE accepts code_challenge_method=plain. RFC 9700 §2.1.1
	// says S256; leave it false.
	AllowPlainPKCE bool
	// SecureCookies sets the Secure attribute on our cookies; nil means
	// "when the issuer is https".
	SecureCookies *bool
	// LoginAttempts is the burst of login attempts allowed per client IP and
	// username; one more attempt is allowed every LoginWindow/LoginAttempts.
	LoginAttempts int
	LoginWindow   time.Duration
	// LoginIPAttempts is the burst of sign-in attempts allowed per client
	// IP whatever the username, refilled over LoginWindow too; 0 means 20,
	// negative no per-IP limit.
	LoginIPAttempts int
	// CSRFKey signs the login form's double-submit CSRF token. Instances
	// sharing a database should share it; when empty a random key is made,
	// valid for this process only.
	CSRFKey []byte
	// Audience is the aud of tokens for authgate's own API (default the
	// issuer); a resource parameter naming it is accepted (RFC 8707).
	Audience string
	// SigningAlg and KeyPublishDelay are the defaults of a key rotation on
	// /admin/keys/ (those of `authgate key rotate`): the access-token
	// key's algorithm (default EdDSA) and how long a new key is published
	// before it signs (default one hour).
	SigningAlg      string
	KeyPublishDelay time.Duration
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// Client is what the authorization endpoint and the account page need to
// know about an OAuth client.
type Client struct {
	ID           string
	Name         string
	Public       bool
	Active       bool
	RedirectURIs []string
	// OwnerID is the user who registered the client; 0: the operator.
	OwnerID int64
	// AuthorizationCode says whether the client may use the authorization
	// code grant at all.
	AuthorizationCode bool
	// Scopes are the scopes the client may ask for.
	Scopes scopes.Set
}

// Clients looks clients up for the web pages. Lookup returns ok=false
// (and a nil error) for an unknown client.
type Clients interface {
	LookupClient(ctx context.Context, clientID string) (c Client, ok bool, err error)
}

// ClientStoreClients adapts a ClientStore to Clients.
func ClientStoreClients(cs authserver.ClientStore) Clients { return storeClients{cs} }

type storeClients struct{ store authserver.ClientStore }

func (s storeClients) LookupClient(ctx context.Context, id string) (Client, bool, error) {
	cl, err := s.store.GetClient(ctx, id)
	if errors.Is(err, authserver.ErrClientNotFound) {
		return Client{}, false, nil
	}
	if err != nil {
		return Client{}, false, err
	}
	return Client{
		ID:                cl.ID,
		Name:              cl.Name,
		Public:            cl.Public,
		Active:            !cl.Disabled(),
		RedirectURIs:      cl.RedirectURIs,
		OwnerID:           cl.OwnerID,
		AuthorizationCode: cl.AllowsGrant(authserver.GrantAuthorizationCode),
		Scopes:            cl.AllowedScopes(),
	}, true, nil
}

// Deps are the services the web pages use. APITokens and RevokeGrants
// are optional.
type Deps struct {
	Sessions *sessions.Manager
	Users    users.Store
	Consents authserver.ConsentStore
	Clients  Clients
	Scopes   *scopes.Registry
	// OAuth is the go-oauth2 server that issues authorization codes once a
	// request has been validated here.
	OAuth *server.Server
	// APITokens is the API token manager the management API writes
	// through too: the token pages call the same methods, so there is no
	// second write path. Nil hides the token pages.
	APITokens *tokens.Manager
	// RevokeGrants revokes every token a client holds for a user; called
	// when the user withdraws an app's access on the account page.
	RevokeGrants func(ctx context.Context, userID int64, clientID string) error
	// ClientAdmin and Keys serve /admin/clients/ and /admin/keys/ (nil:
	// no such page); NewFor fills them from the authorization server.
	ClientAdmin ClientAdmin
	Keys        SigningKeys
	// Resources is the run-time resource registry's write path for the
	// admin console; nil shows the registry read-only.
	Resources Resources
	// Devices serves the device verification page (RFC 8628); nil: no
	// /device page.
	Devices Devices
	// IDTokenHint verifies an id_token_hint (an ID token this server
	// issued) and returns its sub and aud; nil ignores hints.
	IDTokenHint func(ctx context.Context, raw string) (sub string, aud []string, err error)
	Logger      *slog.Logger
}

// Pages serves the browser-facing pages. Create it with New or NewFor.
type Pages struct {
	cfg       Config
	deps      Deps
	issuer    *url.URL
	tmpl      *template.Template
	csp       string
	css       template.CSS
	js        template.JS
	limiter   *authserver.Limiter
	ipLimiter *authserver.Limiter // nil: no per-IP limit
	csrfSign  loginCSRFSigner
	// deviceLimiter limits user-code guesses on /device.
	deviceLimiter *authserver.Limiter
}

// New checks cfg and deps and returns the web pages' handler set.
func New(cfg Config, deps Deps) (*Pages, error) {
	if deps.Sessions == nil || deps.Users == nil || deps.Consents == nil || deps.Clients == nil || deps.Scopes == nil || deps.OAuth == nil {
		return nil, errors.New("web pages: Sessions, Users, Consents, Clients, Scopes and OAuth are required")
	}
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" || iss.RawQuery != "" || iss.Fragment != "" {
		// RFC 8414 §2: the issuer is an https URL with no query or fragment.
		return nil, fmt.Errorf("web pages: issuer %q must be an http(s) URL without query or fragment", cfg.Issuer)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SigningAlg == "" {
		cfg.SigningAlg = signing.AlgEdDSA
	}
	if cfg.KeyPublishDelay <= 0 {
		cfg.KeyPublishDelay = authserver.DefaultKeyPublishDelay
	}
	if cfg.LoginAttempts <= 0 {
		cfg.LoginAttempts = 5
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = time.Minute
	}
	key := cfg.CSRFKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("web pages: CSRF key: %w", err)
		}
	}
	css, err := webTemplateFS.ReadFile("templates/authgate.css")
	if err != nil {
		return nil, fmt.Errorf("web pages: stylesheet: %w", err)
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
		"deref":    func(t *time.Time) time.Time { return *t },
		"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	}).ParseFS(webTemplateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web pages: templates: %w", err)
	}
	js, err := webTemplateFS.ReadFile("templates/policy-editor.js")
	if err != nil {
		return nil, fmt.Errorf("web pages: script: %w", err)
	}
	sum := sha256.Sum256(css)
	jsSum := sha256.Sum256(js)
	w := &Pages{
		cfg:    cfg,
		deps:   deps,
		issuer: iss,
		tmpl:   tmpl,
		css:    template.CSS(css),
		js:     template.JS(js),
		// frame-ancestors 'none' is the CSP form of X-Frame-Options: DENY
		// (RFC 9700 §4.16). form-action is left out on purpose: browsers
		// apply it to the redirect that follows a form post, and the consent
		// form must be able to redirect to any registered client. The one
		// script is inline and allowed by its hash, like the stylesheet;
		// connect-src 'self' lets it ask this server to validate a policy.
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(jsSum[:]) +
			"'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
		limiter:  authserver.NewLimiter(cfg.LoginAttempts, cfg.LoginWindow, cfg.Now),
		csrfSign: loginCSRFSigner{key: key},

		deviceLimiter: authserver.NewLimiter(deviceAttempts, deviceWindow, cfg.Now),
	}
	if cfg.LoginIPAttempts >= 0 {
		w.ipLimiter = authserver.NewLimiter(cmp.Or(cfg.LoginIPAttempts, DefaultLoginIPAttempts), cfg.LoginWindow, cfg.Now)
	}
	return w, nil
}

// NewFor returns the web pages of the authorization server s: the
// issuer, PKCE policy, go-oauth2 server, client registry and grant
// revocation come from s. cfg and deps supply the rest. s is not changed:
// its metadata advertises the iss response parameter (RFC 9207 §3) on its
// own, since these pages are its only authorization endpoint.
func NewFor(s *authserver.Server, cfg Config, deps Deps) (*Pages, error) {
	set := s.Settings()
	cfg.Issuer = set.Issuer
	cfg.AllowConfidentialWithoutPKCE = set.AllowConfidentialWithoutPKCE
	cfg.AllowPlainPKCE = set.AllowPlainPKCE
	cfg.Audience = set.Audience
	cfg.SigningAlg, cfg.KeyPublishDelay = set.SigningAlg, set.KeyPublishDelay
	deps.OAuth = s.OAuth2
	if deps.Clients == nil {
		deps.Clients = ClientStoreClients(s.Clients)
	}
	if deps.Devices == nil {
		deps.Devices = s
	}
	if deps.ClientAdmin == nil {
		deps.ClientAdmin = s
	}
	if deps.Keys == nil && s.Keys != nil {
		deps.Keys = s.Keys
	}
	if deps.RevokeGrants == nil {
		deps.RevokeGrants = s.RevokeUserClient // records consent.revoked
	}
	if deps.IDTokenHint == nil {
		deps.IDTokenHint = s.VerifyIDTokenHint
	}
	return New(cfg, deps)
}

// Mount registers the web routes on r: /oauth/authorize, /login, /logout,
// / and the /account/ pages.
func (w *Pages) Mount(r gin.IRouter) {
	g := r.Group("", w.pageHeaders)
	g.GET(webPathAuthorize, w.authorize)
	g.POST(webPathAuthorize, w.authorize)
	g.GET(webPathLogin, w.loginPage)
	g.POST(webPathLogin, w.loginSubmit)
	g.GET(webPathLogout, w.logoutPage)
	g.POST(webPathLogout, w.logoutSubmit)
	g.GET(webPathHome, w.homePage)
	g.GET(webPathEndSession, w.endSession)
	g.POST(webPathEndSession, w.endSession)
	g.GET(webPathAccount, w.accountPage)
	g.POST(webPathPassword, w.changePassword)
	g.POST(webPathProfile, w.changeProfile)
	g.GET(webPathApps, w.appsPage)
	g.POST(webPathApps+"revoke", w.accountRevokeApp)
	// The account page's old form target, kept for pages already open.
	g.POST(webPathAccount+"apps/revoke", w.accountRevokeApp)
	w.mountAdmin(g)
	w.mountTokens(g)
	if w.deps.Devices != nil {
		g.GET(webPathDevice, w.devicePage)
		g.POST(webPathDevice, w.deviceSubmit)
	}
}

// secureCookies reports whether cookies get the Secure attribute.
func (w *Pages) secureCookies() bool {
	if w.cfg.SecureCookies != nil {
		return *w.cfg.SecureCookies
	}
	return w.issuer.Scheme == "https"
}

// pageHeaders sets the browser-protection headers on every web response,
// redirects included.
func (w *Pages) pageHeaders(c *gin.Context) {
	h := c.Writer.Header()
	// RFC 9700 §4.16: anti-clickjacking on the login and consent pages.
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", w.csp)
	// The authorization URL (and a redirect carrying a code) must not leak
	// through Referer (RFC 9700 §4.2.4).
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// RFC 9700 §2.x / OAuth 2.1: no CORS on the authorization endpoint, so
	// no Access-Control-* header is ever set on these routes.
	c.Next()
}

// render writes an HTML page. Template errors are logged and answered with
// a bare 500; they are programming errors, never caused by input.
func (w *Pages) render(c *gin.Context, status int, name string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["CSS"] = w.css
	if data["Script"] == true {
		data["JS"] = w.js
	}
	var buf bytes.Buffer
	if err := w.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		w.deps.Logger.Error("render page", "template", name, "error", err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorPage renders our own error page. It is used for every error that
// must not be redirected (RFC 6749 §4.1.2.1: unknown client or untrusted
// redirect URI), so nothing here ever sends the browser elsewhere.
func (w *Pages) errorPage(c *gin.Context, status int, title, msg string) {
	w.render(c, status, "error.html", map[string]any{"Title": title, "Message": msg})
	c.Abort()
}

// internalError logs err and renders a generic 500 page.
func (w *Pages) internalError(c *gin.Context, what string, err error) {
	w.deps.Logger.Error(what, "error", err, "path", c.Request.URL.Path)
	w.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not complete the request. Please try again later.")
}

// seeOther redirects with 303 See Other: the browser follows with a GET and
// drops the request body (RFC 9700 §4.12: never 307 for credentials).
func seeOther(c *gin.Context, location string) {
	c.Redirect(http.StatusSeeOther, location)
	c.Abort()
}

// crossSite reports whether the browser says the request came from another
// site (Fetch Metadata). A defence in depth behind the CSRF tokens: forms
// are only ever posted from our own pages.
func crossSite(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") == "cross-site"
}

// currentSession loads the request's session. A missing, expired or invalid
// session yields nil (and clears a stale cookie); only storage errors are
// returned.
func (w *Pages) currentSession(c *gin.Context) (*sessions.Current, error) {
	cur, err := w.deps.Sessions.Load(c.Request)
	switch {
	case err == nil:
		return cur, nil
	case errors.Is(err, sessions.ErrNoSession):
		return nil, nil
	case errors.Is(err, sessions.ErrInvalid), errors.Is(err, sessions.ErrExpired), errors.Is(err, sessions.ErrUserInactive):
		w.deps.Sessions.ClearCookie(c.Writer)
		return nil, nil
	default:
		return nil, err
	}
}

// signedIn returns the request's signed-in session. Otherwise it answers
// the request itself — a 303 to the login page (which returns to returnTo
// when set) or an error page — and returns nil.
func (w *Pages) signedIn(c *gin.Context, returnTo string) *sessions.Current {
	cur, err := w.currentSession(c)
	if err != nil {
		w.internalError(c, "load session", err)
		return nil
	}
	if cur == nil {
		target := webPathLogin
		if returnTo != "" {
			target += "?" + url.Values{"return_to": {returnTo}}.Encode()
		}
		seeOther(c, target)
		return nil
	}
	return cur
}

// signedInForm is signedIn for a form submission: the form must also come
// from this site and carry the session's CSRF token, else the request is
// refused with refusal as the explanation.
func (w *Pages) signedInForm(c *gin.Context, refusal string) *sessions.Current {
	cur := w.signedIn(c, "")
	if cur == nil {
		return nil
	}
	if crossSite(c.Request) || !sessions.ValidCSRF(cur.CSRFToken(), c.PostForm(sessions.CSRFField)) {
		w.errorPage(c, http.StatusForbidden, "Request refused", refusal)
		return nil
	}
	return cur
}

// safeReturnTo returns p when it is a path on this server, else def. It is
// what keeps the login page from being an open redirector.
func safeReturnTo(p, def string) string {
	if p == "" || len(p) > 8192 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsAny(p, "\\\r\n\t") {
		return def
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return def
	}
	return p
}
