// Package demo generates a realistic sales organisation into a fresh store:
// teams in four US regions under managers and a VP, reps who are hired, ramp
// up and leave, with quotas; accounts at real US counties; contacts,
// products, leads with their engagement, opportunities with believable stage
// histories, activities, costs and exchange rates. The data is a pure
// function of Config (the same seed and day give the same data), and big
// sizes (a million deals, ten million activities) stream through the
// store's bulk path: about 45 seconds on two free cores. See docs/demo.md.
package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// Config says what to generate.
type Config struct {
	Seed          int64
	Opportunities int // default 5,000 ("small"); at most MaxOpportunities
	Activities    int // default 10 × Opportunities
	// Now is "today" of the demo: nothing happens after it, and the history
	// spans about three fiscal years before it. Default: midnight UTC of the
	// current day, so that a seed gives the same data all day.
	Now time.Time
	// Progress, when set, is told how far each stage is. Calls never overlap
	// but may come from different goroutines. Stages, in order:
	// "organisation", "opportunities", "done".
	Progress func(stage string, done, total int64)
}

// MaxOpportunities is the largest demo Generate makes.
const MaxOpportunities = 10_000_000

// Sizes are the named sizes of SizeConfig.
var Sizes = []string{"small", "medium", "large"}

// SizeConfig returns the configuration of a named size: "small" (5,000
// opportunities, 50,000 activities), "medium" (100,000 and 1,000,000) or
// "large" (1,000,000 and 10,000,000). Seed and Now are left zero.
func SizeConfig(size string) (Config, error) {
	switch strings.ToLower(strings.TrimSpace(size)) {
	case "small", "":
		return Config{Opportunities: 5_000, Activities: 50_000}, nil
	case "medium":
		return Config{Opportunities: 100_000, Activities: 1_000_000}, nil
	case "large":
		return Config{Opportunities: 1_000_000, Activities: 10_000_000}, nil
	}
	return Config{}, fmt.Errorf("%w: demo size %q: want small, medium or large", crm.ErrInvalid, size)
}

// Login is a demo user who can sign in, and what they see.
type Login struct {
	Role     crm.Role
	Email    string
	Password string
	Name     string
	Sees     string
}

// Summary tells what Generate made.
type Summary struct {
	Logins  []Login
	Counts  map[string]int64 // rows per table
	Elapsed time.Duration
	// Filled by the caller after Generate: forecast calls submitted and
	// days of forecast snapshots taken, leads scored (see SubmitCalls,
	// forecast.Backfill, ApplyScoring).
	Calls, Snapshots int
	Scored           int64 // leads scored by the demo's scoring models (see ApplyScoring)
	Runs             int   // workflow runs of the demo's morning (see ApplyAutomation)
}

// gen holds everything the generation shares. After planning it is only
// read, by any number of workers.
type gen struct {
	cfg   Config
	s     *store.Store
	cal   crm.FiscalCalendar
	start int64 // first day of the history (a fiscal quarter's start)
	now   int64
	tl    *timeline
	geo   *geography
	org   *org
	fx    *fxTable

	quarters   []crm.Period
	qBounds    []int64 // quarter boundaries (Unix), for quarterBounds
	productBox [numProducts]any

	nAccounts  int
	nContacts  int64
	nOpps      int
	nLeads     int // leads that did not convert
	nChunks    int
	accts      []account
	accCreated []int64
	accCum     []float64

	accBase, contactBase, oppBase, leadBase int64
	leadCap                                 int64 // lead ids reserved per chunk

	oppActScale   float64 // expected activities per unit of deal weight
	leadActScale  float64 // share of the usual lead follow-ups that fit the budget
	internalTotal int64   // internal activities spread over the chunks

	pools      [numTables]sync.Pool // emptied row buffers per table
	progressMu sync.Mutex
}

const chunkSize = 2048

