package resources

import (
	"testing"

	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens/policy"
)

func mustCompile(tb testing.TB, s string) *policy.Compiled {
	tb.Helper()
	doc, err := policy.Parse([]byte(s))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := policy.Compile(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// authorizeFixture is a resource and two principals whose checks pass.
func authorizeFixture(tb testing.TB) (*protected, *Principal, *Principal) {
	g, err := NewGuard(GuardConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	pr := g.prepare(Resource{Name: "review_request", IDParam: "id"})
	set, err := scopes.ParseSet("root:read session:read user:read review:read review:write review_request:read review_request:write diff:read")
	if err != nil {
		tb.Fatal(err)
	}
	oauth := &Principal{Method: MethodOAuth2, Scopes: set}
	// Review Board's "review bot" policy (docs/api-tokens.md, "Policy decisions") plus object sections.
	pol := mustCompile(tb, `{"resources":{
		"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]},
		"review":{"*":{"allow":["*"],"block":[]}},
		"review_diff_comment":{"*":{"allow":["*"],"block":[]}},
		"review_request":{"*":{"allow":["GET","PUT"]},"42":{"block":["PUT"]},"7":{"allow":["*"]}}}}`)
	token := &Principal{Method: MethodAPIToken, Policy: pol}
	return pr, oauth, token
}

func TestAuthorizeDecisions(t *testing.T) {
	pr, oauth, token := authorizeFixture(t)
	tests := []struct {
		name     string
		p        *Principal
		method   string
		objectID string
		wantCode int // 0 = allowed
	}{
		{"scope held (write)", oauth, "PUT", "", 0},
		{"scope held (PATCH is write)", oauth, "PATCH", "", 0},
		{"scope missing (destroy)", oauth, "DELETE", "", CodeOAuthMissingScope},
		{"unknown method", oauth, "PROPFIND", "", CodeOAuthMissingScope},
		{"policy allows PUT", token, "PUT", "1", 0},
		{"object section blocks PUT", token, "PUT", "42", CodePermissionDenied},
		{"object section allows DELETE", token, "DELETE", "7", 0},
		{"global block applies", token, "DELETE", "1", CodePermissionDenied},
		{"first-party user passes", &Principal{Method: MethodBasic}, "DELETE", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := pr.authorize(tc.p, tc.method, tc.objectID)
			switch {
			case tc.wantCode == 0 && e != nil:
				t.Fatalf("refused with %d", e.Code)
			case tc.wantCode != 0 && (e == nil || e.Code != tc.wantCode):
				t.Fatalf("got %v; want code %d", e, tc.wantCode)
			}
		})
	}
	// Closed resources.
	g, _ := NewGuard(GuardConfig{})
	closed := g.prepare(Resource{Name: "api_token", APITokenAccess: Bool(false), OAuth2Access: Bool(false)})
	if e := closed.authorize(oauth, "GET", ""); e == nil || e.Code != CodeOAuthAccessDenied {
		t.Fatalf("oauth on closed: %v", e)
	}
	if e := closed.authorize(token, "GET", ""); e == nil || e.Code != CodePermissionDenied {
		t.Fatalf("token on closed: %v", e)
	}
}

func TestAuthorizeDoesNotAllocate(t *testing.T) {
	pr, oauth, token := authorizeFixture(t)
	for name, p := range map[string]*Principal{"scope": oauth, "policy": token} {
		if n := testing.AllocsPerRun(1000, func() { _ = pr.authorize(p, "PUT", "1") }); n != 0 {
			t.Errorf("%s path allocates %v per call", name, n)
		}
	}
}

// BenchmarkAuthorize measures the authorization step alone, principal
// already known: the OAuth2 scope path and the API-token policy path.
func BenchmarkAuthorize(b *testing.B) {
	pr, oauth, token := authorizeFixture(b)
	b.Run("scope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if pr.authorize(oauth, "PUT", "1") != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("policy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if pr.authorize(token, "PUT", "1") != nil {
				b.Fatal("refused")
			}
		}
	})
}
