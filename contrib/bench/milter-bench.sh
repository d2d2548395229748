#!/bin/bash
# milter-bench.sh - the side-by-side milter benchmark of issue 7: the built
# dmarc-milter against Debian's OpenDKIM + OpenDMARC chained as Postfix
# chains smtpd_milters, OpenDMARC alone, and two do-nothing libmilter
# filters as ceilings; then the same end to end through a private Postfix.
# A benchmark, not a test: it prints figures and compares them with the
# issue's targets (PASS/MISS), and its exit status only says whether the
# benchmark itself could run.
#
# usage (as ROOT, from the build directory after make; "make bench" builds
# the tools and runs it):
#   contrib/bench/milter-bench.sh
#
# It needs root because it
#   - installs the Debian packages opendkim and opendmarc (and nsd, Postfix,
#     ldnsutils when missing).  They stay installed; if this script installed
#     them and the packaging started their system services, those services
#     are stopped and disabled again: we only ever run private instances;
#   - re-executes itself in private mount and network namespaces
#     (unshare -m -n; only lo, brought up, so nothing here can reach or
#     disturb the machine's network or other jobs' ports).  A private
#     resolv.conf saying "nameserver 127.0.0.2" is bind-mounted over
#     /etc/resolv.conf there: OpenDMARC and libspf2 use the system resolver
#     and cannot be pointed at another server or port, so nsd serving
#     t/zones runs on 127.0.0.2 port 53 and every filter asks it (OpenDKIM
#     and dmarc-milter through their Nameservers options too).  The
#     machine's own /etc/resolv.conf and routes are never touched; the
#     namespaces end with the script;
#   - starts a private Postfix (as t/lib.sh does) that discards the mail.
#
# What it does:
#   1. mkcorpus writes BENCH_MESSAGES DKIM-signed messages (mixed
#      pass/fail/none, 3-30 KB bodies) and their envelopes;
#   2. starts, each on its own inet: socket on 127.0.0.1: dmarc-milter
#      (RejectFailures, HoldQuarantinedMessages, a history file), opendkim
#      (Mode v, AuthservID bench), opendmarc trusting "bench" (SPF itself
#      with libspf2, RejectFailures, HoldQuarantinedMessages, a history
#      file), a second opendmarc for "OpenDMARC alone", nullmilter and
#      nullmilter -l.  Each answers a warm-up run (BENCH_WARMUP messages,
#      errors=0) before it is measured: the DNS caches are warm;
#   3. for each target and concurrency in BENCH_CONC, one message per
#      connection (and -m 10 at concurrency 16 for dmarc-milter and the lean
#      filter), mltload sends the corpus once; the filter processes' CPU
#      time (utime+stime from /proc/PID/stat, summed over the chain) per
#      message and peak RSS (VmHWM after the last concurrency level, summed
#      over the chain) are taken around it;
#   4. prints the tables and the ratios against the issue's targets;
#   5. end to end: smtp-source sends BENCH_E2E_MESSAGES copies of a ~19 KB
#      DKIM-signed corpus message through a private Postfix (discard
#      transport) at each of BENCH_E2E_SESSIONS sessions, one message per
#      SMTP session, with no milter, with the chain, with dmarc-milter over
#      inet: and over unix:, and with the two do-nothing filters; then once
#      more at the first session count with delayed ACKs turned off on the
#      namespace's loopback routes ("quickack"), which shows how much of
#      the time is the Nagle/delayed-ACK stall between Postfix and a filter.
# Everything is also written as TSV to a results file (path printed at the
# end, default ./milter-bench-DATE.tsv; BENCH_RESULTS names another), the
# printed report next to it as .md.  The first column says what a row is:
#   load   TARGET CONC MSGS_PER_CONN MSGS ERRORS SECS RATE P50_MS P99_MS
#          MAX_MS FILTER_CPU_MS_PER_MSG CLIENT_CPU_PCT ACCEPT REJECT
#          TEMPFAIL QUARANTINE DISCARD PEAK_RSS_KB  (the header line)
#   ratio  FIGURE VALUE TARGET PASS|MISS
#   e2e    LABEL SESSIONS MSGS SECS RATE SMTP_SOURCE_STATUS MILTER_REJECTS
#
# Environment (defaults in brackets):
#   BENCH_MESSAGES [2000]      corpus size = messages per mltload run
#   BENCH_WARMUP [200]         warm-up messages per target before measuring
#   BENCH_CONC ["1 4 16 64 256"]
#   BENCH_E2E_MESSAGES [1000]  messages per end-to-end run at 16 sessions
#   BENCH_E2E_MESSAGES_1 [300] the same at 1 session (a stalled milter runs
#                              at ~10 msg/s: 2000 would take minutes)
#   BENCH_E2E_SESSIONS ["1 16"]
#   BENCH_E2E=no               skip the Postfix part
#   BENCH_E2E_QUICKACK=no      skip its second pass with delayed ACKs off
#   BENCH_LOAD=no              skip the mltload part (the filters still get
#                              their warm-up run)
#   BENCH_LOAD_QUICKACK=yes    run the mltload part with delayed ACKs off on
#                              lo: libmilter filters that answer end of
#                              message in several writes (OpenDKIM,
#                              OpenDMARC) then lose their ~40 ms stall per
#                              filter, as in the issue's own figures
#   BENCH_RESULTS              the TSV file to write
#   BENCH_KEEP=1               keep the temporary directory (logs, configs)
#   BENCH_TIMEOUT [10]         mltload's per-message timeout, seconds
# A full run takes about 10-15 minutes on 2 cores.
set -u

