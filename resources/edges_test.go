package resources_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
)

// stubGuardHandler is a Guard with every scheme on and stub checkers (no
// I/O), protecting one resource with a handler that answers 200.
func stubGuardHandler(t *testing.T, mod func(*resources.GuardConfig)) http.Handler {
	t.Helper()
	v, err := dpop.NewVerifier(dpop.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := resources.GuardConfig{
		Tokens: fuzzTokens{}, Bearer: fuzzBearer{}, DPoP: v, Users: fuzzUsers{}, EnableBasic: true,
		PublicURL: "https://photos.example", NoFailedAuthLimit: true,
	}
	if mod != nil {
		mod(&cfg)
	}
	g, err := resources.NewGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g.Middleware(resources.Resource{Name: "photos"})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
}

// send makes one GET with the given Authorization header and returns the
// status and the decoded Djblets envelope (zero on success).
func send(t *testing.T, h http.Handler, authz string) (int, envelope, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "https://photos.example/photos/", nil)
	req.Header["Authorization"] = []string{authz}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var env envelope
	if w.Code != http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatalf("%q: body %q is not JSON: %v", authz, w.Body, err)
		}
	}
	return w.Code, env, w.Header()
}

// TestUnsupportedSchemeEcho: an unknown scheme is echoed in the error only
// when it is an RFC 9110 token of at most 20 characters; anything else (it
// might be a pasted credential) is reported as "(unrecognised)". The edges
// of each character range and of the length limit are checked.
func TestUnsupportedSchemeEcho(t *testing.T) {
	h := stubGuardHandler(t, nil)
	echoed := []string{
		"az", "AZ", "x09", "a-b", "a_b", "a.b", "Zz", "0", "9x",
		strings.Repeat("s", 20),
	}
	for _, s := range echoed {
		code, env, _ := send(t, h, s+" x")
		if code != http.StatusUnauthorized || !strings.Contains(env.Err.Msg, `scheme "`+s+`"`) {
			t.Errorf("scheme %q: %d %q, want it echoed", s, code, env.Err.Msg)
		}
	}
	hidden := []string{
		"a`", "a{", "a@", "a[", "a/", "a:", "a,", "a+", "a~", "a=", "a\x7f",
		strings.Repeat("s", 21),
	}
	for _, s := range hidden {
		code, env, _ := send(t, h, s+" x")
		if code != http.StatusUnauthorized || !strings.Contains(env.Err.Msg, "(unrecognised)") || strings.Contains(env.Err.Msg, s) {
			t.Errorf("scheme %q: %d %q, want (unrecognised)", s, code, env.Err.Msg)
		}
	}
}

// TestBearerTokenCharacters: RFC 6750 §2.1's b64token at the edges of each
// character range, with trailing "=" padding only. A token of allowed
// characters reaches the validator (invalid_token); anything else is a
// malformed header (invalid_request).
func TestBearerTokenCharacters(t *testing.T) {
	h := stubGuardHandler(t, nil)
	for _, scheme := range []string{"Bearer", "DPoP"} {
		valid := []string{"a", "z", "A", "Z", "0", "9", "-", ".", "_", "~", "+", "/", "az==", "a="}
		for _, tok := range valid {
			code, env, _ := send(t, h, scheme+" "+tok)
			if code != http.StatusUnauthorized || strings.Contains(env.Err.Msg, "Malformed") {
				t.Errorf("%s %q: %d %q, want it accepted as a b64token", scheme, tok, code, env.Err.Msg)
			}
		}
		invalid := []string{"`", "{", "@", "[", ":", ",", "*", "!", "=", "==", "a=b", "a=="[:1] + "=a", "a\x7f"}
		for _, tok := range invalid {
			code, env, hd := send(t, h, scheme+" "+tok)
			if code != http.StatusUnauthorized || !strings.Contains(env.Err.Msg, "Malformed Authorization header") {
				t.Errorf("%s %q: %d %q, want a malformed header", scheme, tok, code, env.Err.Msg)
			}
			if scheme == "Bearer" && !strings.Contains(strings.Join(hd.Values("WWW-Authenticate"), "\n"), `error="invalid_request"`) {
				t.Errorf("Bearer %q: challenge %q, want invalid_request", tok, hd.Values("WWW-Authenticate"))
			}
		}
	}
}

// TestRetryAfterRounding: Retry-After is whole seconds rounded up, at least
// 1, for both the failed-login limit and the rate limit.
func TestRetryAfterRounding(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want string
	}{
		{0, "1"}, {-time.Second, "1"}, {time.Nanosecond, "1"}, {time.Second, "1"},
		{time.Second + time.Nanosecond, "2"}, {12 * time.Second, "12"}, {12*time.Second - time.Millisecond, "12"},
	} {
		if got := resources.LoginAttemptsExceeded(tc.wait).Headers.Get("Retry-After"); got != tc.want {
			t.Errorf("LoginAttemptsExceeded(%v): Retry-After %q, want %q", tc.wait, got, tc.want)
		}
		if got := resources.RateLimitExceeded(tc.wait, 7).Headers.Get("Retry-After"); got != tc.want {
			t.Errorf("RateLimitExceeded(%v): Retry-After %q, want %q", tc.wait, got, tc.want)
		}
		want := tc.want
		if tc.wait <= 0 {
			want = "5" // DefaultRetryAfter, documented as 5 s
		}
		if got := resources.Unavailable(tc.wait).Headers.Get("Retry-After"); got != want {
			t.Errorf("Unavailable(%v): Retry-After %q, want %q", tc.wait, got, want)
		}
	}
}

