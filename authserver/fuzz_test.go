package authserver

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzWellFormed drives the opaque-value checker of every kind authgate
// issues (authorization code, refresh token, opaque access token, client
// secret) and the client-ID format with arbitrary input and with one-byte
// mutations of fresh values. Nothing may panic; an accepted value has its
// kind's prefix, length and alphabet; a changed byte is caught unless it
// only swaps the case of a checksum letter.
func FuzzWellFormed(f *testing.F) {
	code, err := newOpaque(PrefixCode)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "agac_", code, strings.ToLower(code), code + "x", code[:len(code)-1],
		"agrt" + code[4:], "agac_" + strings.Repeat("\x00", 49), "eyJ.a.b"} {
		f.Add(s, uint16(0), byte('x'))
	}
	f.Add(code, uint16(48), byte('A'))
	kinds := []struct {
		prefix string
		length int
	}{
		{PrefixCode, opaqueLength}, {PrefixRefreshToken, opaqueLength}, {PrefixAccessToken, opaqueLength},
		{PrefixClientSecret, opaqueLength}, {PrefixClientID, clientIDLength},
	}
	f.Fuzz(func(t *testing.T, in string, pos uint16, b byte) {
		for _, k := range kinds {
			if wellFormed(k.prefix, in) {
				checkOpaqueShape(t, k.prefix, in)
			}
			fresh, err := newVendorValue(k.prefix, k.length)
			if err != nil {
				t.Fatal(err)
			}
			if k.length == opaqueLength && !wellFormed(k.prefix, fresh) {
				t.Fatalf("fresh %s value %q is not well formed", k.prefix, fresh)
			}
			i := int(pos) % len(fresh)
			if fresh[i] == b {
				continue
			}
			mut := fresh[:i] + string(b) + fresh[i+1:]
			caseSwap := i >= len(fresh)-6 && strings.EqualFold(string(b), string(fresh[i])) && b != fresh[i]
			if k.length == opaqueLength && wellFormed(k.prefix, mut) && !caseSwap {
				t.Fatalf("mutation %q of %q (byte %d) is still well formed", mut, fresh, i)
			}
			if !hasPrefix(fresh, k.prefix) || displayPrefix(fresh) != fresh[:9] {
				t.Fatalf("prefix of %q", fresh)
			}
		}
	})
}

func checkOpaqueShape(t *testing.T, prefix, in string) {
	t.Helper()
	if len(in) != opaqueLength || !hasPrefix(in, prefix) {
		t.Fatalf("wellFormed(%q, %q) accepted a value of the wrong shape", prefix, in)
	}
	for i := len(prefix) + 1; i < len(in); i++ {
		c := in[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			t.Fatalf("wellFormed(%q, %q) accepted a non-base62 byte", prefix, in)
		}
	}
}

// FuzzMatchRedirectURI drives the one redirect-URI matcher with arbitrary
// registered and requested URIs. Nothing may panic; a match is either exact
// string equality with a registered URI, or the RFC 8252 §7.3 loopback
// case: http, an IP-literal loopback host, a port in 1–65535, no userinfo,
// no fragment, and — with the ports removed — the same string as a
// registered loopback URI.
func FuzzMatchRedirectURI(f *testing.F) {
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
		ok := MatchRedirectURI(reg, requested)
		if (exactURIValidator(registered, requested) == nil) != ok {
			t.Fatalf("exactURIValidator and MatchRedirectURI disagree on %q for %q", requested, registered)
		}
		if !ok {
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
