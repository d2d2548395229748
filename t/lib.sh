# t/lib.sh - shared code for the integration tests (sourced, POSIX sh + bash).
#
# Gives TAP output (ok, is, like, done_testing), a private temporary
# directory that is removed at exit, free loopback ports, and starters for
# the real components: nsd serving t/zones, the built dmarc-milter, and a
# private Postfix instance.  Everything started here is stopped at exit,
# also when a test fails or is interrupted.

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
MILTER="$top_builddir/milter/dmarc-milter"

T_N=0
T_FAILED=0
T_PIDS=""
T_POSTFIX=""
T_PG=""
T_VG_PIDS=""		# milters under valgrind whose log is not checked yet

# ok COND-EXIT-STATUS NAME: record one test case
ok() {
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
	fi
}

# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"; echo "#   got:      '$1'"; echo "#   expected: '$2'"; fi
}

# like GOT EXTENDED-REGEX NAME
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"; echo "#   got:      '$(printf '%s' "$1" | head -c 2000)'"; echo "#   expected: /$2/"; fi
}

# unlike GOT EXTENDED-REGEX NAME
unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"; echo "#   got:      '$(printf '%s' "$1" | head -c 2000)'"; echo "#   must not match: /$2/"; else ok 0 "$3"; fi
}

diag() { echo "# $*"; }

# bail REASON: the test world could not be set up; fail loudly, never skip
bail() {
	echo "Bail out! $*"
	exit 1
}

done_testing() {
	[ -n "$T_VG_PIDS" ] && valgrind_finish
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# need_root: the real servers need root (nsd binds, Postfix drops to its user)
need_root() {
	[ "$(id -u)" -eq 0 ] || bail "this test starts nsd and Postfix and must run as root (see README)"
}

# cleanup: stop what we started, remove the temp dir
cleanup() {
	rc=$?
	if [ -n "$T_POSTFIX" ]; then
		postfix -c "$T_POSTFIX" stop >/dev/null 2>&1
		i=0
		while [ -f "$T_DIR/postfix/queue/pid/master.pid" ] && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1)); done
	fi
	[ -f "$T_DIR/nsd/nsd.conf" ] && pkill -CONT -f "nsd -d -c $T_DIR/nsd/nsd.conf"
	if [ -n "$T_PG" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$T_PG" -m fast -w stop >/dev/null 2>&1
	fi
	for p in $T_PIDS; do kill "$p" 2>/dev/null; done
	for p in $T_PIDS; do
		i=0 limit=50
		case " $T_VG_PIDS " in *" $p "*) limit=1200 ;; esac	# memcheck's leak check
		while kill -0 "$p" 2>/dev/null && [ $i -lt $limit ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${T_KEEP:-}" ] && echo "# kept $T_DIR" || rm -rf "$T_DIR"
	exit $rc
}

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dmarc-milter-test.XXXXXX") || bail "mktemp failed"
chmod 755 "$T_DIR"
trap cleanup EXIT
trap 'exit 130' INT TERM

# RSS_SLACK_KB: in a build with AddressSanitizer (./configure
# --enable-sanitizers, CI step 2) freed memory waits in ASan's quarantine
# before it is reused, so a milter's RSS grows by up to the quarantine's
# size without any leak.  The quarantine is capped here for every program
# the tests start, and tests that bound RSS growth allow that much more;
# leaks themselves are LeakSanitizer's business there.
# Under valgrind (MILTER_VALGRIND=1) the process's RSS is mostly
# valgrind's own (shadow memory, a big stack per thread), and memcheck
# itself reports every leak: the RSS bounds only guard against the absurd.
RSS_SLACK_KB=0
if [ "${MILTER_VALGRIND:-0}" = 1 ]; then
	RSS_SLACK_KB=$((4096 * 1024))
elif ldd "$MILTER" 2>/dev/null | grep -q 'libasan'; then
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:thread_local_quarantine_size_kb=256"
	export ASAN_OPTIONS
	RSS_SLACK_KB=$((16 * 1024))
fi

# free_port: a TCP and UDP port on 127.0.0.1 that no socket uses, below
# the kernel's ephemeral range (ip_local_port_range), so that an outgoing
# connection's local port can never take it between the pick and the bind
free_port() {
	lo=20000 hi=32767
	read -r eph _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null &&
		[ "${eph:-0}" -gt $((lo + 1000)) ] && hi=$((eph - 1))
	p=$(( lo + ($$ * 7 + T_N * 13 + $(date +%N | sed 's/^0*//;s/^$/0/') ) % (hi - lo) ))
	while ss -Htuan "( sport = :$p )" 2>/dev/null | grep -q .; do
		p=$((p + 1))
		[ $p -gt $hi ] && p=$lo
	done
	echo $p
}

