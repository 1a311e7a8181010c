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
	// LoginIPAttempts is the burst of failed sign-ins allowed per client
	// IP whatever the username (refilled over LoginWindow), so rotating
	// usernames is limited too; negative means no per-IP limit.
	LoginIPAttempts int `koanf:"login_ip_attempts"`
	// PasswordHashMemoryMiB bounds the memory of concurrent argon2id
	// password checks (sign-in, HTTP Basic): max(1, this / 19) run at once;
	// default 64 (3 at once).
	PasswordHashMemoryMiB int `koanf:"password_hash_memory_mib"`
	// PasswordHashWait is how long a password check queues for memory
	// before the request is refused with 503 and Retry-After; default 1s.
	PasswordHashWait time.Duration `koanf:"password_hash_wait"`
	// CSRFKey signs the login form's CSRF token; instances sharing a
	// database should share it (at least 32 characters). Empty: a random
	// key per process. Set it from the environment (AUTHGATE_AUTH__CSRF_KEY).
	CSRFKey string `koanf:"csrf_key"`
	// EnableBasic accepts HTTP Basic (username and password) on the API.
	// Off by default: scripts should use API tokens. Basic attempts spend
	// the sign-in limits (LoginAttempts, LoginIPAttempts) as well as
	// APIFailedAuthAttempts.
	EnableBasic bool `koanf:"enable_basic"`
	// APIRateAuthenticated and APIRateAnonymous are the requests a caller
	// may make to protected resources per APIRatePeriod (Djblets (see
	// docs/api-tokens.md, "Authentication", step 3): 10000/h per user, 1000/h per
	// IP); negative means unlimited,
	// zero the default.
	APIRateAuthenticated int           `koanf:"api_rate_authenticated"`
	APIRateAnonymous     int           `koanf:"api_rate_anonymous"`
	APIRatePeriod        time.Duration `koanf:"api_rate_period"`
	// APIFailedAuthAttempts is the failed authentications (a wrong or
	// malformed Authorization header) one client IP may make on protected
	// resources per APIFailedAuthWindow (a burst, refilled evenly) before
	// every header from it is refused, Djblets' LOGIN_LIMIT_RATE (5/m);
	// negative means unlimited, zero the default.
	APIFailedAuthAttempts int           `koanf:"api_failed_auth_attempts"`
	APIFailedAuthWindow   time.Duration `koanf:"api_failed_auth_window"`
	// TokenEndpointClientRate is the calls per minute one authenticated
	// client may make to /oauth/token, /oauth/revoke and /oauth/introspect,
	// from any address; negative means unlimited, zero the default (6000).
	TokenEndpointClientRate int `koanf:"token_endpoint_client_rate"`
	// TokenEndpointIPFailRate is the failed calls (4xx) per minute one
	// client IP may make to those endpoints; successful calls do not count.
	// Negative means unlimited, zero the default (60); at least 60.
	TokenEndpointIPFailRate int `koanf:"token_endpoint_ip_fail_rate"`
	// TokenEndpointRate is the removed per-IP limit on every call; setting
	// it is an error naming its replacements.
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
	if a.PasswordHashMemoryMiB < 0 {
		bad("password_hash_memory_mib", "must not be negative")
	}
	if a.PasswordHashWait < 0 {
		bad("password_hash_wait", "must not be negative")
	}
	if a.CSRFKey != "" && len(a.CSRFKey) < 32 {
		bad("csrf_key", "must be at least 32 characters")
	}
	if a.TokenEndpointRate != 0 {
		bad("token_endpoint_rate", "the key was removed: it limited every call per IP, so clients behind one proxy "+
			"shared it; use auth.token_endpoint_client_rate (calls per client) and auth.token_endpoint_ip_fail_rate "+
			"(failed calls per IP)")
	}
	if a.TokenEndpointIPFailRate > 0 && a.TokenEndpointIPFailRate < 60 {
		bad("token_endpoint_ip_fail_rate", "must be at least 60 (or negative for no limit), so that a client "+
			"with a few mistakes is not locked out")
	}
	if a.APIRatePeriod < 0 {
		bad("api_rate_period", "must not be negative")
	}
	if a.APIFailedAuthWindow < 0 {
		bad("api_failed_auth_window", "must not be negative")
	}
	if a.APIFailedAuthAttempts > 0 && a.APIFailedAuthWindow > 0 && a.APIFailedAuthWindow/time.Duration(a.APIFailedAuthAttempts) <= 0 {
		bad("api_failed_auth_window", "is too short for auth.api_failed_auth_attempts")
	}
	return errs
}
