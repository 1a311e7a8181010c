package authserver

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/netaddr"
	"github.com/authgate/authgate/internal/ratelimit"
)

// EndpointLimits are the rate limits of the token, revocation and
// introspection endpoints. A zero field means its default, a negative one
// no limit. See docs/operations-security.md, "Rate limits".
type EndpointLimits struct {
	// ClientPerMinute is the calls an authenticated client may make per
	// minute (a burst of as many, then one every minute/ClientPerMinute),
	// wherever it calls from: clients behind one proxy or NAT do not share
	// it. Default 6000.
	ClientPerMinute int
	// IPFailuresPerMinute is the failed calls (any 4xx: no or wrong client
	// credentials, a replayed code, a bad request) a client IP may make per
	// minute; successful calls do not count. Default 60.
	IPFailuresPerMinute int
}

// Defaults of EndpointLimits.
const (
	DefaultClientPerMinute     = 6000
	DefaultIPFailuresPerMinute = 60
)

// newEndpointLimiter returns the token buckets for perMinute (0: def), nil
// (no limit) when perMinute is negative.
func newEndpointLimiter(perMinute, def int, now func() time.Time) *ratelimit.Buckets {
	if perMinute < 0 {
		return nil
	}
	if perMinute == 0 {
		perMinute = def
	}
	return ratelimit.New(perMinute, time.Minute, now)
}

// rateLimited is the answer to a caller over a limit: 429 with Retry-After.
// RFC 6749 §5.2 has no code for it (slow_down is RFC 8628's device-flow
// polling code, temporarily_unavailable an authorization-endpoint code), so
// the body uses invalid_request, which every client library handles; the
// status and Retry-After say the rest.
func rateLimited(wait time.Duration, why string) *oauthError {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &oauthError{Code: codeInvalidRequest, retryAfter: secs,
		Description: fmt.Sprintf("rate limit exceeded: %s; retry after %ds", why, secs)}
}

// admitClient spends one call of an authenticated client's limit.
func (s *Server) admitClient(c *Client) error {
	if ok, wait, _ := s.clientLimit.Take(c.ID); !ok {
		return rateLimited(wait, "too many calls by this client")
	}
	return nil
}

// limitFailures wraps an endpoint handler with the per-IP failure limit.
// Each call holds one of its IP's failures while it runs (so parallel
// guesses are bounded too) and gives it back when it succeeds, when it
// was refused by its client's own limit, or when the handler marked its
// refusal as expected (a device's pending poll): an authenticated client's
// traffic must not lock out its neighbours behind the same address.
func (s *Server) limitFailures(h gin.HandlerFunc) gin.HandlerFunc {
	if s.ipFailLimit == nil {
		return h
	}
	return func(c *gin.Context) {
		ok, wait, refund := s.ipFailLimit.Take(netaddr.Key(c.ClientIP()))
		if !ok {
			writeOAuthError(c.Writer, rateLimited(wait, "too many failed calls from this address"))
			c.Abort()
			return
		}
		h(c)
		if st := c.Writer.Status(); st < http.StatusBadRequest || st == http.StatusTooManyRequests || c.GetBool(ctxExpectedRefusal) {
			refund()
		}
	}
}