// Generate fills a fresh store (no users yet) with a demo organisation.
// On error the store may hold part of it: start again with a fresh one.
func Generate(ctx context.Context, s *store.Store, cfg Config) (Summary, error) {
	began := time.Now()
	if cfg.Opportunities == 0 {
		cfg.Opportunities = 5_000
	}
	if cfg.Activities == 0 {
		cfg.Activities = 10 * cfg.Opportunities
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now().UTC().Truncate(24 * time.Hour)
	}
	probs := crm.NewProblems("demo")
	probs.Require(cfg.Opportunities > 0 && cfg.Opportunities <= MaxOpportunities, "opportunities", fmt.Sprintf("must be 1 to %d", MaxOpportunities))
	probs.Require(cfg.Activities > 0 && cfg.Activities <= 20*MaxOpportunities, "activities", fmt.Sprintf("must be 1 to %d", 20*MaxOpportunities))
	probs.Require(cfg.Now.Year() >= 2000 && cfg.Now.Year() < 9000, "now", "must be a date between 2000 and 9000")
	if err := probs.Err(); err != nil {
		return Summary{}, err
	}
	if n, err := s.CountUsers(ctx); err != nil {
		return Summary{}, fmt.Errorf("demo: %w", err)
	} else if n > 0 {
		return Summary{}, fmt.Errorf("%w: demo: the database already has %d users; generate into a fresh database", crm.ErrInvalid, n)
	}
	g := &gen{cfg: cfg, s: s, nOpps: cfg.Opportunities}
	if err := g.checkReference(ctx); err != nil {
		return Summary{}, err
	}

	// The history: from the start of the fiscal quarter three years ago, with
	// half a year of deals before it so that the first quarter already has a
	// pipeline, up to now.
	g.now = cfg.Now.UTC().Unix()
	g.start = g.cal.PeriodOf(cfg.Now.UTC().AddDate(-3, 0, 0), crm.GrainQuarter).Start.Unix()
	g.tl = newTimeline(dayStart(g.start-182*day), g.now, 0.35)
	g.planQuarters()
	g.planQuarterBounds()
	var err error
	if g.geo, err = loadGeography(); err != nil {
		return Summary{}, err
	}
	g.fx = newFX(cfg.Seed, g.tl.start, g.now)
	g.org = planOrg(cfg.Seed, g.nOpps, g.start, g.now)

	counts := map[string]int64{}
	orgProgress := func(done, total int64) { g.progress("organisation", done, total) }
	if err := g.org.create(ctx, s, orgProgress); err != nil {
		return Summary{}, err
	}
	counts["teams"] = int64(len(g.org.teams) + len(regions) + 1)
	counts["users"] = int64(len(g.org.people) + len(g.org.reps))
	ids, err := createProducts(ctx, s)
	if err != nil {
		return Summary{}, err
	}
	for i, id := range ids {
		g.productBox[i] = id
	}
	counts["products"] = numProducts
	if counts["exchange_rates"], err = g.fx.store(ctx, s); err != nil {
		return Summary{}, err
	}
	logins, err := g.logins(ctx)
	if err != nil {
		return Summary{}, err
	}

	g.nAccounts = max(200, g.nOpps/6)
	g.nLeads = g.nOpps
	g.planAccounts()
	g.calibrate()

	if err := g.fill(ctx, counts); err != nil {
		return Summary{}, err
	}
	sum := Summary{Logins: logins, Counts: counts, Elapsed: time.Since(began)}
	g.progress("done", 1, 1)
	return sum, nil
}

func (g *gen) progress(stage string, done, total int64) {
	if g.cfg.Progress == nil {
		return
	}
	g.progressMu.Lock()
	defer g.progressMu.Unlock()
	g.cfg.Progress(stage, done, total)
}

