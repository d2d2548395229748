#!/bin/bash
# reports_receive.sh - "dmarc-reports receive" as a domain owner runs it:
# the real aggregate reports of t/data/reports/samples as files, as one
# mailbox (mbox), as a Maildir, on standard input, and delivered by a real
# Postfix through a pipe(8) transport into the store; idempotent per
# (reporting organisation, report id); a store that cannot be written makes
# Postfix defer the report mail, and it arrives once the store is back.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

S="$top_srcdir/t/data/reports/samples"
R="$top_builddir/reports/dmarc-reports"
RC="$T_DIR/r.conf"
printf 'Database %s/rua.sqlite\n' "$T_DIR" > "$RC"

# The report files and mails among the samples (not the .json companions).
FILES=$(cd "$S" && find . -type f ! -name '*.json' ! -name '*.jsonl' | sed 's|^\./||' | LC_ALL=C sort)
nfiles=$(printf '%s\n' "$FILES" | wc -l | tr -d ' ')
is "$nfiles" 40 "40 real report files and mails in the samples"

## Every sample, one receive each: a defined outcome for every one.
# 30 distinct reports; 6 files repeat one of them (the same sample report
# in several collections, a .xml and its .gz/.zip); 3 are not well-formed
# or not UTF-8 and are refused with the line; empty.xml holds nothing.
st=0 al=0 rf=0 pb=0 bad=""
while IFS= read -r f; do
	out=$("$R" -c "$RC" receive "$S/$f" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] || bad="$bad $f:exit=$rc"
	last=$(printf '%s\n' "$out" | tail -n 1)
	set -- $last
	st=$((st + $1)) al=$((al + $4)) rf=$((rf + $7)) pb=$((pb + $9))
	case "$out" in
	*"report refused: "*) printf '%s\n' "$out" | head -n 1 >> "$T_DIR/refused" ;;
	esac
done <<EOF
$FILES
EOF
is "$bad" "" "receive exits 0 for every sample"
is "$st/$al/$rf/$pb" "30/6/3/1" "30 reports stored, 6 repeats already received, 3 refused, 1 empty file"
like "$(cat "$T_DIR/refused")" 'bad\.com.*report refused: not well-formed XML, line 6' "opendmarc's bad.com: refused, with the line"
like "$(cat "$T_DIR/refused")" 'invalid_utf_8\.xml: report refused: .*line 31.*UTF-8' "invalid UTF-8: refused, with the line"
like "$(cat "$T_DIR/refused")" 'invalid_xml\.xml: report refused: not well-formed XML, line 5' "invalid XML: refused, with the line"
out=$("$R" -c "$RC" receive "$S/parsedmarc/!large-example.com!1711897200!1711983600.xml" 2>&1)
like "$out" "2286 records, 2286 messages: already received" "the large report: every one of its 2286 records"
out=$("$R" -c "$RC" receive "$S/opendmarc/good.com!example.com!1337270400!1337356799.xml" 2>&1)
like "$out" "from 126.com for example.com, 754 records, 183934 messages" "opendmarc's 754-record report, exact message count"

## expire: received reports of old days go, and stay out when received again
# --received-days from the clock so that the cut falls on 2024-03-01, between
# the report of 25 January 2024 and the two of late March among the samples.
rdays=$(( ($(date +%s) - 1709251200) / 86400 ))
out=$("$R" -c "$RC" expire --days 3650 --received-days "$rdays" 2>&1)
like "$out" ", 28 received reports older than $rdays days" "expire: the 28 received reports that ended before 2024-03-01"
out=$("$R" -c "$RC" receive "$S/parsedmarc/veeam.com!example.com!1530133200!1530219600.xml" \
	"$S/parsedmarc/protection.outlook.com!example.com!1711756800!1711843200.xml" 2>&1)
like "$out" "veeam.com.*older than the store keeps \(expire\), not stored" "an expired report received again stays out"
like "$out" "0 reports stored, 1 already received, 0 refused, 0 other problems, 1 older than the store keeps" \
	"a report of March 2024 is still there"

