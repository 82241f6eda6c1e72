package importer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const hostileMapping = `source: hostile test
defaults:
  currency: USD
files:
  - file: reps.csv
    entity: user
    email_domain: example.com
    columns:
      name: rep
  - file: deals.csv
    entity: opportunity
    columns:
      external_id: Deal ID
      name: Deal
      account: {column: Company, match: name, create_missing: true}
      owner: {column: Rep, match: name}
      stage: Stage
      amount: Amount
      created_at: Created
`

// TestHostileFilesAreRefused (issue 18, finding 8): text no other writer
// may store is refused row by row, naming the field, with nothing stored;
// a stub account gets the same limits as any account; a file that is a link
// out of the data folder, or a path leaving it, is never read.
func TestHostileFilesAreRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		huge := strings.Repeat("A", 2<<20)
		dir := writeFiles(t, map[string]string{
			"mapping.yaml": hostileMapping,
			"reps.csv":     "rep\nAnn Smith\n",
			"deals.csv": "Deal ID,Deal,Company,Rep,Stage,Amount,Created\n" +
				"D1,Fine,Acme,Ann Smith,Prospecting,100,2024-01-05\n" + // line 2
				"D2,Nul\x00name,Acme,Ann Smith,Prospecting,100,2024-01-05\n" + // line 3
				"D3,Huge account," + huge + ",Ann Smith,Prospecting,100,2024-01-05\n" + // line 4
				"D4,Bad \xff\xfe text,Acme,Ann Smith,Prospecting,100,2024-01-05\n", // line 5
		})
		_, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{})
		var ie *Error
		if !errors.As(err, &ie) {
			t.Fatalf("want *Error, got %v", err)
		}
		var got []string
		for _, p := range ie.Problems {
			got = append(got, p.String())
		}
		want := []string{
			`deals.csv:3: Deal: Nul\0name: holds a NUL byte`,
			"deals.csv:4: Company: " + strings.Repeat("A", 60) + "…: is longer than 1000 characters",
			"deals.csv:5: not valid UTF-8 (save the file as UTF-8)",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, table := range []string{"users", "accounts", "opportunities"} {
			if n := count(t, s, `SELECT COUNT(*) FROM `+table); n != 0 {
				t.Errorf("%s: %d rows after a refused import", table, n)
			}
		}

		secret := filepath.Join(t.TempDir(), "secret.csv")
		if err := os.WriteFile(secret, []byte("top secret first line\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for name, setup := range map[string]func(dir string) string{
			"a link out of the folder": func(dir string) string {
				if err := os.Symlink(secret, filepath.Join(dir, "reps.csv")); err != nil {
					t.Fatal(err)
				}
				return "reps.csv"
			},
			"a path leaving the folder": func(string) string { return "../" + filepath.Base(filepath.Dir(secret)) + "/secret.csv" },
			"an absolute path":          func(string) string { return secret },
		} {
			t.Run(name, func(t *testing.T) {
				dir := writeFiles(t, map[string]string{"deals.csv": "Deal ID\n"})
				file := setup(dir)
				mapping := strings.Replace(hostileMapping, "file: reps.csv", "file: "+file, 1)
				if err := os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte(mapping), 0o644); err != nil {
					t.Fatal(err)
				}
				_, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{})
				if err == nil || !errors.Is(err, crm.ErrInvalid) || strings.Contains(err.Error(), "top secret") ||
					!strings.Contains(err.Error(), "the data folder") {
					t.Errorf("want a refusal that reads nothing, got %v", err)
				}
			})
		}
	})
}
