#!/bin/sh
# reports-bench.sh - a benchmark (not a test) of dmarc-reports import and
# send on a synthetic history of N records, with SQLite and PostgreSQL.
#
# usage (as root, from the build directory, after make):
#   contrib/bench/reports-bench.sh [N]         (default 1000000)
#
# It compiles contrib/bench/histgen.c against the tree's headers and
# milter/libdmarc.a (the tree's CC and CFLAGS from the Makefile), writes N
# history records over 7 UTC days into a temporary directory, then for
# each backend times
#   dmarc-reports import HISTORY
#   dmarc-reports send --dry-run --output DIR --until <end of the last day>
# and prints records, seconds, records/s, peak RSS of dmarc-reports and the
# number of reports built.
#
# PostgreSQL is a PRIVATE server started here as the postgres user
# (initdb in the temporary directory, 127.0.0.1 on a free port, trust
# authentication) with -c fsync=off: the figures show the tool and the
# SQL, not the disk's flush latency.  A production server with fsync on
# commits every IMPORT_BATCH (1000) rows, so expect it to be slower on
# slow disks.  A cluster the machine already runs is not touched.  The
# server is stopped and everything is removed at exit (BENCH_KEEP=1
# keeps the temporary directory).  Peak RSS is dmarc-reports' own, not the
# server's.  Needs about 1.4 KB of disk per record in $TMPDIR (/tmp).
set -u

N=${1:-1000000}
DAYS=7
START=1793491200	# 2026-11-01T00:00:00Z, histgen's default
UNTIL=$((START + DAYS * 86400))

die() { echo "reports-bench: $*" >&2; exit 1; }

case $N in ''|*[!0-9]*) die "usage: $0 [N]";; esac
[ "$(id -u)" -eq 0 ] || die "run as root (the PostgreSQL server runs as the postgres user)"
if ! [ -f Makefile ] || ! [ -f milter/libdmarc.a ] || ! [ -x reports/dmarc-reports ]; then
	die "run from the build directory after make (milter/libdmarc.a, reports/dmarc-reports)"
fi
BUILD=$(pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
R="$BUILD/reports/dmarc-reports"

mkvar() { sed -n "s/^$1 = //p" Makefile | head -n 1; }
CC=$(mkvar CC); CC=${CC:-cc}
CFLAGS="$(mkvar CFLAGS) $(mkvar SAN_CFLAGS)"

# shellcheck disable=SC2012 # as t/lib.sh: the newest installed version
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
id postgres >/dev/null 2>&1 || die "no postgres user"

if [ -x /usr/bin/time ]; then
	HAVE_TIME=1
else
	HAVE_TIME=0
	echo "# /usr/bin/time not installed (apt-get install time): peak RSS sampled from /proc/PID/status VmHWM" >&2
fi

B=$(mktemp -d "${TMPDIR:-/tmp}/reports-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$B"
PG_DATA=
cleanup() {
	rc=$?
	if [ -n "$PG_DATA" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1
	fi
	if [ -n "${BENCH_KEEP:-}" ]; then echo "# kept $B" >&2; else rm -rf "$B"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

# measure OUT CMD...: run CMD with stdout+stderr to OUT; sets SECS and RSS_KB
measure() {
	out=$1; shift
	t0=$(now)
	if [ "$HAVE_TIME" -eq 1 ]; then
		/usr/bin/time -v -o "$B/time.txt" "$@" > "$out" 2>&1
		st=$?
		RSS_KB=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$B/time.txt")
	else
		"$@" > "$out" 2>&1 &
		pid=$!
		RSS_KB=0
		while kill -0 "$pid" 2>/dev/null; do
			h=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null)
			[ -n "$h" ] && [ "$h" -gt "$RSS_KB" ] && RSS_KB=$h
			sleep 0.05
		done
		wait "$pid"
		st=$?
	fi
	SECS=$(echo "$(now) $t0" | awk '{ printf "%.1f", $1 - $2 }')
	[ "$st" -eq 0 ] || { cat "$out" >&2; die "failed ($st): $*"; }
}

# row BACKEND STEP RECORDS SECS RSS_KB REPORTS: one line of the table
row() {
	echo "$@" | awk '{
		rate = $4 > 0 ? sprintf("%.0f", $3 / $4) : "-"
		printf "| %s | %s | %d | %.1f | %s | %.0f MB | %s |\n", $1, $2, $3, $4, rate, $5 / 1024, $6
	}' >> "$B/rows"
	tail -n 1 "$B/rows" >&2
}

# bench BACKEND DB: import, then a dry-run send
bench() {
	measure "$B/import-$1.out" "$R" -c "$B/r.conf" --db "$2" import "$B/history.jsonl"
	imported=$(sed -n 's/.*lines, \([0-9]*\) imported.*/\1/p' "$B/import-$1.out")
	row "$1" import "${imported:-0}" "$SECS" "$RSS_KB" -
	mkdir "$B/out-$1"
	measure "$B/send-$1.out" "$R" -c "$B/r.conf" --db "$2" send --dry-run --output "$B/out-$1" --until "$UNTIL"
	built=$(sed -n 's/^\([0-9]*\) reports built.*/\1/p' "$B/send-$1.out")
	row "$1" send "${imported:-0}" "$SECS" "$RSS_KB" "${built:-?}"
	rm -rf "$B/out-$1"
}

echo "# $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)" >&2
echo "# building histgen" >&2
# shellcheck disable=SC2086,SC2046 # CFLAGS and the pkg-config output are lists of words
"$CC" -std=gnu11 $CFLAGS -I"$BUILD" -I"$SRC/milter" "$SRC/contrib/bench/histgen.c" \
	milter/libdmarc.a $(pkg-config --libs jansson libcrypto) -o "$B/histgen" || die "cannot build histgen"
echo "# generating $N records over $DAYS days" >&2
t0=$(now)
"$B/histgen" -d "$DAYS" -t "$START" "$N" > "$B/history.jsonl" || die "histgen failed"
echo "# $(du -m "$B/history.jsonl" | cut -f1) MB in $(echo "$(now) $t0" | awk '{ printf "%.1f", $1 - $2 }') s" >&2

cat > "$B/r.conf" <<CONF
OrgName			Benchmark Receiver
ReportEmail		dmarc-noreply@receiver.example
CONF

echo "# SQLite" >&2
bench sqlite "$B/reports.sqlite"

echo "# PostgreSQL (private server, fsync=off)" >&2
PG_PORT=15432
while ss -Htln "( sport = :$PG_PORT )" 2>/dev/null | grep -q .; do PG_PORT=$((PG_PORT + 1)); done
mkdir "$B/pg" && chown postgres "$B/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$B/pg/data" -A trust -U postgres > "$B/pg/initdb.log" 2>&1 ||
	die "initdb failed: $(cat "$B/pg/initdb.log")"
PG_DATA="$B/pg/data"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$B/pg/server.log" -w \
	-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $B/pg -c fsync=off" start > "$B/pg/start.log" 2>&1 ||
	die "PostgreSQL did not start: $(cat "$B/pg/start.log" "$B/pg/server.log" 2>/dev/null)"
bench postgresql "postgresql://postgres@127.0.0.1:$PG_PORT/postgres"

echo "| backend | step | records | seconds | records/s | peak RSS | reports built |"
echo "|---|---|---:|---:|---:|---:|---:|"
cat "$B/rows"
