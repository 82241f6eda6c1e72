package importer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Salesforce exports (the weekly Data Export and Data Loader) write one CSV
// per object, headed with the objects' API field names, every value quoted,
// Ids of 15 or 18 characters. The built-in plans below map those names;
// columns an org does not have are simply absent, and custom fields (__c)
// are ignored, except on leads, where they become custom fields.

// sfCol is a column spec for built-in plans: optional columns, first present wins.
func sfCol(names ...string) *ColumnSpec { return &ColumnSpec{Column: names, Optional: true} }

// sfRef is a reference by Salesforce Id.
func sfRef(prefix string, names ...string) *ColumnSpec {
	c := sfCol(names...)
	c.SalesforceID, c.Match, c.Prefix = true, "external_id", prefix
	return c
}

func sfID(names ...string) *ColumnSpec {
	c := sfCol(names...)
	c.SalesforceID = true
	return c
}

func sfPercent(names ...string) *ColumnSpec {
	c := sfCol(names...)
	c.Percent = true
	return c
}

type sfFile struct {
	file    string
	entity  *entityDef
	columns map[string]*ColumnSpec
}

var salesforceFiles = []sfFile{
	{"User.csv", entUser, map[string]*ColumnSpec{"external_id": sfID("Id"), "name": sfCol("Name"), "first_name": sfCol("FirstName"),
		"last_name": sfCol("LastName"), "email": sfCol("Email"), "active": sfCol("IsActive"), "manager": sfRef("005", "ManagerId")}},
	{"Account.csv", entAccount, map[string]*ColumnSpec{"external_id": sfID("Id"), "name": sfCol("Name"), "domain": sfCol("Website"),
		"industry": sfCol("Industry"), "employees": sfCol("NumberOfEmployees"), "annual_revenue": sfCol("AnnualRevenue"),
		"country": sfCol("BillingCountry", "ShippingCountry"), "state": sfCol("BillingState", "ShippingState"), "city": sfCol("BillingCity", "ShippingCity"),
		"postal_code": sfCol("BillingPostalCode", "ShippingPostalCode"), "latitude": sfCol("BillingLatitude"), "longitude": sfCol("BillingLongitude"),
		"owner": sfRef("005", "OwnerId"), "parent": sfRef("001", "ParentId"), "segment": sfCol("Segment__c", "Type"), "created_at": sfCol("CreatedDate")}},
	{"Product2.csv", entProduct, map[string]*ColumnSpec{"external_id": sfID("Id"), "name": sfCol("Name"), "family": sfCol("Family"),
		"active": sfCol("IsActive"), "currency": sfCol("CurrencyIsoCode")}},
	{"Contact.csv", entContact, map[string]*ColumnSpec{"external_id": sfID("Id"), "account": sfRef("001", "AccountId"), "first_name": sfCol("FirstName"),
		"last_name": sfCol("LastName"), "name": sfCol("Name"), "email": sfCol("Email"), "phone": sfCol("Phone", "MobilePhone"), "title": sfCol("Title"),
		"owner": sfRef("005", "OwnerId"), "created_at": sfCol("CreatedDate")}},
	{"Lead.csv", entLead, map[string]*ColumnSpec{"external_id": sfID("Id"), "first_name": sfCol("FirstName"), "last_name": sfCol("LastName"),
		"name": sfCol("Name"), "email": sfCol("Email"), "company": sfCol("Company"), "title": sfCol("Title"), "industry": sfCol("Industry"),
		"employees": sfCol("NumberOfEmployees"), "annual_revenue": sfCol("AnnualRevenue"), "country": sfCol("Country"), "state": sfCol("State"),
		"city": sfCol("City"), "source": sfCol("LeadSource"), "status": sfCol("Status"), "is_converted": sfCol("IsConverted"),
		"owner": sfRef("005", "OwnerId"), "created_at": sfCol("CreatedDate"), "converted_at": sfCol("ConvertedDate"),
		"converted_opportunity": sfRef("006", "ConvertedOpportunityId")}},
	{"Opportunity.csv", entOpportunity, map[string]*ColumnSpec{"external_id": sfID("Id"), "name": sfCol("Name"), "account": sfRef("001", "AccountId"),
		"owner": sfRef("005", "OwnerId"), "amount": sfCol("Amount"), "currency": sfCol("CurrencyIsoCode"), "stage": sfCol("StageName"),
		"is_closed": sfCol("IsClosed"), "is_won": sfCol("IsWon"), "probability": sfPercent("Probability"),
		"forecast_category": sfCol("ForecastCategoryName", "ForecastCategory"), "type": sfCol("Type"), "source": sfCol("LeadSource"),
		"created_at": sfCol("CreatedDate"), "expected_close": sfCol("CloseDate"), "closed_at": sfCol("CloseDate"),
		"loss_reason": sfCol("Loss_Reason__c", "LossReason__c", "Reason_Lost__c", "Closed_Lost_Reason__c")}},
	{"OpportunityHistory.csv", entHistory, map[string]*ColumnSpec{"opportunity": sfRef("006", "OpportunityId"), "changed_at": sfCol("CreatedDate"),
		"stage": sfCol("StageName"), "amount": sfCol("Amount"), "expected_close": sfCol("CloseDate"),
		"forecast_category": sfCol("ForecastCategory"), "probability": sfPercent("Probability")}},
	{"OpportunityLineItem.csv", entLineItem, map[string]*ColumnSpec{"opportunity": sfRef("006", "OpportunityId"),
		"product": sfRef("", "Product2Id", "PricebookEntryId"), "quantity": sfCol("Quantity"), "unit_price": sfCol("UnitPrice"),
		"total_price": sfCol("TotalPrice")}},
	{"Task.csv", entActivity, map[string]*ColumnSpec{"external_id": sfID("Id"), "kind": sfCol("TaskSubtype", "Type"), "subject": sfCol("Subject"),
		"owner": sfRef("005", "OwnerId"), "account": sfRef("001", "AccountId", "WhatId"), "contact": sfRef("003", "WhoId"), "lead": sfRef("00Q", "WhoId"),
		"opportunity": sfRef("006", "WhatId"), "occurred_at": sfCol("CompletedDateTime", "ActivityDate", "CreatedDate"),
		"duration_seconds": sfCol("CallDurationInSeconds"), "direction": sfCol("CallType"), "outcome": sfCol("CallDisposition", "Status")}},
	{"Event.csv", entActivity, map[string]*ColumnSpec{"external_id": sfID("Id"), "kind": sfCol("Type", "EventSubtype"), "subject": sfCol("Subject"),
		"owner": sfRef("005", "OwnerId"), "account": sfRef("001", "AccountId", "WhatId"), "contact": sfRef("003", "WhoId"), "lead": sfRef("00Q", "WhoId"),
		"opportunity": sfRef("006", "WhatId"), "occurred_at": sfCol("StartDateTime", "ActivityDateTime", "ActivityDate"),
		"duration_minutes": sfCol("DurationInMinutes")}},
}

