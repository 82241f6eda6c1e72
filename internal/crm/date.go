package crm

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// DateLayout is how dates are written in the API and in files.
const DateLayout = "2006-01-02"

// Date is a calendar day (no time, no zone), written as YYYY-MM-DD.
type Date struct{ time.Time }

// NewDate returns the day of t (in t's own location) as a Date.
func NewDate(t time.Time) Date {
	return Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	return Date{t}, nil
}

func (d Date) String() string { return d.Format(DateLayout) }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a date as \"YYYY-MM-DD\"")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Scan reads a DATE column (both engines hand back time.Time).
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = NewDate(v)
		return nil
	case string:
		p, err := ParseDate(v)
		*d = p
		return err
	}
	return fmt.Errorf("cannot scan %T into Date", src)
}

// Value writes the day as a time at midnight UTC.
func (d Date) Value() (driver.Value, error) { return d.Time, nil }

// CustomFields holds a lead's extra columns as text, stored as a JSON object.
type CustomFields map[string]string

// Scan reads the JSON text.
func (c *CustomFields) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*c = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("cannot scan %T into CustomFields", src)
	}
	if len(b) == 0 {
		*c = nil
		return nil
	}
	return json.Unmarshal(b, c)
}

// Value writes the JSON text ("{}" when empty).
func (c CustomFields) Value() (driver.Value, error) {
	if len(c) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]string(c))
	return string(b), err
}
