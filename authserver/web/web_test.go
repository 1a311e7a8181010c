package web

import "testing"

func TestSafeReturnTo(t *testing.T) {
	const def = "/account/"
	cases := []struct {
		name, in, want string
	}{
		{"local path", "/oauth/authorize?client_id=a&state=b", "/oauth/authorize?client_id=a&state=b"},
		{"empty", "", def},
		{"absolute URL", "https://evil.example/", def},
		{"scheme-relative", "//evil.example/x", def},
		{"backslash trick", "/\\evil.example", def},
		{"relative path", "account", def},
		{"javascript", "javascript:alert(1)", def},
		{"header injection", "/x\r\nSet-Cookie: a=b", def},
		{"tab", "/\t/evil.example", def},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeReturnTo(tc.in, def); got != tc.want {
				t.Fatalf("safeReturnTo(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidS256Challenge(t *testing.T) {
	cases := []struct {
		name, in string
		want     bool
	}{
		{"RFC 7636 appendix B", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", true},
		{"too short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", false},
		{"plain verifier length 64", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXkdBjftJeZ4CVP-mB92K27u", false},
		{"standard base64 alphabet", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", false},
		{"padding", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=", false},
		{"empty", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := validS256Challenge(tc.in); got != tc.want {
				t.Fatalf("validS256Challenge(%q) = %v", tc.in, got)
			}
		})
	}
}
