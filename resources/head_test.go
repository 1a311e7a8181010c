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

// TestHEADAuthorizedAsGET (issue #9 item 7): http.ServeMux answers HEAD
// with a "GET" pattern, and gin with a HEAD route on a GET handler; a
// policy blocking GET on an object must refuse HEAD too. Before: HEAD got
// 200 wherever the policy named only GET.
func TestHEADAuthorizedAsGET(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		g := e.guard(nil)
		photos := resources.Resource{Name: "photos", IDParam: "id"}
		okH := func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"stat":"ok"}`))
		}
		mux := http.NewServeMux()
		mux.Handle("GET /photos/{id}/", g.Middleware(photos)(http.HandlerFunc(okH)))
		ginR := gin.New()
		h := []gin.HandlerFunc{g.Protect(photos), func(c *gin.Context) { okH(c.Writer, c.Request) }}
		ginR.GET("/photos/:id/", h...)
		ginR.HEAD("/photos/:id/", h...)

		blockGET := mustRaw(e, `{"resources":{"photos":{"7":{"block":["GET"]}}}}`)
		blockAllGET := mustRaw(e, `{"resources":{"*":{"block":["GET"]}}}`)
		blockHEAD := mustRaw(e, `{"resources":{"photos":{"7":{"block":["HEAD"]}}}}`)
		allowGETOnly := mustRaw(e, `{"resources":{"*":{"block":["*"]},"photos":{"*":{"allow":["GET"]}}}}`)
		for _, tc := range []struct {
			name, tok, method, path string
			want                    int
		}{
			{"GET blocked on object", blockGET, "GET", "/photos/7/", 403},
			{"HEAD where GET is blocked on object", blockGET, "HEAD", "/photos/7/", 403},
			{"HEAD on another object", blockGET, "HEAD", "/photos/8/", 200},
			{"HEAD where GET is blocked everywhere", blockAllGET, "HEAD", "/photos/1/", 403},
			{"HEAD blocked itself", blockHEAD, "HEAD", "/photos/7/", 403},
			{"GET where only HEAD is blocked", blockHEAD, "GET", "/photos/7/", 200},
			{"HEAD where only GET is allowed", allowGETOnly, "HEAD", "/photos/1/", 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for name, srv := range map[string]http.Handler{"net/http": mux, "gin": ginR} {
					req := httptest.NewRequest(tc.method, tc.path, nil)
					req.Header.Set("Authorization", "token "+tc.tok)
					w := httptest.NewRecorder()
					srv.ServeHTTP(w, req)
					if w.Code != tc.want {
						t.Errorf("%s: %s %s = %d, want %d", name, tc.method, tc.path, w.Code, tc.want)
					}
				}
			})
		}
	})
}

type photo struct{ ID, Title string }

// TestListHelpers (issue #14 item 5): List and ProtectList hand a list
// handler the IDs it must hide, for both front ends, and refuse a
// Resource with an IDParam when the route is set up.
func TestListHelpers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		g := e.guard(nil)
		all := []photo{{"1", "a"}, {"2", "b"}, {"3", "c"}}
		render := func(w http.ResponseWriter, hidden resources.Hidden) {
			var ids []string
			for _, p := range resources.Filter(hidden, all, func(p photo) string { return p.ID }) {
				ids = append(ids, p.ID)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"stat": "ok", "ids": ids, "hidden": hidden.IDs(), "has3": hidden.Has("3")})
		}
		mux := http.NewServeMux()
		mux.Handle("GET /photos/", g.List(resources.Resource{Name: "photos"}, func(w http.ResponseWriter, _ *http.Request, h resources.Hidden) {
			render(w, h)
		}))
		ginR := gin.New()
		ginR.GET("/photos/", g.ProtectList(resources.Resource{Name: "photos"}, func(c *gin.Context, h resources.Hidden) {
			render(c.Writer, h)
		}))
		tok := mustRaw(e, `{"resources":{"photos":{"3":{"block":["GET"]},"9":{"block":["*"]},"2":{"block":["POST"]}}}}`)
		for name, srv := range map[string]http.Handler{"net/http": mux, "gin": ginR} {
			for _, tc := range []struct {
				authz, want string
			}{
				{"token " + tok, `{"has3":true,"hidden":["3","9"],"ids":["1","2"],"stat":"ok"}`},
				{basicAuth("alice", e.password), `{"has3":false,"hidden":null,"ids":["1","2","3"],"stat":"ok"}`},
			} {
				req := httptest.NewRequest("GET", "/photos/", nil)
				req.Header.Set("Authorization", tc.authz)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req)
				var got, want map[string]any
				_ = json.Unmarshal(w.Body.Bytes(), &got)
				_ = json.Unmarshal([]byte(tc.want), &want)
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if w.Code != 200 || string(gb) != string(wb) {
					t.Errorf("%s: %d %s, want %s", name, w.Code, w.Body, tc.want)
				}
			}
			// Refusals never reach the handler.
			req := httptest.NewRequest("GET", "/photos/", nil)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != 401 {
				t.Errorf("%s anonymous: %d %s", name, w.Code, w.Body)
			}
		}
		for _, f := range []func(){
			func() { g.List(resources.Resource{Name: "photos", IDParam: "id"}, nil) },
			func() { g.ProtectList(resources.Resource{Name: "photos", IDParam: "id"}, nil) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Error("a list helper accepted a Resource with an IDParam")
					}
				}()
				f()
			}()
		}
		if got := (resources.Hidden{}).IDs(); !slices.Equal(got, nil) {
			t.Errorf("zero Hidden: %v", got)
		}
	})
}
