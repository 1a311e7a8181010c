package redirecturi

import (
	"testing"
)

func TestMatch(t *testing.T) {
	registered := []string{
		"https://app.example.com/cb",
		"https://app.example.com/cb?tenant=1",
		"com.example.app:/oauth2redirect",
		"http://127.0.0.1:8080/callback",
		"http://[::1]/callback",
		"http://localhost:9000/cb",
		"http://127.0.0.1/q?x=1",
		"http://127.0.0.1/empty?",
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
		{"loopback registered query, other port", "http://127.0.0.1:5000/q?x=1", true},
		{"loopback registered query, other value", "http://127.0.0.1:5000/q?x=2", false},
		{"loopback registered query, dropped", "http://127.0.0.1:5000/q", false},
		{"loopback registered empty query, other port", "http://127.0.0.1:5000/empty?", true},
		{"loopback registered empty query, dropped", "http://127.0.0.1:5000/empty", false},
		{"loopback https", "https://127.0.0.1:51234/callback", false},
		{"loopback userinfo", "http://evil@127.0.0.1:51234/callback", false},
		{"loopback fragment", "http://127.0.0.1:51234/callback#x", false},
		{"loopback empty fragment", "http://127.0.0.1:51234/callback#", false},
		{"loopback encoded path", "http://127.0.0.1:51234/c%61llback", false},
		{"loopback encoded slash", "http://127.0.0.1:51234/callback%2F", false},
		{"loopback opaque", "http:127.0.0.1/callback", false},
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
		{"loopback port 9", "http://[::1]:9/callback", true},
		{"other loopback address", "http://127.0.0.2:8080/callback", false},
		{"loopback empty query", "http://127.0.0.1:1/callback?", false},
		{"loopback v6 long form", "http://[0:0:0:0:0:0:0:1]:1/callback", false},
		{"loopback v4-mapped v6", "http://[::ffff:127.0.0.1]:1/callback", false},
		{"loopback v6 zone", "http://[::1%25eth0]:1/callback", false},
		{"loopback upper-case scheme", "HTTP://127.0.0.1:1/callback", false},
		{"loopback v6 unbracketed", "http://::1:1/callback", false},
		{"loopback unparsable", "http://127.0.0.1:1/callback\x7f", false},
		{"localhost exact", "http://localhost:9000/cb", true},
		{"localhost other port (not an IP literal)", "http://localhost:9001/cb", false},
		{"localhost for 127.0.0.1 registration", "http://localhost:8080/callback", false},
		{"encoded loopback host", "http://%31%32%37.0.0.1:8080/callback", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ok := Match(registered, tc.requested); ok != tc.want {
				t.Fatalf("Match(%q) = %v, want %v", tc.requested, ok, tc.want)
			}
		})
	}
}

// TestMatchNoRegistrations: nothing matches an empty registration list,
// and a registered "" matches nothing (an unset redirect URI is no
// permission to redirect anywhere).
func TestMatchNoRegistrations(t *testing.T) {
	for _, reg := range [][]string{nil, {}, {""}} {
		for _, req := range []string{"", "http://127.0.0.1:1/cb", "https://app.example.com/cb"} {
			if Match(reg, req) {
				t.Errorf("Match(%q, %q) = true", reg, req)
			}
		}
	}
}

// TestMatchLoopbackRegistrationMustBeCanonical: a registered loopback URI
// that is not canonical gets no port exception either.
func TestMatchLoopbackRegistrationMustBeCanonical(t *testing.T) {
	for _, reg := range []string{
		"http://127.0.0.1:08080/cb", "http://127.0.0.1:0/cb", "http://u@127.0.0.1/cb", "http://127.0.0.1/cb#",
		"http://127.0.0.1/c%62", "https://127.0.0.1/cb", "http://127.0.0.2/cb", "http://localhost/cb",
	} {
		if Match([]string{reg}, "http://127.0.0.1:4242/cb") {
			t.Errorf("registered %q admitted another port", reg)
		}
	}
}

func TestValidPort(t *testing.T) {
	for p, want := range map[string]bool{
		"": false, "0": false, "1": true, "9": true, "10": true, "80": true, "65535": true, "65536": false,
		"99999": false, "100000": false, "012": false, "+80": false, "-1": false, "8a": false, "a8": false,
		" 80": false, "１": false,
	} {
		if got := validPort(p); got != want {
			t.Errorf("validPort(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestLoopbackKey(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1/cb":        "http://127.0.0.1/cb",
		"http://127.0.0.1:80/cb":     "http://127.0.0.1/cb",
		"http://[::1]:65535/cb?a=b":  "http://[::1]/cb?a=b",
		"http://[::1]/cb?":           "http://[::1]/cb?",
		"http://127.0.0.1:1":         "http://127.0.0.1",
		"http://127.0.0.1:1/cb#":     "",
		"http://127.0.0.1:1/cb#frag": "",
		"http://127.0.0.1:0/cb":      "",
		"http://[::2]:1/cb":          "",
	} {
		got, ok := loopbackKey(in)
		if ok != (want != "") || got != want {
			t.Errorf("loopbackKey(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
