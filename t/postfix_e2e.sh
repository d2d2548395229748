#!/bin/sh
# postfix_e2e.sh - mail through a real, private Postfix with dmarc-milter in
# smtpd_milters, as a postmaster runs it: a DMARC pass is delivered with our
# Authentication-Results, a p=reject failure is refused with our 550, a
# p=quarantine failure lands in Postfix's hold queue, a forged A-R with our
# authserv-id is removed (the others kept), the history file holds one
# valid line per message, and with the milter gone Postfix follows
# milter_default_action.  Postfix's XCLIENT stands in for remote clients.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

HISTORY="$T_DIR/history.jsonl"
start_nsd
milter_conf "$T_DIR/milter.conf" "RejectFailures yes" "HoldQuarantinedMessages yes" \
	"HistoryFile $HISTORY"
start_milter "$T_DIR/milter.conf"
start_postfix
postfix_set "smtpd_authorized_xclient_hosts = 127.0.0.0/8"

# msg FILE FROM SUBJECT [EXTRA-HEADER...]
msg() {
	f=$1 from=$2 subj=$3; shift 3
	{
		for h in "$@"; do printf '%s\n' "$h"; done
		printf 'From: Sender <%s>\nTo: rcpt@dest.test\nSubject: %s\n' "$from" "$subj"
		printf 'Message-ID: <%s@test>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\nHello through Postfix.\n' "$subj"
	} > "$f"
}

# send FILE MAILFROM CLIENT-IP: through Postfix, the client given by XCLIENT
send() {
	send_mail "$1" "$2" rcpt@dest.test --xclient-addr "$3" --xclient-name "[UNAVAILABLE]"
}

## a DMARC pass: delivered, with our header first
msg "$T_DIR/pass.eml" user@example.com "e2e pass" \
	"Authentication-Results: mx.test.example; dmarc=pass header.from=evil.example" \
	"Authentication-Results: other.example; spf=pass smtp.mailfrom=user@example.com"
