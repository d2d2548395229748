#!/bin/bash
# dns_faults.sh - the running milter while the test DNS server misbehaves:
# no answer at all (nsd stopped), SERVFAIL, a reply too big for UDP (TC,
# then TCP), a TXT record over DNS_MAX_TXT_LEN, a CNAME loop and long CNAME
# chains, and thousands of distinct lookups against a small cache.  Each
# case gives the documented result (dmarc-milter.conf(5): a temporary DNS
# failure is dmarc=temperror and TemporaryFailures decides), and no message
# waits longer than the DNS options allow: DNSTimeout x (DNSRetries + 1)
# per lookup, times the lookups the message needed (counted in StatsFile).
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

T_BROKEN_ZONES="servfail.test"
start_nsd
GOOD=192.0.2.1		# inside the SPF of every test domain
BAD=203.0.113.5		# outside all of them
M="$T_DIR/msg"
mkdir -p "$M"
TIMEOUT=1 RETRIES=1
ATTEMPTS=$((RETRIES + 1))
SLACK=2			# seconds for everything that is not waiting for DNS

# use N: talk to milter number N from here on
use() {
	eval "MILTER_PID=\$PID_$1 MILTER_SOCKET=\$SOCK_$1 STATS=\$STATS_$1"
}

# send NAME CLIENT-IP MAIL-FROM MSGFILE: one message through the milter.
# Sets R (what miltertest saw), ACT (accept|quarantine|reject|tempfail),
# AR (our header), SECS (whole session, seconds) and UP (DNS queries the
# milter sent upstream for it).
send() {
	name=$1 ip=$2 mfrom=$3 msg=$4
	out="$T_DIR/$name.out"
	rm -f "$out"
	up0=$(stats_value dmarc_milter_dns_upstream_total)
	t0=$(date +%s%N)
	miltertest_run message.lua "msgfile=$msg" "outfile=$out" "client_ip=$ip" \
		"client_host=[$ip]" "helo=client.example.net" "mailfrom=$mfrom" "rcpt=rcpt@dest.test" \
		${EXPECT_REPLY:+"expect_reply=$EXPECT_REPLY"} > "$T_DIR/$name.mt" 2>&1
	t1=$(date +%s%N)
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	UP=$(( $(stats_value dmarc_milter_dns_upstream_total) - up0 ))
	R=$(cat "$out" 2>/dev/null)
	[ -n "$R" ] || diag "$name: miltertest failed: $(cat "$T_DIR/$name.mt")"
	mt_action "$R"
	AR=$(printf '%s\n' "$R" | sed -n 's/^ar= *//p')
}

# within SECONDS NAME: the message took less than SECONDS
within() {
	awk -v s="$SECS" -v m="$1" 'BEGIN { exit !(s < m) }'
	ok $? "$2: ${SECS}s < ${1}s"
}

# bounded NAME: no longer than the DNS options allow for the lookups made
bounded() {
	within $((UP * TIMEOUT * ATTEMPTS + SLACK)) "$1: bounded by $UP lookups x ${TIMEOUT}s x $ATTEMPTS attempts + ${SLACK}s"
}

# Two milters, the same but for TemporaryFailures; no cache, so that every
# lookup goes to nsd.
for n in 1 2; do
	[ $n = 1 ] && tf=accept || tf=tempfail
	eval "STATS_$n=\$T_DIR/stats$n.prom"
	milter_conf "$T_DIR/m$n.conf" "TemporaryFailures $tf" "RejectFailures yes" \
		"HoldQuarantinedMessages yes" "DNSTimeout $TIMEOUT" "DNSRetries $RETRIES" \
		"DNSCacheSize 0" "StatsFile $T_DIR/stats$n.prom" "StatsInterval 3600"
	start_milter "$T_DIR/m$n.conf"
	eval "PID_$n=\$MILTER_PID SOCK_$n=\$MILTER_SOCKET"
done

for d in example.com servfail.test big.faults.test huge.faults.test loop.faults.test \
    short.faults.test long.faults.test; do
	mkmsg "$M/$d.eml" "user@$d"
done

