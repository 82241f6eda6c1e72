#!/usr/bin/env bash
# Import benchmark: a generated 1,000,000-row Salesforce-format Opportunity.csv
# (plus the User.csv and Account.csv it references), loaded in ONE run by
#   - quarterdeck's import into DuckDB, vs DuckDB's own read_csv loading the
#     same file into the same table (target: within 2x);
#   - quarterdeck's import into PostgreSQL, vs PostgreSQL's COPY of the raw
#     file (target: no slower);
# several rounds each, interleaved, reporting medians and ratios.
#
#   scripts/bench-import.sh [rows] [rounds]        (defaults: 1000000, 3)
#
# Environment:
#   QUARTERDECK_TEST_POSTGRES  DSN of a PostgreSQL user who may create
#                              databases; when unset, a throwaway cluster is
#                              started as scripts/test.sh does.
#   QUARTERDECK_BENCH_DIR      where the generated files go (kept for reuse;
#                              default: a temporary folder, removed at the end).
#   QUARTERDECK_BENCH_REPORT   also write the result table to this file.
#   QUARTERDECK_BENCH_RSS=1    also measure, with /usr/bin/time -v, the peak RSS
#                              of one import of the file into DuckDB and into
#                              PostgreSQL, each in a process of its own (and of
#                              DuckDB's own read_csv load, for comparison).
#   QUARTERDECK_BENCH_COMPARE=0  skip the timed comparison (e.g. RSS at 10M rows:
#                              QUARTERDECK_BENCH_COMPARE=0 QUARTERDECK_BENCH_RSS=1
#                              scripts/bench-import.sh 10000000).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

rows=${1:-1000000}
rounds=${2:-3}

log() { printf 'bench-import.sh: %s\n' "$*" >&2; }

cleanup_dir=""
if [[ -z ${QUARTERDECK_BENCH_DIR:-} ]]; then
	QUARTERDECK_BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/qd-bench-import.XXXXXX")
	cleanup_dir=$QUARTERDECK_BENCH_DIR
fi
export QUARTERDECK_BENCH_DIR

# A throwaway PostgreSQL, started the way scripts/test.sh does.
PG_DIR="" PG_BIN="" PG_STARTED=""
pg_run() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd "$PG_DIR" && runuser -u postgres -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}
cleanup() {
	if [[ -n $PG_STARTED ]]; then
		pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	[[ -n $PG_DIR ]] && rm -rf -- "$PG_DIR"
	[[ -n $cleanup_dir ]] && rm -rf -- "$cleanup_dir"
	return 0
}
trap cleanup EXIT

if [[ -z ${QUARTERDECK_TEST_POSTGRES:-} ]]; then
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [[ -z $PG_BIN ]]; then
		log "no PostgreSQL found: install the postgresql package or set QUARTERDECK_TEST_POSTGRES"
		exit 1
	fi
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
		PG_DIR=$(mktemp -d /tmp/quarterdeck-pg.XXXXXX)
		chown postgres: "$PG_DIR"
	else
		PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/quarterdeck-pg.XXXXXX")
	fi
	pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
	port=54400
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
	# The same settings as the test cluster: fsync off, as on a throwaway box.
	pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
		start >/dev/null
	PG_STARTED=1
	export QUARTERDECK_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	log "$("$PG_BIN/postgres" -V) on 127.0.0.1:$port"
fi

log "$(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
log "generating and comparing $rows rows, $rounds rounds (files in $QUARTERDECK_BENCH_DIR)"

bin=$(mktemp "${TMPDIR:-/tmp}/importer.test.XXXXXX")
go test -c -o "$bin" ./internal/importer
trap 'rm -f "$bin"; cleanup' EXIT

(cd internal/importer && QUARTERDECK_BENCH_ROWS=$rows QUARTERDECK_BENCH_GENERATE=1 \
	"$bin" -test.run '^TestBenchGenerate$' -test.timeout 6h >/dev/null)

if [[ ${QUARTERDECK_BENCH_COMPARE:-1} != 0 ]]; then
	(cd internal/importer && QUARTERDECK_BENCH_ROWS=$rows QUARTERDECK_BENCH_ROUNDS=$rounds \
		"$bin" -test.run '^$' -test.bench '^BenchmarkImportVsNative$' -test.benchtime 1x -test.timeout 6h)
fi

if [[ ${QUARTERDECK_BENCH_RSS:-} == 1 ]]; then
	# One import per process, measured from outside: the users and accounts
	# are loaded by a first process, the opportunities by a second one.
	files=$QUARTERDECK_BENCH_DIR/$rows
	step() { (cd internal/importer && QUARTERDECK_BENCH_IMPORT=$1 QUARTERDECK_BENCH_DSN=$2 "${@:3}" "$bin" -test.run '^TestBenchImportStep$' -test.v -test.timeout 6h); }
	db_dir=$(mktemp -d "${TMPDIR:-/tmp}/qd-rss.XXXXXX")
	log "peak RSS of one import into DuckDB (/usr/bin/time -v):"
	step "$files/setup" "$db_dir/rss.db" | grep -E '^duckdb:'
	cp "$db_dir/rss.db" "$db_dir/native.db"
	step "$files/opportunities" "$db_dir/rss.db" /usr/bin/time -v 2>&1 | grep -E '^duckdb:|Maximum resident|Elapsed \(wall'
	log "peak RSS of DuckDB's own read_csv load of the same file into the same table:"
	step "$files/opportunities" "$db_dir/native.db" env QUARTERDECK_BENCH_NATIVE=1 /usr/bin/time -v 2>&1 | grep -E '^duckdb native:|Maximum resident|Elapsed \(wall'
	rm -rf -- "$db_dir"
	log "peak RSS of the importing process with PostgreSQL:"
	pg_db="qd_bench_rss_$$"
	psql -q "$QUARTERDECK_TEST_POSTGRES" -c "CREATE DATABASE $pg_db"
	pg_dsn=$(printf '%s' "$QUARTERDECK_TEST_POSTGRES" | sed -E "s#/[^/?]*(\?|$)#/$pg_db\1#")
	step "$files/setup" "$pg_dsn" | grep -E '^postgres:'
	step "$files/opportunities" "$pg_dsn" /usr/bin/time -v 2>&1 | grep -E '^postgres:|Maximum resident|Elapsed \(wall'
	psql -q "$QUARTERDECK_TEST_POSTGRES" -c "DROP DATABASE $pg_db WITH (FORCE)"
fi
