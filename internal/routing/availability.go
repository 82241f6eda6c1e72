package routing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Availability is when a user takes leads: their time zone (a pool's
// working hours are in it) and their out-of-office periods.
type Availability struct {
	UserID   int64        `json:"user_id"`
	TimeZone string       `json:"time_zone"`
	Away     []AwayPeriod `json:"away"`
}

// AwayPeriod is a stretch out of office, From included, To excluded.
type AwayPeriod struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Note string    `json:"note,omitempty"`
}

const maxAwayPeriods = 50

// mayManage reports whether p may change u's availability: the user
// themself, a manager above them, ops and admin.
func mayManage(ctx context.Context, s *store.Store, p crm.Principal, userID int64) error {
	if p.Role.SeesAll() || p.UserID == userID {
		return nil
	}
	if p.Role != crm.RoleManager {
		return crm.ErrForbidden
	}
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return err
	}
	if all, ids := f.Owners(); all || slices.Contains(ids, userID) {
		return nil
	}
	return crm.ErrForbidden
}

// SetAvailability replaces a user's time zone and out-of-office periods.
// Every problem is reported by field; nothing is stored then. Audited.
func SetAvailability(ctx context.Context, s *store.Store, p crm.Principal, a Availability, now time.Time) error {
	if err := mayManage(ctx, s, p, a.UserID); err != nil {
		return err
	}
	if _, err := s.Users.Get(ctx, crm.System, a.UserID); err != nil {
		return err
	}
	pr := crm.NewProblems("availability")
	if a.TimeZone == "" {
		a.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(a.TimeZone); err != nil || strings.Contains(a.TimeZone, "..") {
		pr.Add("time_zone", "%q is not a time zone name such as Europe/Berlin or America/New_York", a.TimeZone)
	}
	pr.Require(len(a.Away) <= maxAwayPeriods, "away", fmt.Sprintf("at most %d periods", maxAwayPeriods))
	for i, w := range a.Away {
		field := fmt.Sprintf("away[%d]", i)
		pr.Require(!w.From.IsZero() && !w.To.IsZero(), field, "give from and to")
		pr.Require(w.To.After(w.From), field+".to", "must be after from")
		pr.Require(w.To.Sub(w.From) <= 366*24*time.Hour, field+".to", "a period is at most a year")
		pr.Require(len(w.Note) <= 500, field+".note", "at most 500 characters")
	}
	if err := pr.Err(); err != nil {
		return err
	}
	return s.WithBulk(ctx, func(b *store.Bulk) error {
		for _, q := range []string{`DELETE FROM user_availability WHERE user_id = $1`, `DELETE FROM user_away WHERE user_id = $1`} {
			if _, err := b.Exec(ctx, q, a.UserID); err != nil {
				return err
			}
		}
		if _, err := b.Exec(ctx, `INSERT INTO user_availability (user_id, time_zone, updated_at) VALUES ($1, $2, $3)`, a.UserID, a.TimeZone, now); err != nil {
			return fmt.Errorf("store the availability: %w", err)
		}
		if len(a.Away) > 0 {
			first, err := b.AllocIDs(ctx, len(a.Away))
			if err != nil {
				return err
			}
			for i, w := range a.Away {
				if _, err := b.Exec(ctx, `INSERT INTO user_away (id, user_id, away_from, away_to, note) VALUES ($1, $2, $3, $4, $5)`,
					first+int64(i), a.UserID, w.From.UTC(), w.To.UTC(), w.Note); err != nil {
					return fmt.Errorf("store the away periods: %w", err)
				}
			}
		}
		return b.Audit(ctx, p, "set availability", "user", a.UserID, nil, a)
	})
}

// GetAvailability is a user's time zone and away periods (UTC without any).
func GetAvailability(ctx context.Context, s *store.Store, p crm.Principal, userID int64) (Availability, error) {
	if err := mayManage(ctx, s, p, userID); err != nil {
		return Availability{}, err
	}
	all, err := availabilities(ctx, s)
	if err != nil {
		return Availability{}, err
	}
	if a, ok := all[userID]; ok {
		return *a, nil
	}
	return Availability{UserID: userID, TimeZone: "UTC", Away: []AwayPeriod{}}, nil
}

// availabilities reads every user's availability, by user.
func availabilities(ctx context.Context, s *store.Store) (map[int64]*Availability, error) {
	out := map[int64]*Availability{}
	get := func(id int64) *Availability {
		if out[id] == nil {
			out[id] = &Availability{UserID: id, TimeZone: "UTC", Away: []AwayPeriod{}}
		}
		return out[id]
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT user_id, time_zone FROM user_availability`)
	if err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	for rows.Next() {
		var id int64
		var tz string
		if err := rows.Scan(&id, &tz); err != nil {
			rows.Close()
			return nil, err
		}
		get(id).TimeZone = tz
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.DB().QueryContext(ctx, `SELECT user_id, away_from, away_to, note FROM user_away ORDER BY user_id, away_from`)
	if err != nil {
		return nil, fmt.Errorf("away periods: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var w AwayPeriod
		if err := rows.Scan(&id, &w.From, &w.To, &w.Note); err != nil {
			return nil, err
		}
		a := get(id)
		a.Away = append(a.Away, w)
	}
	return out, rows.Err()
}
