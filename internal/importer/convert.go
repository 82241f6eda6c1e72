package importer

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// rowCtx converts one record for one plan, collecting its problems.
type rowCtx struct {
	rn     *runner
	p      *filePlan
	rec    []string
	line   int
	bad    bool
	skip   bool   // the row is left out on purpose (a lead event without a kind)
	failed uint64 // fields already reported
}

// fail records a problem with field f; the row will be rejected.
func (c *rowCtx) fail(f int, value, reason string) {
	c.bad = true
	c.failed |= 1 << uint(f)
	c.rn.problem(c.p.name, c.line, c.p.label(f), value, reason)
}

// raw is the text of field f, refused (and reported once) when it is not
// fit to store: the same rule as every other writer's (crm.TextProblem).
func (c *rowCtx) raw(f int) (string, bool) {
	col := c.p.cols[f]
	if col == nil || c.failed&(1<<uint(f)) != 0 {
		return "", false
	}
	s, ok := col.raw(c.rec)
	if !ok {
		return "", false
	}
	if why := crm.TextProblem(s); why != "" {
		c.fail(f, abbreviate(s), why)
		return "", false
	}
	return s, true
}

// abbreviate keeps a refused value short enough to quote in a problem.
func abbreviate(s string) string {
	const keep = 60
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", `\0`)
	n := 0
	for i := range s {
		if n == keep {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func (c *rowCtx) str(f int) string {
	s, _ := c.raw(f)
	return s
}

// ext returns an external id (nil when empty), normalising Salesforce Ids.
func (c *rowCtx) ext(f int) *string {
	s, ok := c.raw(f)
	if !ok {
		return nil
	}
	if c.p.cols[f].sfid {
		id, ok := sfID18(s)
		if !ok {
			c.fail(f, s, "not a Salesforce Id (15 or 18 letters and digits)")
			return nil
		}
		s = id
	}
	return &s
}

func (c *rowCtx) money(f int) (decimal.Decimal, bool) {
	s, ok := c.raw(f)
	if !ok {
		return decimal.Decimal{}, false
	}
	col := c.p.cols[f]
	d, err := col.vals.decimal(s)
	if err != nil {
		c.fail(f, s, "not an amount")
		return decimal.Decimal{}, false
	}
	if col.scaled {
		d = d.Mul(col.scale)
	}
	d = d.Round(2)
	if d.Abs().GreaterThan(crm.MaxAmount) {
		c.fail(f, s, "above the largest amount, "+crm.MaxAmount.String())
		return decimal.Decimal{}, false
	}
	return d, true
}

func (c *rowCtx) integer(f int) (int64, bool) {
	s, ok := c.raw(f)
	if !ok {
		return 0, false
	}
	col := c.p.cols[f]
	if col.scaled {
		d, err := col.vals.decimal(s)
		if err != nil {
			c.fail(f, s, "not a number")
			return 0, false
		}
		d = d.Mul(col.scale).Round(0)
		if !d.Abs().LessThan(decimal.New(1, 18)) {
			c.fail(f, s, "too large")
			return 0, false
		}
		return d.IntPart(), true
	}
	n, err := col.vals.integer(s)
	if err != nil {
		c.fail(f, s, err.Error())
		return 0, false
	}
	return n, true
}

func (c *rowCtx) float(f int) (float64, bool) {
	s, ok := c.raw(f)
	if !ok {
		return 0, false
	}
	col := c.p.cols[f]
	v, err := col.vals.float(s)
	if err != nil {
		c.fail(f, s, "not a number")
		return 0, false
	}
	if col.scaled {
		sc, _ := col.scale.Float64()
		v *= sc
	}
	return v, true
}

// probability reads 0–1; "45%" or percent: true read 0–100.
func (c *rowCtx) probability(f int) (float64, bool) {
	s, ok := c.raw(f)
	if !ok {
		return 0, false
	}
	col := c.p.cols[f]
	pct := col.percent || strings.HasSuffix(s, "%")
	v, err := col.vals.float(strings.TrimSuffix(s, "%"))
	if err != nil {
		c.fail(f, s, "not a probability")
		return 0, false
	}
	if pct || (v > 1 && v <= 100) {
		v /= 100 // 45 is 45% whatever the column says; 1 stays 100%
	}
	if v < 0 || v > 1 {
		c.fail(f, s, "a probability is between 0 and 1 (or 0% and 100%)")
		return 0, false
	}
	return math.Round(v*1e6) / 1e6, true
}

func (c *rowCtx) date(f int) (time.Time, bool) {
	s, ok := c.raw(f)
	if !ok {
		return time.Time{}, false
	}
	d, err := c.p.cols[f].vals.date(s)
	if err != nil {
		c.fail(f, s, err.Error())
		return time.Time{}, false
	}
	if y := d.Year(); y < 1900 || y > 2200 {
		c.fail(f, s, "the year is out of range")
		return time.Time{}, false
	}
	return d.Time, true
}

func (c *rowCtx) timestamp(f int) (time.Time, bool) {
	s, ok := c.raw(f)
	if !ok {
		return time.Time{}, false
	}
	t, err := c.p.cols[f].vals.timestamp(s)
	if err != nil {
		c.fail(f, s, err.Error())
		return time.Time{}, false
	}
	if y := t.Year(); y < 1900 || y > 2200 {
		c.fail(f, s, "the year is out of range")
		return time.Time{}, false
	}
	return t.Truncate(time.Microsecond), true
}

func (c *rowCtx) boolean(f int) (bool, bool) {
	s, ok := c.raw(f)
	if !ok {
		return false, false
	}
	b, err := boolean(s)
	if err != nil {
		c.fail(f, s, err.Error())
		return false, false
	}
	return b, true
}

// refKey reads a reference's key, normalising Salesforce Ids.
func (c *rowCtx) refKey(f int) (string, bool) {
	s, ok := c.raw(f)
	if !ok {
		return "", false
	}
	if c.p.cols[f].sfid {
		id, ok := sfID18(s)
		if !ok {
			c.fail(f, s, "not a Salesforce Id (15 or 18 letters and digits)")
			return "", false
		}
		return id, true
	}
	return s, true
}

func (c *rowCtx) createMissing(f int) bool { return c.rn.opt.CreateMissing || c.p.cols[f].create }

// user resolves a reference to a user (nil when empty or unknown).
func (c *rowCtx) user(f int) *int64 {
	key, ok := c.refKey(f)
	if !ok {
		return nil
	}
	match := c.p.cols[f].match
	id := c.rn.refs.lookupUser(key, match)
	switch {
	case id == ambiguous:
		c.fail(f, key, "several users have this name (match them by email)")
		return nil
	case id == 0 && (c.createMissing(f) || c.p.hubspot):
		u := c.rn.stubUser(key, match, crm.RoleRep)
		return &u.ID
	case id == 0:
		c.fail(f, key, "no user with this "+matchWord(match, "user"))
		return nil
	}
	return &id
}

// account resolves a reference to an account.
func (c *rowCtx) account(f int) *int64 {
	key, ok := c.refKey(f)
	if !ok {
		return nil
	}
	byName := c.p.cols[f].match == "name"
	var id int64
	if byName {
		id = c.rn.refs.accountName[normName(key)]
	} else {
		id = c.rn.refs.accountExt[key]
	}
	switch {
	case id == ambiguous:
		c.fail(f, key, "several accounts have this name")
		return nil
	case id == 0 && c.createMissing(f):
		id = c.rn.stubAccount(key, byName)
	case id == 0:
		c.fail(f, key, "no account with this "+matchWord(c.p.cols[f].match, "account"))
		return nil
	}
	return &id
}

// product resolves a reference to a product.
func (c *rowCtx) product(f int) *int64 {
	key, ok := c.refKey(f)
	if !ok {
		return nil
	}
	byName := c.p.cols[f].match == "name"
	var id int64
	if byName {
		id = c.rn.refs.productName[normName(key)]
	} else {
		id = c.rn.refs.productExt[key]
		if id == 0 && c.rn.src.pricebook != nil {
			if p2, ok := c.rn.src.pricebook[key]; ok {
				key = p2
				id = c.rn.refs.productExt[p2]
			}
		}
	}
	switch {
	case id == ambiguous:
		c.fail(f, key, "several products have this name")
		return nil
	case id == 0 && c.createMissing(f):
		id = c.rn.stubProduct(key, byName)
	case id == 0:
		c.fail(f, key, "no product with this "+matchWord(c.p.cols[f].match, "product"))
		return nil
	}
	return &id
}

func matchWord(match, entity string) string {
	switch match {
	case "name":
		return "name"
	case "email":
		return "email"
	case "":
		if entity == "user" {
			return "id, email or name"
		}
	}
	return "external id"
}

// validation reports the problems of a crm Validate call against the
// fields (and columns) they came from.
func (c *rowCtx) validation(err error) {
	var ve *crm.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			c.bad = true
			c.rn.problem(c.p.name, c.line, "", "", err.Error())
		}
		return
	}
	for _, fe := range ve.Fields {
		idx := -1
		for i, fd := range c.p.entity.fields {
			if fd.name == fe.Field || fd.crm == fe.Field {
				idx = i
				break
			}
		}
		if idx < 0 {
			c.bad = true
			c.rn.problem(c.p.name, c.line, fe.Field, "", fe.Reason)
			continue
		}
		if c.failed&(1<<uint(idx)) != 0 {
			continue // already reported (an unknown reference is also "required")
		}
		v, _ := c.raw(idx)
		c.fail(idx, v, fe.Reason)
	}
}

// currency reads the field or falls back to the plan's default, then the
// corporate currency; it must be known.
func (c *rowCtx) currency(f int) string {
	cur := strings.ToUpper(c.str(f))
	if cur == "" {
		cur = c.p.currency
	}
	if cur == "" {
		cur = c.rn.refs.corporate
	}
	if crm.ValidCurrencyCode(cur) && !c.rn.refs.currencies[cur] {
		c.fail(f, cur, "not a known currency (add it under /api/currencies)")
	}
	return cur
}

// stage resolves a deal's stage by name, creating it when the source says
// what kind it is (is_closed / is_won), when the plan guesses kinds from
// names, or with CreateMissing.
func (c *rowCtx) stage(fStage, fClosed, fWon, fProb, fCat int) *crm.Stage {
	name, ok := c.raw(fStage)
	if !ok {
		return nil
	}
	var closed, won, hasClosed, hasWon bool
	if fClosed >= 0 {
		closed, hasClosed = c.boolean(fClosed)
	}
	if fWon >= 0 {
		won, hasWon = c.boolean(fWon)
	}
	var kind crm.StageKind
	switch {
	case hasWon && won:
		kind = crm.StageWon
	case hasClosed && !closed:
		kind = crm.StageOpen
	case hasClosed && closed && hasWon:
		kind = crm.StageLost
	case hasClosed && closed:
		if kind = guessKind(name); kind == crm.StageOpen {
			kind = crm.StageLost
		}
	}
	st := c.rn.refs.stage(name)
	if st != nil {
		if kind != "" && st.Kind != kind {
			c.fail(fStage, name, fmt.Sprintf("the stage is %s in Quarterdeck but the row says %s", st.Kind, kind))
		}
		return st
	}
	if h, ok := c.rn.src.stageHints[strings.ToLower(name)]; ok && kind == "" {
		kind = h.Kind
	}
	if kind == "" {
		if !c.p.stageGuess && !c.rn.opt.CreateMissing {
			c.fail(fStage, name, "unknown stage (define it under stages: in the mapping, or create missing records)")
			return nil
		}
		kind = guessKind(name)
	}
	def := crm.Stage{Name: name, Kind: kind, Probability: defaultProbability(kind), ForecastCategory: defaultCategory(kind)}
	if h, ok := c.rn.src.stageHints[strings.ToLower(name)]; ok && h.Kind == kind {
		def = h
	}
	if fProb >= 0 && kind == crm.StageOpen {
		if p, ok := c.probability(fProb); ok {
			def.Probability = p
		}
	}
	if fCat >= 0 && kind == crm.StageOpen {
		if s, ok := c.raw(fCat); ok {
			if fc, ok := forecastCategory(s); ok {
				def.ForecastCategory = fc
			}
		}
	}
	if err := def.Validate(); err != nil {
		c.fail(fStage, name, err.Error())
		return nil
	}
	return c.rn.addStage(def)
}

// guessKind reads won / lost from a stage name ("Closed Won", "Lost").
func guessKind(name string) crm.StageKind {
	n := " " + strings.ToLower(spaced(name, "-_/")) + " "
	switch {
	case strings.Contains(n, " won ") || strings.Contains(n, "closedwon") || strings.Contains(n, " win "):
		return crm.StageWon
	case strings.Contains(n, " lost ") || strings.Contains(n, "closedlost") || strings.Contains(n, " dead ") ||
		strings.Contains(n, " disqualified ") || strings.Contains(n, " churned "):
		return crm.StageLost
	}
	return crm.StageOpen
}

// forecastCategory reads Salesforce's and HubSpot's forecast categories.
func forecastCategory(s string) (crm.ForecastCategory, bool) {
	switch s { // the common spellings, without allocating
	case "Pipeline", "pipeline":
		return crm.ForecastPipeline, true
	case "Best Case", "BestCase", "best_case":
		return crm.ForecastBestCase, true
	case "Commit", "commit", "Forecast":
		return crm.ForecastCommit, true
	case "Closed", "closed":
		return crm.ForecastClosed, true
	case "Omitted", "omitted":
		return crm.ForecastOmitted, true
	}
	n := strings.ToLower(squeeze(s, " _-"))
	switch n {
	case "pipeline", "pipe":
		return crm.ForecastPipeline, true
	case "bestcase", "best", "upside":
		return crm.ForecastBestCase, true
	case "commit", "forecast", "committed", "mostlikely":
		return crm.ForecastCommit, true
	case "closed", "closedwon", "won":
		return crm.ForecastClosed, true
	case "omitted", "omit", "notforecasted", "closedlost", "lost":
		return crm.ForecastOmitted, true
	}
	return "", false
}

// squeeze removes the given characters from s.
func squeeze(s, chars string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return -1
		}
		return r
	}, s)
}

