package forecast

import (
	"math"
	"slices"
	"testing"

	"github.com/quarterdeck/quarterdeck/internal/learn"
)

// Each factor reads in plain words, from the deal's own value, with the
// direction it moves the probability; a capped value says what was used.
func TestFactorDescriptions(t *testing.T) {
	row := func(feature string, v float64) learn.Row {
		r := learn.Row{Num: make([]float64, len(FeatureSchema.Numeric)), Cat: make([]string, len(FeatureSchema.Categorical))}
		r.Cat[0] = "Proposal"
		if k := slices.Index(FeatureSchema.Numeric, feature); k >= 0 {
			r.Num[k] = v
		}
		return r
	}
	cat := func(feature, v string) learn.Row {
		r := row("", 0)
		r.Cat[slices.Index(FeatureSchema.Categorical, feature)] = v
		return r
	}
	for _, c := range []struct {
		feature      string
		raw, used    learn.Row
		contribution float64
		want         string
	}{
		{"age_days", row("age_days", 126.439), row("age_days", 126.439), -0.4, "126 days since created: lowers it"},
		{"age_days", row("age_days", 3680.2), row("age_days", 122), 0.37, "3,680 days since created (more than any deal it learned from: counted as 122): raises it"},
		{"activities_14d", row("activities_14d", 5), row("activities_14d", 5), 0.2, "5 activities in the last 14 days: raises it"},
		{"activities_14d", row("activities_14d", 1), row("activities_14d", 1), 0.1, "1 activity in the last 14 days: raises it"},
		{"days_in_stage", row("days_in_stage", 40), row("days_in_stage", 40), -0.1, "40 days in Proposal: lowers it"},
		{"log_amount", row("log_amount", math.Log1p(12500)), row("log_amount", math.Log1p(12500)), 0.3, "amount of 12,500 USD: raises it"},
		{"days_since_activity", row("days_since_activity", math.NaN()), row("days_since_activity", math.NaN()), -0.5, "no activity logged yet: lowers it"},
		{"owner_win_rate", row("owner_win_rate", 0.34), row("owner_win_rate", 0.34), -0.2, "owner wins 34% of their closed deals: lowers it"},
		{"owner_win_rate", row("owner_win_rate", 0.01), row("owner_win_rate", 0.2), 0.1, "owner wins 1% of their closed deals (less than any deal it learned from: counted as 20%): raises it"},
		{"close_pushes", row("close_pushes", 0), row("close_pushes", 0), 0.1, "expected close never moved later: raises it"},
		{"close_pushes", row("close_pushes", 2), row("close_pushes", 2), -0.3, "expected close moved later 2 times: lowers it"},
		{"segment", cat("segment", "Enterprise"), cat("segment", "Enterprise"), 0, "segment Enterprise: no effect"},
		{"product", cat("product", ""), cat("product", ""), -0.1, "no product given: lowers it"},
	} {
		got := explain(learn.Factor{Feature: c.feature, Name: c.feature, Value: "x", Contribution: c.contribution}, c.raw, c.used, "USD")
		k := slices.Index(FeatureSchema.Numeric, c.feature)
		capped := k >= 0 && c.raw.Num[k] != c.used.Num[k] && !math.IsNaN(c.raw.Num[k])
		if got.Description != c.want || got.Contribution != c.contribution || got.Feature != c.feature || got.Value != "x" || got.Capped != capped {
			t.Errorf("%s: %+v, want %q", c.feature, got, c.want)
		}
	}
}
