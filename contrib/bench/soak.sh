#!/bin/bash
# soak.sh - a long run (not a timed test): at least 1,000,000 messages
# through one dmarc-milter process, to show that memory stays flat and that
# every message gets its history record.
#
# usage (as root, from the build directory, after make):
#   contrib/bench/soak.sh [MESSAGES]      (default 1000000; `make soak`)
#
# A real nsd serves t/zones on loopback; contrib/bench/mkcorpus writes a
# mixed corpus (DKIM pass, DMARC fail, no policy; 3-30 KB bodies) and
# contrib/bench/mltload plays the MTA: SOAK_CONC connections at a time
# (default 16), SOAK_PER_CONN messages per connection (default 10; every
# tenth connection carries a single message, so both paths are exercised).
# The milter's resident set size is sampled every SOAK_SAMPLE seconds
# (default 10) and printed at start (after a warm-up that fills the DNS
# cache and the allocator's arenas), at each sample, and at the end.
#
# It prints, and judges:
#   - history lines written == messages sent (warm-up included), every
#     line complete JSON (t/historycheck);
#   - mltload saw no error (every message got a verdict);
#   - RSS at the end is within SOAK_RSS_SLACK_KB (default 8192) of the
#     largest RSS seen during the first quarter of the run: a leak of even
#     a few bytes per message over a million messages exceeds that.
# The last line is "soak: PASS" or "soak: FAIL (reasons)"; exit 0 or 1.
set -u

N=${1:-1000000}
CONC=${SOAK_CONC:-16}
PER_CONN=${SOAK_PER_CONN:-10}
SAMPLE=${SOAK_SAMPLE:-10}
SLACK=${SOAK_RSS_SLACK_KB:-8192}
CORPUS_N=${SOAK_CORPUS:-2000}
WARMUP=5000

die() { echo "soak: $*" >&2; exit 1; }
case $N in ''|*[!0-9]*) die "usage: $0 [MESSAGES]";; esac
[ "$(id -u)" -eq 0 ] || die "run as root (nsd binds a port and drops privileges)"
[ -x milter/dmarc-milter ] && [ -x contrib/bench/mltload ] && [ -x contrib/bench/mkcorpus ] ||
	die "run from the build directory after make (milter/dmarc-milter, contrib/bench/mltload, contrib/bench/mkcorpus)"

