package importer

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The generator of Salesforce-format exports for tests and benchmarks: the
// files a Data Loader export writes (every value quoted, 18-character Ids,
// ISO times with milliseconds and Z), with realistic spreads of stages,
// amounts and dates.

type sfStage struct {
	name     string
	prob     int
	category string // ForecastCategoryName
	api      string // ForecastCategory
	closed   bool
	won      bool
}

var sfStages = []sfStage{
	{"Prospecting", 10, "Pipeline", "Pipeline", false, false},
	{"Qualification", 10, "Pipeline", "Pipeline", false, false},
	{"Needs Analysis", 20, "Pipeline", "Pipeline", false, false},
	{"Value Proposition", 50, "Pipeline", "Pipeline", false, false},
	{"Id. Decision Makers", 60, "Pipeline", "Pipeline", false, false},
	{"Perception Analysis", 70, "Pipeline", "Pipeline", false, false},
	{"Proposal/Price Quote", 75, "Best Case", "BestCase", false, false},
	{"Negotiation/Review", 90, "Commit", "Forecast", false, false},
	{"Closed Won", 100, "Closed", "Closed", true, true},
	{"Closed Lost", 0, "Omitted", "Omitted", true, false},
}

// sfFakeID makes the n-th 18-character Id with the given key prefix.
func sfFakeID(prefix string, n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [12]byte
	for i := 11; i >= 0; i-- {
		b[i] = alphabet[n%62]
		n /= 62
	}
	id15 := prefix + "0" + string(b[1:]) // 3 + 1 + 11 = 15
	return id15 + sfSuffix(id15)
}

var sfOppColumns = []string{"Id", "IsDeleted", "AccountId", "RecordTypeId", "IsPrivate", "Name", "Description", "StageName", "Amount",
	"Probability", "ExpectedRevenue", "TotalOpportunityQuantity", "CloseDate", "Type", "NextStep", "LeadSource", "IsClosed", "IsWon",
	"ForecastCategory", "ForecastCategoryName", "CurrencyIsoCode", "CampaignId", "HasOpportunityLineItem", "Pricebook2Id", "OwnerId",
	"CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp", "LastActivityDate", "FiscalQuarter",
	"FiscalYear", "Fiscal"}

type csvOut struct {
	f *os.File
	w *bufio.Writer
}

