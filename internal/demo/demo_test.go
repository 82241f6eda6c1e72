package demo

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

// testNow is "today" of the test demos: the middle of a fiscal quarter.
var testNow = time.Date(2026, 5, 14, 16, 30, 0, 0, time.UTC)

// The same as SQL literals both engines read.
var (
	nowSQL   = "TIMESTAMP '" + testNow.Format("2006-01-02 15:04:05") + "'"
	todaySQL = "DATE '" + testNow.Format("2006-01-02") + "'"
)

func decimalOf(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// testConfig is the small size at a fixed day.
func testConfig(seed int64) Config {
	cfg, err := SizeConfig("small")
	if err != nil {
		panic(err)
	}
	cfg.Seed, cfg.Now = seed, testNow
	return cfg
}

func generate(t testing.TB, s *store.Store, cfg Config) Summary {
	t.Helper()
	sum, err := Generate(context.Background(), s, cfg)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return sum
}

// one runs a query that returns one number.
func one(t testing.TB, s *store.Store, query string, args ...any) float64 {
	t.Helper()
	var v sql.NullFloat64
	if err := s.DB().QueryRowContext(context.Background(), query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v.Float64
}

// TestGenerate checks the invariants and the realism of a small demo on
// every engine. The expected ranges are what a sales ops analyst would
// call believable; the values are computed from the data.
func TestGenerate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cfg := testConfig(42)
		sum := generate(t, s, cfg)

		t.Run("counts", func(t *testing.T) {
			for table, n := range sum.Counts {
				if got := int64(one(t, s, "SELECT COUNT(*) FROM "+table)); got != n {
					t.Errorf("%s: summary says %d rows, table has %d", table, n, got)
				}
			}
			if sum.Counts["opportunities"] != int64(cfg.Opportunities) || sum.Counts["activities"] != int64(cfg.Activities) {
				t.Errorf("asked for %d deals and %d activities, got %v", cfg.Opportunities, cfg.Activities, sum.Counts)
			}
			for _, table := range []string{"accounts", "contacts", "leads", "lead_events", "line_items", "opportunity_history", "quotas", "costs", "exchange_rates", "products"} {
				if sum.Counts[table] == 0 {
					t.Errorf("no %s", table)
				}
			}
		})

		t.Run("references", func(t *testing.T) {
			checks := map[string]string{
				"deal without account":        `SELECT COUNT(*) FROM opportunities o WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = o.account_id)`,
				"deal without owner":          `SELECT COUNT(*) FROM opportunities o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.owner_id AND u.role = 'rep')`,
				"contact without account":     `SELECT COUNT(*) FROM contacts c WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = c.account_id)`,
				"history without deal":        `SELECT COUNT(*) FROM opportunity_history h WHERE NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.id = h.opportunity_id)`,
				"line item without product":   `SELECT COUNT(*) FROM line_items l WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = l.product_id) OR NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.id = l.opportunity_id)`,
				"event without lead":          `SELECT COUNT(*) FROM lead_events e WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = e.lead_id)`,
				"activity without owner":      `SELECT COUNT(*) FROM activities a WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.owner_id)`,
				"activity with bad deal":      `SELECT COUNT(*) FROM activities a WHERE a.opportunity_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.id = a.opportunity_id AND o.account_id = a.account_id)`,
				"activity with bad contact":   `SELECT COUNT(*) FROM activities a WHERE a.contact_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = a.contact_id AND c.account_id = a.account_id)`,
				"activity with bad lead":      `SELECT COUNT(*) FROM activities a WHERE a.lead_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = a.lead_id)`,
				"converted lead without deal": `SELECT COUNT(*) FROM leads l WHERE (l.status = 'converted') <> (l.converted_opportunity_id IS NOT NULL) OR (l.converted_opportunity_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.id = l.converted_opportunity_id AND o.created_at = l.converted_at))`,
				"quota without owner":         `SELECT COUNT(*) FROM quotas q WHERE (q.user_id IS NULL) = (q.team_id IS NULL) OR (q.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = q.user_id)) OR (q.team_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = q.team_id))`,
				"rep outside a team":          `SELECT COUNT(*) FROM users u WHERE u.role = 'rep' AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = u.team_id AND t.manager_id = u.manager_id)`,
			}
			for name, q := range checks {
				if n := one(t, s, q); n != 0 {
					t.Errorf("%s: %v rows", name, n)
				}
			}
		})

		t.Run("history", func(t *testing.T) {
			// Every deal's history starts at its creation and ends in its
			// current state; closed deals close on or after the day they were created.
			q := `WITH h AS (SELECT opportunity_id, changed_at, stage, amount, expected_close,
				ROW_NUMBER() OVER (PARTITION BY opportunity_id ORDER BY changed_at, id) AS first_n,
				ROW_NUMBER() OVER (PARTITION BY opportunity_id ORDER BY changed_at DESC, id DESC) AS last_n FROM opportunity_history)
				SELECT COUNT(*) FROM opportunities o
				LEFT JOIN h f ON f.opportunity_id = o.id AND f.first_n = 1
				LEFT JOIN h l ON l.opportunity_id = o.id AND l.last_n = 1
				WHERE f.changed_at IS NULL OR f.changed_at <> o.created_at OR l.stage <> o.stage OR l.amount <> o.amount
				   OR l.expected_close <> o.expected_close OR l.changed_at <> o.updated_at`
			if n := one(t, s, q); n != 0 {
				t.Errorf("%v deals whose history does not run from creation to their current state", n)
			}
			bad := `SELECT COUNT(*) FROM opportunities WHERE (is_closed AND (closed_at IS NULL OR closed_at < CAST(created_at AS DATE)))
				OR (NOT is_closed AND closed_at IS NOT NULL) OR (is_won AND NOT is_closed) OR (is_closed AND NOT is_won AND loss_reason = '')
				OR (stage = 'Closed Won') <> is_won OR (stage IN ('Closed Won', 'Closed Lost')) <> is_closed
				OR created_at > ` + nowSQL + ` OR updated_at > ` + nowSQL + ` OR closed_at > ` + nowSQL
			if n := one(t, s, bad); n != 0 {
				t.Errorf("%v deals with inconsistent close fields", n)
			}
			if n := one(t, s, `SELECT COUNT(*) FROM opportunity_history h JOIN opportunities o ON o.id = h.opportunity_id WHERE h.changed_at < o.created_at OR h.changed_at > `+nowSQL); n != 0 {
				t.Errorf("%v history rows outside their deal's life", n)
			}
			// Deals slip: many change their expected close before closing.
			slipped := one(t, s, `SELECT AVG(CASE WHEN n > 1 THEN 1.0 ELSE 0 END) FROM (SELECT o.id, COUNT(DISTINCT h.expected_close) AS n
				FROM opportunities o JOIN opportunity_history h ON h.opportunity_id = o.id AND h.stage NOT IN ('Closed Won', 'Closed Lost')
				WHERE o.is_closed GROUP BY o.id) x`)
			if slipped < 0.2 || slipped > 0.8 {
				t.Errorf("%.2f of closed deals had their close date pushed; want 0.2–0.8", slipped)
			}
			stale := one(t, s, `SELECT COUNT(*) FROM opportunities WHERE NOT is_closed AND expected_close < `+todaySQL)
			open := one(t, s, `SELECT COUNT(*) FROM opportunities WHERE NOT is_closed`)
			if open < 0.02*float64(cfg.Opportunities) || stale == 0 || stale > open/3 {
				t.Errorf("%v open deals, %v of them past their close date", open, stale)
			}
		})

		t.Run("conversion and cycle", func(t *testing.T) {
			win := one(t, s, `SELECT AVG(CASE WHEN is_won THEN 1.0 ELSE 0 END) FROM opportunities WHERE is_closed`)
			winNew := one(t, s, `SELECT AVG(CASE WHEN is_won THEN 1.0 ELSE 0 END) FROM opportunities WHERE is_closed AND deal_type = 'new'`)
			winRenewal := one(t, s, `SELECT AVG(CASE WHEN is_won THEN 1.0 ELSE 0 END) FROM opportunities WHERE is_closed AND deal_type = 'renewal'`)
			if win < 0.15 || win > 0.5 || winNew < 0.1 || winNew > 0.35 || winRenewal < 0.7 || winRenewal > 0.97 {
				t.Errorf("win rates: all %.2f, new business %.2f, renewals %.2f", win, winNew, winRenewal)
			}
			// Median days to a won close, and median won amount, by segment:
			// bigger customers buy more and take longer.
			cycle, size := map[string]float64{}, map[string]float64{}
			for _, seg := range []string{"SMB", "Mid-market", "Enterprise"} {
				var days, amounts []float64
				for _, r := range numbers(t, s, `SELECT o.closed_at, o.created_at, o.amount FROM opportunities o JOIN accounts a ON a.id = o.account_id
					WHERE o.is_won AND o.deal_type = 'new' AND o.currency = 'USD' AND a.segment = $1`, seg) {
					days = append(days, (r[0]-r[1])/86400)
					amounts = append(amounts, r[2])
				}
				cycle[seg], size[seg] = median(days), median(amounts)
			}
			if !(cycle["SMB"] < cycle["Mid-market"] && cycle["Mid-market"] < cycle["Enterprise"]) || cycle["SMB"] < 10 || cycle["SMB"] > 60 || cycle["Enterprise"] < 60 || cycle["Enterprise"] > 300 {
				t.Errorf("median won cycle in days by segment: %v", cycle)
			}
			if !(size["SMB"] < size["Mid-market"] && size["Mid-market"] < size["Enterprise"]) || size["SMB"] < 3000 || size["Enterprise"] > 2_000_000 {
				t.Errorf("median won amount by segment: %v", size)
			}
			// Conversion falls at every stage: more deals reach Qualification than Proposal, and so on.
			var reached []float64
			for _, st := range []string{"Qualification", "Proposal", "Negotiation", "Closed Won"} {
				reached = append(reached, one(t, s, `SELECT COUNT(DISTINCT opportunity_id) FROM opportunity_history WHERE stage = $1`, st))
			}
			if !slices.IsSortedFunc(reached, func(a, b float64) int { return int(b - a) }) {
				t.Errorf("deals reaching Qualification, Proposal, Negotiation, Won: %v", reached)
			}
		})

		t.Run("seasonality", func(t *testing.T) {
			// Won deals bunch up in the last two weeks of a quarter (15% of the days).
			var late, all int
			cal, err := s.Calendar(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range numbers(t, s, `SELECT closed_at FROM opportunities WHERE is_won`) {
				closed := time.Unix(int64(r[0]), 0).UTC()
				if cal.PeriodOf(closed, crm.GrainQuarter).End.Sub(closed) <= 14*24*time.Hour {
					late++
				}
				all++
			}
			if share := float64(late) / float64(all); share < 0.25 || share > 0.7 {
				t.Errorf("%.2f of won deals closed in the last two weeks of their quarter; want 0.25–0.7", share)
			}
		})

		t.Run("activities", func(t *testing.T) {
			perDeal := func(cond string) float64 {
				return one(t, s, `SELECT AVG(COALESCE(n, 0)) FROM opportunities o LEFT JOIN (SELECT opportunity_id, COUNT(*) AS n FROM activities GROUP BY opportunity_id) a
					ON a.opportunity_id = o.id WHERE `+cond)
			}
			won, lost := perDeal("o.is_won"), perDeal("o.is_closed AND NOT o.is_won")
			if won < 1.5*lost {
				t.Errorf("activities per deal: won %.1f, lost %.1f; want more on deals that win", won, lost)
			}
			if n := one(t, s, `SELECT COUNT(*) FROM activities a JOIN opportunities o ON o.id = a.opportunity_id WHERE a.occurred_at < o.created_at OR a.occurred_at > `+nowSQL); n != 0 {
				t.Errorf("%v activities outside their deal's life", n)
			}
			for _, kind := range crm.ActivityKinds {
				if n := one(t, s, `SELECT COUNT(*) FROM activities WHERE kind = $1`, string(kind)); n == 0 {
					t.Errorf("no %s activities", kind)
				}
			}
			if n := one(t, s, `SELECT COUNT(*) FROM activities WHERE duration_minutes < 0 OR duration_minutes > 180 OR (kind IN ('meeting', 'demo') AND duration_minutes < 30)`); n != 0 {
				t.Errorf("%v activities with implausible durations", n)
			}
		})

		t.Run("leads", func(t *testing.T) {
			// Response time: a few within 5 minutes, a median of minutes to hours.
			var delays []float64
			within5 := 0
			for _, r := range numbers(t, s, `SELECT first_response_at, created_at FROM leads WHERE first_response_at IS NOT NULL`) {
				d := r[0] - r[1]
				if d < 0 {
					t.Fatalf("a response before the lead was created")
				}
				if d <= 300 {
					within5++
				}
				delays = append(delays, d)
			}
			share := float64(within5) / float64(len(delays))
			med := median(delays) / 60
			if share < 0.03 || share > 0.4 || med < 10 || med > 24*60 {
				t.Errorf("lead response: %.2f within 5 minutes, median %.0f minutes", share, med)
			}
			conv := one(t, s, `SELECT AVG(CASE WHEN status = 'converted' THEN 1.0 ELSE 0 END) FROM leads`)
			if conv < 0.1 || conv > 0.4 {
				t.Errorf("lead conversion %.2f", conv)
			}
			if n := one(t, s, `SELECT COUNT(*) FROM leads l WHERE l.first_response_at IS NOT NULL AND NOT EXISTS
				(SELECT 1 FROM activities a WHERE a.lead_id = l.id AND a.occurred_at = l.first_response_at)`); n != 0 {
				t.Errorf("%v leads whose first response is not an activity", n)
			}
		})

		t.Run("accounts", func(t *testing.T) {
			if n := one(t, s, `SELECT COUNT(*) FROM accounts WHERE country <> 'US' OR state = '' OR city = '' OR latitude < 18 OR latitude > 72
				OR longitude < -180 OR longitude > -65 OR employees <= 0 OR annual_revenue <= 0 OR segment NOT IN ('SMB', 'Mid-market', 'Enterprise')
				OR (segment = 'SMB' AND employees >= 200) OR (segment = 'Enterprise' AND employees < 2000)`); n != 0 {
				t.Errorf("%v accounts with implausible facts", n)
			}
			// Placed by population: more accounts in California than in Wyoming.
			if ca, wy := one(t, s, `SELECT COUNT(*) FROM accounts WHERE state = 'CA'`), one(t, s, `SELECT COUNT(*) FROM accounts WHERE state = 'WY'`); ca <= 5*wy {
				t.Errorf("accounts in CA %v, WY %v", ca, wy)
			}
			if n := one(t, s, `SELECT COUNT(*) FROM (SELECT name FROM accounts GROUP BY name HAVING COUNT(*) > 1) x`); n != 0 {
				t.Errorf("%v account names used twice", n)
			}
		})

		t.Run("money", func(t *testing.T) {
			// Line items add up to the amount of every deal that got past qualification.
			q := `SELECT COUNT(*) FROM opportunities o JOIN (SELECT opportunity_id, SUM(total_price) AS total FROM line_items GROUP BY opportunity_id) l
				ON l.opportunity_id = o.id WHERE o.stage IN ('Negotiation', 'Closed Won') AND l.total <> o.amount`
			if n := one(t, s, q); n != 0 {
				t.Errorf("%v deals whose line items do not add up", n)
			}
			if n := one(t, s, `SELECT COUNT(*) FROM line_items WHERE total_price <> quantity * unit_price`); n != 0 {
				t.Errorf("%v line items with a wrong total", n)
			}
			for _, cur := range []string{"EUR", "GBP"} {
				if n := one(t, s, `SELECT COUNT(*) FROM opportunities WHERE currency = $1`, cur); n == 0 {
					t.Errorf("no deals in %s", cur)
				}
			}
			rates, err := s.RateTable(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, cur := range []string{"EUR", "GBP"} {
				r, err := rates.RateOn(cur, testNow)
				if err != nil || r.LessThan(decimalOf("0.8")) || r.GreaterThan(decimalOf("1.6")) {
					t.Errorf("%s rate today: %v %v", cur, r, err)
				}
			}
			// Every rep employed in the current quarter has a quota for it, and teams have theirs.
			cal, _ := s.Calendar(ctx)
			period := cal.PeriodOf(testNow, crm.GrainQuarter).String()
			if n := one(t, s, `SELECT COUNT(*) FROM users u WHERE u.role = 'rep' AND u.active AND NOT EXISTS (SELECT 1 FROM quotas q WHERE q.user_id = u.id AND q.period = $1)`, period); n != 0 {
				t.Errorf("%v active reps without a quota for %s", n, period)
			}
			if n := one(t, s, `SELECT COUNT(*) FROM teams t WHERE NOT EXISTS (SELECT 1 FROM quotas q WHERE q.team_id = t.id AND q.period = $1)`, period); n != 0 {
				t.Errorf("%v teams without a quota for %s", n, period)
			}
			// Costs for every month of the history, in both categories.
			months := one(t, s, `SELECT COUNT(DISTINCT period) FROM costs`)
			if n := one(t, s, `SELECT COUNT(*) FROM costs`); n != 2*months || months < 36 {
				t.Errorf("%v cost rows over %v months", n, months)
			}
		})

		t.Run("logins", func(t *testing.T) {
			roles := map[crm.Role]bool{}
			for _, l := range sum.Logins {
				u, err := s.Authenticate(ctx, l.Email, l.Password)
				if err != nil {
					t.Errorf("login %s: %v", l.Email, err)
					continue
				}
				if u.Role != l.Role || u.Name != l.Name || l.Sees == "" {
					t.Errorf("login %s: user %+v, login %+v", l.Email, u, l)
				}
				roles[l.Role] = true
				if _, err := s.Authenticate(ctx, l.Email, l.Password+"x"); !errors.Is(err, store.ErrBadCredentials) {
					t.Errorf("login %s with a wrong password: %v", l.Email, err)
				}
			}
			for _, r := range []crm.Role{crm.RoleAdmin, crm.RoleManager, crm.RoleRep, crm.RoleViewer} {
				if !roles[r] {
					t.Errorf("no %s login", r)
				}
			}
		})

		t.Run("visibility", func(t *testing.T) {
			for _, l := range sum.Logins {
				u, err := s.UserByEmail(ctx, l.Email)
				if err != nil {
					t.Fatal(err)
				}
				p := crm.Principal{UserID: u.ID, Role: u.Role}
				var want string
				switch {
				case u.Role == crm.RoleRep:
					want = `SELECT id FROM opportunities WHERE owner_id = $1 ORDER BY id`
				case u.Role == crm.RoleManager && u.TeamID != nil && !isTop(t, s, u):
					// A first-line manager: the deals of the team they manage.
					want = `SELECT o.id FROM opportunities o JOIN users r ON r.id = o.owner_id JOIN teams t ON t.id = r.team_id
						WHERE t.manager_id = $1 ORDER BY o.id`
				default:
					continue
				}
				got := visibleDeals(t, s, p)
				exp := ids(t, s, want, u.ID)
				if len(exp) == 0 || !slices.Equal(got, exp) {
					t.Errorf("%s %s sees %d deals, want the %d of their own scope", u.Role, u.Email, len(got), len(exp))
				}
			}
		})

		t.Run("fresh database only", func(t *testing.T) {
			if _, err := Generate(ctx, s, cfg); !errors.Is(err, crm.ErrInvalid) {
				t.Errorf("a second Generate into the same store: %v, want ErrInvalid", err)
			}
		})
	})
}

// isTop reports whether a manager manages a team with other teams below it.
func isTop(t testing.TB, s *store.Store, u *crm.User) bool {
	return one(t, s, `SELECT COUNT(*) FROM teams c JOIN teams p ON p.id = c.parent_id WHERE p.manager_id = $1`, u.ID) > 0
}

// visibleDeals lists, page by page, the deals the principal sees through the store.
func visibleDeals(t testing.TB, s *store.Store, p crm.Principal) []int64 {
	var out []int64
	var after int64
	for {
		page, err := s.Opportunities.List(context.Background(), p, store.ListQuery{After: after, Limit: store.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Items {
			out = append(out, o.ID)
		}
		if page.Next == 0 {
			return out
		}
		after = page.Next
	}
}

func ids(t testing.TB, s *store.Store, query string, args ...any) []int64 {
	rows, err := s.DB().QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// numbers reads every row of a query as numbers; times become Unix seconds.
func numbers(t testing.TB, s *store.Store, query string, args ...any) [][]float64 {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]float64
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]float64, len(cols))
		for i, v := range vals {
			var err error
			switch x := v.(type) {
			case time.Time:
				row[i] = float64(x.Unix())
			case float64:
				row[i] = x
			case int64:
				row[i] = float64(x)
			case []byte:
				row[i], err = strconv.ParseFloat(string(x), 64)
			case string:
				row[i], err = strconv.ParseFloat(x, 64)
			case fmt.Stringer:
				row[i], err = strconv.ParseFloat(x.String(), 64)
			default:
				err = fmt.Errorf("unexpected %T", v)
			}
			if err != nil {
				t.Fatalf("%s: column %s: %v", query, cols[i], err)
			}
		}
		out = append(out, row)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	return s[len(s)/2]
}

// digest hashes the generated data of every table, in a fixed order.
// Users leave out created_at (the store stamps it with the wall clock) and
// password_hash (bcrypt salts); the audit log, sessions and tokens are not data.
func digest(t testing.TB, s *store.Store) map[string]string {
	queries := map[string]string{
		"users":          `SELECT id, email, name, role, manager_id, team_id, hire_date, active FROM users ORDER BY id`,
		"id_counter":     `SELECT * FROM id_counter`,
		"exchange_rates": `SELECT * FROM exchange_rates ORDER BY currency, valid_from`,
	}
	for _, table := range []string{"teams", "accounts", "contacts", "leads", "lead_events", "products", "opportunities", "opportunity_history",
		"line_items", "activities", "quotas", "costs"} {
		queries[table] = `SELECT * FROM ` + table + ` ORDER BY id`
	}
	out := map[string]string{}
	for table, q := range queries {
		rows, err := s.DB().QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		h := sha256.New()
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(h, vals...)
			n++
		}
		rows.Close()
		out[table] = fmt.Sprintf("%d rows %s", n, hex.EncodeToString(h.Sum(nil))[:16])
	}
	return out
}

