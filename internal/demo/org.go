package demo

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The sales organisation: a VP of Sales over four regions, each run by a
// regional director with two to four segment teams (more at larger sizes),
// each team with a manager and four to eight rep seats. Seats turn over:
// reps leave and are replaced, new hires ramp up over three to six months.

// segment is the customer size an account belongs to and a team sells to.
type segment uint8

const (
	segSMB segment = iota
	segMid
	segEnt
	numSegments
)

var segmentNames = [numSegments]string{"SMB", "Mid-market", "Enterprise"}

// companyDomain is the email domain of the demo organisation's own people.
const companyDomain = "harborlight.example"

type person struct {
	id       int64
	idBox    any // id as an any, boxed once
	first    string
	last     string
	email    string
	role     crm.Role
	team     int // index into org.teams; -1 for people above or outside teams
	hire     int64
	leave    int64 // math.MaxInt64 while employed
	rampDays float64
	skill    float64 // multiplies win rates; about 0.75–1.3
}

func (p *person) name() string { return p.first + " " + p.last }

// activeAt reports whether the person was employed at t.
func (p *person) activeAt(t int64) bool { return t >= p.hire && t < p.leave }

// ramp is the share of full productivity at t: 15% on the first day,
// rising linearly to 100% after rampDays.
func (p *person) ramp(t int64) float64 {
	if t < p.hire || t >= p.leave {
		return 0
	}
	return min(1, 0.15+0.85*float64(t-p.hire)/(p.rampDays*float64(day)))
}

type team struct {
	id      int64
	name    string
	region  int
	segs    []segment // the account segments it covers; segs[0] is its main one
	manager int       // index into org.people
	reps    []int     // indexes into org.reps, every occupant of its seats
}

type org struct {
	people    []person // VP, directors, managers, ops, admin, viewer (not reps)
	reps      []person
	teams     []team
	vp        int
	directors []int // per region, index into people
	rootID    int64
	regionIDs []int64
	admin     int
	ops       int
	viewer    int
	// coverage[region][segment] lists the teams that own such accounts.
	coverage [][numSegments][]int
	emails   map[string]bool
}

// planOrg draws the organisation for a history from start to now. Nothing is
// stored yet. opps scales the number of teams.
func planOrg(seed int64, opps int, start, now int64) *org {
	r := newRNG().seed(seed, streamOrg, 0)
	o := &org{emails: map[string]bool{}, coverage: make([][numSegments][]int, len(regions))}
	newPerson := func(role crm.Role, hire int64) person {
		p := person{role: role, team: -1, hire: hire, leave: math.MaxInt64, rampDays: r.between(90, 180), skill: max(0.7, min(1.35, r.logNormal(1, 0.15)))}
		for {
			p.first, p.last = firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
			local := emailLocal(p.first, p.last)
			if o.emails[local] {
				local += strconv.Itoa(r.IntN(90) + 10)
			}
			if !o.emails[local] {
				o.emails[local] = true
				p.email = local + "@" + companyDomain
				return p
			}
		}
	}
	longAgo := func(minDays, maxDays float64) int64 {
		return dayStart(start-int64(r.between(minDays, maxDays)*float64(day))) + workStart
	}
	add := func(p person) int { o.people = append(o.people, p); return len(o.people) - 1 }

	o.admin = add(newPerson(crm.RoleAdmin, longAgo(800, 2000)))
	o.ops = add(newPerson(crm.RoleOps, longAgo(300, 1200)))
	add(newPerson(crm.RoleOps, longAgo(100, 900))) // marketing operations
	o.viewer = add(newPerson(crm.RoleViewer, longAgo(400, 2500)))
	o.vp = add(newPerson(crm.RoleManager, longAgo(600, 1800)))

	// Larger demos get more teams per region, not implausibly large teams.
	extra := 0
	if opps > 5000 {
		extra = int(math.Round(math.Log2(float64(opps)/5000) / 3))
	}
	span := float64(now-start) / float64(day)
	for reg := range regions {
		o.directors = append(o.directors, add(newPerson(crm.RoleManager, longAgo(200, 1500))))
		var layout [][]segment
		switch 2 + r.IntN(3) {
		case 2:
			layout = [][]segment{{segEnt, segMid}, {segSMB}}
		case 3:
			layout = [][]segment{{segEnt}, {segMid}, {segSMB}}
		default:
			layout = [][]segment{{segEnt}, {segMid}, {segSMB}, {segSMB}}
		}
		for k := range extra {
			layout = append(layout, []segment{[]segment{segSMB, segMid, segSMB, segEnt}[k%4]})
		}
		seen := map[string]int{}
		for _, segs := range layout {
			name := regions[reg].name + " " + segmentNames[segs[0]]
			if len(segs) == 2 {
				name += " & " + segmentNames[segs[1]]
			}
			seen[name]++
			if n := seen[name]; n > 1 {
				name += " " + strconv.Itoa(n)
			}
			ti := len(o.teams)
			mgr := newPerson(crm.RoleManager, longAgo(30, 1200))
			mgr.team = ti
			t := team{name: name, region: reg, segs: segs, manager: add(mgr)}
			for _, s := range segs {
				o.coverage[reg][s] = append(o.coverage[reg][s], ti)
			}
			seats := 4 + r.IntN(5)
			for seat := range seats {
				// Most seats are filled before the history starts; the others
				// are growth hires during it. Then people leave and are replaced.
				var hire int64
				if seat < 2 || r.chance(0.65) {
					hire = longAgo(20, 1400)
				} else {
					hire = dayStart(start+int64(r.between(0, span*0.9)*float64(day))) + workStart
				}
				for occupant := 0; ; {
					p := newPerson(crm.RoleRep, hire)
					p.team = ti
					tenure := int64((90 + r.ExpFloat64()*900) * float64(day))
					left := occupant < 3 && hire+tenure < now-30*day
					next := hire
					if left {
						p.leave = dayStart(hire+tenure) + workEnd - hour
						next = min(now-day, dayStart(p.leave+int64(r.between(20, 75)*float64(day)))+workStart)
					}
					if !left || p.leave > start { // people gone before the history are not in it
						t.reps = append(t.reps, len(o.reps))
						o.reps = append(o.reps, p)
						occupant++
					}
					if !left {
						break
					}
					hire = next
				}
			}
			o.teams = append(o.teams, t)
		}
	}
	return o
}

