package authserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/testenv"
)

// The revocation bound (docs/security.md, "Revocation bound"): a JWT
// access token validated from memory is refused at once on the instance
// that revoked it (or deactivated its user, or disabled its client), and
// on another instance sharing the database within the bound.

// warm checks that raw is accepted by the Guard and by introspection, so
// that it sits in the verified-JWT cache and its user and client in the
// state caches: what follows tests the cached path.
func (h *harness) warm(t testing.TB, raw string) {
	t.Helper()
	if r := h.api("Bearer " + raw); r.Status != http.StatusOK {
		t.Fatalf("API refused a valid JWT: %d %s", r.Status, r.Raw)
	}
	if !h.active(raw) {
		t.Fatal("introspection: valid JWT inactive")
	}
}

// refusedNow checks, with no wait, that raw is refused by the Guard (401)
// and reported inactive by introspection.
func (h *harness) refusedNow(t testing.TB, raw, what string) {
	t.Helper()
	if r := h.api("Bearer " + raw); r.Status != http.StatusUnauthorized {
		t.Fatalf("%s: the API still accepts the JWT: %d %s", what, r.Status, r.Raw)
	}
	if h.active(raw) {
		t.Fatalf("%s: introspection still says active", what)
	}
}

// TestRevokedJWTRefusedAtOnce: /oauth/revoke of a JWT, of the refresh token
// of its grant, a user's deactivation and a client's disabling each take
// effect on the next request to the same instance. Both databases.
func TestRevokedJWTRefusedAtOnce(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		ctx := context.Background()
		svc, svcSecret := h.serviceClient("test:read")
		cc := func() string {
			r := h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, svc.ID, svcSecret)
			if r.Status != http.StatusOK {
				t.Fatalf("token: %d %s", r.Status, r.Raw)
			}
			return r.str("access_token")
		}
		revoke := func(raw string, c *authserver.Client, secret string) {
			t.Helper()
			if r := h.post(authserver.PathRevoke, url.Values{"token": {raw}}, c.ID, secret); r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Raw)
			}
		}

		t.Run("revoke the JWT", func(t *testing.T) {
			at, other := cc(), cc()
			h.warm(t, at)
			h.warm(t, other)
			revoke(at, svc, svcSecret)
			h.refusedNow(t, at, "revoked JWT")
			h.warm(t, other) // only that one
		})
		t.Run("revoke its grant's refresh token", func(t *testing.T) {
			web, webSecret := h.webClient("test:read")
			tok := h.tokens(web, webSecret, "test:read")
			h.warm(t, tok.str("access_token"))
			revoke(tok.str("refresh_token"), web, webSecret)
			h.refusedNow(t, tok.str("access_token"), "JWT of a revoked grant")
		})
		t.Run("deactivate its user", func(t *testing.T) {
			web, webSecret := h.webClient("test:read")
			at := h.tokens(web, webSecret, "test:read").str("access_token")
			h.warm(t, at)
			if err := h.users.SetActive(ctx, h.alice.ID, false); err != nil {
				t.Fatal(err)
			}
			h.refusedNow(t, at, "JWT of a deactivated user")
			if err := h.users.SetActive(ctx, h.alice.ID, true); err != nil {
				t.Fatal(err)
			}
			h.warm(t, at) // deactivation does not revoke: reactivated, the token is good again
		})
		t.Run("disable its client", func(t *testing.T) {
			at := cc()
			h.warm(t, at)
			if _, err := h.s.DisableClient(ctx, svc.ID); err != nil {
				t.Fatal(err)
			}
			h.refusedNow(t, at, "JWT of a disabled client")
		})
	})
}

// TestRevocationAcrossInstances: two application instances on one
// database. A JWT that instance B has validated (and cached) is refused by
// B within the documented bound once instance A revokes it or its grant, deactivates
// its user or disables its client. On PostgreSQL the notice crosses at
// once (NOTIFY); on SQLite, until the change feed carries the notices
// between processes, B's periodic reload does — both within the bound.
func TestRevocationAcrossInstances(t *testing.T) {
	// SQLite: a short reload period, the bound there until notices cross
	// processes. PostgreSQL: the default 30 s, so that only a notice can
	// refuse within the 10 s deadline below.
	t.Run("sqlite", func(t *testing.T) {
		acrossInstances(t, newHarness(t, func(c *authserver.Config) { c.RevocationReload = 3 * time.Second }))
	})
	t.Run("postgres", func(t *testing.T) {
		acrossInstances(t, harnessOn(t, testenv.New(t, oauthEnv(nil), testenv.Postgres())))
	})
}

