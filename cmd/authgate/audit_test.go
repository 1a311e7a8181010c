package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
)

func TestAuditListCLI(t *testing.T) {
	dbURL := filepath.Join(t.TempDir(), "cli.db")
	var (
		clientID, clientSecret, apiToken string
		aliceID                          int64
	)
	// kindsOf decodes `audit list --output json` into its kinds, in order.
	kindsOf := func(t *testing.T, out string) []string {
		t.Helper()
		var evs []audit.Event
		if err := json.Unmarshal([]byte(out), &evs); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		kinds := []string{}
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		return kinds
	}
	wantKinds := func(want ...string) func(t *testing.T, out string) {
		return func(t *testing.T, out string) {
			t.Helper()
			if got := kindsOf(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("kinds %v, want %v", got, want)
			}
		}
	}
	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
		check    func(t *testing.T, stdout string)
	}{
		{"empty log", "", []string{"audit", "list", "--output", "json"}, 0, "[]", "", wantKinds()},
		{"user", "correct horse\n", []string{"user", "create", "alice", "--password-stdin"}, 0, "created user alice", "", nil},
		{"client create", "", []string{"client", "create", "--name", "Web App", "--redirect-uri", "https://app.example.com/cb",
			"--scope", "session:read", "--output", "json"}, 0, "client_secret", "", func(t *testing.T, out string) {
			var v struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.ClientSecret == "" {
				t.Fatalf("create output %q: %v", out, err)
			}
			clientID, clientSecret = v.ClientID, v.ClientSecret
		}},
		{"client disable", "", []string{"client", "disable", "@id"}, 0, "disabled", "", nil},
		{"client enable", "", []string{"client", "enable", "@id"}, 0, "enabled", "", nil},
		{"token create", "", []string{"token", "create", "--user", "alice"}, 0, "agp_", "", func(t *testing.T, out string) {
			apiToken = strings.TrimSpace(out)
		}},
		{"list text, newest first", "", []string{"audit", "list"}, 0, "ID  AT", "", func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			want := []string{"token.created", "client.enabled", "client.disabled", "client.created", "user.created"}
			if len(lines) != 1+len(want) {
				t.Fatalf("%d lines, want header + %d:\n%s", len(lines), len(want), out)
			}
			for i, kind := range want {
				f := strings.Fields(lines[i+1])
				// ID AT KIND ACTOR SUBJECT DATA…
				if len(f) < 6 || f[2] != kind || f[3] != "-" {
					t.Fatalf("line %d = %q, want kind %s with no actor (CLI)", i+1, lines[i+1], kind)
				}
			}
			if !strings.Contains(out, "oauth_client:"+clientID+"  ") || !strings.Contains(out, `{"name":"Web App","changed":["disabled"]}`) {
				t.Fatalf("client subject or data missing:\n%s", out)
			}
		}},
		{"filter by kind", "", []string{"audit", "list", "--kind", "client.disabled", "--output", "json"}, 0, "", "", func(t *testing.T, out string) {
			var evs []audit.Event
			if err := json.Unmarshal([]byte(out), &evs); err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].SubjectType != "oauth_client" || evs[0].SubjectID != clientID || evs[0].ActorUserID != nil {
				t.Fatalf("events %s", out)
			}
		}},
		{"filter by subject, limited", "", []string{"audit", "list", "--subject-type", "oauth_client", "--subject-id", "@id", "--limit", "2", "--output", "json"},
			0, "", "", wantKinds("client.enabled", "client.disabled")},
		{"filter by subject type", "", []string{"audit", "list", "--subject-type", "api_token", "--output", "json"}, 0, "", "", wantKinds("token.created")},
		{"user events", "", []string{"audit", "list", "--subject-type", "user", "--output", "json"}, 0, `"alice"`, "", wantKinds("user.created")},
		{"unknown subject", "", []string{"audit", "list", "--subject-id", "agci_nobody", "--output", "json"}, 0, "[]", "", wantKinds()},
		{"default limit is 50", "", []string{"audit", "list", "--output", "json"}, 0, "", "", func(t *testing.T, out string) {
			d, err := db.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			for i := range 60 {
				if err := audit.Append(context.Background(), d, &audit.Event{Kind: "test.bulk", SubjectType: "test", SubjectID: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			_, out2, _ := runCLI(t, "", "audit", "list", "--output", "json", "--database-url", dbURL)
			kinds := kindsOf(t, out2)
			if len(kinds) != 50 || kinds[0] != "test.bulk" {
				t.Fatalf("%d events listed by default (first %v), want the newest 50", len(kinds), kinds[:1])
			}
			_, all, _ := runCLI(t, "", "audit", "list", "--limit", "0", "--output", "json", "--database-url", dbURL)
			if n := len(kindsOf(t, all)); n != 65 {
				t.Fatalf("--limit 0 listed %d events, want all 65", n)
			}
		}},
		{"actor shown by username", "", []string{"audit", "list", "--kind", "test.actor"}, 0, "", "", func(t *testing.T, _ string) {
			d, err := db.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.Get(&aliceID, `SELECT id FROM users WHERE username = 'alice'`); err != nil {
				t.Fatal(err)
			}
			for _, actor := range []int64{aliceID, 999} {
				if err := audit.Append(context.Background(), d, &audit.Event{Kind: "test.actor", ActorUserID: &actor, SubjectType: "test", SubjectID: "a"}); err != nil {
					t.Fatal(err)
				}
			}
			_, out, _ := runCLI(t, "", "audit", "list", "--kind", "test.actor", "--database-url", dbURL)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || strings.Fields(lines[1])[3] != "#999" || strings.Fields(lines[2])[3] != "alice" {
				t.Fatalf("actors:\n%s", out)
			}
		}},
		{"bad output", "", []string{"audit", "list", "--output", "yaml"}, 2, "", "--output must be text or json", nil},
		{"negative limit", "", []string{"audit", "list", "--limit", "-1"}, 2, "", "--limit", nil},
		{"no secret in the log", "", []string{"audit", "list", "--limit", "0", "--output", "json"}, 0, "", "", func(t *testing.T, out string) {
			if clientSecret == "" || apiToken == "" {
				t.Fatal("secrets not captured")
			}
			for _, s := range []string{clientSecret, apiToken} {
				if strings.Contains(out, s) {
					t.Errorf("audit list printed a secret (%.9s…)", s)
				}
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := make([]string, 0, len(s.args)+2)
			for _, a := range s.args {
				if a == "@id" {
					a = clientID
				}
				args = append(args, a)
			}
			args = append(args, "--database-url", dbURL)
			code, out, errOut := runCLI(t, s.stdin, args...)
			if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
				t.Fatalf("authgate %v: code %d (want %d)\nstdout %s\nstderr %s", args, code, s.wantCode, out, errOut)
			}
			if s.check != nil {
				s.check(t, out)
			}
		})
	}
}
