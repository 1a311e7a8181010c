package mgmtapi_test

import (
	"net/http"
	"net/url"
	"testing"
)

// Issue #9 item 7: an API write authenticated by the session cookie (with
// its CSRF token) went through although the browser said the request came
// from another site; the web forms refuse that. Reads, same-site writes and
// writes with a token in the Authorization header are unaffected.
func TestSessionWritesRefuseCrossSite(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		cookie, csrf := h.session(h.alice)
		form := url.Values{"note": {"x"}, "policy": {"{}"}}
		site := func(v string) http.Header { return http.Header{"Sec-Fetch-Site": {v}} }
		tests := []struct {
			name   string
			r      req
			status int
			code   int
		}{
			{"session POST cross-site", req{method: "POST", path: tokensPath("alice"), cookie: cookie, csrf: csrf, form: form, header: site("cross-site")}, 403, 101},
			{"session POST same-origin", req{method: "POST", path: tokensPath("alice"), cookie: cookie, csrf: csrf, form: form, header: site("same-origin")}, 201, 0},
			{"session POST without Fetch Metadata", req{method: "POST", path: tokensPath("alice"), cookie: cookie, csrf: csrf, form: form}, 201, 0},
			{"session GET cross-site", req{method: "GET", path: tokensPath("alice"), cookie: cookie, header: site("cross-site")}, 200, 0},
			{"basic POST cross-site", req{method: "POST", path: tokensPath("alice"), authz: h.basic("alice"), form: form, header: site("cross-site")}, 201, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(tc.r)
				if r.code != tc.status || r.errCode() != tc.code {
					t.Fatalf("status %d code %d, want %d %d: %s", r.code, r.errCode(), tc.status, tc.code, r.raw)
				}
			})
		}
		// The refused request created nothing.
		r := h.do(req{method: "GET", path: tokensPath("alice"), authz: h.basic("alice")})
		if n := len(r.get("api_tokens").([]any)); n != 3 {
			t.Fatalf("%d tokens after the refusal, want 3", n)
		}
	})
}
