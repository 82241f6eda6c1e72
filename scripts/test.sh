#!/usr/bin/env bash
# Runs the whole Quarterdeck test suite on a fresh Debian machine:
#   scripts/test.sh [go test flags...]
#
# - installs postgresql and chromium from Debian when missing;
# - unless QUARTERDECK_TEST_POSTGRES is set, starts a throwaway PostgreSQL
#   cluster on a free loopback port and exports QUARTERDECK_TEST_POSTGRES;
# - exports QUARTERDECK_TEST_CHROMIUM (browser tests) when chromium exists;
# - runs `go test -count=1 -timeout 25m "$@" ./...` and exits with its status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- packages

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		log "need root (or sudo) to run: $*"
		return 1
	fi
}

pg_bindir() {
	# Newest installed server version, e.g. /usr/lib/postgresql/15/bin.
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
	if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
		printf '%s\n' "$d"
	fi
}

install_missing() {
	local pkgs=()
	if [[ -z ${QUARTERDECK_TEST_POSTGRES:-} ]] && [[ -z $(pg_bindir) ]]; then
		pkgs+=(postgresql)
	fi
	if [[ ! -x /usr/bin/chromium ]]; then
		pkgs+=(chromium)
	fi
	if ((${#pkgs[@]} == 0)); then
		return 0
	fi
	log "installing ${pkgs[*]} from Debian"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

# ---------------------------------------------------------------- postgres

PG_DIR=""
PG_BIN=""
PG_STARTED=""

# pg_run CMD...: run as the cluster owner (the `postgres` system user when we
# are root, since initdb refuses root; ourselves otherwise), from a directory
# that user can read.
pg_run() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd "$PG_DIR" && runuser -u postgres -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

pg_stop() {
	if [[ -n $PG_STARTED ]]; then
		pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
		PG_STARTED=""
	fi
	if [[ -n $PG_DIR ]]; then
		rm -rf -- "$PG_DIR"
		PG_DIR=""
	fi
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_start() {
	PG_BIN=$(pg_bindir)
	if [[ -z $PG_BIN ]]; then
		log "no PostgreSQL server found under /usr/lib/postgresql"
		return 1
	fi
	if [[ $(id -u) -eq 0 ]]; then
		if ! id postgres >/dev/null 2>&1; then
			useradd --system --home-dir /var/lib/postgresql --no-create-home \
				--shell /usr/sbin/nologin postgres
		fi
		# Under /tmp so the postgres user can reach it whatever TMPDIR is.
		PG_DIR=$(mktemp -d /tmp/quarterdeck-pg.XXXXXX)
		chown postgres: "$PG_DIR"
	else
		PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/quarterdeck-pg.XXXXXX")
	fi
	mkdir "$PG_DIR/sock"
	if [[ $(id -u) -eq 0 ]]; then chown postgres: "$PG_DIR/sock"; fi

	if ! pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		log "initdb failed"
		return 1
	fi
	pg_run tee "$PG_DIR/data/pg_hba.conf" >/dev/null <<-'HBA'
		local all all              trust
		host  all all 127.0.0.1/32 trust
	HBA

	local port=54329 attempt
	for attempt in 1 2 3 4 5; do
		while port_in_use "$port"; do
			port=$((port + 1))
			if ((port > 65000)); then
				log "no free port found"
				return 1
			fi
		done
		# Options on the command line override postgresql.conf.
		if pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR/sock -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" \
			start >/dev/null; then
			PG_STARTED=1
			export QUARTERDECK_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
			log "$("$PG_BIN/postgres" -V) on 127.0.0.1:$port ($PG_DIR)"
			return 0
		fi
		# Most likely someone grabbed the port in between: try the next one.
		log "pg_ctl start failed on port $port (attempt $attempt):"
		tail -n 5 "$PG_DIR/postgres.log" >&2 || true
		port=$((port + 1))
	done
	log "could not start PostgreSQL"
	return 1
}

# ---------------------------------------------------------------- main

trap pg_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

install_missing

if [[ -z ${QUARTERDECK_TEST_POSTGRES:-} ]]; then
	pg_start
else
	log "using QUARTERDECK_TEST_POSTGRES from the environment"
fi

if [[ -z ${QUARTERDECK_TEST_CHROMIUM:-} && -x /usr/bin/chromium ]]; then
	export QUARTERDECK_TEST_CHROMIUM=/usr/bin/chromium
fi

status=0
go test -count=1 -timeout 25m "$@" ./... || status=$?
exit "$status"