// checkReference makes sure the store has what the demo writes against:
// US dollars as the corporate currency, and the seeded pipeline stages.
func (g *gen) checkReference(ctx context.Context) error {
	st, err := g.s.Settings(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if st.CorporateCurrency != "USD" {
		return fmt.Errorf("%w: demo: the corporate currency is %s; the demo is priced in USD", crm.ErrInvalid, st.CorporateCurrency)
	}
	if g.cal, err = g.s.Calendar(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	stages, err := g.s.Stages(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	kinds := map[string]crm.StageKind{}
	for _, s := range stages {
		kinds[s.Name] = s.Kind
	}
	for i, name := range stageNames {
		if kinds[name] != stageKinds[i] {
			return fmt.Errorf("%w: demo: the pipeline needs stage %q of kind %s", crm.ErrInvalid, name, stageKinds[i])
		}
	}
	return nil
}

// calibrate sizes the activity budget from a sample of deals and leads:
// about 64% on deals, 20% on leads, 10% internal work planned over the
// history, and the rest internal work topped up at the end.
func (g *gen) calibrate() {
	n := min(g.nOpps, 4096)
	r := newRNG()
	var p oppPlan
	var w float64
	var first, follow float64 // lead activities per sampled deal at full follow-up
	for k := range n {
		i := int(int64(k) * int64(g.nOpps) / int64(n))
		g.planOpp(r, i, &p)
		w += g.oppActivityWeight(&p)
		if p.lead {
			first++
			follow += 2
		}
	}
	var l leadStub
	var buf []int
	for k := range n {
		j := int(int64(k) * int64(g.nLeads) / int64(n))
		buf = g.unconvertedLead(r, j, &l, buf)
		if l.resp != 0 && l.owner >= 0 {
			first += float64(g.nLeads) / float64(g.nOpps)
			follow += float64(g.nLeads) / float64(g.nOpps) * [...]float64{lsNew: 0, lsWorking: 2, lsQualified: 3, lsDisqualified: 1, lsConverted: 2}[l.status]
		}
	}
	T := float64(g.cfg.Activities)
	scale := float64(g.nOpps) / float64(n)
	g.oppActScale = 0.64 * T / (w * scale)
	g.leadActScale = max(0, min(1, (0.2*T-first*scale)/(follow*scale)))
	g.internalTotal = int64(0.1 * T)
	g.nChunks = (g.nOpps + chunkSize - 1) / chunkSize
	g.leadCap = chunkSize + int64(math.Ceil(float64(g.nLeads)*chunkSize/float64(g.nOpps))) + 2
}

// logins gives the demo users a password and says what each sees.
func (g *gen) logins(ctx context.Context) ([]Login, error) {
	o := g.org
	// The manager and rep: the team selling to mid-market accounts in the
	// first region, and its longest-serving rep who is still there.
	ti := 0
	for i, t := range o.teams {
		if t.region == 0 && slices.Contains(t.segs, segMid) {
			ti = i
			break
		}
	}
	t := &o.teams[ti]
	rep, active := -1, 0
	for _, ri := range t.reps {
		if o.reps[ri].leave == math.MaxInt64 {
			active++
			if rep < 0 || o.reps[ri].hire < o.reps[rep].hire {
				rep = ri
			}
		}
	}
	type who struct {
		p    *person
		sees string
	}
	list := []who{
		{&o.people[o.admin], "everything, and manages users and settings (sales operations admin)"},
		{&o.people[o.ops], "every record of every team; changes sales data, quotas and settings (sales operations analyst)"},
		{&o.people[o.vp], fmt.Sprintf("every deal, lead, activity and quota of the whole sales organisation: %d teams in %d regions (VP of Sales)", len(o.teams), len(regions))},
		{&o.people[t.manager], fmt.Sprintf("the deals, leads, activities and quotas of team %s (%d reps) and their own", t.name, active)},
		{&o.reps[rep], fmt.Sprintf("only their own deals, leads, activities and quota (a rep in %s)", t.name)},
		{&o.people[o.viewer], "aggregates only: the home page's totals, no records (finance)"},
	}
	var out []Login
	for _, w := range list {
		pw, err := password()
		if err != nil {
			return nil, err
		}
		if err := g.s.SetPassword(ctx, crm.System, w.p.id, pw); err != nil {
			return nil, fmt.Errorf("demo: set password of %s: %w", w.p.email, err)
		}
		out = append(out, Login{Role: w.p.role, Email: w.p.email, Password: pw, Name: w.p.name(), Sees: w.sees})
	}
	return out, nil
}

// password makes a random password such as "kq7m-2xwd-p9ft" (about 62 bits).
// Passwords are not derived from the seed: anyone can know the seed.
func password() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo: password: %w", err)
	}
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(x)%len(alphabet)])
	}
	return sb.String(), nil
}

// workers is how many goroutines make chunks.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }
