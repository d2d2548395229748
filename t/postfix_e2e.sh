#!/bin/sh
# postfix_e2e.sh - mail through a real, private Postfix with dmarc-milter in
# smtpd_milters: it is delivered, the milter saw it (with Postfix's queue
# id), and with the milter gone Postfix follows milter_default_action.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

start_nsd
milter_conf "$T_DIR/milter.conf"
start_milter "$T_DIR/milter.conf"
start_postfix

cat > "$T_DIR/msg1.eml" <<MSG
From: Sender <user@example.com>
To: rcpt@dest.test
Subject: end to end 1
Message-ID: <e2e-1@example.com>
Date: Mon, 23 Nov 2026 10:00:00 +0000

Hello through Postfix.
MSG

out=$(send_mail "$T_DIR/msg1.eml" user@example.com rcpt@dest.test)
like "$out" '<- *250 2\.0\.0 Ok: queued as [0-9A-F]+' "Postfix accepts the message with the milter in the path"
qid=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' | tail -n 1)
wait_delivered 1
ok $? "the message is delivered to the mailbox"
like "$(cat "$MAILDIR"/new/* 2>/dev/null)" 'Subject: end to end 1' "the delivered message is the one sent"
like "$(cat "$T_DIR/milter.log")" "$qid: accepted from" "the milter judged it and logged Postfix's queue id $qid"

# The milter is gone: milter_default_action = accept lets mail through.
stop_milter
sed 's/end to end 1/end to end 2/' "$T_DIR/msg1.eml" > "$T_DIR/msg2.eml"
out=$(send_mail "$T_DIR/msg2.eml" user@example.com rcpt@dest.test)
like "$out" '<- *250 2\.0\.0 Ok: queued' "milter down, milter_default_action=accept: accepted"
wait_delivered 2
ok $? "and delivered"
like "$(cat "$T_DIR/postfix/maillog")" 'warning: connect to Milter service inet:127\.0\.0\.1:[0-9]+: Connection refused' "Postfix logged that the milter was unreachable"

# milter_default_action = tempfail: the client is told to try again.
postfix_set milter_default_action=tempfail
out=$(send_mail "$T_DIR/msg2.eml" user@example.com rcpt@dest.test)
like "$out" '<\*\* *451 4\.7\.1 ' "milter down, milter_default_action=tempfail: 451 4.7.1"
sleep 1
is "$(ls "$MAILDIR/new" | wc -l | tr -d ' ')" 2 "nothing more was delivered"

done_testing
