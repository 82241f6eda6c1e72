package demo

import (
	"context"
	"fmt"
	"math"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// The demo company sells a SaaS platform in three editions, add-ons and
// services, priced per year in US dollars. One old edition is retired: it
// only appears on deals from the first year of the history.

type productFamily uint8

const (
	famPlatform productFamily = iota
	famAddOn
	famServices
)

type productSpec struct {
	name   string
	family productFamily
	price  int64 // list price in dollars
	active bool
}

var familyNames = [...]string{"Platform", "Add-ons", "Services"}

// Indexes into the catalogue.
const (
	prodCore = iota
	prodProfessional
	prodEnterprise
	prodClassic
	prodAnalytics
	prodAutomation
	prodConnectors
	prodSecurity
	prodImplementation
	prodTraining
	prodSupport
	numProducts
)

var products = [numProducts]productSpec{
	prodCore:           {name: "Beacon Core", family: famPlatform, price: 9_000, active: true},
	prodProfessional:   {name: "Beacon Professional", family: famPlatform, price: 24_000, active: true},
	prodEnterprise:     {name: "Beacon Enterprise", family: famPlatform, price: 85_000, active: true},
	prodClassic:        {name: "Beacon Classic", family: famPlatform, price: 7_500, active: false},
	prodAnalytics:      {name: "Analytics Add-on", family: famAddOn, price: 6_000, active: true},
	prodAutomation:     {name: "Workflow Automation", family: famAddOn, price: 8_500, active: true},
	prodConnectors:     {name: "Data Connectors", family: famAddOn, price: 4_800, active: true},
	prodSecurity:       {name: "Advanced Security", family: famAddOn, price: 12_000, active: true},
	prodImplementation: {name: "Implementation Services", family: famServices, price: 15_000, active: true},
	prodTraining:       {name: "Training Workshop", family: famServices, price: 3_500, active: true},
	prodSupport:        {name: "Premium Support", family: famServices, price: 7_200, active: true},
}

// createProducts stores the catalogue and returns the ids by product index.
func createProducts(ctx context.Context, s *store.Store) ([numProducts]int64, error) {
	var ids [numProducts]int64
	for i, ps := range products {
		p := crm.Product{Name: ps.name, Family: familyNames[ps.family], ListPrice: decimal.NewFromInt(ps.price), Currency: "USD", Active: ps.active}
		if err := s.Products.Create(ctx, crm.System, &p); err != nil {
			return ids, fmt.Errorf("demo: create product %s: %w", p.Name, err)
		}
		ids[i] = p.ID
	}
	return ids, nil
}

// line is one product on a deal.
type line struct {
	product int
	qty     int64
	unit    int64 // unit price in cents of the deal's currency
}

// chooseLines picks the products of a deal, consistent with the account's
// segment and the deal type, with the segment's usual discount. usdToDeal
// converts a dollar price into the deal's currency.
func chooseLines(r *rng, seg segment, typ crm.DealType, early bool, usdToDeal float64, out []line) []line {
	out = out[:0]
	var disc float64
	switch seg {
	case segSMB:
		disc = r.between(0, 0.10)
	case segMid:
		disc = r.between(0.05, 0.20)
	default:
		disc = r.between(0.10, 0.30)
	}
	if typ == crm.DealRenewal {
		disc = r.between(0, 0.08)
	}
	add := func(p int, qty int) {
		unit := int64(math.Round(float64(products[p].price)*(1-disc)*usdToDeal)) * 100
		out = append(out, line{product: p, qty: int64(qty), unit: unit})
	}
	platform := []int{prodCore, prodProfessional, prodEnterprise}[seg]
	if early && seg == segSMB && r.chance(0.5) {
		platform = prodClassic
	}
	addOn := func() int { return prodAnalytics + r.IntN(4) }
	switch typ {
	case crm.DealRenewal:
		add(platform, seatPacks(r, seg))
		if seg != segSMB && r.chance(0.45) {
			add(prodSupport, 1)
		}
	case crm.DealExpansion:
		first := addOn()
		add(first, 1+r.IntN(int(seg)+1))
		if r.chance(0.35) {
			if second := addOn(); second != first {
				add(second, 1)
			}
		}
		if r.chance(0.4) {
			add(platform, 1+r.IntN(2))
		}
	default:
		add(platform, seatPacks(r, seg))
		switch seg {
		case segSMB:
			if r.chance(0.3) {
				add(addOn(), 1)
			}
			if r.chance(0.2) {
				add(prodTraining, 1)
			}
		case segMid:
			if r.chance(0.6) {
				add(addOn(), 1+r.IntN(2))
			}
			if r.chance(0.45) {
				add(prodImplementation, 1)
			}
			if r.chance(0.3) {
				add(prodTraining, 1+r.IntN(2))
			}
		default:
			first := addOn()
			add(first, 1+r.IntN(3))
			if r.chance(0.6) {
				if second := addOn(); second != first {
					add(second, 1+r.IntN(2))
				}
			}
			if r.chance(0.75) {
				add(prodImplementation, 1+r.IntN(3))
			}
			if r.chance(0.55) {
				add(prodSupport, 1)
			}
		}
	}
	return out
}

// seatPacks is how many units of the platform a deal of the segment buys.
func seatPacks(r *rng, seg segment) int {
	switch seg {
	case segSMB:
		return 1 + r.IntN(3)
	case segMid:
		return 1 + r.IntN(4)
	}
	return 1 + r.IntN(4) + r.IntN(3)
}
