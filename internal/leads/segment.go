package leads

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/crm"
	"github.com/quarterdeck/quarterdeck/internal/definition"
	"github.com/quarterdeck/quarterdeck/internal/rules"
	"github.com/quarterdeck/quarterdeck/internal/store"
)

// SegmentDoc is an ICP segment as written in YAML: a saved filter on lead
// fields, e.g. "software, 200-2,000 employees, North America". A lead is in
// the segment when every test of Match holds. A manual segment (a static
// list: "webinar attendees", "nurture") has no tests: leads are added and
// removed by hand or by workflows, and stay until removed.
type SegmentDoc struct {
	Name        string        `yaml:"name" json:"name"`
	Description string        `yaml:"description" json:"description,omitempty"`
	Manual      bool          `yaml:"manual" json:"manual,omitempty"`
	Match       []SegmentTest `yaml:"match" json:"match,omitempty"`
}

// SegmentTest is one condition of a segment: a field test or an expression.
type SegmentTest struct {
	rules.Test `yaml:",inline"`
	When       string `yaml:"when" json:"when,omitempty"`
}

// Segment is a stored, compiled segment.
type Segment struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Doc       SegmentDoc `json:"definition"`
	Source    string     `json:"source,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
	conds     []*rules.Condition
}

// Matches reports whether the lead's fields put it in the segment; a manual
// segment's members are stored, not matched.
func (sg *Segment) Matches(r rules.Record) bool {
	if sg.Doc.Manual {
		return false
	}
	for _, c := range sg.conds {
		if !c.Match(r) {
			return false
		}
	}
	return true
}

// segmentFields are what a segment may test: lead fields, not other
// segments (membership would depend on the order segments are evaluated).
var segmentFields = func() rules.Fields {
	f := rules.Fields{}
	for k, v := range LeadFields {
		if k != "segments" {
			f[k] = v
		}
	}
	return f
}()

// ParseSegment reads and validates a segment definition. Like Parse, it
// keeps the last compiled segments; each call returns its own copy, whose
// ID and time the caller sets.
func ParseSegment(file string, data []byte) (*Segment, error) {
	key := file + "\x00" + string(data)
	if sg, ok := parsed.get(key); ok {
		c := *sg.(*Segment)
		return &c, nil
	}
	sg, err := parseSegment(file, data)
	if err == nil {
		c := *sg
		parsed.put(key, &c)
	}
	return sg, err
}

func parseSegment(file string, data []byte) (*Segment, error) {
	var doc SegmentDoc
	d, err := definition.Decode(file, data, &doc)
	if err != nil {
		return nil, err
	}
	doc.Name = strings.TrimSpace(doc.Name)
	d.Require(doc.Name != "" && len(doc.Name) <= maxNameLen, "name", fmt.Sprintf("a segment needs a name of at most %d characters", maxNameLen))
	if doc.Manual {
		d.Require(len(doc.Match) == 0, "match", "a manual segment has no tests: its leads are added and removed by hand or by workflows (drop match, or drop manual: true to match leads by their fields)")
	} else {
		d.Require(len(doc.Match) > 0, "match", "a segment needs at least one test (field: with an operator, or when:), or manual: true for a list kept by hand")
	}
	sg := &Segment{Name: doc.Name, Doc: doc, Source: string(data)}
	for i, t := range doc.Match {
		if c := compileCondition(d, fmt.Sprintf("match[%d]", i), t.Test, t.When, segmentFields, false); c != nil {
			sg.conds = append(sg.conds, c)
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return sg, nil
}

// SaveSegment stores a segment (a new one, or the new definition of the
// segment of that name) and works out its members again. When an active
// scoring model tests segment membership, every lead is rescored, in the
// same transaction. Only ops and admin save segments; it is audited.
func SaveSegment(ctx context.Context, s *store.Store, p crm.Principal, file string, data []byte, now time.Time) (*Segment, error) {
	defer forgetDefinitions()
	if !p.Role.SeesAll() {
		return nil, crm.ErrForbidden
	}
	sg, err := ParseSegment(file, data)
	if err != nil {
		return nil, err
	}
	sg.UpdatedAt = now
	vs, err := Active(ctx, s)
	if err != nil {
		return nil, err
	}
	// The bulk session's writes are not seen by other connections until it
	// commits: rescoring works from this list, with the new definition.
	segs, err := loadSegments(ctx, s.DB())
	if err != nil {
		return nil, err
	}
	segs = slices.DeleteFunc(segs, func(o *Segment) bool { return o.Name == sg.Name })
	segs = append(segs, sg)
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		var id int64
		switch err := b.QueryRow(ctx, `SELECT id FROM lead_segments WHERE name = $1`, sg.Name).Scan(&id); {
		case err == sql.ErrNoRows:
			if id, err = b.AllocIDs(ctx, 1); err != nil {
				return err
			}
			if _, err := b.Exec(ctx, `INSERT INTO lead_segments (id, name, description, source, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				id, sg.Name, sg.Doc.Description, sg.Source, actor(p), now); err != nil {
				return fmt.Errorf("store the segment: %w", err)
			}
		case err != nil:
			return err
		default:
			if _, err := b.Exec(ctx, `UPDATE lead_segments SET description = $1, source = $2, updated_by = $3, updated_at = $4 WHERE id = $5`,
				sg.Doc.Description, sg.Source, actor(p), now, id); err != nil {
				return fmt.Errorf("store the segment: %w", err)
			}
		}
		sg.ID = id
		if err := b.Audit(ctx, p, "save", "lead_segment", id, nil, sg.Doc); err != nil {
			return err
		}
		if usesSegments(vs) { // the active versions' scores depend on membership: all again
			for _, t := range []string{"lead_score_log", "lead_scores"} {
				if _, err := b.Exec(ctx, `DELETE FROM `+t+` WHERE model_id IN (`+versionIDs(vs)+`)`); err != nil {
					return fmt.Errorf("clear %s: %w", t, err)
				}
			}
			if _, err := b.Exec(ctx, `DELETE FROM lead_segment_members WHERE segment_id = $1`, id); err != nil {
				return err // it may have been a manual one: rescore keeps those
			}
			_, err := rescore(ctx, s, b, vs, segs, now)
			return err
		}
		if sg.Doc.Manual {
			return nil // its members stay: a rule segment turned manual keeps the leads it had
		}
		if _, err := b.Exec(ctx, `DELETE FROM lead_segment_members WHERE segment_id = $1`, id); err != nil {
			return err
		}
		subjects, errp := streamSubjects(ctx, s.DB(), nil)
		members := func(yield func([]any, error) bool) {
			for sub := range subjects {
				if sg.Matches(sub.Record) && !yield([]any{id, sub.ID}, nil) {
					return
				}
			}
		}
		if _, err := b.Load(ctx, "lead_segment_members", []string{"segment_id", "lead_id"}, members); err != nil {
			return fmt.Errorf("segment members: %w", err)
		}
		return *errp
	})
	if err != nil {
		return nil, err
	}
	return sg, nil
}

