package resources_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens/policy"
)

// Stub credential checkers with no I/O: one good value each.
type fuzzTokens struct{}

var fullAccess = func() *policy.Compiled {
	doc, err := policy.Parse([]byte(`{}`))
	if err != nil {
		panic(err)
	}
	c, err := policy.Compile(doc)
	if err != nil {
		panic(err)
	}
	return c
}()

func (fuzzTokens) AuthenticateAPIToken(_ context.Context, raw string) (*resources.AuthenticatedToken, error) {
	if raw == "agp_good" {
		return &resources.AuthenticatedToken{User: resources.User{ID: 1, Username: "alice", IsActive: true}, Policy: fullAccess}, nil
	}
	return nil, &resources.TokenError{Kind: resources.ErrTokenUnknown}
}

type fuzzBearer struct{}

var photosRead, _ = scopes.NewSet("photos:read")

func (fuzzBearer) ValidateBearer(_ context.Context, raw string) (*resources.BearerToken, error) {
	switch raw {
	case "good":
		return &resources.BearerToken{TokenID: "1", ClientID: "c", UserID: 1, Scopes: photosRead}, nil
	case "bound":
		return &resources.BearerToken{TokenID: "2", ClientID: "c", UserID: 1, Scopes: photosRead, JKT: "x"}, nil
	}
	return nil, resources.ErrBearerInvalid
}

type fuzzUsers struct{}

func (fuzzUsers) UserByID(_ context.Context, id int64) (resources.User, error) {
	return resources.User{ID: id, Username: "alice", IsActive: true}, nil
}

func (fuzzUsers) CheckPassword(_ context.Context, u, p string) (resources.User, error) {
	if u == "alice" && p == "pw" {
		return resources.User{ID: 1, Username: u, IsActive: true}, nil
	}
	return resources.User{}, resources.ErrInvalidCredentials
}

// FuzzAuthorizationHeader feeds arbitrary Authorization (and DPoP) headers
// to a Guard with every scheme on. Whatever the input, it answers 200 or a
// 401 in Djblets' envelope (103 or 104) with a challenge; never a panic, a
// 500 or a 403 for a header that is not a credential.
func FuzzAuthorizationHeader(f *testing.F) {
	for _, s := range []string{
		"", " ", "token agp_good", "token  agp_good", "TOKEN agp_bad", "Bearer good", "bearer good ",
		"Bearer a b", "Bearer ===", "Bearer a=b", "DPoP bound", "DPoP good", "Basic YWxpY2U6cHc=", "Basic !!",
		"Basic YWxpY2U=", "Digest x", "Negotiate", "token\tx", "Bearer\x00x", strings.Repeat("a", 300) + " x",
	} {
		f.Add(s, "")
	}
	f.Add("DPoP bound", "eyJhbGciOiJFUzI1NiJ9.e30.sig")
	v, err := dpop.NewVerifier(dpop.Options{})
	if err != nil {
		f.Fatal(err)
	}
	g, err := resources.NewGuard(resources.GuardConfig{
		Tokens: fuzzTokens{}, Bearer: fuzzBearer{}, DPoP: v, Users: fuzzUsers{}, EnableBasic: true,
		PublicURL: "https://photos.example", NoFailedAuthLimit: true,
	})
	if err != nil {
		f.Fatal(err)
	}
	h := g.Middleware(resources.Resource{Name: "photos"})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	f.Fuzz(func(t *testing.T, authz, proof string) {
		req := httptest.NewRequest(http.MethodGet, "https://photos.example/photos/", nil)
		req.Header["Authorization"] = []string{authz}
		if proof != "" {
			req.Header["Dpop"] = []string{proof}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
			return
		case http.StatusUnauthorized:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, authz, w.Body)
		}
		var env envelope
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Stat != "fail" ||
			(env.Err.Code != resources.CodeLoginFailed && env.Err.Code != resources.CodeNotLoggedIn) || env.Err.Msg == "" {
			t.Fatalf("body %s for %q", w.Body, authz)
		}
		if len(w.Header().Values("WWW-Authenticate")) == 0 {
			t.Fatalf("401 without a challenge for %q", authz)
		}
	})
}
