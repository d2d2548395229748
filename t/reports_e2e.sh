#!/bin/bash
# reports_e2e.sh - dmarc-reports end to end: the milter writes history for
# real messages (nsd zones), the tool imports it (idempotently) into SQLite,
# builds RFC 9990 reports (schema-valid, grouped, exact counts) and mails
# them to a real SMTP sink (Postfix's smtp-sink), checking external rua
# destinations by DNS; a fleet of three "hosts" imports into one PostgreSQL.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

R="$top_builddir/reports/dmarc-reports"
XSD9990="$top_srcdir/reports/schema/rfc9990.xsd"
HISTORY="$T_DIR/history.jsonl"
start_nsd
milter_conf "$T_DIR/m.conf" "IgnoreHosts 192.0.2.254" "HistoryFile $HISTORY"
start_milter "$T_DIR/m.conf"
M="$T_DIR/msg"
mkdir -p "$M"
for d in example.com example.org extrua.test noauth.test quarantine.test; do
	mkmsg "$M/$d.eml" "user@$d"
done

## configuration: the sample is valid and, with the manual, lists every option
out=$("$R" -n -c "$top_srcdir/conf/dmarc-reports.conf" 2>&1)
ok $? "dmarc-reports -n accepts the sample configuration"
missing=""
for o in $(printf '%s\n' "$out" | sed 1d | awk '{print $1}'); do
	grep -q "^#\{0,1\}$o[[:space:]]" "$top_srcdir/conf/dmarc-reports.conf" || missing="$missing conf:$o"
	grep -q "^\.BR $o" "$top_srcdir/docs/dmarc-reports.8" || missing="$missing man:$o"
done
is "$missing" "" "every dmarc-reports option is in the sample and in dmarc-reports(8)"
printf 'Databse /tmp/x\n' > "$T_DIR/bad.conf"
out=$("$R" -n -c "$T_DIR/bad.conf" 2>&1)
like "$out" 'bad\.conf:1: unknown option "Databse"' "a bad option names file and line"

## history from the milter: 9 messages
for i in 1 2 3; do mt_send "$M/example.com.eml" 192.0.2.1 user@example.com > /dev/null; done
for i in 1 2; do mt_send "$M/example.com.eml" 203.0.113.5 user@example.com > /dev/null; done
mt_send "$M/example.org.eml" 203.0.113.5 user@example.org > /dev/null
mt_send "$M/extrua.test.eml" 192.0.2.1 user@extrua.test > /dev/null
mt_send "$M/noauth.test.eml" 192.0.2.1 user@noauth.test > /dev/null
mt_send "$M/quarantine.test.eml" 203.0.113.5 user@quarantine.test > /dev/null
is "$(wc -l < "$HISTORY" | tr -d ' ')" 9 "the milter wrote 9 history records"

SINK_PORT=$(free_port)
cat > "$T_DIR/r.conf" <<CONF
Database		$T_DIR/reports.sqlite
OrgName			Test Receiver
ReportEmail		dmarc-noreply@mx.test.example
Nameservers		$NAMESERVER
SMTPRelay		127.0.0.1:$SINK_PORT
CONF
RC="$T_DIR/r.conf"

## import: idempotent
out=$("$R" -c "$RC" import "$HISTORY" 2>&1)
like "$out" ': 9 lines, 9 imported, 0 already imported, 0 malformed' "import: 9 records"
out=$("$R" -c "$RC" import "$HISTORY" 2>&1)
like "$out" ': 9 lines, 0 imported, 9 already imported' "import again: nothing counted twice"
mt_send "$M/example.com.eml" 192.0.2.1 user@example.com > /dev/null
out=$("$R" -c "$RC" import "$HISTORY" 2>&1)
like "$out" ': 10 lines, 1 imported, 9 already imported' "the file grew: only the new record counts"
gzip -c "$HISTORY" > "$T_DIR/history.jsonl.1.gz"
out=$("$R" -c "$RC" import "$T_DIR/history.jsonl.1.gz" 2>&1)
like "$out" ': 10 lines, 0 imported, 10 already imported' "its gzip-rotated copy adds nothing"
{ cat "$HISTORY"; echo '{"v":1,"broken'; } > "$T_DIR/bad.jsonl"
out=$("$R" -c "$RC" import "$T_DIR/bad.jsonl" 2>&1)
like "$out" 'bad\.jsonl:11: .*\(skipped\)' "a malformed line is reported with file and line number"
like "$out" '0 imported, 10 already imported, 1 malformed' "and the rest is still read"