func createCSV(path string, header []string) (*csvOut, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	o := &csvOut{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	o.row(header...)
	return o, nil
}

// row writes one record with every value quoted, CRLF-terminated, as Salesforce does.
func (o *csvOut) row(vals ...string) {
	for i, v := range vals {
		if i > 0 {
			o.w.WriteByte(',')
		}
		o.w.WriteByte('"')
		if strings.IndexByte(v, '"') >= 0 {
			v = strings.ReplaceAll(v, `"`, `""`)
		}
		o.w.WriteString(v)
		o.w.WriteByte('"')
	}
	o.w.WriteString("\r\n")
}

func (o *csvOut) close() error {
	if err := o.w.Flush(); err != nil {
		o.f.Close()
		return err
	}
	return o.f.Close()
}

const sfTime = "2006-01-02T15:04:05.000Z"

// writeSalesforceExport writes User.csv, Account.csv and Opportunity.csv with
// the given numbers of rows into dir. The same seed gives the same files.
func writeSalesforceExport(dir string, users, accounts, opps int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	u, err := createCSV(filepath.Join(dir, "User.csv"), []string{"Id", "Username", "LastName", "FirstName", "Name", "Email", "IsActive", "UserRoleId", "ManagerId", "Title", "CreatedDate"})
	if err != nil {
		return err
	}
	for i := range users {
		mgr := ""
		if i > 0 {
			mgr = sfFakeID("005", (i-1)/8)
		}
		first, last := fmt.Sprintf("Rep%d", i), fmt.Sprintf("Seller%d", i)
		u.row(sfFakeID("005", i), fmt.Sprintf("rep%d@example.com.sandbox", i), last, first, first+" "+last,
			fmt.Sprintf("rep%d@example.com", i), "true", "", mgr, "Account Executive", "2019-01-07T09:00:00.000Z")
	}
	if err := u.close(); err != nil {
		return err
	}
	a, err := createCSV(filepath.Join(dir, "Account.csv"), []string{"Id", "IsDeleted", "Name", "Type", "ParentId", "BillingCity", "BillingState",
		"BillingCountry", "Website", "Industry", "AnnualRevenue", "NumberOfEmployees", "OwnerId", "CreatedDate"})
	if err != nil {
		return err
	}
	industries := []string{"Technology", "Manufacturing", "Healthcare", "Finance", "Retail", "Energy", "Education"}
	for i := range accounts {
		a.row(sfFakeID("001", i), "false", fmt.Sprintf("Account %d Inc.", i), "Customer - Direct", "", "Columbus", "OH", "United States",
			fmt.Sprintf("www.account%d.example", i), industries[r.IntN(len(industries))], strconv.Itoa(1_000_000+r.IntN(500_000_000)),
			strconv.Itoa(10+r.IntN(20000)), sfFakeID("005", r.IntN(users)), "2020-03-02T10:00:00.000Z")
	}
	if err := a.close(); err != nil {
		return err
	}
	return writeSalesforceOpportunities(filepath.Join(dir, "Opportunity.csv"), users, accounts, opps, r)
}

func writeSalesforceOpportunities(path string, users, accounts, opps int, r *rand.Rand) error {
	o, err := createCSV(path, sfOppColumns)
	if err != nil {
		return err
	}
	types := []string{"New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement", "Existing Customer - Downgrade", ""}
	sources := []string{"Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", ""}
	base := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	vals := make([]string, len(sfOppColumns))
	for i := range opps {
		st := sfStages[r.IntN(len(sfStages))]
		created := base.Add(time.Duration(r.IntN(4*365*24*3600)) * time.Second)
		closeDate := created.AddDate(0, 0, 14+r.IntN(180))
		amount := float64(500+r.IntN(250_000)) + float64(r.IntN(100))/100
		owner := sfFakeID("005", r.IntN(users))
		fq := (int(closeDate.Month())-1)/3 + 1
		vals[0] = sfFakeID("006", i)
		vals[1] = "false"
		vals[2] = sfFakeID("001", r.IntN(accounts))
		vals[3] = ""
		vals[4] = "false"
		vals[5] = fmt.Sprintf("Opportunity %d - %s", i, st.name)
		vals[6] = ""
		vals[7] = st.name
		vals[8] = strconv.FormatFloat(amount, 'f', 2, 64)
		vals[9] = strconv.Itoa(st.prob)
		vals[10] = strconv.FormatFloat(amount*float64(st.prob)/100, 'f', 2, 64)
		vals[11] = ""
		vals[12] = closeDate.Format("2006-01-02")
		vals[13] = types[r.IntN(len(types))]
		vals[14] = ""
		vals[15] = sources[r.IntN(len(sources))]
		vals[16] = strconv.FormatBool(st.closed)
		vals[17] = strconv.FormatBool(st.won)
		vals[18] = st.api
		vals[19] = st.category
		vals[20] = "USD"
		vals[21] = ""
		vals[22] = "false"
		vals[23] = ""
		vals[24] = owner
		vals[25] = created.Format(sfTime)
		vals[26] = owner
		vals[27] = created.Add(48 * time.Hour).Format(sfTime)
		vals[28] = owner
		vals[29] = vals[27]
		vals[30] = ""
		vals[31] = strconv.Itoa(fq)
		vals[32] = strconv.Itoa(closeDate.Year())
		vals[33] = fmt.Sprintf("%d %d", closeDate.Year(), fq)
		o.row(vals...)
	}
	return o.close()
}
