package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db"
)

func newKeyCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage the JWT signing keys shared by every instance"}
	cmd.AddCommand(newKeyRotateCmd(c), newKeyListCmd(c), newKeyEncryptCmd(c))
	return cmd
}

func newKeyRotateCmd(c *cli) *cobra.Command {
	var (
		alg        string
		activateIn time.Duration
		output     string
		idToken    bool
	)
	cmd := &cobra.Command{
		Use:   "rotate [--alg EdDSA|RS256|ES256] [--activate-in DURATION] [--id-token]",
		Short: "Add a signing key: published in the JWKS at once, signing after --activate-in",
		Long: "rotate adds a new signing key. It is published in the JWKS immediately and starts signing\n" +
			"access tokens after --activate-in (default oauth.key_publish_delay), so resource servers that\n" +
			"cache the JWKS learn it first. The previous key stays published until its last token expires.\n" +
			"Running servers on the same PostgreSQL database are told at once (NOTIFY authgate_invalidate)\n" +
			"and publish the key immediately; a server on SQLite picks it up within 30 seconds.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if activateIn < 0 {
				return usageError("--activate-in must not be negative")
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				set := a.OAuth.Settings()
				if alg == "" {
					alg = set.SigningAlg
				}
				if !cmd.Flags().Changed("activate-in") {
					activateIn = set.KeyPublishDelay
				}
				purpose := signing.PurposeAccess
				if idToken {
					// OpenID Connect's ID-token keys rotate apart from the
					// access-token key (docs/openid-connect.md, "Signing keys").
					purpose = signing.PurposeIDToken
					if !cmd.Flags().Changed("alg") {
						alg = signing.AlgRS256
					}
				}
				info, err := a.OAuth.Keys.RotateFor(ctx, purpose, alg, activateIn)
				if err != nil {
					return err
				}
				if output == "json" {
					return writeJSON(c.io.out, info)
				}
				fmt.Fprintf(c.io.out, "Added %s key %s: published now, signs from %s.\n", info.Alg, info.KID,
					info.ActivatesAt.UTC().Format(time.RFC3339))
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&alg, "alg", "", "algorithm: EdDSA, RS256 or ES256 (default oauth.signing_alg)")
	f.DurationVar(&activateIn, "activate-in", 0, "how long to publish the key before it signs (default oauth.key_publish_delay)")
	f.StringVar(&output, "output", "text", "output format: text or json")
	f.BoolVar(&idToken, "id-token", false, "rotate the OpenID Connect ID-token key of --alg (default RS256) instead of the access-token key")
	return cmd
}

func newKeyListCmd(c *cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List signing keys and their state (pending, active, retired, expired)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				keys, err := a.OAuth.Keys.List(ctx)
				if err != nil {
					return err
				}
				if output == "json" {
					if keys == nil {
						keys = []signing.KeyInfo{}
					}
					return writeJSON(c.io.out, keys)
				}
				w := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "KID\tALG\tPURPOSE\tSTATE\tCREATED\tSIGNS FROM\tPUBLISHED UNTIL")
				for _, k := range keys {
					until := "-"
					if k.PublishedUntil != nil {
						until = k.PublishedUntil.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.Purpose, k.State, k.CreatedAt.UTC().Format(time.RFC3339),
						k.ActivatesAt.UTC().Format(time.RFC3339), until)
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func newKeyEncryptCmd(c *cli) *cobra.Command {
	var previousFile, output string
	cmd := &cobra.Command{
		Use:   "encrypt [--previous-key-file FILE]",
		Short: "Encrypt the stored signing keys with the configured key-encryption key",
		Long: "encrypt seals every signing key stored as PEM with the key-encryption key configured in\n" +
			"oauth.key_encryption_key_file or AUTHGATE_OAUTH__KEY_ENCRYPTION_KEY (AES-256-GCM). With\n" +
			"--previous-key-file (or oauth.previous_key_encryption_key_file) it also re-seals keys encrypted\n" +
			"with that earlier key-encryption key, to replace it. Keys already sealed with the current key are left alone; the kids and the JWKS do\n" +
			"not change. Configure the key-encryption key on every instance before running it: an instance\n" +
			"without it cannot load the keys any more.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := c.config()
			if err != nil {
				return err
			}
			kek, previous, err := cfg.OAuth.KeyEncryptionKeys()
			if err != nil {
				return err
			}
			if kek == nil {
				return usageError("no key-encryption key configured: set oauth.key_encryption_key_file or AUTHGATE_OAUTH__KEY_ENCRYPTION_KEY")
			}
			if previousFile != "" {
				if previous, err = configs.ReadKEKFile(previousFile); err != nil {
					return err
				}
			}
			// The table directly, not the App: the App loads every key, which
			// fails while some are sealed with the previous key.
			d, err := db.Open(cmd.Context(), cfg.Database.URL)
			if err != nil {
				return err
			}
			defer d.Close()
			res, err := signing.EncryptKeys(cmd.Context(), d, kek, previous)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(c.io.out, res)
			}
			fmt.Fprintf(c.io.out, "Encrypted %d signing key(s), re-encrypted %d from the previous key-encryption key, %d already encrypted.\n",
				res.Encrypted, res.Rewrapped, res.Unchanged)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&previousFile, "previous-key-file", "", "file holding the key-encryption key being replaced (default oauth.previous_key_encryption_key_file)")
	f.StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}