die() { echo "milter-bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (packages, a mount namespace, nsd on port 53, Postfix)"
if ! [ -f Makefile ] || ! [ -x milter/dmarc-milter ]; then
	die "run from the build directory after make (milter/dmarc-milter)"
fi
for t in mltload mkcorpus nullmilter; do
	[ -x "contrib/bench/$t" ] || die "contrib/bench/$t is not built (make bench builds it)"
done

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(pwd)

# pkg_installed NAME: whether dpkg has it installed
pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# install_packages: what the benchmark needs; a system service that the
# installation of opendkim/opendmarc starts is ours to stop again
install_packages() {
	missing="" ours=""
	for p in opendkim opendmarc nsd ldnsutils postfix; do
		pkg_installed "$p" && continue
		missing="$missing $p"
		case $p in opendkim|opendmarc) ours="$ours $p";; esac
	done
	[ -z "$missing" ] && return 0
	echo "# installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# As contrib/install-deps.sh: leave the machine's mail system alone;
	# dbconfig-no-thanks keeps opendmarc from wanting a MySQL server.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq >&2 || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing dbconfig-no-thanks >&2 ||
		die "apt-get install$missing failed"
	for p in $ours; do
		if [ -d /run/systemd/system ]; then
			systemctl disable --now "$p" >/dev/null 2>&1
		else
			invoke-rc.d "$p" stop >/dev/null 2>&1
			update-rc.d "$p" disable >/dev/null 2>&1
		fi
	done
	return 0
}

if [ "${MILTER_BENCH_IN_NS:-}" != 1 ]; then
	install_packages
	for c in unshare nsd drill postfix smtp-source opendkim opendmarc; do
		command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || die "$c not found"
	done
	export MILTER_BENCH_IN_NS=1
	exec unshare --mount --net --propagation private bash "$0" "$@"
fi
PATH=$PATH:/usr/sbin:/sbin

# ---- inside the private mount namespace from here on ----

# t/lib.sh: the temporary directory $T_DIR, cleanup at exit of everything
# in $T_PIDS and of the private Postfix, free_port, wait_listen,
# start_postfix.  Its TAP helpers are not used: this is no test.
top_srcdir=$SRC top_builddir=$BUILD
# shellcheck source=../../t/lib.sh
. "$SRC/t/lib.sh"
T_KEEP=${BENCH_KEEP:-}
B=$T_DIR

N=${BENCH_MESSAGES:-2000}
WARM=${BENCH_WARMUP:-200}
CONC=${BENCH_CONC:-1 4 16 64 256}
E2E=${BENCH_E2E:-yes}
LOAD=${BENCH_LOAD:-yes}
E2E_QUICKACK=${BENCH_E2E_QUICKACK:-yes}
LOAD_QUICKACK=${BENCH_LOAD_QUICKACK:-no}
E2E_N=${BENCH_E2E_MESSAGES:-1000}
E2E_N1=${BENCH_E2E_MESSAGES_1:-300}
E2E_SESSIONS=${BENCH_E2E_SESSIONS:-1 16}
TMO=${BENCH_TIMEOUT:-10}
RESULTS=${BENCH_RESULTS:-$BUILD/milter-bench-$(date +%Y%m%d-%H%M%S).tsv}
REPORT=${RESULTS%.tsv}.md
MLTLOAD="$BUILD/contrib/bench/mltload"
HZ=$(getconf CLK_TCK)
NSD_ADDR=127.0.0.2
for v in "$N" "$WARM" "$E2E_N" "$E2E_N1" "$TMO"; do
	case $v in ''|*[!0-9]*|0) die "BENCH_* counts must be positive integers";; esac
done

