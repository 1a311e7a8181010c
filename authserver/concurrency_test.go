package authserver_test

import (
	"net/http"
	"sync"
	"testing"
)

const racers = 50

// race runs fn racers times at once and returns the responses.
func race(fn func() response) []response {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		out   = make([]response, racers)
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// tally counts responses by status and checks every failure is a proper
// RFC 6749 §5.2 invalid_grant.
func tally(t *testing.T, rs []response) (ok []response) {
	t.Helper()
	for _, r := range rs {
		switch {
		case r.Status == http.StatusOK:
			ok = append(ok, r)
		case r.Status == http.StatusBadRequest && r.str("error") == "invalid_grant":
		default:
			t.Errorf("unexpected response %d %s", r.Status, r.Raw)
		}
	}
	return ok
}

// docs/go-oauth2.md, "Findings and their tests", finding 5 /
// docs/security.md, "RFC 9700 and OAuth 2.1 rules", rule "codes single-use":
// 50 concurrent redemptions of
// one code yield exactly one token response; the 49 replays revoke it.
func TestAudit05_ConcurrentCodeRedemption(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		for round := range 3 {
			v, ch := pkce()
			code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
			ok := tally(t, race(func() response { return h.exchange(c, secret, code, v) }))
			if len(ok) != 1 {
				t.Fatalf("round %d: %d of %d concurrent redemptions got tokens, want exactly 1", round, len(ok), racers)
			}
			t.Logf("round %d: 1 token response, %d invalid_grant", round, racers-1)
			if h.active(ok[0].str("access_token")) {
				t.Fatal("the replays did not revoke the grant")
			}
		}
	})
}

// docs/go-oauth2.md, "Findings and their tests", finding 5 /
// docs/security.md, "RFC 9700 and OAuth 2.1 rules", rule "refresh rotation
// atomic": 50 concurrent uses of
// one refresh token yield at most one new pair, and any reuse afterwards
// revokes the family.
func TestAudit05_ConcurrentRefresh(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		for round := range 3 {
			rt := h.tokens(c, secret, "test:read").str("refresh_token")
			ok := tally(t, race(func() response { return h.refresh(c, secret, rt, "") }))
			if len(ok) > 1 {
				t.Fatalf("round %d: %d concurrent refreshes got new pairs, want at most 1", round, len(ok))
			}
			t.Logf("round %d: %d new pair(s), %d invalid_grant", round, len(ok), racers-len(ok))
			expectError(t, h.refresh(c, secret, rt, ""), http.StatusBadRequest, "invalid_grant")
			for _, r := range ok {
				if h.active(r.str("access_token")) {
					t.Fatal("reuse did not revoke the family's access token")
				}
				expectError(t, h.refresh(c, secret, r.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
			}
		}
	})
}
