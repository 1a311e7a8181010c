package web

import "testing"

func TestLoginCSRFSigner(t *testing.T) {
	s := loginCSRFSigner{key: []byte("0123456789abcdef0123456789abcdef")}
	other := loginCSRFSigner{key: []byte("fedcba9876543210fedcba9876543210")}
	nonce := "nonce-nonce-nonce-nonce-nonce-nonce-nonce"
	tok := s.token(nonce)
	cases := []struct {
		name         string
		signer       loginCSRFSigner
		nonce, token string
		want         bool
	}{
		{"matching", s, nonce, tok, true},
		{"other nonce", s, nonce + "x", tok, false},
		{"other key", other, nonce, tok, false},
		{"token is the nonce (plain double submit)", s, nonce, nonce, false},
		{"empty token", s, nonce, "", false},
		{"short nonce", s, "abc", s.token("abc"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.signer.valid(tc.nonce, tc.token); got != tc.want {
				t.Fatalf("valid = %v, want %v", got, tc.want)
			}
		})
	}
}