: > "$RESULTS" || die "cannot write $RESULTS"
: > "$REPORT" || die "cannot write $REPORT"
printf 'section\ttarget\tconc\tmsgs_per_conn\tmsgs\terrors\tsecs\trate\tp50_ms\tp99_ms\tmax_ms\tfilter_cpu_ms_per_msg\tclient_cpu_pct\taccept\treject\ttempfail\tquarantine\tdiscard\tpeak_rss_kb\n' >> "$RESULTS"

# say TEXT...: one line of the report, on stdout and into $REPORT
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
# fail TEXT: the benchmark cannot go on
fail() { echo "milter-bench: $*" >&2; exit 1; }

# lo_quickack on|off: delayed ACKs off (on) or back to the default (off) on
# the loopback routes of our network namespace
lo_quickack() {
	local qa="" r
	[ "$1" = on ] && qa="quickack 1"
	for r in 127.0.0.0/8 127.0.0.1; do
		# shellcheck disable=SC2086
		ip route change local "$r" dev lo proto kernel scope host src 127.0.0.1 table local $qa || return 1
	done
}

# ---- DNS: nsd on 127.0.0.2:53, the only nameserver in this namespace ----

# start_bench_nsd: t/lib.sh's start_nsd on $NSD_ADDR port 53, once we know
# the port is free in this namespace
start_bench_nsd() {
	if ss -Htuln 2>/dev/null | awk '{print $5}' |
	    grep -Eq "^(127\.0\.0\.2|0\.0\.0\.0|\*|\[::\]):53$"; then
		fail "something already listens on $NSD_ADDR:53 (or *:53): $(ss -Htulnp | grep ':53 ')"
	fi
	start_nsd "$NSD_ADDR" 53
}

printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$NSD_ADDR" > "$B/resolv.conf"
mount --bind "$B/resolv.conf" /etc/resolv.conf || fail "cannot bind-mount a private /etc/resolv.conf"
ip link set lo up || fail "cannot bring up lo in the private network namespace"
start_bench_nsd
# the system resolver (what OpenDMARC and libspf2 use) must now reach nsd
getent ahosts example.com >/dev/null 2>&1 || true
drill example.com TXT 2>/dev/null | grep -q 'v=spf1' ||
	fail "the resolver in the namespace does not reach nsd (/etc/resolv.conf: $(cat /etc/resolv.conf))"

# ---- the filters ----

# filter_start NAME PORT COMMAND...: start a filter in the foreground on
# 127.0.0.1:PORT, output to $B/NAME.log; sets PID_<NAME>
filter_start() {
	local name=$1 port=$2 pid
	shift 2
	"$@" >> "$B/$name.log" 2>&1 &
	pid=$!
	T_PIDS="$T_PIDS $pid"
	eval "PID_$name=$pid"
	wait_listen "$port" || fail "$name did not start: $(tail -n 20 "$B/$name.log")"
}

# A client address that no corpus message and no Postfix session uses:
# every filter ignores some hosts by default (127.0.0.1 among them), and the
# Postfix part sends from 127.0.0.1.
NOHOST=192.0.2.255

DM_PORT=$(free_port)
cat > "$B/dm.conf" <<EOF
# dmarc-milter for the benchmark
Nameservers		$NSD_ADDR:53
AuthservID		bench-dm
RejectFailures		yes
HoldQuarantinedMessages	yes
IgnoreHosts		$NOHOST/32
HistoryFile		$B/dm-history.jsonl
LogLevel		info
Syslog			no
SocketMode		0666
EOF
filter_start dm "$DM_PORT" "$MILTER" -f -c "$B/dm.conf" -p "inet:$DM_PORT@127.0.0.1"

ODKIM_PORT=$(free_port)
echo "$NOHOST" > "$B/nohost"
cat > "$B/opendkim.conf" <<EOF
# opendkim, verifying only, for the benchmark
Mode			v
Socket			inet:$ODKIM_PORT@127.0.0.1
Background		no
PidFile			$B/opendkim.pid
Syslog			yes
AuthservID		bench
AlwaysAddARHeader	yes
Nameservers		$NSD_ADDR
InternalHosts		refile:$B/nohost
EOF
filter_start odkim "$ODKIM_PORT" opendkim -x "$B/opendkim.conf" -f

