package remote_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/resources"
)

// TestAPITokenAnswers: each introspection answer for an API token and what
// AuthenticateAPIToken makes of it: the refusal kind for each inactive
// reason, the server's message only when it is safe to show (one printable
// line of at most 512 bytes that does not echo the token), a user ID that
// must be positive, and the optional members (deprecated, api_token_id,
// exp, policy).
func TestAPITokenAnswers(t *testing.T) {
	srv := newIssuer(t)
	in := newIntrospector(t, srv, nil)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Unix()
	active := func(extra map[string]any) map[string]any {
		m := map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": map[string]any{}}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}

	refusals := []struct {
		name    string
		res     func(tok string) map[string]any
		kind    error
		message string // "" = no message
	}{
		{"expired", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "expired", "error_description": "This API token expired on Jan. 1, 2026."}
		}, resources.ErrTokenExpired, "This API token expired on Jan. 1, 2026."},
		{"invalidated", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "invalid", "error_description": "This API token became invalid: leaked."}
		}, resources.ErrTokenInvalidated, "This API token became invalid: leaked."},
		{"user inactive", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "user_inactive", "error_description": "Inactive."}
		}, resources.ErrTokenUserInactive, "Inactive."},
		{"other reason", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "revoked", "error_description": "Gone."}
		}, resources.ErrTokenUnknown, ""},
		{"longest message", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "expired", "error_description": strings.Repeat("m", 512)}
		}, resources.ErrTokenExpired, strings.Repeat("m", 512)},
		{"message too long", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "expired", "error_description": strings.Repeat("m", 513)}
		}, resources.ErrTokenExpired, ""},
		{"message with a control character", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "expired", "error_description": "a\x1fb"}
		}, resources.ErrTokenExpired, ""},
		{"message with DEL", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "expired", "error_description": "a\x7fb"}
		}, resources.ErrTokenExpired, ""},
		{"message with spaces and tildes", func(string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "expired", "error_description": " ~ "}
		}, resources.ErrTokenExpired, " ~ "},
		{"message echoing the token", func(tok string) map[string]any {
			return map[string]any{"active": false, "inactive_reason": "expired", "error_description": "token " + tok + " expired"}
		}, resources.ErrTokenExpired, ""},
		{"active access token", func(string) map[string]any {
			return active(map[string]any{"token_type": "Bearer"})
		}, resources.ErrTokenUnknown, ""},
		{"inactive access token", func(string) map[string]any {
			return map[string]any{"active": false, "token_type": "Bearer", "inactive_reason": "expired", "error_description": "x"}
		}, resources.ErrTokenUnknown, ""},
		{"active without a token type", func(string) map[string]any {
			return active(map[string]any{"token_type": nil})
		}, resources.ErrTokenUnknown, ""},
	}
	for _, tc := range refusals {
		tok := apiToken(t)
		srv.set(tok, tc.res(tok))
		_, err := in.AuthenticateAPIToken(ctx, tok)
		var te *resources.TokenError
		if !errors.As(err, &te) || !errors.Is(err, tc.kind) || te.Message != tc.message {
			t.Errorf("%s: %v (%+v), want %v with message %q", tc.name, err, te, tc.kind, tc.message)
		}
	}

	for _, sub := range []string{"0", "-1", "x"} {
		tok := apiToken(t)
		srv.set(tok, active(map[string]any{"sub": sub}))
		var te *resources.TokenError
		if a, err := in.AuthenticateAPIToken(ctx, tok); err == nil || errors.As(err, &te) {
			t.Errorf("sub %q: %+v %v, want a server-side error", sub, a, err)
		}
	}
	tok := apiToken(t)
	srv.set(tok, active(map[string]any{"username": ""}))
	if _, err := in.AuthenticateAPIToken(ctx, tok); err == nil {
		t.Error("a response without a username was accepted")
	}
	tok = apiToken(t)
	srv.set(tok, active(map[string]any{"api_token_id": "twelve"}))
	if _, err := in.AuthenticateAPIToken(ctx, tok); err == nil {
		t.Error("a non-decimal api_token_id was accepted")
	}

	tok = apiToken(t)
	srv.set(tok, active(map[string]any{"sub": "1", "deprecated": true, "exp": exp, "api_token_id": "3"}))
	a, err := in.AuthenticateAPIToken(ctx, tok)
	if err != nil || a.User.ID != 1 || !a.Token.Deprecated || a.Token.ID != 3 || a.Token.Expires == nil || !a.Token.Expires.Equal(time.Unix(exp, 0)) || a.Token.Expires.Location() != time.UTC {
		t.Fatalf("full answer: %+v %v", a, err)
	}
	if !a.Policy.FullAccess() {
		t.Fatalf("policy {} read as %s", a.Policy.JSON())
	}
	tok = apiToken(t)
	srv.set(tok, active(map[string]any{"policy": nil}))
	if a, err = in.AuthenticateAPIToken(ctx, tok); err != nil || a.Token.Deprecated || a.Token.ID != 0 || a.Token.Expires != nil {
		t.Fatalf("minimal answer: %+v %v", a, err)
	}
	if a.Policy.Decide("photos", "GET", "").Allowed {
		t.Fatal("an answer without a policy must deny")
	}
	tok = apiToken(t)
	srv.set(tok, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": nil})
	if a, err = in.AuthenticateAPIToken(ctx, tok); err != nil || a.Policy.Decide("photos", "GET", "").Allowed {
		t.Fatalf("policy null: %v, want deny", err)
	}
}
