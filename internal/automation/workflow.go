// Package automation runs workflows over the sales data: "when a deal goes
// stale, create a task for its owner and tell the manager". A workflow is a
// YAML document (a trigger, a condition, steps with branches and waits,
// actions, an error path) compiled once into a small program. Triggers come
// from the store's change feed, committed with the write that caused them;
// runs are jobs of the durable queue, so a restart loses nothing and no step
// runs twice; every step a run takes is logged with what it saw and did.
package automation

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/robfig/cron/v3"
)

// The triggers.
const (
	OnCreated         = "created"           // a record is created
	OnUpdated         = "updated"           // a record is updated (optionally: a field changed from/to)
	OnDeleted         = "deleted"           // a record is deleted: the run sees it as it was
	OnStageChanged    = "stage_changed"     // an opportunity's stage changed
	OnCloseDatePushed = "close_date_pushed" // an opportunity's expected close moved later
	OnDealStale       = "deal_stale"        // an open deal had no activity for days
	OnScoreCrossed    = "score_crossed"     // a lead's score reached a threshold (or its grade one of some)
	OnSLABreached     = "sla_breached"      // a lead's response-time SLA was missed
	OnSchedule        = "schedule"          // a cron schedule: every record that passes the condition enters
	OnWebhook         = "webhook"           // a signed request names the record
	OnManual          = "manual"            // only when run by hand on a selection
)

var triggers = []string{OnCreated, OnUpdated, OnDeleted, OnStageChanged, OnCloseDatePushed, OnDealStale, OnScoreCrossed, OnSLABreached, OnSchedule, OnWebhook, OnManual}

// triggerEntity is the record type of the triggers that have only one.
var triggerEntity = map[string]string{OnStageChanged: "opportunity", OnCloseDatePushed: "opportunity", OnDealStale: "opportunity",
	OnScoreCrossed: "lead", OnSLABreached: "lead"}

// The re-entry policies: how often one record may enter a workflow.
const (
	EnterOnce        = "once"           // once ever
	EnterOneAtATime  = "once_at_a_time" // again only when its previous run has ended
	EnterEveryTime   = "every_time"     // on every trigger event
	defaultMaxDepth  = 3                // loop protection, see Doc.MaxDepth
	defaultTries     = 3                // attempts of a step that calls out
	maxTries         = 20               //
	maxWait          = 365 * 24 * time.Hour
	defaultCheckEach = 15 * time.Minute // how often a wait re-tests its condition
)

var reentries = []string{EnterOnce, EnterOneAtATime, EnterEveryTime}

// Doc is a workflow as written.
type Doc struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Trigger     TriggerDoc `yaml:"trigger"`
	// When is a condition over the record and its relations, tested when
	// the trigger fires: the record enters only if it holds.
	When string `yaml:"when"`
	// Reentry is once, once_at_a_time or every_time [once_at_a_time].
	Reentry string `yaml:"reentry"`
	// MaxDepth bounds loops: a change made by a workflow's own step carries
	// the depth of the run that made it plus one, and an event deeper than
	// MaxDepth starts no run (it is logged as skipped) [3].
	MaxDepth int `yaml:"max_depth"`
	// Team restricts the workflow to records owned in this team (and the
	// teams below it); a manager's workflows must name their own team.
	Team    string    `yaml:"team"`
	Steps   []StepDoc `yaml:"steps"`
	OnError []StepDoc `yaml:"on_error"`
}

// TriggerDoc says what starts a run.
type TriggerDoc struct {
	Type   string `yaml:"type"`
	Entity string `yaml:"entity"` // lead, contact, account, opportunity, activity
	// Changed filters updates: the field changed (and from / to values).
	Changed *ChangeDoc `yaml:"changed"`
	// To filters stage changes by the new stage.
	To []string `yaml:"to"`
	// Days without activity (deal_stale).
	Days int `yaml:"days"`
	// Threshold or Grades (score_crossed), of Model [the general model].
	Threshold *float64 `yaml:"threshold"`
	Grades    []string `yaml:"grades"`
	Model     string   `yaml:"model"`
	// Cron is a schedule's five-field cron expression, in Timezone [UTC].
	Cron     string `yaml:"cron"`
	Timezone string `yaml:"timezone"`
	// SecretEnv names the environment variable holding a webhook trigger's
	// signing secret (requests are signed like Quarterdeck's own webhooks).
	SecretEnv string `yaml:"secret_env"`
}

// ChangeDoc is an "updated" trigger's filter.
type ChangeDoc struct {
	Field string   `yaml:"field"`
	From  []string `yaml:"from"`
	To    []string `yaml:"to"`
}