# opendmarc_conf FILE PORT HISTORY: OpenDMARC as a site that enforces would
# run it: SPF itself (libspf2), DKIM from opendkim's Authentication-Results
opendmarc_conf() {
	cat > "$1" <<EOF
# opendmarc for the benchmark
Socket			inet:$2@127.0.0.1
Background		false
PidFile			$1.pid
Syslog			true
AuthservID		bench-odmarc
TrustedAuthservIDs	bench
SPFSelfValidate		true
SPFIgnoreResults	true
RejectFailures		true
HoldQuarantinedMessages	true
FailureReports		false
IgnoreHosts		$B/nohost
HistoryFile		$3
PublicSuffixList	/usr/share/publicsuffix/public_suffix_list.dat
EOF
}
ODMARC_PORT=$(free_port)
opendmarc_conf "$B/opendmarc.conf" "$ODMARC_PORT" "$B/opendmarc-history.dat"
filter_start odmarc "$ODMARC_PORT" opendmarc -c "$B/opendmarc.conf" -f
ODALONE_PORT=$(free_port)
opendmarc_conf "$B/opendmarc-alone.conf" "$ODALONE_PORT" "$B/opendmarc-alone-history.dat"
filter_start odalone "$ODALONE_PORT" opendmarc -c "$B/opendmarc-alone.conf" -f

NULL_PORT=$(free_port)
filter_start null "$NULL_PORT" "$BUILD/contrib/bench/nullmilter" -p "inet:$NULL_PORT@127.0.0.1"
LEAN_PORT=$(free_port)
filter_start lean "$LEAN_PORT" "$BUILD/contrib/bench/nullmilter" -l -p "inet:$LEAN_PORT@127.0.0.1"

sock() { echo "inet:$1@127.0.0.1"; }

# The targets: label, the filter processes, mltload's -s arguments
TARGETS="dmarc-milter chain opendmarc null lean"
T_dmarc_milter_pids=$PID_dm
T_dmarc_milter_s="-s $(sock "$DM_PORT")"
T_chain_pids="$PID_odkim $PID_odmarc"
T_chain_s="-s $(sock "$ODKIM_PORT") -s $(sock "$ODMARC_PORT")"
T_opendmarc_pids=$PID_odalone
T_opendmarc_s="-s $(sock "$ODALONE_PORT")"
T_null_pids=$PID_null
T_null_s="-s $(sock "$NULL_PORT")"
T_lean_pids=$PID_lean
T_lean_s="-s $(sock "$LEAN_PORT")"
tvar() { v="T_$(echo "$1" | tr - _)_$2"; eval "echo \"\$$v\""; }
describe() {
	case $1 in
	dmarc-milter) echo "dmarc-milter";;
	chain) echo "OpenDKIM (verify) → OpenDMARC, chained";;
	opendmarc) echo "OpenDMARC alone (no DKIM verification)";;
	null) echo "do-nothing filter, answers every stage";;
	lean) echo "do-nothing filter, lean (SMFIP_NR_*)";;
	esac
}

# cpu_ticks PID...: utime+stime of the processes (all threads), in ticks
cpu_ticks() {
	local t=0 p st
	for p in "$@"; do
		read -r st < "/proc/$p/stat" || fail "process $p is gone"
		# shellcheck disable=SC2086 # the fields after "(comm) "
		set -- ${st##*) }
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}

# peak_rss PID...: the sum of their VmHWM, kB
peak_rss() {
	local t=0 p k
	for p in "$@"; do
		k=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status")
		t=$((t + ${k:-0}))
	done
	echo "$t"
}

# kv LINE KEY: the value of KEY=value in mltload's output line
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# ---- the corpus ----

CORPUS="$B/corpus"
CORPUS_SUM=$("$BUILD/contrib/bench/mkcorpus" -o "$CORPUS" -n "$N") || fail "mkcorpus failed"

# ---- warm-up and sanity ----

for t in $TARGETS; do
	# shellcheck disable=SC2046
	out=$("$MLTLOAD" $(tvar "$t" s) -d "$CORPUS" -c 4 -n "$WARM" -w 0 -t "$TMO" -l "warm-$t" 2>"$B/mltload-warm-$t.err") ||
		fail "$t does not answer cleanly: $out $(head -n 5 "$B/mltload-warm-$t.err")"
	[ "$(kv "$out" errors)" = 0 ] || fail "$t: warm-up errors: $out"
done

# ---- the measurements ----

# RES_<target>_<conc>_<m>: "rate p50 p99 max cpu_ms"
run_load() {
	local t=$1 c=$2 m=$3 pids c0 c1 out rc msgs cpu rss
	# shellcheck disable=SC2046
	pids=$(tvar "$t" pids)
	# shellcheck disable=SC2086
	c0=$(cpu_ticks $pids)
	# shellcheck disable=SC2046
	out=$("$MLTLOAD" $(tvar "$t" s) -d "$CORPUS" -c "$c" -n "$N" -m "$m" -w 0 -t "$TMO" -l "$t" 2>"$B/mltload-$t-$c-$m.err")
	rc=$?
	# shellcheck disable=SC2086
	c1=$(cpu_ticks $pids)
	[ -n "$out" ] || fail "mltload against $t at $c gave nothing: $(head -n 5 "$B/mltload-$t-$c-$m.err")"
	msgs=$(kv "$out" msgs)
	cpu=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v n="$msgs" 'BEGIN { printf "%.3f", n ? d * 1000 / hz / n : 0 }')
	# shellcheck disable=SC2086
	rss=$(peak_rss $pids)
	printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$t" "$c" "$m" "$msgs" "$(kv "$out" errors)" "$(kv "$out" secs)" "$(kv "$out" rate)" \
		"$(kv "$out" p50_ms)" "$(kv "$out" p99_ms)" "$(kv "$out" max_ms)" "$cpu" \
		"$(kv "$out" client_cpu_pct)" "$(kv "$out" accept)" "$(kv "$out" reject)" \
		"$(kv "$out" tempfail)" "$(kv "$out" quarantine)" "$(kv "$out" discard)" "$rss" >> "$RESULTS"
	[ $rc -eq 0 ] || echo "# $t conc $c: mltload reported errors: $out" >&2
	echo "# $out cpu_ms_per_msg=$cpu rss_kb=$rss" >&2
}

