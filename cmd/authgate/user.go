package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/users"
)

func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// readPassword reads a new password from stdin (--password-stdin: the first
// line) or, on a terminal, from an interactive prompt asked twice. Passwords
// are never taken from flags, where they would leak into shell history and
// the process list.
func (c *cli) readPassword(fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(c.io.in).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("--password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !c.io.isTerminal {
		return "", usageError("standard input is not a terminal: use --password-stdin")
	}
	fd := int(os.Stdin.Fd())
	fmt.Fprint(c.io.err, "Password: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(c.io.err)
	if err != nil {
		return "", err
	}
	fmt.Fprint(c.io.err, "Password (again): ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(c.io.err)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("passwords do not match")
	}
	return string(p1), nil
}

func newUserCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	cmd.AddCommand(newUserCreateCmd(c), newUserListCmd(c), newUserPasswdCmd(c), newUserActiveCmd(c, false), newUserActiveCmd(c, true))
	return cmd
}

func newUserCreateCmd(c *cli) *cobra.Command {
	var email, name string
	var admin, passwordStdin, emailVerified bool
	cmd := &cobra.Command{
		Use:   "create USERNAME",
		Short: "Create a user (password from --password-stdin or a prompt)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !users.ValidUsername(args[0]) {
				return usageError("%v", users.ErrInvalidUsername)
			}
			password, err := c.readPassword(passwordStdin)
			if err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				u, err := a.Users.Create(ctx, users.NewUser{
					Username: args[0], Email: email, EmailVerified: emailVerified, Name: name, Password: password, IsAdmin: admin,
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.io.out, "created user %s (id %d%s)\n", u.Username, u.ID, map[bool]string{true: ", admin"}[u.IsAdmin])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	cmd.Flags().BoolVar(&emailVerified, "email-verified", false, "the e-mail address is known to be the user's (OpenID Connect email_verified)")
	cmd.Flags().StringVar(&name, "name", "", `display name ("Full Name"), the OpenID Connect name claim`)
	cmd.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserListCmd(c *cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageError("--output must be text or json")
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				list, err := a.Users.List(ctx)
				if err != nil {
					return err
				}
				if output == "json" {
					enc := json.NewEncoder(c.io.out)
					enc.SetIndent("", "  ")
					return enc.Encode(list)
				}
				tw := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSERNAME\tADMIN\tACTIVE\tCREATED")
				for _, u := range list {
					fmt.Fprintf(tw, "%d\t%s\t%v\t%v\t%s\n", u.ID, u.Username, u.IsAdmin, u.IsActive, u.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func newUserPasswdCmd(c *cli) *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "passwd USERNAME",
		Short: "Set a user's password (from --password-stdin or a prompt)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := c.readPassword(passwordStdin)
			if err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				u, err := a.Users.GetByUsername(ctx, args[0])
				if err != nil {
					return fmt.Errorf("user %q: %w", args[0], err)
				}
				if err := a.Users.SetPassword(ctx, u.ID, password); err != nil {
					return err
				}
				fmt.Fprintf(c.io.out, "password changed for %s\n", u.Username)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserActiveCmd(c *cli, activate bool) *cobra.Command {
	use, short, verb := "deactivate USERNAME", "Deactivate a user: no logins, API tokens stop working", "deactivated"
	if activate {
		use, short, verb = "activate USERNAME", "Re-activate a deactivated user", "activated"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				u, err := a.Users.GetByUsername(ctx, args[0])
				if err != nil {
					return fmt.Errorf("user %q: %w", args[0], err)
				}
				if err := a.Users.SetActive(ctx, u.ID, activate); err != nil {
					return err
				}
				fmt.Fprintf(c.io.out, "%s %s\n", verb, u.Username)
				return nil
			})
		},
	}
}
