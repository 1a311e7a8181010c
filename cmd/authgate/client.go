package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/app"
)

func newClientCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage OAuth2 clients"}
	cmd.AddCommand(newClientCreateCmd(c), newClientListCmd(c), newClientShowCmd(c), newClientUpdateCmd(c),
		newClientRotateSecretCmd(c), newClientDisableCmd(c), newClientEnableCmd(c), newClientDeleteCmd(c))
	return cmd
}

// clientError turns invalid client metadata into a usage error (exit 2).
func clientError(err error) error {
	if errors.Is(err, authserver.ErrInvalidClientMetadata) {
		return usageError("%v", err)
	}
	return err
}

// clientSpecFlags are the flags create and update share.
type clientSpecFlags struct {
	name         string
	redirectURIs []string
	grants       []string
	scopes       []string
	idTokenAlg   string
}

func (f *clientSpecFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "display name shown on the consent page")
	fl.StringArrayVar(&f.redirectURIs, "redirect-uri", nil, "registered redirect URI (repeat or comma-separate); matched exactly")
	fl.StringArrayVar(&f.grants, "grant", nil, "allowed grant: authorization_code, refresh_token, client_credentials (repeat or comma-separate)")
	fl.StringArrayVar(&f.scopes, "scope", nil, "allowed scope, e.g. api_token:read or openid (repeat or comma-separate)")
	fl.StringVar(&f.idTokenAlg, "id-token-alg", "", "OpenID Connect: algorithm of the client's ID tokens, RS256 (default), ES256 or EdDSA")
}

func printClient(c *cli, cl *authserver.Client, secret, output string) error {
	if output == "json" {
		return writeJSON(c.io.out, struct {
			*authserver.Client
			ClientSecret string `json:"client_secret,omitempty"`
		}{cl, secret})
	}
	w := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
	typ := clientType(cl)
	fmt.Fprintf(w, "client_id:\t%s\n", cl.ID)
	if secret != "" {
		fmt.Fprintf(w, "client_secret:\t%s\n", secret)
	}
	fmt.Fprintf(w, "name:\t%s\ntype:\t%s\nstate:\t%s\nredirect URIs:\t%s\ngrant types:\t%s\nscopes:\t%s\ncreated:\t%s\n",
		cl.Name, typ, clientState(cl), listText(cl.RedirectURIs), listText(cl.GrantTypes), listText(cl.Scopes),
		cl.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
	if cl.SecretPrefix != "" {
		fmt.Fprintf(w, "secret prefix:\t%s…\n", cl.SecretPrefix)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintln(c.io.err, "The client secret is shown only this once: store it now.")
	}
	return nil
}

// clientType is "public", "confidential" or "resource-server" (a
// confidential client that may register resources and introspect any
// token).
func clientType(cl *authserver.Client) string {
	switch {
	case cl.Public:
		return "public"
	case cl.ResourceServer:
		return "resource-server"
	}
	return "confidential"
}

func clientState(cl *authserver.Client) string {
	if cl.Disabled() {
		return "disabled"
	}
	return "enabled"
}

func listText(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, " ")
}

func newClientCreateCmd(c *cli) *cobra.Command {
	var (
		spec           clientSpecFlags
		public         bool
		resourceServer bool
		owner          string
		output         string
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME [--redirect-uri URI]... [--grant G]... [--scope S]... [--public | --resource-server]",
		Short: "Register an OAuth2 client and print its ID and secret (the secret is shown only this once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if strings.TrimSpace(spec.name) == "" {
				return usageError("--name is required")
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				sp := authserver.ClientSpec{Name: spec.name, Public: public, ResourceServer: resourceServer, RedirectURIs: splitList(spec.redirectURIs),
					GrantTypes: splitList(spec.grants), Scopes: splitList(spec.scopes), IDTokenAlg: spec.idTokenAlg}
				if owner != "" {
					u, err := lookupUser(ctx, a, owner)
					if err != nil {
						return err
					}
					sp.OwnerID = u.ID
				}
				cl, secret, err := a.OAuth.CreateClient(ctx, sp)
				if err != nil {
					return clientError(err)
				}
				return printClient(c, cl, secret, output)
			})
		},
	}
	spec.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&public, "public", false, "a public client (native or browser app): no secret, PKCE required")
	f.BoolVar(&resourceServer, "resource-server", false, "a resource server: may register resources (with the resource:write scope) and introspect any token")
	f.StringVar(&owner, "owner", "", "username of the client's owner (optional)")
	f.StringVar(&output, "output", "text", "output format: text or json (keys client_id, client_secret, …)")
	return cmd
}