# ---- report header ----

say "# milter-bench $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
say "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -r)."
say "dmarc-milter: $("$MILTER" -V 2>&1 | head -n 1); $(dpkg-query -W -f='opendkim ${Version}' opendkim), $(dpkg-query -W -f='opendmarc ${Version}' opendmarc), $(dpkg-query -W -f='postfix ${Version}' postfix)."
say "Corpus: $CORPUS_SUM (mkcorpus -n $N)."
say "Each run: mltload -c CONC -n $N -m M -w 0 after a warm-up of $WARM messages per target (DNS caches warm); nsd on $NSD_ADDR:53 serves t/zones."
say "CPU ms/msg is the filter processes' utime+stime over the run (1/$HZ s ticks) per message, the chain's two summed; peak RSS is VmHWM after the concurrency-${CONC##* } run (chain: both summed)."
say ""
# get TARGET CONC M FIELD: a figure of the results file
get() {
	awk -F '\t' -v t="$1" -v c="$2" -v m="$3" -v f="$4" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == "load" && $2 == t && $3 == c && $4 == m { print $col[f]; exit }' "$RESULTS"
}

# verdict NAME VALUE OP LIMIT TARGET-TEXT: one line of the targets table
verdict() {
	local pass
	pass=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN {
		if (op == "-") { print ""; exit }
		if (v == "" || l == "") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= l + 0) : (op == "<=") ? (v + 0 <= l + 0) : (v + 0 < l + 0)
		print ok ? "PASS" : "MISS" }')
	say "| $1 | $2 | $5 | $pass |"
	printf 'ratio\t%s\t%s\t%s\t%s\n' "$1" "$2" "$5" "$pass" >> "$RESULTS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.2f", a / b }'; }