## dry run: one schema-valid report per domain and day, grouped
UNTIL=$(( $(date +%s) / 86400 * 86400 + 86400 ))	# end of today (UTC)
OUT="$T_DIR/out"
mkdir -p "$OUT"
out=$("$R" -c "$RC" send --dry-run --output "$OUT" --until "$UNTIL" 2>&1)
is "$?" 0 "dry run: exit status 0"
unlike "$out" 'dmarc-reports: ' "dry run: no error messages"
like "$out" '4 reports built' "dry run: reports for the 4 domains with rua, none for quarantine.test"
is "$(ls "$OUT" | wc -l | tr -d ' ')" 4 "dry run: 4 files"
f=$(ls "$OUT" | grep '!example\.com!')
like "$f" '^mx\.test\.example!example\.com![0-9]+![0-9]+![0-9A-Za-z-]+\.xml\.gz$' "file name receiver!domain!begin!end!id.xml.gz"
valid=0
for g in "$OUT"/*; do
	gunzip -c "$g" > "$g.xml" && xmllint --noout --schema "$XSD9990" "$g.xml" 2>/dev/null && valid=$((valid + 1))
done
is "$valid" 4 "every report validates against the RFC 9990 schema (xmllint)"
x=$(tr -d '\n\t ' < "$OUT/$f.xml")
like "$x" '<source_ip>192\.0\.2\.1</source_ip><count>4</count>' "example.com: 4 messages from 192.0.2.1 in one row"
like "$x" '<source_ip>203\.0\.113\.5</source_ip><count>2</count>' "example.com: 2 from 203.0.113.5 in another"
like "$x" '<policy_published><domain>example\.com</domain><p>reject</p>' "policy_published as the record said"
like "$x" '<org_name>TestReceiver</org_name>' "report_metadata names the reporter"
rid=$(sed -n 's:.*<report_id>\(.*\)</report_id>.*:\1:p' "$OUT/$f.xml")
rm -rf "$OUT"/*
"$R" -c "$RC" send --dry-run --output "$OUT" --until "$UNTIL" > /dev/null 2>&1
rid2=$(gunzip -c "$OUT/$f" | sed -n 's:.*<report_id>\(.*\)</report_id>.*:\1:p')
is "$rid2" "$rid" "the report id is deterministic: a rebuild gives the same id"

## real delivery to an SMTP sink, rua checked by DNS
SINK="$T_DIR/sink"
mkdir -p "$SINK"
chmod 777 "$SINK"
smtp-sink -d "$SINK/%M." -u nobody "127.0.0.1:$SINK_PORT" 10 > "$T_DIR/sink.log" 2>&1 &
T_PIDS="$T_PIDS $!"
wait_listen "$SINK_PORT" || bail "smtp-sink did not start"
out=$("$R" -c "$RC" send --until "$UNTIL" 2>&1)
like "$out" 'for example\.com to dmarc-reports@example\.com: sent' "example.com's report is sent to its rua"
like "$out" 'for extrua\.test to reports@example\.net: sent' "an external destination that authorised it gets the report (RFC 9990 §4)"
like "$out" 'for noauth\.test to [^:]*: refused' "an external destination without authorisation is refused"
sleep 1
is "$(ls "$SINK" | wc -l | tr -d ' ')" 3 "the sink received 3 report messages"
m=$(grep -l 'Report Domain: example.com' "$SINK"/* | head -n 1)
subj=$(awk '/^Subject:/{s=$0; getline; while (/^[ \t]/) {s=s $0; getline}; print s; exit}' "$m" | tr -s ' \t' ' ')
like "$subj" "^Subject: Report Domain: example\.com Submitter: mx\.test\.example Report-ID: <$rid>$" \
	"the subject names the domain, the submitter and the same Report-ID (RFC 7489 §7.2.1.1)"
awk '/^Content-Transfer-Encoding: base64/{b=1; next} b&&/^$/&&!s{s=1; next} b&&s&&/^--/{exit} b&&s{print}' "$m" |
	base64 -d 2>/dev/null | gunzip -c > "$T_DIR/mailed.xml" 2>/dev/null
xmllint --noout --schema "$XSD9990" "$T_DIR/mailed.xml" 2>/dev/null
ok $? "the mailed attachment gunzips to a schema-valid report"
like "$(tr -d '\n\t ' < "$T_DIR/mailed.xml")" "<report_id>$rid</report_id>" "the attachment's report id is the subject's"
out=$("$R" -c "$RC" send --until "$UNTIL" 2>&1)
like "$out" '^0 reports built' "a period already reported is never reported again"
is "$(ls "$SINK" | wc -l | tr -d ' ')" 3 "and nothing more was mailed"

## a crash between delivery and bookkeeping: the re-send keeps the report id
CRASH="$T_DIR/crash"
mkdir -p "$CRASH"
# A sendmail that takes the report, then kills dmarc-reports (kill -9)
# before it can note that the report was sent.
cat > "$T_DIR/sendmail-crash" <<SH
#!/bin/sh
cat > "$CRASH/\$\$.eml"
kill -9 \$PPID
exit 0
SH
cat > "$T_DIR/sendmail-ok" <<SH
#!/bin/sh
cat > "$CRASH/\$\$.eml"
exit 0
SH
chmod +x "$T_DIR/sendmail-crash" "$T_DIR/sendmail-ok"
grep -v -e '^Database' -e '^SMTPRelay' "$RC" > "$T_DIR/crash.conf"
printf 'Database %s\nSendmail %s\n' "$T_DIR/crash.sqlite" "$T_DIR/sendmail-crash" >> "$T_DIR/crash.conf"
"$R" -c "$T_DIR/crash.conf" import "$HISTORY" > /dev/null 2>&1
sh -c '"$1" -c "$2" send --until "$3" > "$4" 2>&1' sh "$R" "$T_DIR/crash.conf" "$UNTIL" "$T_DIR/crash1.out" 2>/dev/null
is "$?" 137 "the report tool was killed (-9) right after the first delivery"
sed -i "s|sendmail-crash|sendmail-ok|" "$T_DIR/crash.conf"
"$R" -c "$T_DIR/crash.conf" send --until "$UNTIL" > "$T_DIR/crash2.out" 2>&1
ids=$(grep -h -A1 '^Subject: Report Domain:' "$CRASH"/*.eml | tr -d '\n' | grep -o 'Report-ID: *<[^>]*>' | sort)
first=$(printf '%s\n' "$ids" | uniq -d)
[ -n "$first" ]
ok $? "after the crash the same report was sent again with the same Report-ID ($first)"
is "$(printf '%s\n' "$ids" | sort -u | wc -l | tr -d ' ')" 3 \
	"three reports mailed (noauth.test refused), none under a second id"
out=$("$R" -c "$T_DIR/crash.conf" send --until "$UNTIL" 2>&1)
like "$out" '^0 reports built' "once recorded, nothing is sent again"

## RFC 7489 format for receivers of the old schema
sed -e "s|reports.sqlite|reports7489.sqlite|" "$RC" > "$T_DIR/r7489.conf"
echo "ReportFormat rfc7489" >> "$T_DIR/r7489.conf"
"$R" -c "$T_DIR/r7489.conf" import "$HISTORY" > /dev/null 2>&1
mkdir -p "$T_DIR/out7489"
"$R" -c "$T_DIR/r7489.conf" send --dry-run --output "$T_DIR/out7489" --until "$UNTIL" > /dev/null 2>&1
g=$(ls "$T_DIR/out7489" | grep '!example\.com!')
x=$(gunzip -c "$T_DIR/out7489/$g")
like "$x" '<feedback>' "RFC 7489 format: <feedback> without a namespace"
like "$(printf '%s' "$x" | tr -d '\n\t ')" '<pct>100</pct>' "RFC 7489 format: pct is published"
printf '%s' "$x" | sed 's|<feedback>|<feedback xmlns="http://dmarc.org/dmarc-xml/0.1">|' |
	xmllint --noout - 2>/dev/null
ok $? "RFC 7489 format: well-formed XML"

## a fleet: three hosts import into one PostgreSQL, concurrently
start_postgres
head -n 4 "$HISTORY" > "$T_DIR/hostA.jsonl"
sed -n '5,7p' "$HISTORY" > "$T_DIR/hostB.jsonl"
sed -n '8,10p' "$HISTORY" > "$T_DIR/hostC.jsonl"
cat "$T_DIR/hostA.jsonl" "$T_DIR/hostB.jsonl" > "$T_DIR/hostAB.jsonl"	# overlaps A and B
pids=""
for h in A B C AB; do
	"$R" -c "$RC" --db "$PG_URI" import "$T_DIR/host$h.jsonl" > "$T_DIR/pg$h.out" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done	# only the importers: the servers run on
total=0
for h in A B C AB; do
	n=$(sed -n 's/.*, \([0-9]*\) imported,.*/\1/p' "$T_DIR/pg$h.out")
	total=$((total + ${n:-0}))
done
is "$total" 10 "fleet: concurrent imports of overlapping files count every record once"
mkdir -p "$T_DIR/outpg"
out=$("$R" -c "$RC" --db "$PG_URI" send --dry-run --output "$T_DIR/outpg" --until "$UNTIL" 2>&1)
like "$out" '4 reports built' "fleet: one report per domain for the whole organisation"
g=$(ls "$T_DIR/outpg" | grep '!example\.com!')
x=$(gunzip -c "$T_DIR/outpg/$g" | tr -d '\n\t ')
like "$x" '<source_ip>192\.0\.2\.1</source_ip><count>4</count>' "fleet: counts summed across hosts"

done_testing
