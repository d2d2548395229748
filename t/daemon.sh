#!/bin/bash
# daemon.sh - running it like a mail daemon: started as root it listens on
# a unix socket with SocketMode/SocketGroup, drops to UserID, writes its
# PidFile and a start line naming version, config, socket and libraries;
# StatsFile counters on SIGUSR2; SIGTERM finishes the messages in flight
# (verdict, history record) before it exits; SIGUSR1 reopens the history.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

start_nsd
D="$T_DIR/run"
mkdir -p "$D"
chmod 777 "$D"
M="$T_DIR/msg"
mkdir -p "$M"
for d in example.com example.org quarantine.test; do mkmsg "$M/$d.eml" "user@$d"; done

milter_conf "$T_DIR/d.conf" "Socket unix:$D/milter.sock" "UserID nobody" "SocketGroup postfix" \
	"SocketMode 0660" "PidFile $D/milter.pid" "HistoryFile $D/history.jsonl" \
	"StatsFile $D/stats.prom" "StatsInterval 3600" "IgnoreHosts 192.0.2.254" \
	"DNSTimeout 2" "DNSRetries 0" "DNSCacheSize 0"
"$MILTER" -f -c "$T_DIR/d.conf" >> "$T_DIR/milter.log" 2>&1 &
MPID=$!
T_PIDS="$T_PIDS $MPID"
i=0
until [ -S "$D/milter.sock" ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
MILTER_SOCKET="unix:$D/milter.sock"

## the socket, the user, the pid file, the start line
is "$(stat -c '%a %U %G' "$D/milter.sock")" "660 nobody postfix" \
	"the unix socket has SocketMode, the UserID user and SocketGroup"
is "$(ps -o user= -p "$MPID" | tr -d ' ')" nobody "started as root, it runs as UserID"
is "$(cat "$D/milter.pid" 2>/dev/null)" "$MPID" "PidFile holds its pid"
like "$(cat "$T_DIR/milter.log")" \
	"dmarc-milter [0-9.]+ starting: config $T_DIR/d\\.conf, socket unix:$D/milter\\.sock; libmilter [0-9.]+, libopendkim [0-9.]+, libspf2 [0-9.]+, ldns [0-9.]+, libpsl [0-9.]+.*OpenSSL" \
	"the start line names version, config, socket and every library"
r=$(mt_send "$M/example.com.eml" 192.0.2.1 user@example.com)
# On a unix socket no delayed ACK can stall the MTA: we take the no-reply
# flags for HELO, RCPT, headers, end of headers and body (t/postfix_e2e.sh
# checks the TCP case, where we answer everything).
steps=$(sed -n 's/.*negotiate: MTA offers .* we take 0x[0-9a-f]* 0x\([0-9a-f]*\)$/\1/p' "$T_DIR/milter.log" | head -n 1)
nr=$(( 0x2000 | 0x8000 | 0x80 | 0x40000 | 0x80000 ))	# NR_HELO NR_RCPT NR_HDR NR_EOH NR_BODY
is "$(( 0x${steps:-0} & nr ))" "$nr" "unix socket: no replies to HELO, RCPT, headers, end of headers, body (0x$steps)"
like "$r" 'reply=a' "a message through the unix socket is judged"

## statistics on SIGUSR2
mt_send "$M/example.org.eml" 203.0.113.5 user@example.org > /dev/null
mt_send "$M/quarantine.test.eml" 203.0.113.5 user@quarantine.test > /dev/null
mt_send "$M/example.com.eml" 192.0.2.254 user@example.com > /dev/null
rm -f "$D/stats.prom"
kill -USR2 "$MPID"
i=0
until [ -s "$D/stats.prom" ] || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
S=$(cat "$D/stats.prom" 2>/dev/null)
like "$S" '^dmarc_milter_messages_total 3$' "SIGUSR2 writes StatsFile: 3 messages evaluated"
like "$S" 'dmarc_milter_skipped_total\{reason="IgnoreHosts"\} 1' "the IgnoreHosts connection is counted as skipped"
like "$S" 'dmarc_milter_actions_total\{action="accept"\} 3' "3 accepted (RejectFailures off)"
like "$S" 'dmarc_milter_dmarc_results_total\{result="fail"\} 2' "2 DMARC failures"
like "$S" 'dmarc_milter_dmarc_results_total\{result="pass"\} 1' "1 DMARC pass"
like "$S" 'dmarc_milter_dns_queries_total [1-9][0-9]*' "DNS lookups are counted"
like "$S" 'dmarc_milter_dns_cache_hit_ratio 0\.0000' "the cache hit ratio is there (cache off here: 0)"
like "$S" '# TYPE dmarc_milter_messages_total counter' "Prometheus TYPE lines"
bad=$(grep -v -e '^# HELP ' -e '^# TYPE ' -e '^[a-z_]*\({[a-z_]*="[^"]*"}\)\{0,1\} [0-9.e+-]*$' "$D/stats.prom")
is "$bad" "" "every line is valid Prometheus text exposition format"
[ ! -e "$D/stats.prom.tmp" ]
ok $? "no temporary file left behind"

## SIGUSR1 reopens the history file (logrotate)
mv "$D/history.jsonl" "$D/history.jsonl.1"
kill -USR1 "$MPID"
i=0
until grep -q 'configuration reloaded' "$T_DIR/milter.log" || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
mt_send "$M/example.com.eml" 192.0.2.1 user@example.com > /dev/null
is "$(wc -l < "$D/history.jsonl" 2>/dev/null | tr -d ' ')" 1 "after mv and SIGUSR1 the next record goes to a new file"
is "$(wc -l < "$D/history.jsonl.1" | tr -d ' ')" 3 "the rotated file keeps its records"

## SIGTERM: the message in flight is finished, then the milter exits
nsd_pause
mt_send "$M/example.org.eml" 198.51.100.7 user@example.org > "$T_DIR/inflight.out" &
MT=$!
sleep 1
kill -TERM "$MPID"
sleep 0.5
nsd_resume
wait "$MT"
like "$(cat "$T_DIR/inflight.out")" 'reply=a' "the message in flight got its verdict after SIGTERM"
i=0
while kill -0 "$MPID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$MPID" 2>/dev/null
ok $((! $?)) "the milter exited"
wait "$MPID"
is $? 0 "with status 0"
order=$(grep -n -e '\[198\.51\.100\.7\].* action=accept' -e ': stopping$' "$T_DIR/milter.log" | cut -d: -f3- | sed 's/^ //' | cut -c1-8 | tr '\n' ' ')
is "$order" "NOQUEUE: stopping " "the verdict came before the milter stopped"
grep -q '"client_ip":"198.51.100.7"' "$D/history.jsonl"
ok $? "the message in flight has its history record"
[ -e "$D/milter.pid" ]
ok $((! $?)) "the PidFile is removed"
like "$(cat "$D/stats.prom")" '^dmarc_milter_messages_total 5$' "StatsFile is written one last time at exit"

done_testing
