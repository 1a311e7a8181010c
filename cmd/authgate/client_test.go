package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver/signing"
)

func TestClientAndKeyCLI(t *testing.T) {
	dbURL := filepath.Join(t.TempDir(), "cli.db")
	var (
		id, secret string
		pending    string
	)
	idLine := regexp.MustCompile(`client_id:\s+(agci_\w+)`)
	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
		check    func(t *testing.T, stdout string)
	}{
		{"create json", []string{"client", "create", "--name", "Web App", "--redirect-uri", "https://app.example.com/cb",
			"--redirect-uri", "http://127.0.0.1/cb,com.example.app:/cb", "--scope", "session:read,user:read", "--output", "json"}, 0, `"client_secret": "agcs_`, "",
			func(t *testing.T, out string) {
				var v struct {
					ClientID     string   `json:"client_id"`
					ClientSecret string   `json:"client_secret"`
					RedirectURIs []string `json:"redirect_uris"`
					GrantTypes   []string `json:"grant_types"`
					Scopes       []string `json:"scopes"`
				}
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatal(err)
				}
				if len(v.RedirectURIs) != 3 || len(v.Scopes) != 2 || len(v.GrantTypes) != 2 || !strings.HasPrefix(v.ClientID, "agci_") {
					t.Fatalf("created %+v", v)
				}
				id, secret = v.ClientID, v.ClientSecret
			}},
		{"create text", []string{"client", "create", "--name", "svc", "--grant", "client_credentials", "--scope", "session:read"}, 0,
			"client_secret:", "shown only this once", func(t *testing.T, out string) {
				if !idLine.MatchString(out) {
					t.Fatalf("no client_id line in %q", out)
				}
			}},
		{"create public", []string{"client", "create", "--name", "cli", "--public", "--redirect-uri", "http://127.0.0.1/cb"}, 0, "public", "", func(t *testing.T, out string) {
			if strings.Contains(out, "client_secret") {
				t.Fatal("a public client got a secret")
			}
		}},
		{"create public device client", []string{"client", "create", "--name", "tv", "--public", "--grant",
			"urn:ietf:params:oauth:grant-type:device_code", "--scope", "session:read"}, 0, "urn:ietf:params:oauth:grant-type:device_code", "", func(t *testing.T, out string) {
			if strings.Contains(out, "client_secret") {
				t.Fatal("a public client got a secret")
			}
		}},
		{"create resource server", []string{"client", "create", "--name", "photos", "--resource-server", "--scope", "resource:write",
			"--output", "json"}, 0, `"resource_server": true`, "", nil},
		{"resource server text", []string{"client", "list"}, 0, "resource-server", "", nil},
		{"public resource server", []string{"client", "create", "--name", "x", "--public", "--resource-server",
			"--redirect-uri", "http://127.0.0.1/cb"}, 2, "", "resource server must be a confidential client", nil},
		{"create needs a name", []string{"client", "create"}, 2, "", "--name is required", nil},
		{"create http redirect", []string{"client", "create", "--name", "x", "--redirect-uri", "http://evil.example.com/cb"}, 2, "", "loopback", nil},
		{"create unknown scope", []string{"client", "create", "--name", "x", "--grant", "client_credentials", "--scope", "nope:read"}, 2, "", "unknown", nil},
		{"create password grant", []string{"client", "create", "--name", "x", "--grant", "password"}, 2, "", "not supported", nil},
		{"list", []string{"client", "list"}, 0, "Web App", "", nil},
		{"list json", []string{"client", "list", "--output", "json"}, 0, `"name": "svc"`, "", nil},
		{"show", []string{"client", "show", "@id"}, 0, "https://app.example.com/cb", "", func(t *testing.T, out string) {
			if strings.Contains(out, secret) {
				t.Fatal("show printed the secret")
			}
		}},
		{"show unknown", []string{"client", "show", "agci_nobody"}, 1, "", "not found", nil},
		{"update", []string{"client", "update", "@id", "--name", "Renamed", "--scope", "session:read"}, 0, "Renamed", "", nil},
		{"update nothing", []string{"client", "update", "@id"}, 2, "", "nothing to update", nil},
		{"update resource server", []string{"client", "update", "@id", "--resource-server", "--output", "json"}, 0, `"resource_server": true`, "", nil},
		{"update resource server off", []string{"client", "update", "@id", "--resource-server=false"}, 0, "type:           confidential", "", nil},
		{"rotate-secret", []string{"client", "rotate-secret", "@id", "--output", "json"}, 0, `"client_secret"`, "", func(t *testing.T, out string) {
			var v struct {
				ClientSecret string `json:"client_secret"`
			}
			_ = json.Unmarshal([]byte(out), &v)
			if v.ClientSecret == "" || v.ClientSecret == secret {
				t.Fatal("secret not rotated")
			}
		}},
		{"disable", []string{"client", "disable", "@id"}, 0, "disabled", "", nil},
		{"enable", []string{"client", "enable", "@id"}, 0, "enabled", "", nil},
		{"key list", []string{"key", "list"}, 0, "active", "", nil},
		{"key rotate", []string{"key", "rotate", "--alg", "ES256", "--activate-in", "10m", "--output", "json"}, 0, `"state": "pending"`, "", func(t *testing.T, out string) {
			var v signing.KeyInfo
			_ = json.Unmarshal([]byte(out), &v)
			pending = v.KID
		}},
		{"key list shows both", []string{"key", "list", "--output", "json"}, 0, `"pending"`, "", func(t *testing.T, out string) {
			if !strings.Contains(out, pending) || !strings.Contains(out, `"active"`) {
				t.Fatalf("keys %s", out)
			}
		}},
		{"key rotate bad alg", []string{"key", "rotate", "--alg", "HS256"}, 1, "", "unsupported algorithm", nil},
		{"delete", []string{"client", "delete", "@id"}, 0, "Deleted client", "", nil},
		{"deleted", []string{"client", "show", "@id"}, 1, "", "not found", nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := make([]string, 0, len(s.args)+2)
			for _, a := range s.args {
				if a == "@id" {
					a = id
				}
				args = append(args, a)
			}
			args = append(args, "--database-url", dbURL)
			code, out, errOut := runCLI(t, "", args...)
			if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
				t.Fatalf("authgate %v: code %d\nstdout %s\nstderr %s", args, code, out, errOut)
			}
			if s.check != nil {
				s.check(t, out)
			}
		})
	}
}
