package mgmtapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
)

// sessionAsMap is the session body as it was written before it was typed:
// maps, which encoding/json writes with sorted keys. It is the reference
// the typed body must match byte for byte.
func sessionAsMap(p *resources.Principal, u *users.User, csrf string) gin.H {
	lk := func(href string) gin.H { return gin.H{"href": href, "method": "GET"} }
	tm := func(t *time.Time) any {
		if t == nil || t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339)
	}
	s := gin.H{"authenticated": true, "auth_method": string(p.Method), "user": nil, "links": gin.H{"self": lk(PathSession)}}
	if u != nil {
		s["user"] = gin.H{
			"id": u.ID, "username": u.Username, "is_admin": u.IsAdmin, "is_active": u.IsActive,
			"created_at": tm(&u.CreatedAt),
			"links": gin.H{
				"self":       lk(userPath(u.Username)),
				"api_tokens": lk(userPath(u.Username) + "api-tokens/"),
			},
			"email": u.Email, "email_verified": u.EmailVerified, "fullname": u.Name,
		}
		s["links"].(gin.H)["user"] = lk(userPath(p.User.Username))
	}
	switch p.Method {
	case resources.MethodSession:
		if csrf != "" {
			s["csrf_token"] = csrf
			s["csrf_header"] = resources.CSRFHeader
		}
	case resources.MethodAPIToken:
		s["token_id"] = p.TokenID
		s["policy"] = p.APIToken.Policy
		s["token"] = gin.H{
			"id": p.APIToken.ID, "token_prefix": p.APIToken.Prefix, "note": p.APIToken.Note,
			"expires": tm(p.APIToken.Expires), "deprecated": p.APIToken.Deprecated,
		}
	case resources.MethodOAuth2:
		s["token_id"] = p.TokenID
		s["client_id"] = p.ClientID
		s["scopes"] = p.Scopes.Items()
		if p.Bearer != nil && !p.Bearer.ExpiresAt.IsZero() {
			s["expires"] = p.Bearer.ExpiresAt.UTC().Format(time.RFC3339)
		}
	}
	return gin.H{"session": s, "stat": "ok"}
}

// TestSessionBodyMatchesTheMapForm: the typed session body encodes to the
// same bytes as the map form, for every method and the optional parts
// present, absent and null.
func TestSessionBodyMatchesTheMapForm(t *testing.T) {
	exp := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("X", 3600))
	alice := &users.User{ID: 7, Username: "alice <&>", Email: "a@example.com", EmailVerified: true, Name: "Alice A.",
		IsAdmin: true, IsActive: true, CreatedAt: exp}
	bare := &users.User{ID: 8, Username: "bob"} // zero CreatedAt, no e-mail
	read, err := scopes.ParseSet("session:read users:read")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		p    resources.Principal
		u    *users.User
		csrf string
	}{
		{"session with csrf", resources.Principal{Method: resources.MethodSession, User: resources.User{ID: 7, Username: "alice <&>"}}, alice, "csrf-1"},
		{"session without csrf", resources.Principal{Method: resources.MethodSession, User: resources.User{ID: 8, Username: "bob"}}, bare, ""},
		{"api token", resources.Principal{Method: resources.MethodAPIToken, User: resources.User{ID: 7, Username: "alice <&>"}, TokenID: "12",
			APIToken: &resources.APIToken{ID: 12, Prefix: "agp_Ab3x", Note: "ci \"bot\"", Policy: json.RawMessage(`{ "resources": {"*": {"allow": ["*"]}} }`), Expires: &exp, Deprecated: true}}, alice, ""},
		{"api token, no policy or expiry", resources.Principal{Method: resources.MethodAPIToken, User: resources.User{ID: 8, Username: "bob"}, TokenID: "13",
			APIToken: &resources.APIToken{ID: 13}}, bare, ""},
		{"oauth2 for a user", resources.Principal{Method: resources.MethodOAuth2, User: resources.User{ID: 7, Username: "alice <&>"}, TokenID: "jti-1", ClientID: "app",
			Scopes: read, Bearer: &resources.BearerToken{ExpiresAt: exp}}, alice, ""},
		{"oauth2 client_credentials, no scopes", resources.Principal{Method: resources.MethodOAuth2, ClientID: "svc", Bearer: &resources.BearerToken{}}, nil, ""},
		{"oauth2 without a bearer", resources.Principal{Method: resources.MethodOAuth2, ClientID: "svc"}, nil, ""},
		{"basic", resources.Principal{Method: resources.MethodBasic, User: resources.User{ID: 8, Username: "bob"}}, bare, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(sessionAsMap(&tc.p, tc.u, tc.csrf))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(sessionBody{Session: sessionOf(&tc.p, tc.u, tc.csrf), Stat: "ok"})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("typed body\n%s\nmap form\n%s", got, want)
			}
		})
	}
	want, _ := json.Marshal(gin.H{"session": gin.H{"authenticated": false, "links": gin.H{"self": gin.H{"href": PathSession, "method": "GET"}}}, "stat": "ok"})
	got, _ := json.Marshal(anonymousSessionBody{Session: anonymousSession{Links: sessionLinks{Self: link(PathSession)}}, Stat: "ok"})
	if string(got) != string(want) {
		t.Fatalf("anonymous body\n%s\nmap form\n%s", got, want)
	}
}