top_builddir=$(pwd)
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
export top_srcdir top_builddir
# t/lib.sh: the private temp dir, nsd, the milter, cleanup at exit
. "$top_srcdir/t/lib.sh"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$MILTER_PID/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$MILTER_PID/status" 2>/dev/null; }
cpu_s() { awk '{ printf "%.1f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$MILTER_PID/stat" 2>/dev/null; }

start_nsd
HIST="$T_DIR/history.jsonl"
# as a production milter runs: log level info, to stderr (t/lib.sh's
# milter_conf logs at debug level, which would measure the log)
printf 'Nameservers %s\nAuthservID mx.test.example\nLogLevel info\nSyslog no\nHistoryFile %s\nRejectFailures yes\n' \
	"$NAMESERVER" "$HIST" > "$T_DIR/milter.conf"
start_milter "$T_DIR/milter.conf"

echo "soak: building a corpus of $CORPUS_N messages"
contrib/bench/mkcorpus -o "$T_DIR/corpus" -n "$CORPUS_N" -S 1 > /dev/null ||
	die "mkcorpus failed"

load() {	# load LABEL MESSAGES PER_CONN
	contrib/bench/mltload -s "$MILTER_SOCKET" -d "$T_DIR/corpus" -c "$CONC" -n "$2" -m "$3" -l "$1"
}

echo "soak: warm-up, $WARMUP messages"
load warmup "$WARMUP" "$PER_CONN" > "$T_DIR/warmup.out" || die "warm-up failed: $(cat "$T_DIR/warmup.out")"
rss0=$(rss_kb)
echo "soak: milter RSS at start (after warm-up): $rss0 kB"

# The run: nine parts with PER_CONN messages per connection, one with a
# message per connection, one after the other in the background, while the
# sampler watches.
rm -f "$T_DIR/run.out"
(
	part=$((N / 10))
	for i in 1 2 3 4 5 6 7 8 9; do load "part$i" "$part" "$PER_CONN" || echo "part$i failed" >&2; done
	load part10 $((N - 9 * part)) 1 || echo "part10 failed" >&2
) > "$T_DIR/run.out" 2> "$T_DIR/run.err" &
LOADER=$!
T_PIDS="$T_PIDS $LOADER"

start=$(date +%s)
early_max=$rss0
while kill -0 "$LOADER" 2>/dev/null; do
	sleep "$SAMPLE"
	kill -0 "$MILTER_PID" 2>/dev/null || break
	now=$(( $(date +%s) - start ))
	r=$(rss_kb)
	lines=$(wc -l < "$HIST")
	echo "soak: ${now}s: RSS $r kB, history lines $lines, milter CPU $(cpu_s) s"
	# the first quarter of the run sets the plateau
	[ "$lines" -lt $((WARMUP + N / 4)) ] && [ "${r:-0}" -gt "$early_max" ] && early_max=$r
done
wait "$LOADER"
secs=$(( $(date +%s) - start ))
alive=yes
kill -0 "$MILTER_PID" 2>/dev/null || alive=no
rss1=$(rss_kb)
hwm=$(hwm_kb)
cpu=$(cpu_s)
stop_milter

want=$((WARMUP + N))
lines=$(wc -l < "$HIST")
"$top_builddir/t/historycheck" "$HIST" 2> "$T_DIR/check.err" | tail -n 1 > "$T_DIR/check.out"
hc=${PIPESTATUS[0]}
sent=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^msgs=/) { sub(/msgs=/, "", $i); s += $i } } END { print s + 0 }' "$T_DIR/run.out")
errors=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) { sub(/errors=/, "", $i); s += $i } } END { print s + 0 }' "$T_DIR/run.out")

echo
echo "soak: mltload parts:"
sed 's/^/  /' "$T_DIR/run.out"
echo "soak: $sent messages in $secs s ($((sent / (secs > 0 ? secs : 1))) msg/s), $CONC connections, $PER_CONN per connection"
echo "soak: milter RSS at start $rss0 kB, plateau (first quarter) $early_max kB, at end ${rss1:-?} kB, peak (VmHWM) ${hwm:-?} kB"
echo "soak: milter CPU $cpu s ($(awk -v c="$cpu" -v n="$want" 'BEGIN { printf "%.3f", c * 1000 / n }') ms per message)"
echo "soak: history lines $lines, expected $want (warm-up $WARMUP + $N); t/historycheck: $(cat "$T_DIR/check.out")"

why=""
[ "$alive" = yes ] || why="$why the milter died;"
[ "$sent" -eq "$N" ] || why="$why mltload counted $sent of $N;"
[ "$errors" -eq 0 ] || why="$why $errors messages without a verdict;"
[ -s "$T_DIR/run.err" ] && why="$why $(tr '\n' ' ' < "$T_DIR/run.err");"
[ "$lines" -eq "$want" ] || why="$why $lines history lines for $want messages;"
[ "$hc" -eq 0 ] && grep -qx "records=$want invalid=0" "$T_DIR/check.out" ||
	why="$why historycheck: $(cat "$T_DIR/check.out") $(head -c 300 "$T_DIR/check.err");"
[ -n "${rss1:-}" ] && [ "$rss1" -le $((early_max + SLACK)) ] ||
	why="$why RSS grew from $early_max to ${rss1:-?} kB (slack $SLACK kB);"
if [ -z "$why" ]; then
	echo "soak: PASS"
	exit 0
fi
echo "soak: FAIL ($why )"
exit 1
