package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/shopspring/decimal"
)

// SubmitForecast records a new version of user sub.UserID's forecast call
// for sub.Period. A seller or manager submits their own call; ops and admin
// may submit for anyone. For a manager the roll-up of their direct reports'
// latest commits is stored beside the call, and a call that differs from it
// (an override) must give a reason. Every submission is audited.
func (s *Store) SubmitForecast(ctx context.Context, p crm.Principal, sub *crm.ForecastSubmission) error {
	if !writeSellers(p) {
		return crm.ErrForbidden
	}
	if sub.UserID == 0 {
		sub.UserID = p.UserID
	}
	if sub.UserID != p.UserID && !p.Role.SeesAll() {
		return crm.ErrForbidden
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return err
	}
	pr := crm.NewProblems("forecast submission")
	if per, err := cal.ParsePeriod(sub.Period); err != nil {
		pr.Add("period", "%v", err)
	} else {
		sub.Period = per.String()
	}
	for _, f := range []struct {
		name string
		v    decimal.Decimal
	}{{"commit", sub.Commit}, {"best_case", sub.BestCase}, {"pipeline", sub.Pipeline}} {
		crm.CheckAmount(pr, f.name, f.v)
	}
	pr.Require(sub.Commit.LessThanOrEqual(sub.BestCase), "best_case", "must be at least the commit")
	pr.Require(sub.BestCase.LessThanOrEqual(sub.Pipeline), "pipeline", "must be at least the best case")
	sub.Reason = strings.TrimSpace(sub.Reason)
	pr.Require(len(sub.Reason) <= 2000, "reason", "at most 2000 characters")
	if err := pr.Err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1 AND active`, sub.UserID).Scan(&role)
		if err == sql.ErrNoRows {
			return crm.Invalid("forecast submission", "user_id", fmt.Sprintf("no active user %d", sub.UserID))
		} else if err != nil {
			return err
		}
		if role != string(crm.RoleRep) && role != string(crm.RoleManager) {
			return crm.Invalid("forecast submission", "user_id", "only reps and managers submit forecast calls")
		}
		sub.RollupCommit = nil
		if role == string(crm.RoleManager) {
			var sum decimal.NullDecimal
			err := tx.QueryRowContext(ctx, `SELECT CAST(SUM(f.commit_amount) AS VARCHAR) FROM forecast_submissions f
				JOIN users u ON u.id = f.user_id AND u.manager_id = $1
				WHERE f.period = $2 AND f.version = (SELECT MAX(version) FROM forecast_submissions g WHERE g.user_id = f.user_id AND g.period = f.period)`,
				sub.UserID, sub.Period).Scan(&sum)
			if err != nil {
				return fmt.Errorf("forecast roll-up: %w", err)
			}
			if sum.Valid && sum.Decimal.GreaterThan(crm.MaxAmount) {
				return crm.Invalid("forecast submission", "commit", fmt.Sprintf("the team roll-up %s is above the largest amount, %s", sum.Decimal, crm.MaxAmount))
			}
			if sum.Valid {
				sub.RollupCommit = &sum.Decimal
				if !sum.Decimal.Equal(sub.Commit) && sub.Reason == "" {
					return crm.Invalid("forecast submission", "reason",
						fmt.Sprintf("the commit %s differs from the team roll-up %s: an override needs a reason", sub.Commit.StringFixed(2), sum.Decimal.StringFixed(2)))
				}
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM forecast_submissions WHERE user_id = $1 AND period = $2`,
			sub.UserID, sub.Period).Scan(&sub.Version); err != nil {
			return err
		}
		id, err := s.allocIDs(ctx, 1)
		if err != nil {
			return err
		}
		sub.ID, sub.SubmittedBy, sub.SubmittedAt = id, p.UserID, s.now().UTC().Truncate(time.Microsecond)
		cols := fieldsOf(reflect.TypeOf(*sub)).columns
		if _, err := tx.ExecContext(ctx, "INSERT INTO forecast_submissions ("+columnList(cols)+") VALUES ("+bindParams(1, len(cols))+")", values(sub)...); err != nil {
			return fmt.Errorf("submit forecast: %w", err)
		}
		return s.audit(ctx, tx, p, "submit", "forecast_submission", sub.ID, nil, sub)
	})
}

