package app

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/authgate/authgate/resources"
)

// requestLogger logs one line per request: method, route, path, status,
// duration and client address. It never logs headers, cookies, the query
// string or bodies, so no credential can reach the log.
func requestLogger(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		logger.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", c.ClientIP()),
		)
	}
}

// recoverer turns a panic into a plain 500 without echoing anything of the
// request; the stack goes to the log, the request headers do not.
func recoverer(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.Error("panic serving request", "method", c.Request.Method, "path", c.Request.URL.Path,
					"panic", p, "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "server_error", "error_description": "internal error"})
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

// limitBody caps request bodies so a client cannot exhaust memory.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
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
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

// tokenEndpointPaths are the OAuth endpoints a client calls with its
// credentials; they are rate-limited per client IP (docs/architecture.md, "Operations") so that
// secret guessing and token hammering are bounded.
var tokenEndpointPaths = map[string]bool{"/oauth/token": true, "/oauth/revoke": true, "/oauth/introspect": true}

// DefaultTokenEndpointRate is the requests per minute per IP when
// auth.token_endpoint_rate is 0.
const DefaultTokenEndpointRate = 600

// tokenEndpointLimit answers 429 with Retry-After, in the RFC 6749 §5.2
// JSON shape, once an IP exceeds perMinute requests to the token
// endpoints in a minute. A negative perMinute disables it.
func tokenEndpointLimit(perMinute int) gin.HandlerFunc {
	if perMinute < 0 {
		return func(c *gin.Context) { c.Next() }
	}
	if perMinute == 0 {
		perMinute = DefaultTokenEndpointRate
	}
	l := &resources.WindowLimiter{Anonymous: perMinute, Period: time.Minute}
	return func(c *gin.Context) {
		if !tokenEndpointPaths[c.Request.URL.Path] {
			c.Next()
			return
		}
		ok, retry, _ := l.Allow("ip:"+c.ClientIP(), false)
		if ok {
			c.Next()
			return
		}
		secs := int(retry.Seconds() + 0.999)
		if secs < 1 {
			secs = 1
		}
		c.Header("Retry-After", strconv.Itoa(secs))
		c.Header("Cache-Control", "no-store")
		c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{
			"error":             "temporarily_unavailable",
			"error_description": "too many requests from this address; retry after " + strconv.Itoa(secs) + "s",
		})
	}
}

// authDecisions counts the resource middleware's outcomes by how the caller
// authenticated (docs/architecture.md, "Operations": auth decisions by outcome).
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
