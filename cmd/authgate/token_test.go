package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

var tokenLine = regexp.MustCompile(`^agp_[0-9A-Za-z]{36}\n$`)

func TestTokenCLI(t *testing.T) {
	dir := t.TempDir()
	dbURL := filepath.Join(dir, "cli.db")
	policyFile := filepath.Join(dir, "ro.json")
	if err := os.WriteFile(policyFile, []byte(`{"resources":{"*":{"block":["*"],"allow":["GET","HEAD"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var created string // raw token printed by the first create

	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
		check    func(t *testing.T, stdout string)
	}{
		{"migrate", "", []string{"migrate"}, 0, "schema is at version", "", nil},
		{"user", "correct horse\n", []string{"user", "create", "alice", "--password-stdin"}, 0, "created user alice", "", nil},
		{"create prints only the token on stdout", "", []string{"token", "create", "--user", "alice", "--note", "CI", "--expires", "30d", "--policy", "@" + policyFile},
			0, "agp_", "shown only this once", func(t *testing.T, out string) {
				if !tokenLine.MatchString(out) {
					t.Fatalf("stdout %q is not one agp_ token line", out)
				}
				created = strings.TrimSpace(out)
			}},
		{"create json", "", []string{"token", "create", "--user", "alice", "--output", "json"}, 0, `"token": "agp_`, "",
			func(t *testing.T, out string) {
				var v struct {
					Token    string `json:"token"`
					APIToken struct {
						ID     int64  `json:"id"`
						Prefix string `json:"prefix"`
						Valid  bool   `json:"valid"`
					} `json:"api_token"`
				}
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatal(err)
				}
				if v.APIToken.ID != 2 || !v.APIToken.Valid || !strings.HasPrefix(v.Token, v.APIToken.Prefix) {
					t.Fatalf("json = %+v", v)
				}
			}},
		{"create with policy from stdin", `{"resources":{"*":{"allow":["*"]}}}`, []string{"token", "create", "--user", "alice", "--policy", "@-"}, 0, "agp_", "", nil},
		{"invalid policy exits 2 with Djblets' message and the pointer", "", []string{"token", "create", "--user", "alice", "--policy", `{"resources":{"*":{}}}`},
			2, "", `invalid policy: The "resources.*" section must have "allow" and/or "block" rules. (at /resources/*)`, nil},
		{"policy not JSON", "", []string{"token", "create", "--user", "alice", "--policy", `{`}, 2, "", "The policy is not valid JSON", nil},
		{"missing --user", "", []string{"token", "create"}, 2, "", "--user is required", nil},
		{"unknown user", "", []string{"token", "create", "--user", "nobody"}, 1, "", `user "nobody": user not found`, nil},
		{"bad expiry", "", []string{"token", "create", "--user", "alice", "--expires", "soon"}, 2, "", "--expires", nil},
		{"unknown generator", "", []string{"token", "create", "--user", "alice", "--generator", "md5"}, 1, "", "Could not find the token generator", nil},
		{"legacy needs a secret", "", []string{"token", "create", "--user", "alice", "--generator", "legacy_sha1"}, 1, "", "no server secret", nil},
		{"bad output", "", []string{"token", "list", "--user", "alice", "--output", "xml"}, 2, "", "--output must be text or json", nil},
		{"list", "", []string{"token", "list", "--user", "alice"}, 0, "PREFIX", "", func(t *testing.T, out string) {
			if !strings.Contains(out, created[:8]) || strings.Contains(out, created[8:]) {
				t.Fatalf("list must show the prefix %q and never the secret:\n%s", created[:8], out)
			}
			if n := strings.Count(out, "\n"); n != 4 {
				t.Fatalf("list has %d lines, want header + 3:\n%s", n, out)
			}
		}},
		{"list json", "", []string{"token", "list", "--user", "alice", "--output", "json"}, 0, `"note": "CI"`, "", nil},
		{"show", "", []string{"token", "show", "1"}, 0, `{"resources":{"*":{"allow":["GET","HEAD"],"block":["*"]}}}`, "", nil},
		{"show json", "", []string{"token", "show", "1", "--output", "json"}, 0, `"expired": false`, "", nil},
		{"show unknown", "", []string{"token", "show", "99"}, 1, "", "token 99: api token not found", nil},
		{"show bad id", "", []string{"token", "show", "abc"}, 2, "", "want a positive integer", nil},
		{"invalidate", "", []string{"token", "invalidate", "1", "--reason", "Revoked."}, 0, "invalidated token 1", "", nil},
		{"invalidate again keeps the first reason", "", []string{"token", "invalidate", "1", "--reason", "other"}, 0, "already invalid", "", nil},
		{"show invalid", "", []string{"token", "show", "1"}, 0, "invalid reason:  Revoked.", "", nil},
		{"invalidate user", "", []string{"token", "invalidate", "--user", "alice"}, 0, "invalidated 2 token(s) of alice", "", nil},
		{"invalidate needs ID or user", "", []string{"token", "invalidate"}, 2, "", "exactly one of a token ID, --token-stdin, --user or --all", nil},
		{"invalidate not both", "", []string{"token", "invalidate", "1", "--user", "alice"}, 2, "", "exactly one of a token ID, --token-stdin, --user or --all", nil},
		{"delete", "", []string{"token", "delete", "2"}, 0, "deleted token 2", "", nil},
		{"delete again", "", []string{"token", "delete", "2"}, 1, "", "not found", nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := append(append([]string{}, s.args...), "--database-url", dbURL)
			code, out, errOut := runCLI(t, s.stdin, args...)
			if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
				t.Fatalf("code %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, s.wantCode, out, s.wantOut, errOut, s.wantErr)
			}
			if created != "" && strings.Contains(errOut, created) {
				t.Fatalf("stderr contains the token")
			}
			if s.check != nil {
				s.check(t, out)
			}
		})
	}

	// The printed token is the real one: it authenticates against the same
	// database, and is refused after `token invalidate` with the reason.
	ctx := context.Background()
	d, err := db.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, err := tokens.NewManager(tokens.NewSQLStore(d), users.NewSQLStore(d), tokens.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Authenticate(ctx, created)
	var ae *tokens.AuthError
	if !errors.As(err, &ae) || !errors.Is(err, tokens.ErrTokenInvalid) || !strings.HasSuffix(ae.Message, ": Revoked.") {
		t.Fatalf("Authenticate(created token) = %v, want invalid with reason Revoked.", err)
	}
}
