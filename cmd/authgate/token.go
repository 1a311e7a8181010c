package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
	"github.com/authgate/authgate/tokens/policy"
)

func newTokenCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	cmd.AddCommand(newTokenCreateCmd(c), newTokenListCmd(c), newTokenShowCmd(c), newTokenInvalidateCmd(c), newTokenDeleteCmd(c),
		newTokenImportCmd(c))
	return cmd
}

func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return usageError("--output must be text or json")
	}
	return nil
}

// tokenJSON is the CLI's JSON form of a token: the management API's field
// names (docs/api-tokens.md, "Errors and codes"), RFC 3339 times, plus the computed flags.
type tokenJSON struct {
	*tokens.Token
	Expired    bool `json:"expired"`
	Deprecated bool `json:"deprecated"`
}

func toJSON(m *tokens.Manager, t *tokens.Token) tokenJSON {
	return tokenJSON{Token: t, Expired: t.IsExpired(time.Now()), Deprecated: m.IsDeprecated(t)}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseExpires accepts an RFC 3339 time, or a duration from now ("720h",
// "90m", or days such as "30d").
func parseExpires(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour).UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d).UTC(), nil
	}
	return time.Time{}, usageError("--expires %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a positive duration (720h, 30d)", s)
}

// policyError turns an invalid policy into a usage error (exit 2, as
// `policy check` does) naming the JSON pointer.
func policyError(err error) error {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	if ve.Pointer != "" {
		return usageError("invalid policy: %s (at %s)", ve.Message, ve.Pointer)
	}
	return usageError("invalid policy: %s", ve.Message)
}

func lookupUser(ctx context.Context, a *app.App, name string) (users.User, error) {
	u, err := a.Users.GetByUsername(ctx, name)
	if err != nil {
		return users.User{}, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

func parseTokenID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError("token ID %q: want a positive integer", s)
	}
	return id, nil
}

func newTokenCreateCmd(c *cli) *cobra.Command {
	var username, note, policyArg, expires, generator, prefix, output string
	cmd := &cobra.Command{
		Use:   "create --user USERNAME",
		Short: "Create an API token and print it (it is shown only this once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if username == "" {
				return usageError("--user is required")
			}
			p := tokens.GenerateParams{Note: note, GeneratorID: generator, TokenType: prefix}
			if policyArg != "" {
				b, err := c.readPolicyArg(policyArg) // shared with `policy check`
				if err != nil {
					return usageError("--policy %s: %v", policyArg, err)
				}
				p.Policy = b
			}
			if expires != "" {
				t, err := parseExpires(expires, time.Now())
				if err != nil {
					return err
				}
				p.Expires = &t
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				var err error
				if p.User, err = lookupUser(ctx, a, username); err != nil {
					return err
				}
				tok, raw, err := a.Tokens.Generate(ctx, p)
				if errors.Is(err, tokens.ErrUnacceptedPrefix) {
					return usageError("--prefix %q: not one of the accepted prefixes %s (tokens.type, tokens.accepted_prefixes)",
						prefix, strings.Join(a.Tokens.AcceptedPrefixes(), ", "))
				}
				if err != nil {
					return policyError(err)
				}
				if output == "json" {
					return writeJSON(c.io.out, struct {
						Token    string    `json:"token"`
						APIToken tokenJSON `json:"api_token"`
					}{raw, toJSON(a.Tokens, tok)})
				}
				// The token alone on stdout, for TOKEN=$(authgate token create ...).
				fmt.Fprintln(c.io.out, raw)
				fmt.Fprintf(c.io.err, "Created API token %d (%s) for %s, expires %s.\nIt is shown only this once: store it now.\n",
					tok.ID, tok.Prefix, tok.Username, expiresText(tok.Expires))
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&username, "user", "", "owner's username (required)")
	f.StringVar(&note, "note", "", "description of the token")
	f.StringVar(&policyArg, "policy", "", "access policy: JSON, @FILE or @- (stdin); default (or null) {} = full access")
	f.StringVar(&expires, "expires", "", "expiry: RFC 3339 time or duration from now (720h, 30d); default never")
	f.StringVar(&generator, "generator", "", "token generator: vendor_checksum (default) or legacy_sha1 (deprecated)")
	f.StringVar(&prefix, "prefix", "", "vendor prefix: tokens.type (default) or one of tokens.accepted_prefixes")
	f.StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func expiresText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func statusText(m *tokens.Manager, t *tokens.Token) string {
	var s []string
	switch {
	case !t.Valid:
		s = append(s, "invalid")
	case t.IsExpired(time.Now()):
		s = append(s, "expired")
	default:
		s = append(s, "valid")
	}
	if m.IsDeprecated(t) {
		s = append(s, "deprecated")
	}
	return strings.Join(s, ",")
}

func newTokenListCmd(c *cli) *cobra.Command {
	var username, output string
	cmd := &cobra.Command{
		Use:   "list --user USERNAME",
		Short: "List a user's API tokens (prefixes only; secrets are never stored)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if username == "" {
				return usageError("--user is required")
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				u, err := lookupUser(ctx, a, username)
				if err != nil {
					return err
				}
				list, err := a.Tokens.List(ctx, u.ID)
				if err != nil {
					return err
				}
				if output == "json" {
					out := make([]tokenJSON, len(list))
					for i, t := range list {
						out[i] = toJSON(a.Tokens, t)
					}
					return writeJSON(c.io.out, out)
				}
				tw := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tPREFIX\tSTATUS\tCREATED\tEXPIRES\tLAST USED\tNOTE")
				for _, t := range list {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Prefix, statusText(a.Tokens, t),
						t.TimeAdded.Format(time.RFC3339), expiresText(t.Expires), timeText(t.LastUsed), oneLine(t.Note))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&username, "user", "", "owner's username (required)")
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func newTokenShowCmd(c *cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one API token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			id, err := parseTokenID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				t, err := a.Tokens.Get(ctx, id)
				if err != nil {
					return fmt.Errorf("token %d: %w", id, err)
				}
				if output == "json" {
					return writeJSON(c.io.out, toJSON(a.Tokens, t))
				}
				tw := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
				row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
				row("id", strconv.FormatInt(t.ID, 10))
				row("user", t.Username)
				row("prefix", t.Prefix)
				row("generator", t.GeneratorID)
				row("status", statusText(a.Tokens, t))
				row("note", oneLine(t.Note))
				row("created", t.TimeAdded.Format(time.RFC3339))
				row("updated", t.LastUpdated.Format(time.RFC3339))
				row("last used", timeText(t.LastUsed))
				row("expires", expiresText(t.Expires))
				if !t.Valid {
					row("invalid since", timeText(t.InvalidDate))
					row("invalid reason", t.InvalidReason)
				}
				row("policy", string(t.Policy))
				row("extra data", string(t.ExtraData))
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func newTokenDeleteCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an API token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseTokenID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				if err := a.Tokens.Delete(ctx, id); err != nil {
					return fmt.Errorf("token %d: %w", id, err)
				}
				fmt.Fprintf(c.io.out, "deleted token %d\n", id)
				return nil
			})
		},
	}
}
