package intake

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

// One batch whose transaction fails (two leads with one external id, which
// only the unique index catches) is written again lead by lead: the first
// is stored, the second told of the conflict, and a lead the checks refuse
// fails alone without failing the batch.
func TestBatchFallsBackLeadByLead(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		o := storetest.NewOrg(t, s)
		d := New(s)
		dup := "same"
		p := storetest.As(o.Admin)
		batch := []*request{
			{p: p, lead: &crm.Lead{LastName: "First", ExternalID: &dup}, done: make(chan struct{})},
			{p: p, lead: &crm.Lead{LastName: "Bad email", Email: "nope"}, done: make(chan struct{})},
			{p: p, lead: &crm.Lead{LastName: "Second", ExternalID: &dup}, done: make(chan struct{})},
			{p: p, lead: &crm.Lead{LastName: "Fine"}, done: make(chan struct{})},
		}
		w, err := s.OpenWriter(context.Background())
		storetest.Must(t, err)
		defer w.Close()
		d.process(w, batch)
		if batch[0].err != nil || batch[3].err != nil {
			t.Errorf("good leads: %v / %v", batch[0].err, batch[3].err)
		}
		if !errors.Is(batch[1].err, crm.ErrInvalid) {
			t.Errorf("bad email: %v", batch[1].err)
		}
		if batch[2].err == nil {
			t.Errorf("the second lead with one external id was stored")
		}
		if batch[2].lead.ID != 0 || batch[2].res.Lead != nil {
			t.Errorf("a refused lead keeps an id or a result: %+v", batch[2])
		}
		// The writer's Appender for leads failed with the batch: the next
		// batch on the same writer gets a new one.
		var more []*request
		for i := range 5 {
			more = append(more, &request{p: p, lead: &crm.Lead{LastName: fmt.Sprint("More ", i)}, done: make(chan struct{})})
		}
		d.process(w, more)
		for _, r := range more {
			if r.err != nil {
				t.Errorf("a later batch on the same writer: %v", r.err)
			}
		}
		var n int
		storetest.Must(t, s.DB().QueryRow(`SELECT COUNT(*) FROM leads`).Scan(&n))
		if n != 2+len(more) {
			t.Errorf("%d leads stored, want %d", n, 2+len(more))
		}
		for _, r := range batch {
			select {
			case <-r.done:
			default:
				t.Errorf("a request was never answered")
			}
		}
	})
}