# wait_listen PORT [TCP|UDP]: until something listens there (10 s at most)
wait_listen() {
	flag=-Htln
	[ "${2:-TCP}" = UDP ] && flag=-Huln
	i=0
	while ! ss $flag "( sport = :$1 )" 2>/dev/null | grep -q .; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_log EXTENDED-REGEX [SECONDS]: until the milter's log has a matching
# line (10 s at most; the milter may run under valgrind, which is slow)
wait_log() {
	i=0
	while ! grep -Eq -- "$1" "$T_DIR/milter.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $(( ${2:-10} * 10 )) ] && return 1
		sleep 0.1
	done
	return 0
}

# start_nsd [ADDRESS PORT]: nsd on $NSD_ADDR:$NSD_PORT (default 127.0.0.1
# and a free port) serving every zone in t/zones; $NAMESERVER names it.  A
# zone named in T_BROKEN_ZONES is configured with a file that does not
# load, so nsd answers SERVFAIL for it.
start_nsd() {
	NSD_ADDR=${1:-127.0.0.1}
	NSD_PORT=${2:-$(free_port)}
	d="$T_DIR/nsd"
	mkdir -p "$d"
	cat > "$d/nsd.conf" <<NSDCONF
server:
	ip-address: $NSD_ADDR
	port: $NSD_PORT
	username: ""
	chroot: ""
	zonesdir: "$d"
	zonelistfile: "$d/zone.list"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d"
	pidfile: "$d/nsd.pid"
	database: ""
	logfile: "$d/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
	refuse-any: no
	rrl-ratelimit: 0
remote-control:
	control-enable: no
NSDCONF
	for z in "$top_srcdir"/t/zones/*.zone; do
		name=$(basename "$z" .zone)
		cp "$z" "$d/$name.zone"
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.zone"\n' "$name" "$name" >> "$d/nsd.conf"
	done
	for name in ${T_BROKEN_ZONES:-}; do
		printf 'this is not a zone file\n' > "$d/$name.zone"
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.zone"\n' "$name" "$name" >> "$d/nsd.conf"
	done
	# A test may change the copies before nsd loads them (t/check_dns.sh
	# signs one with ldns-signzone): it defines a function nsd_prepare DIR.
	if command -v nsd_prepare > /dev/null 2>&1; then
		nsd_prepare "$d" || bail "nsd_prepare failed"
	fi
	nsd-checkconf "$d/nsd.conf" >/dev/null 2>&1 || bail "nsd.conf is invalid: $(nsd-checkconf "$d/nsd.conf" 2>&1)"
	nsd -d -c "$d/nsd.conf" > "$d/stderr" 2>&1 &
	T_PIDS="$T_PIDS $!"
	NSD_PID=$!
	wait_listen "$NSD_PORT" UDP || bail "nsd did not start: $(cat "$d/stderr" "$d/nsd.log" 2>/dev/null)"
	# It listens before every zone is loaded: wait until a known name answers.
	i=0
	until drill -p "$NSD_PORT" "@$NSD_ADDR" SOA example.com 2>/dev/null | grep -q 'rcode: NOERROR'; do
		i=$((i + 1))
		[ $i -gt 100 ] && bail "nsd does not answer for example.com: $(cat "$d/nsd.log")"
		sleep 0.1
	done
	NAMESERVER="$NSD_ADDR:$NSD_PORT"
}

# nsd_pause / nsd_resume: make the test nsd stop answering (every process of
# it: the serving one is a grandchild), so lookups time out
nsd_pause() { pkill -STOP -f "nsd -d -c $T_DIR/nsd/nsd.conf"; }
nsd_resume() { pkill -CONT -f "nsd -d -c $T_DIR/nsd/nsd.conf"; }

# start_milter CONFIG [ARGS...]: dmarc-milter in the foreground on a free
# port ($MILTER_PORT), logging to $T_DIR/milter.log.  With MILTER_VALGRIND=1
# it runs under valgrind's memcheck (log $T_DIR/valgrind.PID.log, checked
# by stop_milter, or at done_testing for a milter still running then).
start_milter() {
	conf=$1; shift
	MILTER_PORT=$(free_port)
	MILTER_SOCKET="inet:$MILTER_PORT@127.0.0.1"
	tries=1
	if [ "${MILTER_VALGRIND:-0}" = 1 ]; then
		command -v valgrind > /dev/null || bail "MILTER_VALGRIND=1, but valgrind is not installed"
		valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
			--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-fds=no \
			--num-callers=30 --max-threads=1024 --log-file="$T_DIR/valgrind.%p.log" \
			--suppressions="$top_srcdir/t/valgrind.supp" \
			"$MILTER" -f -c "$conf" -p "$MILTER_SOCKET" "$@" >> "$T_DIR/milter.log" 2>&1 &
		MILTER_PID=$!
		T_VG_PIDS="$T_VG_PIDS $MILTER_PID"
		tries=9		# memcheck starts slowly: 90 s at most
	else
		"$MILTER" -f -c "$conf" -p "$MILTER_SOCKET" "$@" >> "$T_DIR/milter.log" 2>&1 &
		MILTER_PID=$!
	fi
	T_PIDS="$T_PIDS $MILTER_PID"
	until wait_listen "$MILTER_PORT"; do
		tries=$((tries - 1))
		{ [ $tries -gt 0 ] && kill -0 "$MILTER_PID" 2>/dev/null; } ||
			bail "dmarc-milter did not start: $(cat "$T_DIR/milter.log")"
	done
}

# stop_milter: SIGTERM and wait (under valgrind: for its leak check too,
# and then the check of its log is one more test case)
stop_milter() {
	kill "$MILTER_PID" 2>/dev/null
	limit=100
	[ "${MILTER_VALGRIND:-0}" = 1 ] && limit=1200
	i=0
	while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt $limit ]; do sleep 0.1; i=$((i + 1)); done
	wait "$MILTER_PID" 2>/dev/null
	case " $T_VG_PIDS " in *" $MILTER_PID "*) valgrind_check "$MILTER_PID" ;; esac
}

# valgrind_check PID: one test case: the memcheck log of that milter shows
# no error and no definitely, indirectly or possibly lost block
valgrind_check() {
	T_VG_PIDS=$(echo " $T_VG_PIDS " | sed "s/ $1 / /g; s/^ *//; s/ *$//")
	vlog="$T_DIR/valgrind.$1.log"
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) error.*/\1/p' "$vlog" 2>/dev/null | tail -n 1 | tr -d ,)
	lost=$(sed -n 's/.*\(definitely\|indirectly\|possibly\) lost: \([0-9,]*\) bytes.*/\2/p' "$vlog" 2>/dev/null |
		tr -d , | awk '{ s += $1 } END { print s + 0 }')
	if [ "${errs:-none}" = 0 ] && [ "$lost" = 0 ]; then
		ok 0 "valgrind: no errors, no leaks (milter $1)"
	else
		ok 1 "valgrind: no errors, no leaks (milter $1: errors ${errs:-unknown, no summary}, lost $lost bytes)"
		grep -v '^--' "$vlog" 2>/dev/null | sed -n '/^==[0-9]*== [A-Z0-9]/,$p' | head -n 150 | sed 's/^/# /'
		cp "$vlog" "${TMPDIR:-/tmp}/" 2>/dev/null && diag "log kept as ${TMPDIR:-/tmp}/$(basename "$vlog")"
	fi
}

