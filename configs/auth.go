package configs

import (
	"fmt"
	"time"
)

// Auth configures first-party sign-in: browser sessions (internal/sessions),
// the login form and the web pages' cookies (authserver web pages). Zero
// values mean the built-in defaults.
type Auth struct {
	// SessionIdleTimeout ends a browser session after this long without a
	// request; default 1h.
	SessionIdleTimeout time.Duration `koanf:"session_idle_timeout"`
	// SessionAbsoluteTimeout ends a browser session this long after login,
	// however active; default 12h.
	SessionAbsoluteTimeout time.Duration `koanf:"session_absolute_timeout"`
	// SecureCookies sets the Secure attribute on the session and CSRF
	// cookies: "auto" (when oauth.issuer is https), "always" or "never".
	SecureCookies string `koanf:"secure_cookies"`
	// LoginAttempts is the burst of sign-in attempts allowed per client IP
	// and username; one more is allowed every LoginWindow/LoginAttempts.
	LoginAttempts int           `koanf:"login_attempts"`
	LoginWindow   time.Duration `koanf:"login_window"`
	// CSRFKey signs the login form's CSRF token; instances sharing a
	// database should share it (at least 32 characters). Empty: a random
	// key per process. Set it from the environment (AUTHGATE_AUTH__CSRF_KEY).
	CSRFKey string `koanf:"csrf_key"`
	// EnableBasic accepts HTTP Basic (username and password) on the API.
	// Off by default: scripts should use API tokens, and Basic has no
	// login rate limit of its own.
	EnableBasic bool `koanf:"enable_basic"`
	// APIRateAuthenticated and APIRateAnonymous are the requests a caller
	// may make to protected resources per APIRatePeriod (Djblets (see
	// docs/api-tokens.md, "Authentication", step 3): 10000/h per user, 1000/h per
	// IP); negative means unlimited,
	// zero the default.
	APIRateAuthenticated int           `koanf:"api_rate_authenticated"`
	APIRateAnonymous     int           `koanf:"api_rate_anonymous"`
	APIRatePeriod        time.Duration `koanf:"api_rate_period"`
	// TokenEndpointRate is the requests per minute one client IP may make
	// to /oauth/token, /oauth/revoke and /oauth/introspect; negative means
	// unlimited, zero the default (600).
	TokenEndpointRate int `koanf:"token_endpoint_rate"`
}

// SecureCookiesFor resolves SecureCookies for an issuer URL's scheme.
func (a Auth) SecureCookiesFor(issuerScheme string) bool {
	switch a.SecureCookies {
	case "always":
		return true
	case "never":
		return false
	}
	return issuerScheme == "https"
}

// Validate checks the auth section; keys are reported as "auth.<key>". The
// CSRF key is never echoed.
func (a Auth) Validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid value for %q: %s", "auth."+key, fmt.Sprintf(format, args...)))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"session_idle_timeout", a.SessionIdleTimeout}, {"session_absolute_timeout", a.SessionAbsoluteTimeout}, {"login_window", a.LoginWindow}} {
		if d.v < 0 {
			bad(d.key, "must not be negative")
		}
	}
	if a.SessionIdleTimeout > 0 && a.SessionAbsoluteTimeout > 0 && a.SessionIdleTimeout > a.SessionAbsoluteTimeout {
		bad("session_idle_timeout", "must not exceed auth.session_absolute_timeout")
	}
	switch a.SecureCookies {
	case "", "auto", "always", "never":
	default:
		bad("secure_cookies", "%q is not one of auto, always, never", a.SecureCookies)
	}
	if a.LoginAttempts < 0 {
		bad("login_attempts", "must not be negative")
	}
	if a.LoginAttempts > 0 && a.LoginWindow > 0 && a.LoginWindow/time.Duration(a.LoginAttempts) <= 0 {
		bad("login_window", "is too short for auth.login_attempts")
	}
	if a.CSRFKey != "" && len(a.CSRFKey) < 32 {
		bad("csrf_key", "must be at least 32 characters")
	}
	if a.APIRatePeriod < 0 {
		bad("api_rate_period", "must not be negative")
	}
	return errs
}
