package demo

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Every generated record draws from its own random stream, seeded from the
// demo's seed, the kind of record and its index. A record is therefore a pure
// function of (seed, index): workers can make records in any order and on any
// number of goroutines and the data stays identical for a seed.

// Streams keep the random numbers of different kinds of records apart.
const (
	streamOrg uint64 = iota + 1
	streamAccount
	streamContact
	streamOpp
	streamLead
	streamChunk
	streamTopUp
	streamRates
)

// splitmix64 scrambles x; it turns neighbouring indexes into unrelated seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is a reusable random source: reseed it for each record.
type rng struct {
	pcg *rand.PCG
	*rand.Rand
}

func newRNG() *rng {
	p := rand.NewPCG(0, 0)
	return &rng{pcg: p, Rand: rand.New(p)}
}

// seed points r at the stream of record index of kind stream.
func (r *rng) seed(seed int64, stream, index uint64) *rng {
	r.pcg.Seed(splitmix64(uint64(seed)^splitmix64(stream)), splitmix64(index^stream<<56))
	return r
}

// chance is true with probability p.
func (r *rng) chance(p float64) bool { return r.Float64() < p }

// between is uniform in [lo, hi).
func (r *rng) between(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// logNormal has the given median and spread (sigma of the log).
func (r *rng) logNormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// pick returns an index with probability proportional to its weight.
func (r *rng) pick(w weights) int { return w.at(r.Float64()) }

// weights is a cumulative distribution for choosing among a few options.
type weights []float64

// newWeights builds the cumulative table of ws (which need not sum to 1).
func newWeights(ws ...float64) weights {
	c := make(weights, len(ws))
	var sum float64
	for i, w := range ws {
		sum += w
		c[i] = sum
	}
	for i := range c {
		c[i] /= sum
	}
	return c
}

// at maps u in [0,1) to an option.
func (w weights) at(u float64) int {
	i := sort.SearchFloat64s(w, u)
	if i >= len(w) {
		i = len(w) - 1
	}
	// SearchFloat64s finds the first c >= u; an option of weight zero has
	// the same cumulative value as the one before it and is skipped here.
	for i < len(w)-1 && w[i] <= u {
		i++
	}
	return i
}

// choice is a weighted set of values.
type choice[T any] struct {
	values []T
	w      weights
}

func newChoice[T any](values []T, ws ...float64) choice[T] {
	if len(values) != len(ws) {
		panic("demo: choice needs one weight per value")
	}
	return choice[T]{values: values, w: newWeights(ws...)}
}

func (c choice[T]) draw(r *rng) T { return c.values[r.pick(c.w)] }
