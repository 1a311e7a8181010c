package authserver

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authgate/authgate/internal/db/dbtest"
)

// BenchmarkDiscoveryDocs measures serving the RFC 8414 metadata, the OpenID
// Connect discovery document and the JWKS through the router: documents
// that change only with the scope registry or the published keys.
func BenchmarkDiscoveryDocs(b *testing.B) {
	_, h := benchServer(b, dbtest.Open(b), FormatJWT)
	for _, path := range []string{PathMetadata, PathOIDCDiscovery, PathJWKS} {
		b.Run(path[1:], func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
