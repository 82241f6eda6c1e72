// Command loadgen drives a running Quarterdeck over HTTP with a fixed number
// of connections and reports throughput and latency percentiles; with -soak
// it mixes reads and writes for a long run and samples the server's memory.
//
//	go run ./scripts/loadgen -url http://127.0.0.1:8080 -token qd_... \
//	    -path '/api/opportunities?limit=50' -c 16 -d 60s
//	go run ./scripts/loadgen -url ... -token ... -soak -d 10m -pid $(pgrep -f 'quarterdeck demo')
//
// Loopback only: it refuses any other host, so it cannot be pointed at a
// server it should not load.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "server to load (loopback only)")
	token := flag.String("token", os.Getenv("QUARTERDECK_TOKEN"), "API token (or QUARTERDECK_TOKEN)")
	paths := flag.String("path", "/api/opportunities?limit=50", "comma-separated paths to GET in turn")
	conns := flag.Int("c", 16, "concurrent connections")
	dur := flag.Duration("d", 60*time.Second, "how long to run")
	warmup := flag.Duration("warmup", 5*time.Second, "how long to load the server first, not counted (caches filled, connections open)")
	soak := flag.Bool("soak", false, "mixed reads and writes (lists, KPIs, dashboard, deal updates, activities)")
	pid := flag.Int("pid", 0, "server process to sample memory of (Linux /proc), every 10 s")
	jsonOut := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()
	if err := run(*base, *token, strings.Split(*paths, ","), *conns, *warmup, *dur, *soak, *pid, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// result is what one run measured.
type result struct {
	Requests   int64              `json:"requests"`
	Errors     int64              `json:"errors"` // status >= 400 or transport errors
	Seconds    float64            `json:"seconds"`
	PerSecond  float64            `json:"per_second"`
	P50ms      float64            `json:"p50_ms"`
	P95ms      float64            `json:"p95_ms"`
	P99ms      float64            `json:"p99_ms"`
	MaxMs      float64            `json:"max_ms"`
	ByStatus   map[int]int64      `json:"by_status"`
	ByKind     map[string]float64 `json:"p99_ms_by_kind,omitempty"`
	MemoryMB   []float64          `json:"server_rss_mb,omitempty"`
	FirstError string             `json:"first_error,omitempty"`
}

func run(base, token string, paths []string, conns int, warmup, dur time.Duration, soak bool, pid int, jsonOut bool) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", u.Hostname())
	}
	if token == "" {
		return fmt.Errorf("no -token")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}, Timeout: 30 * time.Second}
	c := &caller{client: client, base: strings.TrimRight(base, "/"), token: token}
	var work func(r *rand.Rand, i int64) (kind string, err error)
	if soak {
		if work, err = c.soakMix(); err != nil {
			return err
		}
	} else {
		work = func(_ *rand.Rand, i int64) (string, error) {
			p := paths[i%int64(len(paths))]
			return p, c.do("GET", p, nil)
		}
	}

	if warmup > 0 {
		wctx, wcancel := context.WithTimeout(context.Background(), warmup)
		var wg sync.WaitGroup
		for w := range conns {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 3))
				for i := int64(0); wctx.Err() == nil; i++ {
					work(r, i)
				}
			})
		}
		wg.Wait()
		wcancel()
	}

	var (
		mu       sync.Mutex
		lat      []time.Duration
		byKind   = map[string][]time.Duration{}
		byStatus = map[int]int64{}
		n, nerr  atomic.Int64
		first    atomic.Value
	)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var mem []float64
	if pid > 0 {
		go func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				if mb, err := rssMB(pid); err == nil {
					mu.Lock()
					mem = append(mem, mb)
					mu.Unlock()
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []time.Duration
			kinds := map[string][]time.Duration{}
			for ctx.Err() == nil {
				i := n.Add(1)
				t0 := time.Now()
				kind, err := work(r, i)
				d := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					n.Add(-1)
					break // cut off by the end of the run, not the server's doing
				}
				mine = append(mine, d)
				kinds[kind] = append(kinds[kind], d)
				status := 200
				if err != nil {
					nerr.Add(1)
					first.CompareAndSwap(nil, err.Error())
					status = statusOf(err)
				}
				mu.Lock()
				byStatus[status]++
				mu.Unlock()
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range kinds {
				byKind[k] = append(byKind[k], v...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	slices.Sort(lat)
	res := result{Requests: int64(len(lat)), Errors: nerr.Load(), Seconds: elapsed, PerSecond: float64(len(lat)) / elapsed,
		P50ms: pct(lat, 50), P95ms: pct(lat, 95), P99ms: pct(lat, 99), ByStatus: byStatus, MemoryMB: mem}
	if len(lat) > 0 {
		res.MaxMs = ms(lat[len(lat)-1])
	}
	if len(byKind) > 1 {
		res.ByKind = map[string]float64{}
		for k, v := range byKind {
			slices.Sort(v)
			res.ByKind[k] = pct(v, 99)
		}
	}
	if f, ok := first.Load().(string); ok {
		res.FirstError = f
	}
	if jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%d requests in %.1f s with %d connections: %.0f/s; p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms; %d errors %v\n",
		res.Requests, elapsed, conns, res.PerSecond, res.P50ms, res.P95ms, res.P99ms, res.MaxMs, res.Errors, byStatus)
	for k, v := range res.ByKind {
		fmt.Printf("  p99 %-28s %.1f ms\n", k, v)
	}
	if len(mem) > 0 {
		fmt.Printf("  server RSS (MB, every 10 s): %v\n", mem)
	}
	if res.FirstError != "" {
		fmt.Printf("  first error: %s\n", res.FirstError)
	}
	return nil
}

// caller sends requests as one API token.
type caller struct {
	client *http.Client
	base   string
	token  string
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %.200s", e.status, e.body) }

func statusOf(err error) int {
	if se, ok := err.(*statusError); ok {
		return se.status
	}
	return 0
}

func (c *caller) do(method, path string, body any) error {
	_, err := c.doJSON(method, path, body)
	return err
}

func (c *caller) doJSON(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return b, &statusError{resp.StatusCode, string(b)}
	}
	return b, nil
}

// soakMix is the soak's request mix: mostly reads (record lists, KPIs, the
// dashboard, the forecast), a tenth writes (a deal's amount, a new activity
// on it), over open deals the token's user may write.
func (c *caller) soakMix() (func(r *rand.Rand, i int64) (string, error), error) {
	b, err := c.doJSON("GET", "/api/me", nil)
	if err != nil {
		return nil, fmt.Errorf("who am I: %w", err)
	}
	var me struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &me); err != nil {
		return nil, err
	}
	b, err = c.doJSON("GET", "/api/opportunities?is_closed=false&limit=200", nil)
	if err != nil {
		return nil, fmt.Errorf("open deals: %w", err)
	}
	var page struct {
		Items []struct {
			ID     int64  `json:"id"`
			Amount string `json:"amount"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("the token's user sees no open deals to write to")
	}
	reads := []string{"/api/opportunities?limit=50", "/api/accounts?limit=50", "/api/activities?limit=50", "/api/leads?limit=50",
		"/api/kpi", "/api/kpi?period=all", "/api/dashboard", "/api/forecast", "/api/home"}
	return func(r *rand.Rand, i int64) (string, error) {
		switch x := r.IntN(100); {
		case x < 5:
			d := page.Items[r.IntN(len(page.Items))]
			amt := strconv.Itoa(1000 + r.IntN(100000))
			return "PATCH deal amount", c.do("PATCH", fmt.Sprintf("/api/opportunities/%d", d.ID), map[string]string{"amount": amt})
		case x < 10:
			d := page.Items[r.IntN(len(page.Items))]
			return "POST activity", c.do("POST", "/api/activities", map[string]any{"kind": "call", "owner_id": me.ID,
				"opportunity_id": d.ID, "occurred_at": time.Now().UTC().Format(time.RFC3339), "duration_minutes": 5, "subject": "soak"})
		default:
			p := reads[r.IntN(len(reads))]
			return "GET " + strings.SplitN(p, "?", 2)[0], c.do("GET", p, nil)
		}
	}, nil
}

func pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100 // nearest rank
	return ms(sorted[max(i-1, 0)])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rssMB reads a process's resident memory from /proc.
func rssMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}
