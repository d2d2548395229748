#!/bin/bash
# package_e2e.sh - the Debian package, as a postmaster meets it: build it
# (dpkg-buildpackage from a clean export of HEAD), "apt install ./...deb",
# check what it installed (user, files, units, a safe configuration),
# start the filter the way its systemd unit does, wire a Postfix to it as
# the README says, turn on RejectFailures, and see DMARC enforced; then
# purge.  It changes the machine (a package, a system user), so it is not
# part of "make check": .ci/run runs it on its throw-away machine.
# Usage: t/package_e2e.sh   (as root, from the top of a git checkout)
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/t/lib.sh"
need_root
command -v dpkg-buildpackage > /dev/null || bail "dpkg-dev is not installed (contrib/install-deps.sh)"
dpkg -s dmarc-milter > /dev/null 2>&1 && bail "a dmarc-milter package is already installed; this test installs and purges its own"

## build
B="$T_DIR/build"
mkdir -p "$B/src"
git -C "$top_srcdir" archive HEAD | tar -x -C "$B/src" || bail "git archive failed"
(cd "$B/src" && dpkg-buildpackage -us -uc -b) > "$T_DIR/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b builds the package"
DEB=$(ls "$B"/dmarc-milter_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || { tail -n 40 "$T_DIR/build.log"; bail "no .deb was built"; }

## install
DEBIAN_FRONTEND=noninteractive apt-get install -y "$DEB" > "$T_DIR/install.log" 2>&1
ok $? "apt-get install ./dmarc-milter_*.deb"
# pkg_cleanup: never leave the package installed, keep the exit status
pkg_cleanup() {
	rc=$?
	DEBIAN_FRONTEND=noninteractive apt-get purge -y dmarc-milter > /dev/null 2>&1
	deluser --system dmarc-milter > /dev/null 2>&1
	(exit $rc)
	cleanup
}
trap pkg_cleanup EXIT
id dmarc-milter > /dev/null 2>&1
ok $? "the system user dmarc-milter exists"
files=$(dpkg -L dmarc-milter)
missing=""
for f in /usr/sbin/dmarc-milter /usr/sbin/dmarc-reports /etc/dmarc-milter.conf /etc/dmarc-reports.conf \
	/lib/systemd/system/dmarc-milter.service /lib/systemd/system/dmarc-reports-send.timer \
	/lib/systemd/system/dmarc-reports-import.timer /usr/lib/tmpfiles.d/dmarc-milter.conf \
	/etc/logrotate.d/dmarc-milter /usr/share/man/man8/dmarc-milter.8.gz \
	/usr/share/man/man5/dmarc-milter.conf.5.gz /usr/share/man/man8/dmarc-reports.8.gz; do
	printf '%s\n' "$files" | grep -qx "$f" || missing="$missing $f"
done
is "$missing" "" "binaries, configuration, units, tmpfiles, logrotate and man pages are installed"
is "$(stat -c '%U' /var/log/dmarc-milter /var/lib/dmarc-milter | sort -u)" dmarc-milter \
	"the history and store directories belong to dmarc-milter"
out=$(/usr/sbin/dmarc-milter -n -c /etc/dmarc-milter.conf 2>&1)
ok $? "the installed configuration is valid"
like "$out" '^RejectFailures no$' "it rejects nothing until the admin says so"
like "$out" '^FailureReports no$' "it sends no failure reports until the admin says so"
if command -v systemd-analyze > /dev/null; then
	systemd-analyze verify /lib/systemd/system/dmarc-milter.service \
		/lib/systemd/system/dmarc-reports-import.timer /lib/systemd/system/dmarc-reports-send.timer \
		> "$T_DIR/verify.log" 2>&1
	ok $? "systemd-analyze verify accepts the units"
fi

## run it as the unit does, behind a Postfix wired as the README says
start_nsd
# What the admin edits: turn rejections on.  (Nameservers only because this
# test's DNS is a private nsd.)
sed -i -e 's/^RejectFailures[[:space:]].*/RejectFailures\t\tyes/' /etc/dmarc-milter.conf
printf 'Nameservers\t\t%s\n' "$NAMESERVER" >> /etc/dmarc-milter.conf
install -d -o dmarc-milter -g dmarc-milter -m 0750 /run/dmarc-milter	# RuntimeDirectory=
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/dmarc-milter.service)
# User=/Group=/UMask= of the unit; setpriv execs, so $! is the milter itself
(umask 0007; exec setpriv --reuid=dmarc-milter --regid=dmarc-milter --init-groups -- $exec_start) \
	>> "$T_DIR/milter.log" 2>&1 &
