#!/bin/bash
# cve.sh - one regression case per OpenDMARC CVE whose class applies to a
# DMARC milter, sent through ours (miltertest, Postfix-style): no crash,
# the defined verdict, and no forged result trusted.  Each case names its
# CVE; t/mta_faults.sh covers the protocol-level faults.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

HISTORY="$T_DIR/history.jsonl"
start_nsd
closed=$(free_port)	# nobody listens there: failure reports cannot go out
CONF="$T_DIR/cve.conf"
milter_conf "$CONF" "RejectFailures yes" "HistoryFile $HISTORY" "DNSTimeout 1" "DNSRetries 0" \
	"TrustedHosts 203.0.113.200" "TrustedAuthservIDs gw.test.example" \
	"FailureReports yes" "FailureReportsFrom dmarc@mx.test.example" "FailureReportsRelay 127.0.0.1:$closed"
start_milter "$CONF"
GOOD=192.0.2.1		# inside the SPF of example.com, ruf.test, cve.test
BAD=203.0.113.5		# outside all of them
GW=203.0.113.200	# a trusted gateway (TrustedHosts), outside every SPF
M="$T_DIR/msg"
mkdir -p "$M"
records=0

# msg FILE FROM-VALUE [HEADER-LINE...]: a message with exactly that From
# value ("-" for no From field) and the extra header lines before it
msg() {
	f=$1 from=$2; shift 2
	{
		for h in "$@"; do printf '%s\n' "$h"; done
		[ "$from" != - ] && printf 'From: %s\n' "$from"
		printf 'To: rcpt@dest.test\nSubject: cve\nMessage-ID: <%s@test>\n\nHello.\n' "$(basename "$f")"
	} > "$f"
}

# send NAME IP MAIL-FROM: the message $M/NAME.eml through the milter; R is
# what the milter did (reply=a accept, reply=y reject with a reply code)
send() {
	R=$(mt_send "$M/$1.eml" "$2" "$3")
	[ -n "$R" ] || diag "$1: miltertest failed"
	records=$((records + 1))
}

# alive NAME: no crash so far, and a normal message still passes
alive() {
	kill -0 "$MILTER_PID" 2>/dev/null
	ok $? "$1: the milter is still running"
	msg "$M/normal.eml" "User <user@example.com>"
	send normal $GOOD user@example.com
	like "$(printf '%s' "$R" | tr '\n' ' ')" 'reply=a.*ar=.*dmarc=pass' "$1: a normal message still passes"
	hc=$("$top_builddir/t/historycheck" "$HISTORY" 2>&1)
	like "$hc" "records=$records invalid=0" "$1: $records complete history lines"
}

## CVE-2019-16378: OpenDMARC evaluated only the first address of a From
## with several; a sender who passes for the first and names a forged
## author second got a pass.  We evaluate every author domain (RFC 7489
## §6.6.1) and the strictest outcome decides.
msg "$M/multi.eml" "user@example.com, ceo@ruf.test"
send multi $GOOD user@example.com
like "$R" '^reply=y' "CVE-2019-16378: From example.com (pass), ruf.test (fail): rejected"
msg "$M/multi-rev.eml" "ceo@ruf.test, user@example.com"
send multi-rev $GOOD user@example.com
like "$R" '^reply=y' "CVE-2019-16378: the order of the addresses does not matter"
msg "$M/multi-fields.eml" "user@example.com" "From: ceo@ruf.test"
send multi-fields $GOOD user@example.com
like "$R" '^reply=y' "CVE-2019-16378: two From fields: the failing one decides"
msg "$M/group.eml" "friends: user@example.com, ceo@ruf.test;"
send group $GOOD user@example.com
like "$R" '^reply=y' "CVE-2019-16378: addresses in a group count too"
msg "$M/display.eml" '"user@example.com" <ceo@ruf.test>'
send display $GOOD user@example.com
like "$R" '^reply=y' "CVE-2019-16378 class: an address in the display name is not the author"
alive "CVE-2019-16378"

## CVE-2019-20790: OpenDMARC took SPF results from Received-SPF fields (and
## A-R fields) the sender wrote.  We read no Received-SPF; an A-R is used
## only from a TrustedHosts client and only under a TrustedAuthservIDs id.
msg "$M/rspf.eml" "User <user@example.com>" \
	"Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=$BAD; envelope-from=user@example.com" \
	"Authentication-Results: gw.test.example; spf=pass smtp.mailfrom=user@example.com; dkim=pass header.d=example.com"