// spaced turns the given characters of s into spaces.
func spaced(s, chars string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return ' '
		}
		return r
	}, s)
}

// wordCache remembers the reading of the few spellings a column uses.
type wordCache[T any] struct {
	m  map[string]T
	fn func(string) T
}

func (w *wordCache[T]) get(s string) T {
	if v, ok := w.m[s]; ok {
		return v
	}
	v := w.fn(s)
	if len(w.m) < 1000 {
		if w.m == nil {
			w.m = map[string]T{}
		}
		w.m[s] = v
	}
	return v
}

// dealType reads common wordings of new business, expansion and renewal;
// anything else counts as new business.
func dealType(s string) crm.DealType {
	n := strings.ToLower(s)
	switch {
	case strings.Contains(n, "renew") || strings.Contains(n, "replace") || strings.Contains(n, "downgrade"):
		return crm.DealRenewal
	case strings.Contains(n, "upgrade") || strings.Contains(n, "upsell") || strings.Contains(n, "expan") ||
		strings.Contains(n, "cross") || strings.Contains(n, "add-on") || strings.Contains(n, "existing business") ||
		strings.Contains(n, "existing customer") || strings.Contains(n, "existingbusiness"):
		return crm.DealExpansion
	}
	return crm.DealNew
}

// leadStatus reads common CRM lead statuses (Salesforce's "Open - Not
// Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not
// Converted"; HubSpot's NEW, OPEN, IN_PROGRESS, UNQUALIFIED, ...).
func leadStatus(s string) crm.LeadStatus {
	n := strings.ToLower(spaced(s, "_-"))
	switch {
	case n == "" || strings.Contains(n, "not contacted") || strings.Contains(n, "untouched"):
		return crm.LeadNew
	case strings.Contains(n, "not converted") || strings.Contains(n, "unqualified") || strings.Contains(n, "disqualified") ||
		strings.Contains(n, "junk") || strings.Contains(n, "bad timing") || strings.Contains(n, "lost") || strings.Contains(n, "recycle"):
		return crm.LeadDisqualified
	case strings.Contains(n, "convert"):
		return crm.LeadConverted
	case strings.Contains(n, "qualified") || strings.Contains(n, "open deal") || strings.Contains(n, "sql"):
		return crm.LeadQualified
	case strings.Contains(n, "working") || strings.Contains(n, "contacted") || strings.Contains(n, "progress") ||
		strings.Contains(n, "attempt") || strings.Contains(n, "connected") || strings.Contains(n, "nurtur") || n == "open":
		return crm.LeadWorking
	}
	return crm.LeadNew
}

