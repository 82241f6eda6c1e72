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

// Fairness is the audit of every pool of the active rule set over the
// assignments made from since until before until: how many leads each rep
// got against their weight, how often they were passed over and why. Ops
// and admin only: it compares reps.
func Fairness(ctx context.Context, s *store.Store, p crm.Principal, since, until time.Time) ([]FairRow, error) {
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	v, err := Active(ctx, s)
	if err != nil || v == nil {
		return nil, err
	}
	if !until.After(since) {
		return nil, crm.Invalid("fairness", "to", "must be after from")
	}
	org, err := LoadOrg(ctx, s, p, until)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT a.pool, u.email, a.considered FROM lead_assignments a JOIN users u ON u.id = a.owner_id
		WHERE a.pool <> '' AND NOT a.queued AND a.assigned_at >= $1 AND a.assigned_at < $2`, since, until)
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

// AuditPeriod reads a period of whole days given as YYYY-MM-DD, to
// included: by default the 30 days up to now (or up to to). It returns the
// half-open range Fairness takes.
func AuditPeriod(from, to string, now time.Time) (since, until time.Time, err error) {
	until = now
	if to != "" {
		d, err := time.Parse(time.DateOnly, to)
		if err != nil {
			return since, until, crm.Invalid("period", "to", fmt.Sprintf("%q is not a date like 2026-12-31", to))
		}
		until = d.AddDate(0, 0, 1)
	}
	since = until.AddDate(0, 0, -30)
	if from != "" {
		if since, err = time.Parse(time.DateOnly, from); err != nil {
			return since, until, crm.Invalid("period", "from", fmt.Sprintf("%q is not a date like 2026-12-01", from))
		}
	}
	if !until.After(since) {
		return since, until, crm.Invalid("period", "to", "must not be before from")
	}
	return since, until, nil
}

// PoolView is a pool of the active rule set as it stands: its method,
// caps and hours, and each member with whether they could take a lead now.
type PoolView struct {
	Name         string       `json:"name"`
	Method       string       `json:"method"`
	Caps         Caps         `json:"caps"`
	WorkingHours *Hours       `json:"working_hours,omitempty"`
	Overflow     string       `json:"overflow,omitempty"`
	Next         string       `json:"next,omitempty"` // whose turn it is (round robin, least-loaded ties)
	Members      []MemberView `json:"members"`
}

// MemberView is one rep of a pool.
type MemberView struct {
	ID       int64   `json:"id"`
	Email    string  `json:"email"`
	Team     string  `json:"team,omitempty"`
	Weight   float64 `json:"weight"`
	Open     int     `json:"open_leads"`
	Today    int     `json:"assigned_today"` // in the rep's own time zone
	Skipped  string  `json:"skipped,omitempty"`
	Position int     `json:"position"` // in the turn order
}

// Pools shows every pool of the active rule set with its members as of
// now: open leads, leads given today, and why a member would be passed
// over now. Ops and admin only, as the rule sets are theirs.
func Pools(ctx context.Context, s *store.Store, p crm.Principal, now time.Time) ([]PoolView, error) {
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	v, err := Active(ctx, s)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: %w", crm.ErrNotFound, ErrNoRuleSet)
	}
	org, err := LoadOrg(ctx, s, p, now)
	if err != nil {
		return nil, err
	}
	// Read as it stands, outside a transaction: a page view must not count
	// as a write (every commit moves the store's version, which the
	// intake's kept definitions follow).
	st, err := readState(s.DB().QueryContext(ctx, stateQuery))
	if err != nil {
		return nil, err
	}
	org.index()
	var out []PoolView
	for _, doc := range v.set.Doc.Pools {
		pl := v.set.pools[doc.Name]
		pd := pl.doc // with its defaults filled in
		pv := PoolView{Name: pd.Name, Method: pd.Method, Caps: pd.Caps, WorkingHours: pd.WorkingHours, Overflow: pd.Overflow}
		reps, weights := v.set.members(pl, org)
		for i, r := range reps {
			m := MemberView{ID: r.ID, Email: r.Email, Team: r.Team, Weight: weights[i], Position: i + 1, Skipped: pl.skip(r, org, now)}
			if l := org.Loads[r.ID]; l != nil {
				m.Open = l.Open
				loc := r.TimeZone
				if loc == nil {
					loc = time.UTC
				}
				local := now.In(loc)
				day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
				for _, t := range l.Assigned {
					if !t.Before(day) && !t.After(now) {
						m.Today++
					}
				}
			}
			pv.Members = append(pv.Members, m)
		}
		if ps := st[pd.Name]; ps != nil && len(reps) > 0 && (pd.Method == RoundRobin || pd.Method == LeastLoaded) {
			pv.Next = reps[ps.Next%len(reps)].Email
		}
		out = append(out, pv)
	}
	return out, nil
}
