package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// LogEntry is one assignment in the organisation's log.
type LogEntry struct {
	Assignment
	Lead string `json:"lead"`
}

// Log lists the latest assignments of the leads p may see (a rep their
// own, a manager their team's, ops all; not the viewer), newest first.
func Log(ctx context.Context, s *store.Store, p crm.Principal, limit int) ([]LogEntry, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	if !f.Individuals() {
		return nil, crm.ErrForbidden
	}
	rows, err := s.DB().QueryContext(ctx, fmt.Sprintf(`SELECT a.id, a.lead_id, TRIM(l.first_name || ' ' || l.last_name), a.owner_id, u.email, a.rule, a.pool, a.method, a.queued, a.reason, a.considered, a.assigned_at
		FROM lead_assignments a JOIN leads l ON l.id = a.lead_id JOIN users u ON u.id = a.owner_id
		WHERE %s ORDER BY a.id DESC LIMIT %d`, f.Condition("a.owner_id"), limit))
	if err != nil {
		return nil, fmt.Errorf("assignment log: %w", err)
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var e LogEntry
		d := &e.Decision
		var considered string
		if err := rows.Scan(&e.ID, &e.LeadID, &e.Lead, &e.OwnerID, &d.Owner, &d.Rule, &d.Pool, &d.Method, &d.Queue, &d.Reason, &considered, &e.AssignedAt); err != nil {
			return nil, err
		}
		d.OwnerID = e.OwnerID
		if err := json.Unmarshal([]byte(considered), &d.Considered); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// FairRow is one rep's share of a pool's leads against their weight.
type FairRow struct {
	Pool     string         `json:"pool"`
	Rep      string         `json:"rep"`
	Leads    int            `json:"leads"`
	Share    float64        `json:"share"`    // of the pool's leads
	Expected float64        `json:"expected"` // the rep's weight ÷ the pool's weights (equal shares for round robin)
	Skipped  map[string]int `json:"skipped"`  // times passed over, by reason
	Drift    bool           `json:"drift"`    // share differs from expected by more than 5 points over 20 or more leads
}

// Fairness is the audit of every pool of the active rule set since a time:
// how many leads each rep got against their weight, how often they were
// passed over and why. Ops and admin only: it compares reps.
func Fairness(ctx context.Context, s *store.Store, p crm.Principal, since, now time.Time) ([]FairRow, error) {
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	v, err := Active(ctx, s)
	if err != nil || v == nil {
		return nil, err
	}
	org, err := LoadOrg(ctx, s, p, now)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT a.pool, u.email, a.considered FROM lead_assignments a JOIN users u ON u.id = a.owner_id
		WHERE a.pool <> '' AND NOT a.queued AND a.assigned_at >= $1`, since)
	if err != nil {
		return nil, fmt.Errorf("fairness: %w", err)
	}
	defer rows.Close()
	type key struct{ pool, rep string }
	got := map[key]*FairRow{}
	totals := map[string]int{}
	row := func(pool, rep string) *FairRow {
		k := key{pool, rep}
		if got[k] == nil {
			got[k] = &FairRow{Pool: pool, Rep: rep, Skipped: map[string]int{}}
		}
		return got[k]
	}
	for rows.Next() {
		var pool, owner, considered string
		if err := rows.Scan(&pool, &owner, &considered); err != nil {
			return nil, err
		}
		row(pool, owner).Leads++
		totals[pool]++
		var cs []Candidate
		if err := json.Unmarshal([]byte(considered), &cs); err != nil {
			return nil, err
		}
		for _, c := range cs {
			if c.Skipped != "" {
				// "outside working hours (Tue 05:00 ...)" counts as one reason.
				reason, _, _ := strings.Cut(c.Skipped, " (")
				reason, _, _ = strings.Cut(reason, " until ")
				in := c.Pool // the pool the rep was passed over in (overflow tries several)
				if in == "" {
					in = pool
				}
				row(in, c.Email).Skipped[reason]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for name, pl := range v.set.pools {
		reps, weights := v.set.members(pl, org)
		var sum float64
		for i, r := range reps {
			if r.Active {
				sum += weights[i]
			}
		}
		for i, r := range reps {
			if !r.Active || sum == 0 {
				continue
			}
			fr := row(name, r.Email)
			fr.Expected = weights[i] / sum
		}
	}
	var out []FairRow
	for _, fr := range got {
		if t := totals[fr.Pool]; t > 0 {
			fr.Share = float64(fr.Leads) / float64(t)
			fr.Drift = t >= 20 && fr.Expected > 0 && abs(fr.Share-fr.Expected) > 0.05
		}
		if fr.Leads > 0 || fr.Expected > 0 {
			out = append(out, *fr)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pool != out[j].Pool {
			return out[i].Pool < out[j].Pool
		}
		return out[i].Rep < out[j].Rep
	})
	return out, nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// SkipReasons lists a row's reasons, most frequent first, as "inactive ×3".
func (fr FairRow) SkipReasons() string {
	type rc struct {
		r string
		n int
	}
	var l []rc
	for r, n := range fr.Skipped {
		l = append(l, rc{r, n})
	}
	slices.SortFunc(l, func(a, b rc) int { return b.n - a.n })
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = fmt.Sprintf("%s ×%d", x.r, x.n)
	}
	return strings.Join(parts, "; ")
}
