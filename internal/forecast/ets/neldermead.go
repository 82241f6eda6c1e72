package ets

// nelderMead minimises f from x0 with the downhill simplex method. step[i] is
// the initial simplex edge along coordinate i: the caller knows the natural
// scale of each parameter (smoothing weights versus levels in data units),
// which a single global step would not. It returns the best point, its value
// and the number of evaluations used.
func nelderMead(f func([]float64) float64, x0, step []float64, maxEval int, reltol float64) ([]float64, float64, int) {
	n := len(x0)
	pts := make([][]float64, n+1)
	val := make([]float64, n+1)
	for i := range pts {
		pts[i] = append([]float64(nil), x0...)
		if i > 0 {
			pts[i][i-1] += step[i-1]
		}
		val[i] = f(pts[i])
	}
	evals := n + 1
	order := make([]int, n+1)
	for i := range order {
		order[i] = i
	}
	cen := make([]float64, n)
	xr := make([]float64, n)
	xe := make([]float64, n)
	xc := make([]float64, n)
	for evals < maxEval {
		// Insertion sort: the simplex is small and nearly sorted each round.
		for i := 1; i <= n; i++ {
			for j := i; j > 0 && val[order[j]] < val[order[j-1]]; j-- {
				order[j], order[j-1] = order[j-1], order[j]
			}
		}
		best, worst, second := order[0], order[n], order[n-1]
		// Same convergence test as R's optim: the spread of values relative to the best.
		if val[worst]-val[best] <= reltol*(abs(val[best])+reltol) {
			break
		}
		for j := range cen {
			cen[j] = 0
		}
		for _, i := range order[:n] {
			for j, v := range pts[i] {
				cen[j] += v
			}
		}
		for j := range cen {
			cen[j] /= float64(n)
			xr[j] = cen[j] + (cen[j] - pts[worst][j])
		}
		fr := f(xr)
		evals++
		switch {
		case fr < val[best]:
			for j := range xe {
				xe[j] = cen[j] + 2*(cen[j]-pts[worst][j])
			}
			fe := f(xe)
			evals++
			if fe < fr {
				copy(pts[worst], xe)
				val[worst] = fe
			} else {
				copy(pts[worst], xr)
				val[worst] = fr
			}
		case fr < val[second]:
			copy(pts[worst], xr)
			val[worst] = fr
		default:
			var fc float64
			if fr < val[worst] {
				for j := range xc {
					xc[j] = cen[j] + 0.5*(xr[j]-cen[j])
				}
			} else {
				for j := range xc {
					xc[j] = cen[j] + 0.5*(pts[worst][j]-cen[j])
				}
			}
			fc = f(xc)
			evals++
			if fc < min(fr, val[worst]) {
				copy(pts[worst], xc)
				val[worst] = fc
				continue
			}
			// Shrink towards the best point.
			for _, i := range order[1:] {
				for j := range pts[i] {
					pts[i][j] = pts[best][j] + 0.5*(pts[i][j]-pts[best][j])
				}
				val[i] = f(pts[i])
				evals++
			}
		}
	}
	bi := 0
	for i := range val {
		if val[i] < val[bi] {
			bi = i
		}
	}
	return pts[bi], val[bi], evals
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
