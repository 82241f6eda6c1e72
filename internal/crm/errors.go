package crm

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that callers branch on. Everything the store and the domain
// packages return wraps one of these when it is about the caller's request.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	ErrInvalid   = errors.New("invalid input")
	ErrConflict  = errors.New("conflict")
)

// Refusal is a refusal whose reason the caller may read (what the role may
// not do, and what to do instead); it unwraps to ErrForbidden. Refusals that
// would tell of records the caller may not see stay plain ErrForbidden.
type Refusal struct{ Reason string }

func (e *Refusal) Error() string { return "forbidden: " + e.Reason }
func (e *Refusal) Unwrap() error { return ErrForbidden }

// Refuse is a Refusal with a formatted reason.
func Refuse(format string, args ...any) error { return &Refusal{Reason: fmt.Sprintf(format, args...)} }

// FieldError names one field and why its value was refused.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every field problem of one request, not just the first.
// It unwraps to ErrInvalid.
type ValidationError struct {
	Entity string       `json:"entity,omitempty"`
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	prefix := "invalid input"
	if e.Entity != "" {
		prefix = "invalid " + e.Entity
	}
	return prefix + ": " + strings.Join(parts, "; ")
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Problems collects field errors while validating.
type Problems struct {
	entity string
	fields []FieldError
}

// NewProblems starts a collection for one entity (used in the message).
func NewProblems(entity string) *Problems { return &Problems{entity: entity} }

// Add records a problem with a field.
func (p *Problems) Add(field, format string, args ...any) {
	p.fields = append(p.fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Require records a problem when cond is false.
func (p *Problems) Require(cond bool, field, reason string) {
	if !cond {
		p.Add(field, "%s", reason)
	}
}

// Merge appends the fields of another validation error.
func (p *Problems) Merge(err error) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		p.fields = append(p.fields, ve.Fields...)
	} else if err != nil {
		p.Add("", "%s", err.Error())
	}
}

// Err returns a *ValidationError when any problem was recorded, else nil.
func (p *Problems) Err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return &ValidationError{Entity: p.entity, Fields: p.fields}
}

// Invalid is a shortcut for a single-field validation error.
func Invalid(entity, field, reason string) error {
	return &ValidationError{Entity: entity, Fields: []FieldError{{Field: field, Reason: reason}}}
}
