package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// HubSpot's export (CRM > Companies / Contacts / Deals > Export) writes one
// file per object, headed with the properties' labels ("Record ID", "Deal
// Name", "Deal Stage", "Associated Company IDs", ...). Files are recognised
// by name (hubspot-crm-exports-all-deals-2024-05-01.csv, deals.csv, ...).
// HubSpot exports carry no users file: the owners they name become reps.
// Deal stages come as labels, or as internal ids for the default pipeline
// (appointmentscheduled, ..., closedwon, closedlost), which are translated.

// hubspotStages is HubSpot's default sales pipeline.
var hubspotStages = []struct {
	id, label string
	kind      crm.StageKind
	prob      float64
}{
	{"appointmentscheduled", "Appointment Scheduled", crm.StageOpen, 0.2},
	{"qualifiedtobuy", "Qualified To Buy", crm.StageOpen, 0.4},
	{"presentationscheduled", "Presentation Scheduled", crm.StageOpen, 0.6},
	{"decisionmakerboughtin", "Decision Maker Bought-In", crm.StageOpen, 0.8},
	{"contractsent", "Contract Sent", crm.StageOpen, 0.9},
	{"closedwon", "Closed Won", crm.StageWon, 1},
	{"closedlost", "Closed Lost", crm.StageLost, 0},
}

var hubspotLeadStages = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
	"marketing qualified lead", "sales qualified lead", "mql", "sql"}

func hsCol(names ...string) *ColumnSpec { return &ColumnSpec{Column: names, Optional: true} }

// hsCompanyRef references the deal's or contact's company: by Record ID
// when the export has the ids, else by name.
func hsCompanyRef(header []string) *ColumnSpec {
	ids := []string{"Associated Company IDs (Primary)", "Associated Company IDs", "Associated Company ID", "Company ID", "Associated Company ID (Primary)"}
	for _, c := range ids {
		if findColumn(header, c) >= 0 {
			return &ColumnSpec{Column: ids, Optional: true, Split: ";", Match: "external_id"}
		}
	}
	return &ColumnSpec{Column: []string{"Associated Company (Primary)", "Associated Company", "Company Name", "Company name"}, Optional: true, Split: ";", Match: "name"}
}

func hubspotSource(dir string) (*source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	src := &source{name: "hubspot", dir: dir, stageHints: map[string]crm.Stage{}}
	stageMap := map[string]string{}
	for _, s := range hubspotStages {
		stageMap[s.id] = s.label
		src.stageHints[strings.ToLower(s.label)] = crm.Stage{Name: s.label, Kind: s.kind, Probability: s.prob, ForecastCategory: defaultCategory(s.kind)}
	}
	m := &Mapping{path: "hubspot"}
	var probs []Problem
	add := func(file string, fm *FileMapping) {
		fm.File, fm.IgnoreOtherColumns = file, true
		p, ps := m.compileEntry(fm, dir)
		probs = append(probs, ps...)
		if p != nil {
			p.hubspot, p.stageGuess = true, true
			src.plans = append(src.plans, p)
		}
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
			files = append(files, e.Name())
		}
	}
	slices.Sort(files)
	for _, file := range files {
		lower := strings.ToLower(file)
		r, err := openCSV(dir, file, 0)
		if err != nil {
			probs = append(probs, Problem{File: file, Reason: strings.TrimPrefix(err.Error(), file+": ")})
			continue
		}
		header := r.header
		r.close()
		owner := func(label string) *ColumnSpec { return hsCol(label, "Owner", "HubSpot Owner") }
		switch {
		case strings.Contains(lower, "compan"):
			add(file, &FileMapping{Entity: "account", Columns: map[string]*ColumnSpec{
				"external_id": hsCol("Record ID", "Company ID"), "name": hsCol("Company name", "Name"),
				"domain": hsCol("Company Domain Name", "Website URL", "Domain"), "industry": hsCol("Industry"),
				"employees": hsCol("Number of Employees"), "annual_revenue": hsCol("Annual Revenue"),
				"country": hsCol("Country/Region", "Country"), "state": hsCol("State/Region", "State"), "city": hsCol("City"),
				"postal_code": hsCol("Postal Code", "Zip"), "owner": owner("Company owner"), "created_at": hsCol("Create Date"),
				"segment": hsCol("Type", "Company Type"),
				"parent":  {Column: []string{"Parent Company ID", "Parent Company IDs"}, Optional: true, Match: "external_id", Split: ";"},
			}})
		case strings.Contains(lower, "contact"):
			add(file, &FileMapping{Entity: "contact", Columns: map[string]*ColumnSpec{
				"external_id": hsCol("Record ID", "Contact ID"), "first_name": hsCol("First Name"), "last_name": hsCol("Last Name"),
				"email": hsCol("Email"), "phone": hsCol("Phone Number", "Mobile Phone Number"), "title": hsCol("Job Title"),
				"owner": owner("Contact owner"), "account": hsCompanyRef(header), "created_at": hsCol("Create Date"),
			}})
			if ls := findColumn(header, "Lifecycle Stage"); ls >= 0 {
				add(file, &FileMapping{Entity: "lead", Where: &Where{Column: header[ls], In: hubspotLeadStages}, Columns: map[string]*ColumnSpec{
					"external_id": hsCol("Record ID", "Contact ID"), "first_name": hsCol("First Name"), "last_name": hsCol("Last Name"),
					"email": hsCol("Email"), "title": hsCol("Job Title"), "company": hsCol("Company Name", "Associated Company"),
					"industry": hsCol("Industry"), "country": hsCol("Country/Region", "Country"), "state": hsCol("State/Region"),
					"city": hsCol("City"), "status": hsCol("Lead Status"), "source": hsCol("Original Source", "Original Traffic Source"),
					"channel": hsCol("Original Source Drill-Down 1"), "owner": owner("Contact owner"), "created_at": hsCol("Create Date"),
				}})
			}
		case strings.Contains(lower, "deal"):
			stage := hsCol("Deal Stage")
			stage.Map = stageMap
			prob := hsCol("Deal probability", "Deal Stage Probability")
			add(file, &FileMapping{Entity: "opportunity", Columns: map[string]*ColumnSpec{
				"external_id": hsCol("Record ID", "Deal ID"), "name": hsCol("Deal Name"), "stage": stage,
				"amount": hsCol("Amount", "Amount in company currency"), "currency": hsCol("Deal currency code", "Currency"),
				"expected_close": hsCol("Close Date"), "closed_at": hsCol("Close Date"), "created_at": hsCol("Create Date"),
				"owner": owner("Deal owner"), "account": hsCompanyRef(header), "type": hsCol("Deal Type"),
				"forecast_category": hsCol("Forecast category", "Forecast Category"), "probability": prob,
				"is_won": hsCol("Is Closed Won", "Is closed won"), "loss_reason": hsCol("Closed Lost Reason"),
				"source": hsCol("Original Source Type", "Original Traffic Source"),
			}})
		}
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	if len(src.plans) == 0 {
		return nil, fmt.Errorf("import: %s holds no HubSpot export (files named like *companies*.csv, *contacts*.csv, *deals*.csv): %w", dir, crm.ErrInvalid)
	}
	return src, nil
}
