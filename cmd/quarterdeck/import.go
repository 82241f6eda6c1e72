package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/importer"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/spf13/cobra"
)

func (c cli) importCommand() *cobra.Command {
	var format, mapping, rejects string
	var opt importer.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Load CRM exports: Salesforce, HubSpot, or any CSV with a mapping file",
		Long: `Load a folder of CRM export files.

  quarterdeck import --format salesforce ./sfdc-export      User.csv, Account.csv, Opportunity.csv, ...
  quarterdeck import --format hubspot ./hubspot-export      companies, contacts, deals
  quarterdeck import --mapping examples/maven-crm/mapping.yaml ../shared/data/maven-crm

Records are matched by their external id, so importing again updates them and
records changes of stage, amount and close date in the stage history.

By default the import is all or nothing: if any row is invalid nothing is
written, and the error counts the problems of each kind (file, field and
reason, with the first lines), then lists the first 50 as
file:line: field: value: reason (--json: all of them, and the counts).
--skip-invalid writes the valid rows, prints the counts, and writes the
rejected rows (with reasons) to --rejects (default: rejects.csv).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			s, cfg, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			if opt.SkipInvalid && rejects == "" {
				rejects = "rejects.csv"
			}
			opt.RejectsPath = rejects
			opt.Now = time.Now().UTC()
			bar := c.newProgress(cfg.Quiet || asJSON, "importing", "rows", -1)
			opt.Progress = bar.set
			if format == "" && mapping == "" {
				format = detectFormat(dir)
			}
			var res importer.Result
			switch {
			case mapping != "":
				res, err = importer.ImportMapped(cmd.Context(), s, mapping, dir, opt)
			case format == "salesforce":
				res, err = importer.ImportSalesforce(cmd.Context(), s, dir, opt)
			case format == "hubspot":
				res, err = importer.ImportHubSpot(cmd.Context(), s, dir, opt)
			default:
				err = crm.Invalid("import", "format", fmt.Sprintf("%q: give --format salesforce or hubspot, or --mapping FILE", format))
			}
			bar.done()
			scored, scoreErr := rescoreImported(cmd, s, res, err)
			if scoreErr != nil {
				return fmt.Errorf("the import is stored, but scoring its leads failed (run quarterdeck leads score): %w", scoreErr)
			}
			var routed int
			if err == nil && res.Committed && res.PerEntity["leads"] > 0 {
				if routed, err = routing.AssignUnowned(cmd.Context(), s, crm.System, time.Now().UTC()); err != nil {
					return fmt.Errorf("the import is stored, but routing its new leads failed after %d (run quarterdeck leads assign): %w", routed, err)
				}
			}
			if asJSON && (err == nil || errors.Is(err, crm.ErrInvalid)) && res.Source != "" {
				if encErr := writeJSON(c.stdout, res); encErr != nil {
					return encErr
				}
			} else if err == nil {
				fmt.Fprintln(c.stdout, res.Summary())
				if len(res.ProblemSummary) > 0 {
					fmt.Fprintln(c.stdout, "problems by file, field and reason:")
					for _, g := range res.ProblemSummary {
						fmt.Fprintln(c.stdout, "  "+g.String())
					}
				}
				if res.Rejected > 0 && rejects != "" {
					fmt.Fprintf(c.stdout, "rejected rows and reasons: %s\n", rejects)
				}
				if scored > 0 {
					fmt.Fprintf(c.stdout, "%d leads scored again with the active scoring models\n", scored)
				}
				if routed > 0 {
					fmt.Fprintf(c.stdout, "%d new leads without an owner routed by the active rule set\n", routed)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "salesforce or hubspot (default: detected from the file names)")
	f.StringVar(&mapping, "mapping", "", "YAML mapping file for any CSV files")
	f.BoolVar(&opt.SkipInvalid, "skip-invalid", false, "write the valid rows; put rejected ones in --rejects")
	f.StringVar(&rejects, "rejects", "", "CSV file for rejected rows (with --skip-invalid; default rejects.csv)")
	f.BoolVar(&opt.CreateMissing, "create-missing", false, "create stub records for unknown references instead of rejecting rows")
	f.BoolVar(&opt.DryRun, "dry-run", false, "check everything, store nothing")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// rescoreImported scores every lead again when an import stored leads or
// lead events, so scores follow imports as they follow API writes.
func rescoreImported(cmd *cobra.Command, s *store.Store, res importer.Result, importErr error) (int64, error) {
	if importErr != nil || !res.Committed || res.PerEntity["leads"]+res.PerEntity["lead_events"] == 0 {
		return 0, nil
	}
	return leads.RescoreAll(cmd.Context(), s, crm.System, time.Now().UTC())
}

// detectFormat guesses the export from its file names.
func detectFormat(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		name := strings.ToLower(e.Name())
		switch {
		case name == "opportunity.csv" || name == "account.csv":
			return "salesforce"
		case strings.HasPrefix(name, "deals") || strings.HasPrefix(name, "companies") || strings.HasPrefix(filepath.Base(name), "hubspot"):
			return "hubspot"
		}
	}
	return ""
}
