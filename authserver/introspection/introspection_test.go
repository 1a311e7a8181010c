package introspection

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/tokens"
)

const iss = "https://auth.example.com"

var (
	iat = time.Unix(1_800_000_000, 0)
	exp = iat.Add(time.Hour)
)

func wantInactive(t *testing.T, got Response) {
	t.Helper()
	same(t, got, map[string]any{"active": false})
}

// same fails unless got encodes to the bytes want, the answer spelled out
// as a map, encodes to: what the endpoint sends is the encoding.
func same(t *testing.T, got Response, want map[string]any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
}

func TestAccessToken(t *testing.T) {
	base := Access{JTI: "j1", ClientID: "app", Subject: "42", Username: "alice", Scope: "test:read",
		Audience: []string{"https://api.example.com"}, IssuedAt: iat, ExpiresAt: exp}
	full := map[string]any{
		"active": true, "token_type": "Bearer", "client_id": "app", "sub": "42", "exp": exp.Unix(),
		"iat": iat.Unix(), "iss": iss, "aud": []string{"https://api.example.com"}, "scope": "test:read",
		"username": "alice", "jti": "j1",
	}
	with := func(f func(m map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range full {
			m[k] = v
		}
		f(m)
		return m
	}
	cases := []struct {
		name   string
		caller Caller
		at     func(*Access)
		want   map[string]any // nil: inactive
	}{
		{"own token", Caller{ID: "app"}, nil, full},
		{"another client's token", Caller{ID: "other"}, nil, nil},
		{"a resource server, another client's token", Caller{ID: "rs", ResourceServer: true}, nil, full},
		{"a resource server, its own token", Caller{ID: "app", ResourceServer: true}, nil, full},
		{"no scope", Caller{ID: "app"}, func(a *Access) { a.Scope = "" },
			with(func(m map[string]any) { delete(m, "scope") })},
		{"client_credentials token: no username", Caller{ID: "app"}, func(a *Access) { a.Username = "" },
			with(func(m map[string]any) { delete(m, "username") })},
		{"opaque: no jti", Caller{ID: "app"}, func(a *Access) { a.Opaque = true },
			with(func(m map[string]any) { delete(m, "jti") })},
		{"no audience, empty subject: present all the same", Caller{ID: "app"}, func(a *Access) { a.Audience, a.Subject = nil, "" },
			with(func(m map[string]any) { m["aud"], m["sub"] = nil, "" })},
		{"DPoP-bound (RFC 9449 §6.2)", Caller{ID: "app"}, func(a *Access) { a.JKT = "thumb" },
			with(func(m map[string]any) { m["token_type"] = "DPoP"; m["cnf"] = map[string]string{"jkt": "thumb"} })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at := base
			if tc.at != nil {
				tc.at(&at)
			}
			got := AccessToken(tc.caller, at, iss)
			if tc.want == nil {
				wantInactive(t, got)
				return
			}
			same(t, got, tc.want)
		})
	}
	if TokenTypeDPoP != dpop.TokenType {
		t.Fatalf("TokenTypeDPoP %q, dpop.TokenType %q", TokenTypeDPoP, dpop.TokenType)
	}
}

