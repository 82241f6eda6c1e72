package ets

import (
	"math"
)

// params are the smoothing parameters of one model. beta and gamma are in
// the error-correction form used by R (beta = alpha*beta*), so that the
// same recursions serve additive and multiplicative errors.
type params struct {
	alpha, beta, gamma, phi float64
}

// filterResult is what running a model over the data gives.
type filterResult struct {
	lik    float64 // n*log(SSE) (+ 2*sum log|mu| for multiplicative errors), R's criterion
	sse    float64
	sumLog float64
	ok     bool
	state  []float64
	fitted []float64
	resid  []float64
}

// filter runs the state recursions of sp over y from the initial state x0
// (layout as Model.Init). With keep it also returns one-step fitted values,
// residuals and the final state. It is the hot loop of the optimiser, so the
// seasonal states live in a ring buffer rather than being shifted.
func (sp spec) filter(y []float64, p params, x0 []float64, keep bool) filterResult {
	l := x0[0]
	var b float64
	k := 1
	if sp.trend != 'N' {
		b = x0[1]
		k = 2
	}
	m := sp.m
	var ring []float64
	if sp.season != 'N' {
		// ring[0] holds the oldest seasonal state s-(m-1), which is the one
		// the next observation uses; see Model.Init for the layout.
		ring = make([]float64, m)
		for i := range m {
			ring[i] = x0[k+m-1-i]
		}
	}
	phi := p.phi
	if !sp.damped {
		phi = 1
	}
	bOverA := p.beta / p.alpha
	var res filterResult
	if keep {
		res.fitted = make([]float64, len(y))
		res.resid = make([]float64, len(y))
	}
	pos := 0
	multErr := sp.err == 'M'
	// The sum of log|mu| is kept as a running product, logged only when it
	// nears the float range: a log per observation dominated the fit time.
	prod := 1.0
	for t, yt := range y {
		phib := 0.0
		if sp.trend != 'N' {
			phib = phi * b
		}
		q := l + phib
		mu := q
		var s float64
		switch sp.season {
		case 'A':
			s = ring[pos]
			mu = q + s
		case 'M':
			s = ring[pos]
			mu = q * s
		}
		var e float64
		if multErr {
			// A non-positive mean makes the relative error meaningless;
			// reject the parameters rather than fit nonsense.
			if mu <= 0 || math.IsNaN(mu) {
				return res
			}
			e = (yt - mu) / mu
			prod *= mu
			if prod > 1e250 || prod < 1e-250 {
				res.sumLog += math.Log(prod)
				prod = 1
			}
		} else {
			e = yt - mu
		}
		res.sse += e * e
		if keep {
			res.fitted[t] = mu
			res.resid[t] = e
		}
		// Level, trend and season updates (Hyndman et al. 2008, table 2.3,
		// in the error-correction form shared by both error types).
		var pt float64
		switch sp.season {
		case 'N':
			pt = yt
		case 'A':
			pt = yt - s
		case 'M':
			if s <= 0 {
				return res
			}
			pt = yt / s
		}
		lnew := q + p.alpha*(pt-q)
		if sp.trend != 'N' {
			b = phib + bOverA*(lnew-l-phib)
		}
		switch sp.season {
		case 'A':
			ring[pos] = s + p.gamma*(yt-q-s)
		case 'M':
			if q == 0 {
				return res
			}
			ring[pos] = s + p.gamma*(yt/q-s)
		}
		if ring != nil {
			pos++
			if pos == m {
				pos = 0
			}
		}
		l = lnew
	}
	if math.IsNaN(res.sse) || math.IsInf(res.sse, 0) {
		return res
	}
	if multErr {
		res.sumLog += math.Log(prod)
	}
	n := float64(len(y))
	res.lik = n * math.Log(res.sse)
	if multErr {
		res.lik += 2 * res.sumLog
	}
	if math.IsNaN(res.lik) || math.IsInf(res.lik, 1) {
		return res
	}
	// R caps the criterion for (near-)perfect fits.
	if res.lik < -1e10 || math.IsInf(res.lik, -1) {
		res.lik = -1e10
	}
	res.ok = true
	if keep {
		st := make([]float64, 0, k+m)
		st = append(st, l)
		if sp.trend != 'N' {
			st = append(st, b)
		}
		if ring != nil {
			// Most recent first: the last written slot is just before pos.
			for j := range m {
				st = append(st, ring[((pos-1-j)%m+m)%m])
			}
		}
		res.state = st
	}
	return res
}

