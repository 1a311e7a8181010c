package authserver_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/authgate/authgate/authserver"
)

// Issue #9 item 7: a loopback redirect URI with a port outside 1–65535 was
// accepted by both matchers (99999 by the authorization endpoint's, any
// five digits by the library's). Over HTTP and through the library path, a
// native client's out-of-range port is refused; the highest real port works.
func TestLoopbackRedirectPortRange(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		native, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"test:read"}})
		cookie := h.browserSession(h.alice, native, "test:read")
		_, ch := pkce()
		for _, uri := range []string{"http://127.0.0.1:99999/cb", "http://127.0.0.1:65536/cb", "http://127.0.0.1:0/cb"} {
			r := h.authorize(url.Values{"response_type": {"code"}, "client_id": {native.ID}, "redirect_uri": {uri},
				"scope": {"test:read"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}, cookie)
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
				t.Errorf("authorize with redirect_uri %q: status %d, Location %q", uri, r.Status, r.Header.Get("Location"))
			}
			if _, err := h.mintCode(codeReq{client: native, scope: "test:read", redirectURI: uri, challenge: ch}); err == nil {
				t.Errorf("code issued for redirect_uri %q", uri)
			}
		}
		r := h.authorize(url.Values{"response_type": {"code"}, "client_id": {native.ID}, "redirect_uri": {"http://127.0.0.1:65535/cb"},
			"scope": {"test:read"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}, cookie)
		if loc := r.Header.Get("Location"); r.Status != http.StatusSeeOther && r.Status != http.StatusFound || len(loc) < 26 || loc[:26] != "http://127.0.0.1:65535/cb?" {
			t.Errorf("authorize with port 65535: status %d, Location %q", r.Status, loc)
		}
	})
}
