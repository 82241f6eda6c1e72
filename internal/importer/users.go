package importer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/crm"
)

// Users and teams: people are matched by email (or built from their name
// with email_domain), managers named in the file are created when missing,
// and regions, teams and managers become the team hierarchy: a team per
// region, under it a team per manager (or the team the file names), reps in
// their manager's team and reporting to them.

type pendingUser struct {
	u            *userRec
	line         int
	managerKey   string
	team, region string
}

// parseRole reads a role, or a job title that implies one.
func parseRole(s string) (crm.Role, bool) {
	n := strings.ToLower(strings.TrimSpace(s))
	if r := crm.Role(n); r.Valid() {
		return r, true
	}
	switch {
	case n == "":
		return "", false
	case strings.Contains(n, "admin"):
		return crm.RoleAdmin, true
	case strings.Contains(n, "ops") || strings.Contains(n, "operations") || strings.Contains(n, "analyst"):
		return crm.RoleOps, true
	case strings.Contains(n, "manager") || strings.Contains(n, "director") || strings.Contains(n, "head") ||
		strings.Contains(n, "vp") || strings.Contains(n, "vice president") || strings.Contains(n, "lead"):
		return crm.RoleManager, true
	case strings.Contains(n, "rep") || strings.Contains(n, "executive") || strings.Contains(n, "sales") || strings.Contains(n, "agent") ||
		strings.Contains(n, "sdr") || strings.Contains(n, "bdr") || strings.Contains(n, "ae"):
		return crm.RoleRep, true
	}
	return "", false
}

// roleRank orders roles so that promotion to manager never demotes an admin.
func roleRank(r crm.Role) int {
	switch r {
	case crm.RoleAdmin:
		return 4
	case crm.RoleOps:
		return 3
	case crm.RoleManager:
		return 2
	case crm.RoleRep:
		return 1
	}
	return 0
}

func (rn *runner) loadUsers(p *filePlan) error {
	seen := map[string]int{}
	var pending []pendingUser
	var inserted, updated int64
	err := rn.eachRecord(p, func(rec record) error {
		c := &rowCtx{rn: rn, p: p, rec: rec.fields, line: rec.line}
		ext, _ := c.refKey(usExternalID)
		first, last := c.str(usFirstName), c.str(usLastName)
		name := c.str(usName)
		if name == "" {
			name = strings.TrimSpace(first + " " + last)
		}
		email := strings.ToLower(c.str(usEmail))
		if email == "" && p.emailDomain != "" && name != "" {
			email = emailFor(name, p.emailDomain)
		}
		role := p.role
		if role == "" {
			role = crm.RoleRep
		}
		if s, ok := c.raw(usRole); ok {
			if r, ok := parseRole(s); ok {
				role = r
			} else {
				c.fail(usRole, s, "not a role (admin, ops, manager, rep, viewer)")
			}
		}
		v := crm.User{Email: email, Name: name, Role: role, Active: true, CreatedAt: rn.now}
		if d, ok := c.date(usHireDate); ok {
			dd := crm.Date{Time: d}
			v.HireDate = &dd
		}
		if b, ok := c.boolean(usActive); ok {
			v.Active = b
		}
		c.validation(v.Validate())
		if email != "" {
			if first, dup := seen[email]; dup {
				c.fail(fieldOr(p, usEmail, usName), email, fmt.Sprintf("appears again in the file (first on line %d)", first))
			}
			seen[email] = rec.line
		}
		if c.bad {
			rn.res.Rejected++
			return nil
		}
		u := rn.refs.users[rn.refs.userEmail[email]]
		if u == nil {
			id, err := rn.newID()
			if err != nil {
				return err
			}
			v.ID = id
			u = &userRec{User: v, isNew: true}
			rn.refs.addUser(u)
			inserted++
		} else {
			before := u.User
			if p.mapped(usName) || p.mapped(usFirstName) || p.mapped(usLastName) {
				u.Name = name
				rn.refs.userName.add(normName(name), u.ID)
			}
			if v.HireDate != nil {
				u.HireDate = v.HireDate
			}
			if p.mapped(usRole) && roleRank(role) > roleRank(u.Role) {
				u.Role = role
			}
			if before != u.User {
				updated++
			}
		}
		rn.setUserExt(ext, u.ID)
		rn.dirtyUser(u)
		pu := pendingUser{u: u, line: rec.line, team: c.str(usTeam), region: c.str(usRegion)}
		pu.managerKey, _ = c.refKey(usManager)
		pending = append(pending, pu)
		return nil
	})
	if err != nil {
		return err
	}
	domain := p.emailDomain
	if domain == "" {
		domain = "import.invalid"
	}
	var rejected int64
	for _, pu := range pending {
		u := pu.u
		c := &rowCtx{rn: rn, p: p, line: pu.line}
		var mgr *userRec
		if pu.managerKey != "" {
			match := ""
			if col := p.cols[usManager]; col != nil {
				match = col.match
			}
			id := rn.refs.lookupUser(pu.managerKey, match)
			switch {
			case id == ambiguous:
				c.fail(usManager, pu.managerKey, "several users have this name (match them by email)")
			case id == 0 && (match == "external_id" || (match == "" && p.salesforce)) && !c.createMissing(usManager):
				c.fail(usManager, pu.managerKey, "no user with this id in the file")
			case id == 0:
				mgr = rn.newUser(pu.managerKey, match, crm.RoleManager, domain)
			default:
				mgr = rn.refs.users[id]
			}
			if mgr != nil && mgr.ID == u.ID {
				c.fail(usManager, pu.managerKey, "a user cannot be their own manager")
				mgr = nil
			}
		}
		if c.bad {
			rn.res.Rejected++
			rejected++
			if u.isNew {
				rn.dropUser(u)
				inserted--
			}
			continue
		}
		if mgr != nil && roleRank(mgr.Role) < roleRank(crm.RoleManager) {
			mgr.Role = crm.RoleManager
			rn.dirtyUser(mgr)
		}
		var regionTeam, team *teamRec
		if pu.region != "" {
			regionTeam = rn.ensureTeam(pu.region, nil, pu.region, nil)
		}
		switch {
		case pu.team != "":
			var m *int64
			if mgr != nil {
				m = &mgr.ID
			}
			team = rn.ensureTeam(pu.team, regionTeam, pu.region, m)
		case mgr != nil && regionTeam != nil:
			team = rn.ensureTeam(pu.region+" / "+mgr.Name, regionTeam, pu.region, &mgr.ID)
		default:
			team = regionTeam
		}
		if mgr != nil {
			u.ManagerID = &mgr.ID
			if mgr.TeamID == nil && team != nil && team != regionTeam {
				mgr.TeamID = &team.ID
				rn.dirtyUser(mgr)
			} else if mgr.TeamID == nil && regionTeam != nil {
				mgr.TeamID = &regionTeam.ID
				rn.dirtyUser(mgr)
			}
		}
		if team != nil && (mgr == nil || team.ManagerID == nil || *team.ManagerID != u.ID) {
			u.TeamID = &team.ID
		}
	}
	rn.written("users", int64(len(pending))-rejected, inserted, updated)
	return nil
}

