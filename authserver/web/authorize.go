package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"
	oautherrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/server"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/scopes"
)

// authzParamNames are the authorization request parameters we read. RFC 6749
// §3.1: a parameter sent more than once makes the request invalid.
var authzParamNames = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method", "prompt", "response_mode",
	"request", "request_uri", "nonce", "max_age", "id_token_hint",
}

// authzRequest is an authorization request whose client and redirect URI
// have been checked: from here on, errors may be redirected to RedirectURI.
type authzRequest struct {
	Client Client
	// RedirectURI is where the response goes; RedirectGiven says whether the
	// request named it (it is then echoed in the consent form).
	RedirectURI   string
	RedirectGiven bool
	State         string
	ScopeRaw      string
	Scope         scopes.Set
	Challenge     string
	// ChallengeMethod is S256, or plain when configured.
	ChallengeMethod oauth2.CodeChallengeMethod
	Prompt          string
	// Resource are the RFC 8707 resource parameters as sent; Audience is
	// the audience bound into the code (nil: authgate's own).
	Resource []string
	Audience []string
	// OIDC holds the OpenID Connect parameters (oidc.go).
	OIDC oidcParams
}

// authzError is an RFC 6749 §4.1.2.1 error response.
type authzError struct {
	Code        string
	Description string
}

func (e *authzError) Error() string { return e.Code + ": " + e.Description }

func authzFail(code, format string, args ...any) *authzError {
	return &authzError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// authzParams returns the request's authorization parameters: the query
// string of a GET, the urlencoded body of a POST (RFC 6749 §3.1 allows both).
func authzParams(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodGet {
		return r.URL.Query(), nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, errors.New("the authorization request must be sent as a query string or an application/x-www-form-urlencoded form")
	}
	if err := r.ParseForm(); err != nil {
		return nil, errors.New("the form could not be read")
	}
	return r.PostForm, nil
}

// authorize serves GET and POST /oauth/authorize. The request is validated
// completely here, before go-oauth2 sees it (docs/go-oauth2.md, "Hooks authgate replaces", item 1);
// the library is only asked to issue the code.
func (w *Pages) authorize(c *gin.Context) {
	params, err := authzParams(c.Request)
	if err != nil {
		w.errorPage(c, http.StatusBadRequest, "Invalid authorization request", err.Error())
		return
	}
	ar, ok := w.trustRedirect(c, params)
	if !ok {
		return
	}
	if aerr := w.validateAuthz(ar, params); aerr != nil {
		w.redirectError(c, ar, aerr)
		return
	}

	cur, err := w.currentSession(c)
	if err != nil {
		w.internalError(c, "load session", err)
		return
	}
	if cur == nil {
		if ar.Prompt == "none" {
			// OpenID Connect Core §3.1.2.6, used by OAuth clients too.
			w.redirectError(c, ar, authzFail("login_required", "the user is not signed in"))
			return
		}
		seeOther(c, webPathLogin+"?"+url.Values{"return_to": {webPathAuthorize + "?" + ar.encode().Encode()}}.Encode())
		return
	}
	if !w.sessionSatisfies(c, ar, cur) {
		return
	}

	decision := ""
	if c.Request.Method == http.MethodPost {
		decision = params.Get("decision")
	}
	if decision != "" {
		if crossSite(c.Request) || !sessions.ValidCSRF(cur.CSRFToken(), params.Get(sessions.CSRFField)) {
			w.errorPage(c, http.StatusForbidden, "Request refused",
				"The consent form expired or did not come from this site. Go back to the application and start again.")
			return
		}
		switch decision {
		case "allow":
			if _, err := w.deps.Consents.Grant(c.Request.Context(), cur.User.ID, ar.Client.ID, ar.Scope); err != nil {
				w.internalError(c, "store consent", err)
				return
			}
			w.issueCode(c, ar, cur)
		case "deny":
			w.redirectError(c, ar, authzFail("access_denied", "the user denied the request"))
		default:
			w.errorPage(c, http.StatusBadRequest, "Invalid request", "Unknown decision.")
		}
		return
	}

	consent, err := w.deps.Consents.Get(c.Request.Context(), cur.User.ID, ar.Client.ID)
	if err != nil && !errors.Is(err, authserver.ErrConsentNotFound) {
		w.internalError(c, "load consent", err)
		return
	}
	if err == nil && consent.Covers(ar.Scope) && ar.Prompt != "consent" {
		w.issueCode(c, ar, cur)
		return
	}
	if ar.Prompt == "none" {
		w.redirectError(c, ar, authzFail("consent_required", "the user has not approved these scopes"))
		return
	}
	w.renderConsent(c, ar, cur, consent.Scopes)
}

// trustRedirect checks the client and the redirect URI. Until both are
// known good, every error is shown on our own page and nothing is
// redirected (RFC 6749 §4.1.2.1; go-oauth2 #105 and #298: no open
// redirector, error paths included).
func (w *Pages) trustRedirect(c *gin.Context, params url.Values) (*authzRequest, bool) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(params[name]) > 1 {
			w.errorPage(c, http.StatusBadRequest, "Invalid authorization request", fmt.Sprintf("The parameter %s was sent more than once.", name))
			return nil, false
		}
	}
	clientID := params.Get("client_id")
	if clientID == "" {
		w.errorPage(c, http.StatusBadRequest, "Invalid authorization request", "The request does not name a client (client_id is missing).")
		return nil, false
	}
	cl, found, err := w.deps.Clients.LookupClient(c.Request.Context(), clientID)
	if err != nil {
		w.internalError(c, "load client", err)
		return nil, false
	}
	if !found || !cl.Active {
		w.errorPage(c, http.StatusBadRequest, "Unknown application", "The application that sent you here is not registered with this server, or has been disabled.")
		return nil, false
	}
	ar := &authzRequest{Client: cl}
	if raw, given := params["redirect_uri"]; given {
		uri := raw[0]
		if !authserver.MatchRedirectURI(cl.RedirectURIs, uri) {
			w.errorPage(c, http.StatusBadRequest, "Invalid redirect URI", "The redirect URI in the request is not registered for this application.")
			return nil, false
		}
		ar.RedirectURI, ar.RedirectGiven = uri, true
	} else {
		// RFC 6749 §3.1.2.3: without redirect_uri the client must have
		// exactly one registered.
		if len(cl.RedirectURIs) != 1 {
			w.errorPage(c, http.StatusBadRequest, "Invalid authorization request", "The request has no redirect_uri and the application has more than one registered.")
			return nil, false
		}
		ar.RedirectURI = cl.RedirectURIs[0]
	}
	return ar, true
}

