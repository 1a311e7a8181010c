package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
)

// stdio is where a command reads and writes; tests substitute buffers.
type stdio struct {
	in  io.Reader
	out io.Writer
	err io.Writer
	// environ is the process environment (os.Environ in production).
	environ []string
	// isTerminal reports whether in is an interactive terminal.
	isTerminal bool
}

func newStdio() stdio {
	return stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, environ: os.Environ(), isTerminal: stdinIsTerminal()}
}

// exitError carries a specific exit code (e.g. `policy check` exits 1 for
// deny, 2 for an invalid policy). A nil err prints nothing.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// cli holds what every subcommand shares: stdio, the global flags and the
// configuration they select.
type cli struct {
	io          stdio
	configFile  string
	databaseURL string
	// overrides collects flag values that override configuration keys.
	overrides configs.Overrides
}

func newCLI(io stdio) *cli { return &cli{io: io, overrides: configs.Overrides{}} }

// config loads the configuration: defaults < --config file < AUTHGATE_*
// environment < flags.
func (c *cli) config() (configs.Config, error) {
	if c.databaseURL != "" {
		c.overrides["database.url"] = c.databaseURL
	}
	return configs.Load(c.configFile, c.io.environ, c.overrides)
}

// logger builds the slog logger the configuration asks for, writing to stderr.
func (c *cli) logger(cfg configs.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(c.io.err, opts))
	}
	return slog.New(slog.NewTextHandler(c.io.err, opts))
}

// openApp loads the configuration and opens a migrated App for a management
// command. The caller must Close it.
func (c *cli) openApp(ctx context.Context) (*app.App, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	// Management commands log warnings only, to keep their output clean.
	cfg.Log.Level = "warn"
	// PublishOnly: changes (e.g. `key rotate`) reach running servers at
	// once, without this short-lived process listening for theirs.
	return app.New(ctx, cfg, c.logger(cfg), app.Options{Migrate: true, PublishOnly: true})
}

// withApp runs fn with an opened App and closes it afterwards.
func (c *cli) withApp(cmd *cobra.Command, fn func(ctx context.Context, a *app.App) error) error {
	a, err := c.openApp(cmd.Context())
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(cmd.Context(), a)
}

func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:           "authgate",
		Short:         "authgate: an OAuth2 authorization server and API-token service",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(c.io.in)
	root.SetOut(c.io.out)
	root.SetErr(c.io.err)
	pf := root.PersistentFlags()
	pf.StringVar(&c.configFile, "config", "", "YAML configuration file (see configs/default.yaml)")
	pf.StringVar(&c.databaseURL, "database-url", "", "database URL: postgres://… for PostgreSQL, else a SQLite file path (default \"authgate.db\")")

	root.AddCommand(
		newServeCmd(c),
		newMigrateCmd(c),
		newUserCmd(c),
		newVersionCmd(c),
		newPolicyCmd(c),
		newTokenCmd(c),
		newClientCmd(c),
		newKeyCmd(c),
		newAuditCmd(c),
		newBenchCmd(c),
		newGCCmd(c),
	)
	return root
}

// usageError marks a mistake in the command line (exit code 2).
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// splitList accepts repeated flags and comma-separated lists alike.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
