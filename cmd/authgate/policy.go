package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/tokens/policy"
)

// knownPolicyIDs returns the policy IDs `policy check --strict` accepts:
// the resource registry built from authgate's own resources, those declared
// in the configuration and, when the configured database already exists,
// those registered there at run time. The check stays offline otherwise: it
// never creates or migrates a database.
func (c *cli) knownPolicyIDs(ctx context.Context) (func(string) bool, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	reg, err := app.NewRegistry(cfg)
	if err != nil {
		return nil, err
	}
	if databaseExists(cfg.Database.URL) {
		d, err := db.Open(ctx, cfg.Database.URL)
		if err == nil {
			err = mgmtapi.NewResourceStore(d, nil).Load(ctx, reg)
			d.Close()
		}
		if err != nil {
			fmt.Fprintf(c.io.err, "warning: resources registered in the database are not known: %v\n", err)
		}
	}
	return reg.KnownPolicyID, nil
}

// builtinPolicyID reports whether id is the policy ID of one of authgate's
// own resources.
func builtinPolicyID(id string) bool {
	for _, r := range mgmtapi.Builtin() {
		if r.Decl().EffectivePolicyID() == id {
			return true
		}
	}
	return false
}

// databaseExists reports whether url names PostgreSQL or an existing SQLite file.
func databaseExists(url string) bool {
	if db.DialectOf(url) == db.Postgres {
		return true
	}
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
	path, _, _ = strings.Cut(path, "?")
	_, err := os.Stat(path)
	return err == nil
}

func newPolicyCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Work with API-token policies"}
	cmd.AddCommand(newPolicyCheckCmd(c))
	return cmd
}

// policyCheckResult is the --output json document.
type policyCheckResult struct {
	Decision string          `json:"decision"` // allow | deny | invalid
	Section  string          `json:"section,omitempty"`
	Warnings []policyMessage `json:"warnings"`
	Error    *policyMessage  `json:"error,omitempty"`
}

type policyMessage struct {
	Message string `json:"message"`
	Pointer string `json:"pointer"`
}

