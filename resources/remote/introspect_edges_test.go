package remote_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
)

// TestIntrospectionRetryAfter: a 429 or 503 makes the Introspector wait
// for Retry-After (seconds or an HTTP date, capped at a minute, at least a
// second); other 5xx answers are reported as unavailable with their
// Retry-After but do not stop the next call; a 4xx is a configuration
// fault, not an outage.
func TestIntrospectionRetryAfter(t *testing.T) {
	srv := newIssuer(t)
	now := time.Unix(1_700_000_000, 0)
	in := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) { o.Now = func() time.Time { return now } })
	ctx := context.Background()
	for _, tc := range []struct {
		status    int
		header    string
		wantRetry time.Duration
		backoff   time.Duration // 0: the next call reaches the server
	}{
		{http.StatusInternalServerError, "3", 3 * time.Second, 0},
		{http.StatusBadGateway, "", 0, 0},
		{http.StatusServiceUnavailable, "7", 7 * time.Second, 7 * time.Second},
		{http.StatusTooManyRequests, "120", time.Minute, time.Minute},
		{http.StatusTooManyRequests, "60", time.Minute, time.Minute},
		{http.StatusTooManyRequests, "0", 0, time.Second},
		{http.StatusTooManyRequests, "-5", 0, time.Second},
		{http.StatusTooManyRequests, "soon", 0, time.Second},
		{http.StatusTooManyRequests, "date+30s", 30 * time.Second, 30 * time.Second},
		{http.StatusTooManyRequests, "date+1h", time.Minute, time.Minute},
		{http.StatusTooManyRequests, "date+0s", 0, time.Second},
	} {
		now = now.Add(2 * time.Minute) // past any earlier back-off
		srv.status.Store(int32(tc.status))
		if d, isDate := strings.CutPrefix(tc.header, "date+"); isDate {
			off, _ := time.ParseDuration(d)
			tc.header = now.Add(off).UTC().Format(http.TimeFormat)
		}
		srv.retryAfter.Store(tc.header)
		_, err := in.ValidateBearer(ctx, opaqueAT(t))
		var ue *resources.UnavailableError
		if !errors.As(err, &ue) || ue.RetryAfter != tc.wantRetry {
			t.Fatalf("%d %q: %v, want unavailable with RetryAfter %v", tc.status, tc.header, err, tc.wantRetry)
		}
		srv.status.Store(0)
		hits := srv.introHits.Load()
		_, err = in.ValidateBearer(ctx, opaqueAT(t))
		called := srv.introHits.Load() != hits
		switch {
		case tc.backoff == 0 && !called:
			t.Fatalf("%d %q: the next call was held back", tc.status, tc.header)
		case tc.backoff != 0 && (called || !errors.As(err, &ue) || ue.RetryAfter != tc.backoff):
			t.Fatalf("%d %q: next call reached the server %v, err %v; want a back-off of %v", tc.status, tc.header, called, err, tc.backoff)
		}
		if tc.backoff != 0 {
			now = now.Add(tc.backoff - time.Nanosecond)
			if _, err := in.ValidateBearer(ctx, opaqueAT(t)); !errors.As(err, &ue) || srv.introHits.Load() != hits {
				t.Fatalf("%d %q: back-off ended early", tc.status, tc.header)
			}
			now = now.Add(time.Nanosecond)
			if _, err := in.ValidateBearer(ctx, opaqueAT(t)); !errors.Is(err, resources.ErrBearerInvalid) || srv.introHits.Load() == hits {
				t.Fatalf("%d %q: no call after the back-off: %v", tc.status, tc.header, err)
			}
		}
	}
	now = now.Add(2 * time.Minute)
	srv.status.Store(http.StatusBadRequest)
	_, err := in.ValidateBearer(ctx, opaqueAT(t))
	if err == nil || errors.Is(err, resources.ErrUnavailable) || errors.Is(err, resources.ErrBearerInvalid) {
		t.Fatalf("400: %v, want a configuration error", err)
	}
}

