package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/loadgen"
)

// benchFlags are `authgate bench`'s flags. Secrets are read from files
// (or made by --setup), never taken from the command line, where they
// would leak into shell history and the process list.
type benchFlags struct {
	target, output                           string
	clientID, clientSecretFile               string
	introspectClientID, introspectSecretFile string
	username, passwordFile, apiTokenFile     string
	redirectURI, scope                       string
	concurrency                              int
	requests                                 int64
	duration, timeout                        time.Duration
	allowRemote, setup, freshSession         bool
}

func newBenchCmd(c *cli) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench SCENARIO --target URL [--setup] [--concurrency N] [--duration D] [--requests N]",
		Short: "Load-test a running authgate (or any RFC 8414 server): " + strings.Join(loadgen.Scenarios, ", "),
		Long: `Send requests to a running server from --concurrency workers, each
waiting for its answer before sending the next, until --requests have been
made or --duration has passed (whichever comes first; at least one is
required), then print requests/s, latency percentiles and errors by status.

Scenarios:
  token       POST token_endpoint, grant_type=client_credentials (HTTP Basic)
  introspect  POST introspection_endpoint with one valid access token
  refresh     POST token_endpoint, grant_type=refresh_token; each worker
              rotates its own chain, started by a code flow
  bearer      GET /api/session/ with a JWT access token
  api-token   GET /api/session/ with an API token
  authorize   the whole code flow with PKCE as a browser: authorize, login
              form (a worker signs in on its first flow; --fresh-session:
              every flow), consent form, code exchange; one flow = one request

The endpoints come from /.well-known/oauth-authorization-server, so token,
introspect and refresh work against any compliant server. Only loopback
addresses are contacted unless --allow-remote.

--setup creates what the scenario needs (a user, clients, an API token) in
the database of the server under test, through this CLI's own commands with
the same --config, --database-url and AUTHGATE_* environment: with the
SQLite default, run it from the server's directory. See docs/performance.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runBench(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "http://127.0.0.1:8080", "base URL of the server (its issuer)")
	fl.StringVar(&f.output, "output", "text", "output format: text or json")
	fl.StringVar(&f.clientID, "client-id", "", "OAuth client ID")
	fl.StringVar(&f.clientSecretFile, "client-secret-file", "", "file holding the client secret")
	fl.StringVar(&f.introspectClientID, "introspect-client-id", "", "client calling the introspection endpoint (default --client-id)")
	fl.StringVar(&f.introspectSecretFile, "introspect-client-secret-file", "", "file holding that client's secret")
	fl.StringVar(&f.username, "username", "", "user signing in (authorize, refresh)")
	fl.StringVar(&f.passwordFile, "password-file", "", "file holding that user's password")
	fl.StringVar(&f.apiTokenFile, "api-token-file", "", "file holding an API token (api-token)")
	fl.StringVar(&f.redirectURI, "redirect-uri", benchRedirectURI, "redirect URI registered for the client (never contacted)")
	fl.StringVar(&f.scope, "scope", "session:read", "scope requested")
	fl.IntVar(&f.concurrency, "concurrency", 32, "workers (connections), 1..1024")
	fl.Int64Var(&f.requests, "requests", 0, "stop after this many requests (0: no count limit)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (0: no time limit), at most 1h")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of one HTTP request")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fl.BoolVar(&f.setup, "setup", false, "create the user, clients and API token the scenario needs in the server's database")
	fl.BoolVar(&f.freshSession, "fresh-session", false, "authorize: every flow is a new browser that signs in")
	return cmd
}

func (c *cli) runBench(cmd *cobra.Command, scenario string, f benchFlags) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	opts := loadgen.Options{Concurrency: f.concurrency, Requests: f.requests, Duration: f.duration}
	if err := opts.Validate(); err != nil {
		return usageError("%v", err)
	}
	if f.timeout <= 0 {
		return usageError("--timeout must be positive")
	}
	ctx := cmd.Context()
	t, err := loadgen.NewTarget(ctx, f.target, f.concurrency, f.timeout, f.allowRemote)
	if err != nil {
		return usageError("%v", err)
	}
	cr := loadgen.Credentials{ClientID: f.clientID, IntrospectClientID: f.introspectClientID, Username: f.username,
		Scope: f.scope, RedirectURI: f.redirectURI}
	if f.setup {
		if f.clientID != "" || f.clientSecretFile != "" || f.introspectClientID != "" || f.username != "" || f.apiTokenFile != "" {
			return usageError("--setup makes its own clients, user and token: drop the credential flags")
		}
		if cr, err = c.benchSetup(cmd, scenario, cr); err != nil {
			return fmt.Errorf("--setup: %w", err)
		}
	} else {
		for _, s := range []struct {
			file string
			dst  *string
		}{{f.clientSecretFile, &cr.ClientSecret}, {f.introspectSecretFile, &cr.IntrospectClientSecret},
			{f.passwordFile, &cr.Password}, {f.apiTokenFile, &cr.APIToken}} {
			if s.file == "" {
				continue
			}
			if *s.dst, err = readSecretFile(s.file); err != nil {
				return usageError("%v", err)
			}
		}
	}
	sc, err := loadgen.New(scenario, t, cr, f.freshSession)
	if err != nil {
		return usageError("%v", err)
	}
	res, runErr := loadgen.Run(ctx, sc, opts)
	if res == nil {
		return runErr
	}
	res.Scenario, res.Target = scenario, t.Base.String()
	write := res.WriteText
	if f.output == "json" {
		write = res.WriteJSON
	}
	if err := write(c.io.out); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("interrupted: %w", runErr)
	}
	return nil
}

// readSecretFile reads a secret: the file's first line, without the
// newline an editor or `echo` leaves.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s, _, _ := strings.Cut(string(b), "\n")
	s = strings.TrimRight(s, "\r")
	if s == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	return s, nil
}
