#!/bin/sh
# mltload.sh - the benchmark tools of contrib/bench: mkcorpus writes a
# signed corpus, mltload plays the MTA against the real dmarc-milter (one
# message per connection, then SMTP sessions of five), nullmilter in both
# modes, and a chain of two filters.  Every figure mltload reports is
# checked against what the corpus must give.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"

need_root
MLTLOAD="$top_builddir/contrib/bench/mltload"
MKCORPUS="$top_builddir/contrib/bench/mkcorpus"
# mkcorpus signs with libopendkim, whose signing path (dkim_privkey_load)
# does not free the private key it loads; in a sanitizer build that would
# fail this test tool, not the milter, so its leak check is off.  Every
# other program here keeps it.
mkcorpus() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$MKCORPUS" "$@"; }
NULLMILTER="$top_builddir/contrib/bench/nullmilter"
for p in "$MLTLOAD" "$MKCORPUS" "$NULLMILTER" "$top_builddir/t/historycheck"; do
	[ -x "$p" ] || bail "$p is not built (make)"
done

# kv KEY LINE: the value of KEY in a line of key=value pairs
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# start_null NAME SOCKET [ARGS]: a nullmilter in the background
start_null() {
	n=$1 s=$2; shift 2
	"$NULLMILTER" -p "$s" "$@" > "$T_DIR/$n.log" 2>&1 &
	T_PIDS="$T_PIDS $!"
}

## usage errors exit 64
"$MLTLOAD" -d "$T_DIR" > /dev/null 2>&1
is $? 64 "mltload without -s is a usage error (64)"
"$MLTLOAD" -s tcp:1@127.0.0.1 -d "$T_DIR" > /dev/null 2>&1
is $? 64 "mltload with a bad socket is a usage error (64)"
"$MLTLOAD" -s inet:1@127.0.0.1 -d "$T_DIR" -c 513 > /dev/null 2>&1
is $? 64 "mltload -c above 512 is a usage error (64)"
"$NULLMILTER" > /dev/null 2>&1
is $? 64 "nullmilter without -p is a usage error (64)"

## the corpus
C="$T_DIR/corpus"
sum=$(mkcorpus -o "$C" -n 200 -S 7 -k "$top_srcdir/t/keys")
ok $? "mkcorpus writes 200 messages ($sum)"
is "$(ls "$C" | grep -c '^[0-9]\{6\}\.eml$')" 200 "200 NNNNNN.eml files"
is "$(wc -l < "$C/envelope.tsv")" 200 "envelope.tsv has a line per message"
is "$(awk -F'\t' 'NF != 5' "$C/envelope.tsv" | wc -l)" 0 "every envelope line has 5 fields"
is "$(grep -c "$(printf '\r$')" "$C/000001.eml")" "$(wc -l < "$C/000001.eml")" "messages have CRLF line ends"
exp_pass=$(kv pass "$sum") exp_acc=$(kv accept "$sum") exp_rej=$(kv reject "$sum") exp_quar=$(kv quarantine "$sum")
# about 70 / 15 / 15 %, with room for chance
[ "$exp_pass" -ge 120 ] && [ "$exp_pass" -le 160 ] && [ "$exp_rej" -gt 0 ] && [ "$exp_quar" -gt 0 ] &&
	[ "$(kv none "$sum")" -gt 10 ]
ok $? "the mix is about 70 % pass, 15 % fail, 15 % none ($sum)"
sum2=$(mkcorpus -o "$T_DIR/corpus2" -n 20 -S 7 -k "$top_srcdir/t/keys")
cmp -s "$C/000013.eml" "$T_DIR/corpus2/000013.eml" &&
	cmp -s "$T_DIR/corpus2/envelope.tsv" "$(head -n 20 "$C/envelope.tsv" > "$T_DIR/e20"; echo "$T_DIR/e20")"
