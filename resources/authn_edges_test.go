package resources_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
)

// keyBearer is a BearerValidator whose token "bound" is bound to jkt and
// whose other answers are chosen by the token text.
type keyBearer struct{ jkt string }

func (b keyBearer) ValidateBearer(_ context.Context, raw string) (*resources.BearerToken, error) {
	switch raw {
	case "bound":
		return &resources.BearerToken{TokenID: "2", ClientID: "c", UserID: 1, Scopes: photosRead, JKT: b.jkt}, nil
	case "down":
		return nil, &resources.UnavailableError{Err: errors.New("introspection timed out")}
	case "broken":
		return nil, errors.New("store exploded")
	case "ghost", "inactive", "userdown":
		ids := map[string]int64{"ghost": 404, "inactive": 2, "userdown": 3}
		return &resources.BearerToken{TokenID: "3", ClientID: "c", UserID: ids[raw], Scopes: photosRead}, nil
	}
	return fuzzBearer{}.ValidateBearer(context.Background(), raw)
}

type edgeUsers struct{}

func (edgeUsers) UserByID(_ context.Context, id int64) (resources.User, error) {
	switch id {
	case 404:
		return resources.User{}, resources.ErrUserNotFound
	case 2:
		return resources.User{ID: 2, Username: "bob"}, nil
	case 3:
		return resources.User{}, errors.New("user store down")
	}
	return resources.User{ID: id, Username: "alice", IsActive: true}, nil
}

func (edgeUsers) CheckPassword(_ context.Context, u, p string) (resources.User, error) {
	if u == "boom" {
		return resources.User{}, errors.New("password store down")
	}
	return fuzzUsers{}.CheckPassword(context.Background(), u, p)
}

type failReplay struct{}

func (failReplay) Use(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("replay store down")
}

// TestChallengesWithEachScheme: a Bearer error lists the DPoP challenge
// (with its algs) only when DPoP is on, and the others after it; a
// DPoP-bound token sent as Bearer gets a DPoP challenge without algs when
// DPoP is off.
func TestChallengesWithEachScheme(t *testing.T) {
	on := stubGuardHandler(t, nil)
	off := stubGuardHandler(t, func(c *resources.GuardConfig) { c.DPoP = nil })
	dpopCh := `DPoP realm="authgate", algs="ES256 EdDSA RS256"`

	_, _, h := send(t, on, "Bearer nope")
	want := []string{`Bearer realm="authgate", error="invalid_token", error_description="The access token is invalid, expired or revoked"`, dpopCh, chToken, chBasic}
	if got := h.Values("WWW-Authenticate"); !slices.Equal(got, want) {
		t.Errorf("DPoP on, bad bearer: %q\nwant %q", got, want)
	}
	_, _, h = send(t, off, "Bearer nope")
	want = []string{want[0], chToken, chBasic}
	if got := h.Values("WWW-Authenticate"); !slices.Equal(got, want) {
		t.Errorf("DPoP off, bad bearer: %q\nwant %q", got, want)
	}

	_, _, h = send(t, off, "Bearer bound")
	want = []string{`DPoP realm="authgate", error="invalid_token", error_description="The access token is DPoP-bound; use the DPoP scheme with a proof"`, chBearer, chToken, chBasic}
	if got := h.Values("WWW-Authenticate"); !slices.Equal(got, want) {
		t.Errorf("DPoP off, bound token as bearer: %q\nwant %q", got, want)
	}
	_, _, h = send(t, on, "Bearer bound")
	want[0] = dpopCh + `, error="invalid_token", error_description="The access token is DPoP-bound; use the DPoP scheme with a proof"`
	if got := h.Values("WWW-Authenticate"); !slices.Equal(got, want) {
		t.Errorf("DPoP on, bound token as bearer: %q\nwant %q", got, want)
	}

	_, env, h := send(t, on, "DPoP good")
	if got := h.Values("WWW-Authenticate"); len(got) != 4 || !strings.HasPrefix(got[0], dpopCh+`, error="invalid_dpop_proof"`) || !strings.Contains(env.Err.Msg, "exactly one DPoP proof") {
		t.Errorf("DPoP without a proof: %q %q", env.Err.Msg, got)
	}
}

