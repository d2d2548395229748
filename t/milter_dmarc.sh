#!/bin/bash
# milter_dmarc.sh - DMARC evaluation through the running milter (driven by
# miltertest, the way Postfix talks to it) against the nsd test zones, and
# the same message through the offline check (dmarc-milter -t), which must
# agree.  One scenario per RFC rule; t/zones/*.zone has one zone per case.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

SIGN="$top_builddir/t/dkimsign"
KEYS="$top_srcdir/t/keys"
HISTORY="$T_DIR/history.jsonl"
T_BROKEN_ZONES="servfail.test"
start_nsd

# sign IN OUT DOMAIN SELECTOR [ALG]: DKIM-sign with a test key
sign() {
	"$SIGN" -d "$3" -s "$4" -k "$KEYS/$4.pem" ${5:+-a "$5"} < "$1" > "$2" ||
		bail "dkimsign failed for $1"
}

# run NAME CLIENT-IP HELO MAIL-FROM MSGFILE: through the milter and -t.
# Sets R (what the milter did), OFF (the offline check's output),
# ACT (accept|quarantine|reject|tempfail) and AR (our header, one line).
run() {
	name=$1 ip=$2 helo=$3 mfrom=$4 msg=$5
	out="$T_DIR/$name.out"
	rm -f "$out"
	miltertest_run message.lua "msgfile=$msg" "outfile=$out" "client_ip=$ip" \
		"client_host=[$ip]" "helo=$helo" "mailfrom=$mfrom" "rcpt=rcpt@dest.test" \
		${EXPECT_REPLY:+"expect_reply=$EXPECT_REPLY"} ${AUTH:+"auth=$AUTH"} > "$T_DIR/$name.mt" 2>&1
	R=$(cat "$out" 2>/dev/null)
	[ -n "$R" ] || diag "$name: miltertest failed: $(cat "$T_DIR/$name.mt")"
	mt_action "$R"
	AR=$(printf '%s\n' "$R" | sed -n 's/^ar= *//p')
	OFF=$("$MILTER" -c "$CONF" -t "$msg" --client-ip "$ip" --helo "$helo" --mail-from "$mfrom" \
		--rcpt rcpt@dest.test 2>/dev/null)
	OFF_ACT=$(printf '%s\n' "$OFF" | sed -n 's/^Action: \([a-z]*\).*/\1/p')
	OFF_AR=$(printf '%s\n' "$OFF" | awk '/^Authentication-Results:/{p=1; sub(/^Authentication-Results: */,""); printf "%s", $0; next} p&&/^[ \t]/{printf " %s", $0; next} {p=0}' | tr -s ' \t' '  ' | sed 's/^ //')
}

# expect NAME ACTION AR-REGEX...: the milter's action and header, and -t agrees
expect() {
	name=$1 want=$2; shift 2
	is "$ACT" "$want" "$name: the milter's action is $want"
	for re in "$@"; do
		like "$AR" "$re" "$name: Authentication-Results has /$re/"
	done
	is "$OFF_ACT" "$ACT" "$name: dmarc-milter -t agrees on the action"
	if [ "$ACT" != reject ] && [ "$ACT" != tempfail ]; then
		is "$OFF_AR" "$(printf '%s' "$AR" | sed 's/^ //')" "$name: dmarc-milter -t writes the same header"
	fi
}

CONF="$T_DIR/rfc7489.conf"
milter_conf "$CONF" \
	"RejectFailures yes" "HoldQuarantinedMessages yes" "TemporaryFailures tempfail" \
	"HistoryFile $HISTORY" "IgnoreHosts 192.0.2.254" \
	"TrustedHosts 192.0.2.200" "TrustedAuthservIDs gw.test.example" \
	"DNSTimeout 1" "DNSRetries 0" "SamplingSeed 4242"
start_milter "$CONF"
GOOD=192.0.2.1		# inside every test domain's SPF
BAD=203.0.113.5		# outside all of them
M="$T_DIR/msg"
mkdir -p "$M"
n_messages=0

## SPF (RFC 7208) through our adapter: every result, and alignment
for r in pass fail softfail neutral none permerror temperror; do
	mkmsg "$M/spf-$r.eml" user@spf.test
	run "spf-$r" $GOOD client.example.net "u@$r.spf.test" "$M/spf-$r.eml"
	like "$OFF_AR" "spf=$r[ ;(].*smtp.mailfrom=u@$r.spf.test" "SPF $r: spf=$r with smtp.mailfrom (RFC 8601 §2.7.2)"
	n_messages=$((n_messages + 1))
