package configs

import (
	"strings"
	"testing"
	"time"
)

func TestAuthValidate(t *testing.T) {
	cases := []struct {
		name    string
		auth    Auth
		wantKey string // "" = valid
	}{
		{"zero is valid", Auth{}, ""},
		{"defaults", Auth{SessionIdleTimeout: time.Hour, SessionAbsoluteTimeout: 12 * time.Hour, SecureCookies: "auto", LoginAttempts: 5, LoginWindow: time.Minute}, ""},
		{"negative idle", Auth{SessionIdleTimeout: -time.Second}, "auth.session_idle_timeout"},
		{"idle above absolute", Auth{SessionIdleTimeout: 2 * time.Hour, SessionAbsoluteTimeout: time.Hour}, "auth.session_idle_timeout"},
		{"bad secure_cookies", Auth{SecureCookies: "yes"}, "auth.secure_cookies"},
		{"negative attempts", Auth{LoginAttempts: -1}, "auth.login_attempts"},
		{"short csrf key", Auth{CSRFKey: "short"}, "auth.csrf_key"},
		{"removed token_endpoint_rate", Auth{TokenEndpointRate: 600}, "auth.token_endpoint_rate"},
		{"ip fail rate below 60", Auth{TokenEndpointIPFailRate: 10}, "auth.token_endpoint_ip_fail_rate"},
		{"ip fail rate off", Auth{TokenEndpointIPFailRate: -1}, ""},
		{"negative hash memory", Auth{PasswordHashMemoryMiB: -1}, "auth.password_hash_memory_mib"},
		{"negative failed-auth window", Auth{APIFailedAuthWindow: -1}, "auth.api_failed_auth_window"},
		{"failed-auth window too short", Auth{APIFailedAuthAttempts: 10, APIFailedAuthWindow: 5}, "auth.api_failed_auth_window"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.auth.Validate()
			if tc.wantKey == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors %v", errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), `"`+tc.wantKey+`"`) {
				t.Fatalf("errors %v, want one naming %s", errs, tc.wantKey)
			}
			if tc.auth.CSRFKey != "" && strings.Contains(errs[0].Error(), tc.auth.CSRFKey) {
				t.Fatal("the CSRF key was echoed in an error")
			}
		})
	}
}

func TestAuthSecureCookiesFor(t *testing.T) {
	cases := []struct {
		mode, scheme string
		want         bool
	}{
		{"", "https", true}, {"auto", "http", false}, {"always", "http", true}, {"never", "https", false},
	}
	for _, tc := range cases {
		if got := (Auth{SecureCookies: tc.mode}).SecureCookiesFor(tc.scheme); got != tc.want {
			t.Errorf("SecureCookiesFor(%q, %q) = %v", tc.mode, tc.scheme, got)
		}
	}
}
