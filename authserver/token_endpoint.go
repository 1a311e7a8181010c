package authserver

import (
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
)

// redirectOmitted stands in for a redirect_uri the token request did not
// send; it cannot be a registered URI (registered URIs are absolute URLs).
const redirectOmitted = "urn:authgate:redirect-uri-omitted"

// maxFormBytes bounds an OAuth endpoint's form body; go-oauth2 parses with
// FormValue and would accept a multipart body of any size
// (docs/go-oauth2.md, "Driving it from gin").
const maxFormBytes = 64 << 10

// parseOAuthForm applies the request rules shared by the token, revocation
// and introspection endpoints, before anything reads a parameter:
//
//   - POST with Content-Type application/x-www-form-urlencoded (RFC 6749
//     §3.2, RFC 7009 §2.1, RFC 7662 §2.1);
//   - nothing in the query string: client secrets and tokens never travel
//     in URLs (RFC 6749 §2.3.1, OAuth 2.1;
//     docs/go-oauth2.md, "Findings and their tests", finding 11);
//   - no parameter more than once (RFC 6749 §3.1, §3.2;
//     docs/go-oauth2.md, "Findings and their tests", finding 11),
//     except resource, which RFC 8707 §2 lets repeat.
//
// Afterwards r.Form holds the body parameters only.
func parseOAuthForm(w http.ResponseWriter, r *http.Request) *oauthError {
	if r.Method != http.MethodPost {
		return oerr(codeInvalidRequest, "use POST")
	}
	if r.URL.RawQuery != "" {
		return oerr(codeInvalidRequest, "parameters must be sent in the request body, not the query string")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return oerr(codeInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return oerr(codeInvalidRequest, "the request body is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "resource" {
			return oerr(codeInvalidRequest, "parameter "+k+" is repeated")
		}
	}
	r.Form = r.PostForm
	return nil
}

// handleToken serves POST /oauth/token. Request shape and grant type are
// checked here; the library then parses the grant, calls our
// ClientInfoHandler (client authentication) and our manager (the grants),
// and writes the response through our error handlers.
func (s *Server) handleToken(c *gin.Context) {
	w, r := c.Writer, c.Request
	allowCORS(w)
	if e := parseOAuthForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	gt := r.PostForm.Get("grant_type")
	switch gt {
	case "":
		writeOAuthError(w, oerr(codeInvalidRequest, "grant_type is required"))
		return
	case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode:
	default:
		// password and implicit are not served (RFC 9700 §2.4;
		// docs/go-oauth2.md, "Findings and their tests", finding 9).
		writeOAuthError(w, oerr(codeUnsupportedGrantType, "the grant type is not supported"))
		return
	}
	if gt == GrantAuthorizationCode && r.PostForm.Get("redirect_uri") == "" {
		// OAuth 2.1 §4.1.3 drops redirect_uri from the token request (PKCE
		// binds the code instead) and RFC 6749 §4.1.3 needs it only when the
		// authorization request carried one; go-oauth2 insists on a value.
		// The marker stands for "omitted"; grants.RedeemCode decides whether
		// the code may be redeemed without it.
		r.PostForm.Set("redirect_uri", redirectOmitted)
	}
	jkt, e := s.tokenProof(r)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	ctx, st := withState(r.Context())
	st.jkt = jkt
	r = r.WithContext(ctx)
	if gt == GrantDeviceCode {
		if s.serveDeviceToken(w, r, jkt != "") {
			c.Set(ctxExpectedRefusal, true)
		}
		return
	}
	if err := s.OAuth2.HandleTokenRequest(&tokenResponse{ResponseWriter: w, dpop: jkt != "", st: st}, r); err != nil {
		s.log.Debug("token response not written completely", "error", err)
	}
}

// allowCORS lets browser apps call the token, revocation, discovery and
// JWKS endpoints (RFC 9700 §2.6 allows CORS there; they use no cookies).
func allowCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

// handlePreflight answers CORS preflight requests for the POST endpoints.
func handlePreflight(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
	h.Set("Access-Control-Max-Age", "600")
	c.Status(http.StatusNoContent)
}
