package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process with the given stdin and returns exit
// code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errOut, environ: []string{}})
	return code, out.String(), errOut.String()
}

func TestConfigErrorsExitNonZero(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("server:\n  addr: 127.0.0.1:0\n  bogus: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "", "serve", "--config", bad)
	if code == 0 || !strings.Contains(stderr, `unknown key "server.bogus"`) {
		t.Fatalf("serve --config bad.yaml: code %d, stderr %q", code, stderr)
	}
}

func TestUserLifecycleCLI(t *testing.T) {
	dbURL := filepath.Join(t.TempDir(), "cli.db")
	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"migrate", "", []string{"migrate"}, 0, "sqlite schema is at version", ""},
		{"create", "correct horse\n", []string{"user", "create", "alice", "--password-stdin", "--email", "a@example.com"}, 0, "created user alice", ""},
		{"create admin", "battery staple\n", []string{"user", "create", "root", "--admin", "--password-stdin"}, 0, "admin", ""},
		{"duplicate", "correct horse\n", []string{"user", "create", "alice", "--password-stdin"}, 1, "", "already exists"},
		{"weak password", "short\n", []string{"user", "create", "bob", "--password-stdin"}, 1, "", "at least 8"},
		{"no password on stdin", "", []string{"user", "create", "bob", "--password-stdin"}, 1, "", "no password"},
		{"not a terminal", "", []string{"user", "create", "bob"}, 2, "", "use --password-stdin"},
		{"bad username", "correct horse\n", []string{"user", "create", "bad name", "--password-stdin"}, 2, "", "username must be"},
		{"list", "", []string{"user", "list"}, 0, "alice", ""},
		{"list json", "", []string{"user", "list", "--output", "json"}, 0, `"username": "root"`, ""},
		{"passwd", "new password 1\n", []string{"user", "passwd", "alice", "--password-stdin"}, 0, "password changed", ""},
		{"passwd unknown", "new password 1\n", []string{"user", "passwd", "nobody", "--password-stdin"}, 1, "", "not found"},
		{"deactivate", "", []string{"user", "deactivate", "alice"}, 0, "deactivated alice", ""},
		{"activate", "", []string{"user", "activate", "alice"}, 0, "activated alice", ""},
		{"version", "", []string{"version"}, 0, "authgate ", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := append(append([]string{}, s.args...), "--database-url", dbURL)
			code, out, errOut := runCLI(t, s.stdin, args...)
			if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
				t.Fatalf("code %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, s.wantCode, out, s.wantOut, errOut, s.wantErr)
			}
		})
	}
}
