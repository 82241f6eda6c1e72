package importer

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Email Opened":                 "email_opened",
		"Page Visited on Website":      "page_visited_on_website",
		"SMS Sent":                     "sms_sent",
		"View in browser link Clicked": "view_in_browser_link_clicked",
		"EmailOpened":                  "email_opened",
		"HTMLFormSubmitted":            "html_form_submitted",
		"email_open":                   "email_open",
		"  web--visit  ":               "web_visit",
		"Step 2 done":                  "step_2_done",
		"step2Done":                    "step2_done",
		"Webinar: attended (live)":     "webinar_attended_live",
		"Événement Réussi":             "événement_réussi",
		"":                             "",
		" - ":                          "",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// leadEventMapping feeds leads with named custom fields, and their events
// from an events file (with times) and from the leads file (without).
const leadEventMapping = `source: events test
files:
  - file: leads.csv
    entity: lead
    columns:
      external_id: Id
      last_name: {template: "Lead {Id}"}
      city: {column: City, map: {Select: ""}}
      custom_fields: [Raw]
    custom_fields:
      visits: Visits
      plan: {column: Plan, map: {Select: ""}, default: none}
      origin: {value: web}
      label: {template: "{Id}-{Visits}"}
      grade: {column: Grade, map: {a: top}, else: other}
    ignore: [Last]
  - file: leads.csv
    entity: lead_event
    columns:
      lead: Id
      kind: {column: Last, map: {Modified: ""}}
    ignore_other_columns: true
  - file: events.csv
    entity: lead_event
    columns:
      lead: Lead
      kind: What
      occurred_at: When
      detail: Detail
`

func TestLeadEventsAndCustomFields(t *testing.T) {
	files := map[string]string{
		"mapping.yaml": leadEventMapping,
		"leads.csv": "Id,City,Raw,Visits,Plan,Grade,Last\n" +
			"L1,Select,r1,1532,Select,A,Email Opened\n" + // line 2
			"L2,Pune,,2.5,Pro,B,Modified\n" + // line 3: "Modified" is mapped to no event
			"L3,,Select,0,,,\n", // line 4: no last activity
		"events.csv": "Lead,What,When,Detail\n",
	}
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	at := func(s string) time.Time { t, _ := time.Parse(time.DateTime, s); return t }
	// Each row of events.csv and what becomes of it.
	cases := []struct {
		name, row string
		kind      string // stored kind ("" = not stored)
		when      time.Time
		detail    string
		problem   string // "" = none
		skipped   bool
	}{
		{name: "with a time", row: "L1,Form Submitted,2025-05-01 10:00:00,/pricing", kind: "form_submitted", when: at("2025-05-01 10:00:00"), detail: "/pricing"},
		{name: "camel case kind", row: "L2,WebinarAttended,2025-05-02 09:30:00,", kind: "webinar_attended", when: at("2025-05-02 09:30:00")},
		{name: "no time: the lead's creation", row: "L3,email_click,,", kind: "email_click", when: now},
		{name: "no kind: skipped", row: "L1,,2025-05-03 00:00:00,x", skipped: true},
		{name: "unknown lead", row: "L9,Email Opened,2025-05-04 00:00:00,", problem: "events.csv:6: Lead: L9: no lead with this external id, stored or accepted in this import"},
		{name: "no lead", row: ",Email Opened,2025-05-04 00:00:00,", problem: "events.csv:7: Lead: is required"},
		{name: "bad time", row: "L1,Email Opened,yesterday,", problem: "events.csv:8: When: yesterday: not a date or time"},
	}
	for _, c := range cases {
		files["events.csv"] += c.row + "\n"
	}
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		dir := writeFiles(t, files)
		res, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{Now: now, SkipInvalid: true})
		if err != nil {
			t.Fatal(err)
		}
		var problems []string
		for _, p := range res.Problems {
			problems = append(problems, p.String())
		}
		all := strings.Join(problems, "\n")
		stored, skipped := 0, 2 // L2's "Modified" and L3's empty last activity
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.problem != "" && !strings.Contains(all, c.problem) {
					t.Errorf("no problem %q in:\n%s", c.problem, all)
				}
				if c.kind == "" {
					return
				}
				var when time.Time
				var detail string
				err := s.DB().QueryRow(`SELECT e.occurred_at, e.detail FROM lead_events e JOIN leads l ON l.id = e.lead_id WHERE e.kind = $1`, c.kind).Scan(&when, &detail)
				if err != nil || !when.Equal(c.when) || detail != c.detail {
					t.Errorf("event %s: at %s, detail %q (%v); want %s, %q", c.kind, when, detail, err, c.when, c.detail)
				}
			})
			if c.kind != "" {
				stored++
			}
			if c.skipped {
				skipped++
			}
		}
		stored++ // L1's email_opened from the leads file
		if len(problems) != 3 || res.Rejected != 3 || res.Skipped != int64(skipped) || res.PerEntity["lead_events"] != int64(stored) {
			t.Errorf("result %s %v, problems:\n%s", res.Summary(), res.PerEntity, all)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_events`); got != int64(stored) {
			t.Errorf("%d events stored, want %d", got, stored)
		}
		if got := queryString(t, s, `SELECT CAST(e.occurred_at AS VARCHAR) FROM lead_events e JOIN leads l ON l.id = e.lead_id WHERE l.external_id = 'L1' AND e.kind = 'email_opened'`); !strings.HasPrefix(got, "2025-06-30 12:00:00") {
			t.Errorf("L1's email_opened at %s, want the lead's creation (the import's time)", got)
		}

		// Custom fields: named, read like columns; the list form keeps the header's name.
		want := map[string]map[string]string{
			"L1": {"Raw": "r1", "visits": "1532", "plan": "none", "origin": "web", "label": "L1-1532", "grade": "top"},
			"L2": {"visits": "2.5", "plan": "Pro", "origin": "web", "label": "L2-2.5", "grade": "other"},
			"L3": {"Raw": "Select", "visits": "0", "plan": "none", "origin": "web", "label": "L3-0"},
		}
		for id, w := range want {
			var got crm.CustomFields
			if err := json.Unmarshal([]byte(queryString(t, s, `SELECT custom_fields FROM leads WHERE external_id = $1`, id)), &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(w) {
				t.Errorf("%s: custom fields %v, want %v", id, got, w)
			}
			for k, v := range w {
				if got[k] != v {
					t.Errorf("%s: %s = %q, want %q", id, k, got[k], v)
				}
			}
		}
		if got := queryString(t, s, `SELECT city FROM leads WHERE external_id = 'L1'`); got != "" {
			t.Errorf("L1's city %q: Select is mapped to empty", got)
		}

		// A re-import adds no event again (the same lead, kind, time and detail).
		res2, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{Now: now.Add(time.Hour), SkipInvalid: true})
		if err != nil {
			t.Fatal(err)
		}
		if res2.Inserted != 0 || res2.Updated != 0 {
			t.Errorf("re-import: %s", res2.Summary())
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_events`); got != int64(stored) {
			t.Errorf("after re-import: %d events, want %d", got, stored)
		}
	})
}