# load_bench: every target at every concurrency through mltload, then
# the tables and the targets
load_bench() {
	START=$(date +%s)
	for t in $TARGETS; do
		for c in $CONC; do
			run_load "$t" "$c" 1
		done
		# peak RSS: VmHWM after the highest concurrency (before -m 10)
		# shellcheck disable=SC2046
		eval "RSS_$(echo "$t" | tr - _)=$(peak_rss $(tvar "$t" pids))"
		case $t in dmarc-milter|lean) run_load "$t" 16 10;; esac
	done
	LOAD_SECS=$(( $(date +%s) - START ))

	say "## Milter protocol, mltload"
	say ""
	say "| target | conc | msgs/conn | msg/s | p50 ms | p99 ms | max ms | CPU ms/msg | errors | accept/reject/quarantine/tempfail | mltload CPU % |"
	say "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
	awk -F '\t' '$1 == "load" { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s/%s/%s | %s |\n",
		$2, $3, $4, $8, $9, $10, $11, $12, $6, $14, $15, $17, $16, $13 }' "$RESULTS" | tee -a "$REPORT"
	say ""
	say "Expected verdicts for the corpus (mkcorpus): $CORPUS_SUM."
	say ""
	lo=$(echo "$CONC" | awk '{print $1}')
	hi=${CONC##* }
	say "## Side by side"
	say ""
	say "| target | msg/s conc $lo | msg/s conc 16 | msg/s conc $hi | p99 ms at 16 | CPU ms/msg at 16 | peak RSS MB |"
	say "|---|---:|---:|---:|---:|---:|---:|"
	for t in $TARGETS; do
		rss=$(eval "echo \$RSS_$(echo "$t" | tr - _)")
		say "| $(describe "$t") | $(get "$t" "$lo" 1 rate) | $(get "$t" 16 1 rate) | $(get "$t" "$hi" 1 rate) | $(get "$t" 16 1 p99_ms) | $(get "$t" 16 1 filter_cpu_ms_per_msg) | $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') |"
	done
	for t in dmarc-milter lean; do
		say "| $(describe "$t"), 10 msgs/conn | | $(get "$t" 16 10 rate) | | $(get "$t" 16 10 p99_ms) | $(get "$t" 16 10 filter_cpu_ms_per_msg) | |"
	done
	say ""

	dm16=$(get dmarc-milter 16 1 rate)
	peak=$(awk -F '\t' '$1 == "load" && $2 == "dmarc-milter" && $4 == 1 && $8 + 0 > p { p = $8 + 0 } END { print p }' "$RESULTS")
	say "## Targets (issue 7), this run"
	say ""
	say "| figure | value | target | |"
	say "|---|---:|---|---|"
	verdict "dmarc-milter / chain, msg/s at 16" "$(ratio "$dm16" "$(get chain 16 1 rate)")" ">=" 5 "≥ 5"
	verdict "dmarc-milter / lean ceiling, msg/s at 16" "$(ratio "$dm16" "$(get lean 16 1 rate)")" ">=" 0.6 "≥ 0.60"
	verdict "dmarc-milter p99 / chain p99 at 16" "$(ratio "$(get dmarc-milter 16 1 p99_ms)" "$(get chain 16 1 p99_ms)")" "<=" 0.2 "≤ 0.20"
	verdict "dmarc-milter CPU ms/msg at 16 (warm cache)" "$(get dmarc-milter 16 1 filter_cpu_ms_per_msg)" "<=" 0.15 "≤ 0.15 ms"
	verdict "dmarc-milter peak RSS / OpenDMARC alone, at $hi" "$(ratio "$RSS_dmarc_milter" "$RSS_opendmarc")" "<" 1 "< 1"
	verdict "dmarc-milter msg/s at $hi / its peak" "$(ratio "$(get dmarc-milter "$hi" 1 rate)" "$peak")" ">=" 0.9 "≥ 0.90"
	say ""
	say "Chain verdicts vs dmarc-milter's at concurrency 16 (accept/reject/quarantine): chain $(get chain 16 1 accept)/$(get chain 16 1 reject)/$(get chain 16 1 quarantine), dmarc-milter $(get dmarc-milter 16 1 accept)/$(get dmarc-milter 16 1 reject)/$(get dmarc-milter 16 1 quarantine), OpenDMARC alone $(get opendmarc 16 1 accept)/$(get opendmarc 16 1 reject)/$(get opendmarc 16 1 quarantine)."
	say "(mltload runs took ${LOAD_SECS} s.)"
	say ""
}

if [ "$LOAD" != no ]; then
	if [ "$LOAD_QUICKACK" = yes ]; then
		lo_quickack on || fail "cannot turn delayed ACKs off on lo"
		say "BENCH_LOAD_QUICKACK=yes: delayed ACKs are off on lo for the mltload runs (no Nagle/delayed-ACK stall between mltload and a filter that answers in several writes)."
		say ""
	fi
	load_bench
	[ "$LOAD_QUICKACK" = yes ] && { lo_quickack off || fail "cannot turn delayed ACKs back on"; }
fi

# ---- end to end through Postfix ----

# start_bench_postfix: t/lib.sh's private Postfix, every domain discarded
start_bench_postfix() {
	unset MILTER_SOCKET
	start_postfix
	postconf -c "$T_POSTFIX" -e "virtual_transport = discard" "default_transport = discard" \
		"relay_transport = discard" "local_transport = discard" \
		"milter_connect_timeout = 10s" "milter_command_timeout = 30s" "milter_content_timeout = 60s" ||
		fail "postconf failed"
	postfix -c "$T_POSTFIX" reload >/dev/null 2>&1 || fail "postfix reload failed"
	sleep 1
}

# e2e_msg: a DKIM-passing corpus message of about 19 KB with LF line ends
# (smtp-source -F appends CRLF to each line), rsa-sha256 signed
e2e_msg() {
	local best="" bestd=999999999 f ip from s d
	while IFS="$(printf '\t')" read -r f ip _ from _; do
		case $ip in 192.0.2.*) ;; *) continue;; esac
		case $from in *@example.com) ;; *) continue;; esac
		grep -q 'a=rsa-sha256' "$CORPUS/$f" || continue
		s=$(stat -c %s "$CORPUS/$f")
		d=$((s > 19500 ? s - 19500 : 19500 - s))
		[ $d -lt $bestd ] && { best=$f bestd=$d; }
		[ $d -lt 500 ] && break
	done < "$CORPUS/envelope.tsv"
	[ -n "$best" ] || fail "no DKIM-passing rsa message in the corpus"
	tr -d '\r' < "$CORPUS/$best" > "$B/e2e.eml"
	E2E_FROM=$(awk -F '\t' -v f="$best" '$1 == f { print $4 }' "$CORPUS/envelope.tsv")
}

