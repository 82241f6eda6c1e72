package series

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarterdeck/quarterdeck/internal/forecast/ets"
)

func TestDebugPeriod(t *testing.T) {
	ss, vs := loadM1(t)
	if v := os.Getenv("TB"); v != "" {
		ets.TuneBase, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("TP"); v != "" {
		ets.TunePer, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("TR"); v != "" {
		ets.TuneRestarts, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("TT"); v != "" {
		ets.TuneTol, _ = strconv.ParseFloat(v, 64)
	}
	periods := []string{"YEARLY", "QUARTERLY", "MONTHLY"}
	if v := os.Getenv("TPER"); v != "" {
		periods = strings.Split(v, ",")
	}
	for _, p := range periods {
		sub := Filter(ss, []string{p})
		ets.EvalCount.Store(0)
		ets.Runs.Store(0)
		ets.Fits.Store(0)
		start := time.Now()
		res, err := Run(sub, vs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		ev, _ := Evaluate(sub, vs, res)
		o := ev.Overall
		t.Logf("%s %v sMAPE %.3f MASE %.3f fits %d runs %d evals %d", p, el, o.SMAPE, o.MASE, ets.Fits.Load(), ets.Runs.Load(), ets.EvalCount.Load())
	}
}