func TestDeterministic(t *testing.T) {
	run := func(seed int64) map[string]string {
		s := storetest.OpenDuckDB(t)
		cfg := testConfig(seed)
		cfg.Opportunities, cfg.Activities = 3000, 20_000
		generate(t, s, cfg)
		return digest(t, s)
	}
	a, b, c := run(1), run(1), run(2)
	for table := range a {
		if a[table] != b[table] {
			t.Errorf("%s differs between two runs with the same seed: %s vs %s", table, a[table], b[table])
		}
	}
	if a["opportunities"] == c["opportunities"] || a["activities"] == c["activities"] {
		t.Errorf("seeds 1 and 2 made the same deals")
	}
}

func TestSizeConfig(t *testing.T) {
	for size, want := range map[string][2]int{"small": {5_000, 50_000}, "medium": {100_000, 1_000_000}, "large": {1_000_000, 10_000_000}, "Large": {1_000_000, 10_000_000}} {
		cfg, err := SizeConfig(size)
		if err != nil || cfg.Opportunities != want[0] || cfg.Activities != want[1] {
			t.Errorf("SizeConfig(%q) = %+v, %v", size, cfg, err)
		}
	}
	if _, err := SizeConfig("huge"); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("SizeConfig(huge): %v", err)
	}
}

func TestGenerateRefusesBadConfig(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	for _, cfg := range []Config{{Opportunities: -1}, {Opportunities: MaxOpportunities + 1}, {Opportunities: 10, Activities: -5}, {Now: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := Generate(context.Background(), s, cfg); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("Generate(%+v): %v, want ErrInvalid", cfg, err)
		}
	}
	if n, _ := s.CountUsers(context.Background()); n != 0 {
		t.Errorf("a refused Generate created %d users", n)
	}
}