// StepDoc is one step: exactly one of its kinds is set.
type StepDoc struct {
	Name       string     `yaml:"name"` // shown in the run log instead of the kind
	If         string     `yaml:"if"`
	Then       []StepDoc  `yaml:"then"`
	Else       []StepDoc  `yaml:"else"`
	Wait       *WaitDoc   `yaml:"wait"`
	Notify     *NotifyDoc `yaml:"notify"`
	CreateTask *TaskDoc   `yaml:"create_task"`
	Update     *UpdateDoc `yaml:"update"`
	Assign     *AssignDoc `yaml:"assign"`
	Run        string     `yaml:"run"` // start another workflow on the same record
	// AddToSegment and RemoveFromSegment name a manual lead segment.
	AddToSegment      string `yaml:"add_to_segment"`
	RemoveFromSegment string `yaml:"remove_from_segment"`
	Stop              *bool  `yaml:"stop"`
	Fail              string `yaml:"fail"` // end the run as failed with this reason
}

// WaitDoc pauses a run: for a duration, until a condition holds (re-tested
// every check_every, giving up after timeout), or both.
type WaitDoc struct {
	For        string `yaml:"for"`   // e.g. 30m, 2h, 3d
	Until      string `yaml:"until"` // a condition
	Timeout    string `yaml:"timeout"`
	CheckEvery string `yaml:"check_every"`
}

// NotifyDoc sends a message through a notification channel (Slack, signed
// webhook or e-mail). Title and text may name fields in braces:
// "{opportunity.name} is stale".
type NotifyDoc struct {
	Channel string `yaml:"channel"`
	Title   string `yaml:"title"`
	Text    string `yaml:"text"`
	Tries   int    `yaml:"tries"` // attempts before the error path [3]
}

// TaskDoc creates an activity of kind task.
type TaskDoc struct {
	Subject string `yaml:"subject"`
	DueIn   string `yaml:"due_in"` // e.g. 2d [1d]
	For     string `yaml:"for"`    // owner or manager [owner]
}

// UpdateDoc sets one field of the record.
type UpdateDoc struct {
	Field string `yaml:"field"`
	Value any    `yaml:"value"`
}

// AssignDoc gives the record a new owner: a user by e-mail, the owner's
// manager, or (leads) whoever the active routing rules choose.
type AssignDoc struct {
	To string `yaml:"to"` // an e-mail address, "manager" or "routing"
}

// routes reports whether the step assigns through the routing rules.
func (a *AssignDoc) routes() bool { return a != nil && strings.EqualFold(a.To, "routing") }

// Workflow is a compiled, valid workflow.
type Workflow struct {
	Doc    Doc
	File   string
	fields rules.Fields
	when   *rules.Condition
	change *change
	// schedule and location: a schedule trigger's times.
	schedule cron.Schedule
	location *time.Location
	program  []op
	onError  int // the pc of the error path; -1 without one
}

// change is a compiled "updated" trigger filter.
type change struct {
	field    string
	from, to []string
}

// The kinds of compiled steps.
const (
	opIf     = "if"
	opJump   = "jump"
	opEnd    = "end"
	opWait   = "wait"
	opNotify = "notify"
	opTask   = "create_task"
	opUpdate = "update"
	opAssign = "assign"
	opRun    = "run"
	opFail   = "fail"
	opJoin   = "add_to_segment"
	opLeave  = "remove_from_segment"
)

// op is one instruction of a compiled workflow.
type op struct {
	kind string
	path string // where it is written, e.g. steps[1].then[0]
	name string
	cond *rules.Condition
	jump int // if: the pc when the condition is false; jump: the next pc

	wait       time.Duration
	timeout    time.Duration
	checkEvery time.Duration

	notify  *NotifyDoc
	task    *TaskDoc
	due     time.Duration
	update  *UpdateDoc
	assign  *AssignDoc
	run     string
	reason  string
	segment string
}

// label is what the run log calls the step.
func (o op) label() string {
	if o.name != "" {
		return o.name
	}
	return o.kind
}

// callsOut reports whether the step talks to another system, so it is
// retried with backoff and has a job (and a delivery id) of its own.
func (o op) callsOut() bool { return o.kind == opNotify }

