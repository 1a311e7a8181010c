package configs_test

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/configs"
)

// TestPKCEZeroValueIsSafe: the zero OAuth section, and the defaults,
// require PKCE from every client; the opt-out must be set.
func TestPKCEZeroValueIsSafe(t *testing.T) {
	if (configs.OAuth{}).AllowConfidentialWithoutPKCE {
		t.Fatal("zero OAuth allows confidential clients without PKCE")
	}
	cfg, err := configs.Load("", nil, nil)
	if err != nil || cfg.OAuth.AllowConfidentialWithoutPKCE {
		t.Fatalf("defaults allow confidential clients without PKCE (%v)", err)
	}
}

// TestRenamedPKCEKey: the old, inverted oauth.require_pkce_all still works
// from a file, the environment and a flag; setting it with its new name in
// one source is an error naming the new key.
func TestRenamedPKCEKey(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file      string
		env       []string
		overrides configs.Overrides
		allow     bool
		wantErr   string
	}{
		{name: "file off", file: "oauth:\n  require_pkce_all: false\n", allow: true},
		{name: "file on", file: "oauth:\n  require_pkce_all: true\n", allow: false},
		{name: "env off", env: []string{"AUTHGATE_OAUTH__REQUIRE_PKCE_ALL=false"}, allow: true},
		{name: "flag off", overrides: configs.Overrides{"oauth.require_pkce_all": false}, allow: true},
		{name: "env beats file", file: "oauth:\n  require_pkce_all: false\n", env: []string{"AUTHGATE_OAUTH__REQUIRE_PKCE_ALL=true"}, allow: false},
		{name: "new key", file: "oauth:\n  allow_confidential_without_pkce: true\n", allow: true},
		{name: "both in a file", file: "oauth:\n  require_pkce_all: true\n  allow_confidential_without_pkce: true\n",
			wantErr: `set only "oauth.allow_confidential_without_pkce"`},
		{name: "not a bool", env: []string{"AUTHGATE_OAUTH__REQUIRE_PKCE_ALL=maybe"}, wantErr: "oauth.allow_confidential_without_pkce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			cfg, err := configs.Load(path, tc.env, tc.overrides)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OAuth.AllowConfidentialWithoutPKCE != tc.allow {
				t.Fatalf("AllowConfidentialWithoutPKCE = %v, want %v", cfg.OAuth.AllowConfidentialWithoutPKCE, tc.allow)
			}
		})
	}
}