// DeleteSegment removes a segment and its membership.
func DeleteSegment(ctx context.Context, s *store.Store, p crm.Principal, id int64) error {
	defer forgetDefinitions()
	if !p.Role.SeesAll() {
		return crm.ErrForbidden
	}
	return s.WithBulk(ctx, func(b *store.Bulk) error {
		res, err := b.Exec(ctx, `DELETE FROM lead_segments WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("segment %d: %w", id, crm.ErrNotFound)
		}
		if _, err := b.Exec(ctx, `DELETE FROM lead_segment_members WHERE segment_id = $1`, id); err != nil {
			return err
		}
		return b.Audit(ctx, p, "delete", "lead_segment", id, nil, nil)
	})
}

// SetMember adds a lead to a manual segment (member true) or removes it,
// inside b, as p (who must be able to see the lead), audited. It reports
// whether membership changed. The caller rescores the lead once b commits
// (RescoreLead) when scoring models test segments.
func SetMember(ctx context.Context, s *store.Store, b *store.Bulk, p crm.Principal, segment string, leadID int64, member bool) (bool, error) {
	if !p.Role.Valid() || p.Role == crm.RoleViewer {
		return false, crm.ErrForbidden
	}
	sg, err := manualSegment(ctx, s, segment)
	if err != nil {
		return false, err
	}
	return setMember(ctx, s, b, p, sg, leadID, member)
}

func setMember(ctx context.Context, s *store.Store, b *store.Bulk, p crm.Principal, sg *Segment, leadID int64, member bool) (bool, error) {
	if _, err := s.Leads.Get(ctx, p, leadID); err != nil {
		return false, err
	}
	var n int64
	if err := b.QueryRow(ctx, `SELECT COUNT(*) FROM lead_segment_members WHERE segment_id = $1 AND lead_id = $2`, sg.ID, leadID).Scan(&n); err != nil {
		return false, fmt.Errorf("segment members: %w", err)
	}
	if (n > 0) == member {
		return false, nil
	}
	action, q := "add_member", `INSERT INTO lead_segment_members (segment_id, lead_id) VALUES ($1, $2)`
	if !member {
		action, q = "remove_member", `DELETE FROM lead_segment_members WHERE segment_id = $1 AND lead_id = $2`
	}
	if _, err := b.Exec(ctx, q, sg.ID, leadID); err != nil {
		return false, fmt.Errorf("segment members: %w", err)
	}
	return true, b.Audit(ctx, p, action, "lead_segment", sg.ID, nil, map[string]any{"lead_id": leadID})
}

// Membership is a change of a manual segment's leads by hand.
type Membership struct {
	Add    []int64 `json:"add"`
	Remove []int64 `json:"remove"`
}

// ChangeMembers adds and removes leads of a manual segment in one
// transaction (all or none: a lead p may not see refuses the lot) and
// rescores the leads that moved. It returns how many moved.
func ChangeMembers(ctx context.Context, s *store.Store, p crm.Principal, segment string, m Membership, now time.Time) (int, error) {
	if len(m.Add)+len(m.Remove) == 0 {
		return 0, crm.Invalid("segment", segment, "name leads to add or remove")
	}
	if !p.Role.Valid() || p.Role == crm.RoleViewer {
		return 0, crm.ErrForbidden
	}
	sg, err := manualSegment(ctx, s, segment)
	if err != nil {
		return 0, err
	}
	var moved []int64
	err = s.WithBulk(ctx, func(b *store.Bulk) error {
		for _, c := range []struct {
			ids    []int64
			member bool
		}{{m.Add, true}, {m.Remove, false}} {
			for _, id := range c.ids {
				changed, err := setMember(ctx, s, b, p, sg, id, c.member)
				if err != nil {
					return err
				}
				if changed {
					moved = append(moved, id)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(moved), RescoreLeads(ctx, s, moved, now)
}

// manualSegment finds the manual segment of that name, or says why not.
func manualSegment(ctx context.Context, s *store.Store, name string) (*Segment, error) {
	segs, err := loadSegments(ctx, s.DB())
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(segs, func(sg *Segment) bool { return sg.Name == name })
	if i < 0 {
		return nil, crm.Invalid("segment", name, "no segment of that name")
	}
	if !segs[i].Doc.Manual {
		return nil, crm.Invalid("segment", name, "defined by its tests, leads join it by their fields; only a manual segment (manual: true) takes leads by hand")
	}
	return segs[i], nil
}

// manualIDs lists the ids of the manual segments, whose stored members a
// rescore keeps ("" when there are none).
func manualIDs(segs []*Segment) string {
	var ids []int64
	for _, sg := range segs {
		if sg.Doc.Manual {
			ids = append(ids, sg.ID)
		}
	}
	return idList(ids)
}

// keepManual is the condition, added to a DELETE of segment members, that
// spares the manual segments' members.
func keepManual(segs []*Segment) string {
	if ids := manualIDs(segs); ids != "" {
		return " AND segment_id NOT IN (" + ids + ")"
	}
	return ""
}

// SegmentsOf are the names of the segments (rule and manual) a lead is in.
func SegmentsOf(ctx context.Context, db *sql.DB, leadID int64) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT g.name FROM lead_segment_members m JOIN lead_segments g ON g.id = m.segment_id WHERE m.lead_id = $1 ORDER BY g.name`, leadID)
	if err != nil {
		return nil, fmt.Errorf("segments of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// manualMembers are the names of the manual segments each lead is in
// (leadCond on lead_id, e.g. "lead_id = 7"), for the record rules see.
func manualMembers(ctx context.Context, db *sql.DB, segs []*Segment, leadCond string) (map[int64][]string, error) {
	ids := manualIDs(segs)
	if ids == "" {
		return nil, nil
	}
	names := map[int64]string{}
	for _, sg := range segs {
		names[sg.ID] = sg.Name
	}
	q := `SELECT lead_id, segment_id FROM lead_segment_members WHERE segment_id IN (` + ids + `)`
	if leadCond != "" {
		q += " AND " + leadCond
	}
	rows, err := db.QueryContext(ctx, q+` ORDER BY lead_id, segment_id`)
	if err != nil {
		return nil, fmt.Errorf("manual segment members: %w", err)
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var lead, seg int64
		if err := rows.Scan(&lead, &seg); err != nil {
			return nil, err
		}
		out[lead] = append(out[lead], names[seg])
	}
	return out, rows.Err()
}

func actor(p crm.Principal) *int64 {
	if p.UserID == 0 {
		return nil
	}
	return &p.UserID
}

// usesSegments reports whether any model tests segment membership.
func usesSegments(vs []*Version) bool {
	for _, v := range vs {
		if strings.Contains(v.Source, "segments") {
			return true
		}
	}
	return false
}

// loadSegments reads every segment, compiled.
func loadSegments(ctx context.Context, db *sql.DB) ([]*Segment, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, name, source, updated_at FROM lead_segments ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	defer rows.Close()
	var out []*Segment
	for rows.Next() {
		var id int64
		var name, source string
		var at time.Time
		if err := rows.Scan(&id, &name, &source, &at); err != nil {
			return nil, err
		}
		sg, err := ParseSegment(name+".yaml", []byte(source))
		if err != nil {
			return nil, fmt.Errorf("stored segment %q no longer loads: %w", name, err)
		}
		sg.ID, sg.UpdatedAt = id, at
		out = append(out, sg)
	}
	return out, rows.Err()
}

// SegmentStats is a segment with how its visible leads do.
type SegmentStats struct {
	*Segment
	Leads        int64    `json:"leads"`
	Converted    int64    `json:"converted"`
	Disqualified int64    `json:"disqualified"`
	Conversion   *float64 `json:"conversion"`
	AvgScore     *float64 `json:"avg_score"`
	Model        string   `json:"model,omitempty"`
}

// Segments lists the segments with the count, conversion and average score
// (under the general scoring model) of the leads p may see in each.
func Segments(ctx context.Context, s *store.Store, p crm.Principal) ([]SegmentStats, error) {
	f, err := s.OwnerFilter(ctx, p)
	if err != nil {
		return nil, err
	}
	if !f.Individuals() {
		return nil, crm.ErrForbidden
	}
	segs, err := loadSegments(ctx, s.DB())
	if err != nil {
		return nil, err
	}
	var modelID int64
	var model string
	if v, err := pickVersion(ctx, s, 0, ""); err == nil {
		modelID, model = v.ID, v.Name
	}
	out := make([]SegmentStats, len(segs))
	for i, sg := range segs {
		st := SegmentStats{Segment: sg, Model: model}
		var avg sql.NullFloat64
		err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*),
				COUNT(CASE WHEN l.status = 'converted' THEN 1 END), COUNT(CASE WHEN l.status = 'disqualified' THEN 1 END), AVG(sc.score)
			FROM lead_segment_members m JOIN leads l ON l.id = m.lead_id
			LEFT JOIN lead_scores sc ON sc.lead_id = l.id AND sc.model_id = $2
			WHERE m.segment_id = $1 AND `+f.Condition("l.owner_id"), sg.ID, modelID).Scan(&st.Leads, &st.Converted, &st.Disqualified, &avg)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", sg.Name, err)
		}
		if d := st.Converted + st.Disqualified; d > 0 {
			c := float64(st.Converted) / float64(d)
			st.Conversion = &c
		}
		if avg.Valid {
			st.AvgScore = &avg.Float64
		}
		out[i] = st
	}
	return out, nil
}

// SegmentByName finds a segment.
func SegmentByName(ctx context.Context, s *store.Store, p crm.Principal, name string) (*Segment, error) {
	if !p.Role.Valid() || p.Role == crm.RoleViewer {
		return nil, crm.ErrForbidden
	}
	segs, err := loadSegments(ctx, s.DB())
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(segs, func(sg *Segment) bool { return sg.Name == name }); i >= 0 {
		return segs[i], nil
	}
	return nil, fmt.Errorf("segment %q: %w", name, crm.ErrNotFound)
}

// SegmentNames lists the segments' names, for filters.
func SegmentNames(ctx context.Context, s *store.Store) ([]string, error) {
	segs, err := loadSegments(ctx, s.DB())
	names := make([]string, len(segs))
	for i, sg := range segs {
		names[i] = sg.Name
	}
	return names, err
}
