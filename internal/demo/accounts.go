package demo

import (
	"math"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// account is what the generator keeps in memory of each account (about 64
// bytes): enough to place deals on it and to write its row and contacts.
type account struct {
	created      int64
	customerFrom int64 // when it became a customer; math.MaxInt64 if not (yet)
	contactStart int64 // index of its first contact
	employees    int64
	owner        int32 // index into org.reps
	team         int16
	county       uint16
	nameIdx      int32 // its rank among the accounts of its industry
	seg          segment
	industry     uint8
	currency     uint8
	contacts     uint8
}

var segmentMix = newWeights(0.65, 0.26, 0.09)

// planAccounts draws every account. Accounts are numbered in the order they
// were created: 45% existed before the history starts (the CRM was in use
// before), the others arrive over the years with the business.
func (g *gen) planAccounts() {
	n := g.nAccounts
	g.accts = make([]account, n)
	g.accCreated = make([]int64, n)
	g.accCum = make([]float64, n)
	r := newRNG()
	perIndustry := make([]int32, len(industries))
	indW := make([]float64, len(industries))
	for i, ind := range industries {
		indW[i] = ind.weight
	}
	industryMix := newWeights(indW...)
	const before = 0.45
	preStart := g.start - 3*365*day
	var contacts int64
	var cum float64
	var buf []int
	for a := range n {
		r.seed(g.cfg.Seed, streamAccount, uint64(a))
		acc := &g.accts[a]
		q := (float64(a) + r.Float64()) / float64(n)
		if q < before {
			acc.created = workTime(preStart+int64(q/before*float64(g.start-preStart)), int64(r.IntN(480))*60)
			acc.created = min(acc.created, g.start-day)
		} else {
			acc.created = g.tl.at((q - before) / (1 - before))
		}
		acc.seg = segment(r.pick(segmentMix))
		acc.industry = uint8(r.pick(industryMix))
		acc.nameIdx = perIndustry[acc.industry]
		perIndustry[acc.industry]++
		acc.county = uint16(g.geo.sample(r.Float64()))
		switch acc.seg {
		case segSMB:
			acc.employees = int64(math.Round(math.Exp(r.between(math.Log(8), math.Log(199)))))
			acc.contacts = uint8(1 + r.IntN(3))
		case segMid:
			acc.employees = int64(math.Round(math.Exp(r.between(math.Log(200), math.Log(1999)))))
			acc.contacts = uint8(2 + r.IntN(4))
		default:
			acc.employees = int64(math.Round(math.Exp(r.between(math.Log(2000), math.Log(60000)))))
			acc.contacts = uint8(4 + r.IntN(7))
		}
		switch u := r.Float64(); {
		case u < 0.05:
			acc.currency = curEUR
		case u < 0.08:
			acc.currency = curGBP
		}
		// The teams that cover the account's region and segment; one owns it,
		// and within it a rep employed today.
		cover := g.org.coverage[g.geo.counties[acc.county].region][acc.seg]
		acc.team = int16(cover[r.IntN(len(cover))])
		buf = g.org.activeReps(int(acc.team), g.now-1, buf)
		acc.owner = int32(buf[r.IntN(len(buf))])
		acc.customerFrom = math.MaxInt64
		switch {
		case acc.created < g.start && r.chance(0.5):
			acc.customerFrom = acc.created + int64(r.between(45, 400)*float64(day))
		case acc.created >= g.start && r.chance(0.3):
			acc.customerFrom = acc.created + int64(cycleMedian[acc.seg]*r.between(0.8, 1.6)*float64(day))
		}
		acc.contactStart = contacts
		contacts += int64(acc.contacts)
		g.accCreated[a] = acc.created
		// Bigger accounts and some busier ones see more deals.
		cum += [numSegments]float64{1, 1.6, 2.5}[acc.seg] * r.logNormal(1, 0.5)
		g.accCum[a] = cum
	}
	g.nContacts = contacts
}

// accountAt picks the account of a deal created at t: among the accounts that
// existed then, weighted by size and appetite.
func (g *gen) accountAt(t int64, u float64) int {
	k := sort.Search(len(g.accCreated), func(i int) bool { return g.accCreated[i] > t })
	if k == 0 {
		k = 1
	}
	i := sort.SearchFloat64s(g.accCum[:k], u*g.accCum[k-1])
	return min(i, k-1)
}

func (g *gen) accountName(a int) (name, domain string) {
	acc := &g.accts[a]
	return companyName(int(acc.industry), int(acc.nameIdx))
}

var accountColumns = []string{"id", "name", "domain", "industry", "employees", "annual_revenue", "country", "state", "city",
	"latitude", "longitude", "owner_id", "segment", "created_at"}

// accountRow writes account a into row.
func (g *gen) accountRow(r *rng, a int, row []any) {
	acc := &g.accts[a]
	r.seed(g.cfg.Seed, streamAccount, uint64(a)|1<<40)
	name, domain := g.accountName(a)
	ind := industries[acc.industry]
	rev := float64(acc.employees) * ind.revPer * r.logNormal(1, 0.35)
	c := &g.geo.counties[acc.county]
	lat, lng := g.geo.place(int(acc.county), r)
	industry := any(ind.name)
	if r.chance(0.01) { // a few records are incomplete, as in every CRM
		industry = ""
	}
	row[0] = g.accBase + int64(a)
	row[1] = name
	row[2] = domain
	row[3] = industry
	row[4] = acc.employees
	row[5] = decimal.New(int64(math.Round(rev/1000))*1000, 0)
	row[6] = "US"
	row[7] = c.state
	row[8] = c.name
	row[9] = lat
	row[10] = lng
	row[11] = g.org.reps[acc.owner].idBox
	row[12] = segmentNames[acc.seg]
	row[13] = time.Unix(acc.created, 0).UTC()
}

var contactColumns = []string{"id", "account_id", "first_name", "last_name", "email", "phone", "title", "owner_id", "created_at"}

// contactRows writes the contacts of account a (one row of width
// len(contactColumns) each) into rows.
func (g *gen) contactRows(r *rng, a int, rows []any) []any {
	acc := &g.accts[a]
	_, domain := g.accountName(a)
	accID := any(g.accBase + int64(a))
	owner := g.org.reps[acc.owner].idBox
	titles := jobTitles[acc.seg]
	var used [16]string
	for k := range int(acc.contacts) {
		ci := acc.contactStart + int64(k)
		r.seed(g.cfg.Seed, streamContact, uint64(ci))
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		local := emailLocal(first, last)
		for _, u := range used[:k] {
			if u == local {
				local += "2"
			}
		}
		used[k] = local
		created := acc.created + int64(k)*int64(r.between(0, 200)*float64(day))
		created = min(workTime(created, int64(r.IntN(300))*60), g.now-hour)
		created = max(created, acc.created)
		rows = append(rows, g.contactBase+ci, accID, first, last, local+"@"+domain,
			phone(r), titles[r.IntN(len(titles))], owner, time.Unix(created, 0).UTC())
	}
	return rows
}

// phone makes a US number in the 555-01xx block reserved for fiction.
func phone(r *rng) string {
	b := []byte("+1 (000) 555-0100")
	area := 201 + r.IntN(780)
	b[4], b[5], b[6] = byte('0'+area/100), byte('0'+area/10%10), byte('0'+area%10)
	n := r.IntN(100)
	b[15], b[16] = byte('0'+n/10), byte('0'+n%10)
	return string(b)
}
