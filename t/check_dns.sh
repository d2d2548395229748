#!/bin/bash
# check_dns.sh - dmarc-reports check-dns against the real nsd: one zone per
# classic mistake (t/zones/*.lint.test.zone), each must give its finding
# code and the exit status (0: nothing worse than a notice, 1: warnings,
# 2: errors); the clean zone gives none.  signed.lint.test is signed with
# ldns-signzone (key made here) before nsd loads it: the DO bit brings
# RRSIGs back, and nsd, an authoritative server, never sets AD.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

R="$top_builddir/reports/dmarc-reports"
command -v ldns-keygen > /dev/null && command -v ldns-signzone > /dev/null ||
	bail "ldns-keygen and ldns-signzone (Debian: ldnsutils) are needed"

# nsd_prepare DIR: called by start_nsd before nsd loads the copies of the zones
nsd_prepare() {
	(
		cd "$1" || exit 1
		k=$(ldns-keygen -a ECDSAP256SHA256 -k signed.lint.test) || exit 1
		ldns-signzone signed.lint.test.zone "$k" || exit 1
		mv signed.lint.test.zone.signed signed.lint.test.zone
	) > "$T_DIR/sign.log" 2>&1 || { cat "$T_DIR/sign.log"; return 1; }
}

start_nsd
drill -D -p "$NSD_PORT" "@$NSD_ADDR" DNSKEY signed.lint.test 2>/dev/null | grep -q 'RRSIG' ||
	bail "signed.lint.test is not signed: t/lib.sh start_nsd needs the nsd_prepare hook"

CONF="$T_DIR/dmarc-reports.conf"
cat > "$CONF" <<EOF
Database		$T_DIR/no-such-store.sqlite
Nameservers		$NAMESERVER
DNSTimeout		2
EOF

# check DOMAIN SELECTOR(-: none) CODE(-: none worth fixing) EXIT
check() {
	dom=$1 sel=$2 code=$3 want=$4
	if [ "$sel" = - ]; then
		out=$("$R" -c "$CONF" check-dns "$dom" 2>"$T_DIR/stderr")
	else
		out=$("$R" -c "$CONF" check-dns --dkim-selector "$sel" "$dom" 2>"$T_DIR/stderr")
	fi
	rc=$?
	if [ "$code" = - ]; then
		unlike "$out" '^(error|warning|notice) ' "$dom: no finding worth fixing"
	else
		like "$out" "^[a-z]+ +$code " "$dom: finding $code"
		# one mistake per zone: every error/warning/notice is that one
		other=$(printf '%s\n' "$out" | grep -E '^(error|warning|notice) ' | grep -v " $code " || true)
		is "$other" "" "$dom: nothing but $code to fix"
	fi
	is "$rc" "$want" "$dom: exit status $want"
	[ -s "$T_DIR/stderr" ] && diag "stderr: $(cat "$T_DIR/stderr")"
}

## no mistake
check clean.lint.test sel - 0
check extok.lint.test - - 0
check dkimed25519.lint.test sel - 0
check inherit.lint.test - dmarc-inherited 0

## DMARC
check nodmarc-lint.test - dmarc-missing 2
check multi.lint.test - dmarc-multiple 2
check vnotfirst.lint.test - dmarc-version 2
check tagunknown.lint.test - dmarc-tag-unknown 1
check tagvalue.lint.test - dmarc-tag-value 1
check badp.lint.test - dmarc-tag-value 2
check nomailto.lint.test - dmarc-uri-scheme 2
check semisep.lint.test - dmarc-uri-separator 2
check quoted.lint.test - dmarc-quoted 2
check long.lint.test - dmarc-size 1
check extrua.lint.test - dmarc-rua-unauthorized 2
check none.lint.test - dmarc-none 0
check testing.lint.test - dmarc-testing 0
check norua.lint.test - dmarc-rua-missing 0

## SPF
check nospf.lint.test - spf-missing 2
check twospf.lint.test - spf-multiple 2
check spflookups.lint.test - spf-lookups 2
check spfvoid.lint.test - spf-void-lookups 2
check spfpass.lint.test - spf-all-pass 2
check spfneutral.lint.test - spf-all-neutral 1
check spfsoftfail.lint.test - spf-softfail 0
check spfnoall.lint.test - spf-no-all 1
check spfptr.lint.test - spf-ptr 1
check spfsyntax.lint.test - spf-syntax 2
check spfloop.lint.test - spf-loop 2
check spfinclude.lint.test - spf-target-missing 2
check spfmx.lint.test - spf-mx-limit 2

