package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db/dbtest"
)

var (
	sharedBinOnce sync.Once
	sharedBin     string
	sharedBinErr  error
)

// sharedAuthgate builds cmd/authgate once for the tests of this package that
// need the binary.
func sharedAuthgate(t *testing.T) string {
	t.Helper()
	sharedBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "authgate-bin-")
		if err != nil {
			sharedBinErr = err
			return
		}
		sharedBin, sharedBinErr = buildAuthgate(dir)
	})
	if sharedBinErr != nil {
		t.Fatal(sharedBinErr)
	}
	return sharedBin
}

// TestGracefulShutdownFinishesInFlightRequests starts `authgate serve`, opens
// a token request whose body is still arriving, sends SIGTERM, and then
// completes the body: the request must be answered 200 with a token, new
// connections refused, and the process must exit 0.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	bin := sharedAuthgate(t)
	dsn := dbtest.SQLiteDSN(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := append(os.Environ(), "AUTHGATE_ADMIN_PASSWORD="+e2eAdminPassword, "AUTHGATE_OAUTH__ISSUER=http://"+addr)

	out, err := runCLI(env, bin, "client", "create", "--name", "svc", "--grant", "client_credentials",
		"--scope", "session:read", "--output", "json", "--database-url", dsn)
	if err != nil {
		t.Fatalf("client create: %v\n%s", err, out)
	}
	var cl struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &cl); err != nil || cl.ClientSecret == "" {
		t.Fatalf("client create output %q: %v", out, err)
	}

	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--database-url", dsn)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(t, "http://"+addr, exited, logs)

	// The request: headers and half the body now, the rest after SIGTERM.
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"session:read"}}.Encode()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/oauth/token", nil)
	req.SetBasicAuth(url.QueryEscape(cl.ClientID), url.QueryEscape(cl.ClientSecret))
	fmt.Fprintf(conn, "POST /oauth/token HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		addr, req.Header.Get("Authorization"), len(body), body[:len(body)/2])
	time.Sleep(300 * time.Millisecond)

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes at once; the in-flight request keeps its connection.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("authgate still accepts connections 5 s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-exited:
		t.Fatalf("authgate exited (%v) with a request in flight:\n%s", err, logs)
	default:
	}
	if _, err := conn.Write([]byte(body[len(body)/2:])); err != nil {
		t.Fatalf("finish the body: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request got no answer: %v\n%s", err, logs)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("in-flight request: %d, access token %q", resp.StatusCode, tok.AccessToken)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("authgate exited with %v:\n%s", err, logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("authgate did not exit 15 s after SIGTERM:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no \"stopped\" log line:\n%s", logs)
	}
	t.Logf("in-flight request answered 200 and process exited 0, %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}

func runCLI(env []string, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stderr.String(), err
	}
	return stdout.String(), nil
}

func waitReady(t *testing.T, base string, exited chan error, logs *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("authgate serve exited (%v):\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("authgate serve not ready after 30s:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
