package automation

import (
	"context"
	"fmt"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// HookSecretEnv names the environment variable holding the signing secret
// of a webhook-triggered workflow; ErrNotFound for any other workflow, so
// that a caller cannot tell a wrong name from a workflow of another trigger.
func HookSecretEnv(ctx context.Context, s *store.Store, name string) (string, error) {
	v, err := Get(ctx, s, crm.System, name)
	if err != nil {
		return "", err
	}
	if v.Trigger != OnWebhook || !v.Enabled {
		return "", fmt.Errorf("webhook workflow %q: %w", name, crm.ErrNotFound)
	}
	return v.wf.Doc.Trigger.SecretEnv, nil
}

// RunHook starts the named webhook workflow on the record a verified request
// names. delivery is the request's delivery id: the same delivery sent again
// starts no second run. It returns the run's id, 0 when the record did not
// enter (its condition, scope or re-entry policy).
func RunHook(ctx context.Context, s *store.Store, name string, recordID int64, delivery string, now time.Time) (int64, error) {
	if _, err := HookSecretEnv(ctx, s, name); err != nil {
		return 0, err
	}
	if delivery == "" {
		return 0, crm.Invalid("webhook", "delivery", "the request needs a delivery id header, so that a resent request runs once")
	}
	v, err := Get(ctx, s, crm.System, name)
	if err != nil {
		return 0, err
	}
	var runID int64
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		d := &dispatcher{s: s, b: b, now: now.UTC()}
		ev := &Event{Entity: v.Entity, EntityID: recordID, Action: OnWebhook, At: d.now, Key: delivery}
		sub, err := loadSubject(ctx, s, v.Entity, recordID, ev, 0, d.now)
		if err != nil {
			return err
		}
		var exists int
		if err := b.QueryRow(ctx, `SELECT COUNT(*) FROM automation_runs WHERE event_key = $1`, runKey(v, ev)).Scan(&exists); err != nil || exists > 0 {
			return err
		}
		if err := d.enter(ctx, v, sub, ev); err != nil {
			return err
		}
		if len(d.runs) > 0 {
			runID = d.runs[0][0].(int64)
		}
		return d.flush(ctx)
	})
	return runID, err
}
