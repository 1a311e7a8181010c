package testenv

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// secretShaped matches what must never reach a log line: a whole API token,
// authorization code, refresh or opaque access token, client secret (a
// prefix, "_" and more than the 4 characters of a displayed token prefix)
// or a JWT. Client IDs (agci_) are not secrets and are logged.
var secretShaped = regexp.MustCompile(`\b(agp|rbp|agac|agrt|agat|agcs)_[A-Za-z0-9_-]{12,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ`)

// Logs captures the application's log (JSON, debug level and up). When the
// test ends it fails the test if a line holds a secret-shaped value or a
// secret the environment handed out (seeded passwords, client secrets, or
// anything given to Secret); a failed test prints the log.
type Logs struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	vals []string
}

func newLogs(t testing.TB) *Logs {
	l := &Logs{}
	t.Cleanup(func() {
		out := l.String()
		if m := secretShaped.FindString(out); m != "" {
			t.Errorf("testenv: the log holds a secret-shaped value %q", m)
		}
		for _, v := range l.secretValues() {
			if strings.Contains(out, v) {
				t.Errorf("testenv: the log holds a secret (%d characters)", len(v))
			}
		}
		if t.Failed() {
			t.Logf("application log:\n%s", out)
		}
	})
	return l
}

func (l *Logs) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write appends p; slog handlers call it once per record.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Contains reports whether a log line so far contains s.
func (l *Logs) Contains(s string) bool { return strings.Contains(l.String(), s) }

// Secret adds values (tokens, passwords) the log must never contain.
func (l *Logs) Secret(vals ...string) { l.secrets(vals...) }

func (l *Logs) secrets(vals ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range vals {
		if len(v) >= 8 { // shorter values match by accident
			l.vals = append(l.vals, v)
		}
	}
}

func (l *Logs) secretValues() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.vals...)
}