# valgrind_finish: stop every milter still running under valgrind and
# check its log (done_testing calls it, before the plan)
valgrind_finish() {
	for p in $T_VG_PIDS; do
		MILTER_PID=$p
		stop_milter
	done
}

# stats_value NAME: one value from the StatsFile $STATS of the milter on
# $MILTER_PID, written for the asking (SIGUSR2)
stats_value() {
	rm -f "$STATS"
	kill -USR2 "$MILTER_PID"
	i=0
	until [ -s "$STATS" ] || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
	sed -n "s/^$1 //p" "$STATS"
}

# milter_conf FILE [LINES...]: a config pointing at nsd, plus extra lines
milter_conf() {
	f=$1; shift
	{
		echo "# written by $(basename "$0")"
		[ -n "${NAMESERVER:-}" ] && echo "Nameservers $NAMESERVER"
		echo "AuthservID mx.test.example"
		echo "LogLevel debug"
		for l in "$@"; do echo "$l"; done
	} > "$f"
}

# start_postfix: a private Postfix: own config and queue directories under
# $T_DIR, smtpd on 127.0.0.1:$SMTP_PORT, smtpd_milters = $MILTER_SOCKET
# (when set), final delivery into the maildir $MAILDIR for any address at
# dest.test.  It shares nothing with a Postfix the machine may run.
start_postfix() {
	SMTP_PORT=$(free_port)
	pf="$T_DIR/postfix"
	mkdir -p "$pf/conf" "$pf/queue" "$pf/data" "$pf/mail"
	chown postfix "$pf/data" "$pf/mail"
	MAILDIR="$pf/mail/maildir"
	cat > "$pf/conf/main.cf" <<MAINCF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
smtpd_banner = \$myhostname ESMTP
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = dest.test
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = static:maildir/
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
smtpd_milters = ${MILTER_SOCKET:+inet:127.0.0.1:$MILTER_PORT}
non_smtpd_milters =
milter_default_action = ${POSTFIX_MILTER_DEFAULT_ACTION:-accept}
milter_connect_timeout = 5s
milter_command_timeout = 10s
MAINCF
	cat > "$pf/conf/master.cf" <<MASTERCF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
MASTERCF
	postfix -c "$pf/conf" check > "$pf/check.log" 2>&1 ||
		bail "postfix check failed: $(cat "$pf/check.log")"
	postfix -c "$pf/conf" start > "$pf/start.log" 2>&1 ||
		bail "postfix did not start: $(cat "$pf/start.log" "$pf/maillog" 2>/dev/null)"
	T_POSTFIX="$pf/conf"
	wait_listen "$SMTP_PORT" || bail "Postfix smtpd does not listen: $(cat "$pf/maillog" 2>/dev/null)"
}

