package quality_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/quality"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func run(t *testing.T, s *store.Store, p crm.Principal, opt quality.Options) quality.Report {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = now
	}
	rep, err := quality.Run(ctx, s, p, opt)
	if err != nil {
		t.Fatalf("Run as %s: %v", p.Role, err)
	}
	return rep
}

func key(entity string, id int64) string { return fmt.Sprintf("%s %d", entity, id) }

func exampleKeys(f quality.Finding) []string {
	var out []string
	for _, e := range f.Examples {
		out = append(out, key(e.Entity, e.ID))
	}
	slices.Sort(out)
	return out
}

// expect is what a check must find: the planted records whose owner passes visible.
func expect(ps []planted, visible func(owner int64) bool) []string {
	var out []string
	for _, p := range ps {
		if visible(p.owner) {
			out = append(out, key(p.entity, p.id))
		}
	}
	slices.Sort(out)
	return out
}

// Every check finds exactly the records planted for it, and nothing else.
func TestChecksFindWhatWasPlanted(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		rep := run(t, s, crm.System, quality.Options{})
		if len(rep.Findings) != len(f.planted) {
			t.Errorf("%d findings, but problems were planted for %d checks", len(rep.Findings), len(f.planted))
		}
		totals := map[quality.Severity]int64{}
		for _, fd := range rep.Findings {
			t.Run(fd.Check, func(t *testing.T) {
				ps, ok := f.planted[fd.Check]
				if !ok {
					t.Fatalf("nothing planted for check %s", fd.Check)
				}
				want := expect(ps, func(int64) bool { return true })
				if fd.Count != int64(len(want)) {
					t.Errorf("count %d, want %d", fd.Count, len(want))
				}
				if got := exampleKeys(fd); !slices.Equal(got, want) {
					t.Errorf("found %v, want %v", got, want)
				}
				for _, e := range fd.Examples {
					if e.Label == "" || e.Detail == "" {
						t.Errorf("example without label or detail: %+v", e)
					}
				}
				if fd.Title == "" || fd.Fix == "" || !slices.Contains(quality.Severities, fd.Severity) {
					t.Errorf("finding lacks title, fix or severity: %+v", fd)
				}
				if fd.Passed {
					t.Errorf("passed, though it found %d", fd.Count)
				}
			})
			totals[fd.Severity] += fd.Count
		}
		for _, sev := range quality.Severities {
			if rep.Totals[sev] != totals[sev] {
				t.Errorf("totals[%s] = %d, want %d", sev, rep.Totals[sev], totals[sev])
			}
		}
		if !rep.GeneratedAt.Equal(now) {
			t.Errorf("generated at %v, want %v", rep.GeneratedAt, now)
		}
	})
}

// A check that finds nothing is passed, whatever its severity; one that
// finds something is not. The test organisation alone has deals and reps but
// none of the planted problems.
func TestPassedChecks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		for _, tc := range []struct {
			name string
			who  crm.Principal
		}{{"ops", crm.System}, {"rep", storetest.As(o.RepA1)}, {"viewer", storetest.As(o.Viewer)}} {
			t.Run(tc.name, func(t *testing.T) {
				rep := run(t, s, tc.who, quality.Options{})
				passed := 0
				for _, fd := range rep.Findings {
					if fd.Passed != (fd.Count == 0) {
						t.Errorf("%s: passed %v with count %d", fd.Check, fd.Passed, fd.Count)
					}
					if fd.Passed {
						passed++
					}
				}
				if passed == 0 || passed == len(rep.Findings) {
					t.Errorf("%d of %d checks passed: want some passed, some not", passed, len(rep.Findings))
				}
				if f := finding(t, rep, "unknown_account"); !f.Passed || f.Severity != quality.SeverityError {
					t.Errorf("unknown_account: %+v, want a passed error check", f)
				}
			})
		}
	})
}

// Managers and reps see the findings about records owned within their scope,
// outliers judged against the deals in that scope (issue 18: the finding
// shows the group's median); a viewer sees the organisation's counts and no
// records.
func TestRoleScoping(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		all := run(t, s, crm.System, quality.Options{})
		ids := func(us ...crm.User) []int64 {
			var out []int64
			for _, u := range us {
				out = append(out, u.ID)
			}
			return out
		}
		dupLeads := func(emails ...string) []string { // duplicate leads are compared within the scope
			var out []string
			for _, p := range f.planted["duplicate_leads"] {
				var email string
				if err := s.DB().QueryRowContext(ctx, `SELECT LOWER(email) FROM leads WHERE id = $1`, p.id).Scan(&email); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(emails, email) {
					out = append(out, key(p.entity, p.id))
				}
			}
			slices.Sort(out)
			return out
		}
		everyoneButVP := ids(f.MgrA, f.MgrB, f.RepA1, f.RepA2, f.RepB)
		for _, tc := range []struct {
			name     string
			who      crm.User
			sees     []int64 // owners whose records are in scope
			dupLeads []string
		}{
			{"rep A1", f.RepA1, ids(f.RepA1), dupLeads("grace@navy.example")},
			{"rep B", f.RepB, ids(f.RepB), nil},
			{"manager A", f.MgrA, ids(f.MgrA, f.RepA1, f.RepA2), dupLeads("grace@navy.example")},
			{"VP", f.VP, append(ids(f.VP), everyoneButVP...), dupLeads("grace@navy.example", "lin@x.example")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rep := run(t, s, storetest.As(tc.who), quality.Options{})
				for _, fd := range rep.Findings {
					want := expect(f.planted[fd.Check], func(owner int64) bool { return slices.Contains(tc.sees, owner) })
					switch fd.Check {
					case "duplicate_leads":
						want = tc.dupLeads
					case "deal_amount_outliers", "product_amount_outliers":
						// judged against the deals in scope: the groups are
						// rep A1's deals, so only a scope with them has one
						want = expect(f.planted[fd.Check], func(owner int64) bool {
							return slices.Contains(tc.sees, owner) && slices.Contains(tc.sees, f.RepA1.ID)
						})
					}
					if got := exampleKeys(fd); fd.Count != int64(len(want)) || !slices.Equal(got, want) {
						t.Errorf("%s: count %d, found %v; want %v", fd.Check, fd.Count, got, want)
					}
				}
			})
		}
		t.Run("viewer", func(t *testing.T) {
			rep := run(t, s, storetest.As(f.Viewer), quality.Options{})
			for i, fd := range rep.Findings {
				if fd.Count != all.Findings[i].Count || len(fd.Examples) != 0 {
					t.Errorf("%s: count %d with %d examples, want %d and none", fd.Check, fd.Count, len(fd.Examples), all.Findings[i].Count)
				}
			}
		})
		t.Run("unknown role", func(t *testing.T) {
			_, err := quality.Run(ctx, s, crm.Principal{UserID: f.RepA1.ID, Role: "intern"}, quality.Options{Now: now})
			if !errors.Is(err, crm.ErrForbidden) {
				t.Errorf("got %v, want ErrForbidden", err)
			}
		})
	})
}

