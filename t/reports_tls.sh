#!/bin/bash
# reports_tls.sh - dmarc-reports delivers aggregate reports over STARTTLS
# (RFC 3207) and SMTP AUTH (RFC 4954) to a real, private Postfix: a
# throw-away CA signs the Postfix's certificate; an untrusted or misnamed
# certificate, a bad SMTPCAFile and a wrong password deliver nothing and
# leave the report unsent (a later send retries it); the delivered message
# came over TLS and carries a schema-valid report.  The SASL half uses Cyrus
# SASL with a private sasldb (Debian: sasl2-bin, libsasl2-modules).
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

R="$top_builddir/reports/dmarc-reports"
XSD9990="$top_srcdir/reports/schema/rfc9990.xsd"
for p in openssl saslpasswd2 xmllint postconf; do
	command -v "$p" > /dev/null || bail "$p is not installed (contrib/install-deps.sh)"
done
[ -n "$(ls /usr/lib/*/sasl2/libplain.so* 2>/dev/null)" ] ||
	bail "Cyrus SASL PLAIN module missing (apt-get install libsasl2-modules)"
[ -n "$(ls /usr/lib/*/sasl2/libsasldb.so* 2>/dev/null)" ] ||
	bail "Cyrus SASL sasldb module missing (apt-get install libsasl2-modules-db)"

## a throw-away CA, a server certificate for 127.0.0.1 and mx.test.example
## signed by it, and an unrelated second CA
P="$T_DIR/pki"
mkdir -p "$P"
mkca() {	# mkca NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$P/$1.key" -out "$P/$1.pem" -subj "/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		> "$P/$1.log" 2>&1
}
mkca ca "dmarc-milter test CA" && mkca otherca "unrelated test CA"
ok $? "openssl made two throw-away CAs"
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:mx.test.example" "basicConstraints=critical,CA:FALSE" \
	"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$P/server.ext"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/server.key" \
	-out "$P/server.csr" -subj "/CN=mx.test.example" > "$P/server.log" 2>&1 &&
openssl x509 -req -in "$P/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -set_serial 2 -days 2 \
	-extfile "$P/server.ext" -out "$P/server.pem" >> "$P/server.log" 2>&1 &&
openssl verify -CAfile "$P/ca.pem" "$P/server.pem" > /dev/null 2>&1
ok $? "the server certificate verifies against the test CA (openssl verify)"
chmod 600 "$P/server.key"
printf 'this is not a certificate\n' > "$P/garbage.pem"

## the private Postfix, with STARTTLS and (offered, not yet required) AUTH
start_nsd	# every DNS lookup dmarc-reports might make stays on 127.0.0.1
start_postfix
# smtpd wants tlsmgr (TLS session cache, entropy) in master.cf
postconf -c "$T_POSTFIX" -M -e 'tlsmgr/unix=tlsmgr unix - - n 1000? 1 tlsmgr' ||
	bail "cannot add tlsmgr to the private Postfix"

## SASL: a private sasldb with one user.  smtpd reads smtpd.conf from
## cyrus_sasl_config_path; Debian's Postfix looks in $config_directory/sasl
## whatever that says, so the file goes there and the path points there too.
S="$T_POSTFIX/sasl"
mkdir -p "$S"
cat > "$S/smtpd.conf" <<SASLCONF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $S/sasldb2
SASLCONF
printf 'right-pw-%s\n' "$$" > "$T_DIR/password"
printf 'wrong-pw\n' > "$T_DIR/badpassword"
tr -d '\n' < "$T_DIR/password" | saslpasswd2 -p -c -f "$S/sasldb2" -u mx.test.example reports &&
	sasldblistusers2 -f "$S/sasldb2" | grep -q '^reports@mx\.test\.example:'
ok $? "saslpasswd2 created the user reports@mx.test.example in a private sasldb"
chown -R postfix "$S"
postfix_set "smtpd_tls_cert_file = $P/server.pem" "smtpd_tls_key_file = $P/server.key" \
	"smtpd_tls_security_level = may" "smtpd_tls_loglevel = 1" "smtpd_tls_received_header = yes" \
	"smtpd_sasl_auth_enable = yes" "smtpd_tls_auth_only = yes" "smtpd_sasl_path = smtpd" \
	"cyrus_sasl_config_path = $S" "smtpd_sasl_local_domain = mx.test.example" \
	"smtpd_sasl_authenticated_header = yes"
