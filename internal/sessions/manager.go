package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authgate/authgate/internal/users"
)

// CookieName is the name of the session cookie (docs/architecture.md, "Browser sessions").
const CookieName = "authgate_session"

// CSRFHeader and CSRFField carry a session's CSRF token on unsafe requests:
// the header for scripts, the form field for HTML forms (docs/architecture.md, "Browser sessions").
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

// Defaults used when Options leaves a field zero.
const (
	DefaultIdleTimeout     = time.Hour
	DefaultAbsoluteTimeout = 12 * time.Hour
	// DefaultTouchInterval bounds how often a request writes last_seen, so
	// that a busy browser does not turn every page view into a DB write.
	DefaultTouchInterval = time.Minute
)

// idBytes is the session ID's entropy: 256 bits, well over RFC 6749 §10.10's
// 2^-160 guessing bound. The cookie carries it base64url-encoded (43 chars).
const idBytes = 32

// Sentinel errors returned by Manager.Load (and by ValidateSession as err),
// compared with errors.Is.
var (
	// ErrNoSession means the request carries no session cookie.
	ErrNoSession = errors.New("no session")
	// ErrInvalid means the cookie is malformed or names no stored session.
	ErrInvalid = errors.New("session is not valid")
	// ErrExpired means the session passed its idle or absolute timeout.
	ErrExpired = errors.New("session has expired")
	// ErrUserInactive means the session's user was deactivated or deleted.
	ErrUserInactive = errors.New("session user is no longer active")
)

// Options configures a Manager. Zero fields take the defaults above.
type Options struct {
	// IdleTimeout ends a session after this long without a request.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login, however active.
	AbsoluteTimeout time.Duration
	// TouchInterval is the minimum time between last_seen writes.
	TouchInterval time.Duration
	// InsecureCookie leaves the Secure attribute off the cookie, for a
	// server reached over plain http (a loopback issuer). The zero value
	// marks the cookie Secure, so a forgotten setting never sends a
	// session ID in clear text.
	InsecureCookie bool
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// Manager creates, loads and ends sessions. It is safe for concurrent use and
// satisfies resources.SessionValidator.
type Manager struct {
	store Store
	users users.Store
	opts  Options
}

// NewManager returns a Manager storing sessions in store and loading their
// users from us.
func NewManager(store Store, us users.Store, opts Options) *Manager {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.AbsoluteTimeout <= 0 {
		opts.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if opts.TouchInterval <= 0 {
		opts.TouchInterval = min(DefaultTouchInterval, opts.IdleTimeout/10)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Manager{store: store, users: us, opts: opts}
}

// Current is a loaded, valid session with its (active) user.
type Current struct {
	User    users.User
	Session Session
	digest  string
}

// CSRFToken returns the session's synchronizer CSRF token.
func (c *Current) CSRFToken() string { return c.Session.CSRFToken }

func (m *Manager) now() time.Time { return m.opts.Now().UTC() }

// Digest returns the stored form of a session ID: lowercase hex SHA-256.
func Digest(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func randomToken() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormed reports whether a cookie value can be a session ID, so garbage
// is refused without a database query.
func wellFormed(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(b) == idBytes
}

// Start logs u in: it ends the session the request already carries (so a
// planted session ID never survives a login — session fixation), creates a
// new session with a fresh CSRF token and sets the cookie on w.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, u users.User) (*Current, error) {
	if !u.IsActive {
		return nil, ErrUserInactive
	}
	if c, err := r.Cookie(CookieName); err == nil && wellFormed(c.Value) {
		if err := m.store.Delete(ctx, Digest(c.Value)); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("end previous session: %w", err)
		}
	}
	id, err := randomToken()
	if err != nil {
		return nil, fmt.Errorf("new session ID: %w", err)
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, fmt.Errorf("new CSRF token: %w", err)
	}
	now := dbTime(m.now())
	s := Session{
		UserID:    u.ID,
		CSRFToken: csrf,
		CreatedAt: now,
		ExpiresAt: now.Add(m.opts.AbsoluteTimeout),
		LastSeen:  now,
	}
	digest := Digest(id)
	if err := m.store.Create(ctx, digest, s); err != nil {
		return nil, err
	}
	http.SetCookie(w, m.cookie(id, s.ExpiresAt))
	return &Current{User: u, Session: s, digest: digest}, nil
}

func (m *Manager) cookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   !m.opts.InsecureCookie,
		SameSite: http.SameSiteLaxMode,
	}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = int(expires.Sub(m.now()).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	return c
}

// ClearCookie tells the browser to drop the session cookie.
func (m *Manager) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, m.cookie("", time.Time{}))
}