// initState is R's heuristic starting state: seasonal indices from a
// classical decomposition of the first three seasons (or, with fewer data,
// from a trend + first-harmonic regression), then level and trend from a
// regression on the first seasonally adjusted values. The last seasonal
// state is left out: it is implied by the normalisation.
func initState(y []float64, sp spec) []float64 {
	n := len(y)
	m := sp.m
	var seas []float64 // seasonal component aligned with y (periodic or per point)
	var init []float64
	ysa := y
	if sp.season != 'N' {
		mult := sp.season == 'M'
		if n < 3*m {
			seas = fourierDetrend(y, m, mult)
		} else {
			fig := SeasonalFigure(y[:3*m], m, mult)
			seas = make([]float64, n)
			for i := range seas {
				seas[i] = fig[i%m]
			}
		}
		init = make([]float64, m-1)
		for i := range init {
			init[i] = seas[m-1-i]
		}
		ysa = make([]float64, n)
		if mult {
			var sum float64
			for i := range init {
				init[i] = max(init[i], 1e-2)
				sum += init[i]
			}
			if sum > float64(m) {
				var s2 float64
				for _, v := range init {
					s2 += v + 1e-2
				}
				for i := range init {
					init[i] /= s2
				}
			}
			for i := range y {
				ysa[i] = y[i] / max(seas[i], 1e-2)
			}
		} else {
			for i := range y {
				ysa[i] = y[i] - seas[i]
			}
		}
	}
	maxn := min(max(10, 2*m), n)
	var x0 []float64
	if sp.trend == 'N' {
		var s float64
		for _, v := range ysa[:maxn] {
			s += v
		}
		x0 = append(x0, s/float64(maxn))
	} else {
		l0, b0 := lineFit(ysa[:maxn])
		// A zero first forecast would break multiplicative errors.
		if math.Abs(l0+b0) < 1e-8 {
			l0 *= 1 + 1e-3
			b0 *= 1 - 1e-3
		}
		x0 = append(x0, l0, b0)
	}
	return append(x0, init...)
}

// lineFit regresses v on 1..len(v) and returns intercept (at t=0) and slope.
func lineFit(v []float64) (a, b float64) {
	n := float64(len(v))
	if len(v) < 2 {
		return v[0], 0
	}
	var st, sy, stt, sty float64
	for i, y := range v {
		t := float64(i + 1)
		st += t
		sy += y
		stt += t * t
		sty += t * y
	}
	b = (n*sty - st*sy) / (n*stt - st*st)
	a = (sy - b*st) / n
	return a, b
}

// SeasonalFigure is stats::decompose's seasonal figure, by position i % m:
// detrend by a centred moving average of order m (2xm for even m), average
// by position, normalise (to a mean of 1 when mult, else of 0). A position
// the average never reaches (fewer than about two seasons) is neutral.
func SeasonalFigure(x []float64, m int, mult bool) []float64 {
	n := len(x)
	w := make([]float64, 0, m+1)
	if m%2 == 0 {
		w = append(w, 0.5)
		for range m - 1 {
			w = append(w, 1)
		}
		w = append(w, 0.5)
	} else {
		for range m {
			w = append(w, 1)
		}
	}
	half := len(w) / 2
	sum := make([]float64, m)
	cnt := make([]float64, m)
	for i := half; i < n-half; i++ {
		var tr float64
		for j, wj := range w {
			tr += wj * x[i-half+j]
		}
		tr /= float64(m)
		d := x[i] - tr
		if mult {
			d = x[i] / tr
		}
		sum[i%m] += d
		cnt[i%m]++
	}
	fig := make([]float64, m)
	var mean float64
	for i := range fig {
		if cnt[i] > 0 {
			fig[i] = sum[i] / cnt[i]
		} else if mult {
			fig[i] = 1
		}
		mean += fig[i]
	}
	mean /= float64(m)
	for i := range fig {
		if mult {
			fig[i] /= mean
		} else {
			fig[i] -= mean
		}
	}
	return fig
}

// fourierDetrend is R's fallback for fewer than three seasons: fit
// y ~ 1 + t + sin(2πt/m) + cos(2πt/m) and return y with the linear trend
// removed (subtracted, or divided out for a multiplicative season).
func fourierDetrend(y []float64, m int, mult bool) []float64 {
	n := len(y)
	cols := 4
	if m == 2 {
		cols = 3 // sin(πt) is identically zero
	}
	row := func(i int) []float64 {
		t := float64(i + 1)
		a := 2 * math.Pi * t / float64(m)
		if cols == 3 {
			return []float64{1, t, math.Cos(a)}
		}
		return []float64{1, t, math.Sin(a), math.Cos(a)}
	}
	xtx := make([][]float64, cols)
	xty := make([]float64, cols)
	for i := range xtx {
		xtx[i] = make([]float64, cols)
	}
	for i := range n {
		r := row(i)
		for a := range cols {
			xty[a] += r[a] * y[i]
			for b := range cols {
				xtx[a][b] += r[a] * r[b]
			}
		}
	}
	coef, ok := solve(xtx, xty)
	if !ok {
		coef = make([]float64, cols)
		coef[0], coef[1] = lineFit(y)
	}
	out := make([]float64, n)
	for i := range out {
		tr := coef[0] + coef[1]*float64(i+1)
		if mult {
			out[i] = y[i] / tr
		} else {
			out[i] = y[i] - tr
		}
	}
	return out
}

// solve does Gaussian elimination with partial pivoting on a small system.
func solve(a [][]float64, b []float64) ([]float64, bool) {
	n := len(b)
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return nil, false
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < n; k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}