func TestLeadEventsAndCustomFieldsMappingErrors(t *testing.T) {
	csv := map[string]string{"leads.csv": "Id,Visits,Last\nL1,3,Email Opened\n", "accounts.csv": "Name,Visits\nAcme,3\n"}
	for _, c := range []struct {
		name, mapping, want string
	}{
		{"custom fields on accounts", "files:\n  - file: accounts.csv\n    entity: account\n    columns: {name: Name}\n    custom_fields: {visits: Visits}\n",
			"files[0].custom_fields: custom_fields: is for leads"},
		{"a name with spaces", "files:\n  - file: leads.csv\n    entity: lead\n    columns: {external_id: Id}\n    custom_fields: {Total Visits: Visits}\n    ignore: [Last]\n",
			"files[0].custom_fields.Total Visits: Total Visits: a custom field's name is letters, digits and underscores"},
		{"a column the file lacks", "files:\n  - file: leads.csv\n    entity: lead\n    columns: {external_id: Id}\n    custom_fields: {visits: Views}\n    ignore: [Visits, Last]\n",
			"leads.csv:1: Views: no such column (mapped to custom_fields.visits in mapping.yaml"},
		{"a number option", "files:\n  - file: leads.csv\n    entity: lead\n    columns: {external_id: Id}\n    custom_fields: {visits: {column: Visits, scale: 2}}\n    ignore: [Last]\n",
			"files[0].custom_fields.visits.scale: 2: scale: is for numbers"},
		{"named twice", "files:\n  - file: leads.csv\n    entity: lead\n    columns: {external_id: Id, custom_fields: [Visits]}\n    custom_fields: {Visits: Last}\n",
			"the custom field Visits is given twice"},
		{"no custom field column", "files:\n  - file: leads.csv\n    entity: lead\n    columns: {external_id: Id}\n    custom_fields: {visits: }\n    ignore: [Visits, Last]\n",
			"files[0].custom_fields.visits: names no column"},
		{"an event without a kind", "files:\n  - file: leads.csv\n    entity: lead_event\n    columns: {lead: Id}\n    ignore_other_columns: true\n",
			"leads.csv:1: kind: lead events need a kind: map a column to it"},
		{"an event without a lead", "files:\n  - file: leads.csv\n    entity: lead_event\n    columns: {kind: Last}\n    ignore_other_columns: true\n",
			"leads.csv:1: lead: lead events need a lead: map a column to it"},
		{"an unknown event field", "files:\n  - file: leads.csv\n    entity: lead_events\n    columns: {lead: Id, kind: Last, points: Visits}\n",
			"a lead_event has no field \"points\" (fields: lead, kind, occurred_at, detail)"},
		{"an event key", "files:\n  - file: leads.csv\n    entity: lead_event\n    key: external_id\n    columns: {lead: Id, kind: Last}\n    ignore: [Visits]\n",
			"files[0].key: external_id: a lead_event is not matched to stored ones by a key (leave key: out)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"mapping.yaml": c.mapping}
			for k, v := range csv {
				files[k] = v
			}
			dir := writeFiles(t, files)
			s := storetest.OpenDuckDB(t)
			_, err := ImportMapped(ctx, s, filepath.Join(dir, "mapping.yaml"), dir, Options{SkipInvalid: true})
			if !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("want an error saying %q, got %v", c.want, err)
			}
		})
	}
}
