package learn

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// GBTOptions tunes TrainGBT. The zero value selects the defaults.
type GBTOptions struct {
	Trees        int     // boosting rounds; default 100
	Depth        int     // maximum tree depth; default 4
	LearningRate float64 // shrinkage; default 0.1
	L2           float64 // ridge on leaf values; default 1
	MinLeaf      int     // minimum training rows per leaf; default 50
	// Subsample is the fraction of rows used to grow each tree (stochastic
	// boosting: faster, and less overfitting). Default 0.5; 1 uses all.
	Subsample float64
	// MaxBins bounds the histogram bins per numeric feature (≤ 254).
	// Default 64.
	MaxBins int
	// MinCategoryCount pools rarer levels into "other"; default 20.
	MinCategoryCount int
	Seed             uint64 // for the row subsample; fixed seed = reproducible model
}

func (o GBTOptions) withDefaults() GBTOptions {
	if o.Trees <= 0 {
		o.Trees = 100
	}
	if o.Depth <= 0 {
		o.Depth = 4
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 0.1
	}
	if o.L2 <= 0 {
		o.L2 = 1
	}
	if o.MinLeaf <= 0 {
		o.MinLeaf = 50
	}
	if o.Subsample <= 0 || o.Subsample > 1 {
		o.Subsample = 0.5
	}
	if o.MaxBins <= 1 || o.MaxBins > 254 {
		o.MaxBins = 64
	}
	if o.MinCategoryCount <= 0 {
		o.MinCategoryCount = 20
	}
	return o
}

// GBT is a gradient-boosted ensemble of depth-limited regression trees on
// the log-odds, grown with Newton steps on histogram-binned features.
//
// Numeric features are binned at training quantiles. Categorical levels are
// ordered by their smoothed training win rate and split as ordinals (the
// usual cheap alternative to searching level subsets). Bin 0 holds missing
// values (and, for categoricals, unseen levels when there was no rare
// "other" pool); each split learns which side they go to.
type GBT struct {
	schema Schema
	cuts   [][]float64      // per numeric feature
	codes  []map[string]int // per categorical: level -> bin (1-based)
	other  []int            // per categorical: bin of pooled rare/unseen levels, or 0
	labels [][]string       // per categorical: bin -> level, for explanations
	base   float64          // initial log-odds
	trees  [][]gbtNode
}

type gbtNode struct {
	feat        int32 // feature index: numerics first, then categoricals; -1 for a leaf
	thr         uint8 // non-missing rows go left when bin <= thr
	missLeft    bool
	left, right int32
	value       float64 // shrunken Newton value of this node (internal nodes too, for Explain)
}

// Name implements Model.
func (m *GBT) Name() string { return "gbt" }

// TrainGBT fits the ensemble. It returns a *TooFewDealsError (matching
// ErrTooFewDeals) when either class has fewer than MinDealsPerClass rows.
func TrainGBT(schema Schema, rows []Row, opts GBTOptions) (*GBT, error) {
	return trainGBT(schema, rows, opts, MinDealsPerClass)
}

func trainGBT(schema Schema, rows []Row, opts GBTOptions, minPerClass int) (*GBT, error) {
	if err := checkRowsMin(schema, rows, minPerClass); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	n := len(rows)
	nNum, nCat := len(schema.Numeric), len(schema.Categorical)
	nf := nNum + nCat
	m := &GBT{schema: schema, cuts: make([][]float64, nNum), codes: make([]map[string]int, nCat),
		other: make([]int, nCat), labels: make([][]string, nCat)}

	won := 0.0
	y := make([]float64, n)
	for i := range rows {
		if rows[i].Won {
			y[i] = 1
			won++
		}
	}
	m.base = math.Log(won / (float64(n) - won))

	bins := make([][]uint8, nf)
	forEachParallel(nf, func(f int) {
		bins[f] = make([]uint8, n)
		if f < nNum {
			m.cuts[f] = quantileCuts(rows, f, o.MaxBins)
			for i := range rows {
				bins[f][i] = m.numBin(f, rows[i].Num[f])
			}
			return
		}
		k := f - nNum
		m.buildCatCodes(rows, y, k, o.MinCategoryCount, won/float64(n))
		for i := range rows {
			bins[f][i] = m.catBin(k, rows[i].Cat[k])
		}
	})

	pred := make([]float64, n)
	for i := range pred {
		pred[i] = m.base
	}
	g := make([]float64, n)
	h := make([]float64, n)
	node := make([]int32, n)
	idx := make([]int32, 0, n)
	scratch := make([]scanRow, 0, n)
	rng := rand.New(rand.NewPCG(o.Seed, 0x9b7))
	m.trees = make([][]gbtNode, 0, o.Trees)
	for range o.Trees {
		parallelChunks(n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				p := sigmoid(pred[i])
				g[i] = p - y[i]
				h[i] = max(p*(1-p), 1e-12)
			}
		})
		// Sampling stays sequential so the model depends only on Seed.
		idx = idx[:0]
		for i := range n {
			if o.Subsample >= 1 || rng.Float64() < o.Subsample {
				idx = append(idx, int32(i))
			}
		}
		tree := growTree(bins, g, h, node, idx, &scratch, o)
		m.trees = append(m.trees, tree)
		parallelChunks(n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				pred[i] += leafValueAt(tree, bins, i)
			}
		})
	}
	return m, nil
}

