package authserver

import (
	"context"
	"testing"

	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestMetadataAdvertisesIss: RFC 9207 support is a fact of the server as
// built, not a flag the web pages set afterwards: a Server nobody else has
// touched advertises it.
func TestMetadataAdvertisesIss(t *testing.T) {
	d := dbtest.Open(t)
	s, err := New(context.Background(), Deps{DB: d, Users: users.NewSQLStore(d)}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Metadata(); !m.AuthorizationResponseIssParameterSupported || m.AuthorizationEndpoint != m.Issuer+PathAuthorize {
		t.Fatalf("metadata: iss supported %v, authorization endpoint %q", m.AuthorizationResponseIssParameterSupported, m.AuthorizationEndpoint)
	}
}
