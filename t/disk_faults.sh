#!/bin/bash
# disk_faults.sh - the history file on a small tmpfs that fills up, a
# filesystem that turns read-only, the file deleted or replaced by a
# directory.  Mail keeps being judged all along; the failures are logged
# at once and then at most once per HistoryErrorInterval, counted in
# StatsFile, and when the disk is usable again recording resumes and the
# file holds complete JSON lines only (t/historycheck).  The tmpfs is
# unmounted at exit, also when the test fails.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

H="$T_DIR/hist"		# the tmpfs
HF="$H/history.jsonl"
INTERVAL=4		# HistoryErrorInterval for this test

# disk_cleanup: stop the milter (it holds the file open, the tmpfs would be
# busy), unmount every tmpfs we mounted at $H, then lib.sh's cleanup
disk_cleanup() {
	rc=$?
	for p in $T_PIDS; do kill "$p" 2>/dev/null; done
	for p in $T_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	done
	i=0
	while mountpoint -q "$H" && [ $i -lt 5 ]; do
		umount "$H" 2>/dev/null || umount -l "$H"
		i=$((i + 1))
	done
	(exit $rc)
	cleanup
}
trap disk_cleanup EXIT

mkdir -p "$H"
mount -t tmpfs -o size=256k,mode=0755 tmpfs "$H" || bail "cannot mount a tmpfs on $H"
start_nsd
GOOD=192.0.2.1
BAD=203.0.113.5
M="$T_DIR/msg"
mkdir -p "$M"
mkmsg "$M/pass.eml" user@example.com
mkmsg "$M/none.eml" user@example.org
STATS="$T_DIR/stats.prom"

milter_conf "$T_DIR/m.conf" "HistoryFile $HF" "HistoryErrorInterval $INTERVAL" \
	"StatsFile $STATS" "StatsInterval 3600" "DNSTimeout 2" "DNSRetries 0"
start_milter "$T_DIR/m.conf"

# judge NAME: one message that passes (example.com, SPF aligned) and check
# that it was judged as usual; sets R
judge() {
	R=$(mt_send "$M/pass.eml" $GOOD user@example.com)
	case "$R" in
	*reply=a*dmarc=pass*) return 0 ;;
	*) diag "$1: $R"; return 1 ;;
	esac
}

# lines: history lines in the file now
lines() { wc -l < "$HF" | tr -d ' '; }

# fails: lines above debug level about records not written, so far
fails() {
	grep -v ': debug: ' "$T_DIR/milter.log" |
		grep -c -e "history $HF: \(write failed\|short write\)" -e 'history record not written'
}

# valid: every line of the history file is a complete, valid record
valid() {
	hc=$("$top_builddir/t/historycheck" "$HF" 2>&1)
	like "$hc" "^records=$1 invalid=0" "$2: historycheck: $1 records, none invalid"
	is "$(tail -c 1 "$HF" | od -An -c | tr -d ' ')" '\n' "$2: the file ends with a complete line"
}

## recording works
judge first && judge second
ok $? "two messages judged, the disk has room"
is "$(lines)" 2 "two history lines"

## disk full
dd if=/dev/zero of="$H/filler" bs=4k 2>/dev/null
echo x 2>/dev/null > "$H/probe"
ok $((! $?)) "the tmpfs is full (a new file cannot be written)"
rm -f "$H/probe"
L0=$(lines)
good=0
for n in 1 2 3 4 5 6; do judge "full-$n" && good=$((good + 1)); done
is $good 6 "disk full: six messages judged as usual (accept, dmarc=pass in Authentication-Results)"
L1=$(lines)
lost=$((6 - (L1 - L0)))
# the file's last page may have had room for one more record
ok $(( ! (lost >= 5) )) "disk full: the records that did not fit are lost ($lost of 6)"
is "$(fails)" 1 "disk full: the failure is logged once, not once per message"
like "$(grep "history $HF:" "$T_DIR/milter.log" | head -n 1)" \
	"(No space left on device|short write \\([0-9]+ of [0-9]+ bytes: disk full).*record lost \\(repeated failures are reported at most every $INTERVAL s\\)" \
	"the log line says why and how often it will repeat"
valid $L1 "disk full"
is "$(stats_value dmarc_milter_history_errors_total)" $lost "StatsFile counts the $lost records not written"
sleep $INTERVAL
judge full-7 && judge full-8
ok $? "disk still full, after the interval: messages still judged"
is "$(fails)" 2 "after the interval one more line, not one per message"
like "$(grep "history $HF:" "$T_DIR/milter.log" | tail -n 1)" \
	"$lost records lost since the last report \\($((lost + 1)) since writing stopped\\)" \
	"it says how many were lost since the last line"
rm -f "$H/filler"
judge resumed
ok $? "disk has room again: the message is judged"
like "$(tail -n 3 "$T_DIR/milter.log")" "history $HF: writing again after $((lost + 2)) records lost" \
	"one line says writing works again, and how many were lost"