done
run spf-pass $GOOD client.example.net u@pass.spf.test "$M/spf-pass.eml"
expect "SPF pass from a subdomain, relaxed (RFC 7489 §3.1.2)" accept 'dmarc=pass'
n_messages=$((n_messages + 1))
mkmsg "$M/spf-two.eml" user@spf.test
run spf-two $GOOD client.example.net u@twospf.spf.test "$M/spf-two.eml"
like "$OFF" 'spf=permerror' "two SPF records are a permerror, not the +all one (RFC 7208 §4.5)"
n_messages=$((n_messages + 1))

## p=reject, p=quarantine, p=none
mkmsg "$M/reject.eml" user@example.com
EXPECT_REPLY="550|5.7.1|Message rejected: it fails the DMARC policy of example.com"
run reject $BAD client.example.net user@example.com "$M/reject.eml"
EXPECT_REPLY=
expect "p=reject, SPF fail, no DKIM (RFC 7489 §6.6.2)" reject
like "$R" 'reply_match=yes' "the reject is 550 5.7.1 with a text naming the author domain"
n_messages=$((n_messages + 1))
run pass $GOOD client.example.net user@example.com "$M/reject.eml"
expect "SPF pass aligned" accept 'spf=pass' 'dmarc=pass' 'header.from=example.com' 'policy.dmarc=reject'
n_messages=$((n_messages + 1))
mkmsg "$M/quarantine.eml" user@quarantine.test
run quarantine $BAD client.example.net user@quarantine.test "$M/quarantine.eml"
expect "p=quarantine fails: held by the MTA" quarantine 'dmarc=fail' 'policy.dmarc=quarantine'
n_messages=$((n_messages + 1))
mkmsg "$M/none.eml" user@example.org
run none $BAD client.example.net user@example.org "$M/none.eml"
expect "p=none fails: delivered and labelled" accept 'dmarc=fail' 'policy.dmarc=none'
n_messages=$((n_messages + 1))
mkmsg "$M/sp.eml" user@sub.example.org
run sp $BAD client.example.net user@sub.example.org "$M/sp.eml"
expect "sp=quarantine applies to a subdomain (RFC 7489 §6.6.3)" quarantine 'header.from=sub.example.org' 'policy.dmarc=quarantine'
n_messages=$((n_messages + 1))

## DKIM (RFC 6376, 8301, 8463)
mkmsg "$M/dkim.eml" user@example.com
sign "$M/dkim.eml" "$M/dkim-rsa.eml" example.com rsa2048
run dkim-rsa $BAD client.example.net user@example.com "$M/dkim-rsa.eml"
expect "DKIM rsa-sha256 aligned pass rescues an SPF fail" accept 'dkim=pass' 'header.d=example.com' 'header.s=rsa2048' 'dmarc=pass'
n_messages=$((n_messages + 1))
sign "$M/dkim.eml" "$M/dkim-ed.eml" example.com ed25519 ed25519-sha256
run dkim-ed25519 $BAD client.example.net user@example.com "$M/dkim-ed.eml"
expect "DKIM ed25519-sha256 pass (RFC 8463)" accept 'dkim=pass' 'header.s=ed25519' 'dmarc=pass'
n_messages=$((n_messages + 1))
sign "$M/dkim.eml" "$M/dkim-sha1.eml" example.com rsa2048 rsa-sha1
run dkim-sha1 $BAD client.example.net user@example.com "$M/dkim-sha1.eml"
expect "rsa-sha1 is not a pass (RFC 8301 §3.1)" reject
like "$OFF" 'dkim=policy' "rsa-sha1: dkim=policy in the header"
n_messages=$((n_messages + 1))
sign "$M/dkim.eml" "$M/dkim-512.eml" example.com rsa512
run dkim-512 $BAD client.example.net user@example.com "$M/dkim-512.eml"
expect "a 512-bit key is not a pass (RFC 8301 §3.2)" reject
unlike "$OFF" 'dkim=pass' "rsa512: no dkim=pass"
n_messages=$((n_messages + 1))
sed 's/This is a test message./This message was changed./' "$M/dkim-rsa.eml" > "$M/dkim-tampered.eml"
run dkim-tampered $BAD client.example.net user@example.com "$M/dkim-tampered.eml"
expect "a changed body fails DKIM" reject
like "$OFF" 'dkim=fail' "tampered: dkim=fail"
n_messages=$((n_messages + 1))
sign "$M/dkim.eml" "$M/dkim-3rd.eml" example.net rsa2048
run dkim-third-party $BAD client.example.net user@example.com "$M/dkim-3rd.eml"
expect "a third-party signature passes but does not align (RFC 7489 §3.1.1)" reject
like "$OFF" 'dkim=pass[^;]*header.d=example.net' "third party: dkim=pass header.d=example.net reported"
n_messages=$((n_messages + 1))
sign "$M/dkim-3rd.eml" "$M/dkim-two.eml" example.com rsa2048
run dkim-two $BAD client.example.net user@example.com "$M/dkim-two.eml"
expect "two signatures: the aligned one decides" accept 'dkim=pass[^;]*header.d=example.com' 'dkim=pass[^;]*header.d=example.net' 'dmarc=pass'
n_messages=$((n_messages + 1))

