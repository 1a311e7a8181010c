package integration

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers for notes_e2e_test.go: child processes (authgate serve and the
// examples/notes resource server) that can be stopped and restarted, and
// small HTTP helpers for talking to them.

// buildNotes builds examples/notes into dir, with -race when this test
// runs under the race detector, so the resource server's concurrent paths
// (shared introspections, caches, JWKS refetches) are checked under the
// suite's load; testNotes fails on a "DATA RACE" in its log. authgate
// itself is built plainly: its CLI, run for every token the suite makes,
// is several times slower with -race, and its packages have their own
// -race tests.
func buildNotes(dir string) (string, error) {
	bin := filepath.Join(dir, "notes")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./examples/notes")...)
	cmd.Dir = ".." // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (the process started on it binds it again).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a child process; stop is idempotent and also runs at cleanup.
type proc struct {
	name   string
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited chan struct{}
	once   sync.Once
}

func startProc(t *testing.T, name, bin string, args, env []string, logs *lockedBuffer) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), logs: logs, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = logs, logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	return p
}

// stop sends SIGINT (a graceful shutdown) and kills after 15 s.
func (p *proc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// waitReady polls url until it answers 200, failing if p exits first.
func (p *proc) waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited:\n%s", p.name, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s:\n%s", p.name, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startAuthgateAt runs `authgate serve` on addr and returns the e2eServer
// (for the CLI helpers) and the process. Starting it again on the same
// addr and database is a restart.
func startAuthgateAt(t *testing.T, bin, dsn, addr string, logs *lockedBuffer) (*e2eServer, *proc) {
	t.Helper()
	env := append(os.Environ(), "AUTHGATE_ADMIN_PASSWORD="+e2eAdminPassword, "AUTHGATE_OAUTH__ISSUER=http://"+addr)
	s := &e2eServer{t: t, bin: bin, dsn: dsn, base: "http://" + addr, logs: logs, env: env}
	p := startProc(t, "authgate", bin, []string{"serve", "--addr", addr, "--database-url", dsn}, env, logs)
	p.waitReady(t, s.base+"/readyz")
	return s, p
}

// cliJSON runs an authgate command with --output json and decodes its
// output into v.
func (s *e2eServer) cliJSON(v any, args ...string) {
	s.t.Helper()
	out := s.cli(append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		s.t.Fatalf("authgate %s: output %q: %v", strings.Join(args, " "), out, err)
	}
}

// introspections is how many requests authgate's /oauth/introspect has
// answered since it started (authgate_http_requests_total, every status).
func (s *e2eServer) introspections() int {
	s.t.Helper()
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "authgate_http_requests_total{") || !strings.Contains(line, `route="/oauth/introspect"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			s.t.Fatalf("metrics line %q", line)
		}
		n += int(v)
	}
	return n
}

// apiResp is a response in Djblets' envelope.
type apiResp struct {
	Status int
	Header http.Header
	Raw    string
	Body   struct {
		Stat string `json:"stat"`
		Err  struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"err"`
		Notes []struct {
			ID int64 `json:"id"`
		} `json:"notes"`
		Note struct {
			ID     int64  `json:"id"`
			Author string `json:"author"`
		} `json:"note"`
		TotalResults int `json:"total_results"`
	}
}

// call sends method target with "Authorization: authz" (none if empty)
// and a form body (none if nil).
func call(t *testing.T, method, target, authz string, form url.Values) apiResp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResp{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, target, raw, err)
		}
	}
	return r
}

// getStatus is GET target with "Authorization: authz", for goroutines
// other than the test's (which must not call t.Fatal).
func getStatus(target, authz string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", authz)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// noteIDs lists the IDs of a list response.
func (r apiResp) noteIDs() []int64 {
	ids := make([]int64, 0, len(r.Body.Notes))
	for _, n := range r.Body.Notes {
		ids = append(ids, n.ID)
	}
	return ids
}

// jwtPart decodes part i (0 header, 1 claims) of a JWT into v.
func jwtPart(t *testing.T, token string, i int, v any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	var h struct {
		KID string `json:"kid"`
	}
	jwtPart(t, token, 0, &h)
	return h.KID
}
