package oauthstore_test

import (
	"testing"

	"github.com/go-oauth2/oauth2/v4/models"

	"github.com/authgate/authgate/authserver/oauthstore"
)

// TestRowless: only a JWT access token without a user, a refresh token or
// a code goes without a row.
func TestRowless(t *testing.T) {
	const jwt = "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJ4In0.c2ln"
	opaque, err := oauthstore.NewOpaque(oauthstore.PrefixAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                        string
		access, refresh, user, code string
		want                        bool
	}{
		{name: "client_credentials JWT", access: jwt, want: true},
		{name: "client_credentials opaque", access: opaque},
		{name: "with a user", access: jwt, user: "7"},
		{name: "with a refresh token", access: jwt, refresh: "agrt_x"},
		{name: "a code", code: "agac_x"},
		{name: "with a code", access: jwt, code: "agac_x"},
		{name: "not three parts", access: "a.b"},
	} {
		ti := models.NewToken()
		ti.Access, ti.Refresh, ti.UserID, ti.Code = tc.access, tc.refresh, tc.user, tc.code
		if got := oauthstore.Rowless(ti); got != tc.want {
			t.Errorf("%s: Rowless = %v, want %v", tc.name, got, tc.want)
		}
	}
}
