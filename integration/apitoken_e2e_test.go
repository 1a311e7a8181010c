package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db/dbtest"
)

// buildAuthgate builds cmd/authgate into dir, as an operator would.
func buildAuthgate(dir string) (string, error) {
	bin := filepath.Join(dir, "authgate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/authgate")
	cmd.Dir = ".." // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// lockedBuffer collects a child process's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// e2eServer is `authgate serve` running as a child process.
type e2eServer struct {
	t    *testing.T
	bin  string
	dsn  string
	base string
	logs *lockedBuffer
	env  []string
}

const e2eAdminPassword = "e2e-admin-password"

func startE2EServer(t *testing.T, bin, dsn string) *e2eServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &e2eServer{t: t, bin: bin, dsn: dsn, base: "http://" + addr, logs: &lockedBuffer{},
		env: append(os.Environ(), "AUTHGATE_ADMIN_PASSWORD="+e2eAdminPassword, "AUTHGATE_OAUTH__ISSUER=http://"+addr)}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--database-url", dsn)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("authgate serve exited:\n%s", s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("authgate serve not ready after 30s:\n%s", s.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cli runs an authgate subcommand against the server's database.
func (s *e2eServer) cli(args ...string) string {
	s.t.Helper()
	return s.cliStdin("", args...)
}

// cliStdin is cli with stdin as the command's standard input.
func (s *e2eServer) cliStdin(stdin string, args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--database-url", s.dsn)...)
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("authgate %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// createToken runs `authgate token create` and returns the raw token and ID.
func (s *e2eServer) createToken(policy string) (string, int64) {
	s.t.Helper()
	return s.createTokenFor("admin", policy)
}

// createTokenFor is createToken for another user.
func (s *e2eServer) createTokenFor(username, policy string) (string, int64) {
	s.t.Helper()
	out := s.cli("token", "create", "--user", username, "--note", "e2e", "--policy", policy, "--output", "json")
	var res struct {
		Token    string `json:"token"`
		APIToken struct {
			ID int64 `json:"id"`
		} `json:"api_token"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Token == "" || res.APIToken.ID == 0 {
		s.t.Fatalf("token create output %q: %v", out, err)
	}
	return res.Token, res.APIToken.ID
}

type e2eResponse struct {
	status int
	header http.Header
	body   struct {
		Stat string `json:"stat"`
		Err  struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"err"`
		Session struct {
			AuthMethod string `json:"auth_method"`
			User       struct {
				Username string `json:"username"`
			} `json:"user"`
		} `json:"session"`
	}
	raw string
}

func (s *e2eServer) session(token string) e2eResponse {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+"/api/session/", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := e2eResponse{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if err := json.Unmarshal(b, &r.body); err != nil {
		s.t.Fatalf("body %q: %v", b, err)
	}
	return r
}

// sessionUntil calls session until it answers status or two seconds pass,
// and returns the last response. On PostgreSQL the server caches token
// lookups and a CLI change reaches it by NOTIFY, asynchronously: typically
// within a millisecond, but not before the CLI exits
// (docs/architecture.md, "Storage and invalidation").
func (s *e2eServer) sessionUntil(token string, status int) e2eResponse {
	s.t.Helper()
	start := time.Now()
	for {
		r := s.session(token)
		if r.status == status || time.Since(start) > 2*time.Second {
			s.t.Logf("HTTP %d after %s", r.status, time.Since(start).Round(time.Microsecond))
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAPITokenEndToEnd drives the built binary: tokens made with the CLI
// against `authgate serve`, on SQLite and (when configured) PostgreSQL.
func TestAPITokenEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildAuthgate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "authgate.db") }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresDSN(t) }},
	} {
		t.Run(dialect.name, func(t *testing.T) {
			s := startE2EServer(t, bin, dialect.dsn(t))
			full, fullID := s.createToken(`{}`)
			blocked, _ := s.createToken(`{"resources":{"session":{"*":{"block":["*"]}}}}`)
			secrets := []string{full, blocked, e2eAdminPassword}

			// A full-access token: 200 on GET /api/session/.
			r := s.session(full)
			if r.status != 200 || r.body.Stat != "ok" || r.body.Session.AuthMethod != "api_token" || r.body.Session.User.Username != "admin" {
				t.Fatalf("full-access token: %d %s", r.status, r.raw)
			}

			// A policy blocking session: 403 with code 101.
			r = s.session(blocked)
			if r.status != 403 || r.body.Err.Code != 101 || r.body.Err.Msg != "You don't have permission for this" {
				t.Fatalf("blocked token: %d %s", r.status, r.raw)
			}

			// The last character changed: 401 (the checksum no longer
			// matches, so no database lookup is even made).
			last := full[len(full)-1]
			changed := full[:len(full)-1] + map[bool]string{true: "A", false: "B"}[last != 'A']
			secrets = append(secrets, changed)
			r = s.session(changed)
			if r.status != 401 || r.body.Err.Code != 104 || len(r.header.Values("WWW-Authenticate")) == 0 {
				t.Fatalf("changed token: %d %v %s", r.status, r.header, r.raw)
			}

			// Invalidated with the CLI: 401 with Djblets' message. On
			// PostgreSQL the server has the token cached (it was used
			// above); the CLI's NOTIFY drops it, far within the 30 s TTL.
			s.cli("token", "invalidate", fmt.Sprint(fullID), "--reason", "Revoked.")
			r = s.sessionUntil(full, 401)
			if r.status != 401 || r.body.Err.Code != 104 ||
				!strings.HasPrefix(r.body.Err.Msg, "This API token became invalid on ") || !strings.HasSuffix(r.body.Err.Msg, ": Revoked.") {
				t.Fatalf("invalidated token: %d %s", r.status, r.raw)
			}
			if !strings.Contains(strings.Join(r.header.Values("WWW-Authenticate"), ","), `token realm="authgate"`) {
				t.Fatalf("WWW-Authenticate = %q", r.header.Values("WWW-Authenticate"))
			}

			// A user deactivated with the CLI: their cached token is refused.
			s.cliStdin("a password for bob\n", "user", "create", "bob", "--password-stdin")
			bobs, _ := s.createTokenFor("bob", `{}`)
			secrets = append(secrets, bobs)
			for range 2 {
				if r = s.session(bobs); r.status != 200 {
					t.Fatalf("bob's token: %d %s", r.status, r.raw)
				}
			}
			s.cli("user", "deactivate", "bob")
			if r = s.sessionUntil(bobs, 401); r.status != 401 {
				t.Fatalf("token of a user deactivated with the CLI: %d %s", r.status, r.raw)
			}

			logs := s.logs.String()
			for _, sec := range secrets {
				if strings.Contains(logs, sec) {
					t.Fatal("a secret reached the server log")
				}
			}
		})
	}
}