func TestRefreshVisible(t *testing.T) {
	cases := []struct {
		name     string
		caller   Caller
		live     bool
		clientID string
		want     bool
	}{
		{"own live token", Caller{ID: "app"}, true, "app", true},
		{"own token, not live", Caller{ID: "app"}, false, "app", false},
		{"another client's token", Caller{ID: "other"}, true, "app", false},
		{"a resource server, another client's token", Caller{ID: "rs", ResourceServer: true}, true, "app", false},
		{"a resource server, its own token", Caller{ID: "rs", ResourceServer: true}, true, "rs", true},
	}
	for _, tc := range cases {
		if got := RefreshVisible(tc.caller, tc.live, tc.clientID); got != tc.want {
			t.Errorf("%s: RefreshVisible = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRefreshToken(t *testing.T) {
	r := Refresh{ClientID: "app", Scope: "test:read", JKT: "thumb", CreatedAt: iat, ExpiresAt: exp}
	base := map[string]any{
		"active": true, "token_type": "refresh_token", "client_id": "app", "exp": exp.Unix(), "iat": iat.Unix(), "iss": iss,
	}
	cases := []struct {
		name string
		r    Refresh
		user *User
		want map[string]any // nil: inactive
	}{
		{"client token, bare", Refresh{ClientID: "app", CreatedAt: iat, ExpiresAt: exp}, nil, base},
		{"client token with scope and key", r, nil, merge(base, map[string]any{"scope": "test:read", "cnf": map[string]string{"jkt": "thumb"}})},
		{"active user", Refresh{ClientID: "app", CreatedAt: iat, ExpiresAt: exp}, &User{ID: 42, Active: true, Username: "alice"},
			merge(base, map[string]any{"sub": "42", "username": "alice"})},
		{"inactive user", r, &User{ID: 42, Username: "alice"}, nil},
		{"active user without a username", Refresh{ClientID: "app", CreatedAt: iat, ExpiresAt: exp}, &User{ID: 42, Active: true},
			merge(base, map[string]any{"sub": "42", "username": ""})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := RefreshToken(tc.r, tc.user, iss)
			if tc.want == nil {
				wantInactive(t, got)
				return
			}
			same(t, got, tc.want)
		})
	}
}

func merge(a, b map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func TestAPITokensVisible(t *testing.T) {
	if APITokensVisible(Caller{ID: "app"}) || !APITokensVisible(Caller{ID: "rs", ResourceServer: true}) {
		t.Fatal("API tokens are for resource servers only")
	}
}

func TestAPITokenResponse(t *testing.T) {
	pol := json.RawMessage(`{"resources":{"*":{"allow":["*"]}}}`)
	a := APIToken{ID: 7, UserID: 42, Username: "alice", IssuedAt: iat, Policy: pol, Deprecated: true}
	base := map[string]any{
		"active": true, "token_type": "api_token", "username": "alice", "sub": "42", "iat": iat.Unix(), "iss": iss,
		"policy": pol, "api_token_id": "7", "deprecated": true,
	}
	same(t, APITokenResponse(a, iss), base) // never expiring
	a.Expires = &exp
	same(t, APITokenResponse(a, iss), merge(base, map[string]any{"exp": exp.Unix()}))
	// An unreadable policy is reported as deny-all.
	a.Policy, a.Expires = nil, nil
	same(t, APITokenResponse(a, iss), merge(base, map[string]any{"policy": DenyAllPolicy}))
	// Every member present even when empty: no username, not deprecated.
	a.Username, a.Deprecated = "", false
	same(t, APITokenResponse(a, iss), merge(base, map[string]any{"policy": DenyAllPolicy, "username": "", "deprecated": false}))
}

func TestUnusableAPIToken(t *testing.T) {
	dflt := resources.LoginFailed().Msg
	cases := []struct {
		name   string
		err    error
		want   map[string]any // nil: inactive
		wantEr bool
	}{
		{"expired", &tokens.AuthError{Kind: tokens.ErrTokenExpired, Message: "This API token has expired."},
			map[string]any{"inactive_reason": "expired", "error_description": "This API token has expired."}, false},
		{"invalid (revoked)", &tokens.AuthError{Kind: tokens.ErrTokenInvalid, Message: "This API token is invalid."},
			map[string]any{"inactive_reason": "invalid", "error_description": "This API token is invalid."}, false},
		{"user inactive, no message", &tokens.AuthError{Kind: tokens.ErrUserInactive},
			map[string]any{"inactive_reason": "user_inactive", "error_description": dflt}, false},
		{"wrapped", fmt.Errorf("inspect: %w", &tokens.AuthError{Kind: tokens.ErrTokenExpired, Message: "m"}),
			map[string]any{"inactive_reason": "expired", "error_description": "m"}, false},
		{"unknown token", &tokens.AuthError{Kind: errors.New("not found"), Message: "x"}, nil, false},
		{"database error", errors.New("database is down"), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnusableAPIToken(tc.err)
			if tc.wantEr {
				if err != tc.err || !reflect.DeepEqual(got, Response{}) {
					t.Fatalf("got %v, %v; want the error back", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				wantInactive(t, got)
				return
			}
			same(t, got, merge(map[string]any{"active": false, "token_type": "api_token"}, tc.want))
		})
	}
	if dflt == "" {
		t.Fatal("no default message")
	}
}