// ForecastSubmissions lists the submissions p may see for a period, every
// version, oldest first; latestOnly keeps each user's newest version.
func (s *Store) ForecastSubmissions(ctx context.Context, p crm.Principal, period string, latestOnly bool) ([]crm.ForecastSubmission, error) {
	sc, err := s.scopeOf(ctx, p)
	if err != nil {
		return nil, err
	}
	where := "period = $1 AND " + sc.ownerPredicate("user_id")
	if latestOnly {
		where += " AND version = (SELECT MAX(version) FROM forecast_submissions g WHERE g.user_id = forecast_submissions.user_id AND g.period = forecast_submissions.period)"
	}
	return queryAll[crm.ForecastSubmission](ctx, s.db, "forecast_submissions", where+" ORDER BY user_id, version", period)
}

// SaveSnapshots replaces the snapshots of the day taken.On for the periods
// the rows cover, in one transaction: a rerun on the same day leaves one
// snapshot, never two. Only ops and admin (and the system) take snapshots.
func (s *Store) SaveSnapshots(ctx context.Context, p crm.Principal, day crm.Date, rows []crm.ForecastSnapshot) error {
	if !p.Role.SeesAll() {
		return crm.ErrForbidden
	}
	periods := map[string]bool{}
	for _, r := range rows {
		periods[r.Period] = true
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for per := range periods {
			if _, err := tx.ExecContext(ctx, `DELETE FROM forecast_snapshots WHERE taken_on = $1 AND period = $2`, day, per); err != nil {
				return fmt.Errorf("replace snapshot: %w", err)
			}
		}
		cols := fieldsOf(reflect.TypeOf(crm.ForecastSnapshot{})).columns
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO forecast_snapshots ("+columnList(cols)+") VALUES ("+bindParams(1, len(cols))+")")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range rows {
			rows[i].TakenOn = day
			if _, err := stmt.ExecContext(ctx, values(&rows[i])...); err != nil {
				return fmt.Errorf("save snapshot: %w", err)
			}
		}
		return nil
	})
}

// ForecastSnapshots lists snapshots of a period (all periods when empty),
// oldest first, summed over the owners p may see: a rep's are their own
// deals', a manager's their team's. Organisation-wide rows (the time series)
// are included only for roles that see the whole organisation, and viewers.
func (s *Store) ForecastSnapshots(ctx context.Context, p crm.Principal, period string) ([]crm.ForecastSnapshot, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	cond := f.Condition("owner_id")
	args := []any{}
	if period != "" {
		cond += " AND period = $1"
		args = append(args, period)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT taken_on, period, method, SUM(forecast), SUM(lo80), SUM(hi80),
			SUM(open_count), SUM(open_amount), SUM(won_amount)
		FROM forecast_snapshots WHERE `+cond+`
		GROUP BY taken_on, period, method ORDER BY taken_on, period, method`, args...)
	if err != nil {
		return nil, fmt.Errorf("read snapshots: %w", err)
	}
	defer rows.Close()
	out := []crm.ForecastSnapshot{}
	for rows.Next() {
		var r crm.ForecastSnapshot
		var day time.Time
		if err := rows.Scan(&day, &r.Period, &r.Method, &r.Forecast, &r.Lo80, &r.Hi80, &r.OpenCount, &r.OpenAmount, &r.WonAmount); err != nil {
			return nil, fmt.Errorf("read snapshots: %w", err)
		}
		r.TakenOn = crm.NewDate(day)
		out = append(out, r)
	}
	return out, rows.Err()
}

// LastSnapshotDay is the day of the newest snapshot; zero when none.
func (s *Store) LastSnapshotDay(ctx context.Context) (time.Time, error) {
	var t sql.NullTime
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(taken_on) FROM forecast_snapshots`).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("read snapshots: %w", err)
	}
	return t.Time, nil
}