// findFile finds name in dir ignoring case; "" when absent.
func findFile(dir string, entries []os.DirEntry, name string) string {
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(e.Name(), name) {
			return e.Name()
		}
	}
	return ""
}

func salesforceSource(dir string) (*source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	src := &source{name: "salesforce", dir: dir}
	m := &Mapping{path: "salesforce"}
	var probs []Problem
	var names []string
	for _, def := range salesforceFiles {
		names = append(names, def.file)
		file := findFile(dir, entries, def.file)
		if file == "" {
			continue
		}
		fm := &FileMapping{File: file, Entity: def.entity.name, Columns: def.columns, IgnoreOtherColumns: true}
		if hasColumn(filepath.Join(dir, file), "IsDeleted") {
			fm.Where = &Where{Column: "IsDeleted", NotIn: []string{"true", "1"}}
		}
		p, ps := m.compileEntry(fm, dir)
		probs = append(probs, ps...)
		if p == nil {
			continue
		}
		p.salesforce = true
		p.eventKinds = strings.EqualFold(def.file, "Event.csv")
		if def.entity == entUser {
			p.emailDomain = "salesforce.invalid"
		}
		if def.entity == entLead {
			for i, h := range p.header {
				if strings.HasSuffix(h, "__c") {
					p.custom = append(p.custom, i)
				}
			}
		}
		src.plans = append(src.plans, p)
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	if len(src.plans) == 0 {
		return nil, fmt.Errorf("import: %s holds none of the Salesforce export files (%s): %w", dir, strings.Join(names, ", "), crm.ErrInvalid)
	}
	if err := src.loadPricebook(dir, entries); err != nil {
		return nil, err
	}
	return src, nil
}

func hasColumn(path, name string) bool {
	r, err := openCSV(filepath.Dir(path), filepath.Base(path), 0)
	if err != nil {
		return false
	}
	defer r.close()
	return findColumn(r.header, name) >= 0
}

// loadPricebook reads PricebookEntry.csv (and Pricebook2.csv to find the
// standard price book): product list prices, and the product of each entry
// for line items exported with PricebookEntryId only.
func (src *source) loadPricebook(dir string, entries []os.DirEntry) error {
	file := findFile(dir, entries, "PricebookEntry.csv")
	if file == "" {
		return nil
	}
	standard := map[string]bool{}
	if pb := findFile(dir, entries, "Pricebook2.csv"); pb != "" {
		err := eachRow(filepath.Join(dir, pb), func(get func(string) string) {
			if b, _ := boolean(get("IsStandard")); b {
				if id, ok := sfID18(get("Id")); ok {
					standard[id] = true
				}
			}
		})
		if err != nil {
			return err
		}
	}
	src.pricebook = map[string]string{}
	src.listPrices = map[string]decimal.Decimal{}
	v := newValues()
	return eachRow(filepath.Join(dir, file), func(get func(string) string) {
		entry, ok1 := sfID18(get("Id"))
		product, ok2 := sfID18(get("Product2Id"))
		if !ok1 || !ok2 {
			return
		}
		src.pricebook[entry] = product
		book, _ := sfID18(get("Pricebook2Id"))
		price, err := v.decimal(get("UnitPrice"))
		if err != nil {
			return
		}
		if _, seen := src.listPrices[product]; !seen || standard[book] {
			src.listPrices[product] = price
		}
	})
}

// eachRow reads a small side file by column name.
func eachRow(path string, fn func(get func(string) string)) error {
	r, err := openCSV(filepath.Dir(path), filepath.Base(path), 0)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer r.close()
	idx := map[string]int{}
	for i, h := range r.header {
		idx[strings.ToLower(h)] = i
	}
	for {
		rec, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if rec.err != "" {
			continue
		}
		fn(func(col string) string {
			if i, ok := idx[strings.ToLower(col)]; ok && i < len(rec.fields) {
				return strings.TrimSpace(rec.fields[i])
			}
			return ""
		})
	}
}