// Parse reads and validates a workflow document. Every problem comes back as
// file:line: field: reason. channels are the configured notification
// channels' names (nil skips that check, for tools that only lint).
func Parse(file string, data []byte, channels []string) (*Workflow, error) {
	var doc Doc
	d, err := definition.Decode(file, data, &doc)
	if err != nil {
		return nil, err
	}
	w := &Workflow{Doc: doc, File: file, onError: -1}
	d.Require(validName(doc.Name), "name", "a workflow needs a name of letters, digits, - and _ (it names the workflow in commands and URLs)")
	if doc.Reentry == "" {
		w.Doc.Reentry = EnterOneAtATime
	}
	d.Require(slices.Contains(reentries, w.Doc.Reentry), "reentry", fmt.Sprintf("%q is not one of %s", doc.Reentry, strings.Join(reentries, ", ")))
	if doc.MaxDepth == 0 {
		w.Doc.MaxDepth = defaultMaxDepth
	}
	d.Require(w.Doc.MaxDepth >= 1 && w.Doc.MaxDepth <= 10, "max_depth", "must be from 1 to 10")

	t := doc.Trigger
	switch {
	case t.Type == "":
		d.Add("trigger.type", "a workflow needs a trigger: one of %s", strings.Join(triggers, ", "))
	case !slices.Contains(triggers, t.Type):
		d.Add("trigger.type", "%q is not a trigger (known: %s)", t.Type, strings.Join(triggers, ", "))
	}
	if want, ok := triggerEntity[t.Type]; ok {
		if t.Entity == "" {
			w.Doc.Trigger.Entity = want
		}
		d.Require(w.Doc.Trigger.Entity == want, "trigger.entity", fmt.Sprintf("%s is a trigger of %s records", t.Type, want))
	}
	only := func(ok bool, field, what string) {
		d.Require(ok, "trigger."+field, fmt.Sprintf("%s belongs to a %s trigger", field, what))
	}
	only(t.Days == 0 || t.Type == OnDealStale, "days", OnDealStale)
	only((t.Threshold == nil && t.Grades == nil && t.Model == "") || t.Type == OnScoreCrossed, "threshold", OnScoreCrossed)
	only((t.Cron == "" && t.Timezone == "") || t.Type == OnSchedule, "cron", OnSchedule)
	only(t.SecretEnv == "" || t.Type == OnWebhook, "secret_env", OnWebhook)
	switch t.Type {
	case OnDealStale:
		d.Require(t.Days >= 1 && t.Days <= 365, "trigger.days", "give the days without activity that make a deal stale, from 1 to 365")
	case OnScoreCrossed:
		d.Require((t.Threshold == nil) != (len(t.Grades) == 0), "trigger.threshold", "give a threshold (a score) or grades, one of them")
	case OnSchedule:
		sched, err := cron.ParseStandard(t.Cron)
		if err != nil {
			d.Add("trigger.cron", "%q is not a cron schedule (minute hour day month weekday, e.g. \"0 8 * * 1-5\"): %v", t.Cron, err)
		}
		w.schedule = sched
		w.location = time.UTC
		if t.Timezone != "" {
			loc, err := time.LoadLocation(t.Timezone)
			if err != nil {
				d.Add("trigger.timezone", "%q is not a time zone (e.g. Europe/Paris)", t.Timezone)
			} else {
				w.location = loc
			}
		}
	case OnWebhook:
		d.Require(t.SecretEnv != "", "trigger.secret_env", "a webhook trigger needs the environment variable of its signing secret")
	}
	entity := w.Doc.Trigger.Entity
	if _, ok := entities[entity]; !ok {
		d.Add("trigger.entity", "%q is not a record type (known: %s)", entity, strings.Join(entityNames(), ", "))
		entity = ""
	}
	if entity != "" {
		w.fields = recordFields(entity)
	}
	d.Require(t.Changed == nil || t.Type == OnUpdated, "trigger.changed", "only an updated trigger filters by a changed field")
	d.Require(len(t.To) == 0 || t.Type == OnStageChanged, "trigger.to", "only a stage_changed trigger filters by the new stage")
	if t.Changed != nil && entity != "" {
		if _, ok := entities[entity].columns[t.Changed.Field]; !ok {
			d.Add("trigger.changed.field", "%q is not a field of %s (known: %s)", t.Changed.Field, entity, strings.Join(fieldNames(entity), ", "))
		}
		w.change = &change{field: t.Changed.Field, from: t.Changed.From, to: t.Changed.To}
	}
	if t.Type == OnStageChanged {
		w.change = &change{field: "stage", to: t.To}
	}
	if w.fields != nil && strings.TrimSpace(doc.When) != "" {
		c, err := rules.Compile(doc.When, w.fields)
		if err != nil {
			d.Add("when", "%v", err)
		}
		w.when = c
	}
	c := compiler{d: d, w: w, channels: channels}
	c.steps("steps", doc.Steps)
	d.Require(len(doc.Steps) > 0, "steps", "a workflow needs at least one step")
	c.emit(op{kind: opEnd, path: "steps"})
	if len(doc.OnError) > 0 {
		w.onError = len(w.program)
		c.steps("on_error", doc.OnError)
		c.emit(op{kind: opEnd, path: "on_error"})
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return w, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// compiler flattens the step tree into a program with jumps.
type compiler struct {
	d        *definition.Doc
	w        *Workflow
	channels []string
}

func (c *compiler) emit(o op) int {
	c.w.program = append(c.w.program, o)
	return len(c.w.program) - 1
}

func (c *compiler) steps(path string, steps []StepDoc) {
	for i, s := range steps {
		c.step(fmt.Sprintf("%s[%d]", path, i), s)
	}
}

func (c *compiler) step(at string, s StepDoc) {
	d := c.d
	var kinds []string
	set := func(ok bool, k string) {
		if ok {
			kinds = append(kinds, k)
		}
	}
	set(s.If != "", "if")
	set(s.Wait != nil, "wait")
	set(s.Notify != nil, "notify")
	set(s.CreateTask != nil, "create_task")
	set(s.Update != nil, "update")
	set(s.Assign != nil, "assign")
	set(s.Run != "", "run")
	set(s.AddToSegment != "", opJoin)
	set(s.RemoveFromSegment != "", opLeave)
	set(s.Stop != nil, "stop")
	set(s.Fail != "", "fail")
	if len(kinds) != 1 {
		d.Add(at, "a step needs exactly one of if, wait, notify, create_task, update, assign, run, add_to_segment, remove_from_segment, stop, fail (has %d: %s)", len(kinds), strings.Join(kinds, ", "))
		return
	}
	if s.If == "" && (len(s.Then) > 0 || len(s.Else) > 0) {
		d.Add(at+".then", "then and else belong to an if step")
	}
	o := op{kind: kinds[0], path: at, name: s.Name}
	entity := c.w.Doc.Trigger.Entity
	if _, known := entities[entity]; !known {
		entity = "" // the trigger's problem is reported already; check the step on its own
	}
	if c.w.Doc.Trigger.Type == OnDeleted && slices.Contains([]string{opUpdate, opAssign, opJoin, opLeave, opRun}, o.kind) {
		d.Add(at+"."+o.kind, "a deleted record is gone: the steps of a deleted trigger may branch, wait, notify, create a task and stop, not %s", o.kind)
	}
	switch o.kind {
	case "if":
		o.cond = c.condition(at+".if", s.If)
		d.Require(len(s.Then) > 0, at+".then", "an if step needs then steps")
		pc := c.emit(o)
		c.steps(at+".then", s.Then)
		if len(s.Else) == 0 {
			c.w.program[pc].jump = len(c.w.program)
			return
		}
		skip := c.emit(op{kind: opJump, path: at + ".then"})
		c.w.program[pc].jump = len(c.w.program)
		c.steps(at+".else", s.Else)
		c.w.program[skip].jump = len(c.w.program)
		return
	case "wait":
		w := s.Wait
		o.wait = c.duration(at+".wait.for", w.For, false)
		d.Require(w.For == "" || w.Until == "", at+".wait.for", "wait for a duration or until a condition, not both")
		if w.Until != "" {
			o.cond = c.condition(at+".wait.until", w.Until)
			o.timeout = c.duration(at+".wait.timeout", w.Timeout, true)
			o.checkEvery = defaultCheckEach
			if w.CheckEvery != "" {
				o.checkEvery = c.duration(at+".wait.check_every", w.CheckEvery, true)
			}
		} else {
			d.Require(w.For != "", at+".wait", "wait for a duration (for: 2d) or until a condition (until: ..., timeout: ...)")
			d.Require(w.Timeout == "" && w.CheckEvery == "", at+".wait.timeout", "timeout and check_every go with until")
		}
	case "notify":
		n := *s.Notify
		if n.Tries == 0 {
			n.Tries = defaultTries
		}
		d.Require(n.Tries >= 1 && n.Tries <= maxTries, at+".notify.tries", fmt.Sprintf("must be from 1 to %d", maxTries))
		d.Require(n.Channel != "", at+".notify.channel", "name the notification channel")
		if c.channels != nil && n.Channel != "" && !slices.Contains(c.channels, n.Channel) {
			d.Add(at+".notify.channel", "no notification channel %q is configured (configured: %s)", n.Channel, strings.Join(c.channels, ", "))
		}
		d.Require(n.Title != "" || n.Text != "", at+".notify.text", "a message needs a title or a text")
		c.template(at+".notify.title", n.Title)
		c.template(at+".notify.text", n.Text)
		o.notify = &n
	case "create_task":
		t := *s.CreateTask
		d.Require(strings.TrimSpace(t.Subject) != "", at+".create_task.subject", "a task needs a subject")
		c.template(at+".create_task.subject", t.Subject)
		if t.DueIn == "" {
			t.DueIn = "1d"
		}
		o.due = c.duration(at+".create_task.due_in", t.DueIn, false)
		if t.For == "" {
			t.For = "owner"
		}
		d.Require(t.For == "owner" || t.For == "manager", at+".create_task.for", fmt.Sprintf("%q is not owner or manager", t.For))
		d.Require(entity == "" || entities[entity].owner != "", at+".create_task", fmt.Sprintf("a %s has no owner to give a task to", entity))
		o.task = &t
	case "update":
		u := *s.Update
		if entity != "" {
			if f, ok := entities[entity].updatable[u.Field]; !ok {
				d.Add(at+".update.field", "%q is not a field a workflow may set on a %s (settable: %s)", u.Field, entity, strings.Join(updatableNames(entity), ", "))
			} else if err := f.check(u.Value); err != nil {
				d.Add(at+".update.value", "%v", err)
			}
		}
		o.update = &u
	case "assign":
		a := *s.Assign
		d.Require(a.To != "", at+".assign.to", "give an e-mail address, manager, or routing (leads: the routing rules choose)")
		d.Require(entity == "" || entities[entity].owner != "", at+".assign", fmt.Sprintf("a %s has no owner to assign", entity))
		d.Require(!a.routes() || entity == "" || entity == "lead", at+".assign.to", fmt.Sprintf("routing rules assign leads, not a %s: name an e-mail address or manager", entity))
		o.assign = &a
	case opJoin, opLeave:
		o.segment = strings.TrimSpace(s.AddToSegment + s.RemoveFromSegment)
		d.Require(o.segment != "", at+"."+o.kind, "name a manual lead segment")
		d.Require(entity == "" || entity == "lead", at+"."+o.kind, fmt.Sprintf("segments hold leads, not a %s: this step goes with a lead trigger", entity))
	case "run":
		d.Require(validName(s.Run), at+".run", "name the workflow to start")
		d.Require(s.Run != c.w.Doc.Name, at+".run", "a workflow cannot start itself")
		o.run = s.Run
	case "stop":
		o.kind = opEnd
	case "fail":
		o.reason = s.Fail
	}
	c.emit(o)
}

func (c *compiler) condition(at, src string) *rules.Condition {
	if c.w.fields == nil {
		return nil // the trigger's entity is wrong: already reported
	}
	cond, err := rules.Compile(src, c.w.fields)
	if err != nil {
		c.d.Add(at, "%v", err)
	}
	return cond
}

// duration reads 30m, 2h, 3d or 1w; empty is zero unless required.
func (c *compiler) duration(at, s string, required bool) time.Duration {
	if s == "" {
		c.d.Require(!required, at, "is required, e.g. 2h or 3d")
		return 0
	}
	d, err := parseDuration(s)
	if err != nil {
		c.d.Add(at, "%v", err)
	}
	return d
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration such as 30m, 2h, 3d or 1w", s)
	if len(s) < 2 {
		return 0, bad
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	case 's':
		unit = time.Second
	default:
		return 0, bad
	}
	var n float64
	if _, err := fmt.Sscanf(s[:len(s)-1], "%g", &n); err != nil || n <= 0 {
		return 0, bad
	}
	d := time.Duration(n * float64(unit))
	if d > maxWait {
		return 0, fmt.Errorf("%q is longer than a year", s)
	}
	return d, nil
}

// template checks that every {field} a text names is a field of the record.
func (c *compiler) template(at, text string) {
	if c.w.fields == nil {
		return
	}
	for _, name := range templateFields(text) {
		if _, ok := c.w.fields[name]; !ok {
			c.d.Add(at, "{%s} is not a field of the record (known: %s)", name, strings.Join(rules.Names(c.w.fields), ", "))
		}
	}
}

// templateFields lists the {names} of a text.
func templateFields(text string) []string {
	var out []string
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, strings.TrimSpace(text[i+1:i+j]))
		text = text[i+j+1:]
	}
}

// render fills a text's {names} from the record.
func render(text string, r map[string]any) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		j := -1
		if i >= 0 {
			j = strings.IndexByte(text[i:], '}')
		}
		if i < 0 || j < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		b.WriteString(show(r[strings.TrimSpace(text[i+1:i+j])]))
		text = text[i+j+1:]
	}
}