func acrossInstances(t *testing.T, h *harness) {
	ctx := context.Background()
	b := h.e.Instance(t)
	svc, svcSecret := h.serviceClient("session:read")
	cc := func(c *authserver.Client, secret string) string {
		r := h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"session:read"}}, c.ID, secret)
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Raw)
		}
		return r.str("access_token")
	}
	revoked, kept := cc(svc, svcSecret), cc(svc, svcSecret)
	doomed, doomedSecret := h.serviceClient("session:read")
	ofDisabled := cc(doomed, doomedSecret)
	web, webSecret := h.webClient("session:read")
	ofInactive := h.tokens(web, webSecret, "session:read").str("access_token")
	grant := h.tokens(web, webSecret, "session:read")
	ofGrant := grant.str("access_token")
	rs, rsSecret := h.introspector()
	all := []string{revoked, kept, ofDisabled, ofInactive, ofGrant}
	for _, raw := range all {
		if code := sessionOn(b, raw); code != http.StatusOK {
			t.Fatalf("instance B refused a valid JWT: %d", code)
		}
		if !activeOn(t, b, rs, rsSecret, raw) {
			t.Fatal("instance B: valid JWT inactive")
		}
	}
	// The bound, plus the time a reload itself may take on this busy
	// machine. On PostgreSQL a notice carries the change: far less
	// than the reload period, which a lost notice would take.
	within := h.e.App.Config.OAuth.RevocationReload + 5*time.Second
	if h.d.Dialect == db.Postgres {
		within = 10 * time.Second
	}
	refusedOnB := func(start time.Time, raws ...string) {
		t.Helper()
		for _, raw := range raws {
			for sessionOn(b, raw) != http.StatusUnauthorized || activeOn(t, b, rs, rsSecret, raw) {
				if time.Since(start) > within {
					t.Fatalf("instance B still accepts a revoked JWT %s after the change", time.Since(start))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}

	// A whole grant, revoked through its refresh token: the transaction
	// announces the grant's jtis one by one.
	start := time.Now()
	if r := h.post(authserver.PathRevoke, url.Values{"token": {grant.str("refresh_token")}}, web.ID, webSecret); r.Status != http.StatusOK {
		t.Fatalf("revoke refresh token: %d %s", r.Status, r.Raw)
	}
	refusedOnB(start, ofGrant)
	if code := sessionOn(b, ofInactive); code != http.StatusOK {
		t.Fatalf("instance B refused the JWT of another grant: %d", code)
	}

	start = time.Now()
	if r := h.post(authserver.PathRevoke, url.Values{"token": {revoked}}, svc.ID, svcSecret); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	if err := h.users.SetActive(ctx, h.alice.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.DisableClient(ctx, doomed.ID); err != nil {
		t.Fatal(err)
	}
	refusedOnB(start, revoked, ofInactive, ofDisabled)
	t.Logf("instance B refused all three %s after the changes on instance A", time.Since(start).Round(time.Millisecond))
	if code := sessionOn(b, kept); code != http.StatusOK {
		t.Fatalf("instance B refused a JWT nobody revoked: %d", code)
	}
}

// sessionOn sends GET /api/session/ with a bearer token to instance a.
func sessionOn(a *app.App, raw string) int {
	req := httptest.NewRequest(http.MethodGet, "/api/session/", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	rec := httptest.NewRecorder()
	a.Router.ServeHTTP(rec, req)
	return rec.Code
}

// activeOn introspects raw at instance a as resource server rs.
func activeOn(t *testing.T, a *app.App, rs *authserver.Client, secret, raw string) bool {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, authserver.PathIntrospect, strings.NewReader(url.Values{"token": {raw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rs.ID), url.QueryEscape(secret))
	rec := httptest.NewRecorder()
	a.Router.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("introspect on instance B: %d %s", rec.Code, rec.Body)
	}
	return strings.Contains(rec.Body.String(), `"active":true`)
}
