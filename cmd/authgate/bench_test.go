package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchEnv turns off the limits a load test would otherwise measure (the
// values docs/performance.md uses) and makes sign-ins wait for a hashing
// slot instead of answering 503.
var benchEnv = []string{
	"AUTHGATE_ADMIN_PASSWORD=bench-admin-password",
	"AUTHGATE_LOG__LEVEL=error",
	"AUTHGATE_AUTH__TOKEN_ENDPOINT_CLIENT_RATE=-1",
	"AUTHGATE_AUTH__TOKEN_ENDPOINT_IP_FAIL_RATE=-1",
	"AUTHGATE_AUTH__API_RATE_AUTHENTICATED=-1",
	"AUTHGATE_AUTH__API_FAILED_AUTH_ATTEMPTS=-1",
	"AUTHGATE_AUTH__LOGIN_ATTEMPTS=100000",
	"AUTHGATE_AUTH__LOGIN_IP_ATTEMPTS=-1",
	"AUTHGATE_AUTH__PASSWORD_HASH_WAIT=30s",
}

// startServe runs `authgate serve` in-process on a free loopback port with
// a SQLite file, as an operator would, and waits for /readyz.
func startServe(t *testing.T, dbPath string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database-url", dbPath},
			stdio{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &errOut, environ: benchEnv})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errOut.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready: %v %s", err, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBenchEveryScenarioAgainstServe runs each scenario with --setup
// against the real server and expects every request to succeed.
func TestBenchEveryScenarioAgainstServe(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "bench.db")
	base := startServe(t, dbPath)
	for _, sc := range []struct {
		name     string
		requests int
		extra    []string
	}{
		{"token", 300, nil},
		{"introspect", 300, nil},
		{"bearer", 300, nil},
		{"api-token", 300, nil},
		{"refresh", 300, nil},
		{"authorize", 100, nil},
		// Every flow signs in again: argon2id makes each cost tens of ms.
		{"authorize", 12, []string{"--fresh-session"}},
	} {
		t.Run(strings.Join(append([]string{sc.name}, sc.extra...), " "), func(t *testing.T) {
			args := append([]string{"bench", sc.name, "--setup", "--database-url", dbPath, "--target", base,
				"--concurrency", "8", "--requests", fmt.Sprint(sc.requests), "--duration", "60s", "--output", "json"}, sc.extra...)
			var out, errOut bytes.Buffer
			code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut, environ: benchEnv})
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			var res struct {
				Scenario string             `json:"scenario"`
				Requests int                `json:"requests"`
				OK       int                `json:"ok"`
				Errors   int                `json:"errors"`
				Status   map[string]int     `json:"status"`
				Latency  map[string]float64 `json:"latency_ms"`
			}
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if res.Scenario != sc.name || res.Requests != sc.requests || res.OK != sc.requests || res.Errors != 0 {
				t.Fatalf("want %d ok requests, got %s", sc.requests, out.String())
			}
			if res.Latency["p50"] <= 0 || res.Latency["max"] < res.Latency["p99"] {
				t.Fatalf("latency %v", res.Latency)
			}
			if !strings.Contains(errOut.String(), "bench --setup:") {
				t.Fatalf("stderr %q", errOut.String())
			}
		})
	}
}

func TestBenchCommandLine(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"bench", "token", "--client-id", "x"}, "unbounded"},
		{[]string{"bench", "token", "--requests", "1", "--target", "http://192.0.2.1:8080"}, "--allow-remote"},
		{[]string{"bench", "token", "--requests", "1", "--target", "127.0.0.1:8080"}, "base URL"},
		{[]string{"bench", "nope", "--requests", "1"}, `unknown scenario "nope"`},
		{[]string{"bench", "token", "--requests", "1"}, "--client-secret-file"},
		{[]string{"bench", "api-token", "--requests", "1"}, "--api-token-file"},
		{[]string{"bench", "token", "--requests", "1", "--client-id", "x", "--client-secret-file", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"bench", "token", "--requests", "1", "--setup", "--client-id", "x"}, "drop the credential flags"},
		{[]string{"bench", "token", "--requests", "1", "--concurrency", "0"}, "concurrency"},
		{[]string{"bench", "token", "--requests", "1", "--output", "xml"}, "--output"},
	} {
		code, _, errOut := runCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(errOut, c.wantErr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.wantErr)
		}
	}
}
