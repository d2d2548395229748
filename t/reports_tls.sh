#!/bin/bash
# reports_tls.sh - dmarc-reports delivers aggregate reports over STARTTLS
# to a real Postfix (RFC 3207): a certificate it cannot verify stops the
# delivery and the report stays unsent (a later run retries it); with
# verification off it goes over TLS, arrives in the mailbox, and its
# attachment is a schema-valid report.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

R="$top_builddir/reports/dmarc-reports"
XSD9990="$top_srcdir/reports/schema/rfc9990.xsd"
HISTORY="$T_DIR/history.jsonl"
start_nsd
milter_conf "$T_DIR/m.conf" "HistoryFile $HISTORY"
start_milter "$T_DIR/m.conf"
mkmsg "$T_DIR/ruf.eml" user@ruf.test
mt_send "$T_DIR/ruf.eml" 203.0.113.5 user@ruf.test > /dev/null
is "$(wc -l < "$HISTORY" | tr -d ' ')" 1 "one history record for ruf.test (rua=mailto:agg@ruf.test)"
stop_milter

# A private Postfix with a throw-away self-signed certificate; ruf.test is
# one of its mailbox domains, so agg@ruf.test lands in the maildir.
unset MILTER_SOCKET
start_postfix
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.test.example" \
	-keyout "$T_DIR/postfix/key.pem" -out "$T_DIR/postfix/cert.pem" > "$T_DIR/openssl.log" 2>&1 ||
	bail "openssl could not make a certificate: $(cat "$T_DIR/openssl.log")"
# smtpd needs tlsmgr (TLS session cache and entropy) in master.cf
postconf -c "$T_POSTFIX" -M -e 'tlsmgr/unix=tlsmgr unix - - n 1000? 1 tlsmgr' ||
	bail "cannot add tlsmgr to the private Postfix"
postfix_set "virtual_mailbox_domains = dest.test ruf.test" \
	"smtpd_tls_cert_file = $T_DIR/postfix/cert.pem" "smtpd_tls_key_file = $T_DIR/postfix/key.pem" \
	"smtpd_tls_security_level = may" "smtpd_tls_loglevel = 1" "smtpd_tls_received_header = yes"

cat > "$T_DIR/r.conf" <<CONF
Database		$T_DIR/reports.sqlite
OrgName			Test Receiver
ReportEmail		dmarc-noreply@mx.test.example
Nameservers		$NAMESERVER
SMTPRelay		127.0.0.1:$SMTP_PORT
SMTPStartTLS		yes
SMTPVerifyCertificate	yes
CONF
out=$("$R" -c "$T_DIR/r.conf" import "$HISTORY" 2>&1)
like "$out" '1 imported' "the history is imported"
UNTIL=$(( $(date +%s) / 86400 * 86400 + 86400 ))

## a certificate that does not verify: nothing is sent, the report waits
out=$("$R" -c "$T_DIR/r.conf" send --until "$UNTIL" 2>&1)
like "$out" 'for ruf\.test to agg@ruf\.test: ' "the report for ruf.test is tried"
unlike "$out" 'for ruf\.test to agg@ruf\.test: sent' "a self-signed certificate is not trusted: not sent"
like "$out" '[Cc]ertificate|verif' "and the output says it was the certificate"
sleep 1
is "$(ls "$MAILDIR/new" 2>/dev/null | wc -l | tr -d ' ')" 0 "nothing was delivered"

## verification off (a local relay with its own certificate): sent over TLS
sed -i 's/^SMTPVerifyCertificate.*/SMTPVerifyCertificate	no/' "$T_DIR/r.conf"
out=$("$R" -c "$T_DIR/r.conf" send --until "$UNTIL" 2>&1)
like "$out" 'for ruf\.test to agg@ruf\.test: sent' "the next run sends the report that waited"
wait_delivered 1
ok $? "it is delivered to agg@ruf.test"
m="$MAILDIR/new/$(ls "$MAILDIR/new" | head -n 1)"
like "$(cat "$m")" '\(using TLSv1\.[23] with cipher' "Postfix received it over TLS (its Received header says so)"
like "$(cat "$T_DIR/postfix/maillog")" 'Anonymous TLS connection established from localhost\[127\.0\.0\.1\]|TLS connection established from' \
	"Postfix logged the TLS session"
awk '/^Content-Transfer-Encoding: base64/{b=1; next} b&&/^$/&&!s{s=1; next} b&&s&&/^--/{exit} b&&s{print}' "$m" |
	base64 -d 2>/dev/null | gunzip -c > "$T_DIR/mailed.xml" 2>/dev/null
xmllint --noout --schema "$XSD9990" "$T_DIR/mailed.xml" 2>/dev/null
ok $? "the attachment gunzips to a schema-valid RFC 9990 report"
like "$(tr -d '\n\t ' < "$T_DIR/mailed.xml")" '<domain>ruf\.test</domain>' "about ruf.test"
out=$("$R" -c "$T_DIR/r.conf" send --until "$UNTIL" 2>&1)
like "$out" '^0 reports built' "a third run sends nothing more"

done_testing
