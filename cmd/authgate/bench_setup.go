package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/loadgen"
)

// benchRedirectURI is the redirect URI --setup registers. The generator
// stops the flow at the redirect and never connects to it.
const benchRedirectURI = "http://127.0.0.1/authgate-bench/callback"

// benchUser is the user --setup creates (or whose password it resets).
const benchUser = "authgate-bench"

// benchSetup creates what scenario needs by running this CLI's own
// commands in-process (user create, client create, token create) with the
// caller's --config, --database-url and environment, so they write to the
// database of the server under test: the same file with SQLite, the same
// database with PostgreSQL. Secrets stay in memory.
func (c *cli) benchSetup(cmd *cobra.Command, scenario string, cr loadgen.Credentials) (loadgen.Credentials, error) {
	ctl := func(stdin string, args ...string) (string, error) {
		if c.configFile != "" {
			args = append(args, "--config", c.configFile)
		}
		if c.databaseURL != "" {
			args = append(args, "--database-url", c.databaseURL)
		}
		var out, errOut bytes.Buffer
		code := run(cmd.Context(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errOut, environ: c.io.environ})
		if code != 0 {
			return "", fmt.Errorf("authgate %s: %s", strings.Join(args[:2], " "), strings.TrimSpace(errOut.String()))
		}
		return out.String(), nil
	}
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	createClient := func(args ...string) (id, secret string, err error) {
		out, err := ctl("", append([]string{"client", "create", "--output", "json"}, args...)...)
		if err != nil {
			return "", "", err
		}
		if err := json.Unmarshal([]byte(out), &client); err != nil || client.Secret == "" {
			return "", "", fmt.Errorf("client create: unexpected output (%v)", err)
		}
		return client.ID, client.Secret, nil
	}
	needUser := scenario == "refresh" || scenario == "authorize" || scenario == "api-token"
	if needUser {
		cr.Username, cr.Password = benchUser, rand.Text()
		if _, err := ctl(cr.Password+"\n", "user", "create", benchUser, "--password-stdin"); err != nil {
			if !strings.Contains(err.Error(), "already exists") {
				return cr, err
			}
			// A user from an earlier run: give it this run's password.
			if _, err := ctl(cr.Password+"\n", "user", "passwd", benchUser, "--password-stdin"); err != nil {
				return cr, err
			}
			if _, err := ctl("", "user", "activate", benchUser); err != nil {
				return cr, err
			}
		}
	}
	var err error
	switch scenario {
	case "api-token":
		out, err := ctl("", "token", "create", "--user", benchUser, "--note", "authgate bench", "--output", "json")
		if err != nil {
			return cr, err
		}
		var v struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.Token == "" {
			return cr, fmt.Errorf("token create: unexpected output (%v)", err)
		}
		cr.APIToken = v.Token
		fmt.Fprintf(c.io.err, "bench --setup: API token for user %s\n", benchUser)
		return cr, nil
	case "introspect":
		// authgate lets a resource server introspect any token.
		if cr.IntrospectClientID, cr.IntrospectClientSecret, err = createClient("--name", "authgate bench (resource server)",
			"--resource-server"); err != nil {
			return cr, err
		}
	}
	args := []string{"--name", "authgate bench", "--grant", "client_credentials,authorization_code,refresh_token",
		"--redirect-uri", cr.RedirectURI}
	if cr.Scope != "" {
		args = append(args, "--scope", strings.ReplaceAll(cr.Scope, " ", ","))
	}
	cr.ClientID, cr.ClientSecret, err = createClient(args...)
	if err == nil {
		fmt.Fprintf(c.io.err, "bench --setup: client %s", cr.ClientID)
		if cr.IntrospectClientID != "" {
			fmt.Fprintf(c.io.err, ", resource server %s", cr.IntrospectClientID)
		}
		if needUser {
			fmt.Fprintf(c.io.err, ", user %s", benchUser)
		}
		fmt.Fprintln(c.io.err)
	}
	return cr, err
}
