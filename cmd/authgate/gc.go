package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/sweep"
)

// gcRow is one table of `authgate gc --output json`; Deleted is null in a
// dry run for a table that cannot count what it would delete.
type gcRow struct {
	Table   string `json:"table"`
	Deleted *int   `json:"deleted"`
	DryRun  bool   `json:"dry_run"`
	Error   string `json:"error,omitempty"`
}

func newGCCmd(c *cli) *cobra.Command {
	var (
		dryRun bool
		output string
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete expired rows now (codes, tokens, DPoP proof ids, audit events past audit.retention)",
		Long: `Delete expired rows now, table by table, in batches of gc.batch_size until
none is left, and print how many each table lost. authgate serve does the same
every gc.interval; run this from cron when gc.interval is 0, or after a bulk
change. Audit events are deleted only when audit.retention is set.

--dry-run deletes nothing and prints how many rows would go ("?" for a table
that cannot tell).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				s, err := sweep.New(sweep.Options{
					BatchSize: a.Config.GC.BatchSize, MaxBatches: math.MaxInt32, Logger: a.Logger,
				}, a.GCTables()...)
				if err != nil {
					return err
				}
				var results []sweep.Result
				var runErr error
				if dryRun {
					results, runErr = s.Count(ctx)
				} else {
					results, runErr = s.Once(ctx)
				}
				if err := printGC(c, results, dryRun, output); err != nil {
					return err
				}
				return runErr
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&dryRun, "dry-run", false, "delete nothing; print how many rows would be deleted")
	fl.StringVar(&output, "output", "text", "output format: text or json")
	return cmd
}

func printGC(c *cli, results []sweep.Result, dryRun bool, output string) error {
	rows := make([]gcRow, len(results))
	for i, r := range results {
		rows[i] = gcRow{Table: r.Table, DryRun: dryRun}
		if r.Deleted >= 0 {
			n := r.Deleted
			rows[i].Deleted = &n
		}
		if r.Err != nil {
			rows[i].Error = r.Err.Error()
		}
	}
	if output == "json" {
		return writeJSON(c.io.out, rows)
	}
	head := "DELETED"
	if dryRun {
		head = "WOULD DELETE"
	}
	w := tabwriter.NewWriter(c.io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "TABLE\t%s\n", head)
	for _, r := range rows {
		n := "?"
		if r.Deleted != nil {
			n = strconv.Itoa(*r.Deleted)
		}
		if r.Error != "" {
			n += " (failed: " + r.Error + ")"
		}
		fmt.Fprintf(w, "%s\t%s\n", r.Table, n)
	}
	return w.Flush()
}
