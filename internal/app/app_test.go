package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
)

func newApp(t *testing.T, dsn string, logger *slog.Logger) *app.App {
	t.Helper()
	cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, logger, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func get(t *testing.T, h http.Handler, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestHealthAndReadiness(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return dbtest.SQLiteDSN(t) }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, tc.dsn(t), nil)
			for _, path := range []string{"/healthz", "/readyz"} {
				if w := get(t, a.Router, path, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"ok"`) {
					t.Fatalf("%s = %d %s", path, w.Code, w.Body)
				}
			}
			w := get(t, a.Router, "/metrics", nil)
			if w.Code != 200 || !strings.Contains(w.Body.String(), `authgate_http_requests_total{method="GET",route="/readyz",status="200"} 1`) {
				t.Fatalf("/metrics = %d\n%s", w.Code, w.Body)
			}
		})
	}
}

// proxy is a TCP relay whose upstream can be cut and restored, standing in
// for a PostgreSQL outage without stopping the shared server.
type proxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	down     bool
	conns    []net.Conn
}

func newProxy(t *testing.T, upstream string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestReadinessFollowsDatabase proves /readyz turns 503 while PostgreSQL is
// unreachable and back to 200 when it returns, with no restart.
func TestReadinessFollowsDatabase(t *testing.T) {
	dsn := dbtest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	var logs bytes.Buffer
	a := newApp(t, u.String(), slog.New(slog.NewTextHandler(&logs, nil)))

	if w := get(t, a.Router, "/readyz", nil); w.Code != 200 {
		t.Fatalf("before outage: %d %s", w.Code, w.Body)
	}
	p.setDown(true)
	if w := get(t, a.Router, "/readyz", nil); w.Code != 503 || !strings.Contains(w.Body.String(), "database unreachable") {
		t.Fatalf("during outage: %d %s", w.Code, w.Body)
	}
	if w := get(t, a.Router, "/healthz", nil); w.Code != 200 {
		t.Fatalf("/healthz during outage: %d", w.Code)
	}
	p.setDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := get(t, a.Router, "/readyz", nil)
		if w.Code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after outage: still %d %s", w.Code, w.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRequestLogHasNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	a := newApp(t, dbtest.SQLiteDSN(t), slog.New(slog.NewJSONHandler(&logs, nil)))
	h := http.Header{}
	h.Set("Authorization", "Bearer supersecret-bearer")
	h.Set("Cookie", "authgate_session=supersecret-cookie")
	get(t, a.Router, "/healthz?access_token=supersecret-query", h)
	out := logs.String()
	if !strings.Contains(out, `"path":"/healthz"`) {
		t.Fatalf("no request log line: %s", out)
	}
	if strings.Contains(out, "supersecret") {
		t.Fatalf("secret in log: %s", out)
	}
}

func TestEnsureAdmin(t *testing.T) {
	a := newApp(t, dbtest.SQLiteDSN(t), nil)
	var out bytes.Buffer
	t.Setenv("AUTHGATE_ADMIN_PASSWORD", "")
	if err := a.EnsureAdmin(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(out.String())
	var password string
	for i, w := range lines {
		if w == "password:" && i+1 < len(lines) {
			password = lines[i+1]
		}
	}
	if len(password) != 24 {
		t.Fatalf("no 24-char password printed: %q", out.String())
	}
	if u, err := a.Users.Authenticate(context.Background(), "admin", password); err != nil || !u.IsAdmin {
		t.Fatalf("printed password does not log in: %v", err)
	}
	out.Reset()
	if err := a.EnsureAdmin(context.Background(), &out); err != nil || out.Len() != 0 {
		t.Fatalf("second EnsureAdmin printed %q, %v", out.String(), err)
	}
}

func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		want    string
	}{
		{"none trusted: the TCP peer", nil, "192.0.2.1"},
		{"peer is a trusted proxy: X-Forwarded-For", []string{"192.0.2.0/24"}, "203.0.113.7"},
		{"another proxy trusted: the TCP peer", []string{"10.0.0.1"}, "192.0.2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dbtest.SQLiteDSN(t)})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Server.TrustedProxies = tc.proxies
			a, err := app.New(context.Background(), cfg, nil, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			a.Router.GET("/test/client-ip", func(c *gin.Context) { c.String(200, c.ClientIP()) })
			h := http.Header{}
			h.Set("X-Forwarded-For", "203.0.113.7")
			if got := get(t, a.Router, "/test/client-ip", h).Body.String(); got != tc.want {
				t.Fatalf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRateLimitsAndDecisionMetrics(t *testing.T) {
	cfg, err := configs.Load("", []string{
		"AUTHGATE_AUTH__TOKEN_ENDPOINT_IP_FAIL_RATE=60",
		"AUTHGATE_AUTH__API_RATE_ANONYMOUS=2",
	}, configs.Overrides{"database.url": dbtest.SQLiteDSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	post := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		a.Router.ServeHTTP(w, req)
		return w
	}
	// 60 failed calls (no client credentials) pass the limiter; the 61st
	// from the same IP, to any of the three endpoints, is refused.
	for i := range 60 {
		path := []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect"}[i%3]
		if w := post(path); w.Code == http.StatusTooManyRequests {
			t.Fatalf("request %d to %s limited too early", i+1, path)
		}
	}
	w := post("/oauth/token")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" ||
		!strings.Contains(w.Body.String(), `"error":"invalid_request"`) {
		t.Fatalf("61st token request: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := get(t, a.Router, "/healthz", nil); w.Code != 200 {
		t.Fatalf("/healthz limited: %d", w.Code)
	}

	// Anonymous API requests: 2 per hour, then 114/429.
	for i := 0; i < 2; i++ {
		if w := get(t, a.Router, "/api/session/", nil); w.Code != 200 {
			t.Fatalf("anonymous /api/session/ #%d: %d %s", i+1, w.Code, w.Body)
		}
	}
	w = get(t, a.Router, "/api/session/", nil)
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), `"code":114`) || w.Header().Get("Retry-After") == "" {
		t.Fatalf("3rd anonymous API request: %d %s", w.Code, w.Body)
	}
	m := get(t, a.Router, "/metrics", nil).Body.String()
	for _, want := range []string{
		`authgate_auth_decisions_total{method="none",outcome="anonymous"} 2`,
		`authgate_auth_decisions_total{method="none",outcome="rate_limited"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