out=$(send "$T_DIR/pass.eml" user@example.com 192.0.2.1)
like "$out" '<- *250 2\.0\.0 Ok: queued as [0-9A-F]+' "pass: Postfix queues it"
qid=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' | tail -n 1)
wait_delivered 1
ok $? "pass: delivered to the mailbox"
got=$(cat "$MAILDIR"/new/* 2>/dev/null)
like "$got" 'Subject: e2e pass' "pass: the delivered message is the one sent"
first=$(printf '%s\n' "$got" | grep -m1 '^Authentication-Results:')
like "$first" '^Authentication-Results: mx\.test\.example;' "pass: our Authentication-Results is the first A-R field"
like "$(printf '%s\n' "$got" | tr -d '\n\t')" 'Authentication-Results: mx\.test\.example;.*spf=pass.*dmarc=pass \(p=reject dis=none\) *header\.from=example\.com' \
	"pass: it says spf=pass and dmarc=pass for example.com"
is "$(printf '%s\n' "$got" | grep -c '^Authentication-Results: mx\.test\.example;')" 1 \
	"pass: the forged A-R with our authserv-id is gone, ours alone remains"
like "$got" 'Authentication-Results: other\.example; spf=pass' "pass: another host's A-R is kept"
like "$(cat "$T_DIR/milter.log")" "$qid: \[192\.0\.2\.1\] \[192\.0\.2\.1\] removed forged A-R, spf=pass" \
	"pass: the milter logged the verdict with Postfix's queue id $qid"

# Negotiation over TCP: Postfix hears from us after every command it
# sends, DATA included (milter.c tcp_replies: an unanswered command would
# leave Postfix's next write to Nagle and our delayed ACK).  No
# SMFIP_NR_* flag (libmilter/mfdef.h), no SMFIP_NODATA.
steps=$(sed -n 's/.*negotiate: MTA offers .* we take 0x[0-9a-f]* 0x\([0-9a-f]*\)$/\1/p' "$T_DIR/milter.log" | head -n 1)
like "$steps" '^[0-9a-f]+$' "negotiation: the milter logged the steps it took (0x$steps)"
nr=$(( 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x80 | 0x40000 | 0x80000 ))
is "$(( 0x${steps:-0} & nr ))" 0 "negotiation over TCP: a reply to every command (no SMFIP_NR_*)"
is "$(( 0x${steps:-0} & 0x200 ))" 0 "negotiation over TCP: DATA is taken and answered (no SMFIP_NODATA)"
is "$(( 0x${steps:-0} & 0x100000 ))" "$((0x100000))" "negotiation: header values with their leading space (SMFIP_HDR_LEADSPC)"

## p=reject failure: refused with our 550 text
msg "$T_DIR/reject.eml" user@example.com "e2e reject"
out=$(send "$T_DIR/reject.eml" user@example.com 203.0.113.5)
like "$out" '<\*\* *550 5\.7\.1 Message rejected: it fails the DMARC policy of example\.com' \
	"reject: the client gets 550 5.7.1 naming the author domain"

## p=quarantine failure: accepted and held
msg "$T_DIR/quar.eml" user@quarantine.test "e2e quarantine"
out=$(send "$T_DIR/quar.eml" user@quarantine.test 203.0.113.5)
like "$out" '<- *250 2\.0\.0 Ok: queued as [0-9A-F]+' "quarantine: Postfix accepts it"
qqid=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' | tail -n 1)
sleep 1
held=$(postqueue -c "$T_POSTFIX" -j 2>/dev/null | grep "\"queue_id\": *\"$qqid\"")
like "$held" '"queue_name": *"hold"' "quarantine: the message is in Postfix's hold queue"
is "$(ls "$MAILDIR/new" | wc -l | tr -d ' ')" 1 "quarantine: not delivered"

## history: one valid line per evaluated message
hc=$("$top_builddir/t/historycheck" "$HISTORY" 2>&1)
like "$hc" 'records=3 invalid=0' "history: three messages, three valid lines"
like "$hc" "^$qid example\.com pass none accept" "history: the pass, under Postfix's queue id"
like "$hc" ' example\.com fail reject reject' "history: the reject"
like "$hc" "^$qqid quarantine\.test fail quarantine quarantine" "history: the quarantine"

## a loopback client is not judged (IgnoreHosts defaults to loopback)
stop_milter
milter_conf "$T_DIR/milter2.conf" "RejectFailures yes"
start_milter "$T_DIR/milter2.conf"
postfix_set "smtpd_milters = inet:127.0.0.1:$MILTER_PORT"
msg "$T_DIR/local.eml" user@example.com "e2e local"
out=$(send_mail "$T_DIR/local.eml" user@example.com rcpt@dest.test)
like "$out" '<- *250 2\.0\.0 Ok: queued' "loopback: accepted without a DMARC check"
like "$(cat "$T_DIR/milter.log")" '\[127\.0\.0\.1\]: not checked \(IgnoreHosts\)' "loopback: the milter says why it skipped it"

## the milter is gone: milter_default_action decides
stop_milter
msg "$T_DIR/down.eml" user@example.com "e2e down"
out=$(send "$T_DIR/down.eml" user@example.com 192.0.2.1)
like "$out" '<- *250 2\.0\.0 Ok: queued' "milter down, milter_default_action=accept: accepted"
wait_delivered 3
ok $? "milter down, accept: delivered"
like "$(cat "$T_DIR/postfix/maillog")" 'warning: connect to Milter service inet:127\.0\.0\.1:[0-9]+: Connection refused' \
	"milter down: Postfix logged that the milter was unreachable"
postfix_set milter_default_action=tempfail
out=$(send "$T_DIR/down.eml" user@example.com 192.0.2.1)
like "$out" '<\*\* *451 4\.7\.1 ' "milter down, milter_default_action=tempfail: 451 4.7.1"
sleep 1
is "$(ls "$MAILDIR/new" | wc -l | tr -d ' ')" 3 "milter down, tempfail: nothing more delivered"

done_testing
