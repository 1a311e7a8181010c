package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// seriesOf counts the series of metric name in a /metrics exposition.
func seriesOf(body, name string) int {
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") {
			n++
		}
	}
	return n
}

// TestMetricsLabelsBounded floods the server with made-up methods and
// paths: the request counter must keep a fixed set of series (method
// "other", route "unmatched"), not one per method.
func TestMetricsLabelsBounded(t *testing.T) {
	a := newApp(t, dbtest.SQLiteDSN(t), nil)
	for i := range 3000 {
		req := httptest.NewRequest(fmt.Sprintf("M%04d", i), fmt.Sprintf("/nowhere/%d", i), nil)
		a.Router.ServeHTTP(httptest.NewRecorder(), req)
	}
	for _, m := range []string{"get", "Get", "PROPFIND"} {
		a.Router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/healthz", nil))
	}
	body := get(t, a.Router, "/metrics", nil).Body.String()
	if n := seriesOf(body, "authgate_http_requests_total"); n > 10 {
		t.Fatalf("authgate_http_requests_total has %d series after a method flood (want a handful); %d bytes of /metrics", n, len(body))
	}
	if !strings.Contains(body, `authgate_http_requests_total{method="other",route="unmatched",status="404"} 3000`) {
		t.Errorf("made-up methods are not counted as method=\"other\":\n%s", grepLines(body, "authgate_http_requests_total"))
	}
	if strings.Contains(body, `method="get"`) || strings.Contains(body, `method="PROPFIND"`) {
		t.Errorf("a non-canonical method leaked into a label:\n%s", grepLines(body, "authgate_http_requests_total"))
	}
	t.Logf("after 3000 made-up methods: %d series, /metrics %d bytes", seriesOf(body, "authgate_http_requests_total"), len(body))
}

func grepLines(body, prefix string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsAddrMovesMetrics: with server.metrics_addr set, /metrics is
// not on the main router but on the separate handler.
func TestMetricsAddrMovesMetrics(t *testing.T) {
	cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dbtest.SQLiteDSN(t), "server.metrics_addr": "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAppFrom(t, cfg)
	if w := get(t, a.Router, "/metrics", nil); w.Code != http.StatusNotFound {
		t.Fatalf("main router /metrics = %d, want 404 when server.metrics_addr is set", w.Code)
	}
	h := a.MetricsHandler()
	if w := get(t, h, "/metrics", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "go_goroutines") {
		t.Fatalf("metrics handler /metrics = %d", w.Code)
	}
	if w := get(t, h, "/healthz", nil); w.Code != http.StatusNotFound {
		t.Fatalf("metrics handler serves /healthz: %d", w.Code)
	}
}

func newAppFrom(t *testing.T, cfg configs.Config) *app.App {
	t.Helper()
	a, err := app.New(t.Context(), cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