## pct (RFC 7489 §6.6.4): a message not sampled gets the next weaker policy
mkmsg "$M/pct0.eml" user@pct0.test
run pct0 $BAD client.example.net user@pct0.test "$M/pct0.eml"
expect "pct=0 under p=reject: quarantine, not accept" quarantine 'dmarc=fail'
like "$OFF" 'override=sampled_out' "pct=0: the override reason is sampled_out"
n_messages=$((n_messages + 1))
mkmsg "$M/pct100.eml" user@pct100.test
run pct100 $BAD client.example.net user@pct100.test "$M/pct100.eml"
expect "pct=100 under p=quarantine: quarantine" quarantine
n_messages=$((n_messages + 1))
mkmsg "$M/pct50.eml" user@pct50.test
rejected=0 quarantined=0
for i in $(seq 1 40); do
	run pct50 $BAD client.example.net user@pct50.test "$M/pct50.eml"
	case $ACT in reject) rejected=$((rejected + 1)) ;; quarantine) quarantined=$((quarantined + 1)) ;; esac
	n_messages=$((n_messages + 1))
done
is $((rejected + quarantined)) 40 "pct=50: every one of 40 failures is rejected or quarantined"
[ $rejected -ge 8 ] && [ $rejected -le 32 ]
ok $? "pct=50: $rejected of 40 rejected, the rest quarantined (seeded; 8-32 expected)"

## alignment modes
mkmsg "$M/strict.eml" user@strict.test
run strict $GOOD client.example.net u@bounce.strict.test "$M/strict.eml"
expect "aspf=s: an SPF pass for a subdomain does not align (RFC 7489 §3.1.2)" reject
n_messages=$((n_messages + 1))
mkmsg "$M/relaxed.eml" user@relaxed.test
run relaxed $GOOD client.example.net u@bounce.relaxed.test "$M/relaxed.eml"
expect "aspf=r: an SPF pass for a subdomain aligns" accept 'dmarc=pass'
n_messages=$((n_messages + 1))
mkmsg "$M/rf.eml" user@rfiodef.test
run rfiodef $GOOD client.example.net u@bounce.rfiodef.test "$M/rf.eml"
expect "rf=iodef leaves aspf relaxed (OpenDMARC D8)" accept 'dmarc=pass'
n_messages=$((n_messages + 1))

## records: none, two, broken
mkmsg "$M/norecord.eml" user@norecord.test
run norecord $BAD client.example.net user@norecord.test "$M/norecord.eml"
expect "no DMARC record: dmarc=none" accept 'dmarc=none'
n_messages=$((n_messages + 1))
mkmsg "$M/two.eml" user@tworecords.test
run tworecords $BAD client.example.net user@tworecords.test "$M/two.eml"
expect "two DMARC records: no policy, not the first (RFC 7489 §6.6.3)" accept 'dmarc=none'
n_messages=$((n_messages + 1))
mkmsg "$M/bad.eml" user@badrecord.test
run badrecord $BAD client.example.net user@badrecord.test "$M/bad.eml"
expect "an unusable record: dmarc=permerror" accept 'dmarc=permerror'
n_messages=$((n_messages + 1))
mkmsg "$M/badp.eml" user@badp.test
run badp $BAD client.example.net user@badp.test "$M/badp.eml"
expect "invalid p with a valid rua acts as p=none (RFC 7489 §6.6.3)" accept 'dmarc=fail' 'policy.dmarc=none'
n_messages=$((n_messages + 1))

