package backup

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/quarterdeck/quarterdeck/internal/store"
	"github.com/shopspring/decimal"
)

// One row is one line: a JSON array with a string or null per column, in
// the manifest's column order. Every value is text, so that nothing passes
// through a float on its way (JSON numbers would): decimals keep their
// digits and scale ("1.10000000"), timestamps their microseconds, bigints
// all 64 bits. Which text a type takes is below; the column types in the
// manifest say how to read it back.
const (
	dateLayout      = "2006-01-02"
	timestampLayout = "2006-01-02 15:04:05.999999" // the fraction is written only when not zero
)

// appendValue appends v, as the driver scanned it from column c, as a JSON
// string or null.
func appendValue(b []byte, c store.Column, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	var s string
	switch x := v.(type) {
	case string:
		// Decimals are selected as text (CAST ... AS VARCHAR) and arrive
		// as strings with every digit of their scale, on both engines.
		if c.Type != store.TypeVarchar && c.Type != store.TypeDecimal {
			return b, fmt.Errorf("column %s (%s): got text %q", c.Name, c.TypeName(), x)
		}
		if !utf8.ValidString(x) {
			return b, fmt.Errorf("column %s: text is not valid UTF-8", c.Name)
		}
		s = x
	case int64:
		s = strconv.FormatInt(x, 10)
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case float64:
		// The shortest text that reads back as the same float64.
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	case time.Time:
		// The wall clock as stored: both drivers hand TIMESTAMP (without
		// time zone) and DATE back as UTC times.
		if c.Type == store.TypeDate {
			s = x.Format(dateLayout)
		} else {
			s = x.Format(timestampLayout)
		}
	default:
		return b, fmt.Errorf("column %s (%s): unexpected value %T", c.Name, c.TypeName(), v)
	}
	return appendJSONString(b, s), nil
}

// appendJSONString appends s quoted as a JSON string. Only what JSON must
// escape is escaped: the text stays readable and grep-able.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decimalValue turns a decimal into what Bulk.Load writes exactly.
type decimalValue func(d decimal.Decimal, precision, scale int) any

// parseValue reads the text of a value of column c back into what
// Bulk.Load takes for that type.
func parseValue(c store.Column, s string, dec decimalValue) (any, error) {
	switch c.Type {
	case store.TypeVarchar:
		return s, nil
	case store.TypeBigint:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a BIGINT", s)
		}
		return n, nil
	case store.TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a DOUBLE", s)
		}
		return f, nil
	case store.TypeBoolean:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a BOOLEAN (true or false)", s)
	case store.TypeDate:
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a DATE (%s)", s, dateLayout)
		}
		return t, nil
	case store.TypeTimestamp:
		t, err := time.Parse(timestampLayout, s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a TIMESTAMP (%s)", s, timestampLayout)
		}
		return t, nil
	case store.TypeDecimal:
		d, err := decimal.NewFromString(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a %s", s, c.TypeName())
		}
		// Refuse what the column would round or overflow: a restore
		// changes no value.
		if -d.Exponent() > int32(c.Scale) && !d.Equal(d.Truncate(int32(c.Scale))) {
			return nil, fmt.Errorf("%q has more than %d digits after the point for %s", s, c.Scale, c.TypeName())
		}
		if c.Precision > 0 { // PostgreSQL's NUMERIC without a precision has no limit
			limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Precision-c.Scale)), nil)
			if d.Abs().GreaterThanOrEqual(decimal.NewFromBigInt(limit, 0)) {
				return nil, fmt.Errorf("%q is too large for %s", s, c.TypeName())
			}
		}
		return dec(d, c.Precision, c.Scale), nil
	}
	return nil, fmt.Errorf("column type %s is not known", c.TypeName())
}

// decodeLine reads one line of a table file into vals (nil for null).
func decodeLine(line []byte, vals *[]*string) error {
	*vals = (*vals)[:0]
	if err := json.Unmarshal(line, vals); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("not a JSON array of strings: %v (at byte %d)", err, se.Offset)
		}
		return fmt.Errorf("not a JSON array of strings: %v", err)
	}
	return nil
}

// readLine returns the next line of r without its newline, in buf's memory
// when it outgrows r's buffer. A last line without a newline is an error:
// the writer ends every line, so the file was cut short.
func readLine(r *bufio.Reader, buf []byte) ([]byte, []byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf = append(buf[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	switch {
	case err == io.EOF && len(line) > 0:
		return nil, buf, errors.New("the line is cut short (no end of line): the file is truncated")
	case err != nil:
		return nil, buf, err
	}
	return line[:len(line)-1], buf, nil
}
