package resources_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
)

// TestSessionCSRFFormField: a session's unsafe request may carry its CSRF
// token in the csrf_token field of a url-encoded or multipart form (an
// HTML form cannot set headers). The header, when sent, is the one
// checked; a wrong or empty field, or the field in a body of another
// type, is refused with 101.
func TestSessionCSRFFormField(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	g := e.guard(nil)
	r := gin.New()
	r.POST("/notes/", g.Protect(resources.Resource{Name: "notes"}), func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	cookie, csrf := e.session(e.alice)

	type body func(v string) (string, io.Reader)
	form := func(v string) (string, io.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(url.Values{resources.CSRFFormField: {v}, "note": {"x"}}.Encode())
	}
	multi := func(v string) (string, io.Reader) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField("note", "x")
		_ = w.WriteField(resources.CSRFFormField, v)
		_ = w.Close()
		return w.FormDataContentType(), &b
	}
	asJSON := func(v string) (string, io.Reader) {
		raw, _ := json.Marshal(map[string]string{resources.CSRFFormField: v})
		return "application/json", bytes.NewReader(raw)
	}
	for _, tc := range []struct {
		name   string
		body   body
		value  string
		header string
		status int
	}{
		{"url-encoded form", form, csrf, "", 200},
		{"multipart form", multi, csrf, "", 200},
		{"url-encoded form, wrong token", form, "wrong", "", 403},
		{"multipart form, wrong token", multi, "wrong", "", 403},
		{"url-encoded form, empty token", form, "", "", 403},
		{"JSON body", asJSON, csrf, "", 403},
		{"wrong header, right field", form, csrf, "wrong", 403},
		{"right header, wrong field", form, "wrong", csrf, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, rd := tc.body(tc.value)
			req := httptest.NewRequest(http.MethodPost, "/notes/", rd)
			req.Header.Set("Content-Type", ct)
			req.AddCookie(cookie)
			if tc.header != "" {
				req.Header.Set(resources.CSRFHeader, tc.header)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 403 && decode(t, w.Body.Bytes()).Err.Code != 101 {
				t.Fatalf("refusal %s, want code 101", w.Body)
			}
		})
	}
}

// TestNetHTTPClientIP: the net/http middleware takes the caller's address
// from GuardConfig.ClientIP when set, else the host of RemoteAddr (all of
// it when it has no port); it is what the refusal log line names and what
// anonymous callers are rate-limited by.
func TestNetHTTPClientIP(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	for _, tc := range []struct {
		name, remote, forwarded, want string
		clientIP                      func(*http.Request) string
	}{
		{"host of RemoteAddr", "192.0.2.7:4711", "", "192.0.2.7", nil},
		{"RemoteAddr without a port", "192.0.2.8", "", "192.0.2.8", nil},
		{"ClientIP", "192.0.2.7:4711", "198.51.100.9", "198.51.100.9", func(r *http.Request) string { return r.Header.Get("X-Test-Client") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			g := e.guard(func(c *resources.GuardConfig) {
				c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
				c.ClientIP = tc.clientIP
				c.Limiter = &resources.WindowLimiter{Anonymous: 1, Authenticated: 100, Period: 3600e9}
			})
			h := g.Middleware(resources.Resource{Name: "notes", AllowAnonymous: true})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			send := func(remote, forwarded, authz string) int {
				req := httptest.NewRequest(http.MethodGet, "/notes/", nil)
				req.RemoteAddr = remote
				req.Header.Set("X-Test-Client", forwarded)
				if authz != "" {
					req.Header.Set("Authorization", authz)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w.Code
			}
			if code := send(tc.remote, tc.forwarded, "token nope"); code != http.StatusUnauthorized {
				t.Fatalf("bad token: %d", code)
			}
			var line struct {
				ClientIP string `json:"client_ip"`
			}
			if err := json.Unmarshal(bytes.SplitN(logs.Bytes(), []byte("\n"), 2)[0], &line); err != nil || line.ClientIP != tc.want {
				t.Fatalf("logged client_ip %q (%v), want %q: %s", line.ClientIP, err, tc.want, logs.Bytes())
			}
			// The anonymous budget (1) is per address.
			if code := send(tc.remote, tc.forwarded, ""); code != http.StatusNoContent {
				t.Fatalf("first anonymous request: %d", code)
			}
			if code := send(tc.remote, tc.forwarded, ""); code != http.StatusTooManyRequests {
				t.Fatalf("second anonymous request from %s: %d, want 429", tc.want, code)
			}
			if tc.clientIP != nil {
				if code := send(tc.remote, "198.51.100.10", ""); code != http.StatusNoContent {
					t.Fatalf("another ClientIP behind the same RemoteAddr: %d, want 204", code)
				}
			}
		})
	}
}
