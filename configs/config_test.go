package configs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/configs"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	cfg, err := configs.Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:8080" || cfg.Database.URL != "authgate.db" || !cfg.Database.AutoMigrate ||
		cfg.Server.ShutdownTimeout != 15*time.Second || cfg.Log.Level != "info" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "server:\n  addr: 127.0.0.1:1111\nlog:\n  level: debug\n  format: json\n")
	env := []string{"AUTHGATE_SERVER__ADDR=127.0.0.1:2222", "AUTHGATE_ADMIN_PASSWORD=ignored-here", "HOME=/root"}
	cfg, err := configs.Load(file, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:2222" || cfg.Log.Level != "debug" || cfg.Log.Format != "json" {
		t.Fatalf("env should beat file: %+v", cfg)
	}
	cfg, err = configs.Load(file, env, configs.Overrides{"server.addr": "127.0.0.1:3333"})
	if err != nil || cfg.Server.Addr != "127.0.0.1:3333" {
		t.Fatalf("flag should beat env: %+v %v", cfg.Server, err)
	}
}

func TestIssuerFollowsLoopbackAddr(t *testing.T) {
	cfg, err := configs.Load("", nil, configs.Overrides{"server.addr": "127.0.0.1:9090"})
	if err != nil || cfg.OAuth.Issuer != "http://127.0.0.1:9090" {
		t.Fatalf("issuer = %q, %v", cfg.OAuth.Issuer, err)
	}
	cfg, err = configs.Load("", []string{"AUTHGATE_SERVER__ADDR=0.0.0.0:8080", "AUTHGATE_OAUTH__ISSUER=https://auth.example.com"}, nil)
	if err != nil || cfg.OAuth.Issuer != "https://auth.example.com" {
		t.Fatalf("explicit issuer = %q, %v", cfg.OAuth.Issuer, err)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		env       []string
		overrides configs.Overrides
		want      string
	}{
		{name: "unknown file key", file: "server:\n  bogus: 1\n", want: `unknown key "server.bogus"`},
		{name: "unknown section", file: "nope:\n  x: 1\n", want: `unknown key "nope.x"`},
		{name: "section given a value", file: "server: 5\n", want: `"server" is a section`},
		{name: "unknown env key", env: []string{"AUTHGATE_SERVER__NOPE=1"}, want: "AUTHGATE_SERVER__NOPE does not name a configuration key"},
		{name: "bad duration", file: "server:\n  shutdown_timeout: soon\n", want: "shutdown_timeout"},
		{name: "bad level", file: "log:\n  level: loud\n", want: `"log.level"`},
		{name: "bad addr", env: []string{"AUTHGATE_SERVER__ADDR=nowhere"}, want: `"server.addr"`},
		{name: "empty database url", overrides: configs.Overrides{"database.url": ""}, want: `"database.url"`},
		{name: "unknown override", overrides: configs.Overrides{"server.port": 1}, want: `"server.port"`},
		{name: "bad trusted proxy", file: "server:\n  trusted_proxies: [10.0.0.0/8, nonsense]\n", want: `"server.trusted_proxies": "nonsense"`},
		{name: "malformed yaml", file: "server: [\n", want: "config file"},
		{name: "issuer needed off loopback", env: []string{"AUTHGATE_SERVER__ADDR=0.0.0.0:8080"}, want: `"oauth.issuer": must be set`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			_, err := configs.Load(path, tc.env, tc.overrides)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %s", err, tc.want)
			}
		})
	}
	if _, err := configs.Load("/nonexistent/x.yaml", nil, nil); err == nil {
		t.Fatal("missing config file accepted")
	}
}

func TestExampleConfigsLoad(t *testing.T) {
	for _, name := range []string{"default.yaml", "sqlite.example.yaml", "postgres.example.yaml", "production.example.yaml"} {
		t.Run(name, func(t *testing.T) {
			if _, err := configs.Load(name, nil, nil); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		})
	}
}
