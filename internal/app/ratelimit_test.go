package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/testenv"
)

type endpointCaller struct {
	t *testing.T
	a *app.App
}

// revoke calls POST /oauth/revoke from remote (ip:port) as client id with
// secret; the token is unknown, which RFC 7009 §2.2 answers with 200.
func (e endpointCaller) revoke(remote, id, secret string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/oauth/revoke", strings.NewReader(url.Values{"token": {"agrt_unknown"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	req.RemoteAddr = remote
	w := httptest.NewRecorder()
	e.a.Router.ServeHTTP(w, req)
	return w
}

func (e endpointCaller) client(name string) (id, secret string) {
	e.t.Helper()
	c, secret, err := e.a.OAuth.CreateClient(context.Background(), authserver.ClientSpec{
		Name: name, GrantTypes: []string{authserver.GrantClientCredentials}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID, secret
}

func newLimitedApp(t *testing.T, env ...string) endpointCaller {
	cfg, err := configs.Load("", env, configs.Overrides{"database.url": dbtest.SQLiteDSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	return endpointCaller{t: t, a: newAppFrom(t, cfg)}
}

const natIP = "198.51.100.7:40000"

// TestTokenEndpointsNotCappedPerIP: clients behind one address (a proxy, a
// NAT, a load test) do not share a limit: 700 successful calls from one IP
// by two clients all pass with the defaults. (Before, every IP had 600
// calls a minute, whoever made them.)
func TestTokenEndpointsNotCappedPerIP(t *testing.T) {
	e := newLimitedApp(t)
	a, aSecret := e.client("a")
	b, bSecret := e.client("b")
	for i := range 700 {
		id, secret := a, aSecret
		if i%2 == 1 {
			id, secret = b, bSecret
		}
		if w := e.revoke(natIP, id, secret); w.Code != http.StatusOK {
			t.Fatalf("call %d from one IP: %d %s", i+1, w.Code, w.Body)
		}
	}
}

// TestTokenEndpointClientLimit: an authenticated client over its own limit
// gets 429 + Retry-After (RFC 6749 §5.2 JSON); other clients at the same
// address are unaffected, and the refusals do not count as the address's
// failures.
func TestTokenEndpointClientLimit(t *testing.T) {
	e := newLimitedApp(t, "AUTHGATE_AUTH__TOKEN_ENDPOINT_CLIENT_RATE=5")
	a, aSecret := e.client("a")
	b, bSecret := e.client("b")
	for i := range 5 {
		if w := e.revoke(natIP, a, aSecret); w.Code != http.StatusOK {
			t.Fatalf("call %d: %d", i+1, w.Code)
		}
	}
	for range 70 { // beyond the 60 failures an IP may make
		w := e.revoke(natIP, a, aSecret)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" ||
			!strings.Contains(w.Body.String(), `"error":"invalid_request"`) || !strings.Contains(w.Body.String(), "this client") {
			t.Fatalf("6th call: %d %v %s", w.Code, w.Header(), w.Body)
		}
	}
	if w := e.revoke(natIP, b, bSecret); w.Code != http.StatusOK {
		t.Fatalf("another client at the same address: %d %s", w.Code, w.Body)
	}
}

// TestTokenEndpointIPFailureLimit: failed calls are limited per address
// (60 a minute by default); a client that makes a few mistakes between
// successful calls is never locked out; once an address is over the limit
// even a correct secret from it waits, while other addresses do not; the
// bucket gives one failure back per second. The application runs on a
// fixed clock, so the count is exact however slow the machine.
func TestTokenEndpointIPFailureLimit(t *testing.T) {
	env := testenv.New(t, testenv.Clock(time.Time{}))
	e := endpointCaller{t: t, a: env.App}
	id, secret := e.client("a")
	for i := range 59 {
		if w := e.revoke(natIP, id, "wrong secret"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	for i := range 100 {
		if w := e.revoke(natIP, id, secret); w.Code != http.StatusOK {
			t.Fatalf("success %d after 59 failures: %d %s", i+1, w.Code, w.Body)
		}
	}
	if w := e.revoke(natIP, id, "wrong secret"); w.Code != http.StatusUnauthorized {
		t.Fatalf("the 60th failure was refused (successes counted against the limit?): %d", w.Code)
	}
	if w := e.revoke(natIP, id, "wrong secret"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the 61st failure within a minute: %d", w.Code)
	}
	w := e.revoke(natIP, id, secret)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" ||
		!strings.Contains(w.Body.String(), `"error":"invalid_request"`) {
		t.Fatalf("call after the limit: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := e.revoke("203.0.113.9:1234", id, secret); w.Code != http.StatusOK {
		t.Fatalf("another address: %d %s", w.Code, w.Body)
	}
	// One second later the bucket holds one failure again, and only one.
	env.Clock.Advance(time.Second)
	if w := e.revoke(natIP, id, "wrong secret"); w.Code != http.StatusUnauthorized {
		t.Fatalf("a failure a second after the limit: %d", w.Code)
	}
	if w := e.revoke(natIP, id, "wrong secret"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("a second failure in that second: %d", w.Code)
	}
}

// TestTokenEndpointIPv6FailuresPerPrefix: an IPv6 client cannot escape the
// failure limit by rotating addresses inside its /64.
func TestTokenEndpointIPv6FailuresPerPrefix(t *testing.T) {
	e := newLimitedApp(t)
	id, _ := e.client("a")
	for i := range 60 {
		remote := fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1)
		if w := e.revoke(remote, id, "wrong secret"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	if w := e.revoke("[2001:db8:1:2::ffff]:443", id, "wrong secret"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("61st failure from the same /64: %d", w.Code)
	}
	if w := e.revoke("[2001:db8:1:3::1]:443", id, "wrong secret"); w.Code != http.StatusUnauthorized {
		t.Fatalf("another /64: %d", w.Code)
	}
}