## DKIM (selector "sel")
check dkimmissing.lint.test sel dkim-missing 2
check dkimweak.lint.test sel dkim-key-weak 1
check dkimshort.lint.test sel dkim-key-short 2
check dkimrevoked.lint.test sel dkim-revoked 1
check dkimtesting.lint.test sel dkim-testing 0
check dkimbadb64.lint.test sel dkim-syntax 2
check dkimversion.lint.test sel dkim-syntax 2
check dkimpkcs1.lint.test sel dkim-syntax 2

## DNSSEC
check signed.lint.test - dnssec-unvalidated 0
out=$("$R" -c "$CONF" check-dns clean.lint.test)
like "$out" '^info +dnssec-absent .*neither clean\.lint\.test nor lint\.test is signed' \
	"an unsigned zone: dnssec-absent (info)"
like "$out" '^ok +spf-ok .*3 of 10 DNS lookups' "the clean zone's SPF: 3 lookups counted"
like "$out" '^info +history-none ' "no store: the history checks say they did not run"
[ -e "$T_DIR/no-such-store.sqlite" ]
is $? 1 "check-dns never creates the store"

## the details a domain owner reads
out=$("$R" -c "$CONF" check-dns spflookups.lint.test)
like "$out" 'needs 11 DNS-querying terms' "nested includes counted: 11 lookups"
out=$("$R" -c "$CONF" check-dns extrua.lint.test)
like "$out" 'fix: .*extrua\.lint\.test\._report\._dmarc\.lint-dest\.test' \
	"the fix names the authorisation record to publish"
out=$("$R" -c "$CONF" check-dns --dkim-selector sel clean.lint.test)
like "$out" '^ok +dkim-ok .*RSA key of 2048 bits' "a 2048-bit key is fine"

## --record: lint a record before publishing it
out=$("$R" -c "$CONF" check-dns --record 'v=DMARC1; p=reject; rua=mailto:a@clean.lint.test mailto:b@clean.lint.test' clean.lint.test)
rc=$?
like "$out" '^error +dmarc-uri-separator ' "--record: a space between URIs"
is "$rc" 2 "--record: exit status 2"
long="v=DMARC1; p=reject; rua=mailto:dmarc@clean.lint.test; ruf=$(printf 'mailto:forensic%02d@clean.lint.test,' 1 2 3 4 5 6 7 8)mailto:x@clean.lint.test"
out=$("$R" -c "$CONF" check-dns --record "$long" clean.lint.test)
like "$out" '^error +dmarc-string-long ' "--record: one string over 255 octets"

## JSON
out=$("$R" -c "$CONF" check-dns --format json --dkim-selector sel dkimweak.lint.test)
rc=$?
like "$out" '^\{"domain":"dkimweak\.lint\.test","findings":\[' "JSON: the domain and the findings"
like "$out" '\{"severity":"warning","code":"dkim-key-weak","message":"[^"]*1024 bits[^"]*","fix":"' \
	"JSON: a finding with severity, code, message and fix"
like "$out" '"counts":\{"error":0,"warning":1,' "JSON: the counts"
like "$out" '"exit":1\}$' "JSON: the exit status"
is "$rc" 1 "JSON: exit status 1 for a warning"

## usage
"$R" -c "$CONF" check-dns > /dev/null 2>&1
is $? 64 "no domain: EX_USAGE"
"$R" -c "$CONF" check-dns --format xml clean.lint.test > /dev/null 2>&1
is $? 64 "bad --format: EX_USAGE"
"$R" -c "$CONF" check-dns 'bad domain!' > /dev/null 2>&1
is $? 64 "a name that is not a domain: EX_USAGE"

## DNS down: a warning, never "missing"
nsd_pause
out=$("$R" -c "$CONF" check-dns clean.lint.test 2>&1)
rc=$?
nsd_resume
like "$out" '^warning +dns-error ' "no answer: dns-error"
unlike "$out" 'dmarc-missing|spf-missing' "no answer is not 'no record'"
is "$rc" 1 "no answer: exit status 1"

done_testing