MAILLOG="$T_POSTFIX/../maillog"
ehlo=$(swaks --server "127.0.0.1:$SMTP_PORT" --quit-after EHLO --helo client.example.net 2>&1)
like "$ehlo" '250-STARTTLS' "the Postfix offers STARTTLS"
unlike "$ehlo" '250-AUTH' "and no AUTH before TLS (smtpd_tls_auth_only)"

## a small history: three messages from dest.test, whose rua is in dest.test
## itself (no external destination), served by the Postfix's maildir
NOW=$(date +%s)
UNTIL=$(( NOW / 86400 * 86400 + 86400 ))	# end of today (UTC)
rec() {	# rec N IP
	printf '{"v":1,"time":%s,"id":"tls-%s","reporter":"mx.test.example","client_ip":"%s","helo":"mail.dest.test","mail_from":"news@dest.test","mail_from_domain":"dest.test","rcpt_domains":["example.org"],"header_from":"dest.test","action":"accept","disposition":"none","from_headers":1,"spf":{"scope":"mfrom","domain":"dest.test","identity":"news@dest.test","result":"pass","human":null},"dkim":[],"dmarc":[{"from_domain":"dest.test","policy_domain":"dest.test","org_domain":"dest.test","discovery":"psl","result":"pass","policy":"none","spf_aligned":true,"dkim_aligned":false,"disposition":"none","override":"none","comment":null,"record":{"p":"none","adkim":"r","aspf":"r","ri":86400,"t":"n","p_invalid":false,"rua":[{"uri":"mailto:dmarc-rua@dest.test","size_limit":0}],"ruf":[],"raw":"v=DMARC1; p=none; rua=mailto:dmarc-rua@dest.test"}}],"deciding":0}\n' \
		"$((NOW - $1))" "$1" "$2"
}
{ rec 1 192.0.2.1; rec 2 192.0.2.1; rec 3 198.51.100.7; } > "$T_DIR/history.jsonl"

# rconf NAME DB [LINES...]: a dmarc-reports configuration for this Postfix
# (SMTPRelay 127.0.0.1:$SMTP_PORT and SMTPStartTLS yes unless LINES say
# otherwise) as $T_DIR/NAME.conf; DB.sqlite gets the history (idempotent)
rconf() {
	f="$T_DIR/$1.conf" db=$2; shift 2
	{
		printf 'Database\t%s\n' "$T_DIR/$db.sqlite"
		printf 'OrgName\tTest Receiver\nReportEmail\tdmarc-noreply@mx.test.example\n'
		printf 'Nameservers\t%s\n' "$NAMESERVER"
		printf '%s\n' "$@" | grep -q '^SMTPRelay' || printf 'SMTPRelay\t127.0.0.1:%s\n' "$SMTP_PORT"
		printf '%s\n' "$@" | grep -q '^SMTPStartTLS' || printf 'SMTPStartTLS\tyes\n'
		for l in "$@"; do printf '%s\n' "$l"; done
	} > "$f"
	"$R" -c "$f" import "$T_DIR/history.jsonl" > "$T_DIR/$db.import" 2>&1
}
# rsend NAME: send --until UNTIL; the output in $out, the exit status in $st
rsend() {
	out=$("$R" -c "$T_DIR/$1.conf" send --until "$UNTIL" 2>&1)
	st=$?
}
n_mail() { ls "$MAILDIR/new" 2>/dev/null | wc -l | tr -d ' '; }
# snap, then fresh: the path of the one message that arrived in between
snap() { ls "$MAILDIR/new" > "$T_DIR/seen" 2>/dev/null; }
fresh() { ls "$MAILDIR/new" | grep -vxF -f "$T_DIR/seen" | sed "s|^|$MAILDIR/new/|"; }
# maillog_since LINE: the Postfix log after its first LINE lines
maillog_since() { tail -n "+$(( $1 + 1 ))" "$MAILLOG"; }
loglines() { wc -l < "$MAILLOG" | tr -d ' '; }

