package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/tokens"
)

// maxImportLine bounds one JSON Lines record; a Djblets token is 255
// characters, so 1 MiB leaves room for any policy and extra_data.
const maxImportLine = 1 << 20

func newTokenImportCmd(c *cli) *cobra.Command {
	var file string
	var dryRun, strict bool
	cmd := &cobra.Command{
		Use:   "import --file FILE [--dry-run] [--strict]",
		Short: "Import API tokens exported from Djblets / Review Board (JSON Lines); only digests are stored",
		Long: `Import API tokens exported from Djblets or Review Board. Each line of FILE (- for
standard input) is one JSON object with WebAPIToken's fields: user (username),
token (the raw value), token_generator_id, note, policy (object or JSON text),
extra_data, time_added, last_updated, last_used, expires, valid, invalid_date,
invalid_reason (times RFC 3339; null where Djblets allows it). Blank lines are
ignored. Tokens keep working with their original value: vendor_checksum tokens
of an accepted prefix (tokens.type, tokens.accepted_prefixes) and 40-hex
legacy_sha1 tokens (deprecated). A token already stored is skipped.

A refused line does not stop the others, unless --strict: then nothing is
imported. The exit status is 1 when any line was refused. --dry-run checks
everything and stores nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError("--file is required")
			}
			var in io.Reader = c.io.in
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return usageError("--file: %v", err)
				}
				defer f.Close()
				in = f
			}
			lines, recs, refused, err := readImportFile(in)
			if err != nil {
				return fmt.Errorf("--file %s: %w", file, err)
			}
			return c.withApp(cmd, func(ctx context.Context, a *app.App) error {
				opts := tokens.ImportOptions{DryRun: dryRun || strict && len(refused) > 0, Strict: strict}
				out, err := a.Tokens.Import(ctx, recs, opts)
				if err != nil {
					return err
				}
				return c.importSummary(lines, out, refused, dryRun, strict)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "JSON Lines file to import (- for standard input)")
	f.BoolVar(&dryRun, "dry-run", false, "check every line and report, storing nothing")
	f.BoolVar(&strict, "strict", false, "import nothing when any line is refused")
	return cmd
}

// readImportFile parses every non-blank line. recs[i] came from line
// lines[i]; lines that do not parse are in refused (line → reason).
func readImportFile(in io.Reader) (lines []int, recs []tokens.ImportRecord, refused map[int]string, err error) {
	refused = map[int]string{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), maxImportLine)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		r, perr := tokens.ParseImportLine([]byte(text))
		if perr != nil {
			refused[n] = perr.Error()
			continue
		}
		lines = append(lines, n)
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, nil, fmt.Errorf("line %d is longer than %d bytes", n+1, maxImportLine)
		}
		return nil, nil, nil, err
	}
	return lines, recs, refused, nil
}

// importSummary prints one line per skipped or refused record, in file
// order, then the counts; any refusal makes the exit status 1.
func (c *cli) importSummary(lines []int, out []tokens.ImportOutcome, refused map[int]string, dryRun, strict bool) error {
	var imported, skipped int
	notes := map[int]string{}
	for l, reason := range refused {
		notes[l] = "refused: " + reason
	}
	for i, o := range out {
		switch o.Status {
		case tokens.ImportImported:
			imported++
		case tokens.ImportSkipped:
			skipped++
			notes[lines[i]] = "skipped: " + o.Reason
		case tokens.ImportRefused:
			refused[lines[i]] = o.Reason
			notes[lines[i]] = "refused: " + o.Reason
		}
	}
	last := 0
	for l := range notes {
		last = max(last, l)
	}
	for l := 1; l <= last; l++ {
		if msg, ok := notes[l]; ok {
			fmt.Fprintf(c.io.out, "line %d: %s\n", l, msg)
		}
	}
	verb := "imported"
	switch {
	case dryRun:
		verb = "would import"
	case strict && len(refused) > 0:
		verb = "would have imported (nothing was imported: --strict)"
	}
	fmt.Fprintf(c.io.out, "%s %d, skipped %d, refused %d\n", verb, imported, skipped, len(refused))
	if len(refused) > 0 {
		return &exitError{code: 1}
	}
	return nil
}