send rspf $BAD user@example.com
like "$R" '^reply=y' "CVE-2019-20790: forged Received-SPF and a trusted-id A-R from an untrusted client: rejected"
msg "$M/untrusted-id.eml" "User <user@example.com>" \
	"Authentication-Results: evil.example; spf=pass smtp.mailfrom=user@example.com; dkim=pass header.d=example.com"
send untrusted-id $GW user@example.com
like "$R" '^reply=y' "CVE-2019-20790: a trusted client's A-R under another authserv-id is not used"
msg "$M/trusted.eml" "User <user@example.com>" \
	"Authentication-Results: gw.test.example; spf=pass smtp.mailfrom=user@example.com; dkim=none"
send trusted $GW user@example.com
like "$R" '^reply=a' "CVE-2019-20790 control: the trusted gateway's own A-R is used (the mechanism works)"
msg "$M/ours.eml" "User <user@example.com>" \
	"Authentication-Results: mx.test.example; dmarc=pass header.from=example.com"
send ours $GOOD user@example.com
like "$R" 'ar_deleted=yes' "CVE-2019-20790: an A-R with our own authserv-id is removed"
## CVE-2020-12272 (same class): "example.net(.example.com" read as a
## domain; the comment is no part of header.d
msg "$M/paren.eml" "User <user@example.com>" \
	"Authentication-Results: gw.test.example; spf=fail smtp.mailfrom=user@example.com; dkim=pass header.d=example.net(.example.com)"
send paren $GW user@example.com
like "$R" '^reply=y' "CVE-2020-12272: header.d=example.net(.example.com) is no example.com pass"
alive "CVE-2019-20790"

## CVE-2020-12460: heap overflow in opendmarc_xml_parse, on report XML.
## The milter parses no XML and does not link libxml2; dmarc-reports
## writes XML (libxml2's writer) and reads only our own history lines
## (history_parse), so that reader is our parser of this class: hostile
## lines are refused one by one, the good ones still read.
ldd "$MILTER" | grep -q libxml2
ok $((! $?)) "CVE-2020-12460: dmarc-milter does not link libxml2 (parses no XML)"
good=$(head -n 1 "$HISTORY")
{
	printf '%s\n' "$good"
	printf '{"v":1,"id":"x\n'				# truncated string
	printf '%s\n' "$good" | head -c 40; printf '\n'		# torn line
	head -c 600000 /dev/zero | tr '\0' '['; printf '\n'	# deep nesting, over HISTORY_MAX_LINE
	head -c 5000 /dev/zero | tr '\0' '['; printf '\n'	# deep nesting, under it
	printf '{"v":1,"when":99999999999999999999999999999}\n'
	printf '{"v":1,"id":"\\ud800\\u0000"}\n'
	printf '{"v":1,\0"id":"nul"}\n'
	printf '<?xml version="1.0"?><feedback><record>\n'
	printf '%s\n' "$good"
} > "$T_DIR/hostile.jsonl"
hc=$("$top_builddir/t/historycheck" "$T_DIR/hostile.jsonl" 2>&1); rc=$?
like "$hc" 'records=2 invalid=8' "CVE-2020-12460 class: 8 hostile history lines refused, 2 good ones read"
[ $rc -lt 128 ]
ok $? "CVE-2020-12460 class: the history reader does not crash (status $rc)"