## 1. no answer at all: temperror, the configured action, bounded time
nsd_pause
use 1
send pause-accept $BAD user@example.com "$M/example.com.eml"
is "$ACT" accept "no DNS answer, TemporaryFailures accept: accepted"
like "$AR" 'dmarc=temperror' "no DNS answer: dmarc=temperror in Authentication-Results"
like "$AR" 'spf=temperror' "no DNS answer: spf=temperror too"
ok $(( ! (UP >= 1 && UP <= 4) )) "no DNS answer: a few lookups, each given up ($UP)"
bounded "no DNS answer (accept)"
use 2
EXPECT_REPLY="451|4.7.5|Temporary failure evaluating DMARC for example.com; try again later"
send pause-tempfail $BAD user@example.com "$M/example.com.eml"
EXPECT_REPLY=
is "$ACT" tempfail "no DNS answer, TemporaryFailures tempfail: tempfailed"
like "$R" 'reply_match=yes' "the tempfail is 451 4.7.5 naming the author domain"
like "$LAST" 'dmarc=temperror' "the log line says dmarc=temperror"
bounded "no DNS answer (tempfail)"
like "$(stats_value dmarc_milter_dns_tempfail_total)" '^[1-9]' "the timeouts are counted as DNS temporary failures"
nsd_resume
send resumed $GOOD user@example.com "$M/example.com.eml"
is "$ACT" accept "nsd answers again: the next message is judged normally"
like "$AR" 'dmarc=pass' "nsd answers again: dmarc=pass"
within $SLACK "nsd answers again: no waiting"
use 1
send resumed-1 $BAD user@example.com "$M/example.com.eml"
is "$ACT" reject "nsd answers again: p=reject applies again (the other milter)"

## 2. SERVFAIL for the policy domain
use 1
send servfail-accept $BAD user@servfail.test "$M/servfail.test.eml"
is "$ACT" accept "SERVFAIL, TemporaryFailures accept: accepted"
like "$AR" 'dmarc=temperror' "SERVFAIL: dmarc=temperror"
within $TIMEOUT "SERVFAIL: answered at once, no timeout waited"
use 2
send servfail-tempfail $BAD user@servfail.test "$M/servfail.test.eml"
is "$ACT" tempfail "SERVFAIL, TemporaryFailures tempfail: tempfailed"
within $TIMEOUT "SERVFAIL (tempfail): answered at once"

## 3. an RRset too big for UDP: TC, then TCP
q() { drill -p "$NSD_PORT" @127.0.0.1 "$@" 2>&1; }
out=$(q -b 1232 TXT _dmarc.big.faults.test)
like "$out" 'flags: qr aa tc' "over UDP (EDNS 1232, as the milter asks) the reply is truncated (TC)"
like "$out" 'ANSWER: 0,' "the truncated UDP reply carries no record"
out=$(q -t TXT _dmarc.big.faults.test)
like "$out" '"v=DMARC1; p=reject"' "over TCP the DMARC record is there"
is "$(printf '%s\n' "$out" | grep -c '^_dmarc.big.faults.test.*TXT')" 15 "over TCP all 15 TXT records come"
tcp() { ss -Htan "( dport = :$NSD_PORT )" | grep -vc LISTEN; }
sleep 0.2
before=$(tcp)
use 1
send big $BAD user@big.faults.test "$M/big.faults.test.eml"
is "$ACT" reject "a DMARC record in a truncated reply is found (over TCP): p=reject applies"
like "$LAST" 'dmarc=fail.*p=reject' "the log line has dmarc=fail and p=reject"
after=$(tcp)
ok $(( ! (after > before) )) "the milter connected to nsd over TCP ($before -> $after connections to port $NSD_PORT)"
within $SLACK "the TCP fallback costs no timeout"

## 4. one TXT record over DNS_MAX_TXT_LEN (8192) at _dmarc
out=$(q -t TXT _dmarc.huge.faults.test)
len=$(printf '%s\n' "$out" | grep '^_dmarc.huge' | sed 's/.*TXT[[:space:]]*//; s/" "//g; s/"//g' | tr -d '\n' | wc -c)
ok $(( ! (len > 8192) )) "the test record is longer than DNS_MAX_TXT_LEN ($len bytes)"
send huge $BAD user@huge.faults.test "$M/huge.faults.test.eml"
is "$ACT" accept "an over-long TXT record is dropped (dns.h): no policy, accepted"
like "$AR" 'dmarc=none' "an over-long DMARC record: dmarc=none"
kill -0 "$MILTER_PID"
ok $? "the milter is still running"
within $SLACK "the over-long record: no waiting"

