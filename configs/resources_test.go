package configs_test

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/configs"
)

func TestResourcesSection(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, c configs.Config)
		wantErr string
	}{
		{
			name: "declared resources",
			yaml: `
resources:
  - name: photos
    methods: [GET, POST, DELETE]
    description: Your photo library
  - name: billing
    policy_id: bill
    scope_name: invoices
    methods: [GET]
    api_token_access: false
auth:
  enable_basic: true
`,
			check: func(t *testing.T, c configs.Config) {
				if len(c.Resources) != 2 || !c.Auth.EnableBasic {
					t.Fatalf("%+v, basic %v", c.Resources, c.Auth.EnableBasic)
				}
				p, b := c.Resources[0], c.Resources[1]
				if p.Name != "photos" || strings.Join(p.Methods, ",") != "GET,POST,DELETE" || p.APITokenAccess != nil || p.Description != "Your photo library" {
					t.Errorf("photos = %+v", p)
				}
				if b.PolicyID != "bill" || b.ScopeName != "invoices" || b.APITokenAccess == nil || *b.APITokenAccess || b.OAuth2Access != nil {
					t.Errorf("billing = %+v", b)
				}
			},
		},
		{name: "defaults", yaml: "log:\n  level: info\n", check: func(t *testing.T, c configs.Config) {
			if len(c.Resources) != 0 || c.Auth.EnableBasic {
				t.Fatalf("defaults: %+v basic %v", c.Resources, c.Auth.EnableBasic)
			}
		}},
		{name: "unknown key in a resource", yaml: "resources:\n  - name: x\n    methods: [GET]\n    colour: red\n", wantErr: "colour"},
		{name: "missing name", yaml: "resources:\n  - methods: [GET]\n", wantErr: `"resources[0]": name must not be empty`},
		{name: "duplicate policy ID", yaml: "resources:\n  - {name: a, methods: [GET]}\n  - {name: b, policy_id: a, methods: [GET]}\n", wantErr: `policy ID "a" is declared twice`},
		{name: "no methods", yaml: "resources:\n  - name: a\n", wantErr: `resource "a" lists no methods`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configs.Load(writeFile(t, tc.yaml), nil, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}
