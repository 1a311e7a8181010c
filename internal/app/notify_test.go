package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

// propagation is how long a change may take to reach another instance. It
// is far below the registry poll (5 min) and the key refresh (30 s), so the
// tests fail without NOTIFY.
const propagation = 2 * time.Second

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// eventually polls cond until it holds or propagation passes, and returns
// how long it took.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > propagation {
			t.Fatalf("%s: not within %s", what, propagation)
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := time.Since(start)
	t.Logf("%s after %s", what, d.Round(time.Millisecond))
	return d
}

func scopesSupported(t *testing.T, a *app.App) []string {
	t.Helper()
	w := get(t, a.Router, "/.well-known/oauth-authorization-server", nil)
	var md struct {
		ScopesSupported []string `json:"scopes_supported"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &md) != nil {
		t.Fatalf("metadata: %d %s", w.Code, w.Body)
	}
	return md.ScopesSupported
}

func jwksKIDs(t *testing.T, a *app.App) []string {
	t.Helper()
	w := get(t, a.Router, "/oauth/jwks.json", nil)
	var set signing.JWKS
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &set) != nil {
		t.Fatalf("jwks: %d %s", w.Code, w.Body)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

// policyValid reports whether a's token manager accepts a policy naming
// the resource policyID (unknown policy IDs are refused, Djblets (see
// docs/api-tokens.md, "Policy validation", step 7.1)).
func policyValid(a *app.App, policyID string) bool {
	_, _, err := a.Tokens.ValidatePolicy(json.RawMessage(`{"resources":{"` + policyID + `":{"*":{"allow":["*"]}}}}`))
	return err == nil
}

// newInstance is one authgate instance on dsn, with HTTP Basic enabled so
// that an admin can use the registration API.
func newInstance(t *testing.T, dsn string) *app.App {
	t.Helper()
	cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn, "auth.enable_basic": true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// adminBasic creates an admin user and returns its Authorization header
// (registration needs a first-party admin: password or session).
func adminBasic(t *testing.T, a *app.App) http.Header {
	t.Helper()
	const password = "an admin password"
	name := "admin" + randomHex(3)
	if _, err := a.Users.Create(context.Background(), users.NewUser{Username: name, Password: password, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(name, password)
	return http.Header{"Authorization": req.Header["Authorization"]}
}

func send(t *testing.T, a *app.App, method, path string, form url.Values, h http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range h {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	a.Router.ServeHTTP(w, req)
	return w
}

// registerDirect writes a registration straight to the database, announcing
// nothing (as if its notice had been lost).
func registerDirect(t *testing.T, a *app.App, policyID string) {
	t.Helper()
	d, err := scopes.Decl{PolicyID: policyID, Name: policyID, Methods: []string{"GET"}, Origin: scopes.OriginRegistered}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgmtapi.NewResourceStore(a.DB, nil).Put(context.Background(), d, mgmtapi.Registrant{Username: "test"}); err != nil {
		t.Fatal(err)
	}
}

// rotateDirect adds a signing key through a KeySet without a notifier,
// announcing nothing.
func rotateDirect(t *testing.T, a *app.App) string {
	t.Helper()
	ks, err := signing.NewKeySet(a.DB, signing.Options{MaxTokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	info, err := ks.Rotate(context.Background(), signing.AlgEdDSA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return info.KID
}

// TestInstancesShareChanges runs two independent Apps ("instances") on one
// PostgreSQL schema: what one changes, the other serves within two
// seconds, through NOTIFY authgate_invalidate (docs/architecture.md, "Storage and invalidation").
func TestInstancesShareChanges(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(dbtest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	// A name of our own, to find (and cut) exactly these listeners.
	appName := "authgate-test-" + randomHex(5)
	q := u.Query()
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()
	dsn := u.String()

	a, b := newInstance(t, dsn), newInstance(t, dsn)
	authz := adminBasic(t, a)

	t.Run("resource registered on A is known to B", func(t *testing.T) {
		id := "photos" + randomHex(3)
		if slices.Contains(scopesSupported(t, b), id+":read") || policyValid(b, id) {
			t.Fatal("B knows the resource before it is registered")
		}
		if w := send(t, a, http.MethodPut, "/api/resources/"+id+"/", url.Values{"methods": {"GET POST"}}, authz); w.Code != http.StatusCreated {
			t.Fatalf("PUT on A: %d %s", w.Code, w.Body)
		}
		eventually(t, "B lists "+id+":read in scopes_supported", func() bool { return slices.Contains(scopesSupported(t, b), id+":read") })
		eventually(t, "B accepts a token policy naming "+id, func() bool { return policyValid(b, id) })

		if w := send(t, a, http.MethodDelete, "/api/resources/"+id+"/", nil, authz); w.Code != http.StatusNoContent {
			t.Fatalf("DELETE on A: %d %s", w.Code, w.Body)
		}
		eventually(t, "B forgets "+id, func() bool { return !slices.Contains(scopesSupported(t, b), id+":read") && !policyValid(b, id) })
	})

	t.Run("key rotated by a third handle is in both JWKS", func(t *testing.T) {
		// Both instances have their keys cached.
		before := jwksKIDs(t, a)
		if got := jwksKIDs(t, b); !slices.Equal(got, before) {
			t.Fatalf("instances disagree: %v vs %v", before, got)
		}
		// What `authgate key rotate` does: its own App, publishing only.
		cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn})
		if err != nil {
			t.Fatal(err)
		}
		cli, err := app.New(ctx, cfg, nil, app.Options{Migrate: true, PublishOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		info, err := cli.OAuth.Keys.Rotate(ctx, signing.AlgES256, time.Hour)
		var listeners int
		lerr := a.DB.GetContext(ctx, &listeners, `SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1`, appName+"-notify")
		cli.Close()
		if err != nil {
			t.Fatal(err)
		}
		if lerr != nil || listeners != 2 {
			t.Fatalf("%d listening connections (%v), want 2: A's and B's, none for the publish-only handle", listeners, lerr)
		}
		for name, inst := range map[string]*app.App{"A": a, "B": b} {
			eventually(t, name+" publishes the new key", func() bool { return slices.Contains(jwksKIDs(t, inst), info.KID) })
		}
	})

	t.Run("listeners survive a dropped connection and reload", func(t *testing.T) {
		// Changes whose notices are lost: only the reload that follows a
		// reconnection can bring them in.
		id := "lost" + randomHex(3)
		registerDirect(t, a, id)
		kid := rotateDirect(t, a)
		if slices.Contains(scopesSupported(t, b), id+":read") || slices.Contains(jwksKIDs(t, b), kid) {
			t.Fatal("B sees the unannounced changes before any reload")
		}
		var killed int
		err := a.DB.GetContext(ctx, &killed, `SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = $1) t`, appName+"-notify")
		if err != nil || killed != 2 {
			t.Fatalf("terminated %d listener backends (%v), want 2 (A's and B's)", killed, err)
		}
		eventually(t, "B reloads the registry after reconnecting", func() bool { return slices.Contains(scopesSupported(t, b), id+":read") })
		eventually(t, "B reloads its keys after reconnecting", func() bool { return slices.Contains(jwksKIDs(t, b), kid) })

		// And it listens again.
		id2 := "after" + randomHex(3)
		if w := send(t, a, http.MethodPut, "/api/resources/"+id2+"/", url.Values{"methods": {"GET"}}, authz); w.Code != http.StatusCreated {
			t.Fatalf("PUT on A: %d %s", w.Code, w.Body)
		}
		eventually(t, "B learns of a registration made after the reconnection", func() bool { return policyValid(b, id2) })
	})
}

// TestInvalidationInProcess: on SQLite the bus fans out in process; a
// notice makes the App reload its registry and keys.
func TestInvalidationInProcess(t *testing.T) {
	ctx := context.Background()
	a := newInstance(t, dbtest.SQLiteDSN(t))

	// Let the start-up reload run and cache the keys.
	time.Sleep(100 * time.Millisecond)
	jwksKIDs(t, a)

	id := "files" + randomHex(3)
	registerDirect(t, a, id)
	kid := rotateDirect(t, a)
	time.Sleep(100 * time.Millisecond)
	if policyValid(a, id) || slices.Contains(jwksKIDs(t, a), kid) {
		t.Fatal("the App reloaded without a notice")
	}
	if err := a.Notify.Publish(ctx, mgmtapi.ResourceNotifyKind, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "registry reloaded", func() bool { return policyValid(a, id) })
	if err := a.Notify.Publish(ctx, signing.KeyNotifyKind, kid); err != nil {
		t.Fatal(err)
	}
	eventually(t, "keys reloaded", func() bool { return slices.Contains(jwksKIDs(t, a), kid) })

	// The API's own changes are announced too: registering and removing
	// through it keeps the registry right (and reloads it once more).
	authz := adminBasic(t, a)
	id2 := "docs" + randomHex(3)
	if w := send(t, a, http.MethodPut, "/api/resources/"+id2+"/", url.Values{"methods": {"GET"}}, authz); w.Code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	if w := send(t, a, http.MethodDelete, "/api/resources/"+id2+"/", nil, authz); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	time.Sleep(200 * time.Millisecond) // let the announced reloads run
	if policyValid(a, id2) || !policyValid(a, id) {
		t.Fatal("registry wrong after the API's own changes were announced")
	}
}
