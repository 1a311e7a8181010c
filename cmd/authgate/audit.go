package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/audit"
)

func newAuditCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the append-only audit log (token, client, grant and consent events)"}
	cmd.AddCommand(newAuditListCmd(c))
	return cmd
}

func newAuditListCmd(c *cli) *cobra.Command {
	var (
		f      audit.Filter
		output string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events, newest first",
		Long: `List audit events, newest first.

Kinds: token.created|updated|invalidated|expired|deleted|used (subject api_token),
client.created|updated|secret_rotated|disabled|enabled|deleted (subject oauth_client),
oauth.code_replayed|refresh_reused (subject oauth_grant), consent.revoked
(subject oauth_consent, ID "<user_id>:<client_id>"),
user.created|deactivated|activated|admin_granted|admin_revoked|password_set
(subject user, the user's ID). The actor is the user who
caused the event; "-" for the CLI or the system. Data never holds a secret.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if f.Limit < 0 {
				return usageError("--limit must be 0 (no limit) or more")
			}
			f.NewestFirst = true
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				evs, err := audit.List(ctx, a.DB, f)
				if err != nil {
					return err
				}
				if output == "json" {
					return writeJSON(c.io.out, evs)
				}
				actors := actorNames(ctx, a)
				w := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tAT\tKIND\tACTOR\tSUBJECT\tDATA")
				for _, e := range evs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s:%s\t%s\n", e.ID, e.At.UTC().Format(time.RFC3339), e.Kind,
						actors(e.ActorUserID), e.SubjectType, e.SubjectID, compactJSON(e.Data))
				}
				return w.Flush()
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Kind, "kind", "", "only events of this kind, e.g. client.disabled")
	fl.StringVar(&f.SubjectType, "subject-type", "", "only events about this type of subject: api_token, oauth_client, oauth_grant, oauth_consent")
	fl.StringVar(&f.SubjectID, "subject-id", "", "only events about this subject ID (a token ID, client_id, grant ID, …)")
	fl.IntVar(&f.Limit, "limit", 50, "at most this many events; 0 lists all")
	fl.StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

// actorNames returns a lookup that shows an actor as a username, "#ID" for
// a user that no longer exists, or "-" for none; each user is read once.
func actorNames(ctx context.Context, a *app.App) func(*int64) string {
	names := map[int64]string{}
	return func(id *int64) string {
		if id == nil {
			return "-"
		}
		if n, ok := names[*id]; ok {
			return n
		}
		n := fmt.Sprintf("#%d", *id)
		if u, err := a.Users.Get(ctx, *id); err == nil {
			n = u.Username
		}
		names[*id] = n
		return n
	}
}

// compactJSON keeps each event on one line.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
