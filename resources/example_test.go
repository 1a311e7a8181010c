package resources_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
)

// staticTokens is a toy BearerValidator: a resource server would use
// remote.JWKSValidator or remote.Introspector.
type staticTokens map[string]string // token -> scopes

func (s staticTokens) ValidateBearer(_ context.Context, raw string) (*resources.BearerToken, error) {
	sc, ok := s[raw]
	if !ok {
		return nil, resources.ErrBearerInvalid
	}
	set, err := scopes.ParseSet(sc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", resources.ErrBearerInvalid, err)
	}
	return &resources.BearerToken{ClientID: "app", UserID: 7, Username: "alice", Scopes: set, Audience: []string{"https://photos.example"}}, nil
}

// A net/http resource server: the Guard is middleware on an http.ServeMux,
// the object ID comes from the pattern's {id}, and the handler reads the
// caller with PrincipalFromContext.
func ExampleGuard_Middleware() {
	guard, err := resources.NewGuard(resources.GuardConfig{
		Bearer:   staticTokens{"t-read": "photos:read"},
		Audience: "https://photos.example",
	})
	if err != nil {
		panic(err)
	}
	photos := resources.Resource{Name: "photos", IDParam: "id"} // scopes photos:read|write|destroy
	mux := http.NewServeMux()
	mux.Handle("/photos/{id}/", guard.Middleware(photos)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := resources.PrincipalFromContext(r.Context())
		fmt.Fprintf(w, "photo %s for %s", r.PathValue("id"), p.User.Username)
	})))

	for _, req := range []struct{ method, authz string }{
		{"GET", "Bearer t-read"},
		{"DELETE", "Bearer t-read"},
		{"GET", "Bearer nope"},
	} {
		r := httptest.NewRequest(req.method, "/photos/42/", nil)
		r.Header.Set("Authorization", req.authz)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 photo 42 for alice
	// 403 {"stat":"fail","err":{"code":112,"msg":"Your OAuth2 token lacks the necessary scopes for this request.","type":"auth-oauth2-missing-scope"}}
	// 401 {"stat":"fail","err":{"code":104,"msg":"The OAuth2 access token is invalid, expired or revoked.","type":"auth-login-failed"}}
}
