package main

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

// reviewBoardToken is a 255-character rbp_ token whose checksum is
// computed with Djblets' vendor_checksum algorithm: CRC-32 of the entropy,
// base 62 over 0-9A-Za-z, zero-padded to 6.
func reviewBoardToken(seed string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	entropy := strings.Repeat(seed, 245)[:245]
	n := crc32.ChecksumIEEE([]byte(entropy))
	sum := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		sum[i] = alphabet[n%62]
		n /= 62
	}
	return "rbp_" + entropy + string(sum)
}

type cliStep struct {
	name     string
	stdin    string
	args     []string
	wantCode int
	wantOut  string
	wantErr  string
}

func runSteps(t *testing.T, extra []string, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		args := append(append([]string{}, s.args...), extra...)
		code, out, errOut := runCLI(t, s.stdin, args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
			t.Fatalf("%s: code %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", s.name, code, s.wantCode, out, s.wantOut, errOut, s.wantErr)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTokenImportCLI: an rbp_ token and a legacy_sha1 token import and
// authenticate with their original values (the legacy one deprecated); a
// malformed line is refused with its line number; --dry-run and --strict
// store nothing; a second import skips.
func TestTokenImportCLI(t *testing.T) {
	dir := t.TempDir()
	dbURL := filepath.Join(dir, "import.db")
	cfg := writeFile(t, dir, "c.yaml", "tokens:\n  accepted_prefixes: [rbp]\n")
	rbp := reviewBoardToken("Rb7")
	const legacy = "ead9190eadc2f8ccc051f813be28ea1f24ba3810"
	file := writeFile(t, dir, "tokens.jsonl", strings.Join([]string{
		`{"user":"alice","token":"` + rbp + `","token_generator_id":"vendor_checksum","note":"from RB","policy":"{\"resources\":{\"*\":{\"allow\":[\"GET\"]}}}","time_added":"2023-01-02T03:04:05Z","expires":null}`,
		``,
		`{"user":"alice","token":"` + legacy + `","token_generator_id":"legacy_sha1","policy":null,"last_used":"2024-05-06T07:08:09Z"}`,
		`{"user":"alice","token":"` + rbp[:200] + `"`,
		`{"user":"alice","token":"` + reviewBoardToken("x") + `","policy":{"resources":{"*":{}}}}`,
	}, "\n")+"\n")
	flags := []string{"--database-url", dbURL, "--config", cfg}
	runSteps(t, flags, []cliStep{
		{"migrate", "", []string{"migrate"}, 0, "schema is at version", ""},
		{"user", "pw-pw-pw-pw\n", []string{"user", "create", "alice", "--password-stdin"}, 0, "created user alice", ""},
		{"dry run", "", []string{"token", "import", "--file", file, "--dry-run"}, 1,
			"line 4: refused: not a JSON object\nline 5: refused: policy: The \"resources.*\" section must have \"allow\" and/or \"block\" rules. (at /resources/*)\nwould import 2, skipped 0, refused 2\n", ""},
		{"dry run stored nothing", "", []string{"token", "list", "--user", "alice"}, 0, "ID", ""},
		{"strict", "", []string{"token", "import", "--file", file, "--strict"}, 1, "nothing was imported: --strict) 2, skipped 0, refused 2", ""},
		{"import", "", []string{"token", "import", "--file", file}, 1, "imported 2, skipped 0, refused 2", ""},
		{"again", "", []string{"token", "import", "--file", file}, 1,
			"line 1: skipped: this token is already stored\nline 3: skipped: this token is already stored\n", ""},
		{"missing --file", "", []string{"token", "import"}, 2, "", "--file is required"},
		{"standard input", `{"user":"alice","token":"` + reviewBoardToken("In") + `"}` + "\n", []string{"token", "import", "--file", "-", "--dry-run"}, 0, "would import 1, skipped 0, refused 0", ""},
		{"unreadable file", "", []string{"token", "import", "--file", filepath.Join(dir, "missing.jsonl")}, 2, "", "no such file"},
	})
	code, out, _ := runCLI(t, "", append([]string{"token", "list", "--user", "alice"}, flags...)...)
	if code != 0 || strings.Count(out, "\n") != 3 || strings.Contains(out, rbp[8:]) || strings.Contains(out, legacy[4:]) {
		t.Fatalf("list after import (want header + 2 rows, no secrets):\n%s", out)
	}

	ctx := context.Background()
	d, err := db.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, err := tokens.NewManager(tokens.NewSQLStore(d), users.NewSQLStore(d), tokens.Options{AcceptedPrefixes: []string{"rbp"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Authenticate(ctx, rbp)
	if err != nil || a.Deprecated || a.User.Username != "alice" || a.Token.Note != "from RB" {
		t.Fatalf("Authenticate(rbp) = %+v, %v", a, err)
	}
	l, err := m.Authenticate(ctx, legacy)
	if err != nil || !l.Deprecated || l.Token.GeneratorID != tokens.LegacySHA1ID {
		t.Fatalf("Authenticate(legacy) = %+v, %v", l, err)
	}
}

// TestTokenInvalidateAllCLI: `token invalidate --all` with filters
// invalidates exactly the matching tokens, on both databases; without
// --yes it only counts.
func TestTokenInvalidateAllCLI(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := dbtest.SQLiteDSN(t)
			if dialect == "postgres" {
				dsn = dbtest.PostgresDSN(t)
			}
			flags := []string{"--database-url", dsn}
			steps := []cliStep{
				{"migrate", "", []string{"migrate"}, 0, "schema is at version", ""},
				{"alice", "pw-pw-pw-pw\n", []string{"user", "create", "alice", "--password-stdin"}, 0, "created", ""},
				{"bob", "pw-pw-pw-pw\n", []string{"user", "create", "bob", "--password-stdin"}, 0, "created", ""},
			}
			// Tokens 1-3 for alice, 4-5 for bob.
			for _, n := range []struct{ user, note string }{{"alice", "CI deploy"}, {"alice", "laptop"}, {"alice", "CI nightly"}, {"bob", "CI deploy"}, {"bob", "phone"}} {
				steps = append(steps, cliStep{"create", "", []string{"token", "create", "--user", n.user, "--note", n.note}, 0, "agp_", ""})
			}
			steps = append(steps,
				cliStep{"count only", "", []string{"token", "invalidate", "--all", "--note-contains", "CI"}, 0, "would invalidate 3 token(s); nothing changed", ""},
				cliStep{"count with user", "", []string{"token", "invalidate", "--all", "--note-contains", "CI", "--user", "alice"}, 0, "would invalidate 2 token(s)", ""},
				cliStep{"count with two users", "", []string{"token", "invalidate", "--all", "--user", "alice", "--user", "bob", "--created-after", "2000-01-01T00:00:00Z"}, 0, "would invalidate 5 token(s)", ""},
				cliStep{"none created before 2000", "", []string{"token", "invalidate", "--all", "--created-before", "2000-01-01T00:00:00Z"}, 0, "would invalidate 0 token(s)", ""},
				cliStep{"--yes needs a reason", "", []string{"token", "invalidate", "--all", "--yes"}, 2, "", "needs --reason"},
				cliStep{"filters need --all", "", []string{"token", "invalidate", "--user", "alice", "--note-contains", "CI"}, 2, "", "need --all"},
				cliStep{"bad time", "", []string{"token", "invalidate", "--all", "--created-after", "yesterday"}, 2, "", "RFC 3339"},
				cliStep{"bad generator", "", []string{"token", "invalidate", "--all", "--generator", "md5"}, 2, "", "not one of"},
				cliStep{"two modes", "", []string{"token", "invalidate", "1", "--all"}, 2, "", "exactly one of"},
				cliStep{"invalidate", "", []string{"token", "invalidate", "--all", "--user", "alice", "--user", "bob", "--note-contains", "CI deploy",
					"--generator", "vendor_checksum", "--only-unexpired", "--reason", "Rotated.", "--yes"}, 0, "invalidated 2 token(s)", ""},
			)
			runSteps(t, flags, steps)
			for id, want := range map[int]string{1: "invalid", 2: "valid", 3: "valid", 4: "invalid", 5: "valid"} {
				code, out, _ := runCLI(t, "", append([]string{"token", "show", fmt.Sprint(id)}, flags...)...)
				if code != 0 || !regexp.MustCompile(`(?m)^status:\s+`+want+`$`).MatchString(out) {
					t.Errorf("token %d: want %s\n%s", id, want, out)
				}
				if want == "invalid" && !strings.Contains(out, "Rotated.") {
					t.Errorf("token %d: no reason\n%s", id, out)
				}
			}
			code, out, _ := runCLI(t, "", append([]string{"audit", "list", "--kind", "token.invalidated", "--output", "json"}, flags...)...)
			if code != 0 || strings.Count(out, `"kind": "token.invalidated"`) != 2 {
				t.Errorf("audit_events rows for the bulk invalidation:\n%s", out)
			}
		})
	}
}

// TestTokenInvalidateByValueCLI: --token-stdin (Djblets' invalidate_token)
// and create --prefix.
func TestTokenInvalidateByValueCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", "tokens:\n  accepted_prefixes: [rbp]\n")
	flags := []string{"--database-url", filepath.Join(dir, "v.db"), "--config", cfg}
	runSteps(t, flags, []cliStep{
		{"migrate", "", []string{"migrate"}, 0, "schema", ""},
		{"user", "pw-pw-pw-pw\n", []string{"user", "create", "alice", "--password-stdin"}, 0, "created", ""},
	})
	code, raw, _ := runCLI(t, "", append([]string{"token", "create", "--user", "alice", "--prefix", "rbp"}, flags...)...)
	raw = strings.TrimSpace(raw)
	if code != 0 || !strings.HasPrefix(raw, "rbp_") {
		t.Fatalf("create --prefix rbp: %d %q", code, raw)
	}
	runSteps(t, flags, []cliStep{
		{"unaccepted prefix", "", []string{"token", "create", "--user", "alice", "--prefix", "xyz"}, 2, "", `--prefix "xyz": not one of the accepted prefixes agp, rbp`},
		{"by value", raw + "\n", []string{"token", "invalidate", "--token-stdin", "--reason", "Leaked."}, 0, "invalidated token 1 (" + raw[:8] + ") of alice", ""},
		{"again", raw + "\n", []string{"token", "invalidate", "--token-stdin", "--reason", "x"}, 0, "was already invalid", ""},
		{"unknown value", "agp_nothing\n", []string{"token", "invalidate", "--token-stdin"}, 1, "", "no API token has this value"},
		{"empty stdin", "", []string{"token", "invalidate", "--token-stdin"}, 2, "", "no token on standard input"},
		{"show", "", []string{"token", "show", "1"}, 0, "invalid reason:  Leaked.", ""},
	})
	_, _, errOut := runCLI(t, "agp_nothing\n", append([]string{"token", "invalidate", "--token-stdin"}, flags...)...)
	if strings.Contains(errOut, "agp_nothing") {
		t.Errorf("stderr echoes the value: %q", errOut)
	}
}

// TestNullPolicyCLI: a null policy is {} (full access) in `token create`
// and in `policy check` alike.
func TestNullPolicyCLI(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--database-url", filepath.Join(dir, "n.db")}
	runSteps(t, flags, []cliStep{
		{"migrate", "", []string{"migrate"}, 0, "schema", ""},
		{"user", "pw-pw-pw-pw\n", []string{"user", "create", "alice", "--password-stdin"}, 0, "created", ""},
		{"create", "", []string{"token", "create", "--user", "alice", "--policy", "null"}, 0, "agp_", ""},
		{"show", "", []string{"token", "show", "1"}, 0, "policy:      {}", ""},
	})
	code, out, errOut := runCLI(t, "", "policy", "check", "--policy", "null", "--resource", "session", "--method", "PUT")
	if code != 0 || !strings.HasPrefix(out, "allow") {
		t.Fatalf("policy check null: %d %q %q; want allow (null = {} = full access)", code, out, errOut)
	}
}
