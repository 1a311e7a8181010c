package resources_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
)

// TestNetHTTPMiddleware: the net/http form of the Guard on an
// http.ServeMux gives the same decisions, envelope and challenges as the
// gin form, reads the object ID from the pattern's wildcard, and hands the
// Principal to the handler through the request context.
func TestNetHTTPMiddleware(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		g := e.guard(nil)
		photos := resources.Resource{Name: "photos", IDParam: "id"}
		handler := func(w http.ResponseWriter, r *http.Request) {
			p, ok := resources.PrincipalFromContext(r.Context())
			if !ok {
				resources.WriteError(w, r, resources.NotLoggedIn())
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"stat": "ok", "auth": p.Method, "user": p.User.Username,
				"hidden": resources.DeniedObjectIDs(r.Context())})
		}
		mux := http.NewServeMux()
		mux.Handle("/photos/{id}/", g.Middleware(photos)(http.HandlerFunc(handler)))
		mux.Handle("/photos/", g.Middleware(resources.Resource{Name: "photos"})(http.HandlerFunc(handler)))

		ginR := gin.New()
		ginR.Any("/photos/:id/", g.Protect(photos), func(c *gin.Context) { handler(c.Writer, c.Request) })
		ginR.Any("/photos/", g.Protect(resources.Resource{Name: "photos"}), func(c *gin.Context) { handler(c.Writer, c.Request) })

		tok, _ := e.apiToken(e.alice, `{"resources":{"photos":{"*":{"allow":["*"]},"7":{"block":["*"]}}}}`, "")
		jwtRead := e.jwt(&e.alice, "photos:read", 3600e9, nil)
		cases := []struct {
			name, method, path, authz string
			status, code              int
			wantUser                  string
		}{
			{"api token, allowed object", "PUT", "/photos/1/", "token " + tok, 200, 0, "alice"},
			{"api token, object blocked by policy", "PUT", "/photos/7/", "token " + tok, 403, 101, ""},
			{"bearer read", "GET", "/photos/1/", "Bearer " + jwtRead, 200, 0, "alice"},
			{"bearer without write scope", "POST", "/photos/", "Bearer " + jwtRead, 403, 112, ""},
			{"basic", "DELETE", "/photos/1/", basicAuth("alice", e.password), 200, 0, "alice"},
			{"bad password", "GET", "/photos/1/", basicAuth("alice", "nope"), 401, 104, ""},
			{"anonymous", "GET", "/photos/1/", "", 401, 103, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var got [2]*httptest.ResponseRecorder
				for i, h := range []http.Handler{mux, ginR} {
					req := httptest.NewRequest(tc.method, tc.path, nil)
					if tc.authz != "" {
						req.Header.Set("Authorization", tc.authz)
					}
					got[i] = httptest.NewRecorder()
					h.ServeHTTP(got[i], req)
				}
				w := got[0]
				env := decode(t, w.Body.Bytes())
				if w.Code != tc.status || env.Err.Code != tc.code {
					t.Fatalf("net/http: %d %s", w.Code, w.Body)
				}
				if tc.wantUser != "" {
					var ok struct{ User string }
					_ = json.Unmarshal(w.Body.Bytes(), &ok)
					if ok.User != tc.wantUser {
						t.Fatalf("user %q", ok.User)
					}
				}
				if w.Code == 401 && !slices.Equal(w.Header().Values("WWW-Authenticate"), g.Challenges()) &&
					w.Header().Get("WWW-Authenticate") == "" {
					t.Fatalf("401 without challenges: %v", w.Header())
				}
				// The gin form is the same Guard: same status, body, headers.
				if g := got[1]; g.Code != w.Code || g.Body.String() != w.Body.String() ||
					!slices.Equal(g.Header().Values("WWW-Authenticate"), w.Header().Values("WWW-Authenticate")) ||
					g.Header().Get("Content-Type") != w.Header().Get("Content-Type") {
					t.Fatalf("gin %d %s %v\nnet/http %d %s %v", g.Code, g.Body, g.Header(), w.Code, w.Body, w.Header())
				}
			})
		}
		// A list request: the policy's blocked object IDs reach the handler.
		req := httptest.NewRequest("GET", "/photos/", nil)
		req.Header.Set("Authorization", "token "+tok)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		var body struct{ Hidden []string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !slices.Equal(body.Hidden, []string{"7"}) {
			t.Fatalf("hidden %v: %s", body.Hidden, w.Body)
		}
	})
}
