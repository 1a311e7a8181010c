package authserver

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/scopes"
)

// handleUserinfo serves GET and POST /oauth/userinfo (OpenID Connect Core
// §5.3): the claims of the token's user that its scopes allow, with the sub
// of its ID tokens. The access token comes in the Authorization header only,
// as a Bearer token (RFC 6750 §2.1) or DPoP-bound with a proof for this
// request (RFC 9449 §7); failures are RFC 6750 §3 challenges.
func (s *Server) handleUserinfo(c *gin.Context) {
	allowCORS(c.Writer)
	c.Header("Cache-Control", "no-store")
	r := c.Request
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	isDPoP := strings.EqualFold(scheme, dpop.TokenType)
	if s.users == nil {
		c.Status(http.StatusNotFound) // a server built without users serves no userinfo
		return
	}
	if raw == "" || (!strings.EqualFold(scheme, "Bearer") && !isDPoP) || (isDPoP && s.dpop == nil) {
		userinfoChallenge(c, http.StatusUnauthorized, "", "")
		return
	}
	at, err := s.access.Validate(r.Context(), raw)
	if errors.Is(err, errTokenInvalid) {
		userinfoChallenge(c, http.StatusUnauthorized, "invalid_token", "the access token is not valid")
		return
	}
	if err != nil {
		s.log.Error("userinfo: validate token", "error", err)
		c.Status(http.StatusInternalServerError)
		return
	}
	switch {
	case isDPoP && at.JKT == "":
		userinfoChallenge(c, http.StatusUnauthorized, "invalid_token", "the access token is not DPoP-bound")
		return
	case !isDPoP && at.JKT != "":
		// RFC 9449 §7.2: a bound token is not a Bearer token.
		userinfoChallenge(c, http.StatusUnauthorized, "invalid_token", "the access token is DPoP-bound; send it with a DPoP proof")
		return
	case isDPoP:
		proofs := r.Header.Values("DPoP")
		if len(proofs) != 1 {
			userinfoChallenge(c, http.StatusUnauthorized, "invalid_token", "exactly one DPoP proof is required")
			return
		}
		p, err := s.dpop.Verify(r.Context(), proofs[0], dpop.Request{Method: r.Method, URL: s.cfg.Issuer + PathUserinfo, AccessToken: raw})
		if err != nil || p.JKT != at.JKT {
			userinfoChallenge(c, http.StatusUnauthorized, "invalid_token", "the DPoP proof does not match the token or this request")
			return
		}
	}
	granted, _ := scopes.ParseSet(at.Scope)
	if at.UserID == 0 || !granted.Has(ScopeOpenID) {
		userinfoChallenge(c, http.StatusForbidden, "insufficient_scope", "the access token was not granted the openid scope")
		return
	}
	u, err := s.users.Get(r.Context(), at.UserID)
	if err != nil {
		userinfoChallenge(c, http.StatusUnauthorized, "invalid_token", "the token's user no longer exists")
		return
	}
	var cl IDTokenClaims
	userClaims(&cl, u, granted)
	out := gin.H{"sub": Subject(u.ID)}
	if granted.Has(ScopeProfile) {
		out["preferred_username"], out["name"] = cl.PreferredUsername, cl.Name
	}
	if cl.Email != "" {
		out["email"], out["email_verified"] = cl.Email, *cl.EmailVerified
	}
	c.JSON(http.StatusOK, out)
}

// userinfoChallenge writes an RFC 6750 §3 error with its WWW-Authenticate
// challenge (no error attribute when the request carried no token, RFC 6750 §3.1).
func userinfoChallenge(c *gin.Context, status int, code, desc string) {
	v := `Bearer realm="userinfo"`
	if code != "" {
		v += `, error="` + code + `", error_description="` + desc + `"`
	}
	c.Header("WWW-Authenticate", v)
	if code == "" {
		c.Status(status)
		return
	}
	c.JSON(status, gin.H{"error": code, "error_description": desc})
}
