#!/bin/sh
# sendmail_e2e.sh - mail through a real Sendmail with dmarc-milter as its
# INPUT_MAIL_FILTER, wired as docs/sendmail.md says: a DMARC pass is
# delivered with our Authentication-Results on top (also for a
# c=simple/simple DKIM signature: Sendmail keeps the leading blank of
# header values, SMFIP_HDR_LEADSPC), a p=reject failure is refused with our
# 550, a p=quarantine failure is quarantined by Sendmail (mailq -qQ shows
# it; -Q releases it), a forged A-R with our authserv-id is removed, the
# milter logs Sendmail's queue id (macro i), the history file holds one
# line per message, and with the milter gone F=T makes Sendmail tempfail.
#
# Debian's sendmail conflicts with the postfix package, so Sendmail runs in
# a debootstrap'd bookworm root made by t/sendmail-root.sh (at
# $DMARC_SENDMAIL_ROOT, default /var/tmp/dmarc-milter-sendmail-root; made
# on first use, from the Debian mirror, then reused).  nsd and the milter
# run outside; chroot shares the network, so Sendmail reaches the milter
# and swaks reaches Sendmail over 127.0.0.1.  Sendmail runs in its own
# mount, UTS and PID namespaces: its configuration, queue and mailbox are
# $T_DIR/sm bind-mounted at /srv/dmarc-milter-test in the root, its
# /dev/log is our syslog socket ($T_DIR/sm/maillog), and when the daemon
# (PID 1 there) ends, the kernel ends every process it left and the mounts
# go with the namespace.  The root itself is not changed.
#
# Sendmail hands the milter the real client, 127.0.0.1 (it has no XCLIENT),
# so IgnoreHosts is narrowed to ::1.  The milter does not ask SPF about a
# loopback client (spf=none), so the pass is a DKIM pass (the example.com
# test key) and the failures are unsigned; no zone of its own is needed.
#
# SM_DEBUG="-d64.10" passes debug flags to the Sendmail daemon (output in
# $T_DIR/sm/stdout; keep it with T_KEEP=1).
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

SM_ROOT=${DMARC_SENDMAIL_ROOT:-/var/tmp/dmarc-milter-sendmail-root}
SM_IN=/srv/dmarc-milter-test		# $T_DIR/sm, as Sendmail sees it
SM="$T_DIR/sm"
SM_NS_PID=""
HISTORY="$T_DIR/history.jsonl"
SIGN="$top_builddir/t/dkimsign"
KEYS="$top_srcdir/t/keys"

for c in unshare nsenter pgrep perl swaks; do
	command -v $c >/dev/null 2>&1 || bail "$c is needed (util-linux, procps, perl, swaks)"
done

# The root: made (a few minutes, the Debian mirror) or reused (instant).
DMARC_SENDMAIL_ROOT=$SM_ROOT sh "$top_srcdir/t/sendmail-root.sh" > "$T_DIR/root.log" 2>&1 ||
	bail "no Sendmail root: $(tail -n 5 "$T_DIR/root.log" | tr '\n' ' ')"
sed 's/^/# /' "$T_DIR/root.log"

# stop_sendmail: SIGTERM to the daemon, the namespace's PID 1; unshare
# exits once it has; --kill-child covers an unshare killed first.
stop_sendmail() {
	[ -n "$SM_NS_PID" ] || return 0
	child=$(pgrep -P "$SM_NS_PID")
	[ -n "$child" ] && kill "$child" 2>/dev/null
	i=0
	while kill -0 "$SM_NS_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$SM_NS_PID" 2>/dev/null
	wait "$SM_NS_PID" 2>/dev/null
	SM_NS_PID=""
}
sm_cleanup() {
	rc=$?
	stop_sendmail
	(exit $rc)
	cleanup
}
trap sm_cleanup EXIT

# in_root CMD...: run CMD in the root, in Sendmail's mount namespace
in_root() {
	nsenter -t "$SM_NS_PID" -m -u chroot "$SM_ROOT" "$@"
}