func (m *GBT) numBin(f int, x float64) uint8 {
	if isMissing(x) {
		return 0
	}
	return uint8(1 + binOf(m.cuts[f], x))
}

// buildCatCodes orders levels by smoothed win rate so that ordinal splits
// can separate good from bad levels.
func (m *GBT) buildCatCodes(rows []Row, y []float64, k, minCount int, prior float64) {
	type stat struct {
		level     string
		n, won    float64
		rate      float64
		pooled    bool
		firstSeen int
	}
	idx := map[string]*stat{}
	var order []*stat
	for i := range rows {
		v := rows[i].Cat[k]
		if v == "" {
			v = missingLevel
		}
		s := idx[v]
		if s == nil {
			s = &stat{level: v, firstSeen: i}
			idx[v] = s
			order = append(order, s)
		}
		s.n++
		s.won += y[i]
	}
	// Keep at most 253 levels (bins 1..254, leaving one for "other"),
	// most frequent first; the rest are pooled.
	slices.SortStableFunc(order, func(a, b *stat) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.level, b.level)
	})
	var kept []*stat
	other := &stat{level: "other"}
	for i, s := range order {
		if s.n >= float64(minCount) && i < 253 {
			kept = append(kept, s)
		} else {
			other.n += s.n
			other.won += s.won
			other.pooled = true
		}
	}
	if other.pooled {
		kept = append(kept, other)
	}
	const a = 10 // pseudo-count pulling small levels towards the prior
	for _, s := range kept {
		s.rate = (s.won + a*prior) / (s.n + a)
	}
	slices.SortStableFunc(kept, func(x, z *stat) int {
		if c := cmp.Compare(x.rate, z.rate); c != 0 {
			return c
		}
		return cmp.Compare(x.level, z.level)
	})
	m.codes[k] = map[string]int{}
	m.labels[k] = make([]string, len(kept)+1)
	m.labels[k][0] = "unknown"
	for i, s := range kept {
		if s == other {
			m.other[k] = i + 1
		} else {
			m.codes[k][s.level] = i + 1
		}
		m.labels[k][i+1] = s.level
	}
}

func (m *GBT) catBin(k int, v string) uint8 {
	if v == "" {
		v = missingLevel
	}
	if c, ok := m.codes[k][v]; ok {
		return uint8(c)
	}
	return uint8(m.other[k])
}

type histBin struct{ g, h, n float64 }

// scanRow is a row whose gradient goes into a histogram this level.
type scanRow struct {
	i    int32
	slot int32
	g, h float64
}

