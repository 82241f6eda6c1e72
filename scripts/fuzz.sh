#!/usr/bin/env bash
# Runs every fuzz target of the repository for a short while (CI does, issue
# 18): each `func FuzzXxx(f *testing.F)` of a *_test.go file, one go test
# invocation per target, as go requires:
#
#   go test -run '^$' -fuzz '^FuzzXxx$' -fuzztime "$FUZZTIME" ./internal/pkg
#
#   scripts/fuzz.sh            every target, FUZZTIME each (default 8s)
#   scripts/fuzz.sh web store  only the targets whose "pkg FuzzName" matches
#                              one of the (extended regular expression) words
#   scripts/fuzz.sh --list     print the targets and exit
#
# Environment:
#   FUZZTIME=30s       how long each target fuzzes (a go -fuzztime value:
#                      30s, 2m, or 5000x for a number of runs). At the
#                      default 8s, the 16 targets take about 2.5 minutes on
#                      2 cores once their test binaries are in the build
#                      cache; go builds them instrumented for fuzzing (not
#                      the binaries go test and go vet build), which from a
#                      cold cache adds about 4 minutes.
#   FUZZ_KEEP_GOING=1  run every target and fail at the end, instead of
#                      stopping at the first failure.
#
# A run that fails only with "context deadline exceeded" and no failing
# input is go's own race at the end of -fuzztime (golang/go#75804, fixed in
# Go 1.27): it is run once more, and fails the script if it fails again.
#
# Each target's corpus is its f.Add seeds plus the files under the package's
# testdata/fuzz/FuzzXxx/ (committed; they also run with a plain go test). New
# inputs go test finds interesting stay in the build cache ($(go env
# GOCACHE)/fuzz), not in the tree. A failure prints the failing input's path
# (go writes it to testdata/fuzz/FuzzXxx/ in the package) and the command that
# re-runs it; commit that file with the fix, as a regression test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME=${FUZZTIME:-8s}

log() { printf 'fuzz.sh: %s\n' "$*" >&2; }

# targets prints "dir name" for every fuzz target, sorted.
targets() {
	grep -rEo --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor --exclude-dir=.git \
		'^func Fuzz[A-Za-z0-9_]*\(' . |
		sed -E 's|^\./||; s|/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($| \1|; s|^[^/ ]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|. \1|' |
		sort -u
}

mapfile -t all < <(targets)
if ((${#all[@]} == 0)); then
	log "no fuzz targets found"
	exit 1
fi

if [[ ${1:-} == --list ]]; then
	printf '%s\n' "${all[@]}"
	exit 0
fi

selected=()
for t in "${all[@]}"; do
	if (($# == 0)); then
		selected+=("$t")
		continue
	fi
	for word in "$@"; do
		if [[ $t =~ $word ]]; then
			selected+=("$t")
			break
		fi
	done
done
if ((${#selected[@]} == 0)); then
	log "no fuzz target matches: $*"
	exit 1
fi

out=$(mktemp "${TMPDIR:-/tmp}/quarterdeck-fuzz.XXXXXX")
trap 'rm -f "$out"' EXIT

# report explains a failed run of target $2 in package dir $1 from its output.
report() {
	local dir=$1 name=$2 input entry
	tail -n 40 "$out" >&2
	input=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$out" | tail -n 1)
	if [[ -z $input ]]; then
		# A committed input or a seed failed while the corpus was being read.
		entry=$(sed -nE -e "s/.*failure while testing seed corpus entry: ${name}\/([^ ]+).*/\1/p" \
			-e "s/.*--- FAIL: ${name}\/([^ ]+).*/\1/p" "$out" | head -n 1)
		if [[ -n $entry && -f $dir/testdata/fuzz/$name/$entry ]]; then
			input=testdata/fuzz/$name/$entry
		elif [[ -n $entry ]]; then
			log "FAIL $dir $name: its seed $entry (an f.Add in the source) fails"
			return
		fi
	fi
	if [[ -n $input ]]; then
		log "FAIL $dir $name: failing input $dir/$input"
		log "re-run: go test -run '^$name/$(basename "$input")\$' ./$dir"
	else
		log "FAIL $dir $name (see the output above)"
	fi
}

# deadline_flake: the run failed only with go's "context deadline exceeded"
# at the end of -fuzztime, with no input failing (golang/go#75804, a race in
# the fuzzing coordinator, fixed in Go 1.27).
deadline_flake() {
	local name=$1
	grep -Eq "^--- FAIL: ${name} \(" "$out" &&
		grep -Eq '^ +context deadline exceeded$' "$out" &&
		! grep -Eq "Failing input written|--- FAIL: ${name}/|panic:|_test\.go:[0-9]+:" "$out"
}

# fuzz runs one target into $out; it retries once a run that only hit
# the coordinator's deadline race.
fuzz() {
	local dir=$1 name=$2 status=0
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "./$dir" >"$out" 2>&1 </dev/null || status=$?
	if ((status != 0)) && deadline_flake "$name"; then
		log "$dir $name: \"context deadline exceeded\" with no failing input (golang/go#75804): running it again"
		status=0
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "./$dir" >"$out" 2>&1 </dev/null || status=$?
	fi
	if ((status == 0)) && grep -q 'no fuzz tests to fuzz' "$out"; then
		cat "$out" >&2
		status=1
	fi
	return "$status"
}

failed=()
start=$SECONDS
log "${#selected[@]} fuzz targets, $FUZZTIME each"
for t in "${selected[@]}"; do
	dir=${t% *}
	name=${t#* }
	t0=$SECONDS
	status=0
	fuzz "$dir" "$name" || status=$?
	if ((status != 0)); then
		printf 'FAIL  %-32s %-22s %4ds\n' "$dir" "$name" $((SECONDS - t0))
		report "$dir" "$name"
		failed+=("$t")
		if [[ -z ${FUZZ_KEEP_GOING:-} ]]; then
			exit 1
		fi
		continue
	fi
	printf 'ok    %-32s %-22s %4ds\n' "$dir" "$name" $((SECONDS - t0))
done

if ((${#failed[@]} > 0)); then
	log "${#failed[@]} of ${#selected[@]} targets failed in $((SECONDS - start))s: ${failed[*]}"
	exit 1
fi
log "all ${#selected[@]} targets passed in $((SECONDS - start))s"