func TestGenerateCancelled(t *testing.T) {
	s := storetest.OpenDuckDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := testConfig(3)
	cfg.Progress = func(stage string, done, total int64) {
		if stage == "opportunities" {
			cancel()
		}
	}
	if _, err := Generate(ctx, s, cfg); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Generate: %v", err)
	}
}

// BenchmarkGenerate makes a demo into a fresh database per iteration: a
// DuckDB file, or a new PostgreSQL database on QUARTERDECK_TEST_POSTGRES's
// server when QUARTERDECK_BENCH_ENGINE=postgres. The size is
// QUARTERDECK_BENCH_OPPS opportunities (default 5,000) with ten activities
// each; docs/demo.md has the measured figures.
func BenchmarkGenerate(b *testing.B) {
	open := storetest.OpenDuckDB
	if os.Getenv("QUARTERDECK_BENCH_ENGINE") == "postgres" {
		open = storetest.OpenPostgres
	}
	opps := 5_000
	if v := os.Getenv("QUARTERDECK_BENCH_OPPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("QUARTERDECK_BENCH_OPPS=%q: %v", v, err)
		}
		opps = n
	}
	cfg := Config{Seed: 1, Opportunities: opps, Activities: 10 * opps, Now: testNow}
	var rows int64
	for b.Loop() {
		b.StopTimer()
		s := open(b)
		b.StartTimer()
		sum, err := Generate(context.Background(), s, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rows = 0
		for _, n := range sum.Counts {
			rows += n
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows), "rows/op")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// Odd sizes still give exactly what was asked.
func TestGenerateOddSizes(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {300, 100}, {2049, 60_000}} {
		s := storetest.OpenDuckDB(t)
		sum := generate(t, s, Config{Seed: 5, Opportunities: size[0], Activities: size[1], Now: testNow})
		if sum.Counts["opportunities"] != int64(size[0]) || sum.Counts["activities"] != int64(size[1]) {
			t.Errorf("asked for %v, got %v", size, sum.Counts)
		}
		if n := one(t, s, `SELECT COUNT(*) FROM activities`); n != float64(size[1]) {
			t.Errorf("asked for %d activities, table has %v", size[1], n)
		}
	}
}
