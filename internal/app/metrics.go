package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authgate/authgate/resources"
)

// Every label value of the HTTP metrics comes from a fixed set, so a client
// cannot create series: the method is one of RFC 9110's plus PATCH or
// "other", the route is gin's route pattern or "unmatched", and the status
// is a three-digit code. See docs/operations-security.md, "Metrics".
var knownMethods = map[string]string{
	http.MethodGet: http.MethodGet, http.MethodHead: http.MethodHead, http.MethodPost: http.MethodPost,
	http.MethodPut: http.MethodPut, http.MethodPatch: http.MethodPatch, http.MethodDelete: http.MethodDelete,
	http.MethodOptions: http.MethodOptions,
}

// methodLabel maps a request method to its label. Methods are
// case-sensitive (RFC 9110 §9.1), so "get" is "other" too.
func methodLabel(m string) string {
	if v, ok := knownMethods[m]; ok {
		return v
	}
	return "other"
}

// statusLabel is the status as three digits; anything net/http would not
// send (it refuses codes outside 100-999) is "other".
func statusLabel(code int) string {
	if code < 100 || code > 999 {
		return "other"
	}
	return strconv.Itoa(code)
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgate_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authgate_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, methodLabel(c.Request.Method), statusLabel(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

// metricsHandler serves the registry in the Prometheus text format.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// MetricsHandler is the handler for server.metrics_addr: /metrics and
// nothing else. When server.metrics_addr is empty the main router serves
// /metrics instead.
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(a.Metrics))
	return mux
}

// authDecisions counts the resource middleware's outcomes by how the caller
// authenticated. Both labels come from fixed sets (the Guard's methods and
// outcomes).
func authDecisions(reg prometheus.Registerer) func(resources.AuthMethod, string) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authgate_auth_decisions_total",
		Help: "Requests to protected resources by authentication method (none when anonymous) and outcome.",
	}, []string{"method", "outcome"})
	reg.MustRegister(c)
	return func(m resources.AuthMethod, outcome string) {
		method := string(m)
		if method == "" {
			method = "none"
		}
		c.WithLabelValues(method, outcome).Inc()
	}
}
