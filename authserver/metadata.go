package authserver

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
)

// Endpoint paths.
const (
	PathAuthorize  = "/oauth/authorize"
	PathToken      = "/oauth/token"
	PathRevoke     = "/oauth/revoke"
	PathIntrospect = "/oauth/introspect"
	PathJWKS       = "/oauth/jwks.json"
	PathMetadata   = "/.well-known/oauth-authorization-server"
)

// Metadata is the RFC 8414 §2 authorization server metadata. It lists only
// what the server really does: the code flow with S256 (no implicit, no
// password, no plain unless configured: RFC 9700 §2.1.2, §2.4).
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint"` // RFC 8628 §4
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	// DPoPSigningAlgValuesSupported lists the DPoP proof algorithms when
	// DPoP is on (RFC 9449 §5.1).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// Metadata returns the server's RFC 8414 metadata.
func (s *Server) Metadata() Metadata {
	iss := s.cfg.Issuer
	methods := []string{"S256"}
	if s.cfg.AllowPlainPKCE {
		methods = append(methods, "plain")
	}
	m := Metadata{
		Issuer:                                    iss,
		AuthorizationEndpoint:                     iss + PathAuthorize,
		TokenEndpoint:                             iss + PathToken,
		JWKSURI:                                   iss + PathJWKS,
		RevocationEndpoint:                        iss + PathRevoke,
		IntrospectionEndpoint:                     iss + PathIntrospect,
		DeviceAuthorizationEndpoint:               iss + PathDeviceAuthorization,
		ResponseTypesSupported:                    []string{"code"},
		ResponseModesSupported:                    []string{"query"},
		GrantTypesSupported:                       slices.Clone(SupportedGrantTypes),
		TokenEndpointAuthMethodsSupported:         []string{AuthMethodBasic, AuthMethodPost, AuthMethodNone},
		RevocationEndpointAuthMethodsSupported:    []string{AuthMethodBasic, AuthMethodPost, AuthMethodNone},
		IntrospectionEndpointAuthMethodsSupported: []string{AuthMethodBasic, AuthMethodPost},
		CodeChallengeMethodsSupported:             methods,
		// RFC 9207 §3: the authorization endpoint advertised above is
		// package authserver/web's, which sends iss in every response.
		AuthorizationResponseIssParameterSupported: true,
	}
	if s.dpop != nil {
		m.DPoPSigningAlgValuesSupported = s.dpop.Algs()
	}
	if s.scopes != nil {
		m.ScopesSupported = s.scopes.ScopeNames()
	}
	return m
}

func (s *Server) handleMetadata(c *gin.Context) {
	body, err := s.metadataDoc.bytes(s.docKey(), func() any { return s.Metadata() })
	if err != nil {
		s.log.Error("build metadata", "error", err)
		writeOAuthError(c.Writer, errServer)
		return
	}
	allowCORS(c.Writer)
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// handleJWKS serves the published signing keys (RFC 7517 §5). Caches may
// keep it for five minutes; key_publish_delay must exceed that.
func (s *Server) handleJWKS(c *gin.Context) {
	body, err := s.Keys.JWKSJSON(c.Request.Context())
	if err != nil {
		s.log.Error("build JWKS", "error", err)
		writeOAuthError(c.Writer, errServer)
		return
	}
	allowCORS(c.Writer)
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/jwk-set+json", body)
}
