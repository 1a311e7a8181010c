package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/tokens"
)

// eachApp runs fn on an App over a fresh SQLite database and one over a
// fresh PostgreSQL schema, configured with env (AUTHGATE_… settings).
func eachApp(t *testing.T, env []string, fn func(t *testing.T, a *app.App)) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": dbtest.SQLiteDSN, "postgres": dbtest.PostgresDSN} {
		t.Run(name, func(t *testing.T) {
			cfg, err := configs.Load("", env, configs.Overrides{"database.url": dsn(t)})
			if err != nil {
				t.Fatal(err)
			}
			fn(t, newAppFrom(t, cfg))
		})
	}
}

type apiReply struct {
	code int
	body struct {
		Stat string `json:"stat"`
		Err  struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"err"`
	}
	header http.Header
	raw    string
}

func callAPI(t *testing.T, a *app.App, method, path, remote string, header http.Header) apiReply {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = remote
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	a.Router.ServeHTTP(w, req)
	r := apiReply{code: w.Code, header: w.Header(), raw: w.Body.String()}
	_ = json.Unmarshal(w.Body.Bytes(), &r.body)
	return r
}

func authz(v string) http.Header { return http.Header{"Authorization": {v}} }

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestAPIFailedAuthLimit (issue #9 item 2) through the real router with
// the default configuration: five wrong or malformed Authorization headers
// from one IP, and the sixth, even with a good API token, gets 401, error
// 104, "Maximum number of login attempts exceeded." and Retry-After;
// another IP is unaffected. Before: every wrong token got a plain 104 and
// another database lookup, forever, and the good token got 200.
func TestAPIFailedAuthLimit(t *testing.T) {
	eachApp(t, nil, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		u, err := a.Users.Create(ctx, users.NewUser{Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		_, good, err := a.Tokens.Generate(ctx, tokens.GenerateParams{User: u})
		if err != nil {
			t.Fatal(err)
		}
		unknown, _ := tokens.VendorChecksum{}.Create(tokens.TokenInfo{TokenType: "agp", Length: 40})
		const ip = "203.0.113.20:1000"
		for i, h := range []string{"token " + unknown, "token " + unknown, "token agp_junk", "Bearer not.a.jwt", "Digest x"} {
			r := callAPI(t, a, "GET", "/api/", ip, authz(h))
			if r.code != 401 || r.body.Err.Code != 104 || r.body.Err.Msg == resources.LoginAttemptsExceededMessage {
				t.Fatalf("failure %d: %d %s", i+1, r.code, r.raw)
			}
		}
		r := callAPI(t, a, "GET", "/api/", ip, authz("token "+good))
		if r.code != 401 || r.body.Err.Code != 104 || r.body.Err.Msg != resources.LoginAttemptsExceededMessage ||
			r.header.Get("Retry-After") != "12" {
			t.Fatalf("6th attempt, good token: %d %s %v", r.code, r.raw, r.header)
		}
		if r := callAPI(t, a, "GET", "/api/", "198.51.100.20:1", authz("token "+good)); r.code != 200 {
			t.Fatalf("another IP: %d %s", r.code, r.raw)
		}
		// Anonymous requests are not authentications: still answered.
		if r := callAPI(t, a, "GET", "/api/", ip, nil); r.code != 200 {
			t.Fatalf("anonymous from the limited IP: %d %s", r.code, r.raw)
		}
	})
}

// TestAPIBasicSharesSignInLimit: with auth.enable_basic, wrong passwords
// on the API spend the sign-in form's per-account limit (login_attempts),
// even when the API's own failure limit is higher.
func TestAPIBasicSharesSignInLimit(t *testing.T) {
	eachApp(t, []string{"AUTHGATE_AUTH__ENABLE_BASIC=true", "AUTHGATE_AUTH__LOGIN_ATTEMPTS=3",
		"AUTHGATE_AUTH__API_FAILED_AUTH_ATTEMPTS=100"}, func(t *testing.T, a *app.App) {
		if _, err := a.Users.Create(context.Background(), users.NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		const ip = "203.0.113.21:1000"
		if r := callAPI(t, a, "GET", "/api/session/", ip, authz(basic("alice", "correct horse battery"))); r.code != 200 {
			t.Fatalf("right password: %d %s", r.code, r.raw)
		}
		for i := range 3 {
			if r := callAPI(t, a, "GET", "/api/session/", ip, authz(basic("alice", "wrong"))); r.code != 401 {
				t.Fatalf("wrong password %d: %d %s", i+1, r.code, r.raw)
			}
		}
		r := callAPI(t, a, "GET", "/api/session/", ip, authz(basic("alice", "correct horse battery")))
		if r.code != 401 || r.body.Err.Msg != resources.LoginAttemptsExceededMessage || r.header.Get("Retry-After") == "" {
			t.Fatalf("over the sign-in limit: %d %s", r.code, r.raw)
		}
	})
}

// TestAPIBasicBusyIs503: when every password-hashing slot stays taken,
// HTTP Basic on the API answers 503 with Retry-After (error 1001), never
// 500. One slot, a 1ms queue and 12 concurrent Basic requests make some
// wait in vain. Before: those got 500 (error 1000).
func TestAPIBasicBusyIs503(t *testing.T) {
	eachApp(t, []string{"AUTHGATE_AUTH__ENABLE_BASIC=true", "AUTHGATE_AUTH__PASSWORD_HASH_MEMORY_MIB=1",
		"AUTHGATE_AUTH__PASSWORD_HASH_WAIT=1ms", "AUTHGATE_AUTH__LOGIN_ATTEMPTS=1000",
		"AUTHGATE_AUTH__LOGIN_IP_ATTEMPTS=1000"}, func(t *testing.T, a *app.App) {
		// With one slot and a 1ms queue, creating the user can itself meet
		// a hash still running from start-up: retry until it gets the slot.
		var err error
		for try := 0; try < 200; try++ {
			if _, err = a.Users.Create(context.Background(), users.NewUser{Username: "alice", Password: "correct horse battery"}); !errors.Is(err, users.ErrBusy) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		const n = 12
		replies := make([]apiReply, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				replies[i] = callAPI(t, a, "GET", "/api/session/", "203.0.113.22:1", authz(basic("alice", "correct horse battery")))
			})
		}
		wg.Wait()
		busy := 0
		for _, r := range replies {
			switch {
			case r.code == 200:
			case r.code == 503 && r.body.Err.Code == resources.CodeUnavailable && r.header.Get("Retry-After") == "1":
				busy++
			default:
				t.Fatalf("%d %s %v", r.code, r.raw, r.header)
			}
		}
		if busy == 0 {
			// An argon2id hash takes tens of milliseconds and the queue
			// waits 1ms, so 12 at once always find the one slot taken.
			t.Fatal("no request found the hashing slot taken")
		}
		t.Logf("%d of %d answered 503", busy, n)
	})
}

// TestDPoPJunkWritesNoJTI (issue #9 item 6): 100 requests with a junk
// access token and a valid, fresh DPoP proof leave dpop_jtis empty, as does
// a bound token with a proof by another key; only an accepted proof is
// recorded. Before: 100 rows for the junk requests. The failure limit is
// off here so that every request reaches the DPoP check.
func TestDPoPJunkWritesNoJTI(t *testing.T) {
	eachApp(t, []string{"AUTHGATE_AUTH__API_FAILED_AUTH_ATTEMPTS=-1"}, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		iss := a.OAuth.Settings().Issuer
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		proof := func(k ed25519.PrivateKey, method, target, token string) string {
			p, err := dpop.NewProof(k, dpop.ProofFields{Method: method, URL: target, AccessToken: token})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		rows := func() int {
			var n int
			if err := a.DB.GetContext(ctx, &n, `SELECT COUNT(*) FROM dpop_jtis`); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for i := range 100 {
			junk := "junk" + strings.Repeat("x", i%7)
			r := callAPI(t, a, "GET", "/api/", "203.0.113.23:1", http.Header{
				"Authorization": {"DPoP " + junk}, "Dpop": {proof(key, "GET", iss+"/api/", junk)}})
			if r.code != 401 {
				t.Fatalf("junk %d: %d %s", i, r.code, r.raw)
			}
		}
		if n := rows(); n != 0 {
			t.Fatalf("dpop_jtis rows after 100 junk requests: %d, want 0", n)
		}

		// A real DPoP-bound token (client_credentials with a proof).
		c, secret, err := a.OAuth.CreateClient(ctx, authserver.ClientSpec{Name: "svc",
			GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: []string{"root:read"}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "scope": {"root:read"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(secret))
		req.Header.Set("DPoP", proof(key, "POST", iss+"/oauth/token", ""))
		w := httptest.NewRecorder()
		a.Router.ServeHTTP(w, req)
		var tr struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.TokenType != "DPoP" {
			t.Fatalf("token: %d %s", w.Code, w.Body)
		}
		base := rows() // the token endpoint's own proof

		r := callAPI(t, a, "GET", "/api/", "203.0.113.23:1", http.Header{
			"Authorization": {"DPoP " + tr.AccessToken}, "Dpop": {proof(other, "GET", iss+"/api/", tr.AccessToken)}})
		if r.code != 401 || rows() != base {
			t.Fatalf("proof by another key: %d %s, %d new rows", r.code, r.raw, rows()-base)
		}
		good := proof(key, "GET", iss+"/api/", tr.AccessToken)
		hdr := http.Header{"Authorization": {"DPoP " + tr.AccessToken}, "Dpop": {good}}
		if r := callAPI(t, a, "GET", "/api/", "203.0.113.23:1", hdr); r.code != 200 || rows() != base+1 {
			t.Fatalf("accepted proof: %d %s, %d new rows", r.code, r.raw, rows()-base)
		}
		if r := callAPI(t, a, "GET", "/api/", "203.0.113.23:1", hdr); r.code != 401 || !strings.Contains(r.raw, "replay") {
			t.Fatalf("replayed proof: %d %s", r.code, r.raw)
		}
	})
}