// validateAuthz checks the rest of the request; its errors are redirected.
func (w *Pages) validateAuthz(ar *authzRequest, params url.Values) *authzError {
	if st := params["state"]; len(st) > 0 {
		ar.State = st[0] // echo state even on the duplicate-parameter error below
	}
	for _, name := range authzParamNames {
		if len(params[name]) > 1 {
			return authzFail("invalid_request", "parameter %s was sent more than once", name)
		}
	}
	if len(ar.State) > 2048 {
		ar.State = ""
		return authzFail("invalid_request", "state is too long")
	}
	switch rt := params.Get("response_type"); rt {
	case "":
		return authzFail("invalid_request", "response_type is required")
	case "code":
	default:
		// OAuth 2.1 §10 / RFC 9700 §2.1.2: no implicit grant.
		return authzFail("unsupported_response_type", "only response_type=code is supported")
	}
	if !ar.Client.AuthorizationCode {
		return authzFail("unauthorized_client", "the client may not use the authorization code grant")
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		return authzFail("invalid_request", "only response_mode=query is supported")
	}
	if params.Get("request") != "" || params.Get("request_uri") != "" {
		return authzFail("invalid_request", "request objects are not supported")
	}
	ar.Prompt = params.Get("prompt")
	switch ar.Prompt {
	case "", "none", "consent", "login":
	default:
		return authzFail("invalid_request", "unsupported prompt value")
	}
	if aerr := w.readOIDCParams(ar, params); aerr != nil {
		return aerr
	}

	// PKCE (RFC 7636; RFC 9700 §2.1.1): S256 (plain only when configured),
	// required for public clients and, when configured, for all.
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	plainOK := w.cfg.AllowPlainPKCE && method == string(oauth2.CodeChallengePlain)
	switch {
	case challenge == "" && method != "":
		return authzFail("invalid_request", "code_challenge_method was sent without code_challenge")
	case challenge == "" && (ar.Client.Public || !w.cfg.AllowConfidentialWithoutPKCE):
		return authzFail("invalid_request", "code_challenge is required (PKCE with S256)")
	case challenge != "" && method != string(oauth2.CodeChallengeS256) && !plainOK:
		// RFC 7636 §4.3 defaults an absent method to plain; plain is refused.
		return authzFail("invalid_request", "code_challenge_method must be S256")
	case challenge != "" && !plainOK && !validS256Challenge(challenge):
		return authzFail("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)")
	case plainOK && !validPlainChallenge(challenge):
		return authzFail("invalid_request", "code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~")
	}
	ar.Challenge = challenge
	ar.ChallengeMethod = oauth2.CodeChallengeS256
	if plainOK {
		ar.ChallengeMethod = oauth2.CodeChallengePlain
	}

	// RFC 6749 §3.3: every scope must be known and allowed for the client.
	ar.ScopeRaw = params.Get("scope")
	set, err := scopes.ParseSet(ar.ScopeRaw)
	if err != nil {
		return authzFail("invalid_scope", "the scope parameter is malformed")
	}
	if set.Empty() {
		return authzFail("invalid_scope", "no scope was requested")
	}
	var bad []string
	for _, s := range set.Items() {
		if !ar.Client.Scopes.Has(s) || !w.deps.Scopes.HasScope(s) {
			bad = append(bad, s)
		}
	}
	if len(bad) > 0 {
		return authzFail("invalid_scope", "scope not allowed for this client: %s", truncateDesc(strings.Join(bad, " "), 200))
	}
	ar.Scope = set
	// RFC 8707 §2: resource may repeat; each must be known, else
	// invalid_target. Without it the scopes may still decide the audience.
	ar.Resource = params["resource"]
	aud, code, desc := authserver.ResolveAudience(w.deps.Scopes, w.cfg.Audience, ar.Resource, set)
	if code != "" {
		return authzFail(code, "%s", desc)
	}
	ar.Audience = aud
	return nil
}