is "$(lines)" $((L1 + 1)) "recording resumed: the new message has its line"
is "$(stats_value dmarc_milter_history_errors_total)" $((lost + 2)) "StatsFile: $((lost + 2)) history errors in all"
valid $((L1 + 1)) "after disk full"
L2=$((L1 + 1))

## read-only: Linux refuses a read-only remount while the milter holds
## the file open for writing, so a read-only filesystem is met when the
## file is opened again (SIGUSR1 after logrotate, or a restart)
mount -o remount,ro "$H" 2>/dev/null
ok $((! $?)) "remount,ro is refused while the milter has the history open (EBUSY)"
judge busy
ok $? "the milter goes on"
is "$(lines)" $((L2 + 1)) "and records"
# the admin's new filesystem at the same place is read-only: detach the
# old one (the milter keeps its file), mount a fresh tmpfs, remount it ro
umount -l "$H"
mount -t tmpfs -o size=256k,mode=0755 tmpfs "$H" || bail "cannot mount the second tmpfs"
mount -o remount,ro "$H" || bail "cannot remount the new tmpfs read-only"
kill -USR1 "$MILTER_PID"
i=0
until grep -q 'reload refused' "$T_DIR/milter.log" || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
like "$(grep 'reload refused' "$T_DIR/milter.log" | tail -n 1)" "HistoryFile $HF: $HF: Read-only file system" \
	"SIGUSR1 with a read-only filesystem: the reload is refused, the log says EROFS"
like "$(grep "history $HF: reopen failed" "$T_DIR/milter.log" | tail -n 1)" \
	'Read-only file system; still writing to the old file' "the log says records still go to the old file"
judge ro
ok $? "read-only: messages are judged as usual"
[ ! -e "$HF" ]
ok $? "read-only: nothing could be created on it"
# a restart on the read-only filesystem
"$MILTER" -f -c "$T_DIR/m.conf" -p "inet:$(free_port)@127.0.0.1" > "$T_DIR/ro-start.log" 2>&1 &
rp=$!
i=0
while kill -0 $rp 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $rp 2>/dev/null && { kill $rp; wait $rp; bail "the milter started with a read-only history"; }
wait $rp
ok $((! $?)) "a start with the history on a read-only filesystem fails"
like "$(cat "$T_DIR/ro-start.log")" "$HF: Read-only file system" "and says why"
mount -o remount,rw "$H" || bail "cannot remount rw"
n0=$(grep -c 'configuration reloaded' "$T_DIR/milter.log")
kill -USR1 "$MILTER_PID"
i=0
until [ "$(grep -c 'configuration reloaded' "$T_DIR/milter.log")" -gt "$n0" ] || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1)); done
judge rw
ok $? "remounted rw, SIGUSR1: messages judged"
is "$(lines)" 1 "recording resumes in a new file on the writable filesystem"
valid 1 "after read-only"

## the file deleted, then SIGUSR1: a new file
rm -f "$HF"
judge deleted
n0=$(grep -c 'configuration reloaded' "$T_DIR/milter.log")
kill -USR1 "$MILTER_PID"
i=0
until [ "$(grep -c 'configuration reloaded' "$T_DIR/milter.log")" -gt "$n0" ] || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1)); done
judge recreated
ok $? "file deleted and SIGUSR1: messages judged"
is "$(lines)" 1 "a new file holds the next record"

## the file replaced by a directory, then SIGUSR1
rm -f "$HF"
mkdir "$HF"
n0=$(grep -c 'reload refused' "$T_DIR/milter.log")
kill -USR1 "$MILTER_PID"
i=0
until [ "$(grep -c 'reload refused' "$T_DIR/milter.log")" -gt "$n0" ] || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1)); done
like "$(grep 'reload refused' "$T_DIR/milter.log" | tail -n 1)" "HistoryFile $HF: $HF: Is a directory" \
	"a directory in its place: the reload is refused and the log says why"
like "$(grep "history $HF: reopen failed" "$T_DIR/milter.log" | tail -n 1)" 'Is a directory' \
	"and the reopen fails with EISDIR"
judge dir
ok $? "a directory in its place: messages are judged as usual"
kill -0 "$MILTER_PID"
ok $? "the milter is still running"
rmdir "$HF"
n0=$(grep -c 'configuration reloaded' "$T_DIR/milter.log")
kill -USR1 "$MILTER_PID"
i=0
until [ "$(grep -c 'configuration reloaded' "$T_DIR/milter.log")" -gt "$n0" ] || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1)); done
judge back
ok $? "the directory removed, SIGUSR1: judged"
is "$(lines)" 1 "recording resumes in a new file"
valid 1 "at the end"

stop_milter
umount "$H"
ok $? "the tmpfs unmounts once the milter is gone"
mountpoint -q "$H"
ok $((! $?)) "nothing is left mounted"

done_testing
