package configs

import (
	"strings"
	"testing"
	"time"
)

func TestTokensValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Tokens
		wantErr string // "" = valid
	}{
		{"zero is the default", Tokens{}, ""},
		{"defaults", Tokens{Type: "agp", Length: 40, DefaultGenerator: "vendor_checksum", MaxAttempts: 20}, ""},
		{"Djblets length", Tokens{Length: 255}, ""},
		{"entropy floor", Tokens{Type: "agp", Length: 32}, ""},
		{"below entropy floor", Tokens{Type: "agp", Length: 31}, `"tokens.length"`},
		{"longer type raises the floor", Tokens{Type: "acme", Length: 32}, "between 33 and 255"},
		{"too long", Tokens{Length: 256}, `"tokens.length"`},
		{"bad type", Tokens{Type: "ag_p"}, `"tokens.type"`},
		{"accepted prefix", Tokens{AcceptedPrefixes: []string{"rbp"}}, ""},
		{"bad accepted prefix", Tokens{AcceptedPrefixes: []string{"rb_p"}}, `"tokens.accepted_prefixes"`},
		{"duplicate accepted prefix", Tokens{AcceptedPrefixes: []string{"rbp", "rbp"}}, "listed twice"},
		{"deprecated generators", Tokens{DeprecatedGenerators: []string{"legacy_sha1", "vendor_checksum"}}, ""},
		{"unknown deprecated generator", Tokens{DeprecatedGenerators: []string{"md5"}}, `"tokens.deprecated_generators"`},
		{"unknown generator", Tokens{DefaultGenerator: "md5"}, `"tokens.default_generator"`},
		{"legacy without secret", Tokens{DefaultGenerator: "legacy_sha1"}, "needs tokens.legacy_secret"},
		{"legacy with secret", Tokens{DefaultGenerator: "legacy_sha1", LegacySecret: "s3cret"}, ""},
		{"negative attempts", Tokens{MaxAttempts: -1}, `"tokens.max_attempts"`},
		{"negative cache TTL", Tokens{CacheTTL: -time.Second}, `"tokens.cache_ttl"`},
		{"negative cache size", Tokens{CacheSize: -1}, `"tokens.cache_size"`},
		{"cache disabled", Tokens{CacheTTL: 0}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.in.Validate()
			if tc.wantErr == "" {
				if len(errs) != 0 {
					t.Fatalf("Validate() = %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want one error containing %q", errs, tc.wantErr)
			}
			if tc.in.LegacySecret != "" && strings.Contains(errs[0].Error(), tc.in.LegacySecret) {
				t.Errorf("error echoes the legacy secret")
			}
		})
	}
}

func TestTokensFromEnvironment(t *testing.T) {
	cfg, err := Load("", []string{"AUTHGATE_TOKENS__LENGTH=48", "AUTHGATE_TOKENS__LEGACY_SECRET=abc"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tokens.Length != 48 || cfg.Tokens.LegacySecret != "abc" || cfg.Tokens.Type != "agp" || cfg.Tokens.MaxAttempts != 20 {
		t.Errorf("Tokens = %+v", cfg.Tokens)
	}
	if _, err := Load("", []string{"AUTHGATE_TOKENS__LENGTH=12"}, nil); err == nil || !strings.Contains(err.Error(), "tokens.length") {
		t.Errorf("length 12: err = %v", err)
	}
}

// TestTokensCacheTTLFor: the authentication cache is on by default for
// both databases; the retired cache_sqlite key is accepted and ignored.
func TestTokensCacheTTLFor(t *testing.T) {
	def, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load("", nil, Overrides{"tokens.cache_sqlite": false}); err != nil {
		t.Fatalf("the retired tokens.cache_sqlite key is refused: %v", err)
	}
	tests := []struct {
		name    string
		in      Tokens
		dialect string
		want    time.Duration
	}{
		{"default postgres", def.Tokens, "postgres", 30 * time.Second},
		{"default sqlite", def.Tokens, "sqlite", 30 * time.Second},
		{"retired key off", Tokens{CacheTTL: time.Minute, CacheSQLite: false}, "sqlite", time.Minute},
		{"disabled", Tokens{CacheTTL: 0, CacheSQLite: true}, "postgres", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.CacheTTLFor(tc.dialect); got != tc.want {
				t.Fatalf("CacheTTLFor(%s) = %s, want %s", tc.dialect, got, tc.want)
			}
		})
	}
}

// TestTokensDeprecatedGeneratorsDefault: the documented default is
// Djblets' {legacy_sha1}, and an explicit empty list (file or
// environment) stays empty, meaning "nothing is deprecated".
func TestTokensDeprecatedGeneratorsDefault(t *testing.T) {
	def, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := def.Tokens.DeprecatedGenerators; len(g) != 1 || g[0] != "legacy_sha1" {
		t.Errorf("default deprecated_generators = %#v", g)
	}
	if p := def.Tokens.AcceptedPrefixes; len(p) != 0 {
		t.Errorf("default accepted_prefixes = %#v", p)
	}
	none, err := Load("", []string{"AUTHGATE_TOKENS__DEPRECATED_GENERATORS=", "AUTHGATE_TOKENS__ACCEPTED_PREFIXES=rbp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := none.Tokens.DeprecatedGenerators; g == nil || len(g) != 0 {
		t.Errorf("empty deprecated_generators = %#v, want an empty non-nil list", g)
	}
	if p := none.Tokens.AcceptedPrefixes; len(p) != 1 || p[0] != "rbp" {
		t.Errorf("accepted_prefixes = %#v", p)
	}
}