## CVE-2021-34555: OpenDMARC dereferenced NULL on a From with several
## values one of which had no domain.  Every odd From gets a verdict.  A
## From that does not parse as a whole is a problem noted in the verdict,
## but every domain it names is still evaluated (hdr_from_salvage): with
## example.com in it, example.com's p=reject applies ("R" below) -- else
## "user@example.com, <>" would slip past the policy.  One that names no
## usable domain is dmarc=permerror ("P"), accepted with RequiredHeaders off
## (the default, as in OpenDMARC); RequiredHeaders yes rejects every one
## (second round below).
cat > "$T_DIR/froms" <<'EOF'
P|<>
P|<@>
P|undisclosed-recipients:;
P|a@
R|@example.com
R|"unterminated <a@example.com>
R|(unterminated comment a@example.com
P|,
P|, ,
R|user@example.com, <>
R|user@example.com, b
R|user@example.com, a@
R|<>, user@example.com
R|Group: ; user@example.com
P|a@[127.0.0.1]
P|a@example..com
P|=?utf-8?q?=E2=80=AE?= <a@.example.com>
P|
EOF
i=0
while IFS= read -r line; do
	i=$((i + 1))
	want=${line%%|*} from=${line#?|}
	msg "$M/from$i.eml" "$from"
	send "from$i" $BAD user@example.com
	if [ "$want" = R ]; then
		like "$R" '^reply=y' "CVE-2021-34555: From: \"$from\" does not parse, but names example.com: its p=reject applies"
	else
		like "$(printf '%s' "$R" | tr '\n' ' ')" '^reply=a.*dmarc=permerror' "CVE-2021-34555: From: \"$from\": no usable domain, dmarc=permerror, accepted"
	fi
done < "$T_DIR/froms"
msg "$M/trailing.eml" "user@example.com,"
send trailing $BAD user@example.com
like "$R" '^reply=y' "CVE-2021-34555: From: \"user@example.com,\" (obsolete list syntax): example.com's p=reject"
msg "$M/nofrom.eml" -
send nofrom $BAD user@example.com
like "$(printf '%s' "$R" | tr '\n' ' ')" '^reply=a.*dmarc=permerror' "CVE-2021-34555: no From at all: dmarc=permerror, accepted"
alive "CVE-2021-34555"

## CVE-2024-25768: NULL dereference on a DMARC record's report URI list
## (opendmarc_policy_fetch_ruf, OpenDMARC issue 256).  FailureReports is on,
## so each ruf list below is parsed and acted on; the policy is p=reject.
for d in emptyruf commas bare at size scheme many; do
	msg "$M/ruf-$d.eml" "User <user@$d.cve.test>"
	send "ruf-$d" $BAD "user@$d.cve.test"
	like "$R" '^reply=y' "CVE-2024-25768: rua/ruf \"$d\": no crash, p=reject applied"
done
# a NUL byte in the record, a duplicate ruf tag: not a valid record, so no
# policy (RFC 7489 §6.6.3): dmarc=permerror, accepted
for d in nul dup; do
	msg "$M/ruf-$d.eml" "User <user@$d.cve.test>"
	send "ruf-$d" $BAD "user@$d.cve.test"
	like "$(printf '%s' "$R" | tr '\n' ' ')" '^reply=a.*dmarc=permerror' "CVE-2024-25768: record \"$d\": dmarc=permerror, accepted"
done
alive "CVE-2024-25768"

## ARC (OpenDMARC issues 31, 183, 222: crashes on malformed ARC fields).
## We do not read ARC: malformed ARC fields change nothing, and an ARC
## chain claiming a pass does not override a failure.
msg "$M/arc.eml" "User <user@example.com>" \
	"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=evil.example; s=x; b=" \
	"ARC-Message-Signature: i=" \
	"ARC-Authentication-Results: i=1; mx.example; dkim=pass header.d=example.com; (null)=pass; (null)=pass; dmarc=pass" \
	"ARC-Authentication-Results:" \
	"ARC-Seal: i=99999999999999999999; cv=pass"
send arc $BAD user@example.com
like "$R" '^reply=y' "ARC: malformed ARC fields claiming a pass: still rejected"
alive "ARC"

## RequiredHeaders yes: the From fields that do not parse are rejected
stop_milter
milter_conf "$CONF" "RejectFailures yes" "RequiredHeaders yes" "HistoryFile $HISTORY" \
	"DNSTimeout 1" "DNSRetries 0"
start_milter "$CONF"
i=0
while IFS= read -r line; do
	i=$((i + 1))
	send "from$i" $BAD user@example.com
	like "$R" '^reply=y' "RequiredHeaders yes: From: \"${line#?|}\": rejected"
done < "$T_DIR/froms"
alive "RequiredHeaders"

grep -E 'AddressSanitizer|runtime error|SIGSEGV|assertion' "$T_DIR/milter.log" > /dev/null
ok $((! $?)) "the milter's log shows no crash or sanitizer report"

done_testing
