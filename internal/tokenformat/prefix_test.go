package tokenformat_test

import (
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/tokenformat"
)

// The prefixes remote validators check locally are the ones authgate issues.
func TestPrefixesMatchAuthserver(t *testing.T) {
	for got, want := range map[string]string{
		tokenformat.PrefixAccessToken:  authserver.PrefixAccessToken,
		tokenformat.PrefixRefreshToken: authserver.PrefixRefreshToken,
		tokenformat.PrefixCode:         authserver.PrefixCode,
		tokenformat.PrefixClientSecret: authserver.PrefixClientSecret,
		tokenformat.PrefixClientID:     authserver.PrefixClientID,
		tokenformat.PrefixDeviceCode:   authserver.PrefixDeviceCode,
	} {
		if got != want {
			t.Errorf("%q != authserver's %q", got, want)
		}
	}
}