// activeReps lists the reps of team ti employed at t.
func (o *org) activeReps(ti int, t int64, buf []int) []int {
	buf = buf[:0]
	for _, ri := range o.teams[ti].reps {
		if o.reps[ri].activeAt(t) {
			buf = append(buf, ri)
		}
	}
	return buf
}

// create stores the organisation through the store's validated, audited
// path (it is small) and fills in the ids.
func (o *org) create(ctx context.Context, s *store.Store, progress func(done, total int64)) error {
	sys := crm.System
	total := int64(len(o.people) + len(o.reps) + len(o.teams) + 1 + len(regions))
	var done int64
	step := func() {
		done++
		progress(done, total)
	}
	mkUser := func(p *person, teamID, managerID *int64) error {
		hire := crm.NewDate(utc(p.hire))
		u := crm.User{Email: p.email, Name: p.name(), Role: p.role, TeamID: teamID, ManagerID: managerID,
			HireDate: &hire, Active: p.leave == math.MaxInt64}
		if err := s.Users.Create(ctx, sys, &u); err != nil {
			return fmt.Errorf("demo: create user %s: %w", p.email, err)
		}
		p.id, p.idBox = u.ID, u.ID
		step()
		return nil
	}
	mkTeam := func(name, region string, parent, manager *int64) (int64, error) {
		t := crm.Team{Name: name, Region: region, ParentID: parent, ManagerID: manager}
		if err := s.Teams.Create(ctx, sys, &t); err != nil {
			return 0, fmt.Errorf("demo: create team %s: %w", name, err)
		}
		step()
		return t.ID, nil
	}
	for _, i := range []int{o.admin, o.ops, o.ops + 1, o.viewer, o.vp} {
		if err := mkUser(&o.people[i], nil, nil); err != nil {
			return err
		}
	}
	vp := &o.people[o.vp]
	root, err := mkTeam("Sales", "", nil, &vp.id)
	if err != nil {
		return err
	}
	o.rootID = root
	o.regionIDs = make([]int64, len(regions))
	for reg := range regions {
		d := &o.people[o.directors[reg]]
		if err := mkUser(d, &root, &vp.id); err != nil {
			return err
		}
		if o.regionIDs[reg], err = mkTeam(regions[reg].name, regions[reg].name, &root, &d.id); err != nil {
			return err
		}
	}
	for ti := range o.teams {
		t := &o.teams[ti]
		d := &o.people[o.directors[t.region]]
		m := &o.people[t.manager]
		regionID := o.regionIDs[t.region]
		if err := mkUser(m, &regionID, &d.id); err != nil {
			return err
		}
		if t.id, err = mkTeam(t.name, regions[t.region].name, &regionID, &m.id); err != nil {
			return err
		}
		for _, ri := range t.reps {
			if err := mkUser(&o.reps[ri], &t.id, &m.id); err != nil {
				return err
			}
		}
	}
	return nil
}