## The same reports as one mbox and as a Maildir, into fresh stores
MB="$T_DIR/rua.mbox"
: > "$MB"
n=0
for f in "$S"/parsedmarc/*.eml "$S"/stalwart-mail-auth/*.eml; do
	printf 'From reporter@example.net Mon Nov 23 00:00:00 2026\n' >> "$MB"
	# mboxrd: a body line starting with "From " is quoted
	tr -d '\r' < "$f" | sed 's/^\(>*From \)/>\1/' >> "$MB"
	printf '\n' >> "$MB"
	n=$((n + 1))
done
out=$("$R" --db "$T_DIR/mbox.sqlite" receive "$MB" 2>&1)
ok $? "receive an mbox of $n report mails"
like "$out" "$n reports stored, 0 already received, 0 refused, 0 other problems" "every report in the mbox is stored"
like "$out" "$(basename "$MB")#[0-9]" "each report is named by its message in the mbox"

MD="$T_DIR/Maildir"
mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
i=0
for f in "$S"/parsedmarc/*.eml "$S"/stalwart-mail-auth/*.eml; do
	i=$((i + 1))
	if [ $((i % 2)) -eq 0 ]; then cp "$f" "$MD/new/1700000000.$i.host"; else cp "$f" "$MD/cur/1700000000.$i.host:2,S"; fi
done
before=$(cd "$MD" && find . -type f -exec md5sum {} + | LC_ALL=C sort)
out=$("$R" --db "$T_DIR/maildir.sqlite" receive "$MD" 2>&1)
ok $? "receive a Maildir"
like "$out" "$n reports stored, 0 already received, 0 refused, 0 other problems" \
	"every report in the Maildir (cur/ and new/) is stored"
after=$(cd "$MD" && find . -type f -exec md5sum {} + | LC_ALL=C sort)
is "$after" "$before" "the Maildir is read only: nothing moved or changed"

## Standard input: a mail, and a gzip file
f="$S/stalwart-mail-auth/101.eml"
out=$("$R" --db "$T_DIR/stdin.sqlite" receive - < "$f" 2>&1)
like "$out" "report .* from .* for stalw.art, .*: stored" "a report mail on standard input"
out=$("$R" --db "$T_DIR/stdin.sqlite" receive - < "$S/mail-dmarc/test_dmarc.xml.gz" 2>&1)
like "$out" ": stored" "a gzip report on standard input"
out=$("$R" --db "$T_DIR/stdin.sqlite" receive - < "$f" 2>&1)
like "$out" "already received" "the same mail again: already received"
out=$("$R" --db "$T_DIR/stdin.sqlite" receive "$f" --quiet 2>&1)
is "$out" "" "an option after the path is an option (--quiet: nothing to say)"

## Junk is not an error for a mailbox: said, exit 0
printf 'From: someone@example.net\nSubject: hello\n\nnot a report\n' > "$T_DIR/junk.eml"
out=$("$R" --db "$T_DIR/stdin.sqlite" receive "$T_DIR/junk.eml" 2>&1)
rc=$?
is "$rc" 0 "a mail without a report: exit 0 (a pipe transport must not bounce it)"
like "$out" "no aggregate report" "and it is said"
out=$("$R" --db "$T_DIR/stdin.sqlite" receive "$T_DIR/does-not-exist" 2>&1)
is "$?" 66 "a path that cannot be read: EX_NOINPUT"

## Hostile report files among good ones: each refused with a reason, nothing else lost
H="$T_DIR/hostile"
mkdir -p "$H"
cat > "$H/1-laughs.xml" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<feedback><report_metadata><org_name>&lol3;</org_name></report_metadata></feedback>
XML
cat > "$H/2-xxe.xml" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<feedback><report_metadata><org_name>&x;</org_name><email>a@example.net</email>
<report_id>xxe</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range>
</report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published></feedback>
XML
head -c 700 "$S/parsedmarc/veeam.com!example.com!1530133200!1530219600.xml" > "$H/3-truncated.xml"
printf '<?xml version="1.0"?>\n<feedback>\000<report_metadata/></feedback>\n' > "$H/4-nul.xml"
head -c 200 "$S/mail-dmarc/test_dmarc.xml.gz" > "$H/5-truncated.xml.gz"
{ printf '<?xml version="1.0"?><feedback><report_metadata><org_name a="'; head -c 2000000 /dev/zero | tr '\0' 'A'; printf '"/></report_metadata></feedback>'; } > "$H/6-attribute.xml"
cp "$S/stalwart-mail-auth/003.xml" "$H/7-good.xml"
out=$("$R" --db "$T_DIR/hostile.sqlite" receive "$H" 2>&1)
is "$?" 0 "a directory of hostile files and one good report: exit 0"
like "$out" "1 reports stored, 0 already received, 5 refused, 1 other problems" \
	"the good report is stored, the five hostile XML files refused, the broken gzip said"
like "$out" "1-laughs.xml: report refused: .*DOCTYPE" "entity bomb: refused (DOCTYPE)"
like "$out" "2-xxe.xml: report refused: .*DOCTYPE" "external entity: refused (DOCTYPE)"
unlike "$out" "root:" "nothing of /etc/passwd anywhere"
like "$out" "3-truncated.xml: report refused: " "truncated XML: refused"
like "$out" "4-nul.xml: report refused: " "a NUL byte: refused"
like "$out" "5-truncated.xml.gz: .*gzip" "truncated gzip: said"
like "$out" "6-attribute.xml: report refused: " "a 2 MB attribute: refused"

## Delivered by Postfix through a pipe(8) transport
# pipe(8) runs the command as an unprivileged user: give it its own copy of
# the tool, configuration and store directory.
B="$T_DIR/pipe"
mkdir -p "$B/db"
chmod 755 "$T_DIR"
cp "$R" "$B/dmarc-reports"
chmod 755 "$B" "$B/dmarc-reports"
printf 'Database %s/db/rua.sqlite\n' "$B" > "$B/r.conf"
chmod 644 "$B/r.conf"
chown nobody "$B/db"
start_postfix
cat >> "$T_POSTFIX/master.cf" <<MASTERCF
dmarcrua  unix  - n n - - pipe
  flags=q user=nobody argv=$B/dmarc-reports -c $B/r.conf receive --syslog -
MASTERCF
postfix_set "relay_domains = rua.test" "transport_maps = inline:{ rua.test=dmarcrua: }" \
	"dmarcrua_destination_recipient_limit = 1"
for f in "$S"/stalwart-mail-auth/10[0-2].eml; do
	out=$(send_mail "$f" reporter@example.net dmarc@rua.test)
	like "$out" "250 2.0.0 Ok: queued" "Postfix accepts $(basename "$f") for the rua address"
done
n=0
for i in $(seq 1 30); do
	n=$(grep -c 'status=sent (delivered via dmarcrua service' "$T_DIR/postfix/maillog")
	[ "$n" -ge 3 ] && break
	sleep 1
done
is "$n" 3 "the pipe transport delivered the three report mails"
out=$("$R" --db "$B/db/rua.sqlite" receive "$S"/stalwart-mail-auth/10[0-2].eml 2>&1)
like "$out" "0 reports stored, 3 already received" "all three are in the store, once"

# The store cannot be written: Postfix keeps the mail and tries again.
chmod 000 "$B/db"
out=$(send_mail "$S/stalwart-mail-auth/103.eml" reporter@example.net dmarc@rua.test)
like "$out" "250 2.0.0 Ok: queued" "Postfix accepts a fourth report mail"
for i in $(seq 1 30); do
	grep -q 'status=deferred.*dmarcrua' "$T_DIR/postfix/maillog" && break
	sleep 1
done
like "$(grep 'dmarcrua' "$T_DIR/postfix/maillog" | tail -n 1)" 'status=deferred' \
	"a store that cannot be written: EX_TEMPFAIL, Postfix defers the mail"
chmod 755 "$B/db"
postqueue -c "$T_POSTFIX" -f
for i in $(seq 1 30); do
	n=$(grep -c 'status=sent (delivered via dmarcrua service' "$T_DIR/postfix/maillog")
	[ "$n" -ge 4 ] && break
	sleep 1
done
is "$n" 4 "once the store is back the deferred mail is delivered"
out=$("$R" --db "$B/db/rua.sqlite" receive "$S/stalwart-mail-auth/103.eml" 2>&1)
like "$out" "0 reports stored, 1 already received" "and its report is in the store"
done_testing
