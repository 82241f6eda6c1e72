package importer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/quarterdeck/quarterdeck/internal/store/storetest"
)

const (
	xeduDir     = "../../../shared/data/leads"
	xeduMapping = "../../examples/x-education/mapping.yaml"
)

// xeduCustom is the custom field each column of the file becomes, as the
// mapping names it; the other columns are lead fields.
var xeduCustom = map[string]string{
	"Lead Number": "lead_number", "Do Not Email": "do_not_email", "Do Not Call": "do_not_call", "TotalVisits": "total_visits",
	"Total Time Spent on Website": "time_on_site", "Page Views Per Visit": "page_views_per_visit", "Last Activity": "last_activity",
	"Last Notable Activity": "last_notable_activity", "Specialization": "specialization", "How did you hear about X Education": "heard_from",
	"What matters most to you in choosing a course": "what_matters_most", "Search": "ad_search", "Magazine": "ad_magazine",
	"Newspaper Article": "ad_newspaper_article", "X Education Forums": "ad_x_education_forums", "Newspaper": "ad_newspaper",
	"Digital Advertisement": "ad_digital_advertisement", "Through Recommendations": "through_recommendations",
	"Receive More Updates About Our Courses": "receive_course_updates", "Update me on Supply Chain Content": "supply_chain_updates",
	"Get updates on DM Content": "dm_content_updates", "I agree to pay the amount through cheque": "pay_by_cheque",
	"A free copy of Mastering The Interview": "free_interview_copy", "Tags": "tags", "Lead Quality": "lead_quality",
	"Lead Profile": "lead_profile", "Asymmetrique Activity Index": "asymmetrique_activity_index",
	"Asymmetrique Profile Index": "asymmetrique_profile_index", "Asymmetrique Activity Score": "asymmetrique_activity_score",
	"Asymmetrique Profile Score": "asymmetrique_profile_score",
}

// xeduLeadFields are the columns that become lead fields, and the column.
var xeduLeadFields = map[string]string{
	"Prospect ID": "external_id", "Lead Origin": "channel", "Lead Source": "source", "Country": "country", "City": "city",
	"What is your current occupation": "title", "Converted": "status",
}

type xeduLead struct {
	last, source, channel, country, city, title, status string
	created                                             time.Time
	custom                                              map[string]string
}

