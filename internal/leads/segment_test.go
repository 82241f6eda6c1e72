package leads_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/leads"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const segment = `name: Software
match:
  - field: industry
    equals: software
`

func TestShippedSegmentsLoad(t *testing.T) {
	files, _ := filepath.Glob("../../examples/segments/*.yaml")
	if len(files) < 2 {
		t.Fatalf("want the shipped segments, got %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leads.ParseSegment(f, data); err != nil {
			t.Error(err)
		}
	}
}

func TestSegmentErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"name: x\n", "s.yaml:1: match: a segment needs at least one test"},
		{"name: x\nmatch:\n  - field: segments\n    contains: y\n", `s.yaml:3: match[0].field: unknown field "segments"`},
		{"name: x\nmatch:\n  - when: employees > \"many\"\n", "s.yaml:3: match[0].when:"},
		{"match:\n  - field: industry\n    equals: x\n", "s.yaml:1: name:"},
		{"name: x\nmanual: true\nmatch:\n  - field: industry\n    equals: x\n", "s.yaml:3: match: a manual segment has no tests"},
	} {
		_, err := leads.ParseSegment("s.yaml", []byte(c.doc))
		if !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
	}
}

// A segment's members are its leads; a scoring rule can test membership,
// and saving the segment again with another definition rescores.
func TestSegmentsAndScoring(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		if _, err := leads.SaveSegment(ctx, s, storetest.As(f.org.RepA1), "s.yaml", []byte(segment), asOf); !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("rep saving a segment: %v", err)
		}
		sg, err := leads.SaveSegment(ctx, s, admin, "s.yaml", []byte(segment), asOf)
		must(t, err)
		withSegment := model + "  - name: In segment\n    field: segments\n    contains: Software\n    points: 7\n"
		withSegment = strings.Replace(withSegment, "engagement:", "  - name: In segment\n    field: segments\n    contains: Software\n    points: 7\nengagement:", 1)
		withSegment = strings.TrimSuffix(withSegment, "  - name: In segment\n    field: segments\n    contains: Software\n    points: 7\n")
		_, err = leads.Apply(ctx, s, admin, "m.yaml", []byte(withSegment), asOf)
		must(t, err)
		if ex := scoreOf(t, s, admin, f.a1.ID); ex.Score != 47 {
			t.Errorf("a1 (software, in the segment): %v, want 40 + 7", ex.Score)
		}
		if ex := scoreOf(t, s, admin, f.a2.ID); ex.Score != 5 {
			t.Errorf("a2 (retail): %v, want 5", ex.Score)
		}
		stats, err := leads.Segments(ctx, s, admin)
		if err != nil || len(stats) != 1 || stats[0].ID != sg.ID || stats[0].Leads != 2 {
			t.Fatalf("segments: %+v (%v), want one with 2 leads", stats, err)
		}
		if st, _ := leads.Segments(ctx, s, storetest.As(f.org.RepA1)); st[0].Leads != 1 {
			t.Errorf("rep a1 sees %d leads in the segment, want 1", st[0].Leads)
		}
		list, _, err := leads.Scores(ctx, s, admin, leads.ScoreQuery{Segment: "Software"})
		if err != nil || len(list) != 2 {
			t.Errorf("leads of the segment: %d (%v)", len(list), err)
		}
		// Retail instead: a1 leaves, a2 joins, and both are rescored.
		_, err = leads.SaveSegment(ctx, s, admin, "s.yaml", []byte(strings.Replace(segment, "software", "retail", 1)), asOf)
		must(t, err)
		if ex := scoreOf(t, s, admin, f.a1.ID); ex.Score != 40 {
			t.Errorf("a1 after the segment changed: %v, want 40", ex.Score)
		}
		if ex := scoreOf(t, s, admin, f.a2.ID); ex.Score != 12 {
			t.Errorf("a2 after the segment changed: %v, want 12", ex.Score)
		}
		// A new lead is placed in the segment when it is written.
		l := crm.Lead{LastName: "New", Industry: "Retail", Status: crm.LeadNew, OwnerID: &f.org.RepB.ID, CreatedAt: asOf}
		must(t, s.Leads.Create(ctx, crm.System, &l))
		must(t, leads.RescoreLead(ctx, s, l.ID, asOf))
		if stats, _ := leads.Segments(ctx, s, admin); stats[0].Leads != 2 {
			t.Errorf("retail segment after a new retail lead: %d leads, want 2", stats[0].Leads)
		}
		must(t, leads.DeleteSegment(ctx, s, admin, sg.ID))
		if stats, _ := leads.Segments(ctx, s, admin); len(stats) != 0 {
			t.Errorf("after delete: %+v", stats)
		}
	})
}

// A manual segment holds the leads added to it, by whom may see them; its
// members survive every rescore (one lead, and all after a segment is
// saved), scoring rules see them, and a rule segment takes no lead by hand.
func TestManualSegment(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		admin := storetest.As(f.org.Admin)
		_, err := leads.SaveSegment(ctx, s, admin, "m.yaml", []byte("name: Follow up\nmanual: true\n"), asOf)
		must(t, err)
		_, err = leads.SaveSegment(ctx, s, admin, "s.yaml", []byte(segment), asOf)
		must(t, err)
		withList := strings.Replace(model, "engagement:", "  - name: On the follow-up list\n    field: segments\n    contains: Follow up\n    points: 3\nengagement:", 1)
		_, err = leads.Apply(ctx, s, admin, "m.yaml", []byte(withList), asOf)
		must(t, err)
		set := func(p crm.Principal, seg string, lead int64, member bool) (bool, error) {
			var changed bool
			err := s.WithBulk(ctx, func(b *store.Bulk) error {
				var err error
				changed, err = leads.SetMember(ctx, s, b, p, seg, lead, member)
				return err
			})
			return changed, err
		}
		before := scoreOf(t, s, admin, f.a1.ID).Score
		if ch, err := set(storetest.As(f.org.RepA1), "Follow up", f.a1.ID, true); err != nil || !ch {
			t.Fatalf("the owner adds their lead: %v %v", ch, err)
		}
		if ch, err := set(storetest.As(f.org.RepA1), "Follow up", f.a1.ID, true); err != nil || ch {
			t.Errorf("adding it again: changed %v, %v", ch, err)
		}
		if _, err := set(storetest.As(f.org.RepB), "Follow up", f.a1.ID, true); !errors.Is(err, crm.ErrNotFound) && !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("another team's rep adding the lead: %v", err)
		}
		if _, err := set(admin, "Software", f.a2.ID, true); !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), "manual: true") {
			t.Errorf("a lead added to a rule segment: %v", err)
		}
		if _, err := set(admin, "Nope", f.a2.ID, true); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("an unknown segment: %v", err)
		}
		must(t, leads.RescoreLead(ctx, s, f.a1.ID, asOf))
		if got := scoreOf(t, s, admin, f.a1.ID).Score; got != before+3 {
			t.Errorf("a1 on the list: %v, want %v + 3", got, before)
		}
		// Saving a segment rescores every lead: the list stays.
		_, err = leads.SaveSegment(ctx, s, admin, "s.yaml", []byte(strings.Replace(segment, "software", "retail", 1)), asOf)
		must(t, err)
		members := func() int64 {
			stats, err := leads.Segments(ctx, s, admin)
			must(t, err)
			for _, st := range stats {
				if st.Name == "Follow up" {
					return st.Leads
				}
			}
			return -1
		}
		if n := members(); n != 1 || scoreOf(t, s, admin, f.a1.ID).Score != before+3 {
			t.Errorf("after every lead was rescored: %d members, score %v", n, scoreOf(t, s, admin, f.a1.ID).Score)
		}
		if ch, err := set(admin, "Follow up", f.a1.ID, false); err != nil || !ch {
			t.Fatalf("remove: %v %v", ch, err)
		}
		must(t, leads.RescoreLead(ctx, s, f.a1.ID, asOf))
		if n := members(); n != 0 || scoreOf(t, s, admin, f.a1.ID).Score != before {
			t.Errorf("after removal: %d members, score %v, want 0 and %v", n, scoreOf(t, s, admin, f.a1.ID).Score, before)
		}
	})
}

func FuzzParseSegment(f *testing.F) {
	for _, name := range []string{"icp-mid-market-tech.yaml", "enterprise-regulated.yaml"} {
		if data, err := os.ReadFile("../../examples/segments/" + name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(segment))
	f.Fuzz(func(t *testing.T, data []byte) {
		sg, err := leads.ParseSegment("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, crm.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		sg.Matches(leads.NewSubject(&crm.Lead{}, nil, nil).Record) // an empty lead must not panic
	})
}
