#!/bin/bash
# reports_owner.sh - the domain owner's side of dmarc-reports, end to end:
# 50 days of aggregate reports for owner.test from three reporters
# (t/mkaggr.sh: own MTAs, a marketing platform, an HR tool that fails until
# it is fixed on day 20, a mailing list, spoofers; p=none, then quarantine
# pct=5 t=y from day 35) are received into SQLite, then sources, kpis,
# readiness and html are asked about them, reverse DNS from the test nsd
# (t/zones/*.in-addr.arpa.zone, forward-confirmed).
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

R="$top_builddir/reports/dmarc-reports"
J="$top_builddir/t/jsoncheck"
[ -x "$R" ] || bail "$R is not built"
[ -x "$J" ] || bail "$J is not built"
start_nsd
ptr=$(drill -p "$NSD_PORT" "@$NSD_ADDR" PTR 40.100.51.198.in-addr.arpa 2>/dev/null | grep -c 'smtp.hrcloud.test')
[ "$ptr" -ge 1 ] || bail "the test nsd does not serve 100.51.198.in-addr.arpa"

XML="$T_DIR/xml"
sh "$top_srcdir/t/mkaggr.sh" "$XML" 50 20 35 || bail "mkaggr.sh failed"
n=$(ls "$XML" | wc -l | tr -d ' ')
is "$n" 143 "the story: 50 days of reports from three reporters (one skips every 7th day)"

cat > "$T_DIR/r.conf" <<CONF
Database		$T_DIR/owner.sqlite
Nameservers		$NAMESERVER
DNSTimeout		2
KnownSource		owner.test rdns:owner.test Own MTAs
KnownSource		owner.test rdns:marketing-platform.test Newsletters (marketing platform)
UnauthorizedSource	owner.test ip:203.0.113.128/25 Botnet
CONF
RC="$T_DIR/r.conf"

