package demo

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

func TestScratchQuery(t *testing.T) {
	path := os.Getenv("DEMO_DB")
	if path == "" {
		t.Skip()
	}
	ctx := context.Background()
	_, statErr := os.Stat(path)
	s, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if statErr != nil && os.Getenv("NOIDX") != "" {
		for _, tbl := range []string{"accounts", "contacts", "opportunities", "opportunity_history", "line_items", "leads", "lead_events", "activities"} {
			for _, q := range []string{"CREATE TABLE x_tmp AS SELECT * FROM " + tbl + " WITH NO DATA", "DROP TABLE " + tbl, "ALTER TABLE x_tmp RENAME TO " + tbl} {
				if _, err := s.DB().ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if statErr != nil && os.Getenv("NOCKPT") != "" {
		if _, err := s.DB().ExecContext(ctx, "SET checkpoint_threshold = '100GB'"); err != nil {
			t.Fatal(err)
		}
	}
	if statErr != nil {
		var last string
		start := time.Now()
		n := 5000
		fmt.Sscan(os.Getenv("DEMO_OPPS"), &n)
		sum, err := Generate(ctx, s, Config{Seed: 7, Opportunities: n, Now: testNow, Progress: func(st string, d, tot int64) {
			if st != last || d == tot || (st == "opportunities" && d%(tot/10+1) < 2048) {
				fmt.Printf("%6.2fs %s %d/%d\n", time.Since(start).Seconds(), st, d, tot)
				last = st
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(sum.Counts, sum.Elapsed)
		if os.Getenv("NOCKPT") != "" {
			c0 := time.Now()
			s.DB().ExecContext(ctx, "CHECKPOINT")
			fmt.Println("checkpoint", time.Since(c0))
		}
	}
	q, _ := os.ReadFile(os.Getenv("DEMO_SQL"))
	for _, stmt := range strings.Split(string(q), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		fmt.Println("--", strings.TrimSpace(stmt))
		printQuery(s.DB(), stmt)
	}
}

func printQuery(db *sql.DB, q string) {
	rows, err := db.Query(q)
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	fmt.Println(strings.Join(cols, " | "))
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		parts := make([]string, len(vals))
		for i, v := range vals {
			if tm, ok := v.(time.Time); ok {
				parts[i] = tm.Format("2006-01-02 15:04")
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		fmt.Println(strings.Join(parts, " | "))
	}
}