ok $? "the corpus is the same for the same seed"
mkcorpus -o "$T_DIR/corpus3" -n 20 -S 8 -k "$top_srcdir/t/keys" > /dev/null
cmp -s "$C/000013.eml" "$T_DIR/corpus3/000013.eml"
ok $((1 - $?)) "another seed gives other messages"
# per message: body bytes and header fields
sizes=$(awk 'FNR == 1 { if (NR > 1) print b, h; b = 0; h = 0; inb = 0 }
	inb { b += length($0) + 1; next }
	/^\r$/ { inb = 1; next }
	/^[A-Za-z-]+:/ { h++ }
	END { print b, h }' "$C"/*.eml)
stat=$(printf '%s\n' "$sizes" | awk 'NR == 1 { bmin = bmax = $1; hmin = hmax = $2 }
	{ s += $1; if ($1 < bmin) bmin = $1; if ($1 > bmax) bmax = $1
	  if ($2 < hmin) hmin = $2; if ($2 > hmax) hmax = $2 }
	END { printf "%d %d %d %d %d", bmin, bmax, s / NR, hmin, hmax }')
set -- $stat
[ "$1" -ge 3000 ] && [ "$2" -le 31000 ] && [ "$3" -ge 16000 ] && [ "$3" -le 22000 ]
ok $? "bodies are 3-30 KB, about 19 KB on average (min $1, max $2, avg $3)"
[ "$4" -ge 15 ] && [ "$5" -le 25 ]
ok $? "15 to 25 header fields per message ($4 to $5)"
is "$(grep -l '^DKIM-Signature: .*a=ed25519-sha256' "$C"/*.eml | wc -l | awk '$1 > 0 { print "some" }')" some \
	"some messages are signed with ed25519"

## dmarc-milter, one message per connection
start_nsd
HISTORY="$T_DIR/history.jsonl"
milter_conf "$T_DIR/m.conf" "HistoryFile $HISTORY" "RejectFailures yes" "HoldQuarantinedMessages yes"
start_milter "$T_DIR/m.conf"

# check_run NAME LINE STATUS: the figures of a run over the whole corpus
check_run() {
	is "$3" 0 "$1: mltload exits 0"
	is "$(kv msgs "$2")" 200 "$1: msgs=200"
	is "$(kv errors "$2")" 0 "$1: errors=0"
	is "$(kv accept "$2")" "$exp_acc" "$1: accept as the corpus says"
	is "$(kv reject "$2")" "$exp_rej" "$1: reject as the corpus says"
	is "$(kv quarantine "$2")" "$exp_quar" "$1: quarantine as the corpus says"
	is "$(kv tempfail "$2")/$(kv discard "$2")" "0/0" "$1: no tempfail, no discard"
}

# check_history NAME: one record per message, dmarc=pass for the pass share
check_history() {
	hc=$("$top_builddir/t/historycheck" "$HISTORY")
	is "$(printf '%s\n' "$hc" | grep '^records=')" "records=200 invalid=0" "$1: one history record per message"
	is "$(printf '%s\n' "$hc" | grep -v '^records=' | awk '{ print $1 }' | sort -u | wc -l)" 200 \
		"$1: every record has its own queue id"
	is "$(printf '%s\n' "$hc" | grep -v '^records=' | awk '$3 == "pass"' | wc -l)" "$exp_pass" \
		"$1: dmarc=pass for every DKIM-signed aligned message"
}

out=$("$MLTLOAD" -s "$MILTER_SOCKET" -d "$C" -c 4 -m 1 -l dmarc-m1 -v 2> "$T_DIR/err"); rc=$?
diag "$out"
like "$out" '^label=dmarc-m1 sockets=1 conc=4 msgs=[0-9]+ errors=[0-9]+ secs=[0-9.]+ rate=[0-9.]+ p50_ms=[0-9.]+ p99_ms=[0-9.]+ max_ms=[0-9.]+ client_cpu_pct=[0-9.]+ accept=[0-9]+ reject=[0-9]+ tempfail=[0-9]+ quarantine=[0-9]+ discard=[0-9]+$' \
	"the output is one line of key=value pairs in the fixed order"
check_run "dmarc -c 4 -m 1" "$out" "$rc"
is "$(cat "$T_DIR/err")" "" "nothing on stderr without errors"
check_history "dmarc -m 1"
line=$(grep -m 1 '"dkim":\[{"domain":"example.com","selector":"rsa2048"' "$HISTORY")
like "$line" '"dkim":\[\{"domain":"example\.com","selector":"rsa2048","algorithm":"rsa-sha256",[^]]*"key_bits":2048,"result":"pass"' \
	"a history record carries dkim=pass for d=example.com, rsa2048"
like "$line" '"dmarc":\[\{[^]]*"result":"pass"' "... and dmarc=pass"
like "$(grep -m 1 '"selector":"ed25519"' "$HISTORY")" '"algorithm":"ed25519-sha256",[^]]*"result":"pass"' \
	"an ed25519 signature passes"
like "$(grep -m 1 '"header_from":"quarantine.test"' "$HISTORY")" '"action":"quarantine"' \
	"a quarantine.test message is quarantined"
like "$(grep -m 1 '"header_from":"norecord.test"' "$HISTORY")" '"action":"accept"' \
	"a norecord.test message (no policy) is accepted"

## dmarc-milter, sessions of five messages, with a warm-up
: > "$HISTORY"
out=$("$MLTLOAD" -s "$MILTER_SOCKET" -d "$C" -c 4 -m 5 -w 20 -l dmarc-m5 -v 2> "$T_DIR/err"); rc=$?
diag "$out"
check_run "dmarc -c 4 -m 5" "$out" "$rc"
hc=$("$top_builddir/t/historycheck" "$HISTORY")
is "$(printf '%s\n' "$hc" | grep '^records=')" "records=220 invalid=0" "dmarc -m 5: one history record per message and warm-up message"

## nullmilter: every callback answers; lean: only end of message
NULL_PORT=$(free_port)
start_null null "inet:$NULL_PORT@127.0.0.1"
wait_listen "$NULL_PORT" || bail "nullmilter did not start: $(cat "$T_DIR/null.log")"
start_null lean "unix:$T_DIR/lean.sock" -l
i=0; while [ ! -S "$T_DIR/lean.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$T_DIR/lean.sock" ] || bail "nullmilter -l did not start: $(cat "$T_DIR/lean.log")"

for m in 1 5; do
	out=$("$MLTLOAD" -s "inet:$NULL_PORT@127.0.0.1" -d "$C" -c 4 -m $m -l null -v 2>&1); rc=$?
	diag "$out"
	is "$rc/$(kv msgs "$out")/$(kv errors "$out")/$(kv accept "$out")" "0/200/0/200" \
		"nullmilter -m $m: exit 0, 200 messages, no error, all accepted"
	out=$("$MLTLOAD" -s "unix:$T_DIR/lean.sock" -d "$C" -c 4 -m $m -l lean -v 2>&1); rc=$?
	diag "$out"
	is "$rc/$(kv msgs "$out")/$(kv errors "$out")/$(kv accept "$out")" "0/200/0/200" \
		"nullmilter -l -m $m: exit 0, 200 messages, no error, all accepted"
done
out=$("$MLTLOAD" -s "unix:$T_DIR/lean.sock" -d "$C" -c 8 -n 1000 -m 50 -l lean-cycle 2>&1); rc=$?
is "$rc/$(kv msgs "$out")/$(kv errors "$out")/$(kv accept "$out")" "0/1000/0/1000" \
	"-n above the corpus size cycles through it"

## chains: nullmilter -> dmarc-milter, and dmarc-milter -> nullmilter (its
## Authentication-Results header goes on to the second filter)
: > "$HISTORY"
out=$("$MLTLOAD" -s "inet:$NULL_PORT@127.0.0.1" -s "$MILTER_SOCKET" -d "$C" -c 4 -m 5 -l chain -v 2> "$T_DIR/err"); rc=$?
diag "$out"
is "$(kv sockets "$out")" 2 "chain: sockets=2"
check_run "chain nullmilter -> dmarc-milter" "$out" "$rc"
is "$("$top_builddir/t/historycheck" "$HISTORY" | grep '^records=')" "records=200 invalid=0" \
	"chain: dmarc-milter saw every message once"
out=$("$MLTLOAD" -s "$MILTER_SOCKET" -s "unix:$T_DIR/lean.sock" -d "$C" -c 4 -m 1 -l chain2 -v 2> "$T_DIR/err"); rc=$?
diag "$out"
check_run "chain dmarc-milter -> nullmilter -l" "$out" "$rc"

## header changes travel down a chain: a second dmarc-milter with the same
## AuthservID takes the first one's Authentication-Results for a forgery
## and removes it (RFC 8601 §5)
milter_conf "$T_DIR/m2.conf" "HistoryFile $T_DIR/history2.jsonl"
M2_PORT=$(free_port)
"$MILTER" -f -c "$T_DIR/m2.conf" -p "inet:$M2_PORT@127.0.0.1" > "$T_DIR/milter2.log" 2>&1 &
T_PIDS="$T_PIDS $!"
wait_listen "$M2_PORT" || bail "the second dmarc-milter did not start: $(cat "$T_DIR/milter2.log")"
out=$("$MLTLOAD" -s "$MILTER_SOCKET" -s "inet:$M2_PORT@127.0.0.1" -d "$C" -c 4 -n 40 -l chain3 -v 2>&1); rc=$?
diag "$out"
is "$rc/$(kv msgs "$out")/$(kv errors "$out")" "0/40/0" "chain dmarc-milter -> dmarc-milter: 40 messages, no error"
passed=$((40 - $(kv reject "$out")))
is "$(grep -c 'removed forged A-R' "$T_DIR/milter2.log")" "$passed" \
	"the second filter saw the first one's header on each of the $passed messages it got"

## failures are counted, never fatal
dead=$(free_port)
out=$("$MLTLOAD" -s "inet:$dead@127.0.0.1" -d "$C" -n 10 -v 2> "$T_DIR/err"); rc=$?
is "$rc/$(kv msgs "$out")/$(kv errors "$out")" "1/10/10" "nothing listening: exit 1, every message an error"
is "$(grep -c 'connect: Connection refused' "$T_DIR/err")" 10 "-v prints one line per error"
# nsd speaks DNS, not the milter protocol: a reply we cannot use
out=$("$MLTLOAD" -s "inet:$NSD_PORT@127.0.0.1" -d "$C" -n 5 -t 2 2>&1); rc=$?
is "$rc/$(kv msgs "$out")/$(kv errors "$out")" "1/5/5" "a peer that is no filter: exit 1, every message an error, no crash"

stop_milter
done_testing
