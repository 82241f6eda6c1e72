package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/demo"
	"github.com/quarterdeck/quarterdeck/internal/routing"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/quarterdeck/quarterdeck/internal/web"
)

// BenchmarkLeadIntake is the real-time routing target: new leads posted to
// POST /api/leads over loopback HTTP at a fixed rate, each created, scored
// and routed in its call, on a demo organisation (2,000 deals, its leads,
// segments and scoring models) with a rule set of a weighted pool (200/100/100,
// leads from Germany) and a round robin over every active rep (the rest).
//
// Requests are sent open-loop, one every 1/rate seconds whatever the answers
// do, and a request's latency counts from when it was due, so a stalled
// server cannot hide its queue. At the end every acknowledged lead must be
// in the database with the owner its answer named (nothing acknowledged
// before it was durable), the round robin must have given every rep the same
// number of leads (±1) and the weighted pool exactly its shares (±1).
// Reported: leads/s achieved, p50/p99/max latency in ms, errors.
//
//	QUARTERDECK_BENCH_RATE=2000 QUARTERDECK_BENCH_SECONDS=60 go test -run '^$' -bench LeadIntake -benchtime 1x ./internal/web/
//
// QUARTERDECK_BENCH_ENGINE=postgres runs it on PostgreSQL (with
// QUARTERDECK_TEST_POSTGRES set).
func BenchmarkLeadIntake(b *testing.B) {
	rate := benchEnvInt(b, "QUARTERDECK_BENCH_RATE", 2000)
	seconds := benchEnvInt(b, "QUARTERDECK_BENCH_SECONDS", 60)
	ctx := context.Background()
	s := storetest.OpenBench(b)
	now := time.Now().UTC()
	if _, err := demo.Generate(ctx, s, demo.Config{Seed: 1, Opportunities: 2000, Now: now}); err != nil {
		b.Fatal(err)
	}
	if _, err := demo.ApplyScoring(ctx, s, now); err != nil {
		b.Fatal(err)
	}
	reps, weighted := benchRuleSet(b, s, now)
	var ops int64
	if err := s.DB().QueryRowContext(ctx, `SELECT id FROM users WHERE role = 'ops' AND active ORDER BY id LIMIT 1`).Scan(&ops); err != nil {
		b.Fatal(err)
	}
	token, err := s.NewAPIToken(ctx, crm.System, ops)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{}, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	if s.Engine() == "duckdb" {
		// What an idle server would have done by now (see store.checkpointWhenIdle).
		if _, err := s.DB().ExecContext(ctx, `CHECKPOINT`); err != nil {
			b.Fatal(err)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}

	for b.Loop() {
		total := rate * seconds
		lat := make([]time.Duration, total)
		owners := make([]int64, total)
		leadIDs := make([]int64, total)
		germany := make([]bool, total)
		errs := make([]string, 0)
		var mu sync.Mutex
		start := time.Now()
		var wg sync.WaitGroup
		// One goroutine per request, started when it is due: the open loop.
		for i := range total {
			due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			time.Sleep(time.Until(due))
			germany[i] = i%5 == 0
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, owner, err := postLead(client, ts.URL, token, i, germany[i])
				lat[i] = time.Since(due)
				if err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
					return
				}
				leadIDs[i], owners[i] = id, owner
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		if len(errs) > 0 {
			b.Errorf("%d of %d requests failed; first: %s", len(errs), total, errs[0])
		}
		sorted := slices.Clone(lat)
		slices.Sort(sorted)
		q := func(p float64) float64 { return float64(sorted[int(p*float64(len(sorted)-1))]) / 1e6 }
		b.ReportMetric(float64(total)/elapsed.Seconds(), "leads/s")
		b.ReportMetric(q(0.5), "p50-ms")
		b.ReportMetric(q(0.99), "p99-ms")
		b.ReportMetric(float64(sorted[len(sorted)-1])/1e6, "max-ms")
		b.ReportMetric(float64(len(errs)), "errors")
		checkIntake(b, s, leadIDs, owners, germany, reps, weighted)
		if s.Engine() == "duckdb" {
			var wal string
			s.DB().QueryRowContext(ctx, `SELECT wal_size FROM pragma_database_size()`).Scan(&wal)
			b.Logf("DuckDB write-ahead log at the end: %s", wal)
		}
	}
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// benchRuleSet applies the benchmark's rule set and returns the round
// robin's reps and the weighted pool's weights by rep id.
func benchRuleSet(b *testing.B, s *store.Store, now time.Time) ([]int64, map[int64]int) {
	ctx := context.Background()
	var ops string
	if err := s.DB().QueryRowContext(ctx, `SELECT email FROM users WHERE role = 'ops' AND active ORDER BY id LIMIT 1`).Scan(&ops); err != nil {
		b.Fatal(err)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT id, email FROM users WHERE role = 'rep' AND active ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	var emails []string
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			b.Fatal(err)
		}
		ids, emails = append(ids, id), append(emails, email)
	}
	rows.Close()
	if len(ids) < 3 {
		b.Fatalf("the demo has %d active reps", len(ids))
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, "name: bench\nqueue_owner: %s\nmatch_accounts: false\npools:\n  - name: germany\n    method: weighted\n    members:\n", ops)
	weighted := map[int64]int{}
	for i, w := range []int{200, 100, 100} {
		fmt.Fprintf(&doc, "      - {email: %q, weight: %d}\n", emails[i], w)
		weighted[ids[i]] = w
	}
	doc.WriteString("  - name: everyone\n    method: round_robin\n    members:\n")
	for _, e := range emails {
		fmt.Fprintf(&doc, "      - {email: %q}\n", e)
	}
	doc.WriteString("rules:\n  - name: Germany\n    match: [{field: country, equals: Germany}]\n    pool: germany\n  - name: Everyone else\n    pool: everyone\n")
	if _, err := routing.Apply(ctx, s, crm.System, "bench.yaml", []byte(doc.String()), now); err != nil {
		b.Fatal(err)
	}
	return ids, weighted
}

var benchSources = []string{"Web", "Webinar", "Referral", "Paid search", "Event"}

func postLead(client *http.Client, base, token string, i int, germany bool) (id, owner int64, err error) {
	country := "United States"
	if germany {
		country = "Germany"
	}
	body, _ := json.Marshal(map[string]any{
		"first_name": "Intake", "last_name": strconv.Itoa(i), "email": fmt.Sprintf("buyer%d@intake-%d.example", i, i),
		"company": fmt.Sprintf("Intake Bench %d", i), "country": country, "employees": 10 + i%5000,
		"industry": "Software", "source": benchSources[i%len(benchSources)], "status": "new",
	})
	req, err := http.NewRequest(http.MethodPost, base+"/api/leads", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return 0, 0, fmt.Errorf("lead %d: %d %s", i, resp.StatusCode, raw)
	}
	var out struct {
		ID      int64 `json:"id"`
		Routing *struct {
			OwnerID int64 `json:"owner_id"`
		} `json:"routing"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Routing == nil {
		return 0, 0, fmt.Errorf("lead %d: no routing in %s", i, raw)
	}
	return out.ID, out.Routing.OwnerID, nil
}

// checkIntake verifies durability (every acknowledged lead stored with the
// owner it was told) and exact fairness.
func checkIntake(b *testing.B, s *store.Store, ids, owners []int64, germany []bool, reps []int64, weighted map[int64]int) {
	ctx := context.Background()
	stored := map[int64]int64{}
	rows, err := s.DB().QueryContext(ctx, `SELECT id, owner_id FROM leads WHERE last_name <> '' AND company LIKE 'Intake Bench %'`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, owner int64
		if err := rows.Scan(&id, &owner); err != nil {
			b.Fatal(err)
		}
		stored[id] = owner
	}
	rows.Close()
	rr, wr := map[int64]int{}, map[int64]int{}
	lost, nGermany := 0, 0
	for i, id := range ids {
		if id == 0 {
			continue
		}
		if o, ok := stored[id]; !ok || o != owners[i] {
			lost++
		}
		if germany[i] {
			wr[owners[i]]++
			nGermany++
		} else {
			rr[owners[i]]++
		}
	}
	if lost > 0 {
		b.Errorf("%d acknowledged leads are not stored with the owner their answer named", lost)
	}
	lo, hi := len(ids), 0
	for _, r := range reps {
		lo, hi = min(lo, rr[r]), max(hi, rr[r])
	}
	if hi-lo > 1 {
		b.Errorf("round robin over %d reps gave from %d to %d leads each", len(reps), lo, hi)
	}
	sum := 0
	for _, w := range weighted {
		sum += w
	}
	for r, w := range weighted {
		want := float64(nGermany) * float64(w) / float64(sum)
		if got := float64(wr[r]); got < want-1 || got > want+1 {
			b.Errorf("weighted pool: rep %d (weight %d) got %v of %d leads, want %.1f", r, w, got, nGermany, want)
		}
	}
	b.Logf("%d leads stored; round robin %d-%d per rep over %d reps; weighted %v of %d", len(stored), lo, hi, len(reps), wr, nGermany)
}
