package authserver

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
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

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
func (w *Web) loginCSRF(c *gin.Context) (string, error) {
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

func (w *Web) loginCSRFValid(c *gin.Context) bool {
	ck, err := c.Request.Cookie(loginCSRFCookie)
	if err != nil {
		return false
	}
	return w.csrfSign.valid(ck.Value, c.PostForm(sessions.CSRFField))
}

// loginLimiter is a token bucket per (client IP, username) that counts
// failed sign-ins (docs/architecture.md, "Operations"; OWASP Authentication
// Cheat Sheet: throttle per
// account and source). Idle buckets that have refilled are forgotten, so
// memory stays bounded by the number of clients currently failing.
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*loginBucket
	per     time.Duration // one attempt comes back every per
	burst   float64
	now     func() time.Time
	sweeps  int
}

type loginBucket struct {
	tokens float64
	at     time.Time
}

const loginLimiterMaxKeys = 100_000

func newLoginLimiter(attempts int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{
		buckets: map[string]*loginBucket{},
		per:     window / time.Duration(attempts),
		burst:   float64(attempts),
		now:     now,
	}
}

// refill brings b up to date at now.
func (l *loginLimiter) refill(b *loginBucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.per))
		b.at = now
	}
}

// take reserves one attempt for key. When none is left it returns false
// and how long until the next one. Otherwise refund gives the attempt back:
// it is called after a successful sign-in, so that only failures count while
// parallel guesses still each hold an attempt until they are decided.
func (l *loginLimiter) take(key string) (ok bool, wait time.Duration, refund func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.sweeps++; l.sweeps >= 1024 || len(l.buckets) >= loginLimiterMaxKeys {
		l.sweeps = 0
		l.sweep(now)
	}
	b, found := l.buckets[key]
	if !found {
		b = &loginBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.per)), nil
	}
	b.tokens--
	var once sync.Once
	return true, 0, func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.refill(b, l.now())
			b.tokens = min(l.burst, b.tokens+1)
		})
	}
}

// sweep drops buckets that are full again (they behave like new ones). If
// that is not enough to get under the cap, everything is dropped: a flood of
// distinct keys must not exhaust memory.
func (l *loginLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= loginLimiterMaxKeys {
		clear(l.buckets)
	}
}

func (w *Web) loginPage(c *gin.Context) {
	returnTo := safeReturnTo(c.Query("return_to"), webPathAccount)
	cur, err := w.currentSession(c)
	if err != nil {
		w.internalError(c, "load session", err)
		return
	}
	if cur != nil {
		seeOther(c, returnTo)
		return
	}
	w.renderLogin(c, http.StatusOK, returnTo, "", "")
}

func (w *Web) renderLogin(c *gin.Context, status int, returnTo, username, problem string) {
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
func (w *Web) appFor(c *gin.Context, returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != webPathAuthorize {
		return ""
	}
	id := u.Query().Get("client_id")
	if id == "" {
		return ""
	}
	cl, ok, err := w.deps.Clients.LookupWebClient(c.Request.Context(), id)
	if err != nil || !ok || !cl.Active {
		return ""
	}
	return cl.Name
}

func (w *Web) loginSubmit(c *gin.Context) {
	returnTo := safeReturnTo(c.PostForm("return_to"), webPathAccount)
	username := strings.TrimSpace(c.PostForm("username"))
	if crossSite(c.Request) || !w.loginCSRFValid(c) {
		w.renderLogin(c, http.StatusForbidden, returnTo, username,
			"Your sign-in form expired or did not come from this site. Please try again.")
		return
	}
	ok, wait, refund := w.limiter.take(c.ClientIP() + "\x00" + strings.ToLower(username))
	if !ok {
		secs := int(math.Ceil(wait.Seconds()))
		c.Header("Retry-After", fmt.Sprint(secs))
		w.renderLogin(c, http.StatusTooManyRequests, returnTo, username,
			fmt.Sprintf("Too many sign-in attempts for this account from your network. Try again in %d seconds.", secs))
		return
	}
	u, err := w.deps.Users.Authenticate(c.Request.Context(), username, c.PostForm("password"))
	if errors.Is(err, users.ErrInvalidCredentials) {
		w.renderLogin(c, http.StatusBadRequest, returnTo, username, "The username or password was not correct.")
		return
	}
	if err != nil {
		w.internalError(c, "authenticate", err)
		return
	}
	refund() // only failed attempts count against the limit
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

func (w *Web) logoutPage(c *gin.Context) {
	cur := w.signedIn(c, "")
	if cur == nil {
		return
	}
	w.render(c, http.StatusOK, "logout.html", map[string]any{"Title": "Sign out", "CSRF": cur.CSRFToken(), "User": cur.User})
}

func (w *Web) logoutSubmit(c *gin.Context) {
	if w.signedInForm(c, "The sign-out form expired or did not come from this site.") == nil {
		return
	}
	if err := w.deps.Sessions.End(c.Request.Context(), c.Writer, c.Request); err != nil {
		w.internalError(c, "end session", err)
		return
	}
	seeOther(c, webPathLogin)
}