func finding(t *testing.T, rep quality.Report, check string) quality.Finding {
	t.Helper()
	for _, f := range rep.Findings {
		if f.Check == check {
			return f
		}
	}
	t.Fatalf("no finding %s", check)
	return quality.Finding{}
}

func TestOptions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		newFixture(t, s)
		// The two stale deals were last touched 52 and 57 days before now.
		for _, tc := range []struct {
			days  int
			stale int64
		}{{0, 2}, {52, 1}, {60, 0}} {
			f := finding(t, run(t, s, crm.System, quality.Options{StaleDays: tc.days}), "stale_deals")
			if f.Count != tc.stale {
				t.Errorf("StaleDays %d: %d stale deals, want %d", tc.days, f.Count, tc.stale)
			}
			if days := max(tc.days, quality.DefaultStaleDays); !strings.Contains(f.Title, fmt.Sprint(days)) {
				t.Errorf("StaleDays %d: title %q does not say %d days", tc.days, f.Title, days)
			}
		}
		rep := run(t, s, crm.System, quality.Options{OutlierZ: 1000})
		for _, c := range []string{"product_amount_outliers", "deal_amount_outliers"} {
			if n := finding(t, rep, c).Count; n != 0 {
				t.Errorf("OutlierZ 1000: %s found %d", c, n)
			}
		}
		// Next quarter no rep has a quota, and the new rep has started.
		rep = run(t, s, crm.System, quality.Options{Now: now.AddDate(0, 2, 0)})
		if n := finding(t, rep, "reps_without_quota").Count; n != 4 {
			t.Errorf("next quarter: %d reps without quota, want 4", n)
		}
		for _, opt := range []quality.Options{{StaleDays: -1}, {OutlierZ: -2}} {
			if _, err := quality.Run(ctx, s, crm.System, opt); !errors.Is(err, crm.ErrInvalid) {
				t.Errorf("%+v: got %v, want ErrInvalid", opt, err)
			}
		}
	})
}

// Account names are compared without case, punctuation, spaces, a leading
// "the" and trailing legal forms; domains without scheme, "www." and path.
func TestDuplicateAccountMatching(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		for _, tc := range []struct {
			a, b   string // name or, with a "@", domain
			refers bool
		}{
			{"Acme, Inc.", "ACME Incorporated", true},
			{"Acme Co. Ltd", "acme", true},
			{"Müller GmbH & Co. KG", "Müller", true},
			{"The Hooli Group", "Hooli Holdings", true},
			{"A.C.M.E.", "Acme", true},
			{"Sales Force", "Salesforce", true},
			{"Inc", "inc.", true},
			{"Acme Holdings", "Acme Health", false},
			{"Delta Corp", "Delta Dental", false},
			{"Theater Co", "Eater Co", false},
			{"Company Acme", "Acme", false},
			{"@acme.com", "@HTTPS://www.acme.com/contact", true},
			{"@acme.com", "@acme.co", false},
			{"@www2.acme.com:443", "@acme.com", true},
			{"@", "@", false},
		} {
			var ids []int64
			for _, v := range []string{tc.a, tc.b} {
				a := crm.Account{Name: "Some account"}
				if d, ok := strings.CutPrefix(v, "@"); ok {
					a.Domain = d
					a.Name = fmt.Sprintf("Account %d", len(ids))
				} else {
					a.Name = v
				}
				storetest.Must(t, s.Accounts.Create(ctx, crm.System, &a))
				ids = append(ids, a.ID)
			}
			f := finding(t, run(t, s, crm.System, quality.Options{}), "duplicate_accounts")
			if got := f.Count == 2; got != tc.refers {
				t.Errorf("%q and %q: duplicates %v, want %v (%+v)", tc.a, tc.b, got, tc.refers, f.Examples)
			}
			exec(t, s, `DELETE FROM accounts`)
		}
	})
}

// The report of the test organisation, as JSON, is the golden file's.
// The file is the same on every engine. Run with -update to rewrite it.
func TestGoldenReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		compareGolden(t, "report_admin.golden", marshal(t, run(t, s, crm.System, quality.Options{})))
		compareGolden(t, "report_rep.golden", marshal(t, run(t, s, storetest.As(f.RepA1), quality.Options{})))
	})
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the report (run go test -update and review the diff):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the first lines that differ, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

func marshal(t *testing.T, rep quality.Report) []byte {
	t.Helper()
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}
