package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/netaddr"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
)

// loginCSRFCookie holds the random half of the login form's double-submit
// CSRF token. Before login there is no session to bind a synchronizer token
// to, so the form token is an HMAC of this cookie under a server key (OWASP
// "signed double-submit cookie"): a forged form cannot carry a token that
// matches the victim's cookie.
const loginCSRFCookie = "authgate_login_csrf"

type loginCSRFSigner struct{ key []byte }

func (s loginCSRFSigner) token(nonce string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("authgate login csrf\x00"))
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s loginCSRFSigner) valid(nonce, token string) bool {
	if len(nonce) < 32 || token == "" {
		return false
	}
	return hmac.Equal([]byte(s.token(nonce)), []byte(token))
}

// loginCSRF returns the form token for this browser, setting the nonce
// cookie when the browser has none yet.
func (w *Pages) loginCSRF(c *gin.Context) (string, error) {
	if ck, err := c.Request.Cookie(loginCSRFCookie); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		return w.csrfSign.token(ck.Value), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("login CSRF nonce: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(c.Writer, &http.Cookie{
		Name: loginCSRFCookie, Value: nonce, Path: webPathLogin,
		HttpOnly: true, Secure: w.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
	return w.csrfSign.token(nonce), nil
}

func (w *Pages) loginCSRFValid(c *gin.Context) bool {
	ck, err := c.Request.Cookie(loginCSRFCookie)
	if err != nil {
		return false
	}
	return w.csrfSign.valid(ck.Value, c.PostForm(sessions.CSRFField))
}

func (w *Pages) loginPage(c *gin.Context) {
	returnTo := safeReturnTo(c.Query("return_to"), webPathAccount)
	cur, err := w.currentSession(c)
	if err != nil {
		w.internalError(c, "load session", err)
		return
	}
	if cur != nil && c.Query("reauth") == "" { // reauth: OpenID Connect prompt=login, max_age
		seeOther(c, returnTo)
		return
	}
	w.renderLogin(c, http.StatusOK, returnTo, "", "")
}

func (w *Pages) renderLogin(c *gin.Context, status int, returnTo, username, problem string) {
	tok, err := w.loginCSRF(c)
	if err != nil {
		w.internalError(c, "login page", err)
		return
	}
	w.render(c, status, "login.html", map[string]any{
		"Title": "Sign in", "CSRF": tok, "ReturnTo": returnTo, "Username": username, "Error": problem,
		"App": w.appFor(c, returnTo),
	})
}

// appFor names the active application an authorization request in
// returnTo comes from, so the sign-in page can say who is asking; "" when
// returnTo is no authorization request or the client is unknown.
func (w *Pages) appFor(c *gin.Context, returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != webPathAuthorize {
		return ""
	}
	id := u.Query().Get("client_id")
	if id == "" {
		return ""
	}
	cl, ok, err := w.deps.Clients.LookupClient(c.Request.Context(), id)
	if err != nil || !ok || !cl.Active {
		return ""
	}
	return cl.Name
}

func (w *Pages) loginSubmit(c *gin.Context) {
	returnTo := safeReturnTo(c.PostForm("return_to"), webPathAccount)
	username := strings.TrimSpace(c.PostForm("username"))
	if crossSite(c.Request) || !w.loginCSRFValid(c) {
		w.renderLogin(c, http.StatusForbidden, returnTo, username,
			"Your sign-in form expired or did not come from this site. Please try again.")
		return
	}
	refund, ok := w.takeLoginAttempt(c, returnTo, username)
	if !ok {
		return
	}
	u, err := w.deps.Users.Authenticate(c.Request.Context(), username, c.PostForm("password"))
	switch {
	case errors.Is(err, users.ErrInvalidCredentials):
		w.renderLogin(c, http.StatusBadRequest, returnTo, username, "The username or password was not correct.")
		return
	case errors.Is(err, users.ErrBusy):
		// The password was not checked: no attempt is spent.
		refund()
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(users.HashRetryAfter.Seconds()))))
		w.renderLogin(c, http.StatusServiceUnavailable, returnTo, username,
			"The server is busy checking other sign-ins. Please try again in a moment.")
		return
	case err != nil:
		w.internalError(c, "authenticate", err)
		return
	}
	refund() // only failed attempts count against the limits
	if _, err := w.deps.Sessions.Start(c.Request.Context(), c.Writer, c.Request, u); err != nil {
		w.internalError(c, "start session", err)
		return
	}
	// The nonce has done its job; a new one is made for the next login.
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCSRFCookie, Path: webPathLogin, MaxAge: -1,
		HttpOnly: true, Secure: w.secureCookies(), SameSite: http.SameSiteLaxMode})
	w.deps.Logger.Info("user logged in", "user_id", u.ID)
	seeOther(c, returnTo)
}

// takeLoginAttempt reserves a sign-in attempt from both limits: per client
// IP and username, and per client IP whatever the username (rotating
// usernames must not escape the limit). When either is spent it answers 429
// with Retry-After and returns false. refund gives both attempts back.
func (w *Pages) takeLoginAttempt(c *gin.Context, returnTo, username string) (refund func(), ok bool) {
	ip := netaddr.Key(c.ClientIP())
	ok, wait, refundUser := w.limiter.Take(ip + "\x00" + strings.ToLower(username))
	problem := "Too many sign-in attempts for this account from your network. Try again in %d seconds."
	if ok {
		var refundIP func()
		if ok, wait, refundIP = w.ipLimiter.Take(ip); ok {
			return func() { refundUser(); refundIP() }, true
		}
		refundUser()
		problem = "Too many failed sign-ins from your network. Try again in %d seconds."
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.Header("Retry-After", strconv.Itoa(secs))
	w.renderLogin(c, http.StatusTooManyRequests, returnTo, username, fmt.Sprintf(problem, secs))
	return nil, false
}

func (w *Pages) logoutPage(c *gin.Context) {
	cur := w.signedIn(c, "")
	if cur == nil {
		return
	}
	w.render(c, http.StatusOK, "logout.html", map[string]any{"Title": "Sign out", "CSRF": cur.CSRFToken(), "User": cur.User})
}

func (w *Pages) logoutSubmit(c *gin.Context) {
	if w.signedInForm(c, "The sign-out form expired or did not come from this site.") == nil {
		return
	}
	if err := w.deps.Sessions.End(c.Request.Context(), c.Writer, c.Request); err != nil {
		w.internalError(c, "end session", err)
		return
	}
	seeOther(c, webPathLogin)
}