# maillog_count REGEX: lines of the private Postfix's log that match
maillog_count() { grep -Ec -- "$1" "$T_DIR/postfix/maillog" 2>/dev/null; }

# seen LABEL: how many messages the filter of an end-to-end run has
# evaluated so far, from its history file (empty for the null filters)
seen() {
	case $1 in
	dmarc-milter-*) wc -l < "$B/dm-history.jsonl";;
	chain) grep -c '^job ' "$B/opendmarc-history.dat";;
	esac
}

# e2e_run LABEL MILTERS SESSIONS COUNT: smtp-source's wall time
e2e_run() {
	local label=$1 milters=$2 s=$3 n=$4 rej0 h0 t0 t1 rc rej seen secs rate
	postconf -c "$T_POSTFIX" -e "smtpd_milters = $milters" || fail "postconf failed"
	postfix -c "$T_POSTFIX" reload >/dev/null 2>&1 || fail "postfix reload failed"
	sleep 1.5
	rej0=$(maillog_count 'milter-(reject|hold|discard)')
	h0=$(seen "$label")
	t0=$(date +%s.%N)
	smtp-source -s "$s" -m "$n" -M client.example.net -f "$E2E_FROM" -t rcpt@dest.test \
		-F "$B/e2e.eml" "127.0.0.1:$SMTP_PORT" > "$B/smtp-source-$label-$s.log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	rej=$(( $(maillog_count 'milter-(reject|hold|discard)') - rej0 ))
	seen=""
	[ -n "$h0" ] && seen=$(( $(seen "$label") - h0 ))
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	rate=$(awk -v s="$secs" -v n="$n" 'BEGIN { printf "%.1f", n / s }')
	[ $rc -eq 0 ] || echo "# e2e $label $s: smtp-source failed: $(tail -n 3 "$B/smtp-source-$label-$s.log")" >&2
	printf 'e2e\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$s" "$n" "$secs" "$rate" "$rc" "$rej" >> "$RESULTS"
	echo "# e2e $label sessions=$s msgs=$n secs=$secs rate=$rate smtp-source-rc=$rc milter-rejects=$rej history+=$seen" >&2
	eval "E2E_$(echo "$label" | tr - _)_$s=$rate"
	# every message must have gone through the filter, and passed
	if [ $rc -ne 0 ] || [ "$rej" -ne 0 ] || { [ -n "$seen" ] && [ "$seen" -ne "$n" ]; }; then
		E2E_BAD="$E2E_BAD $label/$s"
	fi
}

# e2e_rate LABEL SESSIONS: msg/s of that end-to-end run
e2e_rate() { eval "echo \${E2E_$(echo "$1" | tr - _)_$2:-}"; }