// dropUser forgets a new user whose row was rejected.
func (rn *runner) dropUser(u *userRec) {
	rn.stubUsers = slices.DeleteFunc(rn.stubUsers, func(x *userRec) bool { return x == u })
	delete(rn.refs.users, u.ID)
	for _, idx := range []keyIndex{rn.refs.userEmail, rn.refs.userName, rn.refs.userExt} {
		for k, id := range idx {
			if id == u.ID {
				delete(idx, k)
			}
		}
	}
	rn.newUserExt = slices.DeleteFunc(rn.newUserExt, func(r []any) bool { return r[2] == u.ID })
}

func fieldOr(p *filePlan, f, alt int) int {
	if p.mapped(f) {
		return f
	}
	return alt
}

// loadTeams imports a file of teams: name, region, parent team, manager.
func (rn *runner) loadTeams(p *filePlan) error {
	type pendingTeam struct {
		t      *teamRec
		line   int
		parent string
	}
	var pending []pendingTeam
	seen := map[string]int{}
	var inserted int64
	err := rn.eachRecord(p, func(rec record) error {
		c := &rowCtx{rn: rn, p: p, rec: rec.fields, line: rec.line}
		name := c.str(tmName)
		region := c.str(tmRegion)
		mgr := c.user(tmManager)
		v := crm.Team{Name: name, Region: region, ManagerID: mgr}
		c.validation(v.Validate())
		key := normName(name)
		if first, dup := seen[key]; dup && key != "" {
			c.fail(tmName, name, fmt.Sprintf("appears again in the file (first on line %d)", first))
		}
		seen[key] = rec.line
		if c.bad {
			rn.res.Rejected++
			return nil
		}
		if rn.refs.teamName[key] == 0 {
			inserted++
		}
		t := rn.ensureTeam(name, nil, region, mgr)
		if region != "" && t.Region != region {
			t.Region = region
			rn.dirtyTeam(t)
		}
		if mgr != nil && (t.ManagerID == nil || *t.ManagerID != *mgr) {
			t.ManagerID = mgr
			rn.dirtyTeam(t)
		}
		parent, _ := c.refKey(tmParent)
		pending = append(pending, pendingTeam{t: t, line: rec.line, parent: parent})
		return nil
	})
	if err != nil {
		return err
	}
	rn.res.Created["teams"] -= inserted // file rows are written, not created
	for _, pt := range pending {
		if pt.parent == "" {
			continue
		}
		c := &rowCtx{rn: rn, p: p, line: pt.line}
		id := rn.refs.teamName[normName(pt.parent)]
		var parent *teamRec
		switch {
		case id == ambiguous:
			c.fail(tmParent, pt.parent, "several teams have this name")
		case id == 0:
			parent = rn.ensureTeam(pt.parent, nil, pt.t.Region, nil)
		case id == pt.t.ID:
			c.fail(tmParent, pt.parent, "a team cannot be its own parent")
		default:
			parent = rn.refs.teams[id]
		}
		if parent != nil && rn.teamCycle(pt.t.ID, parent.ID) {
			c.fail(tmParent, pt.parent, "would make the team its own ancestor")
			parent = nil
		}
		if parent != nil {
			pt.t.ParentID = &parent.ID
			rn.dirtyTeam(pt.t)
		}
	}
	rn.written("teams", int64(len(pending)), inserted, 0)
	return nil
}

func (rn *runner) teamCycle(team, parent int64) bool {
	for range len(rn.refs.teams) + 1 {
		if parent == team {
			return true
		}
		t := rn.refs.teams[parent]
		if t == nil || t.ParentID == nil {
			return false
		}
		parent = *t.ParentID
	}
	return true
}