MILTER_PID=$!
T_PIDS="$T_PIDS $MILTER_PID"
wait_listen 8893 || bail "the installed milter does not listen on 8893: $(cat "$T_DIR/milter.log")"
is "$(ps -o user= -p "$MILTER_PID" | tr -d ' ')" dmarc-milter "it runs as dmarc-milter (User= of the unit)"
MILTER_SOCKET="inet:8893@127.0.0.1"
MILTER_PORT=8893
start_postfix
postfix_set "smtpd_authorized_xclient_hosts = 127.0.0.0/8"
M="$T_DIR/msg"
mkdir -p "$M"
mkmsg "$M/pass.eml" user@example.com
mkmsg "$M/reject.eml" user@example.com
out=$(send_mail "$M/pass.eml" user@example.com rcpt@dest.test --xclient-addr 192.0.2.1 --xclient-name "[UNAVAILABLE]")
wait_delivered 1
ok $? "a message that passes DMARC is delivered"
f=$(ls "$MAILDIR/new" | head -n 1)
ar=$(awk '/^$/{exit} /^Authentication-Results:/{a=1; printf "%s", $0; next} a&&/^[ \t]/{printf " %s", $0; next} {a=0}' "$MAILDIR/new/$f")
like "$ar" "Authentication-Results: $(hostname);.*dmarc=pass" \
	"with the installed milter's Authentication-Results"
out=$(send_mail "$M/reject.eml" user@example.com rcpt@dest.test --xclient-addr 203.0.113.5 --xclient-name "[UNAVAILABLE]")
like "$out" '<\*\* 550 5\.7\.1 ' "a p=reject failure is refused with 550 5.7.1 once RejectFailures is on"
i=0
until [ "$(wc -l < /var/log/dmarc-milter/history.jsonl 2>/dev/null)" = 2 ] || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(wc -l < /var/log/dmarc-milter/history.jsonl 2>/dev/null | tr -d ' ')" 2 "both are in /var/log/dmarc-milter/history.jsonl"

## the installed logrotate snippet rotates the history; the milter reopens it
command -v logrotate > /dev/null || bail "logrotate is not installed (contrib/install-deps.sh)"
logrotate -s "$T_DIR/logrotate.state" -f /etc/logrotate.d/dmarc-milter > "$T_DIR/logrotate.log" 2>&1
ok $? "logrotate -f /etc/logrotate.d/dmarc-milter"
is "$(wc -l < /var/log/dmarc-milter/history.jsonl.1 2>/dev/null | tr -d ' ')" 2 "the history was rotated to history.jsonl.1"
i=0
until grep -q 'configuration reloaded' "$T_DIR/milter.log" || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
like "$(cat "$T_DIR/milter.log")" 'configuration reloaded' "its postrotate signalled the milter (PidFile, SIGUSR1)"
mkmsg "$M/after.eml" user@example.com
send_mail "$M/after.eml" user@example.com rcpt@dest.test --xclient-addr 192.0.2.1 --xclient-name "[UNAVAILABLE]" > /dev/null
wait_delivered 2
i=0
until [ -s /var/log/dmarc-milter/history.jsonl ] || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(wc -l < /var/log/dmarc-milter/history.jsonl 2>/dev/null | tr -d ' ')" 1 "the next message is recorded in a new history.jsonl"

kill -TERM "$MILTER_PID"
wait "$MILTER_PID"
is $? 0 "SIGTERM stops it with status 0"

## dmarc-reports from the package imports the history as the timer does
runuser -u dmarc-milter -- /usr/sbin/dmarc-reports import /var/log/dmarc-milter/history.jsonl.1 \
	/var/log/dmarc-milter/history.jsonl > "$T_DIR/import.log" 2>&1
ok $? "dmarc-reports import runs as dmarc-milter into /var/lib/dmarc-milter"
like "$(cat "$T_DIR/import.log")" 'history\.jsonl\.1: 2 lines, 2 imported' "it imports the rotated file"
like "$(cat "$T_DIR/import.log")" 'history\.jsonl: 1 lines?, 1 imported' "and the current one"

## purge
DEBIAN_FRONTEND=noninteractive apt-get purge -y dmarc-milter > "$T_DIR/purge.log" 2>&1
ok $? "apt-get purge dmarc-milter"
left=""
for f in /usr/sbin/dmarc-milter /etc/dmarc-milter.conf /lib/systemd/system/dmarc-milter.service \
	/var/log/dmarc-milter /var/lib/dmarc-milter; do
	[ -e "$f" ] && left="$left $f"
done
is "$left" "" "purge leaves no files behind"
deluser --system dmarc-milter > /dev/null 2>&1
trap cleanup EXIT

done_testing
