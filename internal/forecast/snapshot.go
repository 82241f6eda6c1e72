package forecast

import (
	"context"
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// SnapshotGrains are the period lengths snapshots cover: for each, the
// current period and the next.
var SnapshotGrains = []crm.Grain{crm.GrainMonth, crm.GrainQuarter}

// SnapshotResult says what a snapshot stored.
type SnapshotResult struct {
	Day     crm.Date `json:"day"`
	Periods []string `json:"periods"`
	Rows    int      `json:"rows"`
	Model   string   `json:"win_model"`
	Elapsed string   `json:"elapsed"`
}

// TakeSnapshot records, as of now's day, the open pipeline and every
// method's forecast for the current and next periods: per owner for the
// pipeline methods and the reps' commits (so that any team's view is a sum),
// organisation-wide for the time series. A second run on the same day
// replaces the first.
func TakeSnapshot(ctx context.Context, s *store.Store, now time.Time) (SnapshotResult, error) {
	res, err := Backfill(ctx, s, now, []time.Time{now})
	if err != nil {
		return SnapshotResult{}, err
	}
	return res[0], nil
}

// Backfill takes the snapshots that would have been taken on each of days,
// replaying the stage history as of each (loaded once, as of now). A new
// organisation gets an accuracy history this way; the reps' calls are those
// on record, so past days have only the calls submitted for their periods.
func Backfill(ctx context.Context, s *store.Store, now time.Time, days []time.Time) ([]SnapshotResult, error) {
	b, err := Load(ctx, s, crm.System, now, LoadOptions{Activities: true})
	if err != nil {
		return nil, err
	}
	reps, err := repIDs(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []SnapshotResult
	for _, d := range days {
		start := time.Now()
		b.Today = day(d)
		wm := b.TrainWinModel(b.Today)
		res := SnapshotResult{Day: crm.NewDate(b.Today), Model: wm.Note}
		var rows []crm.ForecastSnapshot
		for _, g := range SnapshotGrains {
			cur := b.Calendar.PeriodOf(b.Today, g)
			for _, per := range []crm.Period{cur, b.Calendar.Next(cur)} {
				res.Periods = append(res.Periods, per.String())
				byOwner := b.ForecastBy(Request{Period: per, Model: wm}, func(d *Deal) int64 { return d.OwnerID })
				for owner, pf := range byOwner {
					for _, e := range pf.Estimates {
						id := owner
						rows = append(rows, snapshotRow(per, e, &id, pf))
					}
				}
				if e, err := b.seriesEstimate(per, b.Today, nil); err == nil {
					rows = append(rows, snapshotRow(per, e, nil, &PeriodForecast{}))
				}
				commits, err := s.ForecastSubmissions(ctx, crm.System, per.String(), true)
				if err != nil {
					return nil, err
				}
				for _, c := range commits {
					if !reps[c.UserID] || c.SubmittedAt.After(d) {
						continue // managers' calls: the reps' commits are summed instead
					}
					id := c.UserID
					pf := byOwner[id]
					if pf == nil {
						pf = &PeriodForecast{}
					}
					rows = append(rows, snapshotRow(per, Estimate{Method: MethodCommit, Forecast: c.Commit.InexactFloat64()}, &id, pf))
				}
			}
		}
		if err := s.SaveSnapshots(ctx, crm.System, res.Day, rows); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		res.Rows, res.Elapsed = len(rows), time.Since(start).Round(time.Millisecond).String()
		out = append(out, res)
	}
	return out, nil
}

func snapshotRow(per crm.Period, e Estimate, owner *int64, pf *PeriodForecast) crm.ForecastSnapshot {
	return crm.ForecastSnapshot{Period: per.String(), Method: e.Method, OwnerID: owner, Forecast: e.Forecast, Lo80: e.Lo80, Hi80: e.Hi80,
		OpenCount: int64(pf.OpenCount), OpenAmount: pf.OpenAmount, WonAmount: pf.Won}
}

func repIDs(ctx context.Context, s *store.Store) (map[int64]bool, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT id FROM users WHERE role = $1`, string(crm.RoleRep))
	if err != nil {
		return nil, fmt.Errorf("snapshot: read reps: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
