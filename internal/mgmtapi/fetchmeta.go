package mgmtapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
)

// SameSiteWrites refuses a write (any method but GET, HEAD, OPTIONS) that
// the Guard authenticated by the browser session cookie when the browser
// says it came from another site (Fetch Metadata, Sec-Fetch-Site:
// cross-site) — the rule the web forms follow, behind the CSRF token. A
// request with a token in the Authorization header is not a browser's
// ambient credential and passes. It runs after the Guard.
// See docs/faults-and-fuzzing.md, "Cross-site API writes".
func SameSiteWrites(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	p, ok := resources.PrincipalFrom(c)
	if ok && p.Method == resources.MethodSession && c.Request.Header.Get("Sec-Fetch-Site") == "cross-site" {
		resources.Fail(c, resources.PermissionDenied().WithMessage(
			"cross-site request refused: a request authenticated by the session cookie must come from this site"))
		return
	}
	c.Next()
}
