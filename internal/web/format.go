package web

import (
	"fmt"
	"strings"

	"github.com/quarterdeck/quarterdeck/internal/export"
	"github.com/shopspring/decimal"
)

// How figures read on every page, and the table cells that carry them.

// formatMoney writes 1234567.5 USD as "USD 1,234,568": reports show whole
// units (cents are noise in a pipeline figure; exports keep them).
func formatMoney(d decimal.Decimal, currency string) string {
	s := d.Round(0).StringFixed(0)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole := s
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg && out != "0" {
		out = "-" + out
	}
	return strings.TrimSpace(currency + " " + out)
}

func pctString(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

func ratioString(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f×", *v)
}

func ratioPlain(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f", *v)
}

func daysString(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f days", *v)
}

func minutesString(v *float64) string {
	if v == nil {
		return "–"
	}
	if *v >= 120 {
		return fmt.Sprintf("%.1f h", *v/60)
	}
	return fmt.Sprintf("%.0f min", *v)
}

func moneyPtr(d *decimal.Decimal, cur string) string {
	if d == nil {
		return "–"
	}
	return formatMoney(*d, cur)
}

func moneyCell(d decimal.Decimal, cur string) export.Cell {
	return export.MoneyCell(&d, formatMoney(d, cur))
}

func moneyPtrCell(d *decimal.Decimal, cur string) export.Cell {
	return export.MoneyCell(d, moneyPtr(d, cur))
}

func pctCell(v *float64) export.Cell { return export.PercentCell(v, pctString(v)) }

func daysCell(v *float64) export.Cell { return export.NumberCell(v, daysString(v)) }

func minutesCell(v *float64) export.Cell { return export.NumberCell(v, minutesString(v)) }

func ratioCell(v *float64) export.Cell { return export.NumberCell(v, ratioPlain(v)) }

// pluralDeals writes "1 deal won" or "3 deals won".
func pluralDeals(n int64, what string) string {
	if n == 1 {
		return "1 deal " + what
	}
	return fmt.Sprintf("%d deals %s", n, what)
}

// signedPct writes a percentage that is already in percent with its sign: "-3.4%".
func signedPct(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", *v)
}

// money writes a forecast figure (a float in the corporate currency).
func money(v float64, cur string) string { return formatMoney(decimal.NewFromFloat(v), cur) }

func moneyOpt(v *float64, cur string) string {
	if v == nil {
		return "–"
	}
	return money(*v, cur)
}

func floatMoneyCell(v *float64, cur string) export.Cell {
	if v == nil {
		return export.MoneyCell(nil, "–")
	}
	d := decimal.NewFromFloat(*v)
	return export.MoneyCell(&d, formatMoney(d, cur))
}

// changeText writes a change (a fraction) with its sign: "+12.5%".
func changeText(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", *v*100)
}