// activityKind reads activity types and subtypes; unknown ones are "other".
func activityKind(s string, def crm.ActivityKind) crm.ActivityKind {
	n := strings.ToLower(strings.TrimSpace(s))
	switch {
	case n == "":
		return def
	case strings.Contains(n, "demo"):
		return crm.ActivityDemo
	case strings.Contains(n, "call") || strings.Contains(n, "phone"):
		return crm.ActivityCall
	case strings.Contains(n, "mail"):
		return crm.ActivityEmail
	case strings.Contains(n, "meet") || strings.Contains(n, "event") || strings.Contains(n, "visit") || strings.Contains(n, "lunch"):
		return crm.ActivityMeeting
	case strings.Contains(n, "task") || strings.Contains(n, "to do") || strings.Contains(n, "todo") || strings.Contains(n, "follow"):
		return crm.ActivityTask
	}
	return crm.ActivityOther
}

func direction(s string) crm.Direction {
	n := strings.ToLower(s)
	switch {
	case strings.HasPrefix(n, "in"):
		return crm.DirectionInbound
	case strings.HasPrefix(n, "out"):
		return crm.DirectionOutbound
	}
	return crm.DirectionNone
}

// nullable values for rows: a typed nil would confuse the drivers.
func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func strOrNil(p *string) any { return ptrOrNil(p) }

func (c *rowCtx) optInt(f int) any {
	if v, ok := c.integer(f); ok {
		return v
	}
	return nil
}

func (c *rowCtx) optMoney(f int) any {
	if v, ok := c.money(f); ok {
		return v
	}
	return nil
}

func (c *rowCtx) optFloat(f int) any {
	if v, ok := c.float(f); ok {
		return v
	}
	return nil
}

func (c *rowCtx) optDate(f int) any {
	if v, ok := c.date(f); ok {
		return v
	}
	return nil
}
