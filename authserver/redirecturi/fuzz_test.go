package redirecturi

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzMatch drives the one redirect-URI matcher with arbitrary registered
// and requested URIs. Nothing may panic; a match is either exact string
// equality with a registered URI, or the RFC 8252 §7.3 loopback case:
// http, an IP-literal loopback host, a port in 1–65535, no userinfo, no
// fragment, and — with the ports removed — the same string as a registered
// loopback URI.
func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"https://app.example.com/cb", "https://app.example.com/cb"},
		{"https://app.example.com/cb", "https://app.example.com.evil/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:99999/cb"},
		{"http://[::1]:80/cb?x=1", "http://[::1]:8080/cb?x=1"},
		{"http://127.0.0.1/cb", "http://evil@127.0.0.1:1/cb"},
		{"http://localhost/cb", "http://localhost:1/cb"},
		{"com.example.app:/cb", "com.example.app:/cb"},
		{"http://127.0.0.1/cb", "http://%31%32%37.0.0.1:80/cb"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		reg := strings.Split(registered, "\n")
		if !Match(reg, requested) {
			return
		}
		if requested == "" {
			t.Fatal("matched the empty redirect URI")
		}
		for _, r := range reg {
			if r == requested {
				return
			}
		}
		req := loopbackShape(t, requested)
		for _, r := range reg {
			u, err := url.Parse(r)
			if err == nil && u.Scheme == "http" && u.Hostname() == req.Hostname() && u.Path == req.Path &&
				u.RawQuery == req.RawQuery && u.User == nil && u.Fragment == "" {
				return
			}
		}
		t.Fatalf("%q matched none of %q", requested, reg)
	})
}

// loopbackShape fails unless s is a loopback IP-literal redirect URI with a
// real port, and returns it parsed.
func loopbackShape(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || strings.Contains(s, "#") {
		t.Fatalf("non-exact match %q is not a plain http URI", s)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "::1" {
		t.Fatalf("non-exact match %q has host %q", s, h)
	}
	if p := u.Port(); p != "" {
		// Checked independently of the matcher's own validPort.
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 || strconv.FormatUint(n, 10) != p {
			t.Fatalf("non-exact match %q has port %q", s, p)
		}
	}
	return u
}
