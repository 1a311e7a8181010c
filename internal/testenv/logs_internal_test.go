package testenv

import "testing"

func TestSecretShaped(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`"token":"agp_AbCdEfGhIjKlMnOpQrStUvWxYz0123"`, true},
		{`"code":"agac_AbCdEfGhIjKlMnOpQrSt"`, true},
		{`"secret":"agcs_AbCdEfGhIjKlMnOpQrSt"`, true},
		{`eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.sig`, true},
		{`"prefix":"agp_AbCd"`, false},
		{`"client_id":"agci_AbCdEfGhIjKlMnOpQrStUvWxYz01"`, false},
	} {
		if got := secretShaped.MatchString(tc.in); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.in, got, tc.want)
		}
	}
}