## 5. a CNAME loop and CNAME chains
send loop $BAD user@loop.faults.test "$M/loop.faults.test.eml"
is "$ACT" accept "a CNAME loop at _dmarc: no record, accepted"
like "$AR" 'dmarc=none' "a CNAME loop: dmarc=none"
within $SLACK "a CNAME loop: no waiting"
send short $BAD user@short.faults.test "$M/short.faults.test.eml"
is "$ACT" quarantine "a chain of three CNAMEs is followed to p=quarantine"
# DNS_CNAME_MAX (dns.c) is 8 hops: a longer chain in one answer ends in
# "no record" (see the report on issue 6: a recursive resolver follows 16)
send long $BAD user@long.faults.test "$M/long.faults.test.eml"
is "$ACT" accept "a chain of twelve CNAMEs (over DNS_CNAME_MAX): not followed, accepted"
like "$AR" 'dmarc=none' "a chain of twelve CNAMEs: dmarc=none"
within $SLACK "a long CNAME chain: no waiting"
kill -0 "$PID_1" && kill -0 "$PID_2"
ok $? "both milters are still running"

## 6. thousands of distinct lookups against a small cache
# On a unix socket, as an MTA on the same host would connect: a session
# takes about a millisecond, so 3000 of them fit in a few seconds.
CACHE=500
milter_conf "$T_DIR/many.conf" "DNSCacheSize $CACHE" "DNSTimeout $TIMEOUT" "DNSRetries $RETRIES" \
	"StatsFile $T_DIR/many.prom" "StatsInterval 3600" "LogLevel warning"
sed -i '/^LogLevel debug$/d' "$T_DIR/many.conf"
"$MILTER" -f -c "$T_DIR/many.conf" -p "unix:$T_DIR/many.sock" >> "$T_DIR/many.log" 2>&1 &
MILTER_PID=$!
T_PIDS="$T_PIDS $MILTER_PID"
MILTER_SOCKET="unix:$T_DIR/many.sock"
STATS="$T_DIR/many.prom"
i=0
until [ -S "$T_DIR/many.sock" ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$T_DIR/many.sock" ] || bail "dmarc-milter did not start: $(cat "$T_DIR/many.log")"
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$MILTER_PID/status"; }
BATCH=300 BATCHES=10
max_entries=0 sent=0 accepted=0 passed=0
t0=$(date +%s)
for b in $(seq 1 $BATCHES); do
	miltertest_run many.lua first=$(( (b - 1) * BATCH + 1 )) count=$BATCH domain=d%d.many.test \
		client_ip=$GOOD "outfile=$T_DIR/many.out" > "$T_DIR/many.mt" 2>&1 ||
		diag "batch $b: $(cat "$T_DIR/many.mt")"
	sent=$((sent + BATCH))
	accepted=$((accepted + $(sed -n 's/^a //p' "$T_DIR/many.out")))
	passed=$((passed + $(sed -n 's/^pass //p' "$T_DIR/many.out")))
	e=$(stats_value dmarc_milter_dns_cache_entries)
	[ "${e:-0}" -gt $max_entries ] && max_entries=$e
	[ $b = 1 ] && rss1=$(rss)
done
secs=$(( $(date +%s) - t0 ))
diag "$sent messages in ${secs}s"
is "$accepted" $sent "$sent messages from $sent author domains: all accepted"
is "$passed" $sent "each one judged: dmarc=pass (SPF aligned, the wildcard's p=none)"
q=$(stats_value dmarc_milter_dns_queries_total)
ok $(( ! (q >= 2 * sent) )) "at least two distinct lookups per message ($q)"
cap=$(stats_value dmarc_milter_dns_cache_capacity)
ok $(( ! (cap > 0 && cap <= CACHE) )) "the cache holds at most DNSCacheSize $CACHE answers ($cap)"
ok $(( ! (max_entries > 0 && max_entries <= cap) )) "its entries never exceeded that (at most $max_entries seen)"
ok $(( ! (max_entries >= cap * 9 / 10) )) "and it was full: the bound was what held it ($max_entries)"
rss2=$(rss)
ok $(( ! (rss2 - rss1 < 8192 + RSS_SLACK_KB) )) "the milter's RSS stays bounded: ${rss1} kB after $BATCH messages, ${rss2} kB after $sent (allowed growth $((8192 + RSS_SLACK_KB)) kB)"
is "$(grep -v 'running as root' "$T_DIR/many.log" | grep -c -i -e 'error' -e 'warn')" 0 \
	"no warning or error logged"
kill -0 "$MILTER_PID"
ok $? "the milter is still running"

done_testing
