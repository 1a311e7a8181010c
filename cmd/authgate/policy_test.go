package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCheckCommand(t *testing.T) {
	const readOnly = `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(file, []byte(`{"resources":{"session":{"42":{"block":["*"]}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A configuration declaring a separate resource server's resource, and a
	// database URL that does not exist (so --strict must stay offline).
	conf := filepath.Join(dir, "review.yaml")
	confBody := "database:\n  url: " + filepath.Join(dir, "absent.db") + "\nresources:\n  - name: review\n    methods: [GET, POST]\n"
	if err := os.WriteFile(conf, []byte(confBody), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string   // exact
		wantErr  []string // substrings of stderr, in order; nil means stderr must be empty
	}{
		{name: "allow", args: []string{"--policy", readOnly, "--resource", "session", "--method", "GET"},
			wantCode: 0, wantOut: "allow resources.*\n"},
		{name: "deny", args: []string{"--policy", readOnly, "--resource", "session", "--method", "DELETE"},
			wantCode: 1, wantOut: "deny resources.*\n"},
		{name: "full access", args: []string{"--policy", `{}`, "--resource", "user", "--method", "DELETE", "--id", "7"},
			wantCode: 0, wantOut: "allow default\n"},
		{name: "object section from file", args: []string{"--policy", "@" + file, "--resource", "session", "--method", "GET", "--id", "42"},
			wantCode: 1, wantOut: "deny resources.session.42\n"},
		{name: "list request skips object sections", args: []string{"--policy", "@" + file, "--resource", "session", "--method", "GET"},
			wantCode: 0, wantOut: "allow default\n"},
		{name: "policy from stdin", args: []string{"--policy", "@-", "--resource", "api_token", "--method", "PUT"},
			stdin:    `{"resources":{"api_token":{"*":{"allow":["PUT"],"block":["*"]}}}}`,
			wantCode: 0, wantOut: "allow resources.api_token.*\n"},
		{name: "json deny", args: []string{"--policy", readOnly, "--resource", "session", "--method", "POST", "--output", "json"},
			wantCode: 1, wantOut: `{"decision":"deny","section":"resources.*","warnings":[]}` + "\n"},
		{name: "json allow with warning", args: []string{"-o", "json", "--policy", `{"resources":{"*":{"allow":["GET"]}}}`, "--resource", "root", "--method", "POST"},
			wantCode: 0,
			wantOut:  `{"decision":"allow","section":"default","warnings":[{"message":"The \"resources.*\" section has \"allow\" rules but no \"block\" rules, so it is not a whitelist: methods it does not list are still allowed. Add \"block\": [\"*\"] to deny them.","pointer":"/resources/*"}]}` + "\n",
			wantErr:  []string{`warning: The "resources.*" section has "allow" rules but no "block" rules`, `(at /resources/*)`}},
		{name: "invalid policy", args: []string{"--policy", `{"resources":{"session":[]}}`, "--resource", "session", "--method", "GET"},
			wantCode: 2, wantErr: []string{`authgate: invalid policy: The "resources.session" section must be a JSON object. (at /resources/session)`}},
		{name: "invalid policy json", args: []string{"--policy", `{"resources":{"*":{"allow":{}}}}`, "--resource", "session", "--method", "GET", "-o", "json"},
			wantCode: 2,
			wantOut:  `{"decision":"invalid","warnings":[],"error":{"message":"The \"resources.*\" section's \"allow\" rule must be a list.","pointer":"/resources/*/allow"}}` + "\n",
			wantErr:  []string{`authgate: invalid policy: The "resources.*" section's "allow" rule must be a list. (at /resources/*/allow)`}},
		{name: "invalid JSON", args: []string{"--policy", `{"resources":`, "--resource", "session", "--method", "GET"},
			wantCode: 2, wantErr: []string{`authgate: invalid policy: The policy is not valid JSON: unexpected end of JSON input`, `(at the document root)`}},
		{name: "not an object", args: []string{"--policy", `[]`, "--resource", "session", "--method", "GET"},
			wantCode: 2, wantErr: []string{`authgate: invalid policy: The policy must be a JSON object. (at the document root)`}},
		{name: "unknown ID is a warning without --strict", args: []string{"--policy", `{"resources":{"review":{"*":{"block":["*"]}}}}`, "--resource", "review", "--method", "GET"},
			wantCode: 1, wantOut: "deny resources.review.*\n",
			wantErr: []string{`warning: "review" is not a known resource policy ID (use --strict to reject it). (at /resources/review)`,
				`warning: --resource "review" is not a known resource policy ID.`}},
		{name: "unknown ID is an error with --strict", args: []string{"--strict", "--policy", `{"resources":{"review":{"*":{"block":["*"]}}}}`, "--resource", "session", "--method", "GET"},
			wantCode: 2, wantErr: []string{`authgate: invalid policy: "review" is not a valid resource policy ID. (at /resources/review)`}},
		{name: "strict with known IDs", args: []string{"--strict", "--policy", `{"resources":{"session":{"*":{"block":["DELETE"]}},"user":{}}}`, "--resource", "session", "--method", "DELETE"},
			wantCode: 1, wantOut: "deny resources.session.*\n"},
		{name: "strict rejects unknown --resource", args: []string{"--strict", "--policy", readOnly, "--resource", "review", "--method", "GET"},
			wantCode: 2, wantErr: []string{`authgate: --resource "review" is not a known resource policy ID`}},
		{name: "strict knows resources declared in the config", args: []string{"--config", conf, "--strict", "--policy", `{"resources":{"review":{"*":{"block":["POST"]}}}}`, "--resource", "review", "--method", "POST"},
			wantCode: 1, wantOut: "deny resources.review.*\n"},
		{name: "lower-case method", args: []string{"--policy", readOnly, "--resource", "session", "--method", "get"},
			wantCode: 1, wantOut: "deny resources.*\n",
			wantErr: []string{`warning: --method "get" is not upper case; methods are compared case-sensitively.`}},
		{name: "missing --method", args: []string{"--policy", readOnly, "--resource", "session"},
			wantCode: 2, wantErr: []string{"authgate: --method is required"}},
		{name: "missing --policy", args: []string{"--resource", "session", "--method", "GET"},
			wantCode: 2, wantErr: []string{"authgate: --policy is required"}},
		{name: "missing file", args: []string{"--policy", "@" + filepath.Join(dir, "nope.json"), "--resource", "session", "--method", "GET"},
			wantCode: 2, wantErr: []string{"authgate: --policy: open ", "no such file or directory"}},
		{name: "bad --output", args: []string{"--policy", readOnly, "--resource", "session", "--method", "GET", "--output", "yaml"},
			wantCode: 2, wantErr: []string{`authgate: --output must be text or json, not "yaml"`}},
		{name: "unknown flag is not a deny", args: []string{"--policy", readOnly, "--resource", "session", "--method", "GET", "--bogus"},
			wantCode: 2, wantErr: []string{"authgate: unknown flag: --bogus"}},
		{name: "stray argument", args: []string{"--policy", readOnly, "--resource", "session", "--method", "GET", "extra"},
			wantCode: 2, wantErr: []string{"authgate: policy check takes no arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			io := stdio{in: strings.NewReader(tc.stdin), out: &out, err: &errOut}
			code := run(context.Background(), append([]string{"policy", "check"}, tc.args...), io)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if out.String() != tc.wantOut {
				t.Errorf("stdout:\n got %q\nwant %q", out.String(), tc.wantOut)
			}
			if tc.wantErr == nil {
				if errOut.Len() != 0 {
					t.Errorf("stderr not empty: %q", errOut.String())
				}
				return
			}
			rest := errOut.String()
			for _, want := range tc.wantErr {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("stderr %q lacks %q (in order)", errOut.String(), want)
				}
				rest = rest[i+len(want):]
			}
		})
	}
}

// TestPolicyCheckReviewBoardExamples runs Review Board's documented example
// policies (the presets of docs/api-tokens.md, "Policy grammar", and the
// "review bot") through the CLI.
func TestPolicyCheckReviewBoardExamples(t *testing.T) {
	const reviewBot = `{"resources": {
  "*": {"allow": ["GET","HEAD","OPTIONS"], "block": ["*"]},
  "review": {"*": {"allow": ["*"], "block": []}},
  "review_diff_comment": {"*": {"allow": ["*"], "block": []}},
  "review_file_attachment_comment": {"*": {"allow": ["*"], "block": []}},
  "review_general_comment": {"*": {"allow": ["*"], "block": []}}
}}`
	const readOnly = `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`
	const custom = `{"resources":{"*":{"allow":["*"],"block":[]}}}`
	tests := []struct {
		policy, resource, method, id string
		wantCode                     int
		wantOut                      string
	}{
		{reviewBot, "review", "POST", "", 0, "allow resources.review.*\n"},
		{reviewBot, "review_diff_comment", "PUT", "7", 0, "allow resources.review_diff_comment.*\n"},
		{reviewBot, "review_general_comment", "DELETE", "", 0, "allow resources.review_general_comment.*\n"},
		{reviewBot, "review_request", "GET", "42", 0, "allow resources.*\n"},
		{reviewBot, "server_info", "HEAD", "", 0, "allow resources.*\n"},
		{reviewBot, "review_request", "PUT", "42", 1, "deny resources.*\n"},
		{reviewBot, "repository", "DELETE", "3", 1, "deny resources.*\n"},
		{readOnly, "review_request", "OPTIONS", "", 0, "allow resources.*\n"},
		{readOnly, "review_request", "POST", "", 1, "deny resources.*\n"},
		{custom, "repository", "DELETE", "3", 0, "allow resources.*\n"},
		{`{}`, "repository", "DELETE", "3", 0, "allow default\n"},
	}
	for _, tc := range tests {
		t.Run(tc.resource+" "+tc.method, func(t *testing.T) {
			args := []string{"policy", "check", "--policy", tc.policy, "--resource", tc.resource, "--method", tc.method}
			if tc.id != "" {
				args = append(args, "--id", tc.id)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
			if code != tc.wantCode || out.String() != tc.wantOut {
				t.Fatalf("exit %d stdout %q (stderr %q); want %d %q", code, out.String(), errOut.String(), tc.wantCode, tc.wantOut)
			}
		})
	}
}
