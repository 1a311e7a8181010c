package authserver_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/authgate/authgate/authserver/signing"
)

// TestRetiredKeyTokensStayValid issues a JWT, rotates with immediate
// activation, and checks the old token still validates over HTTP while new
// tokens carry the new kid; a token whose key is unknown is refused.
func TestRetiredKeyTokensStayValid(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.serviceClient()
		form := url.Values{"grant_type": {"client_credentials"}}
		old := h.token(form, c.ID, secret).str("access_token")
		info, err := h.s.Keys.Rotate(context.Background(), signing.AlgRS256, 0)
		if err != nil {
			t.Fatal(err)
		}
		h.s.Keys.Invalidate() // as after the refresh interval
		fresh := h.token(form, c.ID, secret).str("access_token")
		if kidOf(t, fresh) != info.KID || kidOf(t, old) == info.KID {
			t.Fatalf("kids: old %s fresh %s new %s", kidOf(t, old), kidOf(t, fresh), info.KID)
		}
		for _, at := range []string{old, fresh} {
			if r := h.api("Bearer " + at); r.Status != 200 {
				t.Fatalf("API refused a token: %d %s", r.Status, r.Raw)
			}
		}
		// Both access-token keys, besides the ID-token key.
		set := h.jwks()
		if _, ok := set[kidOf(t, old)]; !ok || set[info.KID] == nil || len(set) != 3 {
			t.Fatalf("JWKS does not publish both keys: %d keys", len(set))
		}
	})
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	var hdr struct {
		KID string `json:"kid"`
	}
	decodeSegment(t, jwt, 0, &hdr)
	return hdr.KID
}