// TestFailureBucketsEdges: zero arguments mean Djblets' 5 per minute; a
// window shorter than one nanosecond per attempt still refuses with a
// positive wait; attempts come back gradually (half a refill period is not
// an attempt) and failures past the limit do not push the refill further
// out.
func TestFailureBucketsEdges(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	fail := func(l *resources.FailureBuckets, key string, n int) {
		for range n {
			l.Failed(key)
		}
	}

	def := resources.NewFailureBuckets(0, 0, clock.Now)
	fail(def, "k", resources.DefaultFailedAuthAttempts-1)
	if ok, _ := def.Allow("k"); !ok {
		t.Fatal("defaults: refused before the 5th failure")
	}
	fail(def, "k", 1)
	if ok, wait := def.Allow("k"); ok || wait != 12*time.Second {
		t.Fatalf("defaults: ok=%v wait=%v after 5 failures, want refused for 12s (60s/5)", ok, wait)
	}
	neg := resources.NewFailureBuckets(-1, -time.Second, clock.Now)
	fail(neg, "k", 5)
	if ok, wait := neg.Allow("k"); ok || wait != 12*time.Second {
		t.Fatalf("negative arguments: ok=%v wait=%v, want the defaults", ok, wait)
	}

	tiny := resources.NewFailureBuckets(5, 3*time.Nanosecond, clock.Now)
	fail(tiny, "k", 5)
	if ok, wait := tiny.Allow("k"); ok || wait <= 0 {
		t.Fatalf("3ns window: ok=%v wait=%v, want refused with a positive wait", ok, wait)
	}

	l := resources.NewFailureBuckets(5, time.Minute, clock.Now)
	fail(l, "k", 8) // three past the limit
	clock.Add(6 * time.Second)
	if ok, wait := l.Allow("k"); ok || wait != 6*time.Second {
		t.Fatalf("half a refill later: ok=%v wait=%v, want refused for 6s more", ok, wait)
	}
	clock.Add(6 * time.Second)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("one refill period after the limit: still refused (failures past the limit counted)")
	}
	l.Failed("k")
	if ok, wait := l.Allow("k"); ok || wait != 12*time.Second {
		t.Fatalf("after spending the refilled attempt: ok=%v wait=%v, want refused for 12s", ok, wait)
	}
	clock.Add(time.Hour)
	fail(l, "k", 4)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("an hour later the bucket is not full again")
	}
	l.Failed("k")
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("an hour of refill bought more than the burst of 5")
	}
}

// TestErrorCopyOwnsFields: a copy made by WithMessage or WithHeader has its
// own fields map; filling it in leaves the original form error untouched.
func TestErrorCopyOwnsFields(t *testing.T) {
	orig := resources.InvalidFormData(map[string][]string{"policy": {"bad"}})
	for _, cp := range []*resources.APIError{orig.WithMessage("other"), orig.WithHeader("X-Test", "1")} {
		cp.Fields["name"] = []string{"required"}
		if _, found := orig.Fields["name"]; found || len(orig.Fields) != 1 {
			t.Fatalf("changing a copy's fields changed the original: %v", orig.Fields)
		}
	}
	if plain := resources.LoginFailed().WithMessage("x"); plain.Fields != nil {
		t.Fatalf("a copy of an error without fields has fields %v", plain.Fields)
	}
}

// TestAnonymousAndAccessFlags: an anonymous request the resource lets
// through has no Principal and hides nothing from lists; a context no
// Guard has seen has no Principal either; Bool(true) opens a resource like
// nil does; an UnavailableError is ErrUnavailable and nothing else.
func TestAnonymousAndAccessFlags(t *testing.T) {
	g, err := resources.NewGuard(resources.GuardConfig{Bearer: fuzzBearer{}, NoFailedAuthLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	var kept []string
	h := g.Middleware(resources.Resource{Name: "photos", AllowAnonymous: true})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, found = resources.PrincipalFromContext(r.Context())
		kept = resources.FilterList(r.Context(), []string{"1", "2"}, func(s string) string { return s })
		w.WriteHeader(http.StatusOK)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/photos/", nil))
	if w.Code != http.StatusOK || found || len(kept) != 2 {
		t.Fatalf("anonymous: %d, principal found %v, kept %v", w.Code, found, kept)
	}
	if _, ok := resources.PrincipalFromContext(context.Background()); ok {
		t.Fatal("a principal in a context no Guard has seen")
	}

	for _, tc := range []struct {
		flag *bool
		want bool
	}{{nil, true}, {resources.Bool(true), true}, {resources.Bool(false), false}} {
		r := resources.Resource{Name: "x", APITokenAccess: tc.flag, OAuth2Access: tc.flag}
		if r.AllowsAPITokens() != tc.want || r.AllowsOAuth2() != tc.want {
			t.Errorf("access flag %v: API tokens %v, OAuth2 %v; want %v", tc.flag, r.AllowsAPITokens(), r.AllowsOAuth2(), tc.want)
		}
	}

	ue := &resources.UnavailableError{Err: errors.New("timeout")}
	if !errors.Is(ue, resources.ErrUnavailable) || errors.Is(ue, resources.ErrBearerInvalid) {
		t.Fatal("UnavailableError must be ErrUnavailable and only that")
	}
}