## receive, idempotently
out=$("$R" -c "$RC" receive "$XML"/*.xml 2>&1)
ok $? "receive the report directory"
like "$out" '143 reports stored, 0 already received, 0 refused, 0 other problems' "143 reports stored"
out=$("$R" -c "$RC" receive "$XML"/*.xml 2>&1)
like "$out" '0 reports stored, 143 already received' "receiving them again stores nothing"

# days: 0 = 2026-09-01, fix day 20 = 2026-09-21, quarantine from day 35 = 2026-10-06
## sources while the HR tool fails (the first two weeks)
"$R" -c "$RC" sources --domain owner.test --since 2026-09-01 --until 2026-09-15 --format json > "$T_DIR/s0.json"
ok $? "sources --format json, first run"
is "$("$J" "$T_DIR/s0.json" rdns/asked rdns/cached rdns/unconfirmed rdns/tempfail | tr '\n' ' ')" "9 0 1 0 " \
    "first run: 9 IPs looked up, one PTR not confirmed (mta9.owner.test has no A record)"
out=$("$R" -c "$RC" sources --domain owner.test --since 2026-09-01 --until 2026-09-15 2>&1)
ok $? "sources (table) exits 0"
like "$out" 'owner.test: 7 sending systems' "seven sending systems"
hr=$(printf '%s\n' "$out" | grep '^hrcloud.test ')
like "$hr" 'hrcloud\.test +UNKNOWN +816 +0 +0 +0 +816 +0\.0 +1 +hrcloud\.test' \
    "the forgotten HR tool: unknown, 816 messages, all failing, signing as hrcloud.test"
like "$out" 'owner\.test +Own MTAs +13,600 +13,600 ' "our MTAs: known, 13,600 messages, SPF and DKIM aligned"
like "$out" 'marketing-platform\.test +Newsletters \(marketing platform\) +4,080 +0 +0 +4,080 ' \
    "the marketing platform: known, DKIM only"
like "$out" 'listhost\.test \(forwarding\) +UNKNOWN' "the mailing list is recognised as forwarding"
like "$out" '203\.0\.113\.200 +unauthorized: Botnet' "the botnet is the UnauthorizedSource"
like "$out" '203\.0\.113\.66 +UNKNOWN' "a spoofer whose PTR claims mta9.owner.test stands alone (not confirmed)"

"$R" -c "$RC" sources --domain owner.test --since 2026-09-01 --until 2026-10-21 --format json > "$T_DIR/s.json"
ok $? "sources --format json exits 0"
out=$("$J" "$T_DIR/s.json" domain total/messages 'sources/[key=rdns:hrcloud.test]/classification' \
    'sources/[key=rdns:hrcloud.test]/ips/0/ptr' 'sources/[key=rdns:owner.test]/label' \
    'sources/[key=rdns:owner.test]/ips' 'fixes/[key=rdns:hrcloud.test]/changed' \
    'fixes/[key=rdns:hrcloud.test]/before/neither' 'fixes/[key=rdns:hrcloud.test]/after/dkim_only' \
    'sources/[key=rdns:listhost.test]/forwarder' 'sources/[key=ip:203.0.113.66]/ips/0/ptr' rdns/cached 2>&1)
ok $? "the sources JSON parses and has every value asked"
is "$(printf '%s' "$out" | tr '\n' ' ')" \
    "owner.test 78010 unknown smtp.hrcloud.test Own MTAs 2 2026-09-21 1176 1740 true null 9" \
    "JSON: domain, total, the HR tool, our MTAs, the remediation on 2026-09-21, the list, the unconfirmed PTR"
out=$("$R" -c "$RC" sources --domain owner.test --since 2026-09-01 --until 2026-10-21 2>&1)
like "$out" 'remediations \(failed, then passed\):' "the table lists remediations"
like "$out" 'hrcloud\.test: direct pass 0\.0% before 2026-09-21, 100\.0% from then on' "the HR tool's fix, before and after"

## the reverse DNS is cached in the store
nsd_pause
"$R" -c "$RC" sources --domain owner.test --since 2026-09-01 --until 2026-10-21 --format json > "$T_DIR/s2.json"
rc=$?
nsd_resume
ok $rc "sources with the DNS unreachable, from the cache"
is "$("$J" "$T_DIR/s2.json" rdns/asked 'sources/[key=rdns:hrcloud.test]/name' | tr '\n' ' ')" "0 hrcloud.test " \
    "every name from the store's cache, nothing asked"

## --no-rdns groups by DKIM, SPF, IP
"$R" -c "$RC" sources --domain owner.test --since 2026-09-01 --until 2026-09-15 --no-rdns --format json > "$T_DIR/s3.json"
is "$("$J" "$T_DIR/s3.json" 'sources/[key=dkim:hrcloud.test]/counts/neither' \
    'sources/[key=spf:marketing-platform.test]/counts/messages' | tr '\n' ' ')" "816 4080 " \
    "--no-rdns: the HR tool by its d=, the platform by its SPF domain"

## CSV
out=$("$R" -c "$RC" sources --domain owner.test --since 2026-09-01 --until 2026-09-15 --format csv 2>&1)
is "$(printf '%s\n' "$out" | head -1 | tr -d '\r')" \
    "domain,system,key,known,classification,messages,spf_dkim,spf_only,dkim_only,neither,forwarded,pass_rate,ips,dkim_domains,spf_domains,reporters,first_seen,last_seen" \
    "CSV header"
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 8 "CSV: a line per system"
like "$out" 'owner\.test,hrcloud\.test,rdns:hrcloud\.test,UNKNOWN,unknown,816,0,0,0,816,0,0\.00,198\.51\.100\.40,hrcloud\.test,hrcloud\.test,Outlook\.com Yahoo google\.com,2026-09-01,2026-09-14' \
    "CSV: the HR tool's line"

## kpis
out=$("$R" -c "$RC" kpis --domain owner.test --since 2026-09-01 --until 2026-10-21 2>&1)
ok $? "kpis exits 0"
like "$out" '2026-09-01 +3 +1,605 +81\.0 +62\.3 +81\.0 +6\.5 +2\.5 +95\.2 +p=none; pct=100' \
    "day 1: 3 reports, 1,605 messages; pass, SPF, DKIM, unknown, forwarded, direct pass rates; the policy"
like "$out" '2026-09-07 +2 +1,285 ' "a day one reporter skipped: 2 reports"
like "$out" '2026-10-06 .*p=quarantine; pct=5; t=y' "the day quarantine was published"
"$R" -c "$RC" kpis --since 2026-09-01 --until 2026-10-21 --format json > "$T_DIR/k.json"
is "$("$J" "$T_DIR/k.json" days 'days/[day=2026-09-22]/counts/direct_pass_rate' 'days/[day=2026-09-22]/policy/p' | tr '\n' ' ')" \
    "50 99.6337 none " "kpis without --domain: the one domain; JSON per day"
out=$("$R" -c "$RC" kpis --domain owner.test --since 2026-09-01 --until 2026-10-21 --format csv | wc -l | tr -d ' ')
is "$out" 51 "kpis CSV: a header and 50 days"

## readiness along the story
out=$("$R" -c "$RC" readiness --domain owner.test --until 2026-09-15 2>&1)
is $? 1 "readiness while the HR tool fails: exit 1"
like "$out" 'owner\.test: FIX' "FIX"
like "$out" 'hrcloud\.test' "it names the HR tool"
like "$out" 'hrcloud\.test \(UNKNOWN\) +unknown +816 ' "the HR tool is what quarantine would hit"
out=$("$R" -c "$RC" readiness --domain owner.test --until 2026-09-28 2>&1)
is $? 1 "a week after the fix: still FIX (half the window fails)"
like "$out" 'Direct mail passed DMARC at 97\.[0-9]% over the last 14 days' "the direct pass rate is still below 98%"
out=$("$R" -c "$RC" readiness --domain owner.test --until 2026-10-05 2>&1)
is $? 0 "14 clean days after the fix: exit 0"
like "$out" 'owner\.test: GO' "GO"
like "$out" '_dmarc\.owner\.test\. TXT "v=DMARC1; p=quarantine; pct=5; t=y; \.\.\."' "the record to publish"
like "$out" 'keep your rua=' "keep the other tags"
like "$out" 'RFC 9989' "what t=y means to RFC 9989 receivers"
like "$out" '203\.0\.113\.200 \(unauthorized: Botnet\) +unauthorized' "the botnet will be quarantined, as meant"
like "$out" 'listhost\.test \(UNKNOWN\) +forwarded' "the list's failures are noted as forwarding"
"$R" -c "$RC" readiness --domain owner.test --until 2026-10-05 --format json > "$T_DIR/r.json"
is "$("$J" "$T_DIR/r.json" verdict publish current/step next/step days_with_data | tr '\n' ' ')" \
    "GO v=DMARC1; p=quarantine; pct=5; t=y none quarantine-5 14 " "readiness JSON"
out=$("$R" -c "$RC" readiness --domain owner.test --until 2026-10-13 2>&1)
is $? 1 "a week after quarantine 5%: exit 1"
like "$out" 'owner\.test: WAIT' "WAIT"
like "$out" 'published for 7 days' "because it has been published for 7 days"
out=$("$R" -c "$RC" readiness --domain owner.test --until 2026-10-21 2>&1)
is $? 0 "15 days at quarantine 5%: exit 0"
like "$out" 'v=DMARC1; p=quarantine; pct=25; t=y' "GO to quarantine 25%"
out=$("$R" -c "$RC" readiness --domain owner.test --until 2026-10-21 --format csv 2>&1)
like "$out" 'owner\.test,GO,quarantine-5,quarantine-25,' "readiness CSV"

## a KnownSource that fails is never stepped over
sed 's/^UnauthorizedSource.*/&\nKnownSource owner.test ip:198.51.100.40 HR portal/' "$RC" > "$T_DIR/r2.conf"
out=$("$R" -c "$T_DIR/r2.conf" readiness --domain owner.test --until 2026-09-15 2>&1)
is $? 1 "the HR tool declared known while it fails: exit 1"
like "$out" 'owner\.test: FIX' "FIX"
like "$out" '1 known source fails DMARC \(HR portal: 816 messages\)' "it names the known source first"

## html
"$R" -c "$RC" html --domain owner.test --until 2026-10-21 --output "$T_DIR/owner.html"
ok $? "html exits 0"
like "$(head -c 200 "$T_DIR/owner.html")" '<!DOCTYPE html>' "the page is HTML"
like "$(cat "$T_DIR/owner.html")" 'hrcloud\.test' "it shows the HR tool"

## options
"$R" -c "$RC" sources --domain owner.test --format xml > /dev/null 2>&1
is $? 64 "a bad --format: EX_USAGE"
"$R" -c "$RC" readiness > /dev/null 2>&1
is $? 64 "readiness without --domain: EX_USAGE"
"$R" -c "$RC" sources --domain owner.test --since yesterday > /dev/null 2>&1
is $? 64 "a bad --since: EX_USAGE"

done_testing