## DNS temporary failure: temperror, never "no record"
mkmsg "$M/servfail.eml" user@x.servfail.test
run servfail $BAD client.example.net user@x.servfail.test "$M/servfail.eml"
expect "SERVFAIL for the DMARC record: temperror, tempfailed as configured" tempfail
like "$OFF" 'dmarc=temperror' "SERVFAIL: dmarc=temperror in the header"
n_messages=$((n_messages + 1))

## From: several addresses, several fields, none
mkmsg "$M/multi.eml" 'a@example.org>, <b@example.com'
run multi-from $BAD client.example.net a@example.org "$M/multi.eml"
expect "two author domains: the strictest outcome applies (CVE-2019-16378 class)" reject
n_messages=$((n_messages + 1))
mkmsg "$M/two-from.eml" user@example.org 'From: other <user@example.com>'
run two-from $BAD client.example.net user@example.org "$M/two-from.eml"
expect "two From fields: every author domain counts" reject
n_messages=$((n_messages + 1))
printf 'To: rcpt@dest.test\nSubject: no from\n\nbody\n' > "$M/nofrom.eml"
run no-from $BAD client.example.net user@example.com "$M/nofrom.eml"
expect "no From field: no DMARC, a permerror in the header" accept 'dmarc=permerror'
n_messages=$((n_messages + 1))

## Authentication-Results hygiene (RFC 8601 §5) and trusted gateways
mkmsg "$M/forged.eml" user@example.com "Authentication-Results: mx.test.example; dmarc=pass header.from=example.com" \
	"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@example.com"
run forged $BAD client.example.net user@example.com "$M/forged.eml"
expect "a forged A-R with our authserv-id is no help" reject
run forged-pass $GOOD client.example.net user@example.com "$M/forged.eml"
like "$R" 'ar_deleted=yes' "a forged A-R with our authserv-id is removed"
n_messages=$((n_messages + 2))
mkmsg "$M/gw.eml" user@example.org "Authentication-Results: gw.test.example; spf=pass smtp.mailfrom=user@example.org; dkim=none"
run gateway-trusted 192.0.2.200 gw.example.org user@example.org "$M/gw.eml"
expect "a trusted gateway's A-R is used when the client is in TrustedHosts" accept 'spf=pass' 'dmarc=pass'
n_messages=$((n_messages + 1))
run gateway-untrusted $BAD gw.example.org user@example.org "$M/gw.eml"
expect "the same header from an untrusted client is ignored (CVE-2019-20790 class)" accept 'spf=softfail' 'dmarc=fail'
n_messages=$((n_messages + 1))

## HELO identity, IPv6, hostile input
mkmsg "$M/bounce.eml" mailer-daemon@example.net
run null-sender 192.0.2.99 client.example.net "" "$M/bounce.eml"
expect "null sender: SPF checks the HELO identity (RFC 7208 §2.4)" accept 'spf=pass[^;]*smtp.helo=client.example.net'
n_messages=$((n_messages + 1))
run ipv6 2001:db8::5 client.example.net user@example.com "$M/reject.eml"
expect "IPv6 client inside ip6:2001:db8::/32" accept 'spf=pass' 'dmarc=pass'
n_messages=$((n_messages + 1))
run hostile-helo $BAD 'evil"; dkim=pass header.d=example.com' user@example.com "$M/reject.eml"
expect "a hostile HELO injects nothing" reject
unlike "$OFF" 'dkim=pass' "hostile HELO: no dkim=pass appears in our header"
n_messages=$((n_messages + 1))

## history: one valid line per evaluated message; SIGUSR1 after a rotation
## (mv, then kill -USR1) starts a new file and loses nothing
mv "$HISTORY" "$HISTORY.1"
kill -USR1 "$MILTER_PID"
sleep 1
run after-rotation $GOOD client.example.net user@example.com "$M/reject.eml"
is "$(wc -l < "$HISTORY" | tr -d ' ')" 1 "history rotation: the next record goes to the new file"
cat "$HISTORY.1" "$HISTORY" > "$T_DIR/history.all"
n_messages=$((n_messages + 1))
hc=$("$top_builddir/t/historycheck" "$T_DIR/history.all" 2>&1)
like "$hc" "records=$n_messages invalid=0" "history: $n_messages messages, $n_messages valid lines"
like "$hc" ' example\.com fail reject reject' "history: the p=reject failure is recorded as rejected"
like "$hc" ' pct0\.test fail quarantine quarantine' "history: the sampled-out failure is recorded as quarantined"

