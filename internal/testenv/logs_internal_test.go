package testenv

import (
	"fmt"
	"testing"
)

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

// recTB records what the log check reports instead of failing the test.
type recTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *recTB) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recTB) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }
func (r *recTB) Failed() bool              { return len(r.errs) > 0 }
func (r *recTB) Logf(string, ...any)       {}
func (r *recTB) end() {
	for _, f := range r.cleanups {
		f()
	}
}

// TestLogsFailOnSecrets: the captured log fails its test when a line holds
// a token-shaped value or a registered secret, and not otherwise.
func TestLogsFailOnSecrets(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(*Logs)
		want bool
	}{
		{"clean", func(l *Logs) { l.logger().Info("user logged in", "user_id", 2, "prefix", "agp_AbCd") }, false},
		{"API token", func(l *Logs) { l.logger().Info("oops", "token", "agp_AbCdEfGhIjKlMnOpQrStUvWxYz0123") }, true},
		{"registered password", func(l *Logs) {
			l.Secret("hunter2 hunter2")
			l.logger().Warn("bad login", "password", "hunter2 hunter2")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recTB{TB: t}
			l := newLogs(r)
			tc.log(l)
			r.end()
			if got := len(r.errs) > 0; got != tc.want {
				t.Fatalf("failed = %v (%v), want %v; log %s", got, r.errs, tc.want, l.String())
			}
		})
	}
}
