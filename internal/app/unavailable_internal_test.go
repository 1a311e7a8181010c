package app

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// The 503 mapper: a 500 caused by an unreachable database becomes 503 with
// Retry-After in the endpoint's envelope; any other 500 passes unchanged.
func TestDatabaseUnavailableMapsOutagesTo503(t *testing.T) {
	gin.SetMode(gin.TestMode)
	down := errors.New("connection refused")
	cases := []struct {
		name      string
		path      string
		pingErr   error
		ginErr    error
		status    int
		bodyCheck func(map[string]any) bool
	}{
		{"oauth, ping fails", "/oauth/token", down, nil, 503, func(b map[string]any) bool { return b["error"] == "temporarily_unavailable" }},
		{"api, ping fails", "/api/session/", down, nil, 503, func(b map[string]any) bool {
			e, _ := b["err"].(map[string]any)
			return b["stat"] == "fail" && e != nil && e["code"] == float64(1000)
		}},
		{"api, connection error recorded", "/api/session/", nil, &net.OpError{Op: "dial", Err: errors.New("refused")}, 503, nil},
		{"web page", "/login", down, nil, 503, nil},
		{"ordinary 500", "/oauth/token", nil, nil, 500, func(b map[string]any) bool { return b["error"] == "server_error" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gin.New()
			r.Use(databaseUnavailable(func(context.Context) error { return tc.pingErr }))
			r.Any(tc.path, func(c *gin.Context) {
				if tc.ginErr != nil {
					_ = c.Error(tc.ginErr)
				}
				c.Header("WWW-Authenticate", `Bearer realm="x"`)
				c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error", "stat": "fail"})
			})
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 503 && (w.Header().Get("Retry-After") != "5" || w.Header().Get("WWW-Authenticate") != "") {
				t.Fatalf("503 headers %v", w.Header())
			}
			var body map[string]any
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if tc.bodyCheck != nil && !tc.bodyCheck(body) {
				t.Fatalf("body %s", w.Body)
			}
		})
	}
}
