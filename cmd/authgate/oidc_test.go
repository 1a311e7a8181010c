package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestOIDCCLI: `user create --name --email-verified` stores the profile,
// `client create --scope openid --id-token-alg ES256` registers an OpenID
// client (an unknown algorithm is a usage error), `key rotate --id-token`
// adds an RS256 ID-token key and leaves the access-token key signing, and
// `key list` shows each key's purpose.
func TestOIDCCLI(t *testing.T) {
	dbURL := filepath.Join(t.TempDir(), "oidc.db")
	cli := func(stdin string, args ...string) (int, string, string) {
		return runCLI(t, stdin, append(args, "--database-url", dbURL)...)
	}
	if code, out, errOut := cli("a long enough password\n", "user", "create", "ann", "--email", "ann@example.com", "--email-verified", "--name", "Ann Example", "--password-stdin"); code != 0 {
		t.Fatalf("user create: %d %s %s", code, out, errOut)
	}
	code, out, errOut := cli("", "user", "list", "--output", "json")
	var us []struct {
		Name          string `json:"name"`
		EmailVerified bool   `json:"email_verified"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &us) != nil || len(us) != 1 || us[0].Name != "Ann Example" || !us[0].EmailVerified {
		t.Fatalf("user list: %d %s %s", code, out, errOut)
	}
	code, out, errOut = cli("", "client", "create", "--name", "RP", "--redirect-uri", "https://rp.example/cb",
		"--scope", "openid", "--scope", "profile", "--scope", "email", "--id-token-alg", "ES256", "--output", "json")
	var cl struct {
		Scopes []string `json:"scopes"`
		Alg    string   `json:"id_token_signed_response_alg"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &cl) != nil || cl.Alg != "ES256" || strings.Join(cl.Scopes, " ") != "email openid profile" {
		t.Fatalf("client create: %d %s %s", code, out, errOut)
	}
	if code, _, _ := cli("", "client", "create", "--name", "RP2", "--redirect-uri", "https://rp.example/cb", "--scope", "openid", "--id-token-alg", "HS256"); code != 2 {
		t.Fatalf("HS256 ID tokens: exit %d, want 2", code)
	}
	if code, out, errOut := cli("", "key", "rotate", "--id-token", "--activate-in", "0s"); code != 0 || !strings.Contains(out, "Added RS256 key") {
		t.Fatalf("key rotate --id-token: %d %s %s", code, out, errOut)
	}
	code, out, _ = cli("", "key", "list", "--output", "json")
	var keys []struct {
		Alg, Purpose, State string
	}
	if code != 0 || json.Unmarshal([]byte(out), &keys) != nil {
		t.Fatalf("key list: %d %s", code, out)
	}
	active := map[string]string{}
	for _, k := range keys {
		if k.State == "active" {
			active[k.Purpose] += k.Alg
		}
	}
	if active["access"] != "EdDSA" || active["id_token"] != "RS256" || len(keys) != 3 {
		t.Fatalf("keys %+v", keys)
	}
}