if [ "$E2E" != no ]; then
	e2e_msg
	# dmarc-milter on a unix: socket too; Postfix's smtpd (not chrooted in
	# start_postfix's master.cf, running as postfix) must reach it: $B is
	# 0755 and the socket 0666 (SocketMode)
	mkdir -p "$B/sock" && chmod 755 "$B/sock"
	DMU_SOCK="$B/sock/dmarc-milter.sock"
	"$MILTER" -f -c "$B/dm.conf" -p "unix:$DMU_SOCK" >> "$B/dmu.log" 2>&1 &
	T_PIDS="$T_PIDS $!"
	i=0
	while ! [ -S "$DMU_SOCK" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "dmarc-milter on $DMU_SOCK did not start: $(cat "$B/dmu.log")"
		sleep 0.1
	done
	start_bench_postfix
	E2E_BAD=""
	CHAIN_PF="inet:127.0.0.1:$ODKIM_PORT, inet:127.0.0.1:$ODMARC_PORT"
	E2E_LABELS="none chain dmarc-milter-inet dmarc-milter-unix null lean"
	# e2e_pass PREFIX SESSIONS...: every configuration once per session count
	e2e_pass() {
		local p=$1 s n
		shift
		for s in "$@"; do
			n=$E2E_N
			[ "$s" -eq 1 ] && n=$E2E_N1
			# a short warm-up so that smtpd processes and caches exist
			e2e_run "${p}warm" "" "$s" 20
			e2e_run "${p}none" "" "$s" "$n"
			e2e_run "${p}chain" "$CHAIN_PF" "$s" "$n"
			e2e_run "${p}dmarc-milter-inet" "inet:127.0.0.1:$DM_PORT" "$s" "$n"
			e2e_run "${p}dmarc-milter-unix" "unix:$DMU_SOCK" "$s" "$n"
			e2e_run "${p}null" "inet:127.0.0.1:$NULL_PORT" "$s" "$n"
			e2e_run "${p}lean" "inet:127.0.0.1:$LEAN_PORT" "$s" "$n"
		done
	}
	# shellcheck disable=SC2086 # a list of numbers
	e2e_pass "" $E2E_SESSIONS
	s1=$(echo "$E2E_SESSIONS" | awk '{print $1}')
	# The same at the first session count with delayed ACKs off on the
	# loopback routes (possible here: the network namespace is ours).
	# Postfix writes milter commands without TCP_NODELAY; when a filter
	# negotiated away the replies to some of them (SMFIP_NR_*), the second
	# of two writes without a reply between them waits in Nagle's
	# algorithm for the ACK of the first, which the filter's kernel delays
	# (40 ms and more): quickack shows how much of the time that is.
	QA=""
	if [ "$E2E_QUICKACK" != no ]; then
		if lo_quickack on; then
			QA=qa-
			e2e_pass qa- "$s1"
			lo_quickack off || fail "cannot turn delayed ACKs back on"
		else
			echo "# could not set quickack on the loopback routes; that pass is left out" >&2
		fi
	fi
	say "## End to end: smtp-source → Postfix smtpd (smtpd_milters) → discard"
	say ""
	say "smtp-source -s SESSIONS -m COUNT -F MSG (one message per SMTP session, $(stat -c %s "$B/e2e.eml")-byte DKIM-signed message from $E2E_FROM, client 127.0.0.1); COUNT $E2E_N1 at 1 session, $E2E_N otherwise; msg/s = COUNT / wall time of smtp-source."
	[ -n "$QA" ] && say "\"quickack\": the same with delayed ACKs off on the loopback routes (ip route change local 127.0.0.0/8 ... quickack 1, in the benchmark's own network namespace)."
	say ""
	hdr="| smtpd_milters |" sep="|---|"
	for s in $E2E_SESSIONS; do hdr="$hdr msg/s, $s session(s) |"; sep="$sep---:|"; done
	[ -n "$QA" ] && { hdr="$hdr msg/s, $s1 session(s), quickack |"; sep="$sep---:|"; }
	say "$hdr"
	say "$sep"
	for l in $E2E_LABELS; do
		case $l in
		none) d="(none)";;
		chain) d="inet: opendkim, inet: opendmarc";;
		dmarc-milter-inet) d="inet: dmarc-milter";;
		dmarc-milter-unix) d="unix: dmarc-milter";;
		null) d="inet: do-nothing filter, answers every stage";;
		lean) d="inet: do-nothing filter, lean (SMFIP_NR_*)";;
		esac
		row="| $d |"
		for s in $E2E_SESSIONS; do row="$row $(e2e_rate "$l" "$s") |"; done
		[ -n "$QA" ] && row="$row $(e2e_rate "qa-$l" "$s1") |"
		say "$row"
	done
	say ""
	[ -n "$E2E_BAD" ] && say "WARNING: smtp-source failed, a milter rejected/held, or did not see every message in:$E2E_BAD (see the logs; BENCH_KEEP=1)."
	say "| figure | value | target | |"
	say "|---|---:|---|---|"
	verdict "e2e dmarc-milter inet: / no milter, msg/s at $s1 session(s)" \
		"$(ratio "$(e2e_rate dmarc-milter-inet "$s1")" "$(e2e_rate none "$s1")")" ">=" 0.8 "≥ 0.80"
	verdict "e2e dmarc-milter unix: / no milter, msg/s at $s1 session(s)" \
		"$(ratio "$(e2e_rate dmarc-milter-unix "$s1")" "$(e2e_rate none "$s1")")" - "" "(for comparison)"
	verdict "e2e chain / no milter, msg/s at $s1 session(s)" \
		"$(ratio "$(e2e_rate chain "$s1")" "$(e2e_rate none "$s1")")" - "" "(for comparison)"
	[ -n "$QA" ] && verdict "e2e dmarc-milter inet: / no milter, msg/s at $s1 session(s), quickack" \
		"$(ratio "$(e2e_rate qa-dmarc-milter-inet "$s1")" "$(e2e_rate qa-none "$s1")")" - "" "(for comparison)"
	say ""
fi

say "Results: $RESULTS (TSV), this report: $REPORT"
exit 0