// Load returns the request's valid session and its user. It returns
// ErrNoSession when there is no cookie, and an error wrapping ErrInvalid,
// ErrExpired or ErrUserInactive when the cookie does not name a usable
// session; expired sessions and those of deactivated users are deleted.
func (m *Manager) Load(r *http.Request) (*Current, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, ErrNoSession
	}
	if !wellFormed(c.Value) {
		return nil, fmt.Errorf("malformed session cookie: %w", ErrInvalid)
	}
	ctx := r.Context()
	digest := Digest(c.Value)
	s, err := m.store.Get(ctx, digest)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("unknown session: %w", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	now := m.now()
	if !now.Before(s.ExpiresAt) || !now.Before(s.LastSeen.Add(m.opts.IdleTimeout)) {
		m.drop(ctx, digest)
		return nil, ErrExpired
	}
	u, err := m.users.Get(ctx, s.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && !u.IsActive) {
		m.drop(ctx, digest)
		return nil, ErrUserInactive
	}
	if err != nil {
		return nil, fmt.Errorf("load session user %d: %w", s.UserID, err)
	}
	if now.Sub(s.LastSeen) >= m.opts.TouchInterval {
		if err := m.store.Touch(ctx, digest, now); err != nil {
			return nil, err
		}
		s.LastSeen = dbTime(now)
	}
	return &Current{User: u, Session: s, digest: digest}, nil
}

// drop deletes a session that Load found unusable. A failure only leaves the
// row for DeleteExpired; the request is refused either way.
func (m *Manager) drop(ctx context.Context, digest string) {
	_ = m.store.Delete(ctx, digest)
}

// ValidateSession implements resources.SessionValidator: ok is false (and
// err nil) when the request has no session cookie; when a cookie is present
// but unusable, ok is false and err wraps ErrInvalid, ErrExpired or
// ErrUserInactive; otherwise ok is true and csrfToken is the token unsafe
// requests must echo in X-CSRF-Token.
func (m *Manager) ValidateSession(r *http.Request) (user users.User, csrfToken string, ok bool, err error) {
	cur, err := m.Load(r)
	if errors.Is(err, ErrNoSession) {
		return users.User{}, "", false, nil
	}
	if err != nil {
		return users.User{}, "", false, err
	}
	return cur.User, cur.Session.CSRFToken, true, nil
}

// End logs the request's session out: the row is deleted and the cookie
// cleared. Ending a request without a (valid) session only clears the cookie.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	m.ClearCookie(w)
	c, err := r.Cookie(CookieName)
	if err != nil || !wellFormed(c.Value) {
		return nil
	}
	if err := m.store.Delete(ctx, Digest(c.Value)); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndUser ends every session of a user (password change, deactivation).
func (m *Manager) EndUser(ctx context.Context, userID int64) (int64, error) {
	return m.store.DeleteUser(ctx, userID)
}

// Cleanup deletes every expired session and returns how many.
func (m *Manager) Cleanup(ctx context.Context) (int64, error) {
	now := m.now()
	return m.store.DeleteExpired(ctx, now, now.Add(-m.opts.IdleTimeout))
}

// ValidCSRF reports whether got equals the expected CSRF token, in constant
// time. An empty expected token never matches.
func ValidCSRF(expected, got string) bool {
	if expected == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(expected), []byte(got)) == 1
}
