#!/bin/bash
# failure_reports.sh - RFC 9991 failure reports end to end: the milter
# judges real messages (miltertest, nsd zones), queues ARF reports, and its
# sender thread mails them to a real SMTP sink (Postfix's smtp-sink):
# the fo tag, psd=y, external ruf destinations checked by DNS, the
# per-destination rate limit, no report about a report, a relay that is
# down and comes back, and FailureReports off by default.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

start_nsd
SINK="$T_DIR/sink"
mkdir -p "$SINK"
chmod 777 "$SINK"
SINK_PORT=$(free_port)

# start_sink / stop_sink: smtp-sink writes every message it takes into $SINK
start_sink() {
	smtp-sink -d "$SINK/%M." -u nobody "127.0.0.1:$SINK_PORT" 10 >> "$T_DIR/sink.log" 2>&1 &
	SINK_PID=$!
	T_PIDS="$T_PIDS $SINK_PID"
	wait_listen "$SINK_PORT" || bail "smtp-sink did not start: $(cat "$T_DIR/sink.log")"
}
stop_sink() {
	kill "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
}
# wait_reports N [SECONDS]: until the sink holds N messages
wait_reports() {
	i=0
	while [ "$(ls "$SINK" | wc -l)" -lt "$1" ] && [ $i -lt $((${2:-10} * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ls "$SINK" | wc -l | tr -d ' '
}
# report_to ADDR: the reports the sink took for ADDR
report_to() { grep -l "^To: <$1>" "$SINK"/* 2>/dev/null; }
# fieldval FILE NAME: a header field's value (first occurrence), unfolded
fieldval() {
	awk -v n="$2:" 'f&&/^[ \t]/{sub(/^[ \t]+/," "); v=v $0; next} f{print v; exit} index($0,n)==1{v=substr($0,length(n)+2); sub(/\r$/,"",v); f=1}' "$1" | tr -d '\r'
}

M="$T_DIR/msg"
mkdir -p "$M"
for d in ruf.test fo0.ruf.test psd.ruf.test rufext.ruf.test rufnoauth.ruf.test; do
	mkmsg "$M/$d.eml" "user@$d"
done
mkmsg "$M/report.eml" "user@ruf.test" "MIME-Version: 1.0" \
	"Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\""

## the options are off by default and checked
"$MILTER" -n -c /dev/null > "$T_DIR/n.out" 2>&1
like "$(cat "$T_DIR/n.out")" 'FailureReports no' "FailureReports is off by default"
printf 'FailureReportsFrom not an address\n' > "$T_DIR/bad.conf"
out=$("$MILTER" -n -c "$T_DIR/bad.conf" 2>&1)
like "$out" 'bad\.conf:1: FailureReportsFrom: .*not a plain mail address' "a bad FailureReportsFrom is refused with file and line"
printf 'FailureReportsRelay [::1:25\n' > "$T_DIR/bad.conf"
out=$("$MILTER" -n -c "$T_DIR/bad.conf" 2>&1)
like "$out" 'FailureReportsRelay: .*unbalanced' "a bad FailureReportsRelay is refused"

## reports, as the records ask
start_sink
milter_conf "$T_DIR/m.conf" "FailureReports yes" "FailureReportsRelay 127.0.0.1:$SINK_PORT" \
	"FailureReportsRateLimit 4" "FailureReportsFrom dmarc-noreply@mx.test.example"
start_milter "$T_DIR/m.conf"

mt_send "$M/psd.ruf.test.eml" 203.0.113.5 user@psd.ruf.test > /dev/null
mt_send "$M/fo0.ruf.test.eml" 192.0.2.1 user@fo0.ruf.test > /dev/null
sleep 1
is "$(ls "$SINK" | wc -l | tr -d ' ')" 0 "psd=y ruf is never used (RFC 9991 §2); fo=0 and a pass: no report"

mt_send "$M/ruf.test.eml" 203.0.113.5 user@ruf.test > /dev/null
is "$(wait_reports 1)" 1 "a DMARC failure is reported to the ruf address"
f=$(report_to failures@ruf.test | head -n 1)
is "$(fieldval "$f" From)" "<dmarc-noreply@mx.test.example>" "From is FailureReportsFrom"
like "$(fieldval "$f" Content-Type)" 'multipart/report; report-type=feedback-report' "an ARF message (RFC 5965)"
is "$(fieldval "$f" Feedback-Type)" "auth-failure" "Feedback-Type: auth-failure (RFC 6591)"
is "$(fieldval "$f" Auth-Failure)" "dmarc" "Auth-Failure: dmarc (RFC 9991 §4)"
is "$(fieldval "$f" Identity-Alignment)" "dkim, spf" "Identity-Alignment: dkim, spf"
is "$(fieldval "$f" Source-IP)" "203.0.113.5" "Source-IP"
is "$(fieldval "$f" Reported-Domain)" "ruf.test" "Reported-Domain"
is "$(fieldval "$f" SPF-DNS)" 'txt : ruf.test : v=spf1 ip4:192.0.2.0/24 -all' "SPF-DNS carries the record looked up"
like "$(fieldval "$f" Authentication-Results)" 'mx\.test\.example;.*spf=fail.*dmarc=fail' "our Authentication-Results"
is "$(fieldval "$f" Delivery-Result)" "delivered" "Delivery-Result: delivered (RejectFailures is off)"
grep -q '^To: *rcpt@dest.test' "$f"
ok $((! $?)) "the recipient is not disclosed"
grep -q '^To: *redacted@dest.test' "$f"
ok $? "its local part is redacted (RFC 6590)"
grep -q 'This is a test message' "$f"
ok $((! $?)) "the body is never included"
grep -q '^Subject: *test ruf.test.eml' "$f"
ok $? "the original header is included"

mt_send "$M/ruf.test.eml" 192.0.2.1 user@ruf.test > /dev/null
is "$(wait_reports 2)" 2 "fo=1: a pass with an unaligned mechanism is reported too"
f=$(ls -t "$SINK"/* | head -n 1)
is "$(fieldval "$f" Identity-Alignment)" "dkim" "Identity-Alignment names only DKIM"
grep -q '^SPF-DNS' "$f"
ok $((! $?)) "SPF passed aligned: no SPF-DNS"

mt_send "$M/fo0.ruf.test.eml" 203.0.113.5 user@fo0.ruf.test > /dev/null
is "$(wait_reports 3)" 3 "fo=0 (default): a failure is reported"

mt_send "$M/rufext.ruf.test.eml" 203.0.113.5 user@rufext.ruf.test > /dev/null
is "$(wait_reports 4)" 4 "an external ruf that authorised it gets the report (RFC 9991 §5)"
is "$(report_to ruf-in@example.net | wc -l | tr -d ' ')" 1 "the report went to ruf-in@example.net"
mt_send "$M/rufnoauth.ruf.test.eml" 203.0.113.5 user@rufnoauth.ruf.test > /dev/null
i=0
until grep -q 'not sent to mailto:ruf-in@example.org' "$T_DIR/milter.log" || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
like "$(cat "$T_DIR/milter.log")" 'failure report for rufnoauth\.ruf\.test: not sent to mailto:ruf-in@example\.org' \
	"an external ruf without authorisation is refused, and logged"
is "$(report_to ruf-in@example.org | wc -l | tr -d ' ')" 0 "nothing went to it"

## the rate limit: 4 per destination domain per hour, 3 used
for i in 1 2 3 4 5; do mt_send "$M/ruf.test.eml" 203.0.113.5 user@ruf.test > /dev/null; done
wait_reports 5 > /dev/null
sleep 1
is "$(report_to failures@ruf.test | wc -l | tr -d ' ')" 4 "a flood of 5 more gives 1 more report: 4 per hour to ruf.test"
like "$(cat "$T_DIR/milter.log")" 'failure reports to ruf\.test: FailureReportsRateLimit of 4 per hour reached' \
	"the limit is logged"
is "$(grep -c 'FailureReportsRateLimit of 4 per hour reached' "$T_DIR/milter.log")" 1 "once per hour"

## no report about a report (RFC 9991 §5.1: loops)
before=$(ls "$SINK" | wc -l)
mt_send "$M/report.eml" 203.0.113.5 user@ruf.test > /dev/null
sleep 1
is "$(ls "$SINK" | wc -l)" "$before" "a failing feedback report is not reported on"

## the relay is down: the report waits and goes when it is back
stop_sink
before=$(ls "$SINK" | wc -l)
mt_send "$M/rufext.ruf.test.eml" 203.0.113.5 user@rufext.ruf.test > /dev/null
i=0
until grep -q 'failure report for rufext.ruf.test to ruf-in@example.net: relay .*will retry' "$T_DIR/milter.log" || [ $i -gt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
like "$(cat "$T_DIR/milter.log")" 'relay 127\.0\.0\.1:[0-9]+: .*\(will retry\)' "a relay that is down: logged, kept for a retry"
start_sink
is "$(wait_reports $((before + 1)) 20)" $((before + 1)) "the report is delivered when the relay is back"

stop_milter
like "$(cat "$T_DIR/milter.log")" 'failure reports: 7 queued, 6 sent, 4 rate-limited, 1 refused, 0 dropped' \
	"the counts at shutdown add up"

## off by default: nothing is sent
before=$(ls "$SINK" | wc -l)
milter_conf "$T_DIR/off.conf" "FailureReportsRelay 127.0.0.1:$SINK_PORT"
start_milter "$T_DIR/off.conf"
mt_send "$M/ruf.test.eml" 203.0.113.5 user@ruf.test > /dev/null
sleep 1
is "$(ls "$SINK" | wc -l)" "$before" "FailureReports off (the default): no report"
stop_milter
stop_sink

done_testing