## skipped senders, with the reason in the log and no header
stop_milter
milter_conf "$T_DIR/skip.conf" "IgnoreHosts 192.0.2.254" "IgnoreMailFrom lists.example.com" \
	"IgnoreAuthenticatedClients yes"
start_milter "$T_DIR/skip.conf"
mkmsg "$M/list.eml" user@example.com
run ignore-mail-from $BAD client.example.net owner@lists.example.com "$M/list.eml"
is "$ACT" accept "IgnoreMailFrom: accepted unchecked"
unlike "$R" '^ar=' "IgnoreMailFrom: no Authentication-Results added"
like "$(cat "$T_DIR/milter.log")" 'not checked \(sender <owner@lists\.example\.com> in IgnoreMailFrom\)' "IgnoreMailFrom: the log says why"
AUTH=alice
run ignore-auth $BAD client.example.net user@example.com "$M/list.eml"
AUTH=
is "$ACT" accept "IgnoreAuthenticatedClients: an authenticated client is accepted unchecked"
like "$(cat "$T_DIR/milter.log")" 'not checked \(authenticated as alice, IgnoreAuthenticatedClients\)' "IgnoreAuthenticatedClients: the log says why"
run not-ignored $BAD client.example.net user@example.com "$M/list.eml"
like "$AR" 'dmarc=fail' "an unauthenticated client from another sender is checked"

## RFC 9989 rules: tree walk, np, t=y, psd=y, pct ignored
stop_milter
CONF="$T_DIR/rfc9989.conf"
milter_conf "$CONF" \
	"DMARCRules rfc9989" "RejectFailures yes" "HoldQuarantinedMessages yes" \
	"TemporaryFailures tempfail" "IgnoreHosts 192.0.2.254" "DNSTimeout 1" "DNSRetries 0"
start_milter "$CONF"
mkmsg "$M/np.eml" user@nx.bis.test
run np $BAD client.example.net user@nx.bis.test "$M/np.eml"
expect "np=reject for a subdomain that does not exist (RFC 9989)" reject
mkmsg "$M/sp9.eml" user@exists.bis.test
run sp9989 $BAD client.example.net user@exists.bis.test "$M/sp9.eml"
expect "sp=none for a subdomain that exists (RFC 9989)" accept 'dmarc=fail' 'policy.dmarc=none'
mkmsg "$M/t.eml" user@testing.test
run testing $BAD client.example.net user@testing.test "$M/t.eml"
expect "t=y: one level weaker, reject becomes quarantine (RFC 9989)" quarantine
like "$OFF" 'override=policy_test_mode' "t=y: the override reason is policy_test_mode"
run pct-ignored $BAD client.example.net user@pct0.test "$M/pct0.eml"
expect "pct is not part of RFC 9989: pct=0 does not soften p=reject" reject
mkmsg "$M/psd.eml" user@corp.psd.test
run psd-aligned $GOOD client.example.net u@mail.corp.psd.test "$M/psd.eml"
expect "below a psd=y domain, the organisation is the label below it: aligned" accept 'dmarc=pass'
run psd-unaligned $GOOD client.example.net u@other.psd.test "$M/psd.eml"
expect "a sibling under a psd=y domain does not align (RFC 9989 tree walk)" reject

## DNS timeout: temperror within the configured timeout, never a hang
nsd_pause
mkmsg "$M/timeout.eml" user@relaxed.test
start=$(date +%s)
run timeout $BAD client.example.net user@relaxed.test "$M/timeout.eml"
elapsed=$(( $(date +%s) - start ))
nsd_resume
is "$ACT" tempfail "DNS timeout: the message is tempfailed (TemporaryFailures tempfail)"
like "$OFF" 'dmarc=temperror' "DNS timeout: dmarc=temperror"
[ "$elapsed" -lt 30 ]
ok $? "DNS timeout: answered in ${elapsed}s for milter and -t together (1 s per query)"

done_testing