# start_postgres: a private PostgreSQL server (its own data directory under
# $T_DIR, 127.0.0.1:$PG_PORT, trust authentication on loopback), for the
# fleet tests; $PG_URI names its database.  A cluster the machine may run
# is not touched.
start_postgres() {
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -x "$PG_BIN/initdb" ] || bail "PostgreSQL server binaries not found (apt-get install postgresql)"
	PG_PORT=$(free_port)
	d="$T_DIR/pg"
	mkdir -p "$d"
	chown postgres "$d"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$d/data" -A trust -U postgres > "$d/initdb.log" 2>&1 ||
		bail "initdb failed: $(cat "$d/initdb.log")"
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $d -c fsync=off" start > "$d/start.log" 2>&1 ||
		bail "PostgreSQL did not start: $(cat "$d/start.log" "$d/server.log" 2>/dev/null)"
	T_PG="$d/data"
	PG_URI="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
}

# postfix_set NAME=VALUE...: change main.cf and reload
postfix_set() {
	postconf -c "$T_POSTFIX" -e "$@" && postfix -c "$T_POSTFIX" reload >/dev/null 2>&1
	sleep 1
}

# send_mail FILE FROM TO [SWAKS ARGS...]: submit through the private
# Postfix; prints swaks' transcript
send_mail() {
	f=$1 from=$2 to=$3; shift 3
	swaks --server "127.0.0.1:$SMTP_PORT" --helo client.example.net --from "$from" \
		--to "$to" --data "@$f" --timeout 30 "$@" 2>&1
}

# wait_delivered N: until N messages are in the maildir (20 s at most)
wait_delivered() {
	i=0
	while [ "$(ls "$MAILDIR/new" 2>/dev/null | wc -l)" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.1
	done
	return 0
}

# mkmsg FILE FROM [EXTRA-HEADER-LINE...]: a plain test message
mkmsg() {
	f=$1 from=$2; shift 2
	{
		for h in "$@"; do printf '%s\n' "$h"; done
		printf 'From: Sender <%s>\n' "$from"
		printf 'To: rcpt@dest.test\nSubject: test %s\n' "$(basename "$f")"
		printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <%s@test>\n\n' "$(basename "$f")"
		printf 'Hello.\nThis is a test message.\n'
	} > "$f"
}

# mt_send MSGFILE CLIENT-IP MAIL-FROM: one message through the milter
# (miltertest, Postfix-style); prints what the milter did
mt_send() {
	out="$T_DIR/mt.$$.out"
	rm -f "$out"
	miltertest_run message.lua "msgfile=$1" "outfile=$out" "client_ip=$2" \
		"client_host=[$2]" "helo=client.example.net" "mailfrom=$3" "rcpt=rcpt@dest.test" >/dev/null 2>&1
	cat "$out" 2>/dev/null
}

# mt_action OUTPUT: what the milter did with the message miltertest's
# message.lua reported as OUTPUT; sets ACT (accept, quarantine, reject,
# tempfail) and LAST (the milter's last verdict line).  A reply code ("y")
# is a reject or a tempfail: the verdict line says which.
mt_action() {
	LAST=$(grep ' action=' "$T_DIR/milter.log" | tail -n 1)
	case "$1" in
	*reply=y*)
		case "$LAST" in
		*action=reject*) ACT=reject ;;
		*action=tempfail*) ACT=tempfail ;;
		*) ACT="unknown($LAST)" ;;
		esac ;;
	*quarantine=yes*) ACT=quarantine ;;
	*reply=a*) ACT=accept ;;
	*) ACT="unknown($1)" ;;
	esac
}

# miltertest_run SCRIPT [NAME=VALUE...]: run a miltertest Lua script
# against $MILTER_SOCKET; prints its output, returns its status
miltertest_run() {
	s=$1; shift
	n=$#
	for kv in "$@"; do set -- "$@" -D "$kv"; done	# values may hold blanks
	shift "$n"
	miltertest -D "socket=$MILTER_SOCKET" "$@" -s "$top_srcdir/t/miltertest/$s" 2>&1
}
