package demo

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// uscounties.csv is the simplemaps "US Counties" basic database
// (https://simplemaps.com/data/us-counties), licensed CC BY 4.0: 3,144 counties
// with state, centroid and population. Accounts and leads are placed at
// counties drawn by population, so the demo's map looks like the real country.
//
//go:embed data/uscounties.csv
var countiesCSV []byte

type county struct {
	name     string // "Los Angeles": the city of accounts placed there
	state    string // "CA"
	lat, lng float64
	region   int // index into regions
}

// regions split the country into the four sales regions of the demo organisation.
var regions = []struct {
	name   string
	states []string
}{
	{"West", []string{"AK", "AZ", "CA", "CO", "HI", "ID", "MT", "NM", "NV", "OR", "UT", "WA", "WY"}},
	{"Central", []string{"IA", "IL", "IN", "KS", "MI", "MN", "MO", "ND", "NE", "OH", "SD", "WI"}},
	{"South", []string{"AL", "AR", "FL", "GA", "KY", "LA", "MS", "NC", "OK", "SC", "TN", "TX"}},
	{"East", []string{"CT", "DC", "DE", "MA", "MD", "ME", "NH", "NJ", "NY", "PA", "RI", "VA", "VT", "WV"}},
}

// geography is the parsed county table with a population-weighted sampler.
type geography struct {
	counties []county
	cum      []float64 // cumulative population share, for sampling
}

func loadGeography() (*geography, error) {
	regionOf := map[string]int{}
	for i, r := range regions {
		for _, s := range r.states {
			regionOf[s] = i
		}
	}
	rd := csv.NewReader(bytes.NewReader(countiesCSV))
	recs, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("demo: read embedded uscounties.csv: %w", err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("demo: embedded uscounties.csv is empty")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"county", "state_id", "lat", "lng", "population"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("demo: embedded uscounties.csv lacks column %q", h)
		}
	}
	g := &geography{}
	var total float64
	for line, rec := range recs[1:] {
		lat, err1 := strconv.ParseFloat(rec[col["lat"]], 64)
		lng, err2 := strconv.ParseFloat(rec[col["lng"]], 64)
		pop, err3 := strconv.ParseFloat(rec[col["population"]], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("demo: uscounties.csv line %d: bad number", line+2)
		}
		st := rec[col["state_id"]]
		reg, ok := regionOf[st]
		if !ok {
			return nil, fmt.Errorf("demo: uscounties.csv line %d: state %q is in no sales region", line+2, st)
		}
		c := county{name: rec[col["county"]], state: st, lat: lat, lng: lng, region: reg}
		g.counties = append(g.counties, c)
		total += pop
		g.cum = append(g.cum, total)
	}
	for i := range g.cum {
		g.cum[i] /= total
	}
	return g, nil
}

// sample draws a county with probability proportional to its population.
func (g *geography) sample(u float64) int {
	i := sort.SearchFloat64s(g.cum, u)
	return min(i, len(g.counties)-1)
}

// place returns a point near the county's centroid (within a few kilometres).
func (g *geography) place(c int, r *rng) (lat, lng float64) {
	ct := g.counties[c]
	lat = ct.lat + 0.06*r.NormFloat64()
	lng = ct.lng + 0.08*r.NormFloat64()
	return round4(max(-90, min(90, lat))), round4(max(-180, min(180, lng)))
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
