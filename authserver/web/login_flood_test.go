package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/users"
)

// TestLoginRateLimitPerIP: failed sign-ins are limited per client IP
// whatever the username, so rotating usernames (each a fresh per-account
// bucket, each a 19 MiB argon2id hash) is limited too.
func TestLoginRateLimitPerIP(t *testing.T) {
	h := newWebHarnessWith(t, func(c *Config, _ *Deps) { c.LoginIPAttempts = 5 })
	attempt := func(user, pass string) page {
		b := h.browser() // same client IP, new cookies (a signed-in browser skips the form)
		f := hiddenFields(h.do(b, http.MethodGet, "/login", nil).body)
		f.Set("username", user)
		f.Set("password", pass)
		return h.do(b, http.MethodPost, "/login", f)
	}
	// Successful sign-ins never count.
	for i := range 8 {
		if p := attempt("alice", harnessPassword); p.status != http.StatusSeeOther {
			t.Fatalf("good sign-in %d: status %d", i+1, p.status)
		}
	}
	for i := range 5 {
		if p := attempt(fmt.Sprintf("nobody%d", i), "wrong password"); p.status != http.StatusBadRequest {
			t.Fatalf("failed sign-in %d: status %d", i+1, p.status)
		}
	}
	p := attempt("nobody-else", "wrong password")
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" ||
		!strings.Contains(p.body, "Too many failed sign-ins from your network") {
		t.Fatalf("6th failed sign-in with a new username: status %d Retry-After %q", p.status, p.header.Get("Retry-After"))
	}
	if p := attempt("alice", harnessPassword); p.status != http.StatusTooManyRequests || hasSessionCookie(p) {
		t.Fatalf("sign-in from a blocked IP: status %d", p.status)
	}
}

// busyUsers is a user store whose password checks never get memory.
type busyUsers struct{ users.Store }

func (busyUsers) Authenticate(context.Context, string, string) (users.User, error) {
	return users.User{}, users.ErrBusy
}

// TestLoginBusyIs503: a sign-in whose password check cannot get hashing
// memory is answered 503 with Retry-After, and does not spend an attempt.
func TestLoginBusyIs503(t *testing.T) {
	h := newWebHarnessWith(t, func(c *Config, d *Deps) { c.LoginIPAttempts = 1; d.Users = busyUsers{d.Users} })
	b := h.browser()
	for i := range 3 {
		f := hiddenFields(h.do(b, http.MethodGet, "/login", nil).body)
		f.Set("username", "alice")
		f.Set("password", harnessPassword)
		p := h.do(b, http.MethodPost, "/login", f)
		if p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") != "1" || !strings.Contains(p.body, "busy") {
			t.Fatalf("attempt %d: status %d Retry-After %q", i+1, p.status, p.header.Get("Retry-After"))
		}
	}
}
