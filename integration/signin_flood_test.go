package integration

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxFloodRSS is the peak resident memory `authgate serve` may reach under
// the sign-in flood below (it idles at ~35 MiB; one argon2id check holds
// 19 MiB).
const maxFloodRSS = 256 << 20

// TestSignInFloodBoundedRSS floods a real `authgate serve` with 64
// concurrent wrong sign-ins, each with a random username, and measures the
// server's peak RSS (VmHWM). Once with the defaults, where the per-IP
// failed-sign-in limit stops most of the flood, and once with that limit off
// so that the password-hashing semaphore alone must bound memory. Before
// both existed, the flood took the server to ~2 GiB.
//
// AUTHGATE_E2E_BIN runs an already built binary instead (to measure another
// version).
func TestSignInFloodBoundedRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and floods the server")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the server's peak RSS")
	}
	bin := os.Getenv("AUTHGATE_E2E_BIN")
	if bin == "" {
		var err error
		if bin, err = buildAuthgate(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"defaults", nil},
		{"per-IP limit off", []string{"AUTHGATE_AUTH__LOGIN_IP_ATTEMPTS=-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil && os.Getenv("AUTHGATE_E2E_BIN") != "" {
				t.Skip("the other binary may not know the setting")
			}
			base, pid := startFloodServer(t, bin, tc.env)
			statuses, median := floodSignIns(t, base, 64, 3)
			hwm := peakRSS(t, pid)
			t.Logf("statuses %v, median sign-in %v, server peak RSS %.0f MiB", statuses, median, float64(hwm)/(1<<20))
			for code := range statuses {
				if code != http.StatusBadRequest && code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
					t.Errorf("a sign-in got status %d", code)
				}
			}
			if hwm > maxFloodRSS {
				t.Errorf("peak RSS %d MiB > %d MiB", hwm>>20, maxFloodRSS>>20)
			}
		})
	}
}

// startFloodServer runs `authgate serve` on a fresh SQLite database and
// returns its base URL and process ID.
func startFloodServer(t *testing.T, bin string, env []string) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--database-url", t.TempDir()+"/authgate.db")
	cmd.Env = append(append(os.Environ(), "AUTHGATE_ADMIN_PASSWORD="+e2eAdminPassword, "AUTHGATE_LOG__LEVEL=warn"), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
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
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cmd.Process.Pid
			}
		}
		select {
		case <-exited:
			t.Fatalf("authgate serve exited:\n%s", logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("authgate serve not ready after 30s:\n%s", logs)
		}
	}
}

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// floodSignIns sends workers concurrent streams of rounds wrong sign-ins,
// each with a random username, through one browser's valid login form. It
// returns how many got each status and the median duration.
func floodSignIns(t *testing.T, base string, workers, rounds int) (map[int]int, time.Duration) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: workers}}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfFieldRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field on /login (%d)", resp.StatusCode)
	}
	csrf := html.UnescapeString(string(m[1]))

	var mu sync.Mutex
	statuses := map[int]int{}
	var took []time.Duration
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				f := url.Values{"csrf_token": {csrf}, "username": {"u" + rand.Text()}, "password": {"wrong password"}}
				start := time.Now()
				resp, err := c.PostForm(base+"/login", f)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				took = append(took, time.Since(start))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(took)
	var median time.Duration
	if len(took) > 0 {
		median = took[len(took)/2]
	}
	return statuses, median
}

// peakRSS reads VmHWM, the peak resident set size, of process pid.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