# start_sendmail: sendmail.cf from $SM/sendmail.mc, then the daemon in
# the foreground (-bD) on 127.0.0.1:$SM_PORT
start_sendmail() {
	SM_PORT=$(free_port)
	mkdir -p "$SM/queue" "$SM/mail/tmp" "$SM/mail/new"
	chmod 700 "$SM/queue"
	MAILDIR="$SM/mail"
	# The mount points (t/sendmail-root.sh makes them; a root made before
	# it did gets them here)
	[ -d "$SM_ROOT$SM_IN" ] || mkdir -p "$SM_ROOT$SM_IN"
	[ -e "$SM_ROOT/dev/log" ] || : > "$SM_ROOT/dev/log"

	# Only the hosts file, never DNS: nothing may leave the machine.
	printf 'hosts\tfiles\naliases\tfiles\n' > "$SM/service.switch"
	# The test mailer: each message into its own file in mail/new.
	cat > "$SM/deliver" <<'DELIVER'
#!/bin/sh
d=/srv/dmarc-milter-test/mail
cat > "$d/tmp/$$" && mv "$d/tmp/$$" "$d/new/$(date +%s.%N).$$"
DELIVER
	chmod 755 "$SM/deliver"
	# LOCAL_RULE_0 needs tabs between its fields.
	tab=$(printf '\t')
	cat > "$SM/sendmail.mc" <<MC
divert(-1)
# sendmail.mc - written by t/sendmail_e2e.sh for one run
divert(0)dnl
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`dmarc-milter t/sendmail_e2e.sh')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.test.example')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_IN/service.switch')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`QUEUE_DIR', \`$SM_IN/queue')dnl
define(\`STATUS_FILE', \`$SM_IN/statistics')dnl
define(\`confPID_FILE', \`$SM_IN/sendmail.pid')dnl
define(\`confLOG_LEVEL', \`14')dnl
define(\`confMILTER_LOG_LEVEL', \`14')dnl
undefine(\`ALIAS_FILE')dnl
undefine(\`confHOST_STATUS_DIRECTORY')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$SM_PORT, Addr=127.0.0.1')dnl
RELAY_DOMAIN(\`dest.test')dnl
INPUT_MAIL_FILTER(\`dmarc', \`S=inet:$MILTER_PORT@127.0.0.1, F=T, T=S:30s;R:60s;E:5m')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MAILER_DEFINITIONS
Mtestbox, P=$SM_IN/deliver, F=lsDFMnS, S=EnvFromL/HdrFromL, R=EnvToL/HdrToL, T=DNS/RFC822/X-Unix, A=deliver \$u
LOCAL_RULE_0
R\$+ < @ dest.test . >$tab\$#testbox \$: \$1
R\$+ < @ dest.test >$tab\$#testbox \$: \$1
MC
	# The syslog socket Sendmail will find at /dev/log.
	rm -f "$SM/log.sock"
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $ARGV[0]) or die "$ARGV[0]: $!\n";
		$| = 1;
		while (defined $s->recv(my $m, 65536)) { $m =~ s/\n*$/\n/; print $m }' \
		"$SM/log.sock" >> "$SM/maillog" 2>&1 &
	T_PIDS="$T_PIDS $!"
	i=0
	while [ ! -S "$SM/log.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	chmod 666 "$SM/log.sock" 2>/dev/null

	unshare --pid --fork --kill-child=SIGTERM --mount --uts sh -c '
		set -e
		root=$1 sm=$2 in=$3
		hostname mx.test.example
		mount --bind "$sm" "$root$in"
		mount --bind "$sm/log.sock" "$root/dev/log" || echo "no syslog socket"
		mount -t proc proc "$root/proc"
		chroot "$root" m4 "$in/sendmail.mc" > "$sm/sendmail.cf"
		exec chroot "$root" /usr/libexec/sendmail/sendmail -bD -C"$in/sendmail.cf" $4
		' sh "$SM_ROOT" "$SM" "$SM_IN" "${SM_DEBUG:-}" > "$SM/stdout" 2>&1 &
	SM_NS_PID=$!
	T_PIDS="$T_PIDS $SM_NS_PID"
	# Its PID namespace, to check at the end that all of it is gone.
	i=0
	until SM_PIDNS=$(readlink "/proc/$(pgrep -P "$SM_NS_PID")/ns/pid" 2>/dev/null) &&
	    [ "$SM_PIDNS" != "$(readlink /proc/self/ns/pid)" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && bail "no PID namespace for Sendmail: $(cat "$SM/stdout")"
		sleep 0.1
	done
	wait_listen "$SM_PORT" ||
		bail "Sendmail does not listen: $(cat "$SM/stdout" "$SM/maillog" 2>/dev/null | tail -n 20 | tr '\n' ' ')"
	SMTP_PORT=$SM_PORT	# for send_mail
}

# sign IN OUT [CANON]: DKIM-sign with the example.com test key
sign() {
	"$SIGN" -d example.com -s rsa2048 -k "$KEYS/rsa2048.pem" ${3:+-c "$3"} < "$1" > "$2" ||
		bail "dkimsign failed for $1"
}

# msg FILE FROM SUBJECT [EXTRA-HEADER...]
msg() {
	f=$1 from=$2 subj=$3; shift 3
	mkmsg "$f" "$from" "$@"
	sed -i "s/^Subject: .*/Subject: $subj/" "$f"
}

# send NAME FILE MAIL-FROM: through Sendmail; prints swaks' transcript
# and keeps it in $T_DIR/NAME.swaks
send() {
	send_mail "$2" "$3" rcpt@dest.test | tee "$T_DIR/$1.swaks"
}

# qid_of TRANSCRIPT: Sendmail's queue id from its 250 after DATA
qid_of() {
	printf '%s\n' "$1" | sed -n 's/.*<- *250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery.*/\1/p' | tail -n 1
}

start_nsd
milter_conf "$T_DIR/milter.conf" "RejectFailures yes" "HoldQuarantinedMessages yes" \
	"HistoryFile $HISTORY" "IgnoreHosts ::1"
start_milter "$T_DIR/milter.conf"
start_sendmail
diag "Sendmail on 127.0.0.1:$SM_PORT, dmarc-milter on $MILTER_SOCKET, root $SM_ROOT"

## the configuration Sendmail built from our .mc
cf=$(cat "$SM/sendmail.cf")
like "$cf" "^Xdmarc, S=inet:$MILTER_PORT@127\.0\.0\.1, F=T, T=S:30s;R:60s;E:5m" \
	"sendmail.cf: INPUT_MAIL_FILTER became the X line"
like "$cf" 'O InputMailFilters=dmarc' "sendmail.cf: the filter is in InputMailFilters"
like "$cf" 'O Milter\.macros\.envfrom=i,' "sendmail.cf: the default envfrom macros send i (the queue id)"

## Sendmail hands the milter header values with their leading space
## (SMFIP_HDR_LEADSPC, which Postfix does not offer): a c=simple/simple
## signature, which counts every blank, must still verify, and our header
## must come out as "Authentication-Results: mx...", one blank after the
## colon.  This is the first connection to the milter.
msg "$T_DIR/simple.raw" user@example.com "sendmail e2e simple"
sign "$T_DIR/simple.raw" "$T_DIR/simple.eml" simple/simple
out=$(send simple "$T_DIR/simple.eml" user@example.com)
like "$out" '<- *250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery' "simple: Sendmail accepts it"
wait_delivered 1
ok $? "simple: delivered to the mailbox"
got=$(cat "$MAILDIR"/new/* 2>/dev/null)
like "$(printf '%s\n' "$got" | head -n 1)" '^Authentication-Results: mx\.test\.example;$' \
	"simple: our Authentication-Results is the first line, one blank after the colon"
like "$(printf '%s\n' "$got" | tr -d '\n\t')" 'dkim=pass \(2048-bit key\) header\.d=example\.com.*dmarc=pass \(p=reject dis=none\) *header\.from=example\.com' \
	"simple: the c=simple/simple signature verifies (leading blanks kept), dmarc=pass"
rm -f "$MAILDIR"/new/*

## a DMARC pass (DKIM: SPF is not checked for a loopback client, so
## example.com's -all does not come into it), with a forged A-R carrying our
## authserv-id and one from another host: delivered, ours on top, the forged
## one removed, the other kept.
msg "$T_DIR/pass.raw" user@example.com "sendmail e2e pass" \
	"Authentication-Results: mx.test.example; dmarc=pass header.from=evil.example" \
	"Authentication-Results: other.example; spf=pass smtp.mailfrom=user@example.com"
sign "$T_DIR/pass.raw" "$T_DIR/pass.eml"
out=$(send pass "$T_DIR/pass.eml" user@example.com)
like "$out" '<- *250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery' "pass: Sendmail accepts it"
qid=$(qid_of "$out")
wait_delivered 1
ok $? "pass: delivered to the mailbox"
got=$(cat "$MAILDIR"/new/* 2>/dev/null)
like "$got" 'Subject: sendmail e2e pass' "pass: the delivered message is the one sent"
like "$(printf '%s\n' "$got" | head -n 1)" '^Authentication-Results: mx\.test\.example;$' \
	"pass: our Authentication-Results is the first header field (above Sendmail's Received)"
like "$(printf '%s\n' "$got" | tr -d '\n\t')" '^Authentication-Results: mx\.test\.example;dkim=pass \(2048-bit key\) header\.d=example\.com.*dmarc=pass \(p=reject dis=none\) *header\.from=example\.com' \
	"pass: it says dkim=pass and dmarc=pass for example.com"
is "$(printf '%s\n' "$got" | grep -c '^Authentication-Results: *mx\.test\.example;')" 1 \
	"pass: the forged A-R with our authserv-id is gone, ours alone remains"
like "$got" 'Authentication-Results: other\.example; spf=pass' "pass: another host's A-R is kept"
like "$(cat "$SM/maillog")" "$qid: Milter \\(dmarc\\) delete: header Authentication-Results: mx\\.test\\.example; dmarc=pass header\\.from=evil\\.example" \
	"pass: Sendmail logged the deletion of the forged field"
like "$(cat "$T_DIR/milter.log")" "$qid: localhost \\[127\\.0\\.0\\.1\\] removed forged A-R, spf=none dkim=pass\\(example\\.com/rsa2048\\) dmarc=pass" \
	"pass: the milter logged the verdict with Sendmail's queue id $qid (macro i)"

## p=reject failure: refused with our 550 text
msg "$T_DIR/reject.eml" user@example.com "sendmail e2e reject"
out=$(send reject "$T_DIR/reject.eml" user@example.com)
like "$out" '<\*\* *550 5\.7\.1 Message rejected: it fails the DMARC policy of example\.com' \
	"reject: the client gets 550 5.7.1 naming the author domain"

## p=quarantine failure: accepted and quarantined by Sendmail
msg "$T_DIR/quar.eml" user@quarantine.test "sendmail e2e quarantine"
out=$(send quar "$T_DIR/quar.eml" user@quarantine.test)
like "$out" '<- *250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery' "quarantine: Sendmail accepts it"
qqid=$(qid_of "$out")
sleep 1
mq=$(in_root /usr/libexec/sendmail/sendmail -C"$SM_IN/sendmail.cf" -bp -qQ 2>&1)
like "$(printf '%s\n' "$mq" | tr -d '\n')" "$qqid.*QUARANTINE: DMARC quarantine policy of quarantine\.test" \
	"quarantine: mailq -qQ lists it with our reason"
like "$(ls "$SM/queue")" "hf$qqid" "quarantine: its queue file is a held one (hf, not qf)"
is "$(ls "$MAILDIR/new" | wc -l | tr -d ' ')" 1 "quarantine: not delivered"
like "$(cat "$SM/maillog")" "$qqid: to=<rcpt@dest\\.test>.*quarantine=DMARC quarantine p.*stat=quarantined" \
	"quarantine: Sendmail logged stat=quarantined"
# The postmaster's release (docs/sendmail.md): -Q without a reason on the
# quarantined job turns hf back into qf, then a queue run delivers it.
in_root /usr/libexec/sendmail/sendmail -C"$SM_IN/sendmail.cf" -Q -qQ -qI"$qqid" > "$T_DIR/release.out" 2>&1
like "$(ls "$SM/queue")" "qf$qqid" "quarantine: sendmail -Q -qQ -qI<id> releases it (hf is qf again)"
in_root /usr/libexec/sendmail/sendmail -C"$SM_IN/sendmail.cf" -q -qI"$qqid" > "$T_DIR/run.out" 2>&1
wait_delivered 2
ok $? "quarantine: sendmail -q -qI<id> then delivers it"
got=$(grep -l 'Subject: sendmail e2e quarantine' "$MAILDIR"/new/* 2>/dev/null | head -n 1)
like "$(sed -n '1,/^$/p' "${got:-/dev/null}" | tr -d '\n\t')" '^Authentication-Results: mx\.test\.example;dkim=none;dmarc=fail \(p=quarantine dis=quarantine\) *header\.from=quarantine\.test' \
	"quarantine: the released message carries our dmarc=fail header"

## history: one valid line per evaluated message
hc=$("$top_builddir/t/historycheck" "$HISTORY" 2>&1)
like "$hc" 'records=4 invalid=0' "history: four messages, four valid lines"
like "$hc" "^$qid example\.com pass none accept" "history: the pass, under Sendmail's queue id"
like "$hc" ' example\.com fail reject reject' "history: the reject"
like "$hc" "^$qqid quarantine\.test fail quarantine quarantine" "history: the quarantine"

## the milter is gone: F=T makes Sendmail tempfail
stop_milter
msg "$T_DIR/down.eml" user@example.com "sendmail e2e down"
out=$(send down "$T_DIR/down.eml" user@example.com)
like "$out" '<\*\* *451 4\.3\.2 Please try again later' "milter down, F=T: MAIL FROM gets 451 4.3.2"
unlike "$out" 'Message accepted for delivery' "milter down, F=T: nothing accepted"
like "$(cat "$SM/maillog")" 'Milter \(dmarc\): .*(refused|error connecting)' \
	"milter down: Sendmail logged that the filter was unreachable"

## everything stops
stop_sendmail
left=""
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$SM_PIDNS" ] && left="$left ${p#/proc/}"
done
is "$left" "" "stop: no process of Sendmail's PID namespace is left"

done_testing