// growTree grows one tree level by level over the rows in idx (the sampled
// rows, ascending). node[i] is row i's slot in the current level.
//
// Histograms are built only for the smaller child of each split; the
// sibling's is the parent's minus it. With row sampling this visits about a
// quarter of the rows per level instead of all of them.
func growTree(bins [][]uint8, g, h []float64, node []int32, idx []int32, scratch *[]scanRow, o GBTOptions) []gbtNode {
	nf := len(bins)
	type open struct {
		id      int32 // index in tree
		G, H, N float64
		hist    []histBin // nf*256, filled either by scan or by subtraction
		scan    bool      // histogram must be built from rows
		sibling int       // for subtraction: slot of the scanned sibling
		parent  []histBin
	}
	var G, H float64
	for _, i := range idx {
		G += g[i]
		H += h[i]
		node[i] = 0
	}
	tree := []gbtNode{{feat: -1, left: -1, right: -1, value: -o.LearningRate * G / (H + o.L2)}}
	level := []open{{id: 0, G: G, H: H, N: float64(len(idx)), scan: true}}
	for d := 0; d < o.Depth && len(level) > 0; d++ {
		nl := len(level)
		for j := range level {
			level[j].hist = make([]histBin, nf*256)
		}
		// Gather the rows to scan once, so the per-feature loops below
		// touch only them and read g/h/slot sequentially.
		rowsToScan := (*scratch)[:0]
		for _, i := range idx {
			if nd := node[i]; level[nd].scan {
				rowsToScan = append(rowsToScan, scanRow{i, nd, g[i], h[i]})
			}
		}
		*scratch = rowsToScan
		// Features in parallel, each scanning rows in order, so sums are
		// deterministic; each feature writes only its own stripe.
		forEachParallel(nf, func(f int) {
			bf := bins[f]
			off := f * 256
			for _, r := range rowsToScan {
				b := &level[r.slot].hist[off+int(bf[r.i])]
				b.g += r.g
				b.h += r.h
				b.n++
			}
		})
		for j := range level {
			op := &level[j]
			if op.scan {
				continue
			}
			sib := level[op.sibling].hist
			for x := range op.hist {
				op.hist[x] = histBin{op.parent[x].g - sib[x].g, op.parent[x].h - sib[x].h, op.parent[x].n - sib[x].n}
			}
		}
		type split struct {
			gain        float64
			feat        int
			thr         int
			missLeft    bool
			gl, hl, nlf float64
		}
		best := make([]split, nl)
		for j, op := range level {
			bs := split{feat: -1}
			parent := op.G * op.G / (op.H + o.L2)
			for f := range nf {
				hb := op.hist[f*256 : (f+1)*256]
				miss := hb[0]
				var gl, hl, cnt float64
				for t := 1; t < 255; t++ {
					gl += hb[t].g
					hl += hb[t].h
					cnt += hb[t].n
					for _, ml := range [2]bool{false, true} {
						lg, lh, ln := gl, hl, cnt
						if ml {
							lg, lh, ln = lg+miss.g, lh+miss.h, ln+miss.n
						}
						rn := op.N - ln
						if ln < float64(o.MinLeaf) || rn < float64(o.MinLeaf) {
							continue
						}
						rg, rh := op.G-lg, op.H-lh
						gain := lg*lg/(lh+o.L2) + rg*rg/(rh+o.L2) - parent
						if gain > bs.gain+1e-12 {
							bs = split{gain, f, t, ml, lg, lh, ln}
						}
					}
					// Counts are exact integers in float64, so this is safe.
					if cnt+miss.n >= op.N {
						break
					}
				}
			}
			best[j] = bs
		}
		childOf := make([][2]int32, nl) // next-level slots, -1 if leaf
		var next []open
		for j, op := range level {
			bs := best[j]
			childOf[j] = [2]int32{-1, -1}
			if bs.feat < 0 {
				continue
			}
			gr, hr, nr := op.G-bs.gl, op.H-bs.hl, op.N-bs.nlf
			li, ri := int32(len(tree)), int32(len(tree)+1)
			tree = append(tree,
				gbtNode{feat: -1, left: -1, right: -1, value: -o.LearningRate * bs.gl / (bs.hl + o.L2)},
				gbtNode{feat: -1, left: -1, right: -1, value: -o.LearningRate * gr / (hr + o.L2)})
			t := &tree[op.id]
			t.feat, t.thr, t.missLeft, t.left, t.right = int32(bs.feat), uint8(bs.thr), bs.missLeft, li, ri
			ls, rs := len(next), len(next)+1
			childOf[j] = [2]int32{int32(ls), int32(rs)}
			leftSmall := bs.nlf <= nr
			next = append(next,
				open{id: li, G: bs.gl, H: bs.hl, N: bs.nlf, scan: leftSmall, sibling: rs, parent: op.hist},
				open{id: ri, G: gr, H: hr, N: nr, scan: !leftSmall, sibling: ls, parent: op.hist})
		}
		if d == o.Depth-1 {
			break // children are leaves; no need to route rows
		}
		kept := idx[:0]
		for _, i := range idx {
			nd := node[i]
			c := childOf[nd]
			if c[0] < 0 {
				continue // reached a leaf: drops out of later scans
			}
			t := &tree[level[nd].id]
			if goesLeft(t, bins[t.feat][i]) {
				node[i] = c[0]
			} else {
				node[i] = c[1]
			}
			kept = append(kept, i)
		}
		idx = kept
		level = next
	}
	return tree
}