func newPolicyCheckCmd(c *cli) *cobra.Command {
	var (
		policyArg, resource, method, objectID, output string
		strict                                        bool
	)
	cmd := &cobra.Command{
		Use:   "check --policy JSON|@FILE --resource POLICY_ID --method METHOD [--id OBJECT_ID]",
		Short: "Decide whether an API-token policy allows a request",
		Long: `Evaluate an API-token policy (Djblets semantics) for one request and print
"allow" or "deny" with the section that decided: resources.<id>.<object>,
resources.<id>.*, resources.* or default.

The policy is given inline or as @FILE (@- reads standard input). Without
--id the request is a list or singleton request, which object sections never
match. Methods are compared exactly and case-sensitively.

The policy's structure is always validated. Resource policy IDs are checked
against the known resources only with --strict; otherwise an unknown ID is
a warning.

Exit status: 0 allow, 1 deny, 2 invalid policy or bad usage.`,
		Example: `  authgate policy check --policy '{"resources":{"*":{"allow":["GET"],"block":["*"]}}}' --resource session --method DELETE
  authgate policy check --policy @policy.json --resource review --method PUT --id 42 --output json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("policy check takes no arguments, got %q", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case output != "text" && output != "json":
				return usageError("--output must be text or json, not %q", output)
			case policyArg == "":
				return usageError("--policy is required")
			case resource == "":
				return usageError("--resource is required")
			case method == "":
				return usageError("--method is required")
			}
			raw, err := c.readPolicyArg(policyArg)
			if err != nil {
				return usageError("--policy: %v", err)
			}

			var known func(string) bool
			if strict {
				if known, err = c.knownPolicyIDs(cmd.Context()); err != nil {
					return err
				}
			}
			res, err := checkPolicy(raw, resource, method, objectID, known)
			c.printPolicyWarnings(res.Warnings)
			if err != nil {
				var ve *policy.ValidationError
				if !errors.As(err, &ve) {
					return err
				}
				res.Decision = "invalid"
				res.Error = &policyMessage{Message: ve.Message, Pointer: ve.Pointer}
				if output == "json" {
					if err := writePolicyJSON(c.io.out, res); err != nil {
						return err
					}
				}
				return &exitError{code: 2, err: fmt.Errorf("invalid policy: %s%s", ve.Message, pointerSuffix(ve.Pointer))}
			}

			if strict && !known(resource) {
				return usageError("--resource %q is not a known resource policy ID", resource)
			}
			if output == "json" {
				if err := writePolicyJSON(c.io.out, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(c.io.out, res.Decision, res.Section)
			}
			if res.Decision != "allow" {
				return &exitError{code: 1} // deny: nothing more to print
			}
			return nil
		},
	}
	// A flag mistake must not exit 1, which means "deny".
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	f := cmd.Flags()
	f.StringVar(&policyArg, "policy", "", "the policy: JSON text, or @FILE (@- for standard input)")
	f.StringVar(&resource, "resource", "", "the resource's policy ID, e.g. session")
	f.StringVar(&method, "method", "", "the HTTP method, e.g. GET (case-sensitive)")
	f.StringVar(&objectID, "id", "", "the object ID from the URL (omit for a list request)")
	f.BoolVar(&strict, "strict", false, "reject resource policy IDs that no known resource has")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// checkPolicy parses, validates, compiles and evaluates. known nil means
// policy IDs are not checked, and unknown ones are reported as warnings.
// The result's Warnings is never nil.
func checkPolicy(raw []byte, resource, method, objectID string, known func(string) bool) (policyCheckResult, error) {
	res := policyCheckResult{Warnings: []policyMessage{}}
	if strings.TrimSpace(string(raw)) == "null" {
		// Djblets' JSONField reads NULL as {} (full access), and so do
		// token create and the API: the check must agree with them.
		raw = []byte("{}")
	}
	doc, err := policy.Parse(raw)
	if err != nil {
		return res, err
	}
	var unknown []string
	check := known
	if check == nil {
		// Without --strict, IDs outside authgate's own resources are only
		// warned about, so policies for other services can be checked offline.
		check = func(id string) bool {
			if !builtinPolicyID(id) {
				unknown = append(unknown, id)
			}
			return true
		}
	}
	warnings, err := policy.Validate(doc, check)
	if err != nil {
		return res, err
	}
	for _, id := range unknown {
		res.Warnings = append(res.Warnings, policyMessage{
			Message: fmt.Sprintf("%q is not a known resource policy ID (use --strict to reject it).", id),
			Pointer: "/resources/" + escapePointerToken(id),
		})
	}
	for _, w := range warnings {
		res.Warnings = append(res.Warnings, policyMessage{Message: w.Message, Pointer: w.Pointer})
	}
	if known == nil && !builtinPolicyID(resource) {
		res.Warnings = append(res.Warnings, policyMessage{
			Message: fmt.Sprintf("--resource %q is not a known resource policy ID.", resource),
		})
	}
	if method != strings.ToUpper(method) {
		res.Warnings = append(res.Warnings, policyMessage{
			Message: fmt.Sprintf("--method %q is not upper case; methods are compared case-sensitively.", method),
		})
	}
	compiled, err := policy.Compile(doc)
	if err != nil {
		return res, err
	}
	d := compiled.Decide(resource, method, objectID)
	res.Decision, res.Section = "deny", d.Section
	if d.Allowed {
		res.Decision = "allow"
	}
	return res, nil
}

// readPolicyArg returns the inline policy, or the contents of @FILE
// (@- is standard input).
func (c *cli) readPolicyArg(arg string) ([]byte, error) {
	name, isFile := strings.CutPrefix(arg, "@")
	if !isFile {
		return []byte(arg), nil
	}
	if name == "-" {
		return io.ReadAll(c.io.in)
	}
	return os.ReadFile(name)
}

func (c *cli) printPolicyWarnings(ws []policyMessage) {
	for _, w := range ws {
		if w.Pointer == "" {
			fmt.Fprintf(c.io.err, "warning: %s\n", w.Message)
			continue
		}
		fmt.Fprintf(c.io.err, "warning: %s (at %s)\n", w.Message, w.Pointer)
	}
}

func writePolicyJSON(w io.Writer, res policyCheckResult) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}

// pointerSuffix renders a validation error's JSON pointer; "" is the
// whole document.
func pointerSuffix(p string) string {
	if p == "" {
		return " (at the document root)"
	}
	return " (at " + p + ")"
}

// escapePointerToken applies RFC 6901 §3 to one reference token.
func escapePointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
