package authserver

import (
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{
		"https://app.example.com/cb",
		"https://app.example.com/cb?tenant=1",
		"com.example.app:/oauth2redirect",
		"http://127.0.0.1:8080/callback",
		"http://[::1]/callback",
		"http://localhost:9000/cb",
	}
	cases := []struct {
		name      string
		requested string
		want      bool
	}{
		{"exact https", "https://app.example.com/cb", true},
		{"exact with registered query", "https://app.example.com/cb?tenant=1", true},
		{"exact private-use scheme", "com.example.app:/oauth2redirect", true},
		{"subdomain", "https://evil.app.example.com/cb", false},
		{"host suffix (go-oauth2 #298)", "https://app.example.com.evil.net/cb", false},
		{"lookalike host", "https://evilapp.example.com/cb", false},
		{"path suffix", "https://app.example.com/cb/evil", false},
		{"path traversal", "https://app.example.com/cb/../evil", false},
		{"trailing slash", "https://app.example.com/cb/", false},
		{"path prefix only", "https://app.example.com/c", false},
		{"scheme downgrade", "http://app.example.com/cb", false},
		{"custom scheme same host", "myapp://app.example.com/cb", false},
		{"userinfo before host", "https://app.example.com@evil.net/cb", false},
		{"userinfo on host", "https://evil.net@app.example.com/cb", false},
		{"extra query", "https://app.example.com/cb?x=1", false},
		{"changed query", "https://app.example.com/cb?tenant=2", false},
		{"fragment", "https://app.example.com/cb#x", false},
		{"explicit default port", "https://app.example.com:443/cb", false},
		{"upper-case host", "https://APP.example.com/cb", false},
		{"percent-encoded path", "https://app.example.com/%63b", false},
		{"empty", "", false},
		{"loopback v4 other port (RFC 8252 §7.3)", "http://127.0.0.1:51234/callback", true},
		{"loopback v4 no port", "http://127.0.0.1/callback", true},
		{"loopback v6 any port", "http://[::1]:40000/callback", true},
		{"loopback v6 registered portless", "http://[::1]/callback", true},
		{"loopback other path", "http://127.0.0.1:51234/callback/x", false},
		{"loopback with query", "http://127.0.0.1:51234/callback?x=1", false},
		{"loopback https", "https://127.0.0.1:51234/callback", false},
		{"loopback userinfo", "http://evil@127.0.0.1:51234/callback", false},
		{"loopback fragment", "http://127.0.0.1:51234/callback#x", false},
		{"loopback leading-zero port", "http://127.0.0.1:08080/callback", false},
		{"loopback huge port", "http://127.0.0.1:999999/callback", false},
		{"loopback port 99999 (issue #9)", "http://127.0.0.1:99999/callback", false},
		{"loopback port 65536", "http://[::1]:65536/callback", false},
		{"loopback port 0", "http://127.0.0.1:0/callback", false},
		{"loopback port 00", "http://127.0.0.1:00/callback", false},
		{"loopback empty port", "http://127.0.0.1:/callback", false},
		{"loopback signed port", "http://127.0.0.1:+80/callback", false},
		{"loopback port 65535", "http://127.0.0.1:65535/callback", true},
		{"loopback port 1", "http://[::1]:1/callback", true},
		{"other loopback address", "http://127.0.0.2:8080/callback", false},
		{"loopback empty query", "http://127.0.0.1:1/callback?", false},
		{"localhost exact", "http://localhost:9000/cb", true},
		{"localhost other port (not an IP literal)", "http://localhost:9001/cb", false},
		{"localhost for 127.0.0.1 registration", "http://localhost:8080/callback", false},
		{"encoded loopback host", "http://%31%32%37.0.0.1:8080/callback", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ok := MatchRedirectURI(registered, tc.requested); ok != tc.want {
				t.Fatalf("MatchRedirectURI(%q) = %v, want %v", tc.requested, ok, tc.want)
			}
			// The go-oauth2 manager's validator and the client's own
			// check are the same matcher.
			if err := exactURIValidator(strings.Join(registered, "\n"), tc.requested); (err == nil) != tc.want {
				t.Fatalf("exactURIValidator(%q) = %v, want ok=%v", tc.requested, err, tc.want)
			}
			if ok := (&Client{RedirectURIs: registered}).RedirectURIAllowed(tc.requested); ok != tc.want {
				t.Fatalf("RedirectURIAllowed(%q) = %v, want %v", tc.requested, ok, tc.want)
			}
		})
	}
}