func goesLeft(t *gbtNode, b uint8) bool {
	if b == 0 {
		return t.missLeft
	}
	return b <= t.thr
}

// leafValueAt walks training row i of the column-major bins.
func leafValueAt(tree []gbtNode, bins [][]uint8, i int) float64 {
	j := int32(0)
	for tree[j].feat >= 0 {
		t := &tree[j]
		if goesLeft(t, bins[t.feat][i]) {
			j = t.left
		} else {
			j = t.right
		}
	}
	return tree[j].value
}

func leafValue(tree []gbtNode, b []uint8) float64 {
	j := int32(0)
	for tree[j].feat >= 0 {
		t := &tree[j]
		if goesLeft(t, b[t.feat]) {
			j = t.left
		} else {
			j = t.right
		}
	}
	return tree[j].value
}

// rowBins bins a row into buf when it is large enough (avoiding a heap
// allocation per scored deal).
func (m *GBT) rowBins(r Row, buf []uint8) []uint8 {
	checkRowShape(m.schema, r)
	nNum := len(m.schema.Numeric)
	nf := nNum + len(m.schema.Categorical)
	b := buf[:0]
	if cap(b) < nf {
		b = make([]uint8, nf)
	}
	b = b[:nf]
	for f, x := range r.Num {
		b[f] = m.numBin(f, x)
	}
	for k, v := range r.Cat {
		b[nNum+k] = m.catBin(k, v)
	}
	return b
}

// LogOdds returns the ensemble's log-odds for the row.
func (m *GBT) LogOdds(r Row) float64 {
	var buf [64]uint8
	b := m.rowBins(r, buf[:])
	z := m.base
	for _, t := range m.trees {
		z += leafValue(t, b)
	}
	return z
}

// Score implements Model.
func (m *GBT) Score(r Row) float64 { return sigmoid(m.LogOdds(r)) }

// BaseLogOdds is the part of every prediction not attributed to a feature
// (initial log-odds plus each tree's root value); Explain's contributions
// over all features sum to LogOdds(row) - BaseLogOdds().
func (m *GBT) BaseLogOdds() float64 {
	z := m.base
	for _, t := range m.trees {
		z += t[0].value
	}
	return z
}

// Explain implements Model using path attribution (Saabas): along the
// row's path in each tree, the change in node value at a split is credited
// to the split feature. Unlike SHAP it is not order-fair for interacting
// features, but it is exact-additive and costs one tree walk.
func (m *GBT) Explain(r Row, k int) []Factor {
	b := m.rowBins(r, nil)
	nNum := len(m.schema.Numeric)
	contrib := make([]float64, len(b))
	for _, t := range m.trees {
		j := int32(0)
		for t[j].feat >= 0 {
			nd := &t[j]
			next := nd.right
			if goesLeft(nd, b[nd.feat]) {
				next = nd.left
			}
			contrib[nd.feat] += t[next].value - nd.value
			j = next
		}
	}
	out := make([]Factor, 0, len(b))
	for f, x := range r.Num {
		name := m.schema.Numeric[f]
		val := "missing"
		if !isMissing(x) {
			val = strconv.FormatFloat(x, 'g', 6, 64)
		}
		out = append(out, Factor{Feature: name, Name: name, Value: val, Contribution: contrib[f]})
	}
	for c, v := range r.Cat {
		name := m.schema.Categorical[c]
		if v == "" {
			v = missingLevel
		}
		out = append(out, Factor{Feature: name, Name: name + " = " + v, Value: v, Contribution: contrib[nNum+c]})
	}
	return topK(out, k)
}