func truncateDesc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// validS256Challenge reports whether s is base64url (no padding) of 32 bytes,
// the only form BASE64URL(SHA256(verifier)) can take (RFC 7636 §4.2).
func validS256Challenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// validPlainChallenge checks RFC 7636 §4.1's code_verifier grammar, which a
// plain challenge equals: 43-128 characters of unreserved URI characters.
func validPlainChallenge(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// encode returns the request's parameters, for the login return URL and the
// consent form's hidden fields.
func (ar *authzRequest) encode() url.Values {
	v := url.Values{}
	v.Set("response_type", "code")
	v.Set("client_id", ar.Client.ID)
	if ar.RedirectGiven {
		v.Set("redirect_uri", ar.RedirectURI)
	}
	if ar.ScopeRaw != "" {
		v.Set("scope", ar.ScopeRaw)
	}
	if ar.State != "" {
		v.Set("state", ar.State)
	}
	if ar.Challenge != "" {
		v.Set("code_challenge", ar.Challenge)
		v.Set("code_challenge_method", string(ar.ChallengeMethod))
	}
	if len(ar.Resource) > 0 {
		v["resource"] = ar.Resource
	}
	ar.OIDC.encode(v)
	return v
}

// redirectToClient sends the browser to the validated redirect URI with the
// given response parameters plus state and iss (RFC 9207 §2), using 303.
func (w *Pages) redirectToClient(c *gin.Context, ar *authzRequest, resp url.Values) {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		w.internalError(c, "parse validated redirect URI", err)
		return
	}
	q := u.Query()
	for k, vs := range resp {
		q[k] = vs
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	q.Set("iss", w.cfg.Issuer)
	u.RawQuery = q.Encode()
	u.Fragment = ""
	seeOther(c, u.String())
}

// redirectError sends an error response to the (validated) redirect URI.
func (w *Pages) redirectError(c *gin.Context, ar *authzRequest, e *authzError) {
	resp := url.Values{"error": {e.Code}}
	if e.Description != "" {
		resp.Set("error_description", e.Description)
	}
	w.redirectToClient(c, ar, resp)
}

// issueCode has go-oauth2 create and store the authorization code for the
// validated request and signed-in user, then redirects with code, state and
// iss.
func (w *Pages) issueCode(c *gin.Context, ar *authzRequest, cur *sessions.Current) {
	srv := w.deps.OAuth
	req := &server.AuthorizeRequest{
		ResponseType: oauth2.Code,
		ClientID:     ar.Client.ID,
		RedirectURI:  ar.RedirectURI,
		Scope:        ar.Scope.String(),
		State:        ar.State,
		UserID:       strconv.FormatInt(cur.User.ID, 10),
		// The audience, nonce and sign-in time reach the code through
		// extractExtension.
		Request: c.Request.WithContext(authserver.WithCodeExtension(
			authserver.WithAudience(c.Request.Context(), ar.Audience), ar.OIDC.extension(cur))),
	}
	if ar.Challenge != "" {
		req.CodeChallenge = ar.Challenge
		req.CodeChallengeMethod = ar.ChallengeMethod
	}
	if fn := srv.AccessTokenExpHandler; fn != nil {
		exp, err := fn(c.Writer, c.Request)
		if err != nil {
			w.deps.Logger.Error("access token lifetime hook", "error", err)
			w.redirectError(c, ar, authzFail("server_error", "the authorization server could not issue a code"))
			return
		}
		req.AccessTokenExp = exp
	}
	ti, err := srv.GetAuthorizeToken(c.Request.Context(), req)
	if err != nil {
		code, desc := "server_error", "the authorization server could not issue a code"
		switch {
		case errors.Is(err, oautherrors.ErrInvalidRequest):
			// The manager refuses a PKCE challenge this client already used
			// (rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": constant
			// challenges protect nothing).
			code, desc = "invalid_request", "the code_challenge was used before; send a fresh one for every request"
		case errors.Is(err, oautherrors.ErrInvalidScope):
			code = "invalid_scope"
		case errors.Is(err, oautherrors.ErrUnauthorizedClient):
			code = "unauthorized_client"
		case errors.Is(err, oautherrors.ErrAccessDenied):
			code = "access_denied"
		default:
			w.deps.Logger.Error("issue authorization code", "client_id", ar.Client.ID, "error", err)
		}
		w.redirectError(c, ar, authzFail(code, "%s", desc))
		return
	}
	w.redirectToClient(c, ar, url.Values{"code": {ti.GetCode()}})
}
