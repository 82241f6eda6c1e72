#!/usr/bin/env bash
# Benchmark our time-series methods (quarterdeck forecast series --method
# combo|ets|theta) against R's forecast::ets and forecast::thetaf on the M1
# competition data, in one run: accuracy (sMAPE, MASE, as scored by
# internal/forecast/series), interval coverage and time, per period type.
#
#   scripts/bench-series.sh
#
# Environment:
#   MCOMP_DIR        data directory (default: shared/data/mcomp found above the repo)
#   QUARTERDECK_BIN  binary to time (default: built from this tree)
#   PERIODS          default YEARLY,QUARTERLY,MONTHLY
# R is single-threaded, so ours is timed with one worker as well as with
# all cores (GOMAXPROCS).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
periods=${PERIODS:-YEARLY,QUARTERLY,MONTHLY}

data=${MCOMP_DIR:-}
if [ -z "$data" ]; then
	d=$root
	while [ "$d" != / ]; do
		if [ -f "$d/shared/data/mcomp/m1_series.csv" ]; then data=$d/shared/data/mcomp; break; fi
		d=$(dirname "$d")
	done
fi
if [ -z "$data" ] || [ ! -f "$data/m1_values.csv" ]; then
	echo "bench-series: M1 data not found; set MCOMP_DIR" >&2
	exit 1
fi

if ! Rscript -e 'suppressPackageStartupMessages(library(forecast))' >/dev/null 2>&1; then
	echo "bench-series: installing r-cran-forecast" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq r-cran-forecast >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${QUARTERDECK_BIN:-}
if [ -z "$bin" ]; then
	bin=$work/quarterdeck
	(cd "$root" && go build -o "$bin" ./cmd/quarterdeck)
fi
if ! "$bin" forecast series --help >/dev/null 2>&1; then
	echo "bench-series: $bin has no 'forecast series' command" >&2
	exit 1
fi

now() { date +%s.%N; }
results=$work/results.csv
# method,period,series,smape,mase,snaive_smape,snaive_mase,seconds,wall_seconds,cover80,cover95
# seconds is the fitting and forecasting alone (what R's figure measures);
# wall_seconds adds process start-up and reading the CSVs.
for p in ${periods//,/ }; do
	for method in combo ets theta; do
		for w in 0 1; do
			label=go-$method
			[ "$w" = 1 ] && label=go-$method-1cpu
			out=$work/go-$method-$p-$w
			t0=$(now)
			"$bin" forecast series --series "$data/m1_series.csv" --values "$data/m1_values.csv" \
				--method "$method" --evaluate --timing --only "$p" --workers "$w" >"$out.csv" 2>"$out.err"
			t1=$(now)
			fit=$(awk '/fitted/ {sub(/s$/, "", $NF); print $NF}' "$out.err")
			# The summary block is the last one; pick this period's row.
			awk -F, -v p="$p" -v m="$label" -v t0="$t0" -v t1="$t1" -v fit="$fit" \
				'/^period,series,smape/ {on=1; next} on && $1==p {printf "%s,%s,%s,%s,%s,%s,%s,%.3f,%.3f,%s,%s\n", m, p, $2, $3, $4, $5, $6, fit, t1-t0, $7, $8}' \
				"$out.csv" >>"$results"
		done
	done
done

Rscript "$root/scripts/bench-series.R" "$data" "$periods" >>"$results"

echo "M1 competition: ours vs R forecast $(Rscript -e 'cat(as.character(packageVersion("forecast")))' 2>/dev/null), $(nproc) CPUs"
echo
awk -F, '
	{ key=$1 SUBSEP $2; smape[key]=$4; mase[key]=$5; secs[key]=$8; wall[key]=($9 == "" ? $8 : $9); c80[key]=$10; c95[key]=$11; n[$2]=$3
	  if (!($2 in seen)) { seen[$2]=1; order[++np]=$2 }
	  naive_smape[$2]=$6; naive_mase[$2]=$7 }
	END {
		printf "%-15s %-10s %6s %8s %7s %9s %9s %7s %7s\n", "method", "period", "series", "sMAPE", "MASE", "fit s", "wall s", "cov80", "cov95"
		split("R-ets R-thetaf go-combo go-combo-1cpu go-ets go-ets-1cpu go-theta go-theta-1cpu", ms, " ")
		for (i=1; i<=np; i++) {
			p=order[i]
			for (j=1; j<=8; j++) {
				k=ms[j] SUBSEP p
				if (k in smape) printf "%-15s %-10s %6d %8.3f %7.3f %9.3f %9.3f %7.3f %7.3f\n", ms[j], p, n[p], smape[k], mase[k], secs[k], wall[k], c80[k], c95[k]
			}
			printf "%-15s %-10s %6d %8.3f %7.3f %9s %9s %7s %7s\n", "snaive", p, n[p], naive_smape[p], naive_mase[p], "-", "-", "-", "-"
		}
		print ""
		printf "%-10s %16s %20s %14s %14s %14s %14s\n", "period", "R-ets/combo fit", "R-ets/combo fit 1cpu", "sMAPE vs ets", "MASE vs ets", "sMAPE vs theta", "MASE vs theta"
		for (i=1; i<=np; i++) {
			p=order[i]; r="R-ets" SUBSEP p; th="R-thetaf" SUBSEP p; g="go-combo" SUBSEP p; g1="go-combo-1cpu" SUBSEP p
			printf "%-10s %15.1fx %19.1fx %13.1f%% %13.1f%% %13.1f%% %13.1f%%\n", p, secs[r]/secs[g], secs[r]/secs[g1],
				100*(smape[g]/smape[r]-1), 100*(mase[g]/mase[r]-1), 100*(smape[g]/smape[th]-1), 100*(mase[g]/mase[th]-1)
		}
	}' "$results"
