#!/bin/sh
# milter_basic.sh - the daemon itself: version, configuration checks, start,
# a scripted milter session, reload on SIGUSR1, stop on SIGTERM.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"

out=$("$MILTER" -V 2>&1)
ok $? "-V exits 0"
for lib in libmilter libopendkim libspf2 ldns libpsl OpenSSL; do
	like "$out" "^  $lib +[0-9]|  $lib +OpenSSL [0-9]" "-V names $lib and its version"
done

out=$("$MILTER" -n -c /dev/null 2>&1)
ok $? "-n accepts an empty configuration"
like "$out" 'Socket inet:8893@127\.0\.0\.1' "the default socket is inet:8893@127.0.0.1"

out=$("$MILTER" -n -c "$top_srcdir/conf/dmarc-milter.conf" 2>&1)
ok $? "the sample configuration is valid"

# Every option the milter knows is in the sample configuration and the manual.
missing_conf="" missing_man=""
for o in $(printf '%s\n' "$out" | sed 1d | awk '{print $1}'); do
	grep -q "^#\{0,1\}$o[[:space:]]" "$top_srcdir/conf/dmarc-milter.conf" || missing_conf="$missing_conf $o"
	grep -q "^\.BI $o " "$top_srcdir/docs/dmarc-milter.conf.5" || missing_man="$missing_man $o"
done
is "$missing_conf" "" "every option is in conf/dmarc-milter.conf"
is "$missing_man" "" "every option is in dmarc-milter.conf(5)"

printf 'Syslog no\nSocket inet:8893@127.0.0.1\nFrobnicate yes\n' > "$T_DIR/bad.conf"
out=$("$MILTER" -n -c "$T_DIR/bad.conf" 2>&1)
is $? 78 "-n on a bad configuration exits 78 (EX_CONFIG)"
like "$out" "bad\.conf:3: unknown option \"Frobnicate\"" "the error names file and line"

printf 'DNSTimeout forever\n' > "$T_DIR/bad2.conf"
out=$("$MILTER" -n -c "$T_DIR/bad2.conf" 2>&1)
like "$out" 'bad2\.conf:1: DNSTimeout: "forever" is not a number' "a bad value names the option"

out=$("$MILTER" -n -c "$T_DIR/missing.conf" 2>&1)
like "$out" 'missing\.conf: cannot open' "a missing -c file is an error"

# A bad configuration stops the milter before it listens.
port=$(free_port)
out=$("$MILTER" -f -c "$T_DIR/bad.conf" -p "inet:$port@127.0.0.1" 2>&1)
is $? 78 "start with a bad configuration exits 78"
if ss -Htln "( sport = :$port )" | grep -q .; then ok 1 "nothing listens after a refused start"; else
	ok 0 "nothing listens after a refused start"; fi

out=$("$MILTER" -f -p "tcp:1@127.0.0.1" 2>&1)
like "$out" 'unknown socket type' "-p with a bad socket is refused"

# A running milter accepts mail (for now) and survives two messages on one connection.
milter_conf "$T_DIR/ok.conf"
start_milter "$T_DIR/ok.conf"
out=$(miltertest_run accept.lua)
ok $? "a scripted SMTP transaction is accepted"
like "$out" 'message 2 accepted' "a second message on the same connection is accepted"

# SIGUSR1: a bad new configuration is refused and the old one stays.
cp "$T_DIR/bad.conf" "$T_DIR/ok.conf.new"; cp "$T_DIR/ok.conf" "$T_DIR/ok.conf.good"
mv "$T_DIR/ok.conf.new" "$T_DIR/ok.conf"
kill -USR1 "$MILTER_PID"; wait_log 'reload refused'
like "$(cat "$T_DIR/milter.log")" 'reload refused, configuration unchanged: .*ok\.conf:3: unknown option' \
	"a bad configuration on reload is refused with the reason"
kill -0 "$MILTER_PID" 2>/dev/null
ok $? "the milter keeps running after a refused reload"
out=$(miltertest_run accept.lua)
ok $? "mail is still accepted after a refused reload"
mv "$T_DIR/ok.conf.good" "$T_DIR/ok.conf"
kill -USR1 "$MILTER_PID"; wait_log 'configuration reloaded from'
like "$(cat "$T_DIR/milter.log")" 'configuration reloaded from' "a good configuration is reloaded"

# SIGTERM stops it cleanly.
kill "$MILTER_PID"
i=0; while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait "$MILTER_PID"; rc=$?
is "$rc" 0 "SIGTERM stops the milter with status 0"
like "$(cat "$T_DIR/milter.log")" 'stopping' "it logs that it stops"

## migration: -n on an OpenDMARC configuration says what each option becomes
out=$("$MILTER" -n -c "$top_srcdir/t/data/opendmarc.conf" 2>&1); rc=$?
like "$out" 'is an OpenDMARC configuration' "-n recognises an OpenDMARC configuration"
like "$out" 'opendmarc\.conf:36: RejectFailures true' "it names each option with its line"
like "$out" 'same -> RejectFailures yes' "and what it becomes"
like "$out" 'summary: 11 same, 1 renamed, 2 changed, 9 not needed, 2 unsupported' "and sums it up"
is "$rc" 78 "exit status 78 when some options cannot be carried over"
sed -n '/^--- dmarc-milter.conf fragment/,/^--- end of fragment/p' <<< "$out" | sed '1d;$d' > "$T_DIR/fragment.conf"
"$MILTER" -n -c "$T_DIR/fragment.conf" > /dev/null 2>&1
ok $? "the fragment it prints is a valid dmarc-milter.conf"

done_testing