func newClientListCmd(c *cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List OAuth2 clients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				list, err := a.OAuth.Clients.List(ctx, 0)
				if err != nil {
					return err
				}
				if output == "json" {
					if list == nil {
						list = []*authserver.Client{}
					}
					return writeJSON(c.io.out, list)
				}
				w := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "CLIENT ID\tNAME\tTYPE\tSTATE\tGRANTS\tSCOPES")
				for _, cl := range list {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Name, clientType(cl), clientState(cl),
						strings.Join(cl.GrantTypes, ","), strings.Join(cl.Scopes, ","))
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

// clientIDCmd builds a command taking one client ID argument.
func clientIDCmd(c *cli, use, short string, run func(ctx context.Context, a *app.App, id, output string) error) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   use + " CLIENT_ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				return clientError(run(ctx, a, args[0], output))
			})
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func newClientShowCmd(c *cli) *cobra.Command {
	return clientIDCmd(c, "show", "Show an OAuth2 client", func(ctx context.Context, a *app.App, id, output string) error {
		cl, err := a.OAuth.Clients.GetClient(ctx, id)
		if err != nil {
			return err
		}
		return printClient(c, cl, "", output)
	})
}

func newClientUpdateCmd(c *cli) *cobra.Command {
	var (
		spec           clientSpecFlags
		resourceServer bool
		output         string
	)
	cmd := &cobra.Command{
		Use:   "update CLIENT_ID [--name N] [--redirect-uri URI]... [--grant G]... [--scope S]... [--resource-server=true|false]",
		Short: "Change a client's name, redirect URIs, grants, scopes or resource-server flag (a given list replaces the old one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			fl := cmd.Flags()
			if !fl.Changed("name") && !fl.Changed("redirect-uri") && !fl.Changed("grant") && !fl.Changed("scope") &&
				!fl.Changed("resource-server") && !fl.Changed("id-token-alg") {
				return usageError("nothing to update: give --name, --redirect-uri, --grant, --scope, --id-token-alg or --resource-server")
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				cl, err := a.OAuth.UpdateClient(ctx, args[0], func(sp *authserver.ClientSpec) error {
					if fl.Changed("name") {
						sp.Name = spec.name
					}
					if fl.Changed("redirect-uri") {
						sp.RedirectURIs = splitList(spec.redirectURIs)
					}
					if fl.Changed("grant") {
						sp.GrantTypes = splitList(spec.grants)
					}
					if fl.Changed("scope") {
						sp.Scopes = splitList(spec.scopes)
					}
					if fl.Changed("resource-server") {
						sp.ResourceServer = resourceServer
					}
					if fl.Changed("id-token-alg") {
						sp.IDTokenAlg = spec.idTokenAlg
					}
					return nil
				})
				if err != nil {
					return clientError(err)
				}
				return printClient(c, cl, "", output)
			})
		},
	}
	spec.register(cmd)
	cmd.Flags().BoolVar(&resourceServer, "resource-server", false, "mark (true) or unmark (false) the client as a resource server")
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func newClientRotateSecretCmd(c *cli) *cobra.Command {
	return clientIDCmd(c, "rotate-secret", "Replace a confidential client's secret and print the new one (shown only this once)",
		func(ctx context.Context, a *app.App, id, output string) error {
			cl, secret, err := a.OAuth.RotateClientSecret(ctx, id)
			if err != nil {
				return err
			}
			return printClient(c, cl, secret, output)
		})
}

func newClientDisableCmd(c *cli) *cobra.Command {
	return clientIDCmd(c, "disable", "Disable a client and revoke every token it holds",
		func(ctx context.Context, a *app.App, id, output string) error {
			cl, err := a.OAuth.DisableClient(ctx, id)
			if err != nil {
				return err
			}
			return printClient(c, cl, "", output)
		})
}

func newClientEnableCmd(c *cli) *cobra.Command {
	return clientIDCmd(c, "enable", "Re-enable a disabled client (its revoked tokens stay revoked)",
		func(ctx context.Context, a *app.App, id, output string) error {
			cl, err := a.OAuth.EnableClient(ctx, id)
			if err != nil {
				return err
			}
			return printClient(c, cl, "", output)
		})
}

func newClientDeleteCmd(c *cli) *cobra.Command {
	return clientIDCmd(c, "delete", "Delete a client and revoke its tokens",
		func(ctx context.Context, a *app.App, id, output string) error {
			if err := a.OAuth.DeleteClient(ctx, id); err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(c.io.out, map[string]string{"deleted": id})
			}
			fmt.Fprintf(c.io.out, "Deleted client %s.\n", id)
			return nil
		})
}
