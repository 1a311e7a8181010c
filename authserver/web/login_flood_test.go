package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/web"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
)

// TestLoginRateLimitPerIP: failed sign-ins are limited per client IP
// whatever the username, so rotating usernames (each a fresh per-account
// bucket, each a 19 MiB argon2id hash) is limited too.
func TestLoginRateLimitPerIP(t *testing.T) {
	e := testenv.New(t, testenv.Config(func(c *configs.Config) { c.Auth.LoginIPAttempts = 5 }))
	attempt := func(user, pass string) testenv.Page {
		b := e.Browser() // same client IP, new cookies (a signed-in browser skips the form)
		f := b.Get("/login").Hidden()
		f.Set("username", user)
		f.Set("password", pass)
		return b.Post("/login", f)
	}
	// Successful sign-ins never count.
	for i := range 8 {
		if p := attempt(testenv.UserUsername, testenv.UserPassword); p.Status != http.StatusSeeOther {
			t.Fatalf("good sign-in %d: status %d", i+1, p.Status)
		}
	}
	for i := range 5 {
		if p := attempt(fmt.Sprintf("nobody%d", i), "wrong password"); p.Status != http.StatusBadRequest {
			t.Fatalf("failed sign-in %d: status %d", i+1, p.Status)
		}
	}
	p := attempt("nobody-else", "wrong password")
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" ||
		!strings.Contains(p.Body, "Too many failed sign-ins from your network") {
		t.Fatalf("6th failed sign-in with a new username: status %d Retry-After %q", p.Status, p.Header.Get("Retry-After"))
	}
	if p := attempt(testenv.UserUsername, testenv.UserPassword); p.Status != http.StatusTooManyRequests || hasSessionCookie(p) {
		t.Fatalf("sign-in from a blocked IP: status %d", p.Status)
	}
}

// busyUsers is a user store whose password checks never get memory.
type busyUsers struct{ users.Store }

func (busyUsers) Authenticate(context.Context, string, string) (users.User, error) {
	return users.User{}, users.ErrBusy
}

// TestLoginBusyIs503: a sign-in whose password check cannot get hashing
// memory is answered 503 with Retry-After, and does not spend an attempt.
// The pages are built from the real application's parts with a user store
// whose password checks never get memory.
func TestLoginBusyIs503(t *testing.T) {
	e := testenv.New(t)
	pages, err := web.NewFor(e.App.OAuth, web.Config{LoginIPAttempts: 1}, web.Deps{Sessions: e.App.Sessions,
		Users: busyUsers{e.App.Users}, Consents: authserver.NewSQLConsentStore(e.App.DB), Scopes: e.App.Scopes})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	pages.Mount(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	b := e.Browser()
	b.BaseURL = srv.URL
	for i := range 3 {
		f := b.Get("/login").Hidden()
		f.Set("username", testenv.UserUsername)
		f.Set("password", testenv.UserPassword)
		p := b.Post("/login", f)
		if p.Status != http.StatusServiceUnavailable || p.Header.Get("Retry-After") != "1" || !strings.Contains(p.Body, "busy") {
			t.Fatalf("attempt %d: status %d Retry-After %q", i+1, p.Status, p.Header.Get("Retry-After"))
		}
	}
}