// TestIntrospectionExpiryAndTypes: a token is inactive from its exp second
// on, even when the server still says active; the token types an access
// token may have.
func TestIntrospectionExpiryAndTypes(t *testing.T) {
	srv := newIssuer(t)
	now := time.Unix(1_700_000_000, 0)
	in := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) { o.Now = func() time.Time { return now } })
	ctx := context.Background()
	for _, tc := range []struct {
		res  map[string]any
		want bool
	}{
		{map[string]any{"exp": now.Unix()}, false},
		{map[string]any{"exp": now.Unix() + 1}, true},
		{map[string]any{"token_type": "bearer"}, true},
		{map[string]any{"token_type": "access_token"}, true},
		{map[string]any{"token_type": "DPoP", "cnf": map[string]any{"jkt": "abc"}}, true},
		{map[string]any{"token_type": "refresh_token"}, false},
		{map[string]any{"token_type": "api_token"}, false},
		{map[string]any{"active": false}, false},
		{map[string]any{"sub": "1"}, true},
		{map[string]any{"sub": "0"}, false},
		{map[string]any{"sub": "-3"}, false},
		{map[string]any{"sub": "c"}, true}, // a client's own token: sub is the client ID
		{map[string]any{"sub": ""}, false},
	} {
		tok := opaqueAT(t)
		res := map[string]any{"active": true, "token_type": "Bearer", "client_id": "c", "sub": "7", "username": "alice", "scope": "photos:read"}
		for k, v := range tc.res {
			res[k] = v
		}
		srv.set(tok, res)
		bt, err := in.ValidateBearer(ctx, tok)
		if tc.want != (err == nil) || !tc.want && !errors.Is(err, resources.ErrBearerInvalid) {
			t.Errorf("%v: %+v %v, want active=%v", tc.res, bt, err, tc.want)
		}
	}
}

// TestNewJWKSValidatorOptions: each duration may be zero (its default) but
// not negative, and the JWKS URL must be an absolute https URL, or http to
// a loopback host or with AllowInsecureHTTP.
func TestNewJWKSValidatorOptions(t *testing.T) {
	for _, tc := range []struct {
		o  remote.JWKSOptions
		ok bool
	}{
		{remote.JWKSOptions{Issuer: issuer}, true},
		{remote.JWKSOptions{Issuer: "http://auth.example/"}, false}, // plain http, not loopback
		{remote.JWKSOptions{Issuer: "http://auth.example/", AllowInsecureHTTP: true}, true},
		{remote.JWKSOptions{Issuer: issuer, JWKSURL: "http://localhost:9/jwks"}, true},
		{remote.JWKSOptions{Issuer: issuer, JWKSURL: "http://[::1]:9/jwks"}, true},
		{remote.JWKSOptions{Issuer: issuer, JWKSURL: "http://10.0.0.8/jwks"}, false},
		{remote.JWKSOptions{}, false},
		{remote.JWKSOptions{Issuer: issuer, MaxAge: -1}, false},
		{remote.JWKSOptions{Issuer: issuer, MinRefetch: -1}, false},
		{remote.JWKSOptions{Issuer: issuer, Leeway: -1}, false},
		{remote.JWKSOptions{Issuer: issuer, Timeout: -1}, false},
		{remote.JWKSOptions{Issuer: issuer, JWKSURL: "ftp://auth.example/jwks"}, false},
		{remote.JWKSOptions{Issuer: issuer, JWKSURL: "https:///jwks"}, false},
		{remote.JWKSOptions{Issuer: issuer, JWKSURL: "/oauth/jwks.json"}, false},
		{remote.JWKSOptions{Issuer: issuer, JWKSURL: "http://127.0.0.1:9/jwks"}, true},
	} {
		if _, err := remote.NewJWKSValidator(tc.o); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.o, err, tc.ok)
		}
	}
}

