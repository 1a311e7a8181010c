package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/tokens"
)

// invalidateFlags are `token invalidate`'s selectors and filters.
type invalidateFlags struct {
	usernames     []string
	all           bool
	tokenStdin    bool
	noteContains  string
	generator     string
	createdBefore string
	createdAfter  string
	onlyUnexpired bool
	reason        string
	yes           bool
}

func (f *invalidateFlags) hasFilters() bool {
	return f.noteContains != "" || f.generator != "" || f.createdBefore != "" || f.createdAfter != "" || f.onlyUnexpired
}

func newTokenInvalidateCmd(c *cli) *cobra.Command {
	var f invalidateFlags
	cmd := &cobra.Command{
		Use: "invalidate (ID | --token-stdin | --user USERNAME | --all [--user USERNAME]... [filters] --reason R --yes)",
		Short: "Invalidate API tokens: one by ID or by value, every token of a user, or every token matching filters; " +
			"already invalid tokens keep their first date and reason",
		Long: `Invalidate API tokens. Already invalid tokens keep their first date and reason.

  invalidate ID                      one token
  invalidate --token-stdin           the token whose value is on standard input
  invalidate --user U                every valid token of U
  invalidate --all [--user U]... [--note-contains S] [--generator G]
      [--created-before T] [--created-after T] [--only-unexpired] --reason R --yes
                                     every valid token that matches all filters
                                     (and belongs to one of the users, if given)

Without --yes, --all prints how many tokens would be invalidated and changes nothing.
Times are RFC 3339; --created-before/--created-after are exclusive.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			modes := 0
			for _, on := range []bool{len(args) == 1, f.tokenStdin, f.all, len(f.usernames) > 0 && !f.all} {
				if on {
					modes++
				}
			}
			switch {
			case modes != 1:
				return usageError("give exactly one of a token ID, --token-stdin, --user or --all")
			case f.hasFilters() && !f.all:
				return usageError("--note-contains, --generator, --created-before, --created-after and --only-unexpired need --all")
			case f.all:
				return c.invalidateMatching(cmd, &f)
			case f.tokenStdin:
				return c.invalidateByValue(cmd, f.reason)
			case len(f.usernames) > 0:
				return c.invalidateUsers(cmd, f.usernames, f.reason)
			}
			return c.invalidateID(cmd, args[0], f.reason)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.usernames, "user", nil, "invalidate the tokens of this user (repeatable; with --all, narrows it)")
	fl.BoolVar(&f.all, "all", false, "invalidate every valid token matching the filters")
	fl.BoolVar(&f.tokenStdin, "token-stdin", false, "read the token's value from standard input")
	fl.StringVar(&f.noteContains, "note-contains", "", "with --all: only tokens whose note contains this text (case sensitive)")
	fl.StringVar(&f.generator, "generator", "", "with --all: only tokens of this generator (vendor_checksum, legacy_sha1)")
	fl.StringVar(&f.createdBefore, "created-before", "", "with --all: only tokens created before this RFC 3339 time")
	fl.StringVar(&f.createdAfter, "created-after", "", "with --all: only tokens created after this RFC 3339 time")
	fl.BoolVar(&f.onlyUnexpired, "only-unexpired", false, "with --all: skip tokens that have already expired")
	fl.StringVar(&f.reason, "reason", "", "reason shown to clients that use the token (required with --all --yes)")
	fl.BoolVar(&f.yes, "yes", false, "with --all: really invalidate (otherwise only count)")
	return cmd
}

func parseFilterTime(flag, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, usageError("--%s %q: want an RFC 3339 time (2026-01-02T15:04:05Z)", flag, v)
	}
	t = t.UTC()
	return &t, nil
}

func (c *cli) invalidateMatching(cmd *cobra.Command, f *invalidateFlags) error {
	scope := tokens.InvalidateScope{
		NoteContains: f.noteContains, GeneratorID: f.generator, OnlyUnexpired: f.onlyUnexpired,
	}
	var err error
	if scope.CreatedBefore, err = parseFilterTime("created-before", f.createdBefore); err != nil {
		return err
	}
	if scope.CreatedAfter, err = parseFilterTime("created-after", f.createdAfter); err != nil {
		return err
	}
	if f.yes && strings.TrimSpace(f.reason) == "" {
		return usageError("--all --yes needs --reason: clients are shown why their token stopped working")
	}
	return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
		if scope.GeneratorID != "" && a.Tokens.Registry().Get(scope.GeneratorID) == nil {
			return usageError("--generator %q: not one of %s", scope.GeneratorID, strings.Join(a.Tokens.Registry().IDs(), ", "))
		}
		for _, name := range f.usernames {
			u, err := lookupUser(ctx, a, name)
			if err != nil {
				return err
			}
			scope.UserIDs = append(scope.UserIDs, u.ID)
		}
		scope.All = len(scope.UserIDs) == 0
		if !f.yes {
			toks, err := a.Tokens.PreviewInvalidate(ctx, scope)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.io.out, "would invalidate %d token(s); nothing changed (add --yes to invalidate)\n", len(toks))
			return nil
		}
		toks, err := a.Tokens.InvalidateMatching(ctx, scope, f.reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.io.out, "invalidated %d token(s)\n", len(toks))
		return nil
	})
}

func (c *cli) invalidateByValue(cmd *cobra.Command, reason string) error {
	line, err := bufio.NewReader(c.io.in).ReadString('\n')
	raw := strings.TrimSpace(line)
	if raw == "" {
		if err != nil && line == "" {
			return usageError("--token-stdin: no token on standard input")
		}
		return usageError("--token-stdin: the first line of standard input is empty")
	}
	return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
		t, now, err := a.Tokens.InvalidateToken(ctx, raw, reason)
		if errors.Is(err, tokens.ErrNotFound) {
			// Never echo the value: it is a secret.
			return errors.New("no API token has this value")
		}
		if err != nil {
			return err
		}
		if !now {
			fmt.Fprintf(c.io.out, "token %d (%s) was already invalid since %s\n", t.ID, t.Prefix, timeText(t.InvalidDate))
			return nil
		}
		fmt.Fprintf(c.io.out, "invalidated token %d (%s) of %s\n", t.ID, t.Prefix, t.Username)
		return nil
	})
}

func (c *cli) invalidateUsers(cmd *cobra.Command, names []string, reason string) error {
	return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
		for _, name := range names {
			u, err := lookupUser(ctx, a, name)
			if err != nil {
				return err
			}
			n, err := a.Tokens.InvalidateUsers(ctx, []int64{u.ID}, reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.io.out, "invalidated %d token(s) of %s\n", n, u.Username)
		}
		return nil
	})
}

func (c *cli) invalidateID(cmd *cobra.Command, arg, reason string) error {
	id, err := parseTokenID(arg)
	if err != nil {
		return err
	}
	return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
		before, err := a.Tokens.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("token %d: %w", id, err)
		}
		t, err := a.Tokens.Invalidate(ctx, id, reason)
		if err != nil {
			return fmt.Errorf("token %d: %w", id, err)
		}
		if !before.Valid {
			fmt.Fprintf(c.io.out, "token %d was already invalid since %s\n", t.ID, timeText(t.InvalidDate))
			return nil
		}
		fmt.Fprintf(c.io.out, "invalidated token %d (%s)\n", t.ID, t.Prefix)
		return nil
	})
}
