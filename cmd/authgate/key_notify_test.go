package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestKeyRotateReachesRunningServer: `authgate key rotate`, a separate
// process in production, announces the new key; a server running on the
// same PostgreSQL database publishes it in its JWKS within two seconds
// (its own refresh would take 30 s).
func TestKeyRotateReachesRunningServer(t *testing.T) {
	dsn := dbtest.PostgresDSN(t)
	cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn})
	if err != nil {
		t.Fatal(err)
	}
	server, err := app.New(context.Background(), cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	jwks := func() []string {
		w := httptest.NewRecorder()
		server.Router.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/oauth/jwks.json", nil))
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
	before := jwks() // cached now

	code, out, stderr := runCLI(t, "", "key", "rotate", "--database-url", dsn, "--alg", "ES256", "--activate-in", "1h", "--output", "json")
	if code != 0 {
		t.Fatalf("key rotate: %d %s", code, stderr)
	}
	var info signing.KeyInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.KID == "" || slices.Contains(before, info.KID) {
		t.Fatalf("key rotate output %q (%v)", out, err)
	}
	start := time.Now()
	for !slices.Contains(jwks(), info.KID) {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("running server's JWKS lacks %s 2s after key rotate", info.KID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("running server publishes the rotated key %s after %s", info.KID, time.Since(start).Round(time.Millisecond))
}