// TestNewIntrospectorOptions: the configurations NewIntrospector accepts
// and refuses, each rule on its own: an absolute https URL (http only to a
// loopback host or with AllowInsecureHTTP), a client ID,
// no negative MaxEntries or Timeout, and API token types that are vendor
// prefixes (no "_", no space, not empty). Other prefixes' tokens are then
// recognised as API tokens.
func TestNewIntrospectorOptions(t *testing.T) {
	const u = "https://auth.example/oauth/introspect"
	for _, tc := range []struct {
		o  remote.IntrospectorOptions
		ok bool
	}{
		{remote.IntrospectorOptions{URL: u, ClientID: "rs"}, true},
		{remote.IntrospectorOptions{URL: "http://127.0.0.1:9/introspect", ClientID: "rs"}, true},
		{remote.IntrospectorOptions{URL: "http://127.8.0.1:9/introspect", ClientID: "rs"}, true},
		{remote.IntrospectorOptions{URL: "http://LocalHost:9/introspect", ClientID: "rs"}, true},
		{remote.IntrospectorOptions{URL: "http://auth.example/oauth/introspect", ClientID: "rs"}, false},
		{remote.IntrospectorOptions{URL: "http://localhost.auth.example/x", ClientID: "rs"}, false},
		{remote.IntrospectorOptions{URL: "http://192.168.1.2/x", ClientID: "rs"}, false},
		{remote.IntrospectorOptions{URL: "http://auth.example/oauth/introspect", ClientID: "rs", AllowInsecureHTTP: true}, true},
		{remote.IntrospectorOptions{URL: "ftp://auth.example/x", ClientID: "rs"}, false},
		{remote.IntrospectorOptions{URL: "https:///x", ClientID: "rs"}, false},
		{remote.IntrospectorOptions{URL: "%zz", ClientID: "rs"}, false},
		{remote.IntrospectorOptions{URL: u, ClientID: "rs", MaxEntries: -1}, false},
		{remote.IntrospectorOptions{URL: u, ClientID: "rs", Timeout: -1}, false},
		{remote.IntrospectorOptions{URL: u, ClientID: "rs", MaxEntries: 1, Timeout: 1}, true},
		{remote.IntrospectorOptions{URL: u, ClientID: "rs", APITokenTypes: []string{"rbp", "agp"}}, true},
		{remote.IntrospectorOptions{URL: u, ClientID: "rs", APITokenTypes: []string{""}}, false},
		{remote.IntrospectorOptions{URL: u, ClientID: "rs", APITokenTypes: []string{"r p"}}, false},
		{remote.IntrospectorOptions{URL: u, ClientID: "rs", APITokenTypes: []string{"rbp", "r_p"}}, false},
	} {
		if _, err := remote.NewIntrospector(tc.o); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.o, err, tc.ok)
		}
	}

	srv := newIssuer(t)
	in := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) { o.APITokenTypes = []string{"rbp"} })
	tok := mint(t, "rbp", 30)
	srv.set(tok, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": map[string]any{}})
	if a, err := in.AuthenticateAPIToken(context.Background(), tok); err != nil || a.User.ID != 7 {
		t.Fatalf("an rbp token with APITokenTypes [rbp]: %+v %v", a, err)
	}
}

// TestIntrospectionCacheBound: the cache keeps up to MaxEntries answers
// (each served again without a call), and a new answer beyond that makes
// room: expired answers go first, else the cache starts over.
func TestIntrospectionCacheBound(t *testing.T) {
	srv := newIssuer(t)
	now := time.Unix(1_700_000_000, 0)
	in := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) {
		o.MaxEntries = 3
		o.Now = func() time.Time { return now }
	})
	ctx := context.Background()
	toks := make([]string, 4)
	for i := range toks {
		toks[i] = opaqueAT(t)
		srv.set(toks[i], map[string]any{"active": true, "token_type": "Bearer", "client_id": "c", "sub": "7", "username": "alice"})
	}
	validate := func(tok string) bool { // reports whether the server was asked
		t.Helper()
		hits := srv.introHits.Load()
		if _, err := in.ValidateBearer(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return srv.introHits.Load() != hits
	}
	for _, tok := range toks[:3] {
		validate(tok)
	}
	for i, tok := range toks[:3] {
		if validate(tok) {
			t.Fatalf("answer %d of 3 (MaxEntries 3) was not kept", i)
		}
	}
	validate(toks[3]) // the cache is full of live answers: it starts over
	if !validate(toks[0]) {
		t.Fatal("the cache holds more than MaxEntries answers")
	}

	// Expired answers make room first: the live ones stay.
	in = newIntrospector(t, srv, func(o *remote.IntrospectorOptions) {
		o.MaxEntries = 3
		o.Now = func() time.Time { return now }
	})
	validate(toks[0])
	now = now.Add(remote.DefaultAccessTokenTTL / 2)
	validate(toks[1])
	validate(toks[2])
	now = now.Add(remote.DefaultAccessTokenTTL / 2) // toks[0]'s answer expires
	validate(toks[3])
	if validate(toks[1]) || validate(toks[2]) {
		t.Fatal("live answers were dropped while an expired one could go")
	}
}

// TestIntrospectionExpiresAt: the BearerToken carries the token's exp, and
// no expiry at all when the answer has none.
func TestIntrospectionExpiresAt(t *testing.T) {
	srv := newIssuer(t)
	now := time.Unix(1_700_000_000, 0)
	in := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) { o.Now = func() time.Time { return now } })
	withExp, noExp := opaqueAT(t), opaqueAT(t)
	base := map[string]any{"active": true, "token_type": "Bearer", "client_id": "c", "sub": "7", "username": "alice"}
	srv.set(noExp, base)
	withExpRes := map[string]any{"exp": now.Unix() + 600}
	for k, v := range base {
		withExpRes[k] = v
	}
	srv.set(withExp, withExpRes)
	bt, err := in.ValidateBearer(context.Background(), withExp)
	if err != nil || !bt.ExpiresAt.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("with exp: %+v %v", bt, err)
	}
	if bt, err = in.ValidateBearer(context.Background(), noExp); err != nil || !bt.ExpiresAt.IsZero() {
		t.Fatalf("without exp: ExpiresAt %v, %v; want none", bt.ExpiresAt, err)
	}
}
