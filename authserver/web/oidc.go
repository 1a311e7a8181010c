package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/sessions"
)

// OpenID Connect's additions to the authorization request (Core §3.1.2.1)
// and RP-initiated logout. See docs/openid-connect.md.

// webPathEndSession is the end_session_endpoint (RP-Initiated Logout 1.0).
const webPathEndSession = authserver.PathEndSession

// oidcParams are the OpenID Connect parameters of an authorization request.
type oidcParams struct {
	Nonce       string
	MaxAge      int // -1: none
	IDTokenHint string
}

func (w *Pages) readOIDCParams(ar *authzRequest, params url.Values) *authzError {
	ar.OIDC = oidcParams{Nonce: params.Get("nonce"), MaxAge: -1, IDTokenHint: params.Get("id_token_hint")}
	if len(ar.OIDC.Nonce) > 512 {
		return authzFail("invalid_request", "nonce is too long")
	}
	if len(ar.OIDC.IDTokenHint) > 8192 {
		return authzFail("invalid_request", "id_token_hint is too long")
	}
	if raw := params.Get("max_age"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return authzFail("invalid_request", "max_age must be a non-negative number of seconds")
		}
		ar.OIDC.MaxAge = n
	}
	return nil
}

// encode adds the parameters to the login return URL and the consent form.
// prompt is not among them (as before OpenID Connect): the sign-in or the
// consent page the browser is sent to is what it asked for.
func (p oidcParams) encode(v url.Values) {
	if p.Nonce != "" {
		v.Set("nonce", p.Nonce)
	}
	if p.MaxAge >= 0 {
		v.Set("max_age", strconv.Itoa(p.MaxAge))
	}
	if p.IDTokenHint != "" {
		v.Set("id_token_hint", p.IDTokenHint)
	}
}

// extension is what the code remembers for the ID token: the nonce and
// when the user signed in (auth_time, the session's start).
func (p oidcParams) extension(cur *sessions.Current) url.Values {
	v := url.Values{authserver.ExtAuthTime: {strconv.FormatInt(cur.Session.CreatedAt.Unix(), 10)}}
	if p.Nonce != "" {
		v.Set(authserver.ExtNonce, p.Nonce)
	}
	return v
}

// needsFreshLogin reports whether the request asks for a sign-in newer than
// the session's: prompt=login, or a max_age the session is older than.
func needsFreshLogin(ar *authzRequest, cur *sessions.Current, now time.Time) bool {
	if ar.Prompt == "login" {
		return true
	}
	return ar.OIDC.MaxAge >= 0 && int64(now.Sub(cur.Session.CreatedAt)/time.Second) > int64(ar.OIDC.MaxAge)
}

// freshLogin sends the browser to the sign-in form even though it has a
// session; prompt=login is dropped from the request it returns to, so the
// new sign-in satisfies it.
func (w *Pages) freshLogin(c *gin.Context, ar *authzRequest) {
	v := ar.encode()
	seeOther(c, webPathLogin+"?"+url.Values{"return_to": {webPathAuthorize + "?" + v.Encode()}, "reauth": {"1"}}.Encode())
}

// sessionSatisfies checks the signed-in session against the request's
// id_token_hint, prompt=login and max_age; when it does not satisfy them
// it has answered (an error for prompt=none, else the sign-in form) and
// returns false.
func (w *Pages) sessionSatisfies(c *gin.Context, ar *authzRequest, cur *sessions.Current) bool {
	if ar.Prompt == "none" {
		if other, aerr := w.hintMismatch(c.Request.Context(), ar, cur); aerr != nil || other {
			if aerr == nil {
				aerr = authzFail("login_required", "the signed-in user is not the one the id_token_hint names")
			}
			w.redirectError(c, ar, aerr)
			return false
		}
	}
	if !needsFreshLogin(ar, cur, time.Now()) {
		return true
	}
	if ar.Prompt == "none" {
		w.redirectError(c, ar, authzFail("login_required", "the sign-in is older than max_age"))
	} else {
		w.freshLogin(c, ar)
	}
	return false
}

// hintMismatch reports whether an id_token_hint names another user than
// the signed-in one (Core §3.1.2.1: then login_required for prompt=none).
func (w *Pages) hintMismatch(ctx context.Context, ar *authzRequest, cur *sessions.Current) (bool, *authzError) {
	if ar.OIDC.IDTokenHint == "" || w.deps.IDTokenHint == nil {
		return false, nil
	}
	sub, _, err := w.deps.IDTokenHint(ctx, ar.OIDC.IDTokenHint)
	if err != nil {
		return false, authzFail("invalid_request", "id_token_hint is not an ID token issued by this server")
	}
	return sub != authserver.Subject(cur.User.ID), nil
}

// endSession serves GET and POST /oauth/logout (OpenID Connect RP-Initiated
// Logout 1.0). With an id_token_hint naming the signed-in user the session
// ends at once; without one the user confirms on the sign-out page, so a
// cross-site link cannot sign anyone out. post_logout_redirect_uri must
// exactly equal one of the client's registered redirect URIs (the client
// named by client_id or by the hint's aud); otherwise the browser stays
// here.
func (w *Pages) endSession(c *gin.Context) {
	var params url.Values
	if c.Request.Method == http.MethodPost {
		if err := c.Request.ParseForm(); err != nil {
			w.errorPage(c, http.StatusBadRequest, "Invalid sign-out request", "The form could not be read.")
			return
		}
		params = c.Request.PostForm
	} else {
		params = c.Request.URL.Query()
	}
	ctx := c.Request.Context()
	clientID := params.Get("client_id")
	hintSub := ""
	if hint := params.Get("id_token_hint"); hint != "" && w.deps.IDTokenHint != nil {
		sub, aud, err := w.deps.IDTokenHint(ctx, hint)
		if err != nil || (clientID != "" && !slices.Contains(aud, clientID)) {
			w.errorPage(c, http.StatusBadRequest, "Invalid sign-out request", "The id_token_hint was not issued by this server for this application.")
			return
		}
		hintSub = sub
		if clientID == "" && len(aud) == 1 {
			clientID = aud[0]
		}
	}
	target := ""
	if uri := params.Get("post_logout_redirect_uri"); uri != "" {
		cl, found, err := w.deps.Clients.LookupClient(ctx, clientID)
		if err != nil {
			w.internalError(c, "load client", err)
			return
		}
		if clientID == "" || !found || !cl.Active || !slices.Contains(cl.RedirectURIs, uri) {
			w.errorPage(c, http.StatusBadRequest, "Invalid sign-out request", "The post_logout_redirect_uri is not registered for this application.")
			return
		}
		u, err := url.Parse(uri)
		if err != nil {
			w.internalError(c, "parse registered URI", err)
			return
		}
		if st := params.Get("state"); st != "" {
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
		}
		target = u.String()
	}
	cur, err := w.currentSession(c)
	if err != nil {
		w.internalError(c, "load session", err)
		return
	}
	if cur != nil {
		if hintSub == "" || hintSub != authserver.Subject(cur.User.ID) {
			// No proof the application speaks for this user: confirm.
			w.render(c, http.StatusOK, "logout.html", map[string]any{"Title": "Sign out", "CSRF": cur.CSRFToken(), "User": cur.User})
			return
		}
		if err := w.deps.Sessions.End(ctx, c.Writer, c.Request); err != nil {
			w.internalError(c, "end session", err)
			return
		}
	}
	if target == "" {
		target = webPathLogin
	}
	seeOther(c, target)
}
