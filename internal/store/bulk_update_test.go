package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
	"github.com/shopspring/decimal"
)

func TestUpdateRows(t *testing.T) {
	bg := context.Background()
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	key := []store.Col{{Name: "id", Type: "BIGINT"}, {Name: "version", Type: "BIGINT"}}
	set := []store.Col{{Name: "name", Type: "VARCHAR"}, {Name: "version", Type: "BIGINT"}, {Name: "at_time", Type: "TIMESTAMP"}, {Name: "amount", Type: "DECIMAL(18,2)"}}
	type row struct {
		name    string
		version int64
		at      *time.Time
		amount  string
		note    string
	}
	untouched := map[int64]row{1: {"one", 1, nil, "0", ""}, 2: {"two", 1, nil, "0", ""}, 3: {"three", 1, nil, "0", ""}}
	for _, c := range []struct {
		name    string
		u       store.Update
		rows    [][]any
		updated []int64
		after   map[int64]row // the table afterwards
	}{
		{
			name: "each row its own values, guarded by the version",
			u:    store.Update{Table: "upd", Key: key, Set: set, Returning: "id"},
			rows: [][]any{
				{int64(1), int64(1), "one", int64(2), at, decimal.RequireFromString("10.50")},
				{int64(2), int64(7), "stale", int64(8), at, decimal.Zero}, // row 2 is at version 1: untouched
				{int64(3), int64(1), "three", int64(2), nil, decimal.RequireFromString("0.01")},
				{int64(9), int64(1), "missing", int64(2), at, decimal.Zero},
			},
			updated: []int64{1, 3},
			after:   map[int64]row{1: {"one", 2, &at, "10.5", ""}, 2: untouched[2], 3: {"three", 2, nil, "0.01", ""}},
		},
		{
			name: "shared condition and assignment",
			u:    store.Update{Table: "upd", Key: key[:1], Set: set[:1], Where: "t.name <> $1", Also: "note = $2", Args: []any{"two", "renamed"}, Returning: "id"},
			rows: [][]any{{int64(1), "uno"}, {int64(2), "dos"}},
			// Row 2 is named two: the shared condition leaves it.
			updated: []int64{1},
			after:   map[int64]row{1: {"uno", 1, nil, "0", "renamed"}, 2: untouched[2], 3: untouched[3]},
		},
		{
			name:  "without returning",
			u:     store.Update{Table: "upd", Key: key, Set: set},
			rows:  [][]any{{int64(2), int64(1), "deux", int64(2), at, decimal.RequireFromString("3")}},
			after: map[int64]row{1: untouched[1], 2: {"deux", 2, &at, "3", ""}, 3: untouched[3]},
		},
		{
			name:  "no rows",
			u:     store.Update{Table: "upd", Key: key, Set: set, Returning: "id"},
			after: untouched,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, s *store.Store) {
				_, err := s.DB().ExecContext(bg, `CREATE TABLE upd (id BIGINT PRIMARY KEY, version BIGINT NOT NULL, name VARCHAR NOT NULL,
					at_time TIMESTAMP, amount DECIMAL(18,2) NOT NULL, note VARCHAR NOT NULL DEFAULT '')`)
				storetest.Must(t, err)
				_, err = s.DB().ExecContext(bg, `INSERT INTO upd (id, version, name, amount) VALUES (1, 1, 'one', 0), (2, 1, 'two', 0), (3, 1, 'three', 0)`)
				storetest.Must(t, err)
				var updated []int64
				err = s.WithBulk(bg, func(b *store.Bulk) error {
					updated, err = b.UpdateRows(bg, c.u, c.rows)
					return err
				})
				storetest.Must(t, err)
				slices.Sort(updated)
				if !slices.Equal(updated, c.updated) {
					t.Errorf("updated %v, want %v", updated, c.updated)
				}
				rows, err := s.DB().QueryContext(bg, `SELECT id, name, version, at_time, CAST(amount AS VARCHAR), note FROM upd ORDER BY id`)
				storetest.Must(t, err)
				defer rows.Close()
				got := map[int64]row{}
				for rows.Next() {
					var id int64
					var r row
					storetest.Must(t, rows.Scan(&id, &r.name, &r.version, &r.at, &r.amount, &r.note))
					r.amount = decimal.RequireFromString(r.amount).String()
					got[id] = r
				}
				storetest.Must(t, rows.Err())
				if len(got) != len(c.after) {
					t.Errorf("%d rows, want %d", len(got), len(c.after))
				}
				for id, w := range c.after {
					g := got[id]
					if g.name != w.name || g.version != w.version || g.amount != w.amount || g.note != w.note ||
						(g.at == nil) != (w.at == nil) || (g.at != nil && !g.at.Equal(*w.at)) {
						t.Errorf("row %d: %+v, want %+v", id, g, w)
					}
				}
			})
		})
	}
}

func TestUpdateRowsRefusesRowsOfTheWrongWidth(t *testing.T) {
	bg := context.Background()
	s := storetest.OpenDuckDB(t)
	u := store.Update{Table: "jobs", Key: []store.Col{{Name: "id", Type: "BIGINT"}}, Set: []store.Col{{Name: "state", Type: "VARCHAR"}}}
	err := s.WithBulk(bg, func(b *store.Bulk) error {
		_, err := b.UpdateRows(bg, u, [][]any{{int64(1), "done", "extra"}})
		return err
	})
	if err == nil {
		t.Error("a row of 3 values for 2 columns was taken")
	}
}

// Many rows go in several statements, under PostgreSQL's parameter limit.
func TestUpdateRowsInChunks(t *testing.T) {
	bg := context.Background()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		_, err := s.DB().ExecContext(bg, `CREATE TABLE upd (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`)
		storetest.Must(t, err)
		const n = 16000 // 2 values a row: 15,000 rows a statement
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{int64(i), int64(i * 2)}
		}
		var updated []int64
		err = s.WithBulk(bg, func(b *store.Bulk) error {
			if err := b.InsertRows(bg, "upd", []string{"id", "n"}, rows); err != nil {
				return err
			}
			for _, r := range rows {
				r[1] = r[0].(int64) * 3
			}
			u := store.Update{Table: "upd", Key: []store.Col{{Name: "id", Type: "BIGINT"}}, Set: []store.Col{{Name: "n", Type: "BIGINT"}}, Returning: "id"}
			updated, err = b.UpdateRows(bg, u, rows)
			return err
		})
		storetest.Must(t, err)
		var sum, count int64
		storetest.Must(t, s.DB().QueryRowContext(bg, `SELECT COALESCE(SUM(n - 3 * id), 0), COUNT(*) FROM upd`).Scan(&sum, &count))
		if len(updated) != n || sum != 0 || count != n {
			t.Errorf("%d rows updated, %d in the table, sum of n - 3*id %d; want %d, %d, 0", len(updated), count, sum, n, n)
		}
	})
}