## the Postfix's certificate is not in the system store: refused, nothing sent
L0=$(loglines)
rconf a a "SMTPVerifyCertificate yes"
like "$(cat "$T_DIR/a.import")" ': 3 lines, 3 imported' "import: 3 records"
rsend a
is "$st" 1 "no CA configured: send exits 1"
like "$out" 'for dest\.test to dmarc-rua@dest\.test: deferred - .*certificate not trusted for 127\.0\.0\.1' \
	"no CA configured: the self-signed chain is refused and the report deferred"
rid=$(printf '%s\n' "$out" | sed -n 's/^report \([^ ]*\) for dest\.test .*/\1/p' | head -n 1)
like "$rid" '^[0-9A-Za-z-]+$' "the report has an id ($rid)"
sleep 1
is "$(n_mail)" 0 "no CA configured: nothing was delivered"
like "$(maillog_since "$L0")" 'alert unknown ca' "the Postfix log: the client ended the handshake (unknown CA)"

## SMTPCAFile that cannot be used: a configuration error, nothing sent
rconf a a "SMTPVerifyCertificate yes" "SMTPCAFile $P/missing.pem"
rsend a
is "$st" 78 "SMTPCAFile that does not exist: exit 78 (EX_CONFIG)"
like "$out" "SMTPCAFile $P/missing\.pem: cannot open: No such file" "and the error names the file and why"
rconf a a "SMTPVerifyCertificate yes" "SMTPCAFile $P/garbage.pem"
rsend a
is "$st" 78 "SMTPCAFile without a certificate: exit 78"
like "$out" 'SMTPCAFile .*/garbage\.pem: no PEM certificate' "and the error says so"
"$R" -n -c "$T_DIR/a.conf" > "$T_DIR/a.check" 2>&1
like "$(cat "$T_DIR/a.check")" "SMTPCAFile $P/garbage\.pem" "dmarc-reports -n shows SMTPCAFile"

## a CA that did not sign it, or a name it does not show: refused
rconf a a "SMTPVerifyCertificate yes" "SMTPCAFile $P/otherca.pem"
rsend a
like "$out" "for dest\.test to dmarc-rua@dest\.test: deferred - .*certificate not trusted" \
	"an unrelated CA: the certificate is refused"
rconf aname a "SMTPVerifyCertificate yes" "SMTPCAFile $P/ca.pem" "SMTPRelay localhost:$SMTP_PORT"
rsend aname
like "$out" "for dest\.test to dmarc-rua@dest\.test: deferred - .*not trusted for localhost" \
	"the right CA but a relay name (localhost) the certificate does not show: refused"
sleep 1
is "$(n_mail)" 0 "still nothing delivered"

## the right CA: the same report is retried and delivered over TLS
L0=$(loglines)
snap
rconf a a "SMTPVerifyCertificate yes" "SMTPCAFile $P/ca.pem"
rsend a
is "$st" 0 "SMTPCAFile with the test CA: send exits 0"
like "$out" "report $rid for dest\.test to dmarc-rua@dest\.test: sent" "the deferred report $rid is retried and sent"
like "$out" '1 reports built, 1 deliveries accepted, 0 problems' "one report, one delivery"
wait_delivered 1
ok $? "the report is in the Postfix's maildir"
is "$(n_mail)" 1 "exactly one message"
m=$(fresh)
hdr=$(sed '/^$/q' "$m" | tr -d '\r')
like "$(printf '%s' "$hdr" | tr -s '\n\t ' ' ')" 'Received: from [^;]*\(using TLSv1\.[23] with cipher' \
	"the Received header says it came over TLS"
like "$hdr" "Subject: Report Domain: dest\.test Submitter: mx\.test\.example" "the subject names domain and submitter"
like "$(maillog_since "$L0")" 'smtpd\[[0-9]+\]: (Trusted|Untrusted|Anonymous) TLS connection established from localhost\[127\.0\.0\.1\]' \
	"the Postfix log: TLS connection established"
awk '/^Content-Transfer-Encoding: base64/{b=1; next} b&&/^\r?$/&&!s{s=1; next} b&&s&&/^--/{exit} b&&s{print}' "$m" |
	tr -d '\r' | base64 -d 2>/dev/null | gunzip -c > "$T_DIR/a.xml" 2>/dev/null