// TestDPoPRequestURL: the htu a proof must carry is the configured public
// URL (a trailing slash dropped) plus the path, or, without one, the
// request's own scheme and host; a proof that matches it gets as far as
// the key binding. Exactly one DPoP header is accepted, and a replay store
// that fails is a server error.
func TestDPoPRequestURL(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	jkt, err := dpop.Thumbprint(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	build := func(publicURL string, replay dpop.ReplayStore) http.Handler {
		v, err := dpop.NewVerifier(dpop.Options{Replay: replay})
		if err != nil {
			t.Fatal(err)
		}
		g, err := resources.NewGuard(resources.GuardConfig{Bearer: keyBearer{jkt: jkt}, DPoP: v, Users: edgeUsers{}, PublicURL: publicURL, NoFailedAuthLimit: true})
		if err != nil {
			t.Fatal(err)
		}
		return g.Middleware(resources.Resource{Name: "photos"})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	}
	do := func(h http.Handler, target, htu string, proofs int) (int, string) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "DPoP bound")
		for range proofs {
			p, err := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: htu, AccessToken: "bound"})
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Add("DPoP", p)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusOK {
			return w.Code, ""
		}
		return w.Code, decode(t, w.Body.Bytes()).Err.Msg
	}
	for _, tc := range []struct {
		public, target, htu string
		ok                  bool
	}{
		{"https://photos.example/", "http://internal:8080/photos/", "https://photos.example/photos/", true},
		{"https://photos.example", "http://internal:8080/photos/", "http://internal:8080/photos/", false},
		{"", "http://photos.example/photos/", "http://photos.example/photos/", true},
		{"", "http://photos.example/photos/", "https://photos.example/photos/", false},
		{"", "https://photos.example/photos/", "https://photos.example/photos/", true},
		{"", "https://photos.example/photos/", "http://photos.example/photos/", false},
	} {
		code, msg := do(build(tc.public, nil), tc.target, tc.htu, 1)
		if tc.ok != (code == http.StatusOK) {
			t.Errorf("public %q, request %s, htu %s: %d %q, want ok=%v", tc.public, tc.target, tc.htu, code, msg, tc.ok)
		}
	}
	h := build("https://photos.example", nil)
	for _, n := range []int{0, 2} {
		if code, msg := do(h, "https://photos.example/photos/", "https://photos.example/photos/", n); code != http.StatusUnauthorized || !strings.Contains(msg, "exactly one DPoP proof") {
			t.Errorf("%d proofs: %d %q", n, code, msg)
		}
	}
	if code, _ := do(build("https://photos.example", failReplay{}), "https://photos.example/photos/", "https://photos.example/photos/", 1); code != http.StatusInternalServerError {
		t.Errorf("failing replay store: %d, want 500", code)
	}
}

// TestBearerUserAndUpstreamFailures: the token's user must exist and be
// active; a validator or user store that fails is 503 when it says it is
// unavailable and 500 otherwise, never a 401; Basic's password store the
// same; Basic credentials must be base64 of "user:password".
func TestBearerUserAndUpstreamFailures(t *testing.T) {
	h := stubGuardHandler(t, func(c *resources.GuardConfig) {
		c.Bearer = keyBearer{}
		c.Users = edgeUsers{}
	})
	for _, tc := range []struct {
		authz  string
		status int
		msg    string
	}{
		{"Bearer ghost", 401, "inactive or no longer exists"},
		{"Bearer inactive", 401, "inactive or no longer exists"},
		{"Bearer userdown", 500, ""},
		{"Bearer down", 503, ""},
		{"Bearer broken", 500, ""},
		{"Bearer good", 200, ""},
		{basicAuth("boom", "x"), 500, ""},
		{basicAuth("alice", "wrong"), 401, "The username or password was not correct"},
		{basicAuth("alice", "pw"), 200, ""},
		{"Basic !!!", 401, "not valid base64"},
		{"Basic " + "YWxpY2U=", 401, `not "username:password"`},
	} {
		code, env, _ := send(t, h, tc.authz)
		if code != tc.status || !strings.Contains(env.Err.Msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d %q", tc.authz, code, env.Err.Msg, tc.status, tc.msg)
		}
	}
	noUsers := stubGuardHandler(t, func(c *resources.GuardConfig) {
		c.Bearer = keyBearer{}
		c.Users = nil
		c.EnableBasic = false
	})
	if code, _, _ := send(t, noUsers, "Bearer ghost"); code != http.StatusOK {
		t.Errorf("without a user directory the token's user is taken as is: %d", code)
	}
}