func TestImportXEducation(t *testing.T) {
	if _, err := os.Stat(xeduDir); err != nil {
		t.Skip("the X Education data set is not here: ", err)
	}
	rows := readCSVFile(t, filepath.Join(xeduDir, "leads_train.csv"))
	header := storetest.ReadCSV(t, filepath.Join(xeduDir, "leads_train.csv"))[0]
	if len(header) != 37 {
		t.Fatalf("the file has %d columns, want 37", len(header))
	}
	for _, h := range header {
		if xeduCustom[h] == "" && xeduLeadFields[h] == "" {
			t.Errorf("column %q: the test does not know where it lands", h)
		}
	}

	// What the file says, read independently of the importer.
	var converted, events int64
	kinds := map[string]int64{}
	for _, r := range rows {
		if r["Converted"] == "1" {
			converted++
		}
		if a := r["Last Activity"]; a != "" {
			events++
			kinds[strings.ToLower(strings.ReplaceAll(a, " ", "_"))]++
		}
	}

	storetest.Run(t, func(t *testing.T, s *store.Store) {
		now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
		res, err := ImportMapped(ctx, s, xeduMapping, xeduDir, Options{Now: now})
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		t.Log(res.Summary())
		skipped := int64(len(rows)) - events
		if !res.Committed || res.Rejected != 0 || len(res.Problems) != 0 || res.Skipped != skipped {
			t.Fatalf("result: %s %v", res.Summary(), res.Problems)
		}
		if res.RowsRead != int64(2*len(rows)) || res.PerEntity["leads"] != int64(len(rows)) || res.PerEntity["lead_events"] != events {
			t.Errorf("read %d, per entity %v; want %d rows read, %d leads, %d events", res.RowsRead, res.PerEntity, 2*len(rows), len(rows), events)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM leads`); got != int64(len(rows)) {
			t.Errorf("leads: %d, want %d", got, len(rows))
		}
		if got := count(t, s, `SELECT COUNT(*) FROM leads WHERE status = 'converted'`); got != converted {
			t.Errorf("converted leads: %d, want %d (rows with Converted = 1)", got, converted)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM leads WHERE status = 'disqualified'`); got != int64(len(rows))-converted {
			t.Errorf("disqualified leads: %d, want %d (rows with Converted = 0)", got, int64(len(rows))-converted)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM leads WHERE custom_fields LIKE '%Select%' OR city = 'Select'`); got != 0 {
			t.Errorf("%d leads store the form's \"Select\"", got)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_events`); got != events {
			t.Errorf("events: %d, want %d (rows with a Last Activity)", got, events)
		}
		for kind, n := range kinds {
			if got := count(t, s, `SELECT COUNT(*) FROM lead_events WHERE kind = $1`, kind); got != n {
				t.Errorf("events %s: %d, want %d", kind, got, n)
			}
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_events e JOIN leads l ON l.id = e.lead_id WHERE e.occurred_at = l.created_at AND l.created_at = $1`, now); got != events {
			t.Errorf("%d events at their lead's creation, the import's time; want %d", got, events)
		}

		// Every lead as in the file: its fields, and each column's custom field.
		stored := map[string]xeduLead{}
		rs, err := s.DB().Query(`SELECT external_id, last_name, source, channel, country, city, title, status, created_at, custom_fields FROM leads`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var id, custom string
			var l xeduLead
			if err := rs.Scan(&id, &l.last, &l.source, &l.channel, &l.country, &l.city, &l.title, &l.status, &l.created, &custom); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(custom), &l.custom); err != nil {
				t.Fatalf("%s: custom fields %q: %v", id, custom, err)
			}
			stored[id] = l
		}
		rs.Close()
		notSelect := func(v string) string {
			if v == "Select" {
				return ""
			}
			return v
		}
		for _, r := range rows {
			l, ok := stored[r["Prospect ID"]]
			if !ok {
				t.Errorf("lead %s not stored", r["Prospect ID"])
				continue
			}
			source := r["Lead Source"]
			if source == "google" {
				source = "Google"
			}
			status := "disqualified"
			if r["Converted"] == "1" {
				status = "converted"
			}
			want := xeduLead{last: "Lead " + r["Lead Number"], source: source, channel: r["Lead Origin"], country: r["Country"],
				city: notSelect(r["City"]), title: r["What is your current occupation"], status: status, created: now}
			if l.last != want.last || l.source != want.source || l.channel != want.channel || l.country != want.country ||
				l.city != want.city || l.title != want.title || l.status != want.status || !l.created.Equal(want.created) {
				t.Errorf("lead %s: %+v, want %+v", r["Prospect ID"], l, want)
				continue
			}
			n := 0
			for col, name := range xeduCustom {
				v := notSelect(r[col])
				if l.custom[name] != v {
					t.Errorf("lead %s: %s = %q, want %q (column %s)", r["Prospect ID"], name, l.custom[name], v, col)
				}
				if v != "" {
					n++
				}
			}
			if len(l.custom) != n {
				t.Errorf("lead %s: %d custom fields, want %d: %v", r["Prospect ID"], len(l.custom), n, l.custom)
			}
		}

		// One lead spelled out, as a user would look it up.
		l := stored["8cc8c611-a219-4f35-ad23-fdfd2656bd8a"]
		if l.source != "Direct Traffic" || l.channel != "Landing Page Submission" || l.country != "India" || l.city != "Mumbai" ||
			l.title != "Student" || l.status != "converted" || l.custom["total_visits"] != "2" || l.custom["time_on_site"] != "1532" ||
			l.custom["page_views_per_visit"] != "2" || l.custom["specialization"] != "Business Administration" ||
			l.custom["heard_from"] != "" || l.custom["tags"] != "Will revert after reading the email" {
			t.Errorf("lead 660727: %+v", l)
		}
		if got := queryString(t, s, `SELECT e.kind FROM lead_events e JOIN leads l ON l.id = e.lead_id WHERE l.external_id = '8cc8c611-a219-4f35-ad23-fdfd2656bd8a'`); got != "email_opened" {
			t.Errorf("lead 660727's event: %q, want email_opened", got)
		}

		// A second import changes nothing: same leads, no event doubled.
		res2, err := ImportMapped(ctx, s, xeduMapping, xeduDir, Options{Now: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if res2.Inserted != 0 || res2.Updated != 0 || res2.Rejected != 0 {
			t.Errorf("re-import: %s", res2.Summary())
		}
		if got := count(t, s, `SELECT COUNT(*) FROM lead_events`); got != events {
			t.Errorf("after re-import: %d events, want %d", got, events)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM leads WHERE created_at = $1`, now); got != int64(len(rows)) {
			t.Errorf("after re-import: %d leads kept their creation time, want %d", got, len(rows))
		}
	})
}