xmllint --noout --schema "$XSD9990" "$T_DIR/a.xml" > "$T_DIR/a.xmllint" 2>&1
ok $? "the attachment gunzips to a report valid against the RFC 9990 schema"
x=$(tr -d '\n\t ' < "$T_DIR/a.xml")
like "$x" "<report_id>$rid</report_id>" "its report id is the one deferred before"
like "$x" '<source_ip>192\.0\.2\.1</source_ip><count>2</count>' "its rows count the history (2 from 192.0.2.1)"
like "$x" '<source_ip>198\.51\.100\.7</source_ip><count>1</count>' "and 1 from 198.51.100.7"
rsend a
like "$out" '^0 reports built, 0 deliveries accepted' "a second send sends nothing"
sleep 1
is "$(n_mail)" 1 "and nothing more arrived"

## SMTPVerifyCertificate no: encrypted, unchecked, delivered
L0=$(loglines)
snap
rconf b b "SMTPVerifyCertificate no"
rsend b
is "$st" 0 "verification off: send exits 0"
like "$out" "report $rid for dest\.test to dmarc-rua@dest\.test: sent" "verification off: the report is sent"
wait_delivered 2
ok $? "verification off: delivered"
m=$(fresh)
like "$(sed '/^$/q' "$m" | tr -d '\r' | tr -s '\n\t ' ' ')" 'Received: from [^;]*\(using TLSv1\.[23] with cipher' \
	"verification off: still over TLS"
like "$(maillog_since "$L0")" 'TLS connection established from localhost\[127\.0\.0\.1\]' \
	"verification off: the Postfix log shows the TLS session"

## AUTH: the relay now takes mail from authenticated clients only
postfix_set "smtpd_relay_restrictions = permit_sasl_authenticated, reject"
tls_ehlo=$(swaks --server "127.0.0.1:$SMTP_PORT" --tls --quit-after HELO --helo client.example.net 2>&1)
like "$tls_ehlo" '250-AUTH PLAIN LOGIN' "after STARTTLS the Postfix offers AUTH PLAIN LOGIN (our smtpd.conf is read)"
N=$(n_mail)
rconf c0 c0 "SMTPCAFile $P/ca.pem"
rsend c0
like "$out" 'for dest\.test to dmarc-rua@dest\.test: failed - .*554 5\.7\.1 .*Access denied' \
	"without AUTH the relay refuses the report (the restriction is in force)"
L0=$(loglines)
rconf c c "SMTPCAFile $P/ca.pem" "SMTPUser reports" "SMTPPasswordFile $T_DIR/badpassword"
rsend c
is "$st" 1 "a wrong password: send exits 1"
like "$out" 'for dest\.test to dmarc-rua@dest\.test: deferred - .*refused our AUTH as reports: 535' \
	"a wrong password is refused (535) and the report deferred"
like "$(maillog_since "$L0")" 'SASL (PLAIN|LOGIN) authentication failed' "the Postfix log shows the failed AUTH"
rconf cclear c "SMTPStartTLS no" "SMTPUser reports" "SMTPPasswordFile $T_DIR/password"
rsend cclear
like "$out" 'deferred - AUTH is configured but TLS is off' "AUTH without TLS: no password is sent in clear text"
sleep 1
is "$(n_mail)" "$N" "nothing delivered without a good AUTH"
L0=$(loglines)
snap
rconf c c "SMTPCAFile $P/ca.pem" "SMTPUser reports" "SMTPPasswordFile $T_DIR/password"
rsend c
is "$st" 0 "the right password: send exits 0"
like "$out" "report $rid for dest\.test to dmarc-rua@dest\.test: sent" "the deferred report is retried and sent after AUTH"
wait_delivered $((N + 1))
ok $? "it is delivered"
like "$(maillog_since "$L0")" 'sasl_method=PLAIN, sasl_username=reports@mx\.test\.example' \
	"the Postfix log: authenticated as reports (PLAIN)"
m=$(fresh)
hdr=$(sed '/^$/q' "$m" | tr -d '\r' | tr -s '\n\t ' ' ')
like "$hdr" '\(Authenticated sender: reports@mx\.test\.example\)' "the Received header names the authenticated sender"
like "$hdr" 'using TLSv1\.[23] with cipher' "and TLS"
rsend c
like "$out" '^0 reports built, 0 deliveries accepted' "a second send sends nothing"
sleep 1
is "$(n_mail)" $((N + 1)) "and nothing more arrived"

done_testing
